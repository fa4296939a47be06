//! destination-s3 `write` against a real S3-protocol server (s3s-fs): every
//! format × codec read back by pyarrow / fastavro and by our source-s3, multipart above the part
//! size, rollover, overwrite, failures that leave nothing half-written, the
//! seed 004 example 2 layout and Airbyte's default layout. Every stdout line
//! is validated against the official models by the rig.

use std::path::{Path, PathBuf};

use lakeport_tests::{python_eval, run, run_with, write_json, Run, RunOpts, S3Server};
use serde_json::{json, Value};

const BUCKET: &str = "lake";

/// Reads one written object with an independent reader and prints its rows
/// as a JSON list: pyarrow for Parquet and CSV, fastavro for Avro, the
/// standard library for JSON / JSONL; gzip / zstd decompressed first.
const READ_BACK: &str = r#"
import sys, json, gzip, io
path, fmt = sys.argv[1], sys.argv[2]
raw = open(path, 'rb').read()
if path.endswith('.gz'):
    raw = gzip.decompress(raw)
elif path.endswith('.zst'):
    import zstandard
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(raw)
# pyarrow buffers, not Python file objects: pyarrow may still close a Python
# file object from its threads after read_table returns, and abort the
# interpreter at exit (apache/arrow#33975; a third of runs here).
if fmt == 'parquet':
    import pyarrow as pa, pyarrow.parquet as pq
    rows = pq.read_table(pa.BufferReader(raw)).to_pylist()
elif fmt == 'csv':
    import pyarrow as pa, pyarrow.csv as pc
    rows = pc.read_csv(pa.BufferReader(raw)).to_pylist()
elif fmt == 'avro':
    import fastavro
    rows = list(fastavro.reader(io.BytesIO(raw)))
elif fmt == 'json':
    rows = json.loads(raw)
else:
    rows = [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
print(json.dumps(rows, default=str))
"#;

fn read_back(path: &Path, format: &str) -> Vec<Value> {
    let out = python_eval(READ_BACK, &[path.to_str().expect("utf-8 path"), format]);
    serde_json::from_str(&out).expect("reader output is JSON")
}

/// Reads the objects under `prefix` back through our own source-s3 and
/// returns the records' data, ordered by `id`.
fn read_back_with_source_s3(server: &S3Server, prefix: &str, format: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(server, json!({"path_prefix": prefix, "file_format": format}));
    let cfg = write_json(dir.path(), "source.json", &cfg);
    let r = run(
        "source-s3",
        &["read", "--config", cfg.to_str().expect("utf-8 path")],
        None,
    );
    r.assert_success();
    let mut data: Vec<Value> = r.data().into_iter().cloned().collect();
    data.sort_by_key(|d| d["id"].as_i64());
    data
}

fn record(stream: &str, data: Value) -> String {
    json!({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1_700_000_000_000i64}})
        .to_string()
}

fn state(stream: &str, n: u64) -> String {
    json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": {"cursor": n}}}})
    .to_string()
}

fn users(n: u64, pad: usize) -> Vec<String> {
    let padding = "x".repeat(pad);
    (0..n)
        .map(|i| record("users", json!({"id": i, "name": format!("user-{i}"), "pad": padding})))
        .collect()
}

fn catalog(streams: &[(&str, &str)]) -> Value {
    json!({"streams": streams.iter().map(|(name, mode)| json!({
        "stream": {"name": name, "json_schema": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "pad": {"type": "string"}}},
            "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": mode,
    })).collect::<Vec<_>>()})
}

struct Sync {
    run: Run,
    _dir: tempfile::TempDir,
}

fn write(config: &Value, catalog: Option<&Value>, lines: &[String]) -> Sync {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_json(dir.path(), "config.json", config);
    let mut args = vec![
        "write".to_string(),
        "--config".into(),
        cfg.to_string_lossy().into_owned(),
    ];
    if let Some(c) = catalog {
        let p = write_json(dir.path(), "catalog.json", c);
        args.push("--catalog".into());
        args.push(p.to_string_lossy().into_owned());
    }
    let mut input = lines.join("\n");
    input.push('\n');
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = run("destination-s3", &args, Some(input.as_bytes()));
    Sync { run, _dir: dir }
}

fn config(server: &S3Server, extra: Value) -> Value {
    let mut c = server.connection(BUCKET);
    for (k, v) in extra.as_object().expect("object") {
        c[k] = v.clone();
    }
    c
}

