//! source-s3 honours the native keys that Airbyte and Fivetran configs map to
//! (`key_pattern`, `csv_infer_types`, `schemaless`, `input_schema`,
//! `validation_policy`, `anonymous`), fed real Airbyte v4 / v3 and Fivetran
//! REST configs through the binary against a real S3-protocol server (s3s-fs).

use lakeport_tests::{run, run_with, Run, RunOpts, S3Env};
use serde_json::{json, Value};

/// Runs discover, then a full-refresh read of the discovered streams named
/// in `names` (all when empty); returns (catalog, read run).
fn discover_and_read(env: &S3Env, config: &str, names: &[&str]) -> (Value, Run) {
    let catalog = ok(run("source-s3", &["discover", "--config", config], None))
        .catalog()
        .clone();
    let configured = configured(&catalog, names);
    let path = env.path("catalog.json", &configured);
    let r = run("source-s3", &["read", "--config", config, "--catalog", &path], None);
    (catalog, r)
}

/// A configured catalog (full refresh) of the `names` streams of `catalog`.
fn configured(catalog: &Value, names: &[&str]) -> Value {
    let streams: Vec<Value> = catalog["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| s["name"] == *n))
        .map(|s| json!({"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}))
        .collect();
    json!({ "streams": streams })
}

fn ok(r: Run) -> Run {
    r.assert_success();
    r
}

/// The discovered stream named `name`.
fn stream<'a>(catalog: &'a Value, name: &str) -> &'a Value {
    catalog["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stream {name} in {catalog}"))
}

/// The `data` of the records of one stream.
fn data_of<'a>(r: &'a Run, name: &str) -> Vec<&'a Value> {
    r.records()
        .into_iter()
        .filter(|m| m["stream"] == name)
        .map(|m| &m["data"])
        .collect()
}

/// The property names of a JSON Schema, sorted.
fn property_names(schema: &Value) -> Vec<String> {
    let mut names: Vec<String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    names.sort();
    names
}

/// Whether a JSON Schema type (`"integer"` or `["null", "integer"]`) is `t`.
fn has_type(prop: &Value, t: &str) -> bool {
    prop["type"] == t || prop["type"].as_array().is_some_and(|a| a.iter().any(|x| x == t))
}

#[test]
fn airbyte_v4_two_streams_input_schema_emit_and_schemaless_skip() {
    let env = S3Env::new("ab4");
    env.server.put_object(
        "ab4",
        "orders/2024/a.csv",
        b"id;amount;note\n1;10.5;first\n2;oops;second\n3;7;third\n",
    );
    env.server.put_object(
        "ab4",
        "events/e1.jsonl",
        b"{\"kind\":\"click\",\"n\":1,\"ctx\":{\"page\":\"home\"}}\n{\"kind\":\"view\",\"n\":2}\n",
    );
    let config = env.airbyte_v4(json!([
        {
            "name": "orders",
            "globs": ["orders/**/*.csv"],
            "validation_policy": "Emit Record",
            "input_schema": "{\"id\": \"integer\", \"amount\": \"number\"}",
            "schemaless": false,
            "format": {"filetype": "csv", "delimiter": ";", "inference_type": "Primitive Types Only"}
        },
        {
            "name": "events",
            "globs": ["events/**/*.jsonl"],
            "validation_policy": "Skip Record",
            "schemaless": true,
            "format": {"filetype": "jsonl"}
        }
    ]));
    let config = env.path("airbyte_v4.json", &config);
    let (catalog, r) = discover_and_read(&env, &config, &[]);
    let r = ok(r);

    // input_schema is the discovered schema (plus the two file fields), not inference.
    let orders = &stream(&catalog, "orders")["json_schema"];
    assert_eq!(
        property_names(orders),
        vec!["_ab_source_file_last_modified", "_ab_source_file_url", "amount", "id"],
        "{orders}"
    );
    assert!(has_type(&orders["properties"]["id"], "integer"), "{orders}");
    assert!(has_type(&orders["properties"]["amount"], "number"), "{orders}");

    // schemaless: one `data` object plus the two file fields.
    let events = &stream(&catalog, "events")["json_schema"];
    assert_eq!(events["type"], "object");
    assert_eq!(
        property_names(events),
        vec!["_ab_source_file_last_modified", "_ab_source_file_url", "data"],
        "{events}"
    );
    assert!(has_type(&events["properties"]["data"], "object"), "{events}");

    // Emit: the record whose amount does not fit is emitted, the value left out, with a WARN.
    let rows = data_of(&r, "orders");
    assert_eq!(rows.len(), 3, "{}", r.stdout);
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["amount"], 10.5);
    assert_eq!(rows[0]["_ab_source_file_url"], "orders/2024/a.csv");
    assert_eq!(rows[1]["id"], 2);
    assert!(rows[1].get("amount").is_none_or(Value::is_null), "{}", rows[1]);
    assert_eq!(rows[2]["amount"], 7.0);
    assert!(
        r.logs().iter().any(|l| l.starts_with("WARN") && l.contains("oops")),
        "{:?}",
        r.logs()
    );

    // Schemaless: {"data": {...row...}, file fields}; nested objects kept.
    let rows = data_of(&r, "events");
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    assert_eq!(rows[0]["data"]["kind"], "click");
    assert_eq!(rows[0]["data"]["n"], 1);
    assert_eq!(rows[0]["data"]["ctx"]["page"], "home");
    assert_eq!(rows[0]["_ab_source_file_url"], "events/e1.jsonl");
    assert!(rows[0]["_ab_source_file_last_modified"].is_string());
    assert_eq!(rows[1]["data"]["kind"], "view");
    assert!(rows[0].get("kind").is_none(), "{}", rows[0]);
}

