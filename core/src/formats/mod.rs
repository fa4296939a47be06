//! Streaming readers and writers for every supported file format, and compression.
//!
//! Reading: [`read_stream`] turns a (decompressed) byte stream of any format into an iterator
//! of Arrow `RecordBatch`es; [`parquet::read_parquet`] / [`parquet::read_parquet_async`]
//! read Parquet with ranged reads; [`read_path`] does everything for a local file.
//! Writing: [`writer::new_writer`] returns a [`writer::FormatWriter`] for any format and codec.

pub mod avro;
pub mod background;
pub mod compression;
mod conform;
pub mod csv;
mod io;
pub mod json;
pub mod options;
pub mod parquet;
pub mod writer;

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

pub use compression::Compression;
pub use options::{ColumnFilter, CsvOptions, FilterOp, OnBadRecord, ReadOptions, TextEncoding};
pub use writer::{new_writer, FormatWriter, WriteOptions};

use crate::error::{Error, Result};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// Comma-separated values (any delimiter).
    Csv,
    /// Tab-separated values.
    Tsv,
    /// A JSON array of objects, or one object.
    Json,
    /// One JSON object per line (NDJSON).
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// Apache Avro object container file.
    Avro,
}

impl FileFormat {
    /// The canonical name (`"csv"`, `"jsonl"`, …).
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Csv => "csv",
            FileFormat::Tsv => "tsv",
            FileFormat::Json => "json",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Parquet => "parquet",
            FileFormat::Avro => "avro",
        }
    }

    /// The file extension written (without a dot).
    pub fn extension(self) -> &'static str {
        self.name()
    }

    /// Detects the format from a path's extension, ignoring a compression extension
    /// (`x.csv.gz` → `Csv`).
    pub fn from_extension(path: &str) -> Option<FileFormat> {
        let path = match Compression::from_extension(path) {
            Some((_, stem)) => stem,
            None => path,
        };
        let (_, ext) = path.rsplit_once('.')?;
        match ext.to_ascii_lowercase().as_str() {
            "csv" | "txt" => Some(FileFormat::Csv),
            "tsv" | "tab" => Some(FileFormat::Tsv),
            "json" => Some(FileFormat::Json),
            "jsonl" | "ndjson" => Some(FileFormat::Jsonl),
            "parquet" | "pq" | "parq" => Some(FileFormat::Parquet),
            "avro" => Some(FileFormat::Avro),
            _ => None,
        }
    }
}

impl FileFormat {
    /// The format `path`'s extension names when it is of another kind than
    /// `self` (a `.jsonl` key read as CSV, a `.csv` one as Parquet): reading
    /// it as `self` is likely a mistake. CSV and TSV are one kind (a
    /// delimiter apart), and so are JSON and JSON lines.
    pub fn contradicted_by(self, path: &str) -> Option<FileFormat> {
        fn kind(f: FileFormat) -> u8 {
            match f {
                FileFormat::Csv | FileFormat::Tsv => 0,
                FileFormat::Json | FileFormat::Jsonl => 1,
                FileFormat::Parquet => 2,
                FileFormat::Avro => 3,
            }
        }
        FileFormat::from_extension(path).filter(|other| kind(*other) != kind(self))
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FileFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "csv" => FileFormat::Csv,
            "tsv" => FileFormat::Tsv,
            "json" => FileFormat::Json,
            "jsonl" | "ndjson" | "jsonlines" | "json_lines" => FileFormat::Jsonl,
            "parquet" => FileFormat::Parquet,
            "avro" => FileFormat::Avro,
            other => {
                return Err(Error::Config(format!(
                    "unknown file format '{other}'; use one of csv, tsv, json, jsonl, parquet, avro"
                )))
            }
        })
    }
}

/// An iterator of record batches with a known schema and warnings about skipped records.
pub trait BatchReader: Iterator<Item = Result<RecordBatch>> + Send {
    /// The schema of every batch produced (the target schema when one was given).
    fn schema(&self) -> SchemaRef;
    /// Warnings collected so far (skipped records, widened types), for the caller to log.
    fn take_warnings(&mut self) -> Vec<String>;
}

/// A bounded list of warnings (the first 100 kept, the rest counted).
#[derive(Debug, Default, Clone)]
pub struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    /// Adds a warning.
    pub fn push(&mut self, w: String) {
        if self.list.len() < 100 {
            self.list.push(w);
        } else {
            self.dropped += 1;
        }
    }

    /// Takes the warnings collected so far.
    pub fn take(&mut self) -> Vec<String> {
        let mut out = std::mem::take(&mut self.list);
        if self.dropped > 0 {
            out.push(format!("… and {} more warnings", self.dropped));
            self.dropped = 0;
        }
        out
    }
}

