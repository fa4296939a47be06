//! source-file reading `s3://bucket/key` and `s3://bucket/prefix/` paths
//! through the core S3 storage, against a real S3-protocol server (s3s-fs):
//! a CSV and a Parquet object, a glob over a prefix (format by extension, any
//! compression), per-subdirectory streams, incremental runs with a STATE per
//! file, a record cursor, Airbyte's source-file S3 provider config, and
//! credentials that never show. Every line printed is validated against the
//! official models.

use std::time::Duration;

use lakeport_tests::{gzip, python_eval, run, Run, S3Env};
use serde_json::{json, Value};

fn ok(r: Run) -> Run {
    r.assert_success();
    r
}

/// A source-file config for `file_path` with the server's connection keys
/// (`bucket` is in the URL, so the rig's `bucket` key is left out) plus `extra`.
fn config(env: &S3Env, name: &str, file_path: &str, extra: Value) -> String {
    let mut c = env.connection(extra);
    let map = c.as_object_mut().expect("object");
    map.remove("bucket");
    map.insert("file_path".into(), json!(file_path));
    env.path(name, &c)
}

/// TRACE messages of one type.
fn traces<'a>(r: &'a Run, kind: &str) -> Vec<&'a Value> {
    r.of_type("TRACE")
        .into_iter()
        .filter(|m| m["trace"]["type"] == kind)
        .map(|m| &m["trace"])
        .collect()
}

