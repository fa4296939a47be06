//! Airbyte's own standard connector tests (PyPI `airbyte-cdk` 7.39.1,
//! `airbyte_cdk.test.standard_tests`) for all five connectors, run with
//! pytest in the CDK venv `scripts/test-deps.sh` installs, each binary
//! driven through tests/python/cdk_adapter.py.
//!
//! This test writes what the suites read — one folder per connector with
//! its `acceptance-test-config.yml` (`test_strictness_level: high`) and a
//! good and a bad config — starts the rig's s3s-fs server for the S3
//! connectors, runs tests/python/cdk_standard_test.py, prints each
//! standard test and its result per connector, and fails unless every test
//! passed and the expected ones ran (none skipped in silence).

mod platform_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use lakeport_tests::{bin_dir, workspace_root, S3Server};
use serde_json::{json, Value};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A connector folder: its acceptance-test config and two configs.
fn connector(root: &Path, name: &str, good: &Value, bad: &Value) {
    let dir = root.join(name);
    write(
        &dir.join("integration_tests/config.json"),
        &serde_json::to_string_pretty(good).unwrap(),
    );
    write(
        &dir.join("integration_tests/invalid_config.json"),
        &serde_json::to_string_pretty(bad).unwrap(),
    );
    let reads = if name.starts_with("source-") {
        "  discovery:\n    tests:\n      - config_path: integration_tests/config.json\n  \
         basic_read:\n    tests:\n      - config_path: integration_tests/config.json\n"
    } else {
        ""
    };
    write(
        &dir.join("acceptance-test-config.yml"),
        &format!(
            "connector_image: lakeport/{name}:dev\ntest_strictness_level: high\nacceptance_tests:\n  \
             spec:\n    tests:\n      - config_path: integration_tests/config.json\n  \
             connection:\n    tests:\n      - config_path: integration_tests/config.json\n        status: succeed\n      \
             - config_path: integration_tests/invalid_config.json\n        status: failed\n{reads}"
        ),
    );
}

/// The tests that must have run and passed, per connector.
fn expected(source: bool) -> Vec<&'static str> {
    let mut t = vec![
        "test_spec",
        "test_check['config' Test Scenario]",
        "test_check['invalid_config' Test Scenario]",
        "test_config_matches_spec['config' Test Scenario]",
    ];
    if source {
        t.extend([
            "test_discover['config' Test Scenario]",
            "test_basic_read['config' Test Scenario]",
            "test_fail_read_with_bad_catalog['config' Test Scenario]",
        ]);
    }
    t
}

#[test]
fn airbyte_cdk_standard_tests_pass_for_every_connector() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("connectors");
    let data = work.path().join("data");

    // source-file: a CSV and a JSONL stream.
    std::fs::create_dir_all(data.join("files")).unwrap();
    std::fs::write(
        data.join("files/orders.csv"),
        "id,amount,day\n1,9.5,2024-01-02\n2,3.25,2024-01-03\n",
    )
    .unwrap();
    connector(
        &root,
        "source-file",
        &json!({"file_path": data.join("files/orders.csv"), "stream_name": "orders"}),
        &json!({"file_path": data.join("missing/nothing.csv")}),
    );

    // source-sqlite: the example shop database.
    let db = data.join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).unwrap();
    connector(
        &root,
        "source-sqlite",
        &json!({"database_path": db}),
        &json!({"database_path": data.join("missing.db")}),
    );

    // The S3 connectors against the rig's server; the bad configs' secret is wrong.
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    s3.create_bucket("out");
    s3.put_object(
        "lake",
        "events/2024-01-01.jsonl",
        b"{\"id\":1,\"kind\":\"a\"}\n{\"id\":2,\"kind\":\"b\"}\n",
    );
    let mut source_s3 = s3.connection("lake");
    source_s3["path_prefix"] = json!("events/");
    source_s3["file_format"] = json!("jsonl");
    let mut bad_s3 = source_s3.clone();
    bad_s3["secret_access_key"] = json!("not-the-secret-Xk29");
    connector(&root, "source-s3", &source_s3, &bad_s3);
    let mut dest_s3 = s3.connection("out");
    dest_s3["file_format"] = json!("parquet");
    let mut bad_dest_s3 = dest_s3.clone();
    bad_dest_s3["secret_access_key"] = json!("not-the-secret-Xk29");
    connector(&root, "destination-s3", &dest_s3, &bad_dest_s3);

    // destination-file: a writable directory; a base_path under a file.
    std::fs::write(data.join("a-file"), "x").unwrap();
    connector(
        &root,
        "destination-file",
        &json!({"base_path": data.join("out"), "format": "parquet"}),
        &json!({"base_path": data.join("a-file/out"), "format": "parquet"}),
    );

    let junit = work.path().join("junit.xml");
    let out = Command::new(platform_support::cdk_python())
        .args(["-m", "pytest"])
        .arg(workspace_root().join("tests/python/cdk_standard_test.py"))
        .args(["-m", "not image_tests", "-p", "no:cacheprovider", "-q", "-rA"])
        .arg(format!("--junitxml={}", junit.display()))
        .current_dir(work.path())
        .env("LAKEPORT_BIN", bin_dir())
        .env("LAKEPORT_CDK_CONNECTORS", &root)
        .env("TMPDIR", work.path())
        .output()
        .expect("run pytest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = std::fs::read_to_string(&junit).unwrap_or_default();

    // Each test case of the JUnit report: class, name, outcome.
    let mut results: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for case in report.split("<testcase ").skip(1) {
        let attr = |name: &str| {
            case.split(&format!(" {name}=\""))
                .nth(1)
                .or_else(|| case.strip_prefix(&format!("{name}=\"")))
                .and_then(|rest| rest.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        let class = attr("classname").rsplit('.').next().unwrap_or_default().to_string();
        let body = case.split("</testcase>").next().unwrap_or_default();
        let outcome = if body.contains("<failure") {
            "FAILED"
        } else if body.contains("<error") {
            "ERROR"
        } else if body.contains("<skipped") {
            "SKIPPED"
        } else {
            "PASSED"
        };
        results
            .entry(class)
            .or_default()
            .insert(attr("name"), outcome.to_string());
    }
    // The report for the closing note: each standard test and its result.
    for (class, tests) in &results {
        for (name, outcome) in tests {
            println!("CDK standard test {class}::{name}: {outcome}");
        }
    }
    assert!(
        out.status.success(),
        "the CDK standard tests failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (class, source) in [
        ("TestSourceFile", true),
        ("TestSourceS3", true),
        ("TestSourceSqlite", true),
        ("TestDestinationFile", false),
        ("TestDestinationS3", false),
    ] {
        let tests = results
            .get(class)
            .unwrap_or_else(|| panic!("{class} did not run:\n{stdout}"));
        for name in expected(source) {
            assert_eq!(
                tests.get(name).map(String::as_str),
                Some("PASSED"),
                "{class}::{name}:\n{stdout}"
            );
        }
    }
}
