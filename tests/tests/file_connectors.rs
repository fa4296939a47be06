//! source-file and destination-file end to end: real binaries piped together,
//! every format × codec round trip, merged schemas, per-subdirectory layout,
//! incremental reads, atomic commits under failure, hostile stream names.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use lakeport_tests::{bin, python_eval, run, write_json, Run};
use serde_json::{json, Value};

const META: &[&str] = &[
    "_airbyte_raw_id",
    "_airbyte_extracted_at",
    "_ab_source_file_url",
    "_ab_source_file_last_modified",
];

/// A JSONL file holding every kind of value.
fn sample_rows() -> Vec<Value> {
    (0..40)
        .map(|i| {
            json!({
                "id": i,
                "big": if i % 2 == 0 { i64::MAX - i } else { i64::MIN + i },
                "amount": (i as f64) * 1.25 - 3.5,
                "name": match i % 4 { 0 => "plain".to_string(), 1 => "ünïcødé ☂ 漢字".to_string(), 2 => String::new(), _ => format!("quote \" comma , line\nbreak {i}") },
                "active": i % 3 == 0,
                "day": format!("2024-02-{:02}", (i % 28) + 1),
                "at": format!("2024-03-01T{:02}:15:30.123456Z", i % 24),
                "maybe": if i % 5 == 0 { Value::Null } else { json!(i * 10) },
            })
        })
        .collect()
}

