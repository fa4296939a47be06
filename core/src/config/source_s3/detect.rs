//! Telling the flavour of a source-s3 config by its distinctive keys.

use serde_json::{Map, Value};

use super::legacy::{NATIVE_ONLY, SOURCE_S3_LEGACY_NAMES};
use crate::config::mapping::{ambiguous_flavour, object, unknown_flavour};
use crate::error::Result;

/// Keys only Fivetran's S3 connector uses.
const FIVETRAN_KEYS: &[&str] = &[
    "file_type",
    "pattern",
    "auth_type",
    "null_sequence",
    "skip_before",
    "skip_after",
    "skip_header_lines",
    "skip_footer_lines",
    "empty_header",
    "access_key_secret",
    "is_public",
    "list_strategy",
    "json_delivery_mode",
    "files",
    "file_mapping_method",
    "extraction_pattern",
    "table",
    "table_group_name",
    "connection_type",
    "archive_pattern",
    "append_file_option",
    "line_separator",
    "quote_character_enabled",
    "non_standard_escape_char",
    "use_pgp_encryption_options",
    "pgp_secret_key",
    "pgp_pass_phrase",
    "signer_public_key",
    "escape_char",
    "quote_char",
    "delimiter",
];

/// Keys only Airbyte source-s3 v3 uses at the top level.
const AIRBYTE_V3_KEYS: &[&str] = &["dataset", "path_pattern", "provider"];

/// Keys only Airbyte source-s3 v4 uses at the top level.
const AIRBYTE_V4_KEYS: &[&str] = &["delivery_method", "credentials"];

/// Keys of a v4 `streams[]` item that a native stream item does not have
/// (`validation_policy`, `input_schema`, `schemaless` and
/// `days_to_sync_if_history_is_full` are native too, so they are no signal;
/// Airbyte's spelled-out policies such as "Emit Record" are).
const AIRBYTE_V4_STREAM_KEYS: &[&str] = &[
    "primary_key",
    "legacy_prefix",
    "recent_n_files_to_read_for_schema_discovery",
];

const EXPECTED: &[&str] = &[
    "native: {\"bucket\", \"path_prefix\", \"file_format\", …} (legacy names prefix, format, aws_access_key_id … also read)",
    "Airbyte source-s3 v4: {\"bucket\", \"streams\": [{\"name\", \"globs\", \"format\": {\"filetype\": …}}]}",
    "Airbyte source-s3 v3: {\"dataset\", \"path_pattern\", \"provider\": {\"bucket\", …}, \"format\": {\"filetype\": …}}",
    "Fivetran S3: {\"bucket\", \"prefix\", \"pattern\", \"file_type\", …}, {\"service\": \"s3\", \"config\": {…}} or {\"data\": {…}}",
];

/// The flavour of a source-s3 config, finer than [`Flavour`](lakeport_protocol::Flavour).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceS3Kind {
    /// Native or legacy names.
    Native,
    /// Airbyte source-s3 v4 (file-based CDK).
    AirbyteV4,
    /// Airbyte source-s3 v3.
    AirbyteV3,
    /// Fivetran's S3 connector.
    Fivetran,
}

fn present(map: &Map<String, Value>, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter(|k| map.contains_key(**k))
        .map(|k| k.to_string())
        .collect()
}

pub(super) fn v4_signals(map: &Map<String, Value>) -> Vec<String> {
    let mut found = present(map, AIRBYTE_V4_KEYS);
    if let Some(Value::Array(streams)) = map.get("streams") {
        for (i, s) in streams.iter().enumerate() {
            let Some(item) = s.as_object() else { continue };
            if item.get("format").is_some_and(Value::is_object) {
                found.push(format!("streams[{i}].format"));
            }
            for k in present(item, AIRBYTE_V4_STREAM_KEYS) {
                found.push(format!("streams[{i}].{k}"));
            }
            if item
                .get("validation_policy")
                .and_then(Value::as_str)
                .is_some_and(|p| p.contains(' '))
            {
                found.push(format!("streams[{i}].validation_policy"));
            }
        }
    }
    found.dedup();
    found
}

