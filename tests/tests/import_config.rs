//! `import-config` and automatic flavour detection end to end (CONTRACT §2,
//! §4), with the real source-file and destination-file binaries: the native
//! config on stdout (valid against the connector's spec), the table of
//! source key → native key on stderr (never a secret), and configs of other
//! flavours accepted verbatim by `check` / `read` (with their WARNs and one
//! CONTROL CONNECTOR_CONFIG message).

use lakeport_tests::{run, run_with, write_json, Run, RunOpts};
use serde_json::{json, Value};

fn import(bin: &str, args: &[&str]) -> Run {
    run_with(
        bin,
        args,
        RunOpts {
            raw_stdout: true,
            ..Default::default()
        },
    )
}

fn assert_valid(spec_json: &str, config: &Value) {
    let spec: Value = serde_json::from_str(spec_json).expect("spec.json");
    let validator = jsonschema::draft7::new(&spec).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(config).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "import-config output is not valid against the spec: {errors:?}\n{config:#}"
    );
}

fn airbyte_source_file_config(path: &str) -> Value {
    json!({
        "dataset_name": "covid",
        "format": "csv",
        "url": path,
        "provider": {"storage": "local"},
        "reader_options": "{\"sep\": \";\", \"header\": null, \"names\": [\"day\", \"country\", \"cases\"], \"skiprows\": 2, \"nrows\": 1}"
    })
}

#[test]
fn source_file_imports_and_reads_an_airbyte_config() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("covid.csv");
    std::fs::write(
        &csv,
        "exported by a tool\nsecond junk line\n2024-01-01;FR;10\n2024-01-02;DE;20\n",
    )
    .unwrap();
    let cfg = write_json(
        dir.path(),
        "airbyte.json",
        &airbyte_source_file_config(csv.to_str().unwrap()),
    );
    let cfg = cfg.to_str().unwrap();

    let r = import("source-file", &["import-config", cfg]);
    r.assert_success();
    let native: Value = serde_json::from_str(&r.stdout).expect("stdout is the native config JSON");
    assert_eq!(native["file_path"], json!(csv.to_str().unwrap()));
    assert_eq!(native["stream_name"], "covid");
    assert_eq!(native["csv_delimiter"], ";");
    assert_eq!(native["csv_header"], false);
    assert_eq!(native["csv_column_names"], json!(["day", "country", "cases"]));
    assert_eq!(native["csv_skip_rows_before_header"], 2);
    assert_eq!(native["max_rows_per_file"], 1);
    assert_valid(include_str!("../../source-file/src/spec.json"), &native);
    for row in [
        "dataset_name",
        "stream_name",
        "reader_options.sep",
        "csv_delimiter",
        "reader_options.nrows",
        "max_rows_per_file",
    ] {
        assert!(r.stderr.contains(row), "stderr lacks '{row}':\n{}", r.stderr);
    }
    assert!(r.stderr.contains("airbyte config"), "{}", r.stderr);

    // The same file works verbatim: check passes and announces the native config.
    let c = run("source-file", &["check", "--config", cfg], None);
    c.assert_success();
    assert_eq!(c.connection_status()["status"], "SUCCEEDED", "{}", c.stdout);
    let controls = c.of_type("CONTROL");
    assert_eq!(controls.len(), 1, "{}", c.stdout);
    assert_eq!(controls[0]["control"]["connectorConfig"]["config"], native);
    assert!(
        !c.logs().iter().any(|l| l.contains("reader_options.nrows")),
        "nrows has an equivalent: {:?}",
        c.logs()
    );

    let rd = run("source-file", &["read", "--config", cfg], None);
    rd.assert_success();
    let rows: Vec<Value> = rd
        .data()
        .into_iter()
        .map(|d| json!({"day": d["day"], "country": d["country"], "cases": d["cases"]}))
        .collect();
    // nrows: 1 — the first data row only.
    assert_eq!(rows.len(), 1, "{}", rd.stdout);
    assert_eq!(rows[0]["country"], "FR");
    assert_eq!(rows[0]["day"], "2024-01-01");
    assert_eq!(rd.records()[0]["stream"], "covid");
}

#[test]
fn legacy_names_warn_and_secrets_stay_out_of_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(
        dir.path(),
        "legacy.json",
        &json!({"file_path": dir.path(), "file_format": "csv", "aws_secret_access_key": "e2e-SeCrEt-value"}),
    );
    let r = import("source-file", &["import-config", cfg.to_str().unwrap()]);
    r.assert_success();
    let native: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(native["format"], "csv");
    // The user owns the file: the secret is in the native config on stdout…
    assert_eq!(native["secret_access_key"], "e2e-SeCrEt-value");
    // …but never in the table or a log line.
    assert!(!r.stderr.contains("SeCrEt"), "{}", r.stderr);
    assert!(
        r.stderr.contains("file_format") && r.stderr.contains("format (legacy name)"),
        "{}",
        r.stderr
    );
}

