//! How a destination writes ([`SinkConfig`]): format, codec, rollover size,
//! partitioning, metadata columns; and the codecs each output format takes.

use crate::error::Error;
use crate::formats::compression::Compression;
use crate::formats::{FileFormat, WriteOptions};

/// How a destination writes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Output format.
    pub format: FileFormat,
    /// The format's codec (`""` for its default).
    pub codec: String,
    /// Stream compression wrapped around text formats (its extension is added).
    pub text_compression: Compression,
    /// A file is committed and a new one started past this size.
    pub file_size_bytes: u64,
    /// Record fields (or extraction-date parts) that become hive folders.
    pub partition_by: Vec<String>,
    /// Add `_airbyte_raw_id` and `_airbyte_extracted_at`.
    pub metadata_columns: bool,
    /// Rows decoded per batch.
    pub batch_size: usize,
    /// The sync's timestamp in file names (`YYYYMMDD_HHMMSS`).
    pub stamp: String,
    /// This writer's id in file names, when several write one stream
    /// (`writer_id`, see [`super::layout::writer_id`]).
    pub writer: Option<String>,
    /// Replace every stream's older files (besides the catalog's
    /// `destination_sync_mode` and refresh generations).
    pub overwrite: bool,
    /// Nesting kept when inferring schemas.
    pub json_max_depth: usize,
    /// Writer options.
    pub write_options: WriteOptions,
}

impl SinkConfig {
    /// Rows decoded and written per batch: `batch_size`, but small next to
    /// `file_size_bytes`, because a file's size is known a few batches late
    /// (batches are decoded and encoded on other threads) and rollover should
    /// stay close to the size asked for.
    pub fn batch_rows(&self) -> usize {
        let by_size = usize::try_from(self.file_size_bytes / 8192).unwrap_or(usize::MAX);
        self.batch_size.min(by_size.max(256)).max(1)
    }

    /// The extension of the files written (`parquet`, `jsonl.gz`, …).
    pub fn extension(&self) -> String {
        match (self.format, self.text_compression) {
            (FileFormat::Parquet | FileFormat::Avro, _) | (_, Compression::None) => self.format.extension().to_string(),
            (f, c) => format!("{}.{}", f.extension(), c.extension()),
        }
    }
}

/// The codecs each output format accepts; the first is its default.
pub fn codecs(format: FileFormat) -> &'static [&'static str] {
    match format {
        FileFormat::Parquet => &["snappy", "gzip", "zstd", "lz4", "brotli", "none"],
        FileFormat::Avro => &["snappy", "deflate", "zstd", "bzip2", "xz", "none"],
        _ => &["none", "gzip", "zstd"],
    }
}

/// Checks `compression` against the codecs `format` accepts (its default
/// when `None`) and returns the codec name with the stream compression to
/// wrap text formats in (which also names the file extension).
pub fn resolve_codec(format: FileFormat, compression: Option<&str>) -> Result<(String, Compression), Error> {
    let allowed = codecs(format);
    let codec = compression
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| allowed[0].to_string());
    if !allowed.contains(&codec.as_str()) {
        return Err(Error::Config(format!(
            "compression '{codec}' does not apply to {}; use one of: {}.",
            format.name(),
            allowed.join(", ")
        )));
    }
    let text_compression = match format {
        FileFormat::Parquet | FileFormat::Avro => Compression::None,
        _ => codec.parse()?,
    };
    Ok((codec, text_compression))
}
