//! The shared runtime as users meet it: config errors, check failures, the
//! command line, and that every printed line is a valid protocol message.

use lakeport_tests::{run, run_with, write_json, RunOpts};
use serde_json::json;

#[test]
fn a_config_breaking_the_schema_is_a_config_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(dir.path(), "c.json", &json!({"base_path": 5, "format": "csv"}));
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().unwrap()],
        Some(b""),
    );
    assert!(!r.status.success());
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert_eq!(errors[0]["failure_type"], "config_error");
    let msg = errors[0]["message"].as_str().unwrap();
    assert!(msg.contains("field 'base_path'") && msg.contains("string"), "{msg}");

    let cfg = write_json(dir.path(), "d.json", &json!({"file_path": "/tmp", "batch_size": "ten"}));
    let r = run("source-file", &["discover", "--config", cfg.to_str().unwrap()], None);
    assert!(!r.status.success());
    let msg = r.errors()[0]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("field 'batch_size'") && msg.contains("integer"), "{msg}");

    let cfg = write_json(dir.path(), "e.json", &json!({"format": "csv"}));
    let r = run(
        "destination-file",
        &["write", "--config", cfg.to_str().unwrap()],
        Some(b""),
    );
    let msg = r.errors()[0]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("\"base_path\" is a required property"), "{msg}");
}

#[test]
fn check_reports_a_bad_config_as_failed_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_json(
        dir.path(),
        "c.json",
        &json!({"base_path": dir.path().join("out"), "format": "xml"}),
    );
    let r = run("destination-file", &["check", "--config", cfg.to_str().unwrap()], None);
    r.assert_success();
    let status = r.connection_status();
    assert_eq!(status["status"], "FAILED");
    assert!(status["message"].as_str().unwrap().contains("format"), "{status}");
}

#[test]
fn missing_and_malformed_config_files_say_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let r = run(
        "source-file",
        &["discover", "--config", missing.to_str().unwrap()],
        None,
    );
    assert!(!r.status.success());
    let msg = r.errors()[0]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("does not exist") && msg.contains("nope.json"), "{msg}");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"file_path\": \"/tmp\",\n  oops\n}\n").unwrap();
    let r = run("source-file", &["read", "--config", bad.to_str().unwrap()], None);
    assert!(!r.status.success());
    let msg = r.errors()[0]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("not valid JSON") && msg.contains("line 3"), "{msg}");
    assert_eq!(r.errors()[0]["failure_type"], "config_error");
}

#[test]
fn usage_errors_go_to_stderr_with_exit_2() {
    let r = run_with("source-file", &["read"], RunOpts::default());
    assert_eq!(r.status.code(), Some(2));
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("--config"), "{}", r.stderr);
    let r = run_with("destination-file", &["discover", "--config", "x"], RunOpts::default());
    assert_eq!(r.status.code(), Some(2));
}

#[test]
fn a_bad_state_file_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.csv"), "x\n1\n").unwrap();
    let cfg = write_json(dir.path(), "c.json", &json!({"file_path": dir.path().join("a.csv")}));
    let state = dir.path().join("state.json");
    std::fs::write(&state, "[1, 2]").unwrap();
    let r = run(
        "source-file",
        &[
            "read",
            "--config",
            cfg.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        None,
    );
    assert!(!r.status.success());
    let msg = r.errors()[0]["message"].as_str().unwrap().to_string();
    assert!(msg.contains("state file"), "{msg}");
}