fn write_jsonl(path: &Path, rows: &[Value]) {
    let mut text = String::new();
    for r in rows {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn strip_meta(v: &Value) -> Value {
    let mut m = v.as_object().cloned().unwrap_or_default();
    for k in META {
        m.remove(*k);
    }
    Value::Object(m)
}

fn data_sorted(r: &Run) -> Vec<Value> {
    let mut rows: Vec<Value> = r.data().into_iter().map(strip_meta).collect();
    rows.sort_by_key(|v| v["id"].as_i64());
    rows
}

fn read_all(dir: &Path, config: Value) -> Run {
    let cfg = write_json(dir, &format!("src-{}.json", rand_suffix()), &config);
    let r = run("source-file", &["read", "--config", cfg.to_str().unwrap()], None);
    r.assert_success();
    r
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// The configured catalog (full refresh, append) for a discovered catalog.
fn configured(catalog: &Value, sync_mode: &str, dest_mode: &str) -> Value {
    let streams: Vec<Value> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| json!({"stream": s, "sync_mode": sync_mode, "destination_sync_mode": dest_mode}))
        .collect();
    json!({ "streams": streams })
}

fn discover(dir: &Path, config: &Value) -> Value {
    let cfg = write_json(dir, &format!("disc-{}.json", rand_suffix()), config);
    let r = run("source-file", &["discover", "--config", cfg.to_str().unwrap()], None);
    r.assert_success();
    r.catalog().clone()
}

/// `source-file read` with the config file `cfg`, the catalog file `catalog`
/// and, when given, the state file `state`.
fn read_with(cfg: &Path, catalog: &Path, state: Option<&Path>) -> Run {
    let mut args = vec![
        "read",
        "--config",
        cfg.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
    ];
    if let Some(s) = state {
        args.extend(["--state", s.to_str().unwrap()]);
    }
    run("source-file", &args, None)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_format_and_codec_round_trips_through_the_binaries() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    std::fs::create_dir_all(&input).unwrap();
    write_jsonl(&input.join("rows.jsonl"), &sample_rows());
    let src_config = json!({"file_path": input.join("rows.jsonl"), "stream_name": "rows"});
    let catalog = discover(dir.path(), &src_config);
    let props = &catalog["streams"][0]["json_schema"]["properties"];
    assert!(props["id"]["type"].to_string().contains("integer"), "{props}");
    assert!(props["amount"]["type"].to_string().contains("number"), "{props}");
    assert!(props["active"]["type"].to_string().contains("boolean"), "{props}");
    let catalog_path = write_json(
        dir.path(),
        "catalog.json",
        &configured(&catalog, "full_refresh", "append"),
    );
    let cfg = write_json(dir.path(), "src.json", &src_config);
    let original = run(
        "source-file",
        &[
            "read",
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            catalog_path.to_str().unwrap(),
        ],
        None,
    );
    original.assert_success();
    let expected = data_sorted(&original);
    assert_eq!(expected.len(), 40);
    assert_eq!(expected[1]["big"], json!(i64::MIN + 1));
    assert_eq!(expected[0]["maybe"], Value::Null);

    let cases: &[(&str, &[&str])] = &[
        ("parquet", &["snappy", "gzip", "zstd", "lz4", "brotli", "none"]),
        ("avro", &["snappy", "deflate", "zstd", "bzip2", "xz", "none"]),
        ("jsonl", &["none", "gzip", "zstd"]),
        ("json", &["none", "gzip", "zstd"]),
        ("csv", &["none", "gzip", "zstd"]),
    ];
    for (format, codecs) in cases {
        for codec in *codecs {
            let out = dir.path().join(format!("out-{format}-{codec}"));
            let dst = write_json(
                dir.path(),
                &format!("dst-{format}-{codec}.json"),
                &json!({"base_path": out, "format": format, "compression": codec}),
            );
            let w = run(
                "destination-file",
                &[
                    "write",
                    "--config",
                    dst.to_str().unwrap(),
                    "--catalog",
                    catalog_path.to_str().unwrap(),
                ],
                Some(original.stdout.as_bytes()),
            );
            w.assert_success();
            let files = files_under(&out);
            assert_eq!(files.len(), 1, "{format}/{codec}: {files:?}");
            let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with("rows_") && files[0].parent().unwrap().ends_with("rows"),
                "{name}"
            );
            let back = read_all(dir.path(), json!({"file_path": out, "layout": "per_subdirectory"}));
            assert_eq!(back.records()[0]["stream"], "rows");
            let got = data_sorted(&back);
            if *format == "csv" {
                // CSV carries text: compare after reading types back by inference.
                assert_eq!(got.len(), expected.len(), "{format}/{codec}");
                for (g, e) in got.iter().zip(&expected) {
                    assert_eq!(g["id"], e["id"], "{format}/{codec}");
                    assert_eq!(
                        g["name"].as_str().unwrap_or(""),
                        e["name"].as_str().unwrap(),
                        "{format}/{codec}"
                    );
                    assert_eq!(g["big"], e["big"], "{format}/{codec}");
                }
            } else {
                assert_eq!(got, expected, "{format}/{codec} round trip differs");
            }
            // Metadata columns are there.
            let first = back.data()[0];
            assert_eq!(first["_airbyte_raw_id"].as_str().unwrap().len(), 36, "{format}/{codec}");
        }
    }
}

#[test]
fn parquet_and_avro_output_is_read_by_independent_readers() {
    let dir = tempfile::tempdir().unwrap();
    write_jsonl(&dir.path().join("rows.jsonl"), &sample_rows());
    let src = json!({"file_path": dir.path().join("rows.jsonl"), "stream_name": "rows"});
    let mut catalog = discover(dir.path(), &src);
    // Declare the date and timestamp columns as a catalog would (CONTRACT §5).
    let props = &mut catalog["streams"][0]["json_schema"]["properties"];
    props["day"] = json!({"type": ["null", "string"], "format": "date"});
    props["at"] = json!({"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"});
    let catalog_path = write_json(
        dir.path(),
        "catalog.json",
        &configured(&catalog, "full_refresh", "append"),
    );
    let records = read_all(dir.path(), src);
    for (format, reader) in [
        ("parquet", "import pyarrow.parquet as pq,sys,json; t=pq.read_table(sys.argv[1]); print(json.dumps({'n':t.num_rows,'id':str(t.schema.field('id').type),'at':str(t.schema.field('at').type),'day':str(t.schema.field('day').type),'big':t.column('big').to_pylist()[1],'name':t.column('name').to_pylist()[1]}))"),
        ("avro", "import fastavro,sys,json; rows=list(fastavro.reader(open(sys.argv[1],'rb'))); print(json.dumps({'n':len(rows),'big':rows[1]['big'],'name':rows[1]['name']}, default=str))"),
    ] {
        let out = dir.path().join(format!("out-{format}"));
        let dst = write_json(dir.path(), &format!("d-{format}.json"), &json!({"base_path": out, "format": format}));
        run(
            "destination-file",
            &["write", "--config", dst.to_str().unwrap(), "--catalog", catalog_path.to_str().unwrap()],
            Some(records.stdout.as_bytes()),
        )
        .assert_success();
        let file = &files_under(&out)[0];
        let got: Value = serde_json::from_str(python_eval(reader, &[file.to_str().unwrap()]).trim()).unwrap();
        assert_eq!(got["n"], 40, "{format}: {got}");
        assert_eq!(got["big"], json!(i64::MIN + 1), "{format}: {got}");
        assert_eq!(got["name"], "ünïcødé ☂ 漢字", "{format}: {got}");
        if format == "parquet" {
            assert_eq!(got["id"], "int64");
            assert_eq!(got["day"], "date32[day]");
            assert!(got["at"].as_str().unwrap().starts_with("timestamp[us, tz="), "{got}");
        }
    }
}

#[test]
fn mixed_schema_directory_discovers_one_merged_schema() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "id,name\n1,x\n2,y\n").unwrap();
    std::fs::write(dir.path().join("b.jsonl"), "{\"id\": 3.5, \"extra\": true}\n").unwrap();
    std::fs::write(dir.path().join("c.csv"), "id,name\nseven,z\n").unwrap();
    std::fs::write(dir.path().join("README.txt"), "not data").unwrap();
    let catalog = discover(dir.path(), &json!({"file_path": dir.path(), "stream_name": "mixed"}));
    let streams = catalog["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 1);
    let props = streams[0]["json_schema"]["properties"].as_object().unwrap();
    for k in [
        "id",
        "name",
        "extra",
        "_ab_source_file_url",
        "_ab_source_file_last_modified",
    ] {
        assert!(props.contains_key(k), "{k} missing from {props:?}");
    }
    // integer vs number vs string widen to string.
    assert!(props["id"]["type"].to_string().contains("string"), "{props:?}");
    assert_eq!(
        streams[0]["default_cursor_field"],
        json!(["_ab_source_file_last_modified"])
    );
    let modes = streams[0]["supported_sync_modes"].to_string();
    assert!(modes.contains("incremental") && modes.contains("full_refresh"));
    let r = read_all(
        dir.path(),
        json!({"file_path": dir.path(), "stream_name": "mixed", "glob_pattern": ["*.csv", "*.jsonl"]}),
    );
    assert_eq!(r.records().len(), 4);
}

