//! Native and legacy destination-s3 configs: the seed documents' legacy key
//! names renamed to the native ones.

use lakeport_protocol::{ConnectorError, Emitter, Flavour, MigratedConfig};
use serde_json::{Map, Value};

/// Legacy name → native name, in the order they are looked at (the first
/// legacy name of a native key wins over later ones).
const LEGACY_NAMES: &[(&str, &str)] = &[
    ("prefix", "path_prefix"),
    ("format", "file_format"),
    ("access_key", "access_key_id"),
    ("aws_access_key_id", "access_key_id"),
    ("secret_key", "secret_access_key"),
    ("aws_secret_access_key", "secret_access_key"),
    ("region_name", "region"),
    ("endpoint", "endpoint_url"),
];

/// The formats written.
pub const FORMATS: &[&str] = &["parquet", "json", "jsonl", "csv", "avro"];

/// Maps a native or legacy config (`from`: `Native` keeps legacy names as
/// they are): legacy names (native > legacy, one WARN per legacy name used),
/// blank values dropped, `file_format` required.
pub(super) fn map(raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
    let Value::Object(mut map) = raw else {
        return Err(ConnectorError::config(
            "The config must be a JSON object, like {\"bucket\": \"my-bucket\", \"file_format\": \"parquet\"}.",
        ));
    };
    let mut used_legacy = false;
    if from != Flavour::Native {
        for (old, new) in LEGACY_NAMES {
            let Some(value) = map.get(*old) else { continue };
            if !(value.is_string() || value.is_null()) {
                continue; // not the legacy shape (e.g. Airbyte's `format` object)
            }
            let value = map.remove(*old).unwrap_or(Value::Null);
            used_legacy = true;
            if map.contains_key(*new) {
                let _ = out.warn(format!(
                    "`{old}` is a legacy name of `{new}`, which is also set: `{new}` wins and `{old}` is ignored. Remove `{old}`."
                ));
            } else {
                let _ = out.warn(format!(
                    "`{old}` is a legacy name: it was read as `{new}`. Rename it to `{new}`."
                ));
                if !value.is_null() {
                    map.insert((*new).to_string(), value);
                }
            }
        }
    }
    drop_blank(&mut map);
    if !map.contains_key("file_format") && !map.contains_key("format") {
        return Err(ConnectorError::config(format!(
            "field 'file_format' is required: set it to one of {}.",
            FORMATS.join(", ")
        )));
    }
    let flavour = if used_legacy { Flavour::Legacy } else { Flavour::Native };
    Ok(MigratedConfig::new(Value::Object(map), flavour))
}

/// Removes keys whose value is null or an empty string, so optional keys
/// left blank in a UI mean "unset".
fn drop_blank(map: &mut Map<String, Value>) {
    map.retain(|_, v| !(v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn file_format_is_required() {
        let mut quiet = Emitter::new(Box::new(std::io::sink()));
        let e = map(json!({"bucket": "b"}), Flavour::Auto, &mut quiet).unwrap_err();
        assert!(e.message.contains("file_format"), "{}", e.message);
    }
}