/// Keys under `prefix`.
fn keys_under(server: &S3Server, prefix: &str) -> Vec<String> {
    server
        .keys(BUCKET)
        .into_iter()
        .filter(|k| k.starts_with(prefix))
        .collect()
}

/// Files the server keeps for multipart uploads in progress or temporary
/// writes: none may be left.
fn stray_uploads(server: &S3Server) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![server.dir().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with(".upload") || name.starts_with(".tmp.") || name.contains(".upload-") {
                out.push(p);
            }
        }
    }
    out
}

fn stamp_re(name: &str) -> String {
    format!("{name}_\\d{{8}}_\\d{{6}}")
}

fn matches(re: &str, s: &str) -> bool {
    // A tiny matcher for the patterns used here: literal text, `\d{n}`, `.`-escapes.
    fn go(p: &[u8], s: &[u8]) -> bool {
        if p.is_empty() {
            return s.is_empty();
        }
        if p.starts_with(b"\\d{") {
            let end = p.iter().position(|&c| c == b'}').expect("closing brace");
            let n: usize = std::str::from_utf8(&p[3..end]).expect("utf-8").parse().expect("count");
            return s.len() >= n && s[..n].iter().all(u8::is_ascii_digit) && go(&p[end + 1..], &s[n..]);
        }
        if p.starts_with(b"\\") {
            return !s.is_empty() && s[0] == p[1] && go(&p[2..], &s[1..]);
        }
        !s.is_empty() && s[0] == p[0] && go(&p[1..], &s[1..])
    }
    go(re.as_bytes(), s.as_bytes())
}

#[test]
fn every_format_and_codec_reads_back() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let cat = catalog(&[("users", "append")]);
    let combos: &[(&str, &[&str])] = &[
        ("parquet", &["snappy", "gzip", "zstd", "lz4", "brotli", "none"]),
        ("avro", &["snappy", "deflate", "zstd", "bzip2", "xz", "none"]),
        ("csv", &["none", "gzip", "zstd"]),
        ("json", &["none", "gzip", "zstd"]),
        ("jsonl", &["none", "gzip", "zstd"]),
    ];
    let mut lines = users(40, 3);
    lines.insert(20, state("users", 20));
    lines.push(state("users", 40));
    for (format, codecs) in combos {
        for codec in *codecs {
            let prefix = format!("{format}-{codec}");
            let cfg = config(
                &server,
                json!({"path_prefix": prefix, "file_format": format, "compression": codec}),
            );
            let s = write(&cfg, Some(&cat), &lines);
            s.run.assert_success();
            let counts: Vec<f64> = s
                .run
                .states()
                .iter()
                .map(|st| st["destinationStats"]["recordCount"].as_f64().unwrap_or(-1.0))
                .collect();
            assert_eq!(counts, vec![20.0, 20.0], "{prefix}: {}", s.run.stdout);
            let keys = keys_under(&server, &format!("{prefix}/users/"));
            assert_eq!(keys.len(), 1, "{prefix}: {keys:?}");
            let ext = match (*format, *codec) {
                ("parquet" | "avro", _) | (_, "none") => format.to_string(),
                (_, "gzip") => format!("{format}.gz"),
                _ => format!("{format}.zst"),
            };
            let name = keys[0].rsplit('/').next().unwrap_or_default();
            assert!(
                matches(&format!("{}\\.{ext}", stamp_re("users")), name),
                "{prefix}: {name}"
            );
            let rows = read_back(&server.path(BUCKET, &keys[0]), format);
            assert_eq!(rows.len(), 40, "{prefix}");
            for (i, row) in rows.iter().enumerate() {
                assert_eq!(row["id"], json!(i), "{prefix}: {row}");
                assert_eq!(row["name"], json!(format!("user-{i}")), "{prefix}: {row}");
                assert_eq!(
                    row["_airbyte_raw_id"].as_str().map(str::len),
                    Some(36),
                    "{prefix}: {row}"
                );
                assert!(row.get("_airbyte_extracted_at").is_some(), "{prefix}: {row}");
            }
            // And through our own source-s3: the same records, typed.
            let ours = read_back_with_source_s3(&server, &format!("{prefix}/users/"), format);
            assert_eq!(ours.len(), 40, "{prefix}");
            for (i, (row, theirs)) in ours.iter().zip(&rows).enumerate() {
                assert_eq!(row["id"], json!(i), "{prefix}: {row}");
                assert_eq!(row["name"], json!(format!("user-{i}")), "{prefix}: {row}");
                assert_eq!(row["pad"], json!("xxx"), "{prefix}: {row}");
                assert_eq!(row["_airbyte_raw_id"], theirs["_airbyte_raw_id"], "{prefix}: {row}");
            }
        }
    }
    assert!(stray_uploads(&server).is_empty());
}