#[test]
fn incremental_reads_only_new_or_changed_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    for i in 0..3 {
        std::fs::write(data.join(format!("f{i}.csv")), format!("id,v\n{i},a\n{i},b\n")).unwrap();
    }
    let src = json!({"file_path": data, "stream_name": "s"});
    let catalog = discover(dir.path(), &src);
    let catalog_path = write_json(
        dir.path(),
        "catalog.json",
        &configured(&catalog, "incremental", "append"),
    );
    let cfg = write_json(dir.path(), "src.json", &src);
    let read = |state: Option<&Path>| {
        let r = read_with(&cfg, &catalog_path, state);
        r.assert_success();
        r
    };
    let first = read(None);
    assert_eq!(first.records().len(), 6);
    let states = first.states();
    assert_eq!(states.len(), 3, "one STATE per file");
    assert_eq!(states[0]["sourceStats"]["recordCount"], 2.0);
    // Save the output as the state file, as a shell user would.
    let state_file = dir.path().join("state.jsonl");
    std::fs::write(&state_file, &first.stdout).unwrap();
    let second = read(Some(&state_file));
    assert_eq!(second.records().len(), 0, "second run must read nothing");
    // Touch one file (content changed, mtime later) and add a new one.
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(data.join("f1.csv"), "id,v\n1,changed\n").unwrap();
    let f = std::fs::File::options().write(true).open(data.join("f1.csv")).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    std::fs::write(&state_file, &second.stdout).unwrap();
    let third = read(Some(&state_file));
    let urls: Vec<&str> = third
        .data()
        .iter()
        .map(|d| d["_ab_source_file_url"].as_str().unwrap())
        .collect();
    assert_eq!(third.records().len(), 1, "{urls:?}");
    assert!(urls[0].ends_with("f1.csv"));
    assert_eq!(third.data()[0]["v"], "changed");
    // Stream status traces frame the stream.
    let statuses: Vec<&Value> = third
        .of_type("TRACE")
        .into_iter()
        .filter(|m| m["trace"]["type"] == "STREAM_STATUS")
        .map(|m| &m["trace"]["stream_status"]["status"])
        .collect();
    assert_eq!(statuses, [&json!("STARTED"), &json!("RUNNING"), &json!("COMPLETE")]);
    // Another connector's state (source-sqlite's) cannot be used: a WARN says
    // so and why, and the stream is read in full.
    let foreign = write_json(
        dir.path(),
        "foreign.json",
        &json!([{"type": "STREAM", "stream": {"stream_descriptor": {"name": "s"},
                 "stream_state": {"sync_mode": "full_refresh", "key_columns": ["rowid"], "key": [1000]}}}]),
    );
    let fourth = read(Some(&foreign));
    assert_eq!(fourth.records().len(), 5);
    let warning = fourth
        .logs()
        .into_iter()
        .find(|l| l.starts_with("WARN") && l.contains("cannot be used"))
        .expect("a WARN about the state");
    assert!(
        warning.contains("another connector") && warning.contains("'s'"),
        "{warning}"
    );
}

