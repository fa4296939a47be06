//! Writers from `RecordBatch` to any `Write` sink, in pieces: CSV (header), JSON (one array
//! written incrementally), JSONL, Parquet (snappy, gzip, zstd, lz4, brotli, none) and Avro
//! (null, deflate, snappy, zstd, bzip2, xz). CSV/JSON/JSONL may be gzip- or zstd-compressed.

use std::any::Any;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};

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

pub(super) fn werr(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("write failed: {e}"))
}

/// A failed write to the output, its kind kept: a full disk or a read-only
/// file system is reported with what to do.
pub(super) fn sink_err(e: io::Error) -> Error {
    Error::io("the file being written", e)
}

/// [`werr`] for Parquet, keeping the output's own I/O error.
pub(super) fn pq_err(e: parquet::errors::ParquetError) -> Error {
    match e {
        parquet::errors::ParquetError::External(inner) => match inner.downcast::<io::Error>() {
            Ok(io) => sink_err(*io),
            Err(other) => werr(other),
        },
        other => werr(other),
    }
}

/// A writer of `format` with `codec` over `sink` for batches of `schema` (the format's
/// registered writer, see [`super::FormatSpec::write`]).
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
    let spec = format.spec();
    let new = spec
        .write
        .ok_or_else(|| Error::Config(format!("{} files cannot be written; set another format", spec.name)))?;
    let inner = new(codec, schema, Box::new(sink), opts)?;
    Ok(Box::new(Typed {
        inner,
        sink: PhantomData,
    }))
}

/// Any sink a registered writer writes to, handed back as its own type by
/// [`FormatWriter::finish`] (the registry's constructors are not generic).
pub trait Sink: Write + Send {
    /// The sink, to be downcast to its own type.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<W: Write + Send + 'static> Sink for W {
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

/// A registered writer over a boxed sink, seen as a writer over `W`.
struct Typed<W> {
    inner: Box<dyn FormatWriter<Box<dyn Sink>>>,
    sink: PhantomData<fn() -> W>,
}

impl<W: Write + Send + 'static> FormatWriter<W> for Typed<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch)
    }

    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }

    fn buffered_bytes(&self) -> u64 {
        self.inner.buffered_bytes()
    }

    fn finish(self: Box<Self>) -> Result<W> {
        let sink: Box<dyn Sink> = self.inner.finish()?;
        <dyn Sink>::into_any(sink)
            .downcast::<W>()
            .map(|w| *w)
            .map_err(|_| Error::Internal("a format writer handed back a sink of another type".into()))
    }
}

/// The registry's writer of CSV: `opts.csv_delimiter`, a stream codec.
pub(super) fn csv_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    text_writer(TextKind::Csv(opts.csv_delimiter), codec, schema, sink)
}

/// The registry's writer of TSV: tab-delimited, a stream codec.
pub(super) fn tsv_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    _opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    text_writer(TextKind::Csv(b'\t'), codec, schema, sink)
}

/// The registry's writer of JSON: one array written incrementally, a stream codec.
pub(super) fn json_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    _opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    text_writer(TextKind::JsonArray, codec, schema, sink)
}

/// The registry's writer of JSON lines, a stream codec.
pub(super) fn jsonl_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    _opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    text_writer(TextKind::Jsonl, codec, schema, sink)
}

/// A text writer of `kind` compressed with the stream codec `codec` (empty: none).
fn text_writer(
    kind: TextKind,
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    let c: Compression = if codec.trim().is_empty() {
        Compression::None
    } else {
        codec.parse()?
    };
    let enc = Encoder::new(c, CountingWriter::new(sink))?;
    Ok(Box::new(TextWriter {
        sink: enc,
        kind,
        schema,
        rows: 0,
        header_written: false,
        buf: Vec::with_capacity(1 << 20),
    }))
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
