//! `check` of source-s3 and destination-s3 against a real S3-protocol server:
//! good credentials succeed; a wrong secret, a missing bucket and an
//! unreachable endpoint fail with distinct messages (exit 0); a secret never
//! appears in any output. source-s3's check lists the prefix its read lists.

use lakeport_tests::{configured_catalog, free_port, run, write_json, CountingProxy, Run, S3Server};
use serde_json::{json, Value};

const CONNECTORS: &[&str] = &["source-s3", "destination-s3"];

/// A secret distinctive enough that finding it anywhere is a leak.
const SECRET: &str = "Zx9-LEAKCANARY-q7Wm2Pv4sT";

fn check(name: &str, config: &Value) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write_json(dir.path(), "config.json", config);
    let r = run(name, &["check", "--config", path.to_str().expect("utf-8 path")], None);
    assert!(
        r.status.success(),
        "{name} check must exit 0:\nstdout:\n{}\nstderr:\n{}",
        r.stdout,
        r.stderr
    );
    r
}

fn config_for(name: &str, mut conn: Value) -> Value {
    if name == "destination-s3" {
        conn["file_format"] = json!("jsonl");
    }
    conn
}

fn status(r: &Run) -> (String, String) {
    let s = r.connection_status();
    (
        s["status"].as_str().unwrap_or_default().to_string(),
        s["message"].as_str().unwrap_or_default().to_string(),
    )
}

fn assert_no_secret(r: &Run, secret: &str) {
    assert!(!r.stdout.contains(secret), "secret leaked on stdout:\n{}", r.stdout);
    assert!(!r.stderr.contains(secret), "secret leaked on stderr:\n{}", r.stderr);
}

#[test]
fn good_credentials_succeed() {
    let server = S3Server::start_with_keys("lakeport-key", SECRET);
    server.create_bucket("data");
    server.put_object("data", "events/2024/a.csv", b"id\n1\n");
    for name in CONNECTORS {
        let mut conn = server.connection("data");
        conn["path_prefix"] = json!("events/");
        let r = check(name, &config_for(name, conn));
        let (s, msg) = status(&r);
        assert_eq!(s, "SUCCEEDED", "{name}: {msg}\nstderr:\n{}", r.stderr);
        assert_no_secret(&r, SECRET);
    }
    // The source saw the object; the destination's probe object is gone.
    let r = check("source-s3", &server.connection("data"));
    assert!(status(&r).1.contains("events/2024/a.csv"), "{}", status(&r).1);
    assert_eq!(server.keys("data"), vec!["events/2024/a.csv".to_string()]);
}

#[test]
fn empty_bucket_succeeds_for_the_source() {
    let server = S3Server::start();
    server.create_bucket("empty");
    let r = check("source-s3", &server.connection("empty"));
    let (s, msg) = status(&r);
    assert_eq!(s, "SUCCEEDED", "{msg}");
    assert!(msg.contains("no objects"), "{msg}");
}

