//! Parquet and Avro against independent implementations: files written by
//! pyarrow and fastavro (every codec) are read by source-file with the same
//! values, and files written by destination-file (every codec) are read by
//! pyarrow and fastavro with the same values.

use std::path::Path;

use lakeport_tests::{python_eval, run, write_json};
use serde_json::{json, Value};

/// Writes the reference table with pyarrow / fastavro in every codec and
/// prints the rows as JSON (the independent reader's view).
const WRITE_REFERENCE: &str = r#"
import datetime, decimal, json, sys
import pyarrow as pa, pyarrow.parquet as pq, fastavro
out = sys.argv[1]
rows = []
for i in range(30):
    rows.append({
        "i": None if i % 7 == 0 else (2**63 - 1 - i if i % 2 else -2**63 + i),
        "f": i * 0.5 - 1.25,
        "s": ["", "plain", "ünïcødé ☂", "q\"uote,\nline"][i % 4],
        "b": i % 3 == 0,
        "d": datetime.date(2024, 1, 1) + datetime.timedelta(days=i),
        "t": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc) + datetime.timedelta(hours=i),
        "dec": decimal.Decimal(i * 125) / 100,
        "tags": ["a", "b"][: i % 3],
        "obj": {"k": i, "name": "n%d" % i},
    })
schema = pa.schema([("i", pa.int64()), ("f", pa.float64()), ("s", pa.string()), ("b", pa.bool_()),
    ("d", pa.date32()), ("t", pa.timestamp("us", tz="UTC")), ("dec", pa.decimal128(10, 2)),
    ("tags", pa.list_(pa.string())), ("obj", pa.struct([("k", pa.int64()), ("name", pa.string())]))])
table = pa.Table.from_pylist(rows, schema=schema)
for codec in ["snappy", "gzip", "zstd", "lz4", "brotli", "none"]:
    pq.write_table(table, f"{out}/pq_{codec}.parquet", compression=codec, row_group_size=8)
avro_schema = {"type": "record", "name": "r", "fields": [
    {"name": "i", "type": ["null", "long"]}, {"name": "f", "type": "double"}, {"name": "s", "type": "string"},
    {"name": "b", "type": "boolean"}, {"name": "d", "type": {"type": "int", "logicalType": "date"}},
    {"name": "t", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "obj", "type": {"type": "record", "name": "o", "fields": [{"name": "k", "type": "long"}, {"name": "name", "type": "string"}]}}]}
for codec in ["null", "deflate", "snappy", "zstandard", "bzip2", "xz"]:
    with open(f"{out}/av_{codec}.avro", "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(avro_schema), rows, codec=codec)
def norm(r):
    return {"i": r["i"], "f": r["f"], "s": r["s"], "b": r["b"], "d": r["d"].isoformat(),
            "t": r["t"].strftime("%Y-%m-%dT%H:%M:%S.%f"), "dec": float(r["dec"]), "tags": r["tags"], "obj": r["obj"]}
print(json.dumps([norm(r) for r in rows]))
"#;

fn normalise(v: &Value) -> Value {
    // Timestamps compare by their first 26 characters (to the microsecond).
    let t = v["t"].as_str().unwrap_or_default();
    json!({
        "i": v["i"], "f": v["f"], "s": v["s"], "b": v["b"], "d": v["d"],
        "t": t.get(..26).unwrap_or(t),
        "dec": v["dec"].as_f64(),
        "tags": v["tags"], "obj": v["obj"],
    })
}

fn read_file(dir: &Path, file: &Path) -> Vec<Value> {
    let cfg = write_json(
        dir,
        "src.json",
        &json!({"file_path": file, "stream_name": "t", "json_flatten": false}),
    );
    let r = run("source-file", &["read", "--config", cfg.to_str().unwrap()], None);
    r.assert_success();
    r.data().into_iter().map(normalise).collect()
}

#[test]
fn files_written_by_pyarrow_and_fastavro_are_read_with_equal_values() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Vec<Value> =
        serde_json::from_str::<Vec<Value>>(python_eval(WRITE_REFERENCE, &[dir.path().to_str().unwrap()]).trim())
            .unwrap()
            .iter()
            .map(normalise)
            .collect();
    assert_eq!(expected.len(), 30);
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet" || e == "avro"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 12);
    for file in names {
        let got = read_file(dir.path(), &file);
        assert_eq!(got, expected, "{} differs", file.display());
    }
}

#[test]
fn every_codec_written_here_is_read_by_pyarrow_and_fastavro() {
    let dir = tempfile::tempdir().unwrap();
    let source: Vec<Value> =
        serde_json::from_str(python_eval(WRITE_REFERENCE, &[dir.path().to_str().unwrap()]).trim()).unwrap();
    // Our records of the reference table, typed by source-file's discover.
    let src = write_json(
        dir.path(),
        "src.json",
        &json!({"file_path": dir.path().join("pq_none.parquet"), "stream_name": "t", "json_flatten": false}),
    );
    let disc = run("source-file", &["discover", "--config", src.to_str().unwrap()], None);
    let catalog = json!({"streams": [{"stream": disc.catalog()["streams"][0], "sync_mode": "full_refresh", "destination_sync_mode": "append"}]});
    let catalog_path = write_json(dir.path(), "catalog.json", &catalog);
    let records = run(
        "source-file",
        &[
            "read",
            "--config",
            src.to_str().unwrap(),
            "--catalog",
            catalog_path.to_str().unwrap(),
        ],
        None,
    );
    records.assert_success();
    let reader = r#"
import json, sys, fastavro, pyarrow.parquet as pq
path = sys.argv[1]
if path.endswith(".parquet"):
    rows = pq.read_table(path).to_pylist()
else:
    rows = list(fastavro.reader(open(path, "rb")))
def norm(r):
    t = r["t"]
    t = t.strftime("%Y-%m-%dT%H:%M:%S.%f") if hasattr(t, "strftime") else str(t)
    d = r["d"]
    return {"i": r["i"], "f": r["f"], "s": r["s"], "b": r["b"], "d": d.isoformat() if hasattr(d, "isoformat") else d,
            "t": t, "dec": float(r["dec"]), "tags": r["tags"], "obj": r["obj"]}
print(json.dumps([norm(r) for r in rows], default=str))
"#;
    let expected: Vec<Value> = source.iter().map(normalise).collect();
    for (format, codecs) in [
        ("parquet", &["snappy", "gzip", "zstd", "lz4", "brotli", "none"][..]),
        ("avro", &["snappy", "deflate", "zstd", "bzip2", "xz", "none"][..]),
    ] {
        for codec in codecs {
            let out = dir.path().join(format!("out_{format}_{codec}"));
            let dst = write_json(
                dir.path(),
                "dst.json",
                &json!({"base_path": out, "format": format, "compression": codec, "metadata_columns": false}),
            );
            run(
                "destination-file",
                &[
                    "write",
                    "--config",
                    dst.to_str().unwrap(),
                    "--catalog",
                    catalog_path.to_str().unwrap(),
                ],
                Some(records.stdout.as_bytes()),
            )
            .assert_success();
            let file = std::fs::read_dir(out.join("t"))
                .unwrap()
                .flatten()
                .next()
                .unwrap()
                .path();
            let got: Vec<Value> =
                serde_json::from_str::<Vec<Value>>(python_eval(reader, &[file.to_str().unwrap()]).trim())
                    .unwrap()
                    .iter()
                    .map(normalise)
                    .collect();
            assert_eq!(
                got, expected,
                "{format}/{codec} read back by the independent reader differs"
            );
        }
    }
}