#[test]
fn airbyte_v4_csv_strings_by_default_skip_and_wait_policies() {
    let env = S3Env::new("pol");
    env.server
        .put_object("pol", "plain/a.csv", b"id,price,flag\n1,2.5,true\n2,3,false\n");
    env.server
        .put_object("pol", "typed/a.csv", b"n,label\n1,one\nx,bad\n3,three\n");
    env.server.put_object("pol", "waiting/a.csv", b"n\n1\nx\n");
    let config = env.airbyte_v4(json!([
        // No inference_type: Airbyte reads every CSV column as a string.
        {"name": "plain", "globs": ["plain/*.csv"], "format": {"filetype": "csv"}},
        {
            "name": "typed",
            "globs": ["typed/*.csv"],
            "validation_policy": "Skip Record",
            "input_schema": "{\"n\": \"integer\", \"label\": \"string\"}",
            "format": {"filetype": "csv", "inference_type": "Primitive Types Only"}
        },
        {
            "name": "waiting",
            "globs": ["waiting/*.csv"],
            "validation_policy": "Wait for Discover",
            "input_schema": "{\"n\": \"integer\"}",
            "format": {"filetype": "csv", "inference_type": "Primitive Types Only"}
        }
    ]));
    let config = env.path("airbyte_v4.json", &config);
    let (catalog, r) = discover_and_read(&env, &config, &["plain", "typed"]);
    let r = ok(r);

    // csv_infer_types false: every column a string, in discover and records.
    let plain = &stream(&catalog, "plain")["json_schema"]["properties"];
    for col in ["id", "price", "flag"] {
        assert!(has_type(&plain[col], "string"), "{col}: {plain}");
        assert!(
            !has_type(&plain[col], "integer") && !has_type(&plain[col], "boolean"),
            "{plain}"
        );
    }
    let rows = data_of(&r, "plain");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "1");
    assert_eq!(rows[0]["price"], "2.5");
    assert_eq!(rows[0]["flag"], "true");

    // Skip: the row whose n does not fit is dropped with a WARN.
    let rows = data_of(&r, "typed");
    let ns: Vec<&Value> = rows.iter().map(|d| &d["n"]).collect();
    assert_eq!(ns, vec![&json!(1), &json!(3)], "{}", r.stdout);
    assert!(
        r.logs().iter().any(|l| l.starts_with("WARN") && l.contains("skipped")),
        "{:?}",
        r.logs()
    );

    // Wait: the stream stops with a config_error asking for a new discover.
    let path = env.path("wait_catalog.json", &configured(&catalog, &["waiting"]));
    let r = run("source-s3", &["read", "--config", &config, "--catalog", &path], None);
    assert!(!r.status.success(), "{}", r.stdout);
    let errors = r.errors();
    let error = errors
        .first()
        .unwrap_or_else(|| panic!("no TRACE ERROR:\n{}", r.stdout));
    assert_eq!(error["failure_type"], "config_error", "{error}");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(message.contains("discover"), "{message}");
    assert!(message.contains("waiting/a.csv"), "{message}");
}

