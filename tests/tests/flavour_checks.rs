//! The configs users arrive with (issue 9's list): the seed documents'
//! legacy and migration examples, the seed 004 S3 example, an Airbyte
//! source-s3 v4 config with two streams, a v3 config, a Fivetran REST
//! response and an Airbyte destination-s3 config. Each one `check`s against
//! the rig's S3 server, and `import-config` turns it into a native config
//! that the connector's own spec accepts — without printing the secret on
//! stderr.

use lakeport_tests::{run, run_with, write_json, RunOpts, S3Server};
use serde_json::{json, Value};

const SECRET: &str = "flavour-SeCrEt-9x7Q";

fn spec_of(name: &str) -> Value {
    run(name, &["spec"], None).messages[0]["spec"]["connectionSpecification"].clone()
}

fn check_and_import(name: &str, label: &str, config: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_json(dir.path(), "config.json", config);
    let path = path.to_str().unwrap();
    let r = run(name, &["check", "--config", path], None);
    r.assert_success();
    let status = r.connection_status();
    assert_eq!(status["status"], "SUCCEEDED", "{name} {label}: {status}\n{}", r.stdout);
    assert!(
        !r.stdout.contains(SECRET) && !r.stderr.contains(SECRET),
        "{name} {label} printed the secret"
    );

    let imported = run_with(
        name,
        &["import-config", path],
        RunOpts {
            raw_stdout: true,
            ..Default::default()
        },
    );
    assert!(imported.status.success(), "{name} {label}: {}", imported.stderr);
    assert!(
        !imported.stderr.contains(SECRET),
        "{name} {label}: the mapping table printed the secret"
    );
    let native: Value = serde_json::from_str(&imported.stdout).expect("import-config prints JSON");
    let schema = spec_of(name);
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&native).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name} {label}: import-config output fails the spec: {errors:?}\n{native}"
    );
    // The native config works as it is.
    let native_path = write_json(dir.path(), "native.json", &native);
    let r = run(name, &["check", "--config", native_path.to_str().unwrap()], None);
    assert_eq!(
        r.connection_status()["status"],
        "SUCCEEDED",
        "{name} {label} (native): {}",
        r.stdout
    );
}

#[test]
fn every_flavour_checks_against_the_rig_and_imports_to_a_valid_native_config() {
    let s3 = S3Server::start_with_keys("flavour-key", SECRET);
    let (b, e, k) = ("lake", s3.endpoint.clone(), s3.access_key.clone());
    s3.create_bucket(b);
    s3.put_object(b, "data/orders/2024-01-01.csv", b"id,amount\n1,9.5\n");
    s3.put_object(b, "data/events/2024-01-01.jsonl", b"{\"id\":1}\n");
    s3.put_object(b, "data/users/part-0.parquet", b"PAR1");
    s3.put_object(b, "data/year=2024/month=01/day=15/a.csv", b"id\n1\n");

    let source_configs = [
        (
            "seed 000 legacy",
            json!({"bucket": b, "prefix": "data/", "format": "csv", "access_key": k, "secret_key": SECRET,
                   "endpoint": e, "use_ssl": false}),
        ),
        (
            "seed 000 migration",
            json!({"bucket": b, "path_prefix": "data/", "file_format": "csv", "access_key_id": k,
                   "secret_access_key": SECRET, "cost_limit_usd": 50.0, "partition_keys": ["year", "month", "day"],
                   "endpoint_url": e, "use_ssl": false}),
        ),
        (
            "seed 004 S3 source",
            json!({"bucket": b, "prefix": "data/users/", "format": "parquet", "aws_access_key_id": k,
                   "aws_secret_access_key": SECRET, "region": "us-east-1", "endpoint": e, "use_ssl": false}),
        ),
        (
            "Airbyte v4, two streams",
            json!({"bucket": b, "aws_access_key_id": k, "aws_secret_access_key": SECRET, "endpoint": e,
            "region_name": "us-east-1", "start_date": "2023-01-01T00:00:00.000000Z",
            "delivery_method": {"delivery_type": "use_records_transfer"},
            "streams": [
                {"name": "orders", "globs": ["data/orders/*.csv"], "validation_policy": "Emit Record",
                 "days_to_sync_if_history_is_full": 3, "schemaless": false,
                 "format": {"filetype": "csv", "delimiter": ",", "quote_char": "\"", "encoding": "utf8",
                            "header_definition": {"header_definition_type": "From CSV"},
                            "inference_type": "None", "null_values": [], "strings_can_be_null": true}},
                {"name": "events", "globs": ["data/events/*.jsonl"], "validation_policy": "Skip Record",
                 "format": {"filetype": "jsonl"}}
            ]}),
        ),
        (
            "Airbyte v3",
            json!({"dataset": "orders", "path_pattern": "data/orders/*.csv",
                   "provider": {"bucket": b, "aws_access_key_id": k, "aws_secret_access_key": SECRET,
                                "endpoint": e, "use_ssl": false, "path_prefix": "data/orders/"},
                   "format": {"filetype": "csv", "delimiter": ",", "infer_datatypes": true},
                   "schema": "{\"id\": \"integer\", \"amount\": \"number\"}"}),
        ),
        (
            "Fivetran REST response",
            json!({"code": "Success", "data": {"id": "landing_s3", "service": "s3", "schema": "s3_landing",
                   "config": {"bucket": b, "prefix": "data/orders/", "pattern": ".*\\.csv$", "file_type": "csv",
                              "compression": "uncompressed", "on_error": "skip", "auth_type": "ACCESS_KEY",
                              "access_key_id": k, "access_key_secret": SECRET, "delimiter": ",",
                              "endpoint_url": e}}}),
        ),
    ];
    for (label, config) in &source_configs {
        check_and_import("source-s3", label, config);
    }

    let destination = json!({
        "s3_bucket_name": b, "s3_bucket_path": "out", "s3_bucket_region": "us-east-1", "s3_endpoint": e,
        "access_key_id": k, "secret_access_key": SECRET,
        "format": {"format_type": "JSONL", "compression": {"compression_type": "No Compression"}}
    });
    check_and_import("destination-s3", "Airbyte destination-s3", &destination);
    // seed 004, example 2 (legacy names).
    let seed004 = json!({
        "bucket": b, "prefix": "raw/", "format": "json", "aws_access_key_id": k,
        "aws_secret_access_key": SECRET, "region": "us-east-1", "endpoint": e, "use_ssl": false
    });
    check_and_import("destination-s3", "seed 004 example 2", &seed004);
}

