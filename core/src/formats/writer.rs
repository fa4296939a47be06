//! What every format's writer shares: the [`FormatWriter`] trait, [`WriteOptions`], the
//! [`Sink`] a registered writer writes to (handed back as its own type by
//! [`super::new_writer`]'s writer), byte counting, and the stream codec the text formats
//! wrap a whole file in. The writers themselves live with their formats: CSV (header), JSON
//! (one array written incrementally), JSONL, Parquet (snappy, gzip, zstd, lz4, brotli, none)
//! and Avro (null, deflate, snappy, zstd, bzip2, xz); CSV/JSON/JSONL may be compressed with
//! a stream codec.

use std::any::Any;
use std::io::{self, Write};
use std::marker::PhantomData;

use arrow::array::RecordBatch;

use super::compression::{Compression, Encoder};
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
    /// Top-level columns whose values are all distinct (row ids): Parquet
    /// writes them plainly, without first trying a dictionary.
    pub distinct_columns: Vec<String>,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            row_group_rows: 128 * 1024,
            csv_delimiter: b',',
            avro_record_name: "record".into(),
            distinct_columns: Vec::new(),
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

/// A registered writer over a boxed sink, seen as a writer over `W` (the sink it was
/// given, handed back by [`FormatWriter::finish`]).
pub(super) struct Typed<W> {
    inner: Box<dyn FormatWriter<Box<dyn Sink>>>,
    sink: PhantomData<fn() -> W>,
}

impl<W: Write + Send + 'static> Typed<W> {
    /// `inner`, which writes to a boxed `W`.
    pub(super) fn new(inner: Box<dyn FormatWriter<Box<dyn Sink>>>) -> Self {
        Typed {
            inner,
            sink: PhantomData,
        }
    }
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
