//! What the flavour mappings of source-s3 share: the legacy names, the
//! native-only keys, and the helpers for endpoints, Airbyte file types and
//! the finished mapping.

use lakeport_protocol::Flavour;
use serde_json::Value;

use crate::config::mapping::{as_bool, as_text, Mapped, Mapper};
use crate::error::{Error, Result};

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

/// An endpoint as written by Airbyte: `http://` means no TLS; a bare host
/// gets `https://` (`http://` when the same object says `use_ssl: false`).
pub(super) fn set_endpoint(m: &mut Mapper<'_>, key: &str) {
    let Some(v) = m.take(key) else { return };
    let Some(text) = as_text(v) else {
        m.drop_key(key, "not a string");
        return;
    };
    let plain = m.src().get("use_ssl").and_then(as_bool) == Some(false);
    let url = if text.contains("://") {
        text
    } else if plain {
        format!("http://{text}")
    } else {
        format!("https://{text}")
    };
    if url.starts_with("http://") && !m.out.contains_key("use_ssl") {
        m.out.insert("use_ssl".into(), Value::Bool(false));
    }
    m.set(key, "endpoint_url", Value::String(url));
}

/// The mapping done: the native config, read as `flavour`; every key not
/// handled is dropped with `why`.
pub(super) fn finish(m: Mapper<'_>, flavour: Flavour, why: &str) -> Mapped {
    let (out, notes) = m.finish(why);
    Mapped {
        config: Value::Object(out),
        flavour,
        notes,
    }
}

/// The native `file_format` of an Airbyte `format.filetype`; an
/// unsupported one is a config error naming the key at `path` (with `hint`
/// appended).
pub(super) fn airbyte_filetype(filetype: &str, path: &str, hint: &str) -> Result<&'static str> {
    match filetype.to_ascii_lowercase().as_str() {
        "csv" => Ok("csv"),
        "jsonl" => Ok("jsonl"),
        "parquet" => Ok("parquet"),
        "avro" => Ok("avro"),
        other => Err(Error::Config(format!(
            "{path}format.filetype '{other}' is not supported by Lakeport (csv, jsonl, parquet and avro are).{hint}"
        ))),
    }
}
