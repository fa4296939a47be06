//! The Airbyte CDK standard tests' image tests (`test_docker_image_*` of
//! airbyte-cdk 7.39.1) against the five images, through podman's Docker
//! command line (`podman-docker`): this writes the connector folders the
//! suites read and runs tests/python/cdk_docker_images.py once per image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lakeport_tests::{workspace_root, S3Server};
use serde_json::{json, Value};

use crate::podman::{self, available, shared_dir};

/// The Python of the Airbyte CDK venv (airbyte-cdk 7.39.1, with pytest):
/// `LAKEPORT_CDK_PYTHON`, else the one in the cache.
fn cdk_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LAKEPORT_CDK_PYTHON") {
        return Some(p.into());
    }
    let cache = std::env::var_os("LAKEPORT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/lakeport")))?;
    let py = cache.join("cdk-venv/bin/python");
    py.exists().then_some(py)
}

/// One connector folder as the CDK suites read it: its acceptance-test config
/// (a good config that must pass `check`, a bad one that must fail), the
/// configs, and the connector's `metadata.yaml`.
fn cdk_connector(root: &Path, name: &str, good: &Value, bad: &Value) {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("integration_tests")).expect("mkdir");
    for (file, config) in [("config.json", good), ("invalid_config.json", bad)] {
        std::fs::write(
            dir.join("integration_tests").join(file),
            serde_json::to_vec_pretty(config).expect("serialise"),
        )
        .expect("write config");
    }
    let reads = if name.starts_with("source-") {
        "  discovery:\n    tests:\n      - config_path: integration_tests/config.json\n  \
         basic_read:\n    tests:\n      - config_path: integration_tests/config.json\n"
    } else {
        ""
    };
    std::fs::write(
        dir.join("acceptance-test-config.yml"),
        format!(
            "connector_image: lakeport/{name}:dev\ntest_strictness_level: high\nacceptance_tests:\n  \
             spec:\n    tests:\n      - config_path: integration_tests/config.json\n  \
             connection:\n    tests:\n      - config_path: integration_tests/config.json\n        status: succeed\n      \
             - config_path: integration_tests/invalid_config.json\n        status: failed\n{reads}"
        ),
    )
    .expect("write acceptance-test-config.yml");
    std::fs::copy(
        workspace_root().join(name).join("metadata.yaml"),
        dir.join("metadata.yaml"),
    )
    .expect("copy metadata.yaml");
}

/// The JUnit report's test cases: name → PASSED, FAILED, ERROR or SKIPPED (why).
fn junit_results(report: &str) -> BTreeMap<String, String> {
    let mut results = BTreeMap::new();
    for case in report.split("<testcase ").skip(1) {
        let name = case
            .split(" name=\"")
            .nth(1)
            .or_else(|| case.strip_prefix("name=\""))
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .replace("&apos;", "'")
            .replace("&quot;", "\"");
        let body = case.split("</testcase>").next().unwrap_or_default();
        let outcome = if body.contains("<failure") {
            "FAILED".to_string()
        } else if body.contains("<error") {
            "ERROR".to_string()
        } else if let Some(skipped) = body.split("<skipped").nth(1) {
            let why = skipped
                .split("message=\"")
                .nth(1)
                .and_then(|m| m.split('"').next())
                .unwrap_or_default();
            format!("SKIPPED ({})", why.replace("&apos;", "'").replace("&#96;", "`"))
        } else {
            "PASSED".to_string()
        };
        results.insert(name, outcome);
    }
    results
}