#[test]
fn multipart_above_the_part_size() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    // ~12 MiB of JSONL: three 5 MiB parts (the last smaller), uploaded while
    // records keep arriving.
    let lines = users(12_000, 1024);
    let cfg = config(
        &server,
        json!({"path_prefix": "big", "file_format": "jsonl", "part_size_mb": 5}),
    );
    let s = write(&cfg, None, &lines);
    s.run.assert_success();
    let keys = keys_under(&server, "big/users/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let size = std::fs::metadata(server.path(BUCKET, &keys[0])).expect("object").len();
    assert!(size > 10 * 1024 * 1024, "object of {size} bytes");
    let log = s.run.logs().join("\n");
    assert!(
        log.contains("12000 records") && log.contains("(3 multipart part(s)"),
        "{log}"
    );
    assert_eq!(read_back(&server.path(BUCKET, &keys[0]), "jsonl").len(), 12_000);
    assert!(stray_uploads(&server).is_empty(), "{:?}", stray_uploads(&server));
}

#[test]
fn rollover_produces_several_objects() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let lines = users(25_000, 200);
    let cfg = config(
        &server,
        json!({"path_prefix": "roll", "file_format": "jsonl", "file_size_mb": 1}),
    );
    let s = write(&cfg, None, &lines);
    s.run.assert_success();
    let keys = keys_under(&server, "roll/users/");
    assert!(keys.len() >= 3, "{keys:?}");
    let base = stamp_re("users");
    for k in &keys {
        let name = k.rsplit('/').next().unwrap_or_default();
        assert!(
            matches(&format!("{base}\\.jsonl"), name) || (1..10).any(|n| matches(&format!("{base}_{n}\\.jsonl"), name)),
            "{name}"
        );
    }
    let total: usize = keys
        .iter()
        .map(|k| read_back(&server.path(BUCKET, k), "jsonl").len())
        .sum();
    assert_eq!(total, 25_000);
}

#[test]
fn overwrite_leaves_exactly_this_syncs_objects() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    server.put_object(BUCKET, "raw/users/users_20200101_000000.jsonl", b"{\"old\":1}\n");
    server.put_object(BUCKET, "raw/users/day=1/users_20200101_000000.jsonl", b"{\"old\":2}\n");
    server.put_object(BUCKET, "raw/orders/orders_20200101_000000.jsonl", b"{\"old\":3}\n");
    server.put_object(BUCKET, "raw/users_elsewhere.txt", b"keep\n");
    let cfg = config(
        &server,
        json!({"path_prefix": "raw/", "file_format": "jsonl", "file_size_mb": 1}),
    );
    let cat = catalog(&[("users", "overwrite"), ("orders", "append")]);
    let mut lines = users(25_000, 200);
    lines.push(record("orders", json!({"id": 1, "name": "o", "pad": ""})));
    let s = write(&cfg, Some(&cat), &lines);
    s.run.assert_success();
    let users_keys = keys_under(&server, "raw/users/");
    assert!(users_keys.len() >= 3, "{users_keys:?}");
    assert!(users_keys.iter().all(|k| !k.contains("20200101")), "{users_keys:?}");
    let total: usize = users_keys
        .iter()
        .map(|k| read_back(&server.path(BUCKET, k), "jsonl").len())
        .sum();
    assert_eq!(total, 25_000, "every object of this sync kept");
    let orders = keys_under(&server, "raw/orders/");
    assert_eq!(orders.len(), 2, "append keeps the older object: {orders:?}");
    assert!(server.keys(BUCKET).contains(&"raw/users_elsewhere.txt".to_string()));
    assert!(
        s.run.logs().join("\n").contains("removed 2 older object(s)"),
        "{:?}",
        s.run.logs()
    );
}