#[test]
fn a_record_cursor_from_the_catalog_or_the_config_skips_records_already_read() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("events");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("a.csv"),
        "id,at\n1,2024-01-01T10:00:00Z\n2,2024-01-02T09:00:00Z\n",
    )
    .unwrap();
    let src = json!({"file_path": data, "cursor_field": "id"});
    let cfg = write_json(dir.path(), "src.json", &src);
    let catalog = discover(dir.path(), &src);
    assert_eq!(catalog["streams"][0]["default_cursor_field"], json!(["id"]));
    // The catalog's cursor_field (`at`) wins over the config's (`id`).
    let mut configured = configured(&catalog, "incremental", "append");
    configured["streams"][0]["cursor_field"] = json!(["at"]);
    let catalog_path = write_json(dir.path(), "catalog.json", &configured);
    let read = |state: Option<&Value>| {
        let state_path = state.map(|s| write_json(dir.path(), "state.json", &json!([s])));
        read_with(&cfg, &catalog_path, state_path.as_deref())
    };
    let first = read(None);
    first.assert_success();
    assert_eq!(first.data().len(), 2);
    let state = (*first.states().last().unwrap()).clone();
    assert_eq!(
        state["stream"]["stream_state"]["_lakeport_cursor"],
        json!({"field": "at", "value": "2024-01-02T09:00:00.000000Z"}),
        "{state}"
    );
    // A new file with one record before the saved time and one after.
    std::fs::write(
        data.join("b.csv"),
        "id,at\n3,2024-01-02T08:00:00Z\n4,2024-01-03T00:00:00Z\n",
    )
    .unwrap();
    let second = read(Some(&state));
    second.assert_success();
    let ids: Vec<&Value> = second.data().iter().map(|d| &d["id"]).collect();
    assert_eq!(ids, [&json!(4)], "{}", second.stdout);
    assert!(
        second.logs().iter().any(|l| l.contains("skipped 1 record(s) whose at")),
        "{:?}",
        second.logs()
    );
    // A cursor field the stream does not have fails before reading, naming it.
    configured["streams"][0]["cursor_field"] = json!(["nope"]);
    write_json(dir.path(), "catalog.json", &configured);
    let bad = read(None);
    assert!(!bad.status.success());
    assert!(bad.data().is_empty());
    let errors = bad.errors();
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("cursor_field 'nope'"),
        "{}",
        bad.stdout
    );
}