#[test]
fn airbyte_cdk_image_tests_pass_against_every_image() {
    if !available("airbyte_cdk_image_tests_pass_against_every_image") {
        return;
    }
    let Some(python) = cdk_python() else {
        eprintln!(
            "SKIP airbyte_cdk_image_tests_pass_against_every_image: the Airbyte CDK venv is not \
             installed (LAKEPORT_CDK_PYTHON, or cdk-venv in the test cache)"
        );
        return;
    };
    let docker = Path::new("/usr/bin/docker");
    let is_podman = std::fs::read_to_string(docker).is_ok_and(|s| s.contains("podman"));
    assert!(
        is_podman,
        "podman's Docker command line (package podman-docker) is not installed: scripts/images.sh installs it"
    );

    let work = shared_dir(true);
    let root = work.path().join("connectors");
    // The data the configs name, mounted in every container at the same path
    // (the suites mount only the config file).
    let data = work.path().join("data");
    std::fs::create_dir_all(data.join("files")).expect("mkdir");
    std::fs::write(
        data.join("files/orders.csv"),
        "id,amount,day\n1,9.5,2024-01-02\n2,3.25,2024-01-03\n",
    )
    .expect("write csv");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), data.join("shop.db")).expect("copy shop.db");
    std::fs::write(data.join("a-file"), "x").expect("write");
    let out = data.join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    for d in [&data, &data.join("files"), &out] {
        std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).expect("chmod");
    }
    cdk_connector(
        &root,
        "source-file",
        &json!({"file_path": data.join("files/orders.csv"), "stream_name": "orders"}),
        &json!({"file_path": data.join("missing/nothing.csv")}),
    );
    cdk_connector(
        &root,
        "source-sqlite",
        &json!({"database_path": data.join("shop.db")}),
        &json!({"database_path": data.join("missing.db")}),
    );
    cdk_connector(
        &root,
        "destination-file",
        &json!({"base_path": out, "format": "parquet"}),
        &json!({"base_path": data.join("a-file/out"), "format": "parquet"}),
    );
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
    let mut bad_source_s3 = source_s3.clone();
    bad_source_s3["secret_access_key"] = json!("not-the-secret-Xk29");
    cdk_connector(&root, "source-s3", &source_s3, &bad_source_s3);
    let mut dest_s3 = s3.connection("out");
    dest_s3["file_format"] = json!("parquet");
    let mut bad_dest_s3 = dest_s3.clone();
    bad_dest_s3["secret_access_key"] = json!("not-the-secret-Xk29");
    cdk_connector(&root, "destination-s3", &dest_s3, &bad_dest_s3);

    // podman for the suites' `docker run`: the project's containers.conf plus
    // the host network (the rig's S3 server is on 127.0.0.1) and the data
    // volume; `docker` first on the PATH is podman-docker's.
    let base_conf = podman::containers_conf()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_else(|| "[containers]\n".into());
    let conf = work.path().join("containers.conf");
    std::fs::write(
        &conf,
        base_conf.replacen(
            "[containers]\n",
            &format!(
                "[containers]\nnetns = \"host\"\nvolumes = [\"{0}:{0}\"]\n",
                data.display()
            ),
            1,
        ),
    )
    .expect("write containers.conf");
    let bin = work.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(docker, bin.join("docker")).expect("link docker");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());

    let mut failures = vec![];
    for (connector, class, source) in [
        ("source-file", "TestSourceFile", true),
        ("source-s3", "TestSourceS3", true),
        ("source-sqlite", "TestSourceSqlite", true),
        ("destination-file", "TestDestinationFile", false),
        ("destination-s3", "TestDestinationS3", false),
    ] {
        let junit = work.path().join(format!("{connector}.xml"));
        // The backward-compatibility test compares with the spec published in
        // Airbyte's registry, which these connectors are not in (and which is
        // not reachable here).
        let out = std::process::Command::new(&python)
            .args(["-m", "pytest", "-p", "airbyte_cdk.test.standard_tests.pytest_hooks"])
            .arg(workspace_root().join("tests/python/cdk_docker_images.py"))
            .args(["-m", "image_tests", "-k"])
            .arg(format!("{class} and not backward_compatibility"))
            .arg("--connector-image")
            .arg(format!("{}/{connector}:dev", podman::prefix()))
            // The image's read test runs only when asked to.
            .arg("--read-from-streams=all")
            .args(["-p", "no:cacheprovider", "-q", "-rA"])
            .arg(format!("--junitxml={}", junit.display()))
            .current_dir(work.path())
            .env("LAKEPORT_CDK_CONNECTORS", &root)
            .env("CONTAINERS_CONF", &conf)
            .env("PATH", &path)
            .env("TMPDIR", work.path())
            .output()
            .expect("run pytest");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let results = junit_results(&std::fs::read_to_string(&junit).unwrap_or_default());
        for (name, outcome) in &results {
            println!("CDK image test {class}::{name}: {outcome}");
        }
        let mut expected = vec![
            "test_docker_image_build_and_spec".to_string(),
            "test_docker_image_build_and_check['config' Test Scenario]".into(),
            "test_docker_image_build_and_check['invalid_config' Test Scenario]".into(),
            "test_docker_image_build_and_config_matches_spec['config' Test Scenario]".into(),
        ];
        if source {
            expected.push("test_docker_image_build_and_discover['config' Test Scenario]".into());
            expected.push("test_docker_image_build_and_read['config' Test Scenario]".into());
        }
        if !out.status.success() {
            failures.push(format!("{class}: pytest failed:\n{stdout}"));
        }
        for name in expected {
            if results.get(&name).map(String::as_str) != Some("PASSED") {
                failures.push(format!("{class}::{name}: {:?}\n{stdout}", results.get(&name)));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
