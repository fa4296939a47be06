//! The typed native config of destination-file, and the write settings it
//! means.

use std::path::PathBuf;

use lakeport_core::formats::{FileFormat, WriteOptions};
use lakeport_core::sink::layout::stamp;
use lakeport_core::sink::{resolve_codec, SinkConfig};
use lakeport_protocol::ConnectorError;
use serde::Deserialize;

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
    /// Rollover size.
    #[serde(default = "default_file_size_mb")]
    pub file_size_mb: f64,
    /// Hive partition keys.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// Add `_airbyte_raw_id` and `_airbyte_extracted_at`.
    #[serde(default = "default_true")]
    pub metadata_columns: bool,
    /// Airbyte's raw layout (`_airbyte_raw_<stream>.jsonl|.csv` with
    /// `_airbyte_ab_id`, `_airbyte_emitted_at`, `_airbyte_data`), set when an
    /// Airbyte destination-local-json / destination-csv config is imported.
    #[serde(default)]
    pub airbyte_raw: bool,
}

impl Config {
    /// The write settings this config means; errors name the key and the
    /// values allowed.
    pub fn sink_config(&self) -> Result<SinkConfig, ConnectorError> {
        if self.airbyte_raw {
            return Err(ConnectorError::config(
                "airbyte_raw (the _airbyte_raw_<stream> file layout of Airbyte's destination-local-json / destination-csv) is not supported yet. Write the config with native keys instead: base_path and format (run `import-config` to see the mapping), and remove airbyte_raw.",
            ));
        }
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
            overwrite: self.overwrite,
            json_max_depth: 10,
            write_options: WriteOptions::default(),
        })
    }
}