#[test]
fn per_subdirectory_reads_back_destination_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut input = String::new();
    for (stream, n) in [("users", 5), ("orders", 7)] {
        for i in 0..n {
            input.push_str(&json!({"type":"RECORD","record":{"stream":stream,"data":{"id":i,"s":stream},"emitted_at":1_700_000_000_000i64}}).to_string());
            input.push('\n');
        }
    }
    let dst = write_json(dir.path(), "d.json", &json!({"base_path": out, "format": "jsonl"}));
    run(
        "destination-file",
        &["write", "--config", dst.to_str().unwrap()],
        Some(input.as_bytes()),
    )
    .assert_success();
    let r = read_all(dir.path(), json!({"file_path": out, "layout": "per_subdirectory"}));
    let catalog_streams: Vec<String> = {
        let c = discover(dir.path(), &json!({"file_path": out, "layout": "per_subdirectory"}));
        c["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(catalog_streams, ["orders", "users"]);
    let users = r.records().into_iter().filter(|x| x["stream"] == "users").count();
    let orders = r.records().into_iter().filter(|x| x["stream"] == "orders").count();
    assert_eq!((users, orders), (5, 7));
}

#[test]
fn a_hostile_stream_name_stays_inside_base_path() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let input =
        json!({"type":"RECORD","record":{"stream":"../../etc/passwd","data":{"x":1},"emitted_at":1}}).to_string();
    let dst = write_json(dir.path(), "d.json", &json!({"base_path": base, "format": "csv"}));
    run(
        "destination-file",
        &["write", "--config", dst.to_str().unwrap()],
        Some(input.as_bytes()),
    )
    .assert_success();
    let files = files_under(dir.path());
    let written: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    assert_eq!(written.len(), 1, "{files:?}");
    assert!(written[0].starts_with(&base), "{:?} escaped {base:?}", written[0]);
    assert_eq!(written[0].parent().unwrap().parent().unwrap(), base);
}

fn big_input(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        // Incompressible padding, so files reach the rollover size.
        let pad: String = (0..25)
            .map(|k| format!("{:08x}", (i as u64 * 2654435761 + k * 40503) % 4294967291))
            .collect();
        s.push_str(
            &json!({"type":"RECORD","record":{"stream":"s","data":{"id":i,"pad":pad},"emitted_at":1}}).to_string(),
        );
        s.push('\n');
        if i % 100 == 99 {
            s.push_str(&json!({"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"s"},"stream_state":{"upto":i}}}}).to_string());
            s.push('\n');
        }
    }
    s
}

/// Rows in every final-named Parquet file, each read whole by pyarrow (a
/// partial file would fail to read).
fn committed_rows(base: &Path) -> u64 {
    let files: Vec<String> = files_under(base)
        .into_iter()
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if files.is_empty() {
        return 0;
    }
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.insert(0, "--");
    let out = python_eval(
        "import pyarrow.parquet as pq,sys; print(sum(pq.read_table(f).num_rows for f in sys.argv[2:]))",
        &args,
    );
    out.trim().parse().unwrap()
}

fn echoed_count(stdout: &str) -> (u64, Option<i64>) {
    let mut total = 0u64;
    let mut last = None;
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "STATE" {
            total += v["state"]["destinationStats"]["recordCount"].as_f64().unwrap() as u64;
            last = v["state"]["stream"]["stream_state"]["upto"].as_i64();
        }
    }
    (total, last)
}

#[test]
fn bad_input_mid_stream_leaves_only_committed_files_and_states() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let mut input = big_input(25_000);
    input.push_str("{this is not a message\n");
    input.push_str(&big_input(10));
    let dst = write_json(
        dir.path(),
        "d.json",
        &json!({"base_path": base, "format": "parquet", "file_size_mb": 1}),
    );
    let r = run(
        "destination-file",
        &["write", "--config", dst.to_str().unwrap()],
        Some(input.as_bytes()),
    );
    assert!(!r.status.success());
    assert!(
        r.errors()[0]["message"].as_str().unwrap().contains("line 25251"),
        "{}",
        r.stdout
    );
    let (echoed, last) = echoed_count(&r.stdout);
    let rows = committed_rows(&base);
    assert!(echoed > 0, "rollover should have committed files and released states");
    assert!(
        echoed <= rows,
        "states cover {echoed} records but only {rows} are committed"
    );
    assert_eq!(last.map(|u| u as u64 + 1), Some(echoed));
    // No temporary file is left behind.
    assert!(files_under(&base)
        .iter()
        .all(|p| !p.to_string_lossy().contains("lakeport-tmp")));
}