#[test]
fn options_with_no_equivalent_are_named_in_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(
        dir.path(),
        "fivetran.json",
        &json!({"bucket": "b", "file_type": "csv", "foo_unknown": 1, "secret_key": "e2e-SeCrEt-value"}),
    );
    let r = import(
        "source-s3",
        &["import-config", "--from", "fivetran", cfg.to_str().unwrap()],
    );
    r.assert_success();
    let native: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(native.get("foo_unknown").is_none());
    let warn = r
        .stderr
        .lines()
        .find(|l| l.starts_with("WARN") && l.contains("`foo_unknown`"))
        .unwrap_or_else(|| panic!("no WARN names the dropped option:\n{}", r.stderr));
    assert!(warn.contains("no exact equivalent"), "{warn}");
    assert!(r.stderr.contains("WARN: `secret_key` is a legacy name"), "{}", r.stderr);
    assert!(!r.stderr.contains("SeCrEt"), "{}", r.stderr);
}

#[test]
fn destination_file_flavours() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");

    // Legacy name: check passes with a WARN naming the new key and a CONTROL message.
    let legacy = write_json(
        dir.path(),
        "legacy.json",
        &json!({"base_path": out, "file_format": "jsonl"}),
    );
    let c = run(
        "destination-file",
        &["check", "--config", legacy.to_str().unwrap()],
        None,
    );
    c.assert_success();
    assert_eq!(c.connection_status()["status"], "SUCCEEDED", "{}", c.stdout);
    assert!(
        c.logs()
            .iter()
            .any(|l| l.starts_with("WARN") && l.contains("`file_format`") && l.contains("`format`")),
        "{:?}",
        c.logs()
    );
    assert_eq!(c.of_type("CONTROL").len(), 1);

    // Airbyte destination-csv: imported to the raw layout, with the path
    // inside Airbyte's /local mount (a path outside /local is put under it,
    // as Airbyte does)…
    let airbyte = write_json(
        dir.path(),
        "airbyte.json",
        &json!({"destination_path": out, "delimiter_type": {"delimiter": "\\u003b"}}),
    );
    let r = import(
        "destination-file",
        &["import-config", "--from", "airbyte", airbyte.to_str().unwrap()],
    );
    r.assert_success();
    let native: Value = serde_json::from_str(&r.stdout).unwrap();
    let under_local = format!("/local{}", out.display());
    assert_eq!(
        native,
        json!({"base_path": under_local, "format": "csv", "csv_delimiter": ";", "airbyte_raw": true})
    );
    assert_valid(include_str!("../../destination-file/src/spec.json"), &native);
    assert!(
        r.stderr.contains("destination_path") && r.stderr.contains("base_path"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("delimiter_type.delimiter") && r.stderr.contains("csv_delimiter"),
        "{}",
        r.stderr
    );
    // …which check accepts, resolving /local to LAKEPORT_LOCAL_ROOT.
    let local_root = dir.path().join("local-root");
    let c = run_with(
        "destination-file",
        &["check", "--config", airbyte.to_str().unwrap()],
        RunOpts {
            env: vec![("LAKEPORT_LOCAL_ROOT".into(), local_root.to_str().unwrap().into())],
            ..Default::default()
        },
    );
    c.assert_success();
    let status = c.connection_status();
    assert_eq!(status["status"], "SUCCEEDED", "{status}");
    let resolved = local_root.join(out.strip_prefix("/").unwrap());
    assert!(resolved.is_dir(), "check did not create {}", resolved.display());
    assert!(
        status["message"]
            .as_str()
            .unwrap_or("")
            .contains(resolved.to_str().unwrap()),
        "{status}"
    );
    // A destination_path leaving /local is refused, naming the key.
    let escape = write_json(dir.path(), "escape.json", &json!({"destination_path": "/local/../etc"}));
    let c = run(
        "destination-file",
        &["check", "--config", escape.to_str().unwrap()],
        None,
    );
    c.assert_success();
    let status = c.connection_status();
    assert_eq!(status["status"], "FAILED");
    assert!(
        status["message"].as_str().unwrap_or("").contains("destination_path"),
        "{status}"
    );

    // A flavour the connector has no mapping for is a config error.
    let r = import(
        "destination-file",
        &["import-config", "--from", "fivetran", legacy.to_str().unwrap()],
    );
    assert!(!r.status.success());
    assert!(
        r.stdout.contains("config_error") && r.stdout.contains("Fivetran"),
        "{}",
        r.stdout
    );

    // An unknown config lists what was expected.
    let unknown = write_json(dir.path(), "unknown.json", &json!({"host": "db"}));
    let r = import("destination-file", &["import-config", unknown.to_str().unwrap()]);
    assert!(!r.status.success());
    assert!(r.stdout.contains("destination_path"), "{}", r.stdout);
}
