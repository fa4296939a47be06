//! Golden files for the config flavours (CONTRACT §4): each
//! `golden/<connector>/<case>.input.json` is mapped with the connector's
//! `to_native_*` function and compared with `<case>.expected.json`:
//! `{"from": …, "flavour": …, "config": {…}, "warnings": […], "table": [[source, native], …]}`,
//! or `{"from": …, "error_contains": […]}` for a config that must be refused.
//!
//! Every input holds its secrets as values containing `SeCrEt`; no warning,
//! note or table cell may contain one. `LAKEPORT_BLESS=1` rewrites the
//! expected files (then review every diff by hand).

use std::path::{Path, PathBuf};

use lakeport_core::config::{to_native_destination_file, to_native_source_file, to_native_source_s3, Mapped};
use lakeport_protocol::Flavour;
use serde_json::{json, Value};

const SECRET_MARK: &str = "SeCrEt";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn flavour(name: &str) -> Flavour {
    match name {
        "native" => Flavour::Native,
        "legacy" => Flavour::Legacy,
        "airbyte" => Flavour::Airbyte,
        "fivetran" => Flavour::Fivetran,
        _ => Flavour::Auto,
    }
}

fn map(connector: &str, raw: &Value, from: Flavour) -> Result<Mapped, lakeport_core::Error> {
    match connector {
        "source-s3" => to_native_source_s3(raw, from),
        "source-file" => to_native_source_file(raw, from),
        "destination-file" => to_native_destination_file(raw, from),
        other => panic!("no mapping for {other}"),
    }
}

fn assert_no_secret(case: &str, m: &Mapped) {
    for line in m.warnings() {
        assert!(!line.contains(SECRET_MARK), "{case}: a secret in a WARN: {line}");
    }
    for note in &m.notes {
        let text = format!("{note:?}");
        assert!(!text.contains(SECRET_MARK), "{case}: a secret in a note: {text}");
    }
    assert!(!m.table().contains(SECRET_MARK), "{case}: a secret in the table");
}

fn run_connector(connector: &str) -> usize {
    let dir = golden_dir().join(connector);
    let bless = std::env::var_os("LAKEPORT_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".input.json"))
        .collect();
    cases.sort();
    let mut failures = Vec::new();
    for input in &cases {
        let name = input.file_name().unwrap().to_string_lossy().replace(".input.json", "");
        let expected_path = dir.join(format!("{name}.expected.json"));
        let raw: Value = serde_json::from_str(&std::fs::read_to_string(input).unwrap())
            .unwrap_or_else(|e| panic!("{name}: input is not JSON: {e}"));
        let expected: Value = std::fs::read_to_string(&expected_path)
            .ok()
            .map(|t| serde_json::from_str(&t).unwrap_or_else(|e| panic!("{name}: expected is not JSON: {e}")))
            .unwrap_or_else(|| json!({"from": "auto"}));
        let from_name = expected["from"].as_str().unwrap_or("auto").to_string();
        let result = map(connector, &raw, flavour(&from_name));
        let actual = match &result {
            Ok(m) => {
                assert_no_secret(&name, m);
                json!({
                    "from": from_name,
                    "flavour": m.flavour.name(),
                    "config": m.config,
                    "warnings": m.warnings(),
                    "table": m.table_rows().into_iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
                })
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(!msg.contains(SECRET_MARK), "{name}: a secret in the error: {msg}");
                if let Some(parts) = expected["error_contains"].as_array() {
                    for p in parts {
                        let p = p.as_str().unwrap_or_default();
                        if !msg.contains(p) {
                            failures.push(format!("{name}: error '{msg}' lacks '{p}'"));
                        }
                    }
                    continue;
                }
                json!({"from": from_name, "error_contains": [msg]})
            }
        };
        if expected.get("error_contains").is_some() {
            failures.push(format!("{name}: expected an error, got {actual:#}"));
            continue;
        }
        if bless {
            std::fs::write(
                &expected_path,
                format!("{}\n", serde_json::to_string_pretty(&actual).unwrap()),
            )
            .unwrap();
        } else if actual != expected {
            failures.push(format!(
                "{name}: mapping differs from {}:\n--- expected\n{expected:#}\n--- actual\n{actual:#}",
                expected_path.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    cases.len()
}

#[test]
fn source_s3_golden() {
    assert!(run_connector("source-s3") >= 10);
}

#[test]
fn source_file_golden() {
    assert!(run_connector("source-file") >= 5);
}

#[test]
fn destination_file_golden() {
    assert!(run_connector("destination-file") >= 4);
}

/// Every key of CONTRACT §4 for source-s3, and every legacy name of both
/// seeds, appears in some golden input (and so is checked by a golden file).
#[test]
fn goldens_cover_contract_keys() {
    let mut seen = String::new();
    for entry in std::fs::read_dir(golden_dir().join("source-s3")).unwrap() {
        let p = entry.unwrap().path();
        if p.to_string_lossy().ends_with(".input.json") {
            seen.push_str(&std::fs::read_to_string(p).unwrap());
        }
    }
    let keys = [
        "bucket",
        "region",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "role_arn",
        "endpoint_url",
        "use_ssl",
        "path_prefix",
        "globs",
        "file_format",
        "compression",
        "stream_name",
        "streams",
        "cost_limit_usd",
        "max_files_per_run",
        "max_data_size_gb",
        "dev_sampling",
        "dev_max_files",
        "pricing",
        "get_per_1000",
        "list_per_1000",
        "put_per_1000",
        "transfer_per_gb",
        "partition_keys",
        "partition_filter",
        "partition_columns",
        "start_date",
        "cursor_field",
        "batch_size",
        "parallel_workers",
        "csv_delimiter",
        "csv_header",
        "csv_encoding",
        "csv_quote_char",
        "csv_escape_char",
        "csv_null_values",
        "parquet_columns",
        "parquet_filters",
        "json_flatten",
        "json_max_depth",
        // legacy names (seed 000 / 004)
        "prefix",
        "format",
        "access_key",
        "aws_access_key_id",
        "secret_key",
        "aws_secret_access_key",
        "region_name",
        "endpoint",
        // Airbyte v4 / v3
        "credentials",
        "input_schema",
        "schemaless",
        "validation_policy",
        "days_to_sync_if_history_is_full",
        "filetype",
        "dataset",
        "path_pattern",
        "provider",
        "schema",
        "header_definition",
        "inference_type",
        // Fivetran
        "pattern",
        "file_type",
        "on_error",
        "delimiter",
        "quote_char",
        "escape_char",
        "null_sequence",
        "skip_before",
        "skip_after",
        "skip_header_lines",
        "skip_footer_lines",
        "empty_header",
        "auth_type",
        "access_key_secret",
        "is_public",
        "list_strategy",
        "json_delivery_mode",
        "files",
        "table_name",
        "file_pattern",
        "file_mapping_method",
        "extraction_pattern",
        "table",
        "table_group_name",
    ];
    let missing: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !seen.contains(&format!("\"{k}\"")))
        .collect();
    assert!(missing.is_empty(), "keys no golden input covers: {missing:?}");
}