#[test]
fn failures_are_distinct_and_secret_free() {
    let server = S3Server::start_with_keys("lakeport-key", SECRET);
    server.create_bucket("data");
    let wrong_secret = format!("{SECRET}-WRONG");
    for name in CONNECTORS {
        // wrong secret
        let mut conn = server.connection("data");
        conn["secret_access_key"] = json!(wrong_secret);
        let r = check(name, &config_for(name, conn));
        let (s, bad_secret) = status(&r);
        assert_eq!(s, "FAILED", "{name}");
        assert!(bad_secret.contains("Invalid credentials"), "{name}: {bad_secret}");
        assert!(bad_secret.contains("secret_access_key"), "{name}: {bad_secret}");
        assert_no_secret(&r, &wrong_secret);
        assert_no_secret(&r, SECRET);

        // unknown access key
        let mut conn = server.connection("data");
        conn["access_key_id"] = json!("nobody");
        let r = check(name, &config_for(name, conn));
        let (s, bad_key) = status(&r);
        assert_eq!(s, "FAILED", "{name}");
        assert!(bad_key.contains("Invalid credentials"), "{name}: {bad_key}");
        assert_no_secret(&r, SECRET);

        // missing bucket
        let r = check(name, &config_for(name, server.connection("no-such-bucket")));
        let (s, missing) = status(&r);
        assert_eq!(s, "FAILED", "{name}");
        assert!(
            missing.contains("bucket 'no-such-bucket' does not exist"),
            "{name}: {missing}"
        );
        assert_no_secret(&r, SECRET);

        // unreachable endpoint: a port nobody listens on
        let mut conn = server.connection("data");
        let closed = format!("http://127.0.0.1:{}", free_port());
        conn["endpoint_url"] = json!(closed);
        let started = std::time::Instant::now();
        let r = check(name, &config_for(name, conn));
        let (s, unreachable) = status(&r);
        assert_eq!(s, "FAILED", "{name}");
        assert!(
            unreachable.contains(&format!("Could not connect to {closed}")),
            "{name}: {unreachable}"
        );
        assert!(
            started.elapsed().as_secs() < 30,
            "{name}: check took {:?}",
            started.elapsed()
        );
        assert_no_secret(&r, SECRET);

        let all = [&bad_secret, &missing, &unreachable];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b, "{name}: two failures share a message");
            }
        }
    }
}

#[test]
fn legacy_names_work_with_a_warning() {
    let server = S3Server::start_with_keys("lakeport-key", SECRET);
    server.create_bucket("data");
    for name in CONNECTORS {
        let mut config = json!({
            "bucket": "data",
            "prefix": "raw/",
            "aws_access_key_id": server.access_key,
            "aws_secret_access_key": server.secret_key,
            "endpoint": server.endpoint,
            "use_ssl": false,
        });
        if *name == "destination-s3" {
            config["format"] = json!("parquet");
        }
        let r = check(name, &config);
        let (s, msg) = status(&r);
        assert_eq!(s, "SUCCEEDED", "{name}: {msg}\n{}", r.stdout);
        let logs = r.logs().join("\n");
        assert!(
            logs.contains("WARN") && logs.contains("`prefix`") && logs.contains("`path_prefix`"),
            "{name}: {logs}"
        );
        assert!(logs.contains("`aws_secret_access_key`"), "{name}: {logs}");
        // The upgraded config holds the secret: no CONTROL message (it would
        // have to print it), a WARN pointing at import-config instead.
        assert!(r.of_type("CONTROL").is_empty(), "{name}: {}", r.stdout);
        assert!(logs.contains("import-config"), "{name}: {logs}");
        assert_no_secret(&r, SECRET);
    }
}

#[test]
fn destination_requires_a_format() {
    let server = S3Server::start();
    server.create_bucket("data");
    let r = check("destination-s3", &server.connection("data"));
    let (s, msg) = status(&r);
    assert_eq!(s, "FAILED");
    assert!(msg.contains("file_format"), "{msg}");
}

#[test]
fn source_settings_are_checked_before_connecting() {
    let server = S3Server::start();
    server.create_bucket("data");
    for (extra, what) in [
        (json!({"globs": ["[oops"]}), "globs"),
        (json!({"csv_delimiter": ";;"}), "csv_delimiter"),
        (json!({"start_date": "last tuesday"}), "start_date"),
    ] {
        let mut conn = server.connection("data");
        for (k, v) in extra.as_object().expect("object") {
            conn[k] = v.clone();
        }
        let r = check("source-s3", &conn);
        let (s, msg) = status(&r);
        assert_eq!(s, "FAILED", "{what}");
        assert!(msg.contains(what), "{what}: {msg}");
    }
}

