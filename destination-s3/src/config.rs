//! The native config of destination-s3 (CONTRACT §4), and the mapping of the
//! seed documents' legacy key names onto it.

use lakeport_core::formats::{FileFormat, WriteOptions};
use lakeport_core::sink::layout::stamp;
use lakeport_core::sink::{resolve_codec, SinkConfig};
use lakeport_core::storage::S3Connection;
use lakeport_protocol::{ConnectorError, Emitter, Flavour, MigratedConfig};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::envelope::Flattening;

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
pub(crate) const FORMATS: &[&str] = &["parquet", "json", "jsonl", "csv", "avro"];

fn default_file_size_mb() -> u64 {
    200
}
fn default_part_size_mb() -> u64 {
    10
}
fn default_true() -> bool {
    true
}

/// destination-s3's native config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DestinationS3Config {
    /// Bucket, region, credentials, endpoint.
    #[serde(flatten)]
    pub connection: S3Connection,
    /// Key prefix of every stream's folder.
    #[serde(default)]
    pub path_prefix: String,
    /// Output format.
    pub file_format: String,
    /// Output compression (default depends on the format).
    #[serde(default)]
    pub compression: Option<String>,
    /// Rollover size of a file, in MB.
    #[serde(default = "default_file_size_mb")]
    pub file_size_mb: u64,
    /// Multipart part size, in MB.
    #[serde(default = "default_part_size_mb")]
    pub part_size_mb: u64,
    /// Hive partition fields.
    #[serde(default)]
    pub partition_by: Option<Vec<String>>,
    /// Add `_airbyte_raw_id` and `_airbyte_extracted_at`.
    #[serde(default = "default_true")]
    pub metadata_columns: bool,
    /// Airbyte-style key layout: `${…}` variables after `path_prefix`
    /// (e.g. `${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_`).
    #[serde(default)]
    pub path_format: Option<String>,
    /// File name with `{…}` placeholders, after `path_format`
    /// (default `{part_number}{format_extension}`).
    #[serde(default)]
    pub file_name_pattern: Option<String>,
    /// Airbyte's record envelope: `root_level` (fields at the root) or
    /// `no_flattening` (fields in `_airbyte_data`); replaces `metadata_columns`.
    #[serde(default)]
    pub airbyte_envelope: Option<String>,
}

impl DestinationS3Config {
    /// The write settings this config means; errors name the key and the
    /// values allowed.
    pub fn sink_config(&self) -> Result<SinkConfig, ConnectorError> {
        let format: FileFormat = self.file_format.parse().map_err(|_| {
            ConnectorError::config(format!(
                "file_format '{}' is not supported; use one of {}.",
                self.file_format,
                FORMATS.join(", ")
            ))
        })?;
        if !FORMATS.contains(&format.name()) {
            return Err(ConnectorError::config(format!(
                "file_format '{}' is not written; use one of {}.",
                self.file_format,
                FORMATS.join(", ")
            )));
        }
        let (codec, text_compression) =
            resolve_codec(format, self.compression.as_deref()).map_err(ConnectorError::from)?;
        if self.file_size_mb == 0 {
            return Err(ConnectorError::config("file_size_mb must be at least 1."));
        }
        if self.part_size_mb < 5 {
            return Err(ConnectorError::config(
                "part_size_mb must be at least 5 (S3's smallest multipart part).",
            ));
        }
        let envelope = self.envelope()?;
        Ok(SinkConfig {
            format,
            codec,
            text_compression,
            file_size_bytes: self.file_size_mb * 1024 * 1024,
            partition_by: self.partition_by.clone().unwrap_or_default(),
            metadata_columns: self.metadata_columns && envelope.is_none(),
            batch_size: 10_000,
            stamp: stamp(chrono::Utc::now()),
            overwrite: false,
            json_max_depth: 10,
            write_options: WriteOptions::default(),
        })
    }

    /// The Airbyte envelope's flattening, when asked for.
    pub fn envelope(&self) -> Result<Option<Flattening>, ConnectorError> {
        match self.airbyte_envelope.as_deref() {
            None => Ok(None),
            Some("root_level") => Ok(Some(Flattening::RootLevel)),
            Some("no_flattening") => Ok(Some(Flattening::None)),
            Some(other) => Err(ConnectorError::config(format!(
                "airbyte_envelope '{other}' is not known; use root_level or no_flattening."
            ))),
        }
    }

    /// The part size in bytes.
    pub fn part_size_bytes(&self) -> usize {
        usize::try_from(self.part_size_mb.saturating_mul(1024 * 1024)).unwrap_or(usize::MAX)
    }
}

/// Maps a raw config to the native one: legacy names (native > legacy, one
/// WARN per legacy name used), blank values dropped, `file_format` required.
pub(crate) fn migrate(raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
    let is_airbyte = raw.get("s3_bucket_name").is_some();
    match from {
        Flavour::Airbyte => return crate::airbyte::migrate(raw, out),
        Flavour::Auto if is_airbyte => return crate::airbyte::migrate(raw, out),
        Flavour::Auto | Flavour::Native | Flavour::Legacy => {}
        other => {
            return Err(ConnectorError::config(format!(
                "destination-s3 does not read {} configs yet; write the config with its native keys (see `destination-s3 spec`).",
                other.name()
            )))
        }
    }
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
    use super::*;
    use serde_json::json;

    fn quiet() -> Emitter {
        Emitter::new(Box::new(std::io::sink()))
    }

    #[test]
    fn seed_config_maps_to_native() {
        let raw = json!({"bucket": "my-bucket", "prefix": "data/", "format": "parquet", "compression": "snappy",
            "aws_access_key_id": "AK", "aws_secret_access_key": "SK", "region": "us-east-1"});
        let m = migrate(raw, Flavour::Auto, &mut quiet()).unwrap();
        assert_eq!(m.flavour, Flavour::Legacy);
        let cfg: DestinationS3Config = serde_json::from_value(m.config).unwrap();
        assert_eq!(cfg.path_prefix, "data/");
        assert_eq!(cfg.file_format, "parquet");
        assert_eq!(cfg.connection.access_key_id.as_deref(), Some("AK"));
        assert_eq!(cfg.connection.secret_access_key.unwrap().expose(), "SK");
        assert_eq!(cfg.file_size_mb, 200);
        assert_eq!(cfg.part_size_mb, 10);
    }

    #[test]
    fn file_format_is_required() {
        let e = migrate(json!({"bucket": "b"}), Flavour::Auto, &mut quiet()).unwrap_err();
        assert!(e.message.contains("file_format"), "{}", e.message);
    }

    #[test]
    fn spec_marks_secrets() {
        let spec: Value = serde_json::from_str(include_str!("spec.json")).unwrap();
        let props = spec["properties"].as_object().unwrap();
        for name in [
            "secret_access_key",
            "session_token",
            "secret_key",
            "aws_secret_access_key",
        ] {
            assert_eq!(props[name]["airbyte_secret"], json!(true), "{name}");
        }
        for key in [
            "bucket",
            "path_prefix",
            "file_format",
            "compression",
            "file_size_mb",
            "part_size_mb",
            "partition_by",
            "region",
            "endpoint_url",
            "use_ssl",
            "prefix",
            "format",
        ] {
            assert!(
                props[key].get("description").is_some() && props[key].get("order").is_some(),
                "{key}"
            );
        }
    }
}