/// RECORD lines ending the usual way (`…}, "emitted_at": N}}`) whose text
/// between `"data":` and that tail is not one JSON object: with more fields
/// of the record there (`meta`, one it does not know), every record is
/// written; malformed (two objects, a bracket left open), the write fails
/// naming the line — with and without a catalog, whether the record is
/// decoded where it is read or held as text, and as a stream's first
/// record: never an extra or a lost row.
#[test]
fn a_record_whose_data_is_followed_by_more_fields_or_is_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let line = |data: &str| {
        format!("{{\"type\":\"RECORD\",\"record\":{{\"stream\":\"s\",\"data\":{data},\"emitted_at\":1}}}}\n")
    };
    let stream = json!({"name": "s", "supported_sync_modes": ["full_refresh"], "json_schema": {"type": "object",
        "properties": {"id": {"type": ["null", "integer"]}, "name": {"type": ["null", "string"]}}}});
    let catalog = write_json(
        dir.path(),
        "c.json",
        &configured(&json!({"streams": [stream]}), "full_refresh", "append"),
    );
    let write = |input: &str, format: &str, with_catalog: bool, name: &str| {
        let base = dir.path().join(name);
        let dst = write_json(dir.path(), "d.json", &json!({"base_path": base, "format": format}));
        let mut args = vec!["write", "--config", dst.to_str().unwrap()];
        if with_catalog {
            args.extend(["--catalog", catalog.to_str().unwrap()]);
        }
        (run("destination-file", &args, Some(input.as_bytes())), base)
    };
    let good = |from: usize, to: usize| -> String {
        (from..to)
            .map(|i| line(&format!(r#"{{"id":{i},"name":"n{i}"}}"#)))
            .collect()
    };
    for at in [0, 10, 2500] {
        for with_catalog in [false, true] {
            // More fields of the record between `data` and `emitted_at`.
            let mut input = good(0, at);
            input.push_str(&line(r#"{"id":-1,"name":"m"},"meta":{"changes":[]}"#));
            input.push_str(&line(r#"{"id":-2,"name":"x"},"extra":{"a":[1,{"b":"}"}]}"#));
            input.push_str(&good(at, at + 5));
            let (r, base) = write(&input, "parquet", with_catalog, &format!("ok-{at}-{with_catalog}"));
            let what = format!("more fields at {at}, catalog {with_catalog}");
            assert!(r.status.success(), "{what}: {}", r.stdout);
            assert_eq!(committed_rows(&base), at as u64 + 7, "{what}");
            for bad in [
                r#"{"id":1} {"id":2}"#,
                r#"{"id":1},{"id":2}"#,
                r#"{"id":{"a":1}"#,
                r#"{"id":1,"name":"}"#,
            ] {
                let mut input = good(0, at);
                input.push_str(&line(bad));
                input.push_str(&good(at, at + 5));
                for format in ["parquet", "csv"] {
                    let (r, base) = write(
                        &input,
                        format,
                        with_catalog,
                        &format!("bad-{format}-{at}-{with_catalog}"),
                    );
                    let what = format!("{bad} at {at}, {format}, catalog {with_catalog}");
                    assert_eq!(r.status.code(), Some(1), "{what}: {}", r.stdout);
                    let message = r.errors()[0]["message"].as_str().unwrap_or("").to_string();
                    assert!(
                        message.contains(&format!("Input line {} is not a valid Airbyte message", at + 1)),
                        "{what}: {message}"
                    );
                    assert!(files_under(&base).is_empty(), "{what}: {:?}", files_under(&base));
                }
            }
        }
    }
}

#[test]
fn sigkill_mid_stream_leaves_no_partial_final_file() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    let dst = write_json(
        dir.path(),
        "d.json",
        &json!({"base_path": base, "format": "parquet", "file_size_mb": 1}),
    );
    let mut child = Command::new(bin("destination-file"))
        .args(["write", "--config", dst.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The process may die before it reads everything: ignore a broken pipe.
    let _ = stdin.write_all(big_input(40_000).as_bytes());
    let _ = stdin.flush();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    lakeport_tests::validate_messages(&stdout);
    let (echoed, _) = echoed_count(&stdout);
    let rows = committed_rows(&base);
    assert!(
        echoed <= rows,
        "states cover {echoed} records but only {rows} are committed"
    );
    drop(stdin);
}

#[test]
fn overwrite_replaces_older_files_only_after_commit() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base");
    std::fs::create_dir_all(base.join("s")).unwrap();
    std::fs::write(base.join("s/s_20000101_000000.jsonl"), "{\"old\":1}\n").unwrap();
    std::fs::write(base.join("s/notes.txt"), "user file").unwrap();
    let input = json!({"type":"RECORD","record":{"stream":"s","data":{"new":1},"emitted_at":1}}).to_string();
    let dst = write_json(
        dir.path(),
        "d.json",
        &json!({"base_path": base, "format": "jsonl", "overwrite": true}),
    );
    run(
        "destination-file",
        &["write", "--config", dst.to_str().unwrap()],
        Some(input.as_bytes()),
    )
    .assert_success();
    let names: Vec<String> = files_under(&base.join("s"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"notes.txt".to_string()));
    assert!(!names.contains(&"s_20000101_000000.jsonl".to_string()));
}

#[test]
fn a_cancelled_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cfg = write_json(dir.path(), "dst.json", &json!({"base_path": out, "format": "csv"}));
    let mut child = Command::new(bin("destination-file"))
        .args(["write", "--config", cfg.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let line = |i: u32| {
        format!("{{\"type\":\"RECORD\",\"record\":{{\"stream\":\"s\",\"data\":{{\"id\":{i}}},\"emitted_at\":1}}}}\n")
    };
    let temp_files = || -> Vec<PathBuf> {
        let mut found = vec![];
        let mut stack = vec![out.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else if e.file_name().to_string_lossy().contains("lakeport-tmp") {
                    found.push(e.path());
                }
            }
        }
        found
    };
    // Records keep coming until the file is open; stdin stays open.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut i = 0;
    while temp_files().is_empty() {
        assert!(std::time::Instant::now() < until, "the file never opened");
        for _ in 0..1000 {
            stdin.write_all(line(i).as_bytes()).unwrap();
            i += 1;
        }
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The shell's own `kill`: no procps needed.
    let killed = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    drop(stdin);
    // Cleaned up, then ended by the signal itself (what orchestrators expect).
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15),
        "{status:?}"
    );
    assert!(temp_files().is_empty(), "{:?}", temp_files());
}

#[test]
fn a_base_path_that_is_a_file_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let cfg = write_json(dir.path(), "dst.json", &json!({"base_path": file, "format": "csv"}));
    let input = "{\"type\":\"RECORD\",\"record\":{\"stream\":\"s\",\"data\":{\"a\":1},\"emitted_at\":1}}\n";
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().unwrap()],
        Some(input.as_bytes()),
    );
    assert!(!r.status.success());
    let error = r.errors()[0];
    assert_eq!(error["failure_type"], "config_error");
    assert!(error["message"].as_str().unwrap().contains("Set base_path"), "{error}");
}

#[test]
fn a_catalog_with_an_unknown_or_repeated_stream_fails_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("a.csv"), "id\n1\n").unwrap();
    let src = json!({"file_path": data, "stream_name": "s"});
    let catalog = configured(&discover(dir.path(), &src), "full_refresh", "append");
    let known = catalog["streams"][0].clone();
    let mut unknown = known.clone();
    unknown["stream"]["name"] = json!("nope");
    let cfg = write_json(dir.path(), "src.json", &src);
    for (streams, says) in [(json!([known, unknown]), "'nope'"), (json!([known, known]), "twice")] {
        let cat = write_json(dir.path(), "cat.json", &json!({ "streams": streams }));
        let r = read_with(&cfg, &cat, None);
        assert!(!r.status.success());
        assert!(r.records().is_empty(), "nothing is read first: {}", r.stdout);
        let msg = r.errors()[0]["message"].as_str().unwrap().to_string();
        assert!(msg.contains(says), "{msg}");
    }
}

