//! The CSV/TSV writer: a header row, fields quoted when needed (empty strings quoted so
//! they differ from nulls), CRLF line ends, a stream codec around the whole file.

use std::io::Write;
use std::sync::Arc;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::SchemaRef;

use super::fields::{csv_column, csv_field};
use crate::error::Result;
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
                csv_field(&mut self.buf, f.name().as_bytes(), delimiter);
            }
            self.buf.extend_from_slice(b"\r\n");
        }
        let mut owned: Vec<Option<StringArray>> = vec![None; batch.num_columns()];
        let columns = batch
            .columns()
            .iter()
            .zip(owned.iter_mut())
            .map(|(c, o)| csv_column(c, delimiter, o))
            .collect::<Result<Vec<_>>>()?;
        let out = &mut self.buf;
        for i in 0..batch.num_rows() {
            for (j, c) in columns.iter().enumerate() {
                if j > 0 {
                    out.push(delimiter);
                }
                c.write(i, out);
            }
            out.extend_from_slice(b"\r\n");
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