#[test]
fn airbyte_v3_infer_datatypes_false_reads_strings() {
    let env = S3Env::new("ab3");
    env.server
        .put_object("ab3", "sales/2024/jan.csv", b"id,amount,paid\n1,9.5,true\n2,10,false\n");
    env.server.put_object("ab3", "sales/notes.txt", b"not a csv");
    let config = json!({
        "dataset": "sales",
        "path_pattern": "**/*.csv",
        "provider": {
            "bucket": "ab3",
            "aws_access_key_id": env.server.access_key,
            "aws_secret_access_key": env.server.secret_key,
            "path_prefix": "sales/",
            "endpoint": env.server.endpoint,
            "region_name": "us-east-1"
        },
        "format": {"filetype": "csv", "infer_datatypes": false},
        "schema": "{}"
    });
    let config = env.path("airbyte_v3.json", &config);
    let (catalog, r) = discover_and_read(&env, &config, &[]);
    let r = ok(r);
    let props = &stream(&catalog, "sales")["json_schema"]["properties"];
    for col in ["id", "amount", "paid"] {
        assert!(has_type(&props[col], "string"), "{col}: {props}");
    }
    let rows = data_of(&r, "sales");
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    assert_eq!(rows[1]["id"], "2");
    assert_eq!(rows[1]["amount"], "10");
    assert_eq!(rows[1]["paid"], "false");
}

#[test]
fn airbyte_v3_schema_is_the_input_schema() {
    let env = S3Env::new("ab3s");
    env.server.put_object("ab3s", "d/a.csv", b"id,amount,extra\n1,2,zzz\n");
    let config = json!({
        "dataset": "things",
        "path_pattern": "d/*.csv",
        "provider": {
            "bucket": "ab3s",
            "aws_access_key_id": env.server.access_key,
            "aws_secret_access_key": env.server.secret_key,
            "endpoint": env.server.endpoint
        },
        "format": {"filetype": "csv", "infer_datatypes": true},
        "schema": "{\"id\": \"integer\", \"amount\": \"number\"}"
    });
    let config = env.path("airbyte_v3.json", &config);
    let (catalog, r) = discover_and_read(&env, &config, &[]);
    let r = ok(r);
    let schema = &stream(&catalog, "things")["json_schema"];
    assert_eq!(
        property_names(schema),
        vec!["_ab_source_file_last_modified", "_ab_source_file_url", "amount", "id"]
    );
    let rows = data_of(&r, "things");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["id"], 1);
    assert_eq!(rows[0]["amount"], 2.0);
}

#[test]
fn fivetran_rest_pattern_selects_keys_by_regex() {
    let env = S3Env::new("ft-rest");
    env.server.put_object("ft-rest", "landing/orders_1.csv", b"id\n1\n");
    env.server.put_object("ft-rest", "landing/orders_22.csv", b"id\n22\n");
    env.server.put_object("ft-rest", "landing/orders_x.csv", b"id\n99\n");
    env.server.put_object("ft-rest", "landing/customers.csv", b"id\n100\n");
    env.server.put_object("ft-rest", "elsewhere/orders_3.csv", b"id\n3\n");
    let response = json!({
        "code": "Success",
        "data": {
            "id": "decent_dropsy",
            "service": "s3",
            "schema": "s3_landing",
            "paused": false,
            "config": {
                "bucket": "ft-rest",
                "prefix": "landing/",
                "pattern": "orders_\\d+\\.csv$",
                "file_type": "csv",
                "auth_type": "ACCESS_KEY",
                "access_key_id": env.server.access_key,
                "secret_key": env.server.secret_key,
                "table": "orders",
                "on_error": "fail",
                // Not Fivetran keys: native keys win inside a foreign flavour,
                // and point the config at the test server.
                "endpoint_url": env.server.endpoint,
                "region": "us-east-1"
            }
        }
    });
    let config = env.path("fivetran.json", &response);
    let (catalog, r) = discover_and_read(&env, &config, &[]);
    let r = ok(r);
    assert_eq!(stream(&catalog, "orders")["name"], "orders");
    let mut ids: Vec<i64> = data_of(&r, "orders").iter().filter_map(|d| d["id"].as_i64()).collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 22], "{}", r.stdout);
}

