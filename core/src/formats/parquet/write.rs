//! The Parquet writer (`ArrowWriter` with a codec and a row-group size).

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression as PqCompression, GzipLevel, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::error::{Error, Result};
use crate::formats::writer::{sink_err, werr, CountingWriter, FormatWriter, Sink, WriteOptions};

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

/// [`werr`] for Parquet, keeping the output's own I/O error.
fn pq_err(e: ParquetError) -> Error {
    match e {
        ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => sink_err(*io),
            Err(other) => werr(other),
        },
        other => werr(other),
    }
}

/// The registry's writer of Parquet: `codec` as [`parse_parquet_codec`] reads it, row groups
/// of `opts.row_group_rows` rows, `opts.distinct_columns` without a dictionary.
pub(in crate::formats) fn new_parquet_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    let mut props = WriterProperties::builder()
        .set_compression(parse_parquet_codec(codec)?)
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)));
    for column in &opts.distinct_columns {
        props = props.set_column_dictionary_enabled(ColumnPath::from(column.as_str()), false);
    }
    let props = props.build();
    let w = ArrowWriter::try_new(CountingWriter::new(sink), schema, Some(props)).map_err(werr)?;
    Ok(Box::new(ParquetWriter { inner: w }))
}

/// Writes row groups through `ArrowWriter`.
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::basic::Encoding;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    use super::*;
    use crate::formats::{new_writer, FileFormat};

    /// A distinct column is written without a dictionary, the others keep theirs.
    #[test]
    fn distinct_columns_have_no_dictionary() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        let ids = StringArray::from_iter_values((0..100).map(|i| format!("id-{i}")));
        let vs = StringArray::from_iter_values((0..100).map(|i| format!("v-{}", i % 3)));
        let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(ids), Arc::new(vs)]).unwrap();
        let opts = WriteOptions {
            distinct_columns: vec!["id".into()],
            ..WriteOptions::default()
        };
        let mut w = new_writer(FileFormat::Parquet, "snappy", schema, Vec::new(), &opts).unwrap();
        w.write(&batch).unwrap();
        let file = bytes::Bytes::from(w.finish().unwrap());
        let reader = SerializedFileReader::new(file).unwrap();
        let group = reader.metadata().row_group(0);
        let encodings = |c: usize| group.column(c).encodings().collect::<Vec<_>>();
        assert!(!encodings(0).contains(&Encoding::RLE_DICTIONARY), "{:?}", encodings(0));
        assert!(encodings(1).contains(&Encoding::RLE_DICTIONARY), "{:?}", encodings(1));
    }
}
