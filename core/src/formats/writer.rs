//! What every format's writer shares: the [`FormatWriter`] trait, [`WriteOptions`],
//! [`new_writer`] (the format's registered writer over any `Write` sink, handed back by
//! [`FormatWriter::finish`] as its own type through [`Sink`]), byte counting, the stream
//! codec the text formats wrap a whole file in, and [`write_path`]. The writers themselves
//! live with their formats: CSV (header), JSON (one array written incrementally), JSONL,
//! Parquet (snappy, gzip, zstd, lz4, brotli, none) and Avro (null, deflate, snappy, zstd,
//! bzip2, xz); CSV/JSON/JSONL may be compressed with a stream codec.

use std::any::Any;
use std::io::{self, Write};
use std::marker::PhantomData;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use super::compression::{Compression, Encoder};
use super::FileFormat;
use crate::error::{Error, Result};

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

/// The stream codec `codec` names (empty: none) around `sink`, counting the compressed
/// bytes: how the text formats (CSV, JSON) compress a whole file.
pub(super) type StreamSink = Encoder<CountingWriter<Box<dyn Sink>>>;

/// A [`StreamSink`] of `codec` (a [`Compression`] name; empty: none) over `sink`.
pub(super) fn stream_sink(codec: &str, sink: Box<dyn Sink>) -> Result<StreamSink> {
    let c: Compression = if codec.trim().is_empty() {
        Compression::None
    } else {
        codec.parse()?
    };
    Encoder::new(c, CountingWriter::new(sink))
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