#[test]
fn a_bad_line_mid_way_leaves_nothing_uncommitted() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    // One 10 MiB batch reaches the writer (two 5 MiB parts uploaded into an
    // open multipart upload), then the input breaks: the upload is aborted.
    let mut lines = Vec::new();
    for (i, l) in users(11_000, 1024).into_iter().enumerate() {
        lines.push(l);
        if (i + 1) % 1000 == 0 {
            lines.push(state("users", i as u64 + 1));
        }
    }
    lines.push("{not json".into());
    let cfg = config(
        &server,
        json!({"path_prefix": "fail", "file_format": "jsonl", "part_size_mb": 5}),
    );
    let s = write(&cfg, None, &lines);
    assert!(!s.run.status.success());
    assert_eq!(s.run.errors().len(), 1, "{}", s.run.stdout);
    assert!(s.run.states().is_empty(), "no state without its records committed");
    assert!(keys_under(&server, "fail/").is_empty(), "{:?}", server.keys(BUCKET));
    assert!(stray_uploads(&server).is_empty(), "{:?}", stray_uploads(&server));

    // With rollover, the states echoed cover exactly the committed objects.
    let cfg = config(
        &server,
        json!({"path_prefix": "fail2", "file_format": "jsonl", "part_size_mb": 5, "file_size_mb": 6}),
    );
    let mut lines = Vec::new();
    for (i, l) in users(25_000, 1024).into_iter().enumerate() {
        lines.push(l);
        if (i + 1) % 1000 == 0 {
            lines.push(state("users", i as u64 + 1));
        }
    }
    lines.push("{not json".into());
    let s = write(&cfg, None, &lines);
    assert!(!s.run.status.success());
    let echoed: f64 = s
        .run
        .states()
        .iter()
        .map(|st| st["destinationStats"]["recordCount"].as_f64().unwrap_or(0.0))
        .sum();
    let keys = keys_under(&server, "fail2/users/");
    let committed: usize = keys
        .iter()
        .map(|k| read_back(&server.path(BUCKET, k), "jsonl").len())
        .sum();
    assert!(
        echoed > 0.0 && echoed as usize <= committed,
        "echoed {echoed}, committed {committed}"
    );
    assert!(
        keys.len() >= 2 && committed < 25_000,
        "the objects before the bad line are committed, the open one is not: {committed} rows in {keys:?}"
    );
    assert!(stray_uploads(&server).is_empty(), "{:?}", stray_uploads(&server));
}

#[test]
fn a_server_refusing_uploads_fails_cleanly() {
    let server = S3Server::start();
    // The bucket does not exist.
    let cfg = json!({"bucket": "missing-bucket", "endpoint_url": server.endpoint, "access_key_id": server.access_key,
        "secret_access_key": server.secret_key, "use_ssl": false, "file_format": "parquet"});
    let mut lines = users(100, 10);
    lines.push(state("users", 100));
    let s = write(&cfg, None, &lines);
    assert!(!s.run.status.success());
    let errors = s.run.errors();
    assert_eq!(errors.len(), 1, "{}", s.run.stdout);
    let msg = errors[0]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("missing-bucket"), "{msg}");
    assert_eq!(errors[0]["failure_type"], json!("config_error"));
    assert!(s.run.states().is_empty());
    assert!(!s.run.stdout.contains(&server.secret_key) && !s.run.stderr.contains(&server.secret_key));
    assert!(stray_uploads(&server).is_empty());

    // The server refuses the credentials.
    server.create_bucket(BUCKET);
    let mut cfg = config(&server, json!({"file_format": "jsonl"}));
    cfg["secret_access_key"] = json!("wrong-secret-Kq3");
    let s = write(&cfg, None, &lines);
    assert!(!s.run.status.success());
    let errors = s.run.errors();
    assert_eq!(errors.len(), 1, "{}", s.run.stdout);
    assert_eq!(errors[0]["failure_type"], json!("config_error"));
    assert!(s.run.states().is_empty());
    assert!(server.keys(BUCKET).is_empty());
    assert!(!s.run.stdout.contains("wrong-secret-Kq3") && !s.run.stderr.contains("wrong-secret-Kq3"));
}