fn urls(r: &Run) -> Vec<String> {
    let mut urls: Vec<String> = r
        .data()
        .iter()
        .filter_map(|d| d["_ab_source_file_url"].as_str().map(str::to_string))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

#[test]
fn a_csv_object_is_checked_discovered_and_read_typed() {
    let env = S3Env::new("files");
    env.server.put_object(
        "files",
        "exports/users.csv",
        b"id,name,score,joined\n1,ann,1.5,2024-01-02\n2,bob,2.5,2024-02-03\n",
    );
    env.server.put_object("files", "exports/users.csv.bak", b"not read");
    let cfg = config(&env, "config.json", "s3://files/exports/users.csv", json!({}));

    let check = ok(run("source-file", &["check", "--config", &cfg], None));
    assert_eq!(check.connection_status()["status"], "SUCCEEDED", "{}", check.stdout);

    let r = ok(run("source-file", &["discover", "--config", &cfg], None));
    let stream = &r.catalog()["streams"][0];
    assert_eq!(stream["name"], "users");
    let props = &stream["json_schema"]["properties"];
    assert!(props["id"]["type"].to_string().contains("integer"), "{props}");
    assert!(props["score"]["type"].to_string().contains("number"), "{props}");
    assert!(props["_ab_source_file_url"].is_object(), "{props}");
    assert_eq!(stream["default_cursor_field"], json!(["_ab_source_file_last_modified"]));

    let r = ok(run("source-file", &["read", "--config", &cfg], None));
    let data = r.data();
    assert_eq!(data.len(), 2, "{}", r.stdout);
    assert_eq!(data[0]["id"], 1);
    assert_eq!(data[1]["name"], "bob");
    assert_eq!(data[1]["score"], 2.5);
    assert_eq!(data[0]["_ab_source_file_url"], "s3://files/exports/users.csv");
    // S3 requests are priced: the read ends with source-s3's COST report, metered.
    let cost = r
        .logs()
        .iter()
        .find_map(|l| l.strip_prefix("INFO COST ").map(str::to_string));
    let cost: Value = serde_json::from_str(&cost.expect("a COST report")).expect("COST JSON");
    assert_eq!(cost["files_read"], 1, "{cost}");
    assert!(cost["get_requests"].as_u64().is_some_and(|n| n >= 1), "{cost}");
    assert!(cost["list_requests"].as_u64().is_some_and(|n| n >= 1), "{cost}");
    let lm = data[0]["_ab_source_file_last_modified"]
        .as_str()
        .expect("last modified");
    assert!(
        lm.ends_with('Z') && lm.len() == "2024-01-01T00:00:00.000000Z".len(),
        "{lm}"
    );
    assert_eq!(r.states().len(), 1, "one STATE per file");
    assert_eq!(r.states()[0]["sourceStats"]["recordCount"], 2.0);
    let estimate = traces(&r, "ESTIMATE");
    assert_eq!(estimate[0]["estimate"]["byte_estimate"], 63);
    let statuses: Vec<&Value> = traces(&r, "STREAM_STATUS")
        .into_iter()
        .map(|t| &t["stream_status"]["status"])
        .collect();
    assert_eq!(statuses, ["STARTED", "RUNNING", "COMPLETE"]);
}

#[test]
fn a_parquet_object_is_read_with_its_types() {
    let env = S3Env::new("pqt");
    let path = env.server.path("pqt", "tables/orders.parquet");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    python_eval(
        "import sys, datetime as dt, pyarrow as pa, pyarrow.parquet as pq\n\
         t = pa.table({'id': pa.array([1, 2, 3], pa.int64()),\n\
                       'total': [9.5, 10.0, 0.25],\n\
                       'day': [dt.date(2024, 1, d) for d in (1, 2, 3)],\n\
                       'at': pa.array([dt.datetime(2024, 1, 1, 12, 0, s) for s in (1, 2, 3)], pa.timestamp('us', tz='UTC'))})\n\
         pq.write_table(t, sys.argv[1], row_group_size=2)\n",
        &[path.to_str().expect("utf-8 path")],
    );
    let cfg = config(&env, "config.json", "s3://pqt/tables/orders.parquet", json!({}));
    let r = ok(run("source-file", &["discover", "--config", &cfg], None));
    let stream = &r.catalog()["streams"][0];
    assert_eq!(stream["name"], "orders");
    assert_eq!(stream["json_schema"]["properties"]["at"]["format"], "date-time");
    let r = ok(run("source-file", &["read", "--config", &cfg], None));
    let data = r.data();
    assert_eq!(data.len(), 3);
    assert_eq!(data[2]["id"], 3);
    assert_eq!(data[0]["total"], 9.5);
    assert_eq!(data[1]["day"], "2024-01-02");
    assert!(
        data[2]["at"].as_str().expect("at").starts_with("2024-01-01T12:00:03"),
        "{}",
        data[2]
    );
    assert_eq!(data[0]["_ab_source_file_url"], "s3://pqt/tables/orders.parquet");
}

#[test]
fn a_glob_over_a_prefix_reads_every_format_and_compression_then_incremental_reads_nothing() {
    let env = S3Env::new("lake");
    let old = Duration::from_secs(3600);
    env.put_aged("landing/2024/a.csv", b"id,v\n1,a\n2,b\n", old);
    env.put_aged("landing/2024/b.csv.gz", &gzip(b"id,v\n3,c\n"), old);
    env.put_aged("landing/2025/c.jsonl", b"{\"id\": 4, \"v\": \"d\"}\n", old);
    env.put_aged("landing/2025/notes.txt", b"skipped: not matched by the glob", old);
    env.put_aged("landing/.hidden/x.csv", b"id,v\n99,hidden\n", old);
    env.put_aged("elsewhere/y.csv", b"id,v\n98,outside\n", old);

    // A prefix and a glob: one stream named after the prefix.
    let cfg = config(
        &env,
        "config.json",
        "s3://lake/landing/",
        json!({"glob_pattern": ["**/*.csv", "**/*.csv.gz", "**/*.jsonl"]}),
    );
    let catalog = env.catalog("source-file", &cfg, "incremental");
    let first = ok(env.read("source-file", &cfg, &catalog, None));
    assert_eq!(
        urls(&first),
        [
            "s3://lake/landing/2024/a.csv",
            "s3://lake/landing/2024/b.csv.gz",
            "s3://lake/landing/2025/c.jsonl"
        ]
    );
    let mut ids: Vec<i64> = first.data().iter().filter_map(|d| d["id"].as_i64()).collect();
    ids.sort_unstable();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(first.records()[0]["stream"], "landing");
    assert_eq!(first.states().len(), 3, "a STATE per file");
    let state = (*first.states().last().expect("a STATE")).clone();
    let history = &state["stream"]["stream_state"]["history"];
    assert!(history["s3://lake/landing/2024/b.csv.gz"].is_string(), "{state}");

    // Nothing new: nothing read, the state repeated.
    let second = ok(env.read("source-file", &cfg, &catalog, Some(&state)));
    assert!(second.data().is_empty(), "{}", second.stdout);
    assert_eq!(second.states().len(), 1);
    assert_eq!(second.states()[0]["stream"]["stream_state"]["history"], *history);

    // One object rewritten (a later mtime), one new: only those are read.
    env.server
        .put_object("lake", "landing/2024/a.csv", b"id,v\n1,a\n2,b\n5,e\n");
    env.server.put_object("lake", "landing/2025/d.csv", b"id,v\n6,f\n");
    let third = ok(env.read("source-file", &cfg, &catalog, Some(&state)));
    assert_eq!(
        urls(&third),
        ["s3://lake/landing/2024/a.csv", "s3://lake/landing/2025/d.csv"]
    );
    assert_eq!(third.data().len(), 4);

    // A key without a trailing slash that is no object is read as a prefix.
    let bare = config(
        &env,
        "bare.json",
        "s3://lake/landing",
        json!({"glob_pattern": "*.jsonl"}),
    );
    let r = ok(run("source-file", &["read", "--config", &bare], None));
    assert_eq!(urls(&r), ["s3://lake/landing/2025/c.jsonl"]);
}

#[test]
fn per_subdirectory_streams_and_a_record_cursor_on_s3() {
    let env = S3Env::new("subs");
    env.server
        .put_object("subs", "out/users/u1.csv", b"id,seq\n1,10\n2,20\n");
    env.server
        .put_object("subs", "out/orders/o1.jsonl", b"{\"id\": 7, \"seq\": 5}\n");
    let cfg = config(
        &env,
        "config.json",
        "s3://subs/out/",
        json!({"layout": "per_subdirectory"}),
    );
    let r = ok(run("source-file", &["discover", "--config", &cfg], None));
    let names: Vec<&str> = r.catalog()["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["orders", "users"]);
    let r = ok(run("source-file", &["read", "--config", &cfg], None));
    assert_eq!(r.records().iter().filter(|m| m["stream"] == "users").count(), 2);
    assert_eq!(r.records().iter().filter(|m| m["stream"] == "orders").count(), 1);

    // A record cursor: the second run reads only records after the saved value.
    let cfg = config(
        &env,
        "cursor.json",
        "s3://subs/out/users/",
        json!({"cursor_field": "seq"}),
    );
    let catalog = env.catalog("source-file", &cfg, "incremental");
    let first = ok(env.read("source-file", &cfg, &catalog, None));
    assert_eq!(first.data().len(), 2);
    let state = (*first.states().last().expect("a STATE")).clone();
    assert_eq!(
        state["stream"]["stream_state"]["_lakeport_cursor"],
        json!({"field": "seq", "value": 20})
    );
    env.server
        .put_object("subs", "out/users/u2.csv", b"id,seq\n3,15\n4,30\n");
    let second = ok(env.read("source-file", &cfg, &catalog, Some(&state)));
    let seqs: Vec<&Value> = second.data().iter().map(|d| &d["seq"]).collect();
    assert_eq!(seqs, [&json!(30)], "{}", second.stdout);
}

#[test]
fn airbytes_source_file_s3_provider_config_reads_and_secrets_never_show() {
    let env = S3Env::new("abs");
    env.server
        .put_object("abs", "data/people.csv", b"name;age\nann;31\nbob;42\n");
    let airbyte = json!({
        "dataset_name": "people",
        "format": "csv",
        "url": "s3://abs/data/people.csv",
        "provider": {
            "storage": "S3",
            "aws_access_key_id": env.server.access_key,
            "aws_secret_access_key": env.server.secret_key
        },
        "reader_options": "{\"sep\": \";\"}",
        "endpoint_url": env.server.endpoint
    });
    let cfg = env.path("airbyte.json", &airbyte);
    let r = ok(run("source-file", &["read", "--config", &cfg], None));
    let data = r.data();
    assert_eq!(data.len(), 2, "{}", r.stdout);
    assert_eq!(r.records()[0]["stream"], "people");
    assert_eq!(data[1]["age"], 42);
    assert!(!r.stdout.contains(&env.server.secret_key) && !r.stderr.contains(&env.server.secret_key));

    // Wrong credentials: check fails with the reason, and the secret is masked.
    let bad = config(
        &env,
        "bad.json",
        "s3://abs/data/people.csv",
        json!({"secret_access_key": "wrong-secret-Xy12"}),
    );
    let r = run("source-file", &["check", "--config", &bad], None);
    assert!(r.status.success(), "check exits 0: {}", r.stderr);
    let status = r.connection_status();
    assert_eq!(status["status"], "FAILED", "{status}");
    assert!(
        status["message"].as_str().expect("message").contains("credentials"),
        "{status}"
    );
    assert!(!r.stdout.contains("wrong-secret-Xy12") && !r.stderr.contains("wrong-secret-Xy12"));

    // A missing object: discover fails with a config error naming the path.
    let missing = config(&env, "missing.json", "s3://abs/nope.csv", json!({}));
    let r = run("source-file", &["discover", "--config", &missing], None);
    assert!(!r.status.success());
    let errors = r.errors();
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(
        errors[0]["message"]
            .as_str()
            .expect("message")
            .contains("s3://abs/nope.csv"),
        "{}",
        r.stdout
    );
}