/// Reads `input` — a decompressed byte stream of `file` in `format` — as record batches of
/// `opts.batch_size` rows. With `target` (from the catalog), batches conform to it: missing
/// columns null, values cast, unconvertible values failing or skipped per
/// `opts.on_bad_record`. Without, the schema is inferred from a bounded sample (CSV/JSON) or
/// read from the file (Parquet/Avro).
///
/// Parquet needs random access: here the stream is buffered whole in memory; prefer
/// [`parquet::read_parquet`] (a `File` or any `ChunkReader`) or
/// [`parquet::read_parquet_async`] (ranged reads) for large files.
pub fn read_stream<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    format: FileFormat,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(match format {
        FileFormat::Csv => Box::new(csv::CsvReader::new(file, input, opts, target, false)?),
        FileFormat::Tsv => Box::new(csv::CsvReader::new(file, input, opts, target, true)?),
        FileFormat::Json => Box::new(json::JsonReader::new(file, input, opts, target, true)?),
        FileFormat::Jsonl => Box::new(json::JsonReader::new(file, input, opts, target, false)?),
        FileFormat::Avro => Box::new(avro::AvroReader::new(file, input, opts, target)?),
        FileFormat::Parquet => {
            let mut input = input;
            let mut buf = Vec::new();
            input
                .read_to_end(&mut buf)
                .map_err(|e| Error::format(file, e.to_string()))?;
            Box::new(parquet::read_parquet(file, bytes::Bytes::from(buf), opts, target)?)
        }
    })
}

/// The schema of a stream, inferred from a bounded sample (`opts.infer_rows` rows for CSV/TSV
/// and JSON/JSONL) or read from the file's own schema (Avro header; Parquet footer — the whole
/// stream is buffered for Parquet here, prefer [`parquet::parquet_schema`]). Returns the
/// schema and warnings (e.g. conflicting types widened to string). Only the sample is read.
pub fn infer_schema(
    file: &str,
    input: Box<dyn Read + Send + '_>,
    format: FileFormat,
    opts: &ReadOptions,
) -> Result<(arrow::datatypes::Schema, Vec<String>)> {
    let mut reader = read_stream(file, input, format, opts, None)?;
    let schema = reader.schema().as_ref().clone();
    Ok((schema, reader.take_warnings()))
}

/// Reads a local file: the format from `format` or the extension, the compression from
/// `compression` or the extension then magic bytes. Parquet files are read with random
/// access (footer, then the needed column chunks).
pub fn read_path(
    path: &Path,
    format: Option<FileFormat>,
    compression: Option<Compression>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    let name = path.display().to_string();
    let format = match format {
        Some(f) => f,
        None => FileFormat::from_extension(&name).ok_or_else(|| {
            Error::Config(format!(
                "cannot tell the format of {name} from its extension; set the format explicitly"
            ))
        })?,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(&name, e))?;
    if format == FileFormat::Parquet
        && matches!(compression, None | Some(Compression::None))
        && Compression::from_extension(&name).is_none()
    {
        return Ok(Box::new(parquet::read_parquet(&name, file, opts, target)?));
    }
    let (_, input) = compression::open_decompressed(&name, compression, Box::new(file))?;
    read_stream(&name, input, format, opts, target)
}

/// Reads every batch of a reader into memory (for tests and small files).
pub fn collect(reader: Box<dyn BatchReader + '_>) -> Result<Vec<RecordBatch>> {
    reader.collect()
}

#[cfg(test)]
mod tests {
    use super::FileFormat;

    #[test]
    fn an_extension_of_another_kind_contradicts_the_configured_format() {
        assert_eq!(FileFormat::Csv.contradicted_by("a/b.jsonl"), Some(FileFormat::Jsonl));
        assert_eq!(
            FileFormat::Csv.contradicted_by("a/b.parquet"),
            Some(FileFormat::Parquet)
        );
        assert_eq!(FileFormat::Parquet.contradicted_by("a/b.csv.gz"), Some(FileFormat::Csv));
        // One kind: a delimiter apart, or JSON and JSON lines.
        assert_eq!(FileFormat::Csv.contradicted_by("a/b.tsv"), None);
        assert_eq!(FileFormat::Jsonl.contradicted_by("a/b.json"), None);
        // No extension, or one no format claims: nothing to contradict.
        assert_eq!(FileFormat::Csv.contradicted_by("a/b"), None);
        assert_eq!(FileFormat::Avro.contradicted_by("a/b.dat"), None);
    }
}
