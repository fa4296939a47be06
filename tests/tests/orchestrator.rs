//! The connectors as orchestrators run them.
//!
//! - Platform-style runs: as the Airbyte platform does, the config, catalog and
//!   state files are written into a job working directory and passed with
//!   relative paths (`read --config source_config.json --catalog
//!   source_catalog.json --state source_state.json`), stdin closed for sources,
//!   stdout parsed line by line (and validated against the official models by
//!   the rig); only RECORD and STATE messages go on to the destination, whose
//!   echoed STATEs become the next sync's `source_state.json`. Checks what the
//!   platform checks: stream statuses, per-state record counts, states only
//!   after the data they cover.
//! - PyAirbyte (PyPI `airbyte`): each source through `get_source(...,
//!   local_executable=...)`, `select_all_streams()`, `read()` into the default
//!   DuckDB cache, counts compared with what the binary itself emits.
//! - The shell example `examples/incremental/run_incremental.sh`.

mod platform_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lakeport_tests::{bin, bin_dir, run_with, workspace_root, Run, RunOpts, S3Server};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// A job working directory, as the platform prepares one.
// ---------------------------------------------------------------------------

struct Job {
    dir: tempfile::TempDir,
}

impl Job {
    fn new() -> Job {
        Job {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` (a bare file name) into the job directory.
    fn file(&self, name: &str, value: &Value) -> &Self {
        std::fs::write(self.path().join(name), serde_json::to_vec(value).unwrap()).unwrap();
        self
    }

    /// Runs the connector in the job directory with relative paths; stdin is
    /// closed unless `stdin` is given.
    fn run(&self, connector: &str, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
        for a in args {
            assert!(!a.starts_with('/'), "platform-style runs use relative paths: {a}");
        }
        run_with(
            connector,
            args,
            RunOpts {
                cwd: Some(self.path().to_path_buf()),
                stdin,
                ..Default::default()
            },
        )
    }

    fn spec(&self, connector: &str) -> Value {
        let r = self.run(connector, &["spec"], None);
        r.assert_success();
        let specs = r.of_type("SPEC");
        assert_eq!(specs.len(), 1, "{}", r.stdout);
        specs[0]["spec"].clone()
    }

    fn check(&self, connector: &str, config_file: &str) -> Value {
        let r = self.run(connector, &["check", "--config", config_file], None);
        r.assert_success();
        r.connection_status().clone()
    }

    fn discover(&self, connector: &str) -> Value {
        let r = self.run(connector, &["discover", "--config", "source_config.json"], None);
        r.assert_success();
        r.catalog().clone()
    }

    /// `read` as the platform calls it: state file only when there is a state.
    fn read(&self, connector: &str, state: Option<&Value>) -> Run {
        let mut args = vec![
            "read",
            "--config",
            "source_config.json",
            "--catalog",
            "source_catalog.json",
        ];
        if let Some(s) = state {
            self.file("source_state.json", s);
            args.extend(["--state", "source_state.json"]);
        }
        let r = self.run(connector, &args, None);
        r.assert_success();
        r
    }

    fn write(&self, connector: &str, messages: &[u8]) -> Run {
        let r = self.run(
            connector,
            &[
                "write",
                "--config",
                "destination_config.json",
                "--catalog",
                "destination_catalog.json",
            ],
            Some(messages.to_vec()),
        );
        r.assert_success();
        r
    }
}

/// The configured catalog the platform builds from a discovered one:
/// incremental where the stream supports it and has a cursor (source-defined
/// or default), full refresh otherwise; append on the destination side.
fn configure(discovered: &Value) -> Value {
    let streams: Vec<Value> = discovered["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| {
            let modes = s["supported_sync_modes"].as_array().cloned().unwrap_or_default();
            let cursor = s
                .get("default_cursor_field")
                .filter(|c| c.as_array().is_some_and(|a| !a.is_empty()));
            let incremental =
                modes.contains(&json!("incremental")) && (cursor.is_some() || s["source_defined_cursor"] == true);
            let mut c = json!({
                "stream": s,
                "sync_mode": if incremental { "incremental" } else { "full_refresh" },
                "destination_sync_mode": "append",
            });
            if let Some(cur) = cursor.filter(|_| incremental) {
                c["cursor_field"] = cur.clone();
            }
            if let Some(pk) = s.get("source_defined_primary_key") {
                c["primary_key"] = pk.clone();
            }
            c
        })
        .collect();
    json!({ "streams": streams })
}

fn stream_name(v: &Value) -> String {
    v["stream_descriptor"]["name"].as_str().unwrap_or_default().to_string()
}

/// What the platform checks on a source's output; returns the records per stream.
fn assert_platform_source_output(r: &Run, catalog: &Value) -> BTreeMap<String, usize> {
    assert!(
        r.errors().is_empty(),
        "TRACE ERROR: {:?}\nstderr:\n{}",
        r.errors(),
        r.stderr
    );
    let configured: Vec<String> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stream"]["name"].as_str().unwrap().to_string())
        .collect();
    let mut status: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut records: BTreeMap<String, usize> = BTreeMap::new();
    let mut since_state: BTreeMap<String, usize> = BTreeMap::new();
    for m in &r.messages {
        match m["type"].as_str().unwrap() {
            "RECORD" => {
                let s = m["record"]["stream"].as_str().unwrap().to_string();
                assert!(configured.contains(&s), "record of a stream not in the catalog: {s}");
                assert!(
                    matches!(
                        status.get(&s).and_then(|v| v.last()).map(String::as_str),
                        Some("STARTED" | "RUNNING")
                    ),
                    "record of {s} outside its STARTED..COMPLETE"
                );
                *records.entry(s.clone()).or_default() += 1;
                *since_state.entry(s).or_default() += 1;
            }
            "STATE" => {
                let st = &m["state"];
                assert_eq!(st["type"], "STREAM", "per-stream states expected: {st}");
                let s = stream_name(&st["stream"]);
                assert!(configured.contains(&s), "state of a stream not in the catalog: {s}");
                let counted = st["sourceStats"]["recordCount"]
                    .as_f64()
                    .expect("sourceStats.recordCount");
                let seen = since_state.insert(s.clone(), 0).unwrap_or(0);
                assert_eq!(
                    counted as usize, seen,
                    "{s}: state says {counted} records since the last one, {seen} were sent"
                );
            }
            "TRACE" if m["trace"]["type"] == "STREAM_STATUS" => {
                let ss = &m["trace"]["stream_status"];
                status
                    .entry(stream_name(ss))
                    .or_default()
                    .push(ss["status"].as_str().unwrap().to_string());
            }
            _ => {}
        }
    }
    for s in &configured {
        let st = status.get(s).cloned().unwrap_or_default();
        let st: Vec<&str> = st.iter().map(String::as_str).collect();
        // RUNNING once the stream's first record is out, as the Airbyte CDK does.
        let expected: &[&str] = if records.get(s).copied().unwrap_or(0) > 0 {
            &["STARTED", "RUNNING", "COMPLETE"]
        } else {
            &["STARTED", "COMPLETE"]
        };
        assert_eq!(st, expected, "{s}: stream statuses");
        assert_eq!(
            since_state.get(s).copied().unwrap_or(0),
            0,
            "{s}: records after its last STATE would never be committed"
        );
    }
    for s in &configured {
        records.entry(s.clone()).or_default();
    }
    records
}

/// What the platform forwards to the destination: RECORD and STATE lines.
fn forward(source: &Run) -> Vec<u8> {
    let mut out = Vec::new();
    for line in source.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if v["type"] == "RECORD" || v["type"] == "STATE" {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
    out
}

/// Checks the destination's echoed states against the source's and returns
/// the state array the platform persists for the next sync (last per stream,
/// stats dropped), merged over the previous one.
fn committed_state(source: &Run, destination: &Run, previous: Option<&Value>) -> Value {
    assert!(destination.errors().is_empty(), "{:?}", destination.errors());
    let src_states = source.states();
    let dst_states = destination.states();
    assert_eq!(
        dst_states.len(),
        src_states.len(),
        "the destination echoes every state once its data is written"
    );
    let mut last: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(prev) = previous {
        for s in prev.as_array().unwrap() {
            last.insert(stream_name(&s["stream"]), s.clone());
        }
    }
    for (s, d) in src_states.iter().zip(&dst_states) {
        assert_eq!(s["stream"], d["stream"], "states echoed in order, unchanged");
        assert_eq!(
            d["destinationStats"]["recordCount"], s["sourceStats"]["recordCount"],
            "destinationStats.recordCount matches the source's count"
        );
        last.insert(
            stream_name(&d["stream"]),
            json!({"type": "STREAM", "stream": d["stream"]}),
        );
    }
    Value::Array(last.into_values().collect())
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

/// Rows per stream of destination-file output, read back with source-file.
fn read_back(base: &Path) -> BTreeMap<String, usize> {
    let job = Job::new();
    job.file(
        "source_config.json",
        &json!({"file_path": base, "layout": "per_subdirectory"}),
    );
    let r = job.run("source-file", &["read", "--config", "source_config.json"], None);
    r.assert_success();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        *out.entry(rec["stream"].as_str().unwrap().to_string()).or_default() += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Platform-style runs
// ---------------------------------------------------------------------------

#[test]
fn platform_spec_and_check_resolve_relative_config_paths_for_every_connector() {
    let s3 = S3Server::start();
    s3.create_bucket("job");
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("a.csv"), "id\n1\n").unwrap();
    let db = data.path().join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).unwrap();
    let mut dest_s3 = s3.connection("job");
    dest_s3["file_format"] = json!("jsonl");
    let cases = [
        (
            "source-file",
            "source_config.json",
            json!({"file_path": data.path().join("a.csv")}),
        ),
        ("source-sqlite", "source_config.json", json!({"database_path": db})),
        ("source-s3", "source_config.json", s3.connection("job")),
        (
            "destination-file",
            "destination_config.json",
            json!({"base_path": data.path().join("out"), "format": "jsonl"}),
        ),
        ("destination-s3", "destination_config.json", dest_s3),
    ];
    for (connector, file, config) in cases {
        let job = Job::new();
        let spec = job.spec(connector);
        assert!(spec["connectionSpecification"].is_object(), "{connector}: {spec}");
        job.file(file, &config);
        let status = job.check(connector, file);
        assert_eq!(status["status"], "SUCCEEDED", "{connector}: {status}");
        // A config file missing from the job directory is a config error that names it.
        let empty = Job::new();
        let r = empty.run(connector, &["check", "--config", file], None);
        let text = format!("{}{}", r.stdout, r.stderr);
        assert!(text.contains(file), "{connector}: the error names {file}:\n{text}");
        assert!(!text.contains("panicked"), "{connector}: {text}");
    }
}

#[test]
fn platform_syncs_source_file_to_destination_file_and_resumes_from_state() {
    let data = tempfile::tempdir().unwrap();
    let incoming = data.path().join("incoming");
    let out = data.path().join("out");
    std::fs::create_dir_all(&incoming).unwrap();
    std::fs::write(incoming.join("day1.csv"), "id,amount\n1,1.5\n2,2.5\n3,3.5\n").unwrap();

    let src = Job::new();
    src.file(
        "source_config.json",
        &json!({"file_path": incoming, "stream_name": "events"}),
    );
    assert_eq!(src.check("source-file", "source_config.json")["status"], "SUCCEEDED");
    let catalog = configure(&src.discover("source-file"));
    assert_eq!(catalog["streams"][0]["sync_mode"], "incremental", "{catalog}");
    src.file("source_catalog.json", &catalog);

    let dst = Job::new();
    dst.file(
        "destination_config.json",
        &json!({"base_path": out, "format": "parquet"}),
    );
    dst.file("destination_catalog.json", &catalog);
    assert_eq!(
        dst.check("destination-file", "destination_config.json")["status"],
        "SUCCEEDED"
    );

    // Sync 1: everything.
    let r1 = src.read("source-file", None);
    assert_eq!(assert_platform_source_output(&r1, &catalog)["events"], 3);
    assert!(r1.data().iter().all(|d| d["id"].is_i64()), "integers typed as integers");
    let w1 = dst.write("destination-file", &forward(&r1));
    let state1 = committed_state(&r1, &w1, None);
    assert_eq!(state1.as_array().unwrap().len(), 1, "{state1}");

    // Sync 2: one new file; only it moves.
    std::fs::write(incoming.join("day2.csv"), "id,amount\n4,4.5\n5,5.5\n").unwrap();
    let r2 = src.read("source-file", Some(&state1));
    assert_eq!(assert_platform_source_output(&r2, &catalog)["events"], 2);
    assert!(r2
        .data()
        .iter()
        .all(|d| d["_ab_source_file_url"].as_str().unwrap().ends_with("day2.csv")));
    let w2 = dst.write("destination-file", &forward(&r2));
    let state2 = committed_state(&r2, &w2, Some(&state1));

    // Sync 3: nothing new, nothing moves; the state stays usable.
    let r3 = src.read("source-file", Some(&state2));
    assert_eq!(assert_platform_source_output(&r3, &catalog)["events"], 0);

    assert_eq!(read_back(&out), BTreeMap::from([("events".to_string(), 5)]));
    assert!(files_under(&out)
        .iter()
        .all(|p| p.extension().is_some_and(|e| e == "parquet")));
}

#[test]
fn platform_syncs_source_sqlite_incrementally_with_full_refresh_streams_alongside() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).unwrap();
    let out = data.path().join("out");

    let src = Job::new();
    // incremental_field gives tables with that column a default cursor (what a
    // platform user would otherwise pick in the UI).
    src.file(
        "source_config.json",
        &json!({"database_path": db, "incremental_field": "updated_at"}),
    );
    let catalog = configure(&src.discover("source-sqlite"));
    let modes: BTreeMap<String, String> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stream"]["name"].as_str().unwrap().to_string(),
                s["sync_mode"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(modes["orders"], "incremental");
    assert_eq!(modes["users"], "incremental");
    assert_eq!(modes["products"], "full_refresh");
    src.file("source_catalog.json", &catalog);
    let dst = Job::new();
    dst.file("destination_config.json", &json!({"base_path": out, "format": "jsonl"}));
    dst.file("destination_catalog.json", &catalog);

    let r1 = src.read("source-sqlite", None);
    let n1 = assert_platform_source_output(&r1, &catalog);
    assert_eq!(
        (n1["orders"], n1["users"], n1["products"], n1["order_totals"]),
        (200, 50, 20, 50)
    );
    let w1 = dst.write("destination-file", &forward(&r1));
    let state1 = committed_state(&r1, &w1, None);

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO orders VALUES (201, 1, 'SKU-001', 1, 9.5, NULL, '2025-03-01 00:00:00');
         INSERT INTO orders VALUES (202, 2, 'SKU-002', 2, 19.0, 'gift', '2025-03-01 00:00:01');",
    )
    .unwrap();
    drop(conn);

    let r2 = src.read("source-sqlite", Some(&state1));
    let n2 = assert_platform_source_output(&r2, &catalog);
    assert_eq!((n2["orders"], n2["users"]), (2, 0), "only the new orders move");
    assert_eq!(
        (n2["products"], n2["order_totals"]),
        (20, 50),
        "full-refresh streams are read in full"
    );
    let w2 = dst.write("destination-file", &forward(&r2));
    committed_state(&r2, &w2, Some(&state1));
    let back = read_back(&out);
    assert_eq!(back["orders"], 202);
    assert_eq!(back["users"], 50);
}

#[test]
fn platform_syncs_source_s3_and_resumes_from_state() {
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    s3.put_object("lake", "events/2025-01-01.csv", b"id,kind\n1,a\n2,b\n3,c\n");
    s3.put_object("lake", "events/2025-01-02.csv", b"id,kind\n4,d\n");
    let mut config = s3.connection("lake");
    config["path_prefix"] = json!("events/");
    config["file_format"] = json!("csv");
    config["stream_name"] = json!("events");

    let src = Job::new();
    src.file("source_config.json", &config);
    assert_eq!(src.check("source-s3", "source_config.json")["status"], "SUCCEEDED");
    let catalog = configure(&src.discover("source-s3"));
    assert_eq!(catalog["streams"][0]["sync_mode"], "incremental", "{catalog}");
    src.file("source_catalog.json", &catalog);
    let out = tempfile::tempdir().unwrap();
    let dst = Job::new();
    dst.file(
        "destination_config.json",
        &json!({"base_path": out.path(), "format": "jsonl"}),
    );
    dst.file("destination_catalog.json", &catalog);

    let r1 = src.read("source-s3", None);
    assert_eq!(assert_platform_source_output(&r1, &catalog)["events"], 4);
    let w1 = dst.write("destination-file", &forward(&r1));
    let state1 = committed_state(&r1, &w1, None);

    std::thread::sleep(std::time::Duration::from_millis(1100));
    s3.put_object("lake", "events/2025-01-03.csv", b"id,kind\n5,e\n6,f\n");
    let r2 = src.read("source-s3", Some(&state1));
    assert_eq!(assert_platform_source_output(&r2, &catalog)["events"], 2);
    let w2 = dst.write("destination-file", &forward(&r2));
    committed_state(&r2, &w2, Some(&state1));
    assert_eq!(read_back(out.path())["events"], 6);
}

#[test]
fn platform_writes_to_destination_s3_and_echoes_states_after_upload() {
    let s3 = S3Server::start();
    s3.create_bucket("out");
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).unwrap();

    let src = Job::new();
    src.file(
        "source_config.json",
        &json!({"database_path": db, "tables": ["users", "products"]}),
    );
    let catalog = configure(&src.discover("source-sqlite"));
    src.file("source_catalog.json", &catalog);
    let r = src.read("source-sqlite", None);
    assert_platform_source_output(&r, &catalog);

    let mut config = s3.connection("out");
    config["path_prefix"] = json!("lake");
    config["file_format"] = json!("jsonl");
    let dst = Job::new();
    dst.file("destination_config.json", &config);
    dst.file("destination_catalog.json", &catalog);
    assert_eq!(
        dst.check("destination-s3", "destination_config.json")["status"],
        "SUCCEEDED"
    );
    let w = dst.write("destination-s3", &forward(&r));
    committed_state(&r, &w, None);
    let keys = s3.keys("out");
    for stream in ["users", "products"] {
        let objs: Vec<&String> = keys
            .iter()
            .filter(|k| k.starts_with(&format!("lake/{stream}/{stream}_")))
            .collect();
        assert!(!objs.is_empty(), "no object for {stream} in {keys:?}");
        let lines: usize = objs
            .iter()
            .map(|k| String::from_utf8_lossy(&s3.object("out", k)).lines().count())
            .sum();
        assert_eq!(lines, if stream == "users" { 50 } else { 20 }, "{stream}");
    }
}

// ---------------------------------------------------------------------------
// PyAirbyte
// ---------------------------------------------------------------------------

/// Runs tests/python/pyairbyte_read.py for one source; returns its result.
fn pyairbyte_read(connector: &str, config: &Value, force_full_refresh: bool) -> Value {
    let work = tempfile::tempdir().unwrap();
    let job = json!({
        "name": connector,
        "executable": bin(connector),
        "config": config,
        "work_dir": work.path(),
        "force_full_refresh": force_full_refresh,
    });
    let job_path = work.path().join("job.json");
    std::fs::write(&job_path, job.to_string()).unwrap();
    let mut cmd = Command::new(platform_support::pyairbyte_python());
    cmd.arg(workspace_root().join("tests/python/pyairbyte_read.py"))
        .arg(&job_path)
        .current_dir(work.path());
    platform_support::pyairbyte_env(&mut cmd, work.path());
    let out = cmd.output().expect("run PyAirbyte");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs = files_under(&work.path().join("logs"))
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        out.status.success(),
        "PyAirbyte failed for {connector}:\n{}\n--- stderr\n{}\n--- connector log\n{logs}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LAKEPORT_RESULT "))
        .unwrap_or_else(|| panic!("no result from PyAirbyte:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

/// Records per stream the binary itself emits for `read` (no catalog: every
/// stream, full refresh).
fn binary_counts(connector: &str, config: &Value) -> BTreeMap<String, u64> {
    let job = Job::new();
    job.file("source_config.json", config);
    let r = job.run(connector, &["read", "--config", "source_config.json"], None);
    r.assert_success();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        *out.entry(rec["stream"].as_str().unwrap().to_string()).or_default() += 1;
    }
    out
}

fn counts_of(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect()
}

#[test]
fn pyairbyte_reads_source_file_into_its_cache_and_resumes_from_its_state() {
    let data = tempfile::tempdir().unwrap();
    std::fs::write(data.path().join("a.csv"), "id,name\n1,a\n2,b\n3,c\n").unwrap();
    std::fs::write(data.path().join("b.csv"), "id,name\n4,d\n").unwrap();
    let config = json!({"file_path": data.path(), "stream_name": "things"});
    let expected = binary_counts("source-file", &config);
    assert_eq!(expected["things"], 4);
    let result = pyairbyte_read("source-file", &config, false);
    assert_eq!(counts_of(&result["streams"]), expected, "{result}");
    assert_eq!(result["processed"], 4);
    let cols = &result["columns"]["things"];
    for c in ["id", "name", "_ab_source_file_url", "_ab_source_file_last_modified"] {
        assert!(cols.as_array().unwrap().contains(&json!(c)), "{c} missing from {cols}");
    }
    assert_eq!(
        result["second_processed"], 0,
        "the second read resumes from PyAirbyte's saved state: {result}"
    );
    assert_eq!(result["states"].as_array().unwrap().len(), 1, "{result}");
}

#[test]
fn pyairbyte_reads_source_sqlite_incrementally_and_in_full() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).unwrap();

    // PyAirbyte's default read asks for incremental on every stream, with the
    // default cursor: the tables that have one.
    let config = json!({"database_path": db, "tables": ["orders", "users"], "incremental_field": "updated_at"});
    let expected = binary_counts("source-sqlite", &config);
    let result = pyairbyte_read("source-sqlite", &config, false);
    assert_eq!(counts_of(&result["streams"]), expected, "{result}");
    assert_eq!(result["processed"], 250);
    assert_eq!(result["second_processed"], 0, "{result}");

    // Every stream (views and tables without a cursor too), full refresh.
    let config = json!({"database_path": db});
    let expected = binary_counts("source-sqlite", &config);
    assert_eq!(expected.len(), 4);
    let result = pyairbyte_read("source-sqlite", &config, true);
    assert_eq!(counts_of(&result["streams"]), expected, "{result}");
    assert_eq!(
        result["second_processed"], 320,
        "full refresh reads everything again: {result}"
    );
}

/// PyAirbyte's plain `read()` configures *every* stream as incremental with
/// `cursor_field` = the stream's `default_cursor_field` (absent for tables and
/// views without an `updated_at`-like column). source-sqlite reads such a
/// stream in full, with a WARN, so a plain `read()` of the whole database works.
#[test]
fn pyairbyte_plain_read_of_every_sqlite_stream() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).unwrap();
    let config = json!({"database_path": db});
    let expected = binary_counts("source-sqlite", &config);
    let result = pyairbyte_read("source-sqlite", &config, false);
    assert_eq!(counts_of(&result["streams"]), expected, "{result}");
}

#[test]
fn pyairbyte_reads_source_s3_from_the_rig_server() {
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    s3.put_object("lake", "events/2025-01-01.csv", b"id,kind\n1,a\n2,b\n3,c\n");
    s3.put_object("lake", "events/2025-01-02.jsonl", b"{\"id\":4,\"kind\":\"d\"}\n");
    let mut config = s3.connection("lake");
    config["streams"] = json!([
        {"name": "csv_events", "globs": ["events/*.csv"], "file_format": "csv"},
        {"name": "json_events", "globs": ["events/*.jsonl"], "file_format": "jsonl"}
    ]);
    let expected = binary_counts("source-s3", &config);
    assert_eq!(expected.values().sum::<u64>(), 4, "{expected:?}");
    let result = pyairbyte_read("source-s3", &config, false);
    assert_eq!(counts_of(&result["streams"]), expected, "{result}");
    assert_eq!(result["second_processed"], 0, "{result}");
}

// ---------------------------------------------------------------------------
// Shell pipelines
// ---------------------------------------------------------------------------

#[test]
fn shell_incremental_example_moves_only_new_data_on_the_second_run() {
    let work = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(workspace_root().join("examples/incremental/run_incremental.sh"))
        .arg(work.path())
        .env("LAKEPORT_BIN", bin_dir())
        .output()
        .expect("run examples/incremental/run_incremental.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("run_incremental: all checks passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // The state files hold only STATE messages, each valid for --state.
    for name in ["files", "shop"] {
        let text = std::fs::read_to_string(work.path().join("state").join(format!("{name}.jsonl"))).unwrap();
        assert!(!text.is_empty());
        lakeport_tests::validate_messages(&text);
        assert!(text.lines().all(|l| l.starts_with("{\"type\":\"STATE\"")), "{text}");
    }
    // The second run's messages validate too.
    for f in ["files-2-source", "files-2-state", "shop-2-source", "shop-2-state"] {
        let text = std::fs::read_to_string(work.path().join("runs").join(format!("{f}.jsonl"))).unwrap();
        lakeport_tests::validate_messages(&text);
    }
}
