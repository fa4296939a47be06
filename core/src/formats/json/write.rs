//! The JSON writers: one array written incrementally (`[`, objects separated by `,`, `]`) or
//! one object per line, each value as the Arrow type says ([`RowEncoder`]), a stream codec
//! around the whole file.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::error::Result;
use crate::formats::writer::{sink_err, stream_sink, FormatWriter, Sink, StreamSink, WriteOptions};
use crate::records::{plain_batch, RowEncoder};

/// The registry's writer of JSON: one array written incrementally, a stream codec.
pub(in crate::formats) fn json_writer(
    codec: &str,
    _schema: SchemaRef,
    sink: Box<dyn Sink>,
    _opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    JsonWriter::boxed(true, codec, sink)
}

/// The registry's writer of JSON lines, a stream codec.
pub(in crate::formats) fn jsonl_writer(
    codec: &str,
    _schema: SchemaRef,
    sink: Box<dyn Sink>,
    _opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    JsonWriter::boxed(false, codec, sink)
}

/// Writes JSON objects, as one array or one per line.
struct JsonWriter {
    sink: StreamSink,
    /// One array (`json`) rather than lines (`jsonl`).
    array: bool,
    rows: u64,
    buf: Vec<u8>,
}

impl JsonWriter {
    fn boxed(array: bool, codec: &str, sink: Box<dyn Sink>) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
        Ok(Box::new(JsonWriter {
            sink: stream_sink(codec, sink)?,
            array,
            rows: 0,
            buf: Vec::with_capacity(1 << 20),
        }))
    }
}

impl FormatWriter<Box<dyn Sink>> for JsonWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.buf.clear();
        let plain = plain_batch(batch)?;
        let plain = plain.as_ref();
        let enc = RowEncoder::new(plain, &[])?;
        for i in 0..plain.num_rows() {
            if self.array {
                self.buf
                    .extend_from_slice(if self.rows == 0 && i == 0 { b"[\n" } else { b",\n" });
            }
            enc.write_object(i, &mut self.buf);
            if !self.array {
                self.buf.push(b'\n');
            }
        }
        self.rows += batch.num_rows() as u64;
        self.sink.write_all(&self.buf).map_err(sink_err)
    }

    fn bytes_written(&self) -> u64 {
        self.sink.get_ref().count()
    }

    fn finish(mut self: Box<Self>) -> Result<Box<dyn Sink>> {
        if self.array {
            let tail: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
            self.sink.write_all(tail).map_err(sink_err)?;
        }
        let counting = self.sink.finish().map_err(sink_err)?;
        Ok(counting.into_inner())
    }
}
