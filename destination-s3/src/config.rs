//! The native config of destination-s3 (CONTRACT §4) and the write settings
//! it means; the mapping of other flavours onto it is
//! `lakeport_core::config::destination_s3`.

use lakeport_core::config::destination_s3::legacy::FORMATS;
use lakeport_core::formats::{FileFormat, WriteOptions};
use lakeport_core::sink::envelope::Flattening;
use lakeport_core::sink::layout::{stamp, writer_id, writer_text, WRITER_ENV};
use lakeport_core::sink::settings::{resolve_codec, SinkConfig};
use lakeport_core::storage::S3Connection;
use lakeport_protocol::ConnectorError;
use serde::Deserialize;
use serde_json::Value;

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
    /// This writer's id in object names when several write one stream
    /// (default: `JOB_COMPLETION_INDEX` when set).
    #[serde(default)]
    pub writer_id: Option<Value>,
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
            writer: writer_id(
                writer_text(self.writer_id.as_ref()).as_deref(),
                std::env::var(WRITER_ENV).ok(),
            )
            .map_err(ConnectorError::config)?,
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

#[cfg(test)]
mod tests {
    use lakeport_core::config::to_native_destination_s3;
    use lakeport_protocol::{Emitter, Flavour};
    use serde_json::{json, Value};

    use super::*;

    fn quiet() -> Emitter {
        Emitter::new(Box::new(std::io::sink()))
    }

    #[test]
    fn seed_config_maps_to_native() {
        let raw = json!({"bucket": "my-bucket", "prefix": "data/", "format": "parquet", "compression": "snappy",
            "aws_access_key_id": "AK", "aws_secret_access_key": "SK", "region": "us-east-1"});
        let m = to_native_destination_s3(raw, Flavour::Auto, &mut quiet()).unwrap();
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

    fn native(extra: Value) -> DestinationS3Config {
        let mut v = json!({"bucket": "b", "file_format": "jsonl"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn error(extra: Value) -> String {
        native(extra).sink_config().unwrap_err().message
    }

    #[test]
    fn write_settings_refuse_what_cannot_be_written_with_the_values_allowed() {
        let allowed = FORMATS.join(", ");
        assert_eq!(
            error(json!({"file_format": "xlsx"})),
            format!("file_format 'xlsx' is not supported; use one of {allowed}.")
        );
        assert_eq!(
            error(json!({"file_format": "tsv"})),
            format!("file_format 'tsv' is not written; use one of {allowed}.")
        );
        assert_eq!(error(json!({"file_size_mb": 0})), "file_size_mb must be at least 1.");
        assert_eq!(
            error(json!({"part_size_mb": 4})),
            "part_size_mb must be at least 5 (S3's smallest multipart part)."
        );
        assert_eq!(
            error(json!({"airbyte_envelope": "sideways"})),
            "airbyte_envelope 'sideways' is not known; use root_level or no_flattening."
        );
    }

    #[test]
    fn the_envelope_replaces_the_metadata_columns() {
        let s = native(json!({"airbyte_envelope": "root_level", "file_size_mb": 2, "part_size_mb": 6}))
            .sink_config()
            .unwrap();
        assert!(!s.metadata_columns);
        assert_eq!(s.file_size_bytes, 2 * 1024 * 1024);
        let c = native(json!({"airbyte_envelope": "no_flattening", "part_size_mb": 6}));
        assert_eq!(c.envelope().unwrap(), Some(Flattening::None));
        assert_eq!(c.part_size_bytes(), 6 * 1024 * 1024);
        let s = native(json!({"partition_by": ["day"]})).sink_config().unwrap();
        assert!(s.metadata_columns);
        assert_eq!(s.partition_by, ["day"]);
    }
}