/// The validation error of a mapped config, from `check` (CONNECTION_STATUS
/// FAILED) and `read` (TRACE ERROR config_error): both messages.
fn validation_errors(name: &str, config: &Value) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_json(dir.path(), "config.json", config);
    let path = path.to_str().unwrap();
    let c = run(name, &["check", "--config", path], None);
    c.assert_success();
    let status = c.connection_status();
    assert_eq!(status["status"], "FAILED", "{status}");
    let catalog = write_json(dir.path(), "catalog.json", &json!({"streams": []}));
    let r = run(
        name,
        &["read", "--config", path, "--catalog", catalog.to_str().unwrap()],
        None,
    );
    assert!(!r.status.success(), "{}", r.stdout);
    let errors = r.errors();
    assert_eq!(errors.len(), 1, "{}", r.stdout);
    assert_eq!(errors[0]["failure_type"], "config_error");
    (
        status["message"].as_str().unwrap_or_default().to_string(),
        errors[0]["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn validation_errors_name_the_key_as_the_user_wrote_it() {
    // Fivetran: a file_type that is no Fivetran file type is kept as written,
    // so the spec refuses it — under the user's key.
    let bare = json!({"bucket": "lake", "prefix": "data/", "file_type": "parket", "auth_type": "PUBLIC_BUCKET"});
    let (status, trace) = validation_errors("source-s3", &bare);
    for message in [status, trace] {
        assert!(
            message.contains("field 'file_type' (native 'file_format')") && message.contains("parket"),
            "{message}"
        );
    }
    // The same inside a Fivetran REST response: the key's full path.
    let rest = json!({"code": "Success", "data": {"service": "s3", "config": {
        "bucket": "lake", "file_type": 7, "delimiter": "", "auth_type": "PUBLIC_BUCKET"}}});
    let (status, _) = validation_errors("source-s3", &rest);
    assert!(
        status.contains("field 'data.config.file_type' (native 'file_format')"),
        "{status}"
    );

    // Airbyte source-s3 v4: a top-level key and a stream's format option.
    let v4 = json!({"bucket": "lake", "region_name": 42,
        "streams": [{"name": "orders", "globs": ["data/orders/*.csv"],
                     "format": {"filetype": "csv", "delimiter": 5}}]});
    let (status, trace) = validation_errors("source-s3", &v4);
    for message in [status, trace] {
        assert!(message.contains("field 'region_name' (native 'region')"), "{message}");
        assert!(
            message.contains("field 'streams[0].format.delimiter' (native 'streams[0].csv_delimiter')"),
            "{message}"
        );
    }

    // A native config keeps the native names only.
    let native = json!({"bucket": "lake", "file_format": "parket"});
    let (status, _) = validation_errors("source-s3", &native);
    assert!(status.contains("field 'file_format':"), "{status}");
}