/// From the file-source engine: a local hive directory is pruned by
/// `partition_filter` — once it holds more files than one listing page, the
/// pruned folders after that page are never listed (a link loop in one would
/// be warned about) — and the partition values become typed fields; many
/// small files are read ahead in parallel, every record in path order; a
/// local read has no COST report (no priced request).
#[cfg(unix)]
#[test]
fn a_local_hive_directory_is_pruned_by_partition_filter() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events");
    let folders = [
        ("year=2023/month=12", 1000),
        ("year=2024/month=01", 40),
        ("year=2024/month=02", 40),
        ("year=2025/month=01", 1),
    ];
    for (folder, files) in folders {
        std::fs::create_dir_all(events.join(folder)).unwrap();
        for i in 0..files {
            let text = format!("id,part\n{i},{folder}\n");
            std::fs::write(events.join(folder).join(format!("f{i:04}.csv")), text).unwrap();
        }
    }
    std::os::unix::fs::symlink("..", events.join("year=2025/month=01/loop")).unwrap();
    let src = json!({"file_path": events, "partition_filter": {"year": "2024"}, "partition_columns": true,
        "parallel_workers": 8});
    let catalog = discover(dir.path(), &src);
    let props = &catalog["streams"][0]["json_schema"]["properties"];
    assert!(props["year"]["type"].to_string().contains("integer"), "{props}");
    let r = read_all(dir.path(), src);
    let data = r.data();
    assert_eq!(data.len(), 80, "{}", r.stdout);
    assert!(data.iter().all(|d| d["year"] == 2024), "{}", r.stdout);
    let mut expected: Vec<String> = Vec::new();
    for month in ["01", "02"] {
        for i in 0..40 {
            expected.push(format!("year=2024/month={month}/f{i:04}.csv"));
        }
    }
    let urls: Vec<&str> = data
        .iter()
        .map(|d| d["_ab_source_file_url"].as_str().unwrap())
        .collect();
    let base = format!("{}/", events.display());
    let relative: Vec<&str> = urls.iter().filter_map(|u| u.strip_prefix(&base)).collect();
    assert_eq!(relative, expected, "records in path order, URLs the local paths");
    let logs = r.logs();
    assert!(
        !logs.iter().any(|l| l.contains("year=2025")),
        "pruned, never listed: {logs:?}"
    );
    assert!(!logs.iter().any(|l| l.starts_with("INFO COST ")), "{logs:?}");
}

