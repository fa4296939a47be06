//! The typed native config of destination-file, and the write settings it
//! means.

use std::path::PathBuf;

use lakeport_core::formats::{FileFormat, WriteOptions};
use lakeport_core::sink::layout::{stamp, writer_id, writer_text, WRITER_ENV};
use lakeport_core::sink::settings::{resolve_codec, SinkConfig};
use lakeport_protocol::ConnectorError;
use serde::Deserialize;
use serde_json::Value;

use crate::raw::{resolve_local, RawKind, RawSettings};

fn default_file_size_mb() -> f64 {
    200.0
}
fn default_true() -> bool {
    true
}

/// destination-file's config (CONTRACT §4).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// The output directory.
    pub base_path: PathBuf,
    /// The output format.
    pub format: String,
    /// The codec.
    #[serde(default)]
    pub compression: Option<String>,
    /// Replace each stream's older files.
    #[serde(default)]
    pub overwrite: bool,
    /// This writer's id in file names when several write one stream
    /// (default: `JOB_COMPLETION_INDEX` when set).
    #[serde(default)]
    pub writer_id: Option<Value>,
    /// Rollover size.
    #[serde(default = "default_file_size_mb")]
    pub file_size_mb: f64,
    /// Hive partition keys.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// Add `_airbyte_raw_id` and `_airbyte_extracted_at`.
    #[serde(default = "default_true")]
    pub metadata_columns: bool,
    /// The CSV field delimiter (one character; `\t` for a tab).
    #[serde(default)]
    pub csv_delimiter: Option<String>,
    /// Airbyte's raw layout (`_airbyte_raw_<stream>.jsonl|.csv` with
    /// `_airbyte_ab_id`, `_airbyte_emitted_at`, `_airbyte_data`), set when an
    /// Airbyte destination-local-json / destination-csv config is imported.
    #[serde(default)]
    pub airbyte_raw: bool,
}

impl Config {
    /// The directory files are written under: `base_path`, with Airbyte's
    /// `/local` resolved in the `airbyte_raw` layout (see
    /// [`resolve_local`]).
    pub fn output_dir(&self) -> PathBuf {
        if self.airbyte_raw {
            resolve_local(&self.base_path)
        } else {
            self.base_path.clone()
        }
    }

    /// The CSV delimiter byte; errors name the key.
    fn delimiter(&self) -> Result<u8, ConnectorError> {
        let Some(text) = self.csv_delimiter.as_deref() else {
            return Ok(b',');
        };
        match text.as_bytes() {
            b"\\t" | b"tab" => Ok(b'\t'),
            [b] if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => Ok(*b),
            _ => Err(ConnectorError::config(
                "csv_delimiter must be one ASCII character other than a quote or a line break (\\t for a tab), e.g. \",\" or \";\".",
            )),
        }
    }

