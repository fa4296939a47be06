//! Writers from `RecordBatch` to any `Write` sink, in pieces: CSV (header), JSON (one array
//! written incrementally), JSONL, Parquet (snappy, gzip, zstd, lz4, brotli, none) and Avro
//! (null, deflate, snappy, zstd, bzip2, xz). CSV/JSON/JSONL may be gzip- or zstd-compressed.

use std::io::{self, Write};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression as PqCompression, GzipLevel, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::avro::{parse_codec, AvroBlockWriter};
use super::compression::{Compression, Encoder};
use super::conform::to_text;
use super::FileFormat;
use crate::error::{Error, Result};
use crate::records::{plain_batch, RowEncoder};

/// Writes batches to a sink of type `W`, reporting bytes written so far (for rollover).
pub trait FormatWriter<W: Write + Send>: Send {
    /// Appends the rows of `batch` (its schema must match the writer's).
    fn write(&mut self, batch: &RecordBatch) -> Result<()>;
    /// Bytes handed to the sink so far (compressed size; Parquet row groups and Avro blocks
    /// buffered in memory are not counted until written).
    fn bytes_written(&self) -> u64;
    /// Bytes buffered in memory and not yet written (Parquet's open row group).
    fn buffered_bytes(&self) -> u64 {
        0
    }
    /// Writes any trailer (JSON `]`, Parquet footer, last Avro block, codec trailer), flushes,
    /// and returns the sink.
    fn finish(self: Box<Self>) -> Result<W>;
}

/// Writer options.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    /// Parquet: rows per row group.
    pub row_group_rows: usize,
    /// CSV delimiter.
    pub csv_delimiter: u8,
    /// Avro record name.
    pub avro_record_name: String,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            row_group_rows: 128 * 1024,
            csv_delimiter: b',',
            avro_record_name: "record".into(),
        }
    }
}

/// Counts the bytes passed to the inner writer.
pub struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> CountingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        CountingWriter { inner, count: 0 }
    }

    /// Bytes written so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn werr(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("write failed: {e}"))
}

/// A failed write to the output, its kind kept: a full disk or a read-only
/// file system is reported with what to do.
fn sink_err(e: io::Error) -> Error {
    Error::io("the file being written", e)
}

/// [`werr`] for Parquet, keeping the output's own I/O error.
fn pq_err(e: parquet::errors::ParquetError) -> Error {
    match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => sink_err(*io),
            Err(other) => werr(other),
        },
        other => werr(other),
    }
}

/// Parses a Parquet codec name: `snappy` (default), `gzip`, `zstd`, `lz4`, `brotli`, `none`.
pub fn parse_parquet_codec(name: &str) -> Result<PqCompression> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "snappy" | "" => PqCompression::SNAPPY,
        "gzip" | "gz" => PqCompression::GZIP(GzipLevel::default()),
        "zstd" | "zstandard" => PqCompression::ZSTD(ZstdLevel::default()),
        "lz4" | "lz4_raw" => PqCompression::LZ4_RAW,
        "brotli" | "br" => PqCompression::BROTLI(BrotliLevel::default()),
        "none" | "uncompressed" | "null" => PqCompression::UNCOMPRESSED,
        other => {
            return Err(Error::Config(format!(
                "unknown Parquet compression '{other}'; use one of snappy, gzip, zstd, lz4, brotli, none"
            )))
        }
    })
}

/// A writer of `format` with `codec` over `sink` for batches of `schema`.
///
/// `codec` is the format's compression: Parquet `snappy|gzip|zstd|lz4|brotli|none`, Avro
/// `null|deflate|snappy|zstd|bzip2|xz`, CSV/JSON/JSONL a stream codec (`gzip|zstd|none`, and
/// also `bz2|lz4|snappy|brotli`); an empty string picks the default (snappy for Parquet,
/// none otherwise).
pub fn new_writer<W: Write + Send + 'static>(
    format: FileFormat,
    codec: &str,
    schema: SchemaRef,
    sink: W,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<W>>> {
    match format {
        FileFormat::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(parse_parquet_codec(codec)?)
                .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
                .build();
            let w = ArrowWriter::try_new(CountingWriter::new(sink), schema, Some(props)).map_err(werr)?;
            Ok(Box::new(ParquetWriter { inner: w }))
        }
        FileFormat::Avro => {
            let codec = parse_codec(codec)?;
            let w = AvroBlockWriter::new(CountingWriter::new(sink), &schema, &opts.avro_record_name, codec)?;
            Ok(Box::new(AvroWriter { inner: w }))
        }
        FileFormat::Csv | FileFormat::Tsv | FileFormat::Json | FileFormat::Jsonl => {
            let c: Compression = if codec.trim().is_empty() {
                Compression::None
            } else {
                codec.parse()?
            };
            let enc = Encoder::new(c, CountingWriter::new(sink))?;
            let kind = match format {
                FileFormat::Json => TextKind::JsonArray,
                FileFormat::Jsonl => TextKind::Jsonl,
                FileFormat::Tsv => TextKind::Csv(b'\t'),
                _ => TextKind::Csv(opts.csv_delimiter),
            };
            Ok(Box::new(TextWriter {
                sink: enc,
                kind,
                schema,
                rows: 0,
                header_written: false,
                buf: Vec::with_capacity(1 << 20),
            }))
        }
    }
}

struct ParquetWriter<W: Write + Send> {
    inner: ArrowWriter<CountingWriter<W>>,
}

