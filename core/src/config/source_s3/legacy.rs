//! Native and legacy (seed 000/004) source-s3 configs: the keys are kept,
//! legacy names renamed to their native ones; the native keys no other
//! flavour has (kept as written inside an Airbyte or Fivetran config).

use lakeport_protocol::Flavour;
use serde_json::{Map, Value};

use crate::config::mapping::{rename_legacy, used_legacy, KeyNote, Mapped};

/// Legacy name → native name (seed 000/004), in precedence order.
pub const SOURCE_S3_LEGACY_NAMES: &[(&str, &str)] = &[
    ("prefix", "path_prefix"),
    ("format", "file_format"),
    ("access_key", "access_key_id"),
    ("aws_access_key_id", "access_key_id"),
    ("secret_key", "secret_access_key"),
    ("aws_secret_access_key", "secret_access_key"),
    ("region_name", "region"),
    ("endpoint", "endpoint_url"),
];

/// Native keys that no other flavour uses at the top level; inside an
/// Airbyte or Fivetran config they are kept as written and win.
pub(super) const NATIVE_ONLY: &[&str] = &[
    "region",
    "secret_access_key",
    "session_token",
    "endpoint_url",
    "anonymous",
    "path_prefix",
    "file_format",
    "stream_name",
    "key_pattern",
    "cost_limit_usd",
    "max_files_per_run",
    "max_data_size_gb",
    "dev_sampling",
    "dev_max_files",
    "dev_sampling_seed",
    "list_page_size",
    "pricing",
    "partition_keys",
    "partition_filter",
    "partition_columns",
    "cursor_field",
    "batch_size",
    "parallel_workers",
    "csv_delimiter",
    "csv_header",
    "csv_encoding",
    "csv_quote_char",
    "csv_escape_char",
    "csv_null_values",
    "csv_skip_rows_before_header",
    "csv_skip_rows_after_header",
    "csv_column_names",
    "csv_true_values",
    "csv_false_values",
    "csv_infer_types",
    "parquet_columns",
    "parquet_filters",
    "json_flatten",
    "json_max_depth",
    "max_rows_per_file",
    "schemaless",
    "input_schema",
    "validation_policy",
    "days_to_sync_if_history_is_full",
    "schema_sample_files",
];

/// The native config of a native (`strict`: every key kept as written) or
/// legacy config.
pub(super) fn native(map: &Map<String, Value>, strict: bool) -> Mapped {
    let mut config = map.clone();
    if strict {
        let notes = config
            .keys()
            .map(|k| KeyNote::Mapped {
                from: k.clone(),
                to: k.clone(),
            })
            .collect();
        return Mapped {
            config: Value::Object(config),
            flavour: Flavour::Native,
            notes,
        };
    }
    let notes = rename_legacy(&mut config, SOURCE_S3_LEGACY_NAMES);
    Mapped {
        config: Value::Object(config),
        flavour: if used_legacy(&notes) {
            Flavour::Legacy
        } else {
            Flavour::Native
        },
        notes,
    }
}
