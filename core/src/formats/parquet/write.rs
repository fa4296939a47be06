//! The Parquet writer (`ArrowWriter` with a codec and a row-group size).

use std::io::Write;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression as PqCompression, GzipLevel, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
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
/// of `opts.row_group_rows` rows, `opts.distinct_columns` without a dictionary, nor the
/// columns the first batch shows to be mostly distinct ([`mostly_distinct`]).
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
    Ok(Box::new(ParquetWriter {
        inner: None,
        pending: Some((CountingWriter::new(sink), schema, props)),
    }))
}

/// Rows of the first batch looked at to judge a column's distinctness; a first batch
/// of fewer rows judges nothing (every column keeps its dictionary).
const DISTINCT_SAMPLE: usize = 4096;

/// Whether a top-level integer, float or string column holds mostly distinct values (more than
/// half of the first [`DISTINCT_SAMPLE`] non-null ones): a dictionary of it would only be
/// built to be dropped once it outgrows its page, row group after row group.
fn mostly_distinct(column: &dyn Array) -> bool {
    use DataType as D;
    let n = column.len();
    if n < DISTINCT_SAMPLE {
        return false;
    }
    let data = column.to_data();
    let rows = (0..DISTINCT_SAMPLE).filter(|&i| column.is_valid(i));
    let (distinct, present) = match column.data_type() {
        D::Int64 | D::Timestamp(..) | D::Date64 | D::Time64(_) => distinct_of(rows.map(|i| data.buffer::<i64>(0)[i])),
        D::Int32 | D::Date32 | D::Time32(_) => distinct_of(rows.map(|i| data.buffer::<i32>(0)[i])),
        // Floats by their bits (a heuristic: -0.0 and 0.0 count twice, NaNs of one pattern once).
        D::Float64 => distinct_of(rows.map(|i| data.buffer::<u64>(0)[i])),
        D::Float32 => distinct_of(rows.map(|i| data.buffer::<u32>(0)[i])),
        D::Utf8 => {
            let a = column.as_string::<i32>();
            distinct_of(rows.map(|i| a.value(i)))
        }
        _ => return false,
    };
    distinct * 2 > present
}

/// How many distinct values `values` holds, and how many values.
fn distinct_of<T: std::hash::Hash + Eq>(values: impl Iterator<Item = T>) -> (usize, usize) {
    let mut set = std::collections::HashSet::with_capacity(DISTINCT_SAMPLE);
    let mut count = 0;
    for v in values {
        set.insert(v);
        count += 1;
    }
    (set.len(), count)
}

/// Writes row groups through `ArrowWriter`, opened at the first batch (or at the end).
struct ParquetWriter<W: Write + Send> {
    inner: Option<ArrowWriter<CountingWriter<W>>>,
    /// The sink, schema and properties until the writer is opened.
    pending: Option<(CountingWriter<W>, SchemaRef, WriterPropertiesBuilder)>,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// The writer, opened with `first` (when given) judging which columns are mostly distinct.
    fn open(&mut self, first: Option<&RecordBatch>) -> Result<&mut ArrowWriter<CountingWriter<W>>> {
        if let Some((sink, schema, mut props)) = self.pending.take() {
            if let Some(batch) = first {
                for (field, column) in schema.fields().iter().zip(batch.columns()) {
                    if mostly_distinct(column.as_ref()) {
                        props = props.set_column_dictionary_enabled(ColumnPath::from(field.name().as_str()), false);
                    }
                }
            }
            self.inner = Some(ArrowWriter::try_new(sink, schema, Some(props.build())).map_err(werr)?);
        }
        self.inner
            .as_mut()
            .ok_or_else(|| Error::Internal("the Parquet writer is gone".into()))
    }
}

impl<W: Write + Send> FormatWriter<W> for ParquetWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.open(Some(batch))?.write(batch).map_err(pq_err)
    }

    fn bytes_written(&self) -> u64 {
        self.inner.as_ref().map_or(0, |w| w.bytes_written() as u64)
    }

    fn buffered_bytes(&self) -> u64 {
        self.inner.as_ref().map_or(0, |w| w.in_progress_size() as u64)
    }

    fn finish(mut self: Box<Self>) -> Result<W> {
        self.open(None)?;
        let Some(inner) = self.inner.take() else {
            return Err(Error::Internal("the Parquet writer is gone".into()));
        };
        let mut w = inner.into_inner().map_err(pq_err)?;
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

    /// Columns the first batch shows mostly distinct are written without a dictionary, the
    /// others keep theirs; the values read back are the ones written.
    #[test]
    fn mostly_distinct_columns_of_the_first_batch_have_no_dictionary() {
        use arrow::array::{ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, TimestampMicrosecondArray};
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let n = 10_000;
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("id", Arc::new(Int64Array::from_iter_values(0..n))),
            (
                "name",
                Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("user-{i}")))),
            ),
            (
                "at",
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    (0..n).map(|i| i * 1_000_000),
                )),
            ),
            (
                "few",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| ["FR", "DE"][i as usize % 2]),
                )),
            ),
            (
                "small",
                Arc::new(Int32Array::from_iter_values((0..n).map(|i| (i % 7) as i32))),
            ),
            // Half distinct, half null: its present values are all distinct.
            (
                "sparse",
                Arc::new(Int64Array::from_iter((0..n).map(|i| (i % 2 == 0).then_some(i)))),
            ),
            (
                "score",
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 * 0.001))),
            ),
            (
                "ratio",
                Arc::new(Float32Array::from_iter(
                    (0..n).map(|i| (i % 3 != 0).then_some(i as f32 / 7.0)),
                )),
            ),
            (
                "price",
                Arc::new(Float64Array::from_iter_values(
                    (0..n).map(|i| [1.5, 2.5, f64::NAN][i as usize % 3]),
                )),
            ),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut w = new_writer(
            FileFormat::Parquet,
            "snappy",
            batch.schema(),
            Vec::new(),
            &WriteOptions::default(),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.write(&batch.slice(0, 100)).unwrap();
        let file = bytes::Bytes::from(w.finish().unwrap());
        let reader = SerializedFileReader::new(file.clone()).unwrap();
        let group = reader.metadata().row_group(0);
        let dictionary = |c: usize| group.column(c).encodings().any(|e| e == Encoding::RLE_DICTIONARY);
        assert_eq!(
            (0..9).map(dictionary).collect::<Vec<_>>(),
            [false, false, false, true, true, false, false, false, true]
        );
        let back: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap();
        let back = arrow::compute::concat_batches(&back[0].schema(), &back).unwrap();
        let want = arrow::compute::concat_batches(&batch.schema(), &[batch.clone(), batch.slice(0, 100)]).unwrap();
        assert_eq!(back, want);
    }

    /// A file finished before any batch is a valid empty file of the schema.
    #[test]
    fn a_file_without_batches_is_an_empty_file() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
        let w = new_writer(
            FileFormat::Parquet,
            "snappy",
            Arc::clone(&schema),
            Vec::new(),
            &WriteOptions::default(),
        )
        .unwrap();
        let file = bytes::Bytes::from(w.finish().unwrap());
        let reader = SerializedFileReader::new(file).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
        assert_eq!(reader.metadata().file_metadata().schema_descr().column(0).name(), "a");
    }
}