impl<W: Write + Send> FormatWriter<W> for ParquetWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch).map_err(pq_err)
    }

    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written() as u64
    }

    fn buffered_bytes(&self) -> u64 {
        self.inner.in_progress_size() as u64
    }

    fn finish(self: Box<Self>) -> Result<W> {
        let mut w = self.inner.into_inner().map_err(pq_err)?;
        w.flush().map_err(sink_err)?;
        Ok(w.into_inner())
    }
}

struct AvroWriter<W: Write + Send> {
    inner: AvroBlockWriter<CountingWriter<W>>,
}

impl<W: Write + Send> FormatWriter<W> for AvroWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch)
    }

    fn bytes_written(&self) -> u64 {
        self.inner.get_ref().count()
    }

    fn finish(self: Box<Self>) -> Result<W> {
        Ok(self.inner.finish()?.into_inner())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Csv(u8),
    JsonArray,
    Jsonl,
}

struct TextWriter<W: Write> {
    sink: Encoder<CountingWriter<W>>,
    kind: TextKind,
    schema: SchemaRef,
    rows: u64,
    header_written: bool,
    buf: Vec<u8>,
}

/// Appends one CSV field, quoted when needed.
fn csv_field(out: &mut Vec<u8>, s: &str, delimiter: u8) {
    let needs = s.is_empty()
        || s.bytes()
            .any(|b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
        || s.starts_with(' ')
        || s.ends_with(' ');
    if !needs {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

impl<W: Write + Send> TextWriter<W> {
    fn write_csv(&mut self, batch: &RecordBatch, delimiter: u8) -> Result<()> {
        self.buf.clear();
        if !self.header_written {
            self.header_written = true;
            for (i, f) in self.schema.fields().iter().enumerate() {
                if i > 0 {
                    self.buf.push(delimiter);
                }
                csv_field(&mut self.buf, f.name(), delimiter);
            }
            self.buf.extend_from_slice(b"\r\n");
        }
        let texts = batch.columns().iter().map(to_text).collect::<Result<Vec<_>>>()?;
        let is_string: Vec<bool> = batch
            .columns()
            .iter()
            .map(|c| matches!(c.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
            .collect();
        for i in 0..batch.num_rows() {
            for (j, t) in texts.iter().enumerate() {
                if j > 0 {
                    self.buf.push(delimiter);
                }
                if t.is_null(i) {
                    continue;
                }
                let s = t.as_string::<i32>().value(i);
                if is_string[j] {
                    // Empty strings are written quoted so they differ from nulls.
                    csv_field(&mut self.buf, s, delimiter);
                } else {
                    csv_field_nonempty(&mut self.buf, s, delimiter);
                }
            }
            self.buf.extend_from_slice(b"\r\n");
        }
        Ok(())
    }
}

fn csv_field_nonempty(out: &mut Vec<u8>, s: &str, delimiter: u8) {
    if s.is_empty() {
        return;
    }
    csv_field(out, s, delimiter);
}

impl<W: Write + Send> FormatWriter<W> for TextWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self.kind {
            TextKind::Csv(d) => self.write_csv(batch, d)?,
            TextKind::Jsonl | TextKind::JsonArray => {
                self.buf.clear();
                let batch = plain_batch(batch)?;
                let batch = batch.as_ref();
                let enc = RowEncoder::new(batch, &[])?;
                let array = self.kind == TextKind::JsonArray;
                for i in 0..batch.num_rows() {
                    if array {
                        self.buf
                            .extend_from_slice(if self.rows == 0 && i == 0 { b"[\n" } else { b",\n" });
                    }
                    enc.write_object(i, &mut self.buf);
                    if !array {
                        self.buf.push(b'\n');
                    }
                }
            }
        }
        self.rows += batch.num_rows() as u64;
        self.sink.write_all(&self.buf).map_err(sink_err)
    }

    fn bytes_written(&self) -> u64 {
        self.sink.get_ref().count()
    }

    fn finish(mut self: Box<Self>) -> Result<W> {
        if self.kind == TextKind::JsonArray {
            let tail: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
            self.sink.write_all(tail).map_err(sink_err)?;
        }
        if let TextKind::Csv(d) = self.kind {
            if !self.header_written {
                // Header only.
                let empty = RecordBatch::new_empty(Arc::clone(&self.schema));
                self.write_csv(&empty, d)?;
                let buf = std::mem::take(&mut self.buf);
                self.sink.write_all(&buf).map_err(sink_err)?;
            }
        }
        let counting = self.sink.finish().map_err(sink_err)?;
        Ok(counting.into_inner())
    }
}

/// Writes `batches` to a new local file at `path` (format from `format`, codec as in
/// [`new_writer`]). Returns the bytes written.
pub fn write_path(
    path: &std::path::Path,
    format: FileFormat,
    codec: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64> {
    let name = path.display().to_string();
    let file = std::fs::File::create(path).map_err(|e| Error::io(&name, e))?;
    let mut w = new_writer(
        format,
        codec,
        schema,
        io::BufWriter::with_capacity(1 << 20, file),
        &WriteOptions::default(),
    )?;
    for b in batches {
        w.write(b)?;
    }
    let mut buf = w.finish()?;
    buf.flush().map_err(|e| Error::io(&name, e))?;
    let file = buf.into_inner().map_err(|e| Error::io(&name, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&name, e))?;
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}