pub(super) fn v3_signals(map: &Map<String, Value>) -> Vec<String> {
    let mut found = present(map, AIRBYTE_V3_KEYS);
    if map.get("format").and_then(|f| f.get("filetype")).is_some() {
        found.push("format.filetype".into());
    }
    if map.get("schema").is_some_and(Value::is_string) && !found.is_empty() {
        found.push("schema".into());
    }
    found
}

/// A Fivetran wrapper: `{"data": {"config": {…}}}`, `{"data": {…}}` or
/// `{"service": …, "config": {…}}`, as (inner config, its path, service).
pub(super) fn fivetran_wrapper(map: &Map<String, Value>) -> Option<(&Map<String, Value>, &'static str, Option<&str>)> {
    if let Some(data) = map.get("data").and_then(Value::as_object) {
        let service = data.get("service").and_then(Value::as_str);
        if let Some(cfg) = data.get("config").and_then(Value::as_object) {
            return Some((cfg, "data.config.", service));
        }
        return Some((data, "data.", service));
    }
    let cfg = map.get("config").and_then(Value::as_object)?;
    if map.contains_key("service") || !map.contains_key("bucket") {
        return Some((cfg, "config.", map.get("service").and_then(Value::as_str)));
    }
    None
}

/// Tells the flavour of a source-s3 config by its distinctive keys; an
/// ambiguous or unknown config is a config error listing what is expected.
pub fn detect_source_s3(raw: &Value) -> Result<SourceS3Kind> {
    let map = object(raw)?;
    if fivetran_wrapper(map).is_some() {
        return Ok(SourceS3Kind::Fivetran);
    }
    let candidates: Vec<(&str, SourceS3Kind, Vec<String>)> = vec![
        ("Airbyte source-s3 v4", SourceS3Kind::AirbyteV4, v4_signals(map)),
        ("Airbyte source-s3 v3", SourceS3Kind::AirbyteV3, v3_signals(map)),
        ("Fivetran S3", SourceS3Kind::Fivetran, present(map, FIVETRAN_KEYS)),
    ];
    let hits: Vec<&(&str, SourceS3Kind, Vec<String>)> = candidates.iter().filter(|c| !c.2.is_empty()).collect();
    match hits.as_slice() {
        [] => {
            let known = map.keys().any(|k| {
                k == "bucket"
                    || k == "streams"
                    || k == "globs"
                    || k == "compression"
                    || k == "access_key_id"
                    || k == "role_arn"
                    || k == "start_date"
                    || k == "use_ssl"
                    || k == "on_error"
                    || NATIVE_ONLY.contains(&k.as_str())
                    || SOURCE_S3_LEGACY_NAMES.iter().any(|(old, _)| old == k)
            });
            if known {
                Ok(SourceS3Kind::Native)
            } else {
                Err(unknown_flavour("source-s3", EXPECTED))
            }
        }
        [one] => Ok(one.1),
        many => Err(ambiguous_flavour(
            "source-s3",
            &many.iter().map(|(n, _, keys)| (*n, keys.clone())).collect::<Vec<_>>(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn detects_each_flavour() {
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "prefix": "p"})).unwrap(),
            SourceS3Kind::Native
        );
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "streams": [{"name": "a", "format": {"filetype": "csv"}}]}))
                .unwrap(),
            SourceS3Kind::AirbyteV4
        );
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "streams": [{"name": "a", "file_format": "csv"}]})).unwrap(),
            SourceS3Kind::Native
        );
        assert_eq!(
            detect_source_s3(&json!({"dataset": "d", "provider": {}})).unwrap(),
            SourceS3Kind::AirbyteV3
        );
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "file_type": "csv"})).unwrap(),
            SourceS3Kind::Fivetran
        );
        assert_eq!(
            detect_source_s3(&json!({"data": {"config": {}}})).unwrap(),
            SourceS3Kind::Fivetran
        );
        let e = detect_source_s3(&json!({"dataset": "d", "file_type": "csv"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("v3 (dataset)") && e.contains("Fivetran S3 (file_type)"),
            "{e}"
        );
        let e = detect_source_s3(&json!({"hello": 1})).unwrap_err().to_string();
        assert!(e.contains("Expected one of"), "{e}");
    }
}