#[test]
fn native_key_pattern_combines_with_globs_and_bad_regex_is_a_config_error() {
    let env = S3Env::new("kp-lake");
    env.server.put_object("kp-lake", "data/2024/a_keep.csv", b"v\n1\n");
    env.server.put_object("kp-lake", "data/2024/b_drop.csv", b"v\n2\n");
    env.server
        .put_object("kp-lake", "data/2024/c_keep.json", b"{\"v\":3}\n");
    env.server.put_object("kp-lake", "other/d_keep.csv", b"v\n4\n");
    let mut c = env.server.connection("kp-lake");
    c["streams"] = json!([{"name": "kept", "globs": ["data/**/*.csv"], "key_pattern": "_keep\\."}]);
    let config = env.path("native.json", &c);
    let (_, r) = discover_and_read(&env, &config, &[]);
    let r = ok(r);
    let vs: Vec<&Value> = data_of(&r, "kept").iter().map(|d| &d["v"]).collect();
    assert_eq!(vs, vec![&json!(1)], "{}", r.stdout);

    // An invalid regex: check fails with a config_error naming the key.
    let mut bad = env.server.connection("kp-lake");
    bad["key_pattern"] = json!("orders_(\\d+");
    let bad = env.path("bad.json", &bad);
    let r = run("source-s3", &["check", "--config", &bad], None);
    let status = r.connection_status();
    assert_eq!(status["status"], "FAILED", "{}", r.stdout);
    let message = status["message"].as_str().unwrap_or_default();
    assert!(message.contains("key_pattern"), "{message}");
    let r = run("source-s3", &["discover", "--config", &bad], None);
    assert!(!r.status.success());
    let errors = r.errors();
    let error = errors
        .first()
        .unwrap_or_else(|| panic!("no TRACE ERROR:\n{}", r.stdout));
    assert_eq!(error["failure_type"], "config_error", "{error}");
    assert!(
        error["message"].as_str().unwrap_or_default().contains("key_pattern"),
        "{error}"
    );
}

#[test]
fn anonymous_config_sends_unsigned_requests() {
    let env = S3Env::new("public");
    env.server.put_object("public", "open/a.csv", b"v\n1\n");
    // A Fivetran PUBLIC_BUCKET config: no keys, unsigned requests.
    let response = json!({
        "code": "Success",
        "data": {
            "service": "s3",
            "config": {
                "bucket": "public",
                "prefix": "open/",
                "file_type": "csv",
                "auth_type": "PUBLIC_BUCKET",
                "endpoint_url": env.server.endpoint,
                "region": "us-east-1"
            }
        }
    });
    let config = env.path("public.json", &response);
    let r = run_without_aws_env(&["read", "--config", &config]);
    if r.status.success() {
        // A server that allows anonymous reads.
        assert_eq!(data_of(&r, "open").len(), 1, "{}", r.stdout);
        return;
    }
    // s3s-fs requires signed requests: the unsigned request reached the
    // server and was refused there (S3's AccessDenied) …
    let anonymous = first_error_text(&r);
    assert!(
        anonymous.contains("accessdenied"),
        "not the server's refusal: {anonymous}"
    );
    // … whereas the same config without `anonymous` fails locally, before any
    // request, for want of credentials.
    let mut signed = env.server.connection("public");
    for k in ["access_key_id", "secret_access_key"] {
        signed.as_object_mut().map(|o| o.remove(k));
    }
    signed["path_prefix"] = json!("open/");
    let signed = env.path("signed.json", &signed);
    let r = run_without_aws_env(&["read", "--config", &signed]);
    assert!(!r.status.success(), "{}", r.stdout);
    let local = first_error_text(&r);
    assert!(!local.contains("accessdenied"), "{local}");
    assert!(local.contains("credentials"), "{local}");
}

/// Runs source-s3 with no AWS credentials reachable from the environment.
fn run_without_aws_env(args: &[&str]) -> Run {
    let env = [
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_SESSION_TOKEN", ""),
        ("AWS_PROFILE", "lakeport-none"),
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", ""),
        ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ""),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", ""),
    ];
    run_with(
        "source-s3",
        args,
        RunOpts {
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        },
    )
}

/// The first TRACE ERROR's message and internal message, lowercased.
fn first_error_text(r: &Run) -> String {
    let errors = r.errors();
    let error = errors
        .first()
        .unwrap_or_else(|| panic!("no TRACE ERROR:\n{}\n{}", r.stdout, r.stderr));
    format!("{} {}", error["message"], error["internal_message"]).to_lowercase()
}