#[test]
fn a_server_refusing_an_upload_mid_way_aborts_every_open_upload() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    // `users` gets a 10 MiB batch (two parts into an open multipart upload);
    // at the end the first stream's object cannot be stored (its folder name
    // is too long for the server's filesystem): the PUT fails after retries,
    // and the still open `users` upload is aborted.
    let long = "s".repeat(240);
    let mut lines = vec![record(&long, json!({"id": 0}))];
    for (i, l) in users(10_000, 1024).into_iter().enumerate() {
        lines.push(l);
        if (i + 1) % 1000 == 0 {
            lines.push(state("users", i as u64 + 1));
        }
    }
    let cfg = config(
        &server,
        json!({"path_prefix": "mid", "file_format": "jsonl", "part_size_mb": 5,
            "path_format": "${STREAM_NAME}${STREAM_NAME}/"}),
    );
    let s = write(&cfg, None, &lines);
    assert!(!s.run.status.success(), "{}", s.run.stderr);
    assert_eq!(s.run.errors().len(), 1, "{}", s.run.stdout);
    assert!(s.run.states().is_empty(), "{}", s.run.stdout);
    assert!(keys_under(&server, "mid/").is_empty(), "{:?}", server.keys(BUCKET));
    assert!(stray_uploads(&server).is_empty(), "{:?}", stray_uploads(&server));
}

#[test]
fn seed_004_example_2_layout() {
    let server = S3Server::start();
    server.create_bucket("my-data-lake");
    let cfg = json!({"bucket": "my-data-lake", "prefix": "raw/", "format": "json",
        "aws_access_key_id": server.access_key, "aws_secret_access_key": server.secret_key,
        "region": "us-east-1", "endpoint": server.endpoint, "use_ssl": false});
    let mut lines = users(5, 1);
    lines.push(record("orders", json!({"id": 9})));
    let s = write(&cfg, None, &lines);
    s.run.assert_success();
    let keys = server.keys("my-data-lake");
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        matches(&format!("raw/orders/{}\\.json", stamp_re("orders")), &keys[0]),
        "{keys:?}"
    );
    assert!(
        matches(&format!("raw/users/{}\\.json", stamp_re("users")), &keys[1]),
        "{keys:?}"
    );
    let rows = read_back(&server.path("my-data-lake", &keys[1]), "json");
    assert_eq!(rows.len(), 5);
    assert!(!s.run.stdout.contains(&server.secret_key));
}

fn airbyte_config(server: &S3Server, format: Value) -> Value {
    json!({
        "s3_bucket_name": BUCKET, "s3_bucket_path": "data_output_path", "s3_bucket_region": "us-east-1",
        "s3_endpoint": server.endpoint, "access_key_id": server.access_key,
        "secret_access_key": server.secret_key, "format": format
    })
}

#[test]
fn airbyte_default_layout_and_envelope() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    // JSONL, Airbyte's defaults: gzip, no flattening, the default path format.
    let cfg = airbyte_config(&server, json!({"format_type": "JSONL"}));
    let lines: Vec<String> = (0..3)
        .map(|i| {
            json!({"type": "RECORD", "record": {"stream": "users", "namespace": "public",
                "data": {"id": i, "name": {"first": "A"}}, "emitted_at": 1_700_000_000_000i64}})
            .to_string()
        })
        .collect();
    let s = write(&cfg, None, &lines);
    s.run.assert_success();
    let keys = keys_under(&server, "data_output_path/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        matches(
            "data_output_path/public/users/\\d{4}_\\d{2}_\\d{2}_\\d{13}_0\\.jsonl\\.gz",
            &keys[0]
        ),
        "{keys:?}"
    );
    let rows = read_back(&server.path(BUCKET, &keys[0]), "jsonl");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1]["_airbyte_data"], json!({"id": 1, "name": {"first": "A"}}));
    assert_eq!(rows[1]["_airbyte_extracted_at"], json!(1_700_000_000_000i64));
    assert_eq!(rows[1]["_airbyte_generation_id"], json!(0));
    assert_eq!(rows[1]["_airbyte_meta"]["changes"], json!([]));
    assert_eq!(rows[1]["_airbyte_raw_id"].as_str().map(str::len), Some(36));

    // Parquet with a catalog: fields at the root, generation id from the catalog.
    let cfg = airbyte_config(
        &server,
        json!({"format_type": "Parquet", "compression_codec": "SNAPPY"}),
    );
    let mut cat = catalog(&[("orders", "append")]);
    cat["streams"][0]["generation_id"] = json!(3);
    cat["streams"][0]["sync_id"] = json!(77);
    let lines: Vec<String> = (0..4)
        .map(|i| record("orders", json!({"id": i, "name": "n", "pad": ""})))
        .collect();
    let s = write(&cfg, Some(&cat), &lines);
    s.run.assert_success();
    let keys = keys_under(&server, "data_output_path/orders/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        matches(
            "data_output_path/orders/\\d{4}_\\d{2}_\\d{2}_\\d{13}_0\\.parquet",
            &keys[0]
        ),
        "{keys:?}"
    );
    let rows = read_back(&server.path(BUCKET, &keys[0]), "parquet");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[2]["id"], json!(2));
    assert_eq!(rows[2]["_airbyte_generation_id"], json!(3));
    assert_eq!(rows[2]["_airbyte_meta"]["sync_id"], json!(77));

    // `check` announces the native config it migrated to.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_json(dir.path(), "config.json", &cfg);
    let r = run(
        "destination-s3",
        &["check", "--config", path.to_str().expect("utf-8")],
        None,
    );
    assert_eq!(r.connection_status()["status"], json!("SUCCEEDED"), "{}", r.stdout);
    // `import-config` prints the native config it maps to.
    let r = run_with(
        "destination-s3",
        &["import-config", path.to_str().expect("utf-8")],
        RunOpts {
            raw_stdout: true,
            ..Default::default()
        },
    );
    assert!(r.status.success(), "{}", r.stderr);
    let native: Value = serde_json::from_str(&r.stdout).expect("native config JSON");
    assert_eq!(
        native["path_format"],
        json!("${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_")
    );
    assert_eq!(native["file_format"], json!("parquet"));
    assert_eq!(native["airbyte_envelope"], json!("root_level"));
}

