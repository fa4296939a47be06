//! Native and legacy source-file configs: the keys are kept, legacy names
//! renamed to their native ones.

use lakeport_protocol::Flavour;
use serde_json::{Map, Value};

use crate::config::mapping::{rename_legacy, used_legacy, Mapped};

/// Legacy name → native name for source-file (the S3 key names of seed 004
/// for `s3://` paths), in precedence order.
pub const SOURCE_FILE_LEGACY_NAMES: &[(&str, &str)] = &[
    ("file_format", "format"),
    ("access_key", "access_key_id"),
    ("aws_access_key_id", "access_key_id"),
    ("secret_key", "secret_access_key"),
    ("aws_secret_access_key", "secret_access_key"),
    ("region_name", "region"),
    ("endpoint", "endpoint_url"),
];

/// Native keys of source-file.
pub(super) const NATIVE_KEYS: &[&str] = &[
    "file_path",
    "glob_pattern",
    "stream_name",
    "layout",
    "compression",
    "parallel_workers",
    "batch_size",
    "csv_delimiter",
    "csv_header",
    "csv_encoding",
    "csv_quote_char",
    "csv_escape_char",
    "csv_null_values",
    "csv_skip_rows_before_header",
    "csv_skip_rows_after_header",
    "csv_column_names",
    "parquet_columns",
    "parquet_filters",
    "json_flatten",
    "json_max_depth",
    "on_error",
    "max_rows_per_file",
    "access_key_id",
    "secret_access_key",
    "region",
    "endpoint_url",
];

/// The native config of a native or (`legacy`: legacy names renamed) legacy
/// config.
pub(super) fn native(map: &Map<String, Value>, legacy: bool) -> Mapped {
    let mut config = map.clone();
    let notes = if legacy {
        rename_legacy(&mut config, SOURCE_FILE_LEGACY_NAMES)
    } else {
        rename_legacy(&mut config, &[])
    };
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
