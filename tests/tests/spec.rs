//! `spec` for all five connectors: one SPEC line valid under the official
//! models, a connectionSpecification that is valid draft-07 JSON Schema, that
//! marks secrets, and that accepts every example config of the seed documents
//! for that connector (legacy keys included).

use lakeport_tests::run;
use serde_json::{json, Value};

const CONNECTORS: &[&str] = &[
    "source-s3",
    "destination-s3",
    "source-file",
    "destination-file",
    "source-sqlite",
];

fn spec_of(name: &str) -> Value {
    let r = run(name, &["spec"], None);
    r.assert_success();
    assert_eq!(
        r.messages.len(),
        1,
        "{name} spec printed more than one line:\n{}",
        r.stdout
    );
    assert_eq!(r.messages[0]["type"], "SPEC");
    r.messages[0]["spec"]["connectionSpecification"].clone()
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::draft7::new(schema).expect("connectionSpecification compiles as draft-07")
}

fn assert_accepts(name: &str, schema: &Value, config: Value) {
    let v = validator(schema);
    let errors: Vec<String> = v.iter_errors(&config).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name} spec rejects seed example {config}: {errors:?}"
    );
}

#[test]
fn every_spec_is_one_valid_line_and_valid_draft07() {
    let meta = jsonschema::draft7::meta::validator();
    for name in CONNECTORS {
        let schema = spec_of(name);
        let problems: Vec<String> = meta.iter_errors(&schema).map(|e| e.to_string()).collect();
        assert!(problems.is_empty(), "{name}: not draft-07: {problems:?}");
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#", "{name}");
        assert_eq!(schema["type"], "object", "{name}");
        let props = schema["properties"].as_object().expect("properties");
        for (key, prop) in props {
            assert!(
                prop.get("description").and_then(Value::as_str).is_some(),
                "{name}.{key} has no description"
            );
            assert!(
                prop.get("type").is_some() || prop.get("oneOf").is_some(),
                "{name}.{key} has no type"
            );
        }
    }
}

#[test]
fn secrets_are_marked() {
    for name in ["source-s3", "destination-s3"] {
        let schema = spec_of(name);
        for key in [
            "secret_access_key",
            "session_token",
            "secret_key",
            "aws_secret_access_key",
        ] {
            assert_eq!(
                schema["properties"][key]["airbyte_secret"], true,
                "{name}.{key} must be airbyte_secret"
            );
        }
    }
}

#[test]
fn source_s3_accepts_seed_examples() {
    let schema = spec_of("source-s3");
    for config in [
        // seed 000: legacy configuration
        json!({"bucket": "my-bucket", "prefix": "data/", "format": "csv", "access_key": "AKIA...", "secret_key": "xyz..."}),
        // seed 000: new configuration
        json!({"bucket": "my-bucket", "path_prefix": "data/", "file_format": "csv", "access_key_id": "AKIA...",
               "secret_access_key": "xyz...", "cost_limit_usd": 50.0, "partition_keys": ["year", "month", "day"]}),
        // seed 000: development environment
        json!({"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet", "cost_limit_usd": 5.0,
               "dev_sampling": 0.1, "dev_max_files": 100}),
        // seed 000: production environment
        json!({"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet", "cost_limit_usd": 500.0,
               "max_data_size_gb": 1000.0, "partition_keys": ["year", "month", "day"],
               "partition_filter": {"year": "2024", "month": ["01", "02", "03"]}}),
        // seed 000: hive partitions
        json!({"bucket": "bucket", "path_prefix": "data/", "partition_keys": ["year", "month", "day"],
               "partition_filter": {"year": "2024", "month": "01"}}),
        // seed 000: date-based partitions
        json!({"bucket": "bucket", "path_prefix": "events/", "file_format": "json", "sync_mode": "incremental",
               "cursor_field": "event_timestamp"}),
        // seed 004: S3 source
        json!({"bucket": "my-bucket", "prefix": "data/users/", "format": "parquet", "aws_access_key_id": "...",
               "aws_secret_access_key": "...", "region": "us-east-1"}),
        // seed 000: performance and format options
        json!({"bucket": "b", "batch_size": 10000, "parallel_workers": 4, "csv_delimiter": ";", "csv_header": true,
               "csv_encoding": "latin-1", "parquet_columns": ["a"], "parquet_filters": [["a", ">", 3]],
               "json_flatten": true, "json_max_depth": 10, "compression": "gzip", "session_token": "t",
               "endpoint_url": "http://localhost:9000", "use_ssl": false}),
    ] {
        assert_accepts("source-s3", &schema, config);
    }
}

#[test]
fn destination_s3_accepts_seed_examples() {
    let schema = spec_of("destination-s3");
    for config in [
        // seed 004 example 2
        json!({"bucket": "my-data-lake", "prefix": "raw/", "format": "json", "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
               "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "region": "us-east-1"}),
        // seed 004 S3 destination reference
        json!({"bucket": "my-bucket", "prefix": "data/", "format": "parquet", "compression": "snappy",
               "aws_access_key_id": "...", "aws_secret_access_key": "...", "region": "us-east-1"}),
        json!({"bucket": "b", "path_prefix": "lake/", "file_format": "avro", "compression": "deflate",
               "file_size_mb": 100, "part_size_mb": 10, "partition_by": ["country"]}),
    ] {
        assert_accepts("destination-s3", &schema, config);
    }
}

#[test]
fn file_and_sqlite_accept_seed_examples() {
    let schema = spec_of("destination-file");
    for config in [
        json!({"base_path": "/data/output", "format": "parquet", "compression": "snappy"}),
        json!({"base_path": "/exports/csv", "format": "csv"}),
        json!({"base_path": "/data/output", "format": "parquet", "compression": "snappy", "overwrite": false}),
        json!({"base_path": "/data/output", "format": "parquet", "compression": "gzip"}),
    ] {
        assert_accepts("destination-file", &schema, config);
    }
    let schema = spec_of("source-file");
    for config in [
        json!({"file_path": "/data/input", "format": "parquet", "glob_pattern": "*.parquet"}),
        json!({"file_path": "/data/input", "glob_pattern": "*.parquet"}),
    ] {
        assert_accepts("source-file", &schema, config);
    }
    let schema = spec_of("source-sqlite");
    for config in [
        json!({"database_path": "/path/to/database.db"}),
        json!({"database_path": "/path/to/database.db", "batch_size": 1000}),
        json!({"database_path": "/path/to/database.db", "tables": ["users", "orders"]}),
        json!({"database_path": "/path/to/database.db", "tables": ["users"], "incremental_field": "updated_at"}),
    ] {
        assert_accepts("source-sqlite", &schema, config);
    }
}

#[test]
fn required_keys_are_required() {
    for (name, config) in [
        ("source-s3", json!({"path_prefix": "x"})),
        ("destination-s3", json!({"bucket": "b"})),
        ("source-file", json!({"format": "csv"})),
        ("destination-file", json!({"format": "csv"})),
        ("destination-file", json!({"base_path": "/tmp/x"})),
        ("source-sqlite", json!({"batch_size": 5})),
    ] {
        let schema = spec_of(name);
        assert!(!validator(&schema).is_valid(&config), "{name} accepted {config}");
    }
}

#[test]
fn version_flag_prints_the_crate_version() {
    for name in CONNECTORS {
        let out = std::process::Command::new(lakeport_tests::bin(name))
            .arg("--version")
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.trim(), format!("{name} {}", env!("CARGO_PKG_VERSION")));
    }
}