#[test]
fn a_short_secret_leaves_every_message_valid() {
    // A one-letter secret is in nearly every word: masked as a word only,
    // and never in a message's keys, every line stays a valid message (the
    // rig validates each one) that still reads as text.
    for name in CONNECTORS {
        let mut conn = config_for(name, json!({"bucket": "b", "use_ssl": false}));
        conn["endpoint_url"] = json!(format!("http://127.0.0.1:{}", free_port()));
        conn["access_key_id"] = json!("k");
        conn["secret_access_key"] = json!("e");
        let r = check(name, &conn);
        let (s, message) = status(&r);
        assert_eq!(s, "FAILED", "{name}");
        assert!(message.contains("Could not connect"), "{name}: {message}");
    }
}

#[test]
fn a_secret_of_the_wrong_type_is_not_quoted_back() {
    for name in CONNECTORS {
        for wrong in [json!([SECRET]), json!({"v": SECRET}), json!(9_876_543_210u64)] {
            let conn = config_for(
                name,
                json!({"bucket": "b", "access_key_id": "k", "secret_access_key": wrong, "session_token": wrong}),
            );
            let r = check(name, &conn);
            let (s, message) = status(&r);
            assert_eq!(s, "FAILED", "{name}");
            assert!(message.contains("secret_access_key"), "{name}: {message}");
            assert_no_secret(&r, SECRET);
            assert_no_secret(&r, "9876543210");
        }
    }
}

/// The LIST prefixes the server received while `command` ran with `args`.
fn listed_by(proxy: &CountingProxy, args: &[&str]) -> (Run, Vec<String>) {
    let before = proxy.log.list_prefixes().len();
    let r = run("source-s3", args, None);
    assert!(r.status.success(), "{args:?}:\n{}\n{}", r.stdout, r.stderr);
    (r, proxy.log.list_prefixes()[before..].to_vec())
}

#[test]
fn check_lists_the_prefix_the_read_lists() {
    let server = S3Server::start();
    server.create_bucket("data");
    for key in ["events/2024/a.csv", "events/2023/b.csv", "other/c.csv"] {
        server.put_object("data", key, b"id\n1\n");
    }
    let proxy = CountingProxy::start(&server);
    let dir = tempfile::tempdir().expect("tempdir");
    // The prefix comes from the globs, from path_prefix (its leading '/' dropped),
    // or from the first of several streams.
    let setups = [
        json!({"globs": ["events/2024/*.csv"]}),
        json!({"path_prefix": "/events/2024/"}),
        json!({"streams": [{"name": "e", "globs": ["events/2024/*.csv"]}]}),
    ];
    for (i, extra) in setups.into_iter().enumerate() {
        let mut config = server.connection("data");
        config["endpoint_url"] = json!(proxy.endpoint);
        config["file_format"] = json!("csv");
        for (k, v) in extra.as_object().expect("object") {
            config[k] = v.clone();
        }
        let path = write_json(dir.path(), &format!("config{i}.json"), &config);
        let path = path.to_str().expect("utf-8 path");
        let (r, checked) = listed_by(&proxy, &["check", "--config", path]);
        assert_eq!(status(&r).0, "SUCCEEDED", "{extra}: {}", r.stdout);
        let (discovered, _) = listed_by(&proxy, &["discover", "--config", path]);
        let catalog = configured_catalog(discovered.catalog(), "full_refresh");
        let catalog = write_json(dir.path(), &format!("catalog{i}.json"), &catalog);
        let catalog = catalog.to_str().expect("utf-8 path");
        let (read, read_prefixes) = listed_by(&proxy, &["read", "--config", path, "--catalog", catalog]);
        assert_eq!(read.records().len(), 1, "{extra}: {}", read.stdout);
        assert_eq!(checked, ["events/2024/"], "{extra}: check listed {checked:?}");
        assert!(!read_prefixes.is_empty(), "{extra}: the read listed nothing");
        assert!(
            read_prefixes.iter().all(|p| checked.contains(p)),
            "{extra}: check listed {checked:?}, read listed {read_prefixes:?}"
        );
    }
}
