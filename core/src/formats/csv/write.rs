//! The CSV/TSV writer: a header row, fields quoted when needed (empty strings quoted so
//! they differ from nulls), CRLF line ends, a stream codec around the whole file.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};

use crate::error::Result;
use crate::formats::conform::to_text;
use crate::formats::writer::{sink_err, stream_sink, FormatWriter, Sink, StreamSink, WriteOptions};

/// The registry's writer of CSV: `opts.csv_delimiter`, a stream codec.
pub(in crate::formats) fn csv_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    CsvWriter::boxed(opts.csv_delimiter, codec, schema, sink)
}

/// The registry's writer of TSV: tab-delimited, a stream codec.
pub(in crate::formats) fn tsv_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    _opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    CsvWriter::boxed(b'\t', codec, schema, sink)
}

/// Writes delimited rows.
struct CsvWriter {
    sink: StreamSink,
    delimiter: u8,
    schema: SchemaRef,
    header_written: bool,
    buf: Vec<u8>,
}

impl CsvWriter {
    fn boxed(
        delimiter: u8,
        codec: &str,
        schema: SchemaRef,
        sink: Box<dyn Sink>,
    ) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
        Ok(Box::new(CsvWriter {
            sink: stream_sink(codec, sink)?,
            delimiter,
            schema,
            header_written: false,
            buf: Vec::with_capacity(1 << 20),
        }))
    }

    /// Renders `batch` (after the header, the first time) into `self.buf`.
    fn render(&mut self, batch: &RecordBatch) -> Result<()> {
        let delimiter = self.delimiter;
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

impl FormatWriter<Box<dyn Sink>> for CsvWriter {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.render(batch)?;
        self.sink.write_all(&self.buf).map_err(sink_err)
    }

    fn bytes_written(&self) -> u64 {
        self.sink.get_ref().count()
    }

    fn finish(mut self: Box<Self>) -> Result<Box<dyn Sink>> {
        if !self.header_written {
            // Header only.
            let empty = RecordBatch::new_empty(Arc::clone(&self.schema));
            self.render(&empty)?;
            let buf = std::mem::take(&mut self.buf);
            self.sink.write_all(&buf).map_err(sink_err)?;
        }
        let counting = self.sink.finish().map_err(sink_err)?;
        Ok(counting.into_inner())
    }
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

fn csv_field_nonempty(out: &mut Vec<u8>, s: &str, delimiter: u8) {
    if s.is_empty() {
        return;
    }
    csv_field(out, s, delimiter);
}