#[test]
fn airbyte_path_format_and_file_name_pattern() {
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let mut cfg = airbyte_config(
        &server,
        json!({"format_type": "CSV", "flattening": "Root level flattening", "compression": {"compression_type": "No Compression"}}),
    );
    cfg["s3_path_format"] = json!("${STREAM_NAME}/${YEAR}/${MONTH}/");
    cfg["file_name_pattern"] = json!("{date}_{timestamp:millis}_{part_number}{format_extension}");
    let s = write(&cfg, None, &users(3, 1));
    s.run.assert_success();
    let keys = keys_under(&server, "data_output_path/");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(
        matches(
            "data_output_path/users/\\d{4}/\\d{2}/\\d{4}_\\d{2}_\\d{2}_\\d{13}_0\\.csv",
            &keys[0]
        ),
        "{keys:?}"
    );
    let rows = read_back(&server.path(BUCKET, &keys[0]), "csv");
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["name"], json!("user-0"));
    assert!(rows[0].get("_airbyte_meta").is_some(), "{:?}", rows[0]);
}

/// Waits up to `secs` seconds for `ready`.
fn wait_for(secs: u64, mut ready: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if ready() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    false
}

#[test]
fn a_cancelled_write_aborts_its_multipart_upload() {
    // An orchestrator cancels with SIGTERM while the source is still
    // sending: the upload in progress (a part already sent) is aborted, as
    // S3 would bill for its parts, and nothing appears under a final name.
    use std::io::Write as _;
    let server = S3Server::start();
    server.create_bucket(BUCKET);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = write_json(
        dir.path(),
        "config.json",
        &config(
            &server,
            json!({"path_prefix": "cancel", "file_format": "jsonl", "part_size_mb": 5}),
        ),
    );
    let mut child = std::process::Command::new(lakeport_tests::bin("destination-s3"))
        .args(["write", "--config", cfg.to_str().expect("utf-8")])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start destination-s3");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut input = users(11_000, 1024).join("\n");
    input.push('\n');
    stdin.write_all(input.as_bytes()).expect("write records");
    stdin.flush().expect("flush");
    // Stdin stays open: the sync is still running when the signal comes.
    assert!(
        wait_for(60, || !stray_uploads(&server).is_empty()),
        "no part was uploaded"
    );
    // The shell's own `kill`: no procps needed.
    let killed = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    drop(stdin);
    // Cleaned up, then ended by the signal itself (what orchestrators expect).
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "{status:?}"
    );
    assert!(stray_uploads(&server).is_empty(), "{:?}", stray_uploads(&server));
    assert!(keys_under(&server, "cancel/").is_empty(), "{:?}", server.keys(BUCKET));
}
