//! destination-file with an Airbyte destination-local-json / destination-csv
//! config: Airbyte's raw layout (`_airbyte_raw_<stream>.jsonl|.csv` with
//! `_airbyte_ab_id`, `_airbyte_emitted_at`, `_airbyte_data`) in the
//! directory `destination_path` names inside `/local` (resolved through
//! `LAKEPORT_LOCAL_ROOT`), overwrite and append as Airbyte's connectors do,
//! committed atomically, with STATE messages echoed once committed. Every
//! line the binary prints is validated against the official models.

use std::path::{Path, PathBuf};

use lakeport_tests::{python_eval, run_with, write_json, Run, RunOpts};
use serde_json::{json, Value};

const HOSTILE: &str = "../../etc/passwd";

/// A configured catalog: (stream, destination_sync_mode) pairs.
fn catalog(streams: &[(&str, &str)]) -> Value {
    json!({"streams": streams.iter().map(|(name, mode)| json!({
        "stream": {"name": name, "json_schema": {"type": "object"}, "supported_sync_modes": ["full_refresh", "incremental"]},
        "sync_mode": if *mode == "overwrite" { "full_refresh" } else { "incremental" },
        "destination_sync_mode": mode,
    })).collect::<Vec<_>>()})
}

fn record(stream: &str, data: Value, emitted_at: i64) -> String {
    json!({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": emitted_at}}).to_string()
}

fn state(stream: &str, cursor: i64) -> String {
    json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": {"cursor": cursor}}}})
    .to_string()
}

/// A test directory with Airbyte's `/local` mapped into it.
struct Local {
    dir: tempfile::TempDir,
}

impl Local {
    fn new() -> Self {
        Local {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Where `/local/<rel>` lands.
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join("local").join(rel)
    }

    fn config(&self, name: &str, config: &Value) -> PathBuf {
        write_json(self.dir.path(), name, config)
    }

    fn write(&self, config: &Path, catalog: Option<&Value>, lines: &[String]) -> Run {
        let mut args = vec!["write".to_string(), "--config".into(), config.to_str().unwrap().into()];
        if let Some(c) = catalog {
            let path = write_json(self.dir.path(), "catalog.json", c);
            args.push("--catalog".into());
            args.push(path.to_str().unwrap().into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut input = lines.join("\n");
        input.push('\n');
        run_with(
            "destination-file",
            &args,
            RunOpts {
                env: vec![(
                    "LAKEPORT_LOCAL_ROOT".into(),
                    self.dir.path().join("local").to_str().unwrap().into(),
                )],
                stdin: Some(input.into_bytes()),
                ..Default::default()
            },
        )
    }
}

/// The JSONL file's lines, parsed.
fn jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// Each line has exactly Airbyte's three keys, in Airbyte's order.
fn data_of(lines: &[Value]) -> Vec<Value> {
    for l in lines {
        let keys: Vec<&str> = l.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"], "{l}");
        assert_eq!(l["_airbyte_ab_id"].as_str().map(str::len), Some(36), "{l}");
        assert!(l["_airbyte_emitted_at"].is_i64(), "{l}");
    }
    lines.iter().map(|l| l["_airbyte_data"].clone()).collect()
}

/// Names in `dir`, sorted (temporary files included).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn state_counts(r: &Run) -> Vec<(String, f64)> {
    r.states()
        .iter()
        .map(|s| {
            (
                s["stream"]["stream_descriptor"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                s["destinationStats"]["recordCount"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

#[test]
fn local_json_overwrites_and_appends_each_stream_in_its_own_file() {
    let local = Local::new();
    let cfg = local.config("local-json.json", &json!({"destination_path": "/local/json_data"}));
    let cat = catalog(&[("users", "overwrite"), ("events", "append"), (HOSTILE, "append")]);
    let dir = local.path("json_data");

    let first = [
        record(
            "users",
            json!({"id": 1, "name": "Ann", "tags": ["a", "b"], "nested": {"x": 1.5}}),
            1_700_000_000_001,
        ),
        record("events", json!({"id": 10, "kind": "click"}), 1_700_000_000_002),
        record(
            "users",
            json!({"id": 2, "name": "Bob \"the\" builder\n"}),
            1_700_000_000_003,
        ),
        state("users", 2),
        record("events", json!({"id": 11, "kind": "view"}), 1_700_000_000_004),
        record(HOSTILE, json!({"evil": true}), 1_700_000_000_005),
        state("events", 11),
    ];
    let r = local.write(&cfg, Some(&cat), &first);
    r.assert_success();
    assert_eq!(
        names(&dir),
        [
            "_airbyte_raw__._.._etc_passwd.jsonl",
            "_airbyte_raw_events.jsonl",
            "_airbyte_raw_users.jsonl"
        ],
        "one file per stream, the hostile name kept inside the directory, no temporary file left"
    );
    assert!(!local.dir.path().join("etc").exists());
    let users = jsonl(&dir.join("_airbyte_raw_users.jsonl"));
    assert_eq!(
        data_of(&users),
        [
            json!({"id": 1, "name": "Ann", "tags": ["a", "b"], "nested": {"x": 1.5}}),
            json!({"id": 2, "name": "Bob \"the\" builder\n"})
        ]
    );
    assert_eq!(users[0]["_airbyte_emitted_at"], 1_700_000_000_001i64);
    assert_ne!(users[0]["_airbyte_ab_id"], users[1]["_airbyte_ab_id"]);
    assert_eq!(data_of(&jsonl(&dir.join("_airbyte_raw_events.jsonl"))).len(), 2);
    assert_eq!(
        data_of(&jsonl(&dir.join("_airbyte_raw__._.._etc_passwd.jsonl"))),
        [json!({"evil": true})]
    );
    // Both states, in order, with the records each one covers.
    assert_eq!(state_counts(&r), [("users".into(), 2.0), ("events".into(), 2.0)]);
    assert_eq!(r.states()[1]["stream"]["stream_state"], json!({"cursor": 11}));
    assert!(
        r.logs()
            .iter()
            .any(|l| l.contains("Wrote 5 records in Airbyte's raw layout to 3 file(s)")),
        "{:?}",
        r.logs()
    );

    // Second sync: users is overwritten, events and the hostile stream are
    // appended to (old lines kept, new ones after them).
    let second = [
        record("users", json!({"id": 3}), 1_700_000_100_000),
        record("events", json!({"id": 12, "kind": "buy"}), 1_700_000_100_001),
        state("events", 12),
    ];
    let r = local.write(&cfg, Some(&cat), &second);
    r.assert_success();
    assert_eq!(state_counts(&r), [("events".into(), 1.0)]);
    assert_eq!(
        data_of(&jsonl(&dir.join("_airbyte_raw_users.jsonl"))),
        [json!({"id": 3})]
    );
    let events = data_of(&jsonl(&dir.join("_airbyte_raw_events.jsonl")));
    assert_eq!(
        events.iter().map(|d| d["id"].as_i64().unwrap()).collect::<Vec<_>>(),
        [10, 11, 12]
    );
    assert_eq!(
        data_of(&jsonl(&dir.join("_airbyte_raw__._.._etc_passwd.jsonl"))),
        [json!({"evil": true})],
        "an appended stream without records keeps its file"
    );

    // A third sync where users has no record: an overwrite still empties it.
    let r = local.write(&cfg, Some(&cat), &[record("events", json!({"id": 13}), 1)]);
    r.assert_success();
    assert_eq!(
        std::fs::read_to_string(dir.join("_airbyte_raw_users.jsonl")).unwrap(),
        ""
    );
    assert_eq!(data_of(&jsonl(&dir.join("_airbyte_raw_events.jsonl"))).len(), 4);

    // Without a catalog every stream is appended to.
    let r = local.write(&cfg, None, &[record("users", json!({"id": 4}), 1), state("users", 4)]);
    r.assert_success();
    assert_eq!(state_counts(&r), [("users".into(), 1.0)]);
    let r = local.write(&cfg, None, &[record("users", json!({"id": 5}), 1)]);
    r.assert_success();
    assert_eq!(
        data_of(&jsonl(&dir.join("_airbyte_raw_users.jsonl"))),
        [json!({"id": 4}), json!({"id": 5})]
    );
    assert!(names(&dir).iter().all(|n| !n.starts_with('.')), "{:?}", names(&dir));
}

/// Rows of a CSV file as Python's csv module reads them.
fn python_csv(path: &Path, delimiter: &str) -> Vec<Vec<String>> {
    let out = python_eval(
        "import csv, json, sys\n\
         with open(sys.argv[1], newline='', encoding='utf-8') as f:\n\
         \x20   print(json.dumps(list(csv.reader(f, delimiter=sys.argv[2]))))",
        &[path.to_str().unwrap(), delimiter],
    );
    serde_json::from_str(&out).unwrap()
}

#[test]
fn csv_raw_files_read_back_with_pythons_csv_module() {
    let local = Local::new();
    let cfg = local.config(
        "csv.json",
        &json!({"destination_path": "csv_data", "delimiter_type": {"delimiter": "\\u002c"}}),
    );
    let dir = local.path("csv_data");
    let tricky =
        json!({"id": 1, "text": "comma, \"quote\", new\nline, café ☕", "list": [1, {"a": null}], "empty": ""});
    let cat = catalog(&[("orders", "append"), ("quiet", "overwrite")]);
    let r = local.write(
        &cfg,
        Some(&cat),
        &[
            record("orders", tricky.clone(), 1_700_000_000_000),
            record("orders", json!({}), 1_700_000_000_001),
            state("orders", 1),
        ],
    );
    r.assert_success();
    assert_eq!(state_counts(&r), [("orders".into(), 2.0)]);
    assert_eq!(names(&dir), ["_airbyte_raw_orders.csv", "_airbyte_raw_quiet.csv"]);
    let raw = std::fs::read_to_string(dir.join("_airbyte_raw_orders.csv")).unwrap();
    assert!(
        raw.starts_with("_airbyte_ab_id,_airbyte_emitted_at,_airbyte_data\r\n"),
        "{raw:?}"
    );
    let rows = python_csv(&dir.join("_airbyte_raw_orders.csv"), ",");
    assert_eq!(rows[0], ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"]);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1][0].len(), 36);
    assert_eq!(rows[1][1], "1700000000000");
    assert_eq!(serde_json::from_str::<Value>(&rows[1][2]).unwrap(), tricky);
    assert_eq!(rows[2][2], "{}");
    // A catalog stream without records: a header-only file.
    assert_eq!(
        python_csv(&dir.join("_airbyte_raw_quiet.csv"), ","),
        [["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"]]
    );

    // Append: the header is not repeated.
    let r = local.write(
        &cfg,
        Some(&cat),
        &[record("orders", json!({"id": 2}), 1_700_000_000_002)],
    );
    r.assert_success();
    let rows = python_csv(&dir.join("_airbyte_raw_orders.csv"), ",");
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows.iter().filter(|r| r[0] == "_airbyte_ab_id").count(), 1);
    assert_eq!(rows[3][2], r#"{"id":2}"#);

    // destination-csv's other delimiters are honoured.
    let semi = local.config(
        "semicolon.json",
        &json!({"destination_path": "/local/semi", "delimiter_type": {"delimiter": "\\u003b"}}),
    );
    let r = local.write(&semi, None, &[record("orders", json!({"a": "x;y", "b": 2}), 7)]);
    r.assert_success();
    let rows = python_csv(&local.path("semi").join("_airbyte_raw_orders.csv"), ";");
    assert_eq!(rows[0], ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"]);
    assert_eq!(
        serde_json::from_str::<Value>(&rows[1][2]).unwrap(),
        json!({"a": "x;y", "b": 2})
    );
}

#[test]
fn a_failed_sync_leaves_the_files_as_the_last_echoed_state_left_them() {
    let local = Local::new();
    let cfg = local.config("local-json.json", &json!({"destination_path": "/local/out"}));
    let dir = local.path("out");
    let cat = catalog(&[("full", "overwrite"), ("inc", "append")]);
    let old: Vec<String> = (0..50)
        .flat_map(|i| [record("full", json!({"i": i}), i), record("inc", json!({"i": i}), i)])
        .collect();
    local.write(&cfg, Some(&cat), &old).assert_success();
    let full_before = std::fs::read(dir.join("_airbyte_raw_full.jsonl")).unwrap();
    let inc_before = std::fs::read(dir.join("_airbyte_raw_inc.jsonl")).unwrap();

    // Records and states, then a line that is not a message: the sync fails.
    // The overwritten file is only replaced at the end, and the small append
    // was not worth committing at its STATE (it would copy the old file), so
    // neither STATE is echoed and both files are untouched.
    let failing = [
        record("full", json!({"i": 100}), 1),
        state("full", 100),
        record("inc", json!({"i": 100}), 1),
        state("inc", 100),
        "this is not JSON".to_string(),
    ];
    let r = local.write(&cfg, Some(&cat), &failing);
    assert!(!r.status.success());
    assert!(r.states().is_empty(), "{}", r.stdout);
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("Input line 5"),
        "{}",
        errors[0]
    );
    assert_eq!(std::fs::read(dir.join("_airbyte_raw_full.jsonl")).unwrap(), full_before);
    assert_eq!(std::fs::read(dir.join("_airbyte_raw_inc.jsonl")).unwrap(), inc_before);
    assert_eq!(
        names(&dir),
        ["_airbyte_raw_full.jsonl", "_airbyte_raw_inc.jsonl"],
        "no temporary file left"
    );

    // An append that is cheap to commit (a new file) is committed at its
    // STATE, which is then echoed; the failure after it keeps those records
    // — exactly what the echoed state promised — and nothing after them.
    let fresh = catalog(&[("fresh", "append")]);
    let r = local.write(
        &cfg,
        Some(&fresh),
        &[
            record("fresh", json!({"n": 1}), 1),
            record("fresh", json!({"n": 2}), 2),
            state("fresh", 2),
            record("fresh", json!({"n": 3}), 3),
            record("fresh", json!({"n": 4}), 4),
            r#"{"type":"RECORD","record":{"stream":"fresh","data":[1],"emitted_at":5}}"#.to_string(),
        ],
    );
    assert!(!r.status.success());
    assert_eq!(state_counts(&r), [("fresh".into(), 2.0)]);
    assert_eq!(
        data_of(&jsonl(&dir.join("_airbyte_raw_fresh.jsonl"))),
        [json!({"n": 1}), json!({"n": 2})]
    );
    assert!(names(&dir).iter().all(|n| !n.starts_with('.')), "{:?}", names(&dir));

    // A record of a stream the catalog does not configure fails the sync
    // the same way.
    let r = local.write(
        &cfg,
        Some(&cat),
        &[record("full", json!({"i": 1}), 1), record("other", json!({}), 1)],
    );
    assert!(!r.status.success());
    assert!(
        r.errors()[0]["message"].as_str().unwrap().contains("'other'"),
        "{}",
        r.stdout
    );
    assert_eq!(std::fs::read(dir.join("_airbyte_raw_full.jsonl")).unwrap(), full_before);
}

#[test]
fn check_and_native_raw_configs() {
    let local = Local::new();
    // The native form import-config prints works as it is, and base_path
    // outside /local is used as it is.
    let out = local.dir.path().join("native-out");
    let cfg = local.config(
        "native.json",
        &json!({"base_path": out, "format": "jsonl", "airbyte_raw": true, "overwrite": true}),
    );
    let r = local.write(&cfg, None, &[record("s", json!({"a": 1}), 1), state("s", 1)]);
    r.assert_success();
    assert_eq!(state_counts(&r), [("s".into(), 1.0)]);
    assert_eq!(data_of(&jsonl(&out.join("_airbyte_raw_s.jsonl"))), [json!({"a": 1})]);
    // overwrite: true replaces the file even without a catalog.
    local
        .write(&cfg, None, &[record("s", json!({"a": 2}), 1)])
        .assert_success();
    assert_eq!(data_of(&jsonl(&out.join("_airbyte_raw_s.jsonl"))), [json!({"a": 2})]);

    // Formats without a raw layout are refused by check, naming the key.
    let bad = local.config(
        "bad.json",
        &json!({"base_path": out, "format": "parquet", "airbyte_raw": true}),
    );
    let r = run_with(
        "destination-file",
        &["check", "--config", bad.to_str().unwrap()],
        RunOpts::default(),
    );
    r.assert_success();
    let status = r.connection_status();
    assert_eq!(status["status"], "FAILED");
    assert!(status["message"].as_str().unwrap().contains("airbyte_raw"), "{status}");
}