/// source-file takes `shard` from the same engine as source-s3: three runs
/// of one local directory, each with its own index, read every record once.
#[test]
fn three_shards_of_a_local_directory_read_every_record_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mut expected = Vec::new();
    for f in 0..30 {
        // Mixed sizes, so the byte balance has work to do.
        let rows = 1 + (f * 7) % 23;
        let mut text = String::from("id,file\n");
        for r in 0..rows {
            text.push_str(&format!("{},{f}\n", f * 100 + r));
            expected.push(f * 100 + r);
        }
        std::fs::write(data.join(format!("f{f:02}.csv")), text).unwrap();
    }
    let mut seen = Vec::new();
    for index in 0..3 {
        let src = json!({"file_path": data, "shard": {"index": index, "count": 3}});
        let r = read_all(dir.path(), src);
        let ids: Vec<i64> = r.data().iter().map(|d| d["id"].as_i64().unwrap()).collect();
        assert!(!ids.is_empty(), "shard {index} read nothing: {}", r.stdout);
        seen.extend(ids);
    }
    seen.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        seen, expected,
        "the union of the shards is the whole stream, no duplicate"
    );
    let bad = write_json(
        dir.path(),
        "bad-shard.json",
        &json!({"file_path": data, "shard": {"index": 3, "count": 3}}),
    );
    let r = run("source-file", &["read", "--config", bad.to_str().unwrap()], None);
    assert!(!r.status.success(), "an index past the count is refused");
    let errors = r.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("shard") && e.to_string().contains("config_error")),
        "{}",
        r.stdout
    );
}