    /// The settings of Airbyte's raw layout (`airbyte_raw: true`): `format`
    /// jsonl (destination-local-json) or csv (destination-csv), uncompressed
    /// and unpartitioned, as Airbyte writes them.
    pub fn raw_settings(&self) -> Result<RawSettings, ConnectorError> {
        let kind = match self.format.to_ascii_lowercase().as_str() {
            "jsonl" => RawKind::Jsonl,
            "csv" => RawKind::Csv {
                delimiter: self.delimiter()?,
            },
            other => {
                return Err(ConnectorError::config(format!(
                    "format '{other}' has no Airbyte raw layout: with airbyte_raw, use jsonl (destination-local-json) or csv (destination-csv), or remove airbyte_raw to write {other} files."
                )))
            }
        };
        if self
            .compression
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case("none"))
        {
            return Err(ConnectorError::config(
                "compression does not apply with airbyte_raw: Airbyte's raw files are uncompressed. Remove compression, or remove airbyte_raw.",
            ));
        }
        if !self.partition_by.is_empty() {
            return Err(ConnectorError::config(
                "partition_by does not apply with airbyte_raw: Airbyte's raw layout is one file per stream. Remove partition_by, or remove airbyte_raw.",
            ));
        }
        Ok(RawSettings {
            dir: self.output_dir(),
            kind,
            overwrite: self.overwrite,
        })
    }

    /// The write settings this config means (the native layout); errors name
    /// the key and the values allowed.
    pub fn sink_config(&self) -> Result<SinkConfig, ConnectorError> {
        let format: FileFormat = self.format.parse().map_err(|_| {
            ConnectorError::config(format!(
                "format '{}' is not supported; use parquet, json, jsonl, csv or avro.",
                self.format
            ))
        })?;
        if format == FileFormat::Tsv {
            return Err(ConnectorError::config(
                "format 'tsv' is not written; use csv, json, jsonl, parquet or avro.",
            ));
        }
        let (codec, text_compression) =
            resolve_codec(format, self.compression.as_deref()).map_err(ConnectorError::from)?;
        if self.file_size_mb.is_nan() || self.file_size_mb <= 0.0 {
            return Err(ConnectorError::config("file_size_mb must be greater than 0."));
        }
        Ok(SinkConfig {
            format,
            codec,
            text_compression,
            file_size_bytes: (self.file_size_mb * 1024.0 * 1024.0) as u64,
            partition_by: self.partition_by.clone(),
            metadata_columns: self.metadata_columns,
            batch_size: 10_000,
            stamp: stamp(chrono::Utc::now()),
            writer: writer_id(
                writer_text(self.writer_id.as_ref()).as_deref(),
                std::env::var(WRITER_ENV).ok(),
            )
            .map_err(ConnectorError::config)?,
            overwrite: self.overwrite,
            json_max_depth: 10,
            write_options: WriteOptions {
                csv_delimiter: self.delimiter()?,
                ..WriteOptions::default()
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(extra: Value) -> Config {
        let mut v = json!({"base_path": "/tmp/out", "format": "csv"});
        v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn message(e: ConnectorError) -> String {
        e.message
    }

    #[test]
    fn delimiters_are_one_ascii_character_or_a_tab() {
        for (text, byte) in [(",", b','), (";", b';'), ("|", b'|'), ("\\t", b'\t'), ("tab", b'\t')] {
            let c = config(json!({"csv_delimiter": text}));
            assert_eq!(c.sink_config().unwrap().write_options.csv_delimiter, byte, "{text}");
        }
        for bad in ["", ";;", "\"", "\n", "é"] {
            let e = config(json!({"csv_delimiter": bad})).sink_config().unwrap_err();
            assert!(
                message(e).starts_with("csv_delimiter must be one ASCII character"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_raw_layout_takes_jsonl_or_csv_uncompressed_and_unpartitioned() {
        let c = config(json!({"airbyte_raw": true, "csv_delimiter": ";", "overwrite": true}));
        let raw = c.raw_settings().unwrap();
        assert!(matches!(raw.kind, RawKind::Csv { delimiter: b';' }));
        assert!(raw.overwrite);
        let c = config(json!({"airbyte_raw": true, "format": "JSONL"}));
        assert!(matches!(c.raw_settings().unwrap().kind, RawKind::Jsonl));
        let e = config(json!({"airbyte_raw": true, "format": "parquet"}))
            .raw_settings()
            .unwrap_err();
        assert!(message(e).starts_with("format 'parquet' has no Airbyte raw layout"));
        let e = config(json!({"airbyte_raw": true, "compression": "gzip"}))
            .raw_settings()
            .unwrap_err();
        assert!(message(e).starts_with("compression does not apply with airbyte_raw"));
        assert!(config(json!({"airbyte_raw": true, "compression": "NONE"}))
            .raw_settings()
            .is_ok());
        let e = config(json!({"airbyte_raw": true, "partition_by": ["day"]}))
            .raw_settings()
            .unwrap_err();
        assert!(message(e).starts_with("partition_by does not apply with airbyte_raw"));
        let e = config(json!({"airbyte_raw": true, "csv_delimiter": "::"}))
            .raw_settings()
            .unwrap_err();
        assert!(message(e).starts_with("csv_delimiter must be"));
    }

    #[test]
    fn the_native_layout_refuses_unknown_formats_tsv_and_sizes_of_zero() {
        let e = config(json!({"format": "xlsx"})).sink_config().unwrap_err();
        assert_eq!(
            message(e),
            "format 'xlsx' is not supported; use parquet, json, jsonl, csv or avro."
        );
        let e = config(json!({"format": "tsv"})).sink_config().unwrap_err();
        assert!(message(e).starts_with("format 'tsv' is not written"));
        for size in [0.0, -1.0] {
            let e = config(json!({"file_size_mb": size})).sink_config().unwrap_err();
            assert_eq!(message(e), "file_size_mb must be greater than 0.");
        }
        let s = config(json!({"format": "parquet", "file_size_mb": 0.5, "partition_by": ["day"]}))
            .sink_config()
            .unwrap();
        assert_eq!(s.format, FileFormat::Parquet);
        assert_eq!(s.file_size_bytes, 512 * 1024);
        assert_eq!(s.partition_by, ["day"]);
        // Not the raw layout: the base path is used as it is.
        assert_eq!(config(json!({})).output_dir(), PathBuf::from("/tmp/out"));
    }
}
