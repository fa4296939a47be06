//! The readers over random-access bytes: [`read_parquet`] (sync, any `ChunkReader`),
//! [`read_parquet_async`] (any `AsyncFileReader`), and the registry's constructors.

use std::io::Read;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{Schema, SchemaRef};
use arrow::error::ArrowError;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use lakeport_protocol::panics::catch_panic;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

use super::footer::{decode_repaired, with_measured_chunk_sizes};
use super::metadata::{arrow_metadata, perr};
use super::projection::configure;
use crate::error::{Error, Result};
use crate::formats::conform::{conform, drop_rows, with_nulled};
use crate::formats::options::{OnBadRecord, ReadOptions};
use crate::formats::reader::{BatchReader, Warnings};

/// A synchronous Parquet batch reader.
pub struct ParquetReader {
    file: String,
    /// Rows the file holds (without filters), checked against the rows decoded.
    expected_rows: Option<u64>,
    decoded_rows: u64,
    inner: ParquetRecordBatchReader,
    schema: SchemaRef,
    target: Option<SchemaRef>,
    on_bad: OnBadRecord,
    warnings: Warnings,
    done: bool,
}

/// Opens a Parquet file from anything with random access (`std::fs::File`, `bytes::Bytes`, …):
/// the footer is read, then only the projected column chunks of the row groups not excluded
/// by `opts.parquet_filters`.
pub fn read_parquet<T: ChunkReader + 'static>(
    file: &str,
    reader: T,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<ParquetReader> {
    // The Parquet crate asserts on some malformed files: a panic is the file's error.
    let (inner, schema, expected_rows) = catch_panic(|| -> Result<_> {
        let builder = sync_builder(file, reader)?;
        let (builder, schema) = configure(file, builder, opts, target.as_ref())?;
        let expected_rows = expected_rows(builder.metadata(), opts);
        Ok((builder.build().map_err(|e| perr(file, e))?, schema, expected_rows))
    })
    .map_err(|p| perr(file, format!("metadata the Parquet reader rejects: {p}")))??;
    Ok(ParquetReader {
        file: file.to_string(),
        expected_rows,
        decoded_rows: 0,
        inner,
        schema: target.clone().unwrap_or(schema),
        target,
        on_bad: opts.on_bad_record,
        warnings: Warnings::default(),
        done: false,
    })
}

/// A reader builder over `reader` with [`arrow_metadata`]'s schema.
fn sync_builder<T: ChunkReader + 'static>(file: &str, reader: T) -> Result<ParquetRecordBatchReaderBuilder<T>> {
    let metadata = match ArrowReaderMetadata::load(&reader, ArrowReaderOptions::new()) {
        Ok(m) => Arc::clone(m.metadata()),
        Err(e) => Arc::new(repaired_sync(&reader).ok_or_else(|| perr(file, e))?),
    };
    let metadata = with_measured_chunk_sizes(metadata, reader.len(), |at, len| reader.get_bytes(at, len).ok());
    let metadata = arrow_metadata(file, metadata)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(reader, metadata))
}

/// The footer of `reader` repaired ([`decode_repaired`]), when the parquet crate refused it.
fn repaired_sync<T: ChunkReader>(reader: &T) -> Option<ParquetMetaData> {
    let len = reader.len();
    let tail = reader.get_bytes(len.checked_sub(8)?, 8).ok()?;
    let footer_len = u64::from(u32::from_le_bytes(tail.get(..4)?.try_into().ok()?));
    let footer = reader
        .get_bytes(len.checked_sub(8 + footer_len)?, usize::try_from(footer_len).ok()?)
        .ok()?;
    decode_repaired(&footer)
}

/// The Arrow schema of a Parquet file (reads the footer only).
pub fn parquet_schema<T: ChunkReader + 'static>(file: &str, reader: T) -> Result<Schema> {
    catch_panic(|| {
        let builder = sync_builder(file, reader)?;
        Ok(builder.schema().as_ref().clone())
    })
    .map_err(|p| perr(file, format!("metadata the Parquet reader rejects: {p}")))?
}

/// The rows a read without filters must decode: every row group's rows.
pub(super) fn expected_rows(metadata: &ParquetMetaData, opts: &ReadOptions) -> Option<u64> {
    opts.parquet_filters.is_empty().then(|| {
        metadata
            .row_groups()
            .iter()
            .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0))
            .sum()
    })
}

/// A read that ends with fewer (or more) rows than the file's metadata holds is an error: a
/// source never reports a file complete having emitted fewer rows than it holds.
pub(super) fn check_row_count(file: &str, expected: Option<u64>, decoded: u64) -> Result<()> {
    match expected {
        Some(n) if n != decoded => Err(Error::format(
            file,
            format!(
                "the file's metadata says it holds {n} rows but {decoded} could be decoded; the file is damaged or \
                 uses a layout this reader does not support: nothing of it should be trusted"
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) fn finish_batch(
    file: &str,
    batch: RecordBatch,
    target: Option<&SchemaRef>,
    on_bad: OnBadRecord,
    warnings: &mut Warnings,
) -> Result<RecordBatch> {
    let Some(t) = target else {
        return Ok(batch);
    };
    let c = conform(&batch, t).map_err(|e| Error::format(file, e.to_string()))?;
    if let Some(first) = c.bad.first() {
        let msg = format!(
            "value {} in column '{}' cannot be read as {}",
            first.value,
            first.column,
            crate::schema::kind_name(&first.target)
        );
        match on_bad {
            OnBadRecord::Fail => return Err(Error::format(file, msg)),
            OnBadRecord::Emit => {
                warnings.push(format!(
                    "{file}: emitted {} row(s) with a value that does not fit the schema as null, first: {msg}",
                    c.bad.len()
                ));
                return with_nulled(&c.batch, c.bad.iter().map(|b| (b.row, b.column.as_str())));
            }
            OnBadRecord::Skip => {
                warnings.push(format!("{file}: skipped {} row(s), first: {msg}", c.bad.len()));
                let rows: Vec<usize> = c.bad.iter().map(|b| b.row).collect();
                return drop_rows(&c.batch, &rows);
            }
        }
    }
    Ok(c.batch)
}

impl Iterator for ParquetReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = catch_panic(|| self.inner.next()).unwrap_or_else(|p| {
            Some(Err(ArrowError::ParquetError(format!(
                "the file is not valid Parquet: its pages are malformed ({p})"
            ))))
        });
        let r = match next {
            Some(Ok(b)) => {
                self.decoded_rows += b.num_rows() as u64;
                finish_batch(&self.file, b, self.target.as_ref(), self.on_bad, &mut self.warnings)
            }
            Some(Err(e)) => Err(perr(&self.file, e)),
            None => {
                self.done = true;
                return check_row_count(&self.file, self.expected_rows, self.decoded_rows)
                    .err()
                    .map(Err);
            }
        };
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}

impl BatchReader for ParquetReader {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.warnings.take()
    }
}

/// Opens a Parquet file through ranged reads (`AsyncFileReader`: e.g. S3 GETs with
/// `Range`): the footer first, then only the needed column chunks. Returns the output schema
/// and a stream of batches. Warnings about skipped rows are returned as `Err` items only
/// when `on_bad_record` is `Fail`; skipped rows are dropped silently otherwise.
pub async fn read_parquet_async<T>(
    file: &str,
    reader: T,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<(SchemaRef, BoxStream<'static, Result<RecordBatch>>)>
where
    T: AsyncFileReader + Unpin + Send + 'static,
{
    let mut reader = reader;
    let metadata = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new())
        .await
        .map_err(|e| perr(file, e))?;
    let metadata = arrow_metadata(file, Arc::clone(metadata.metadata()))?;
    let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata);
    let (builder, schema) = configure(file, builder, opts, target.as_ref())?;
    let stream = builder.build().map_err(|e| perr(file, e))?;
    let name = file.to_string();
    let on_bad = opts.on_bad_record;
    let out_schema = target.clone().unwrap_or(schema);
    let stream = stream
        .map(move |r| {
            let mut w = Warnings::default();
            match r {
                Ok(b) => finish_batch(&name, b, target.as_ref(), on_bad, &mut w),
                Err(e) => Err(perr(&name, e)),
            }
        })
        .boxed();
    Ok((out_schema, stream))
}

/// The registry's reader of a Parquet stream: it needs random access, so the stream is
/// buffered whole in memory (prefer [`read_parquet`] or [`read_parquet_ranged`]).
pub(in crate::formats) fn open_stream<'a>(
    file: &str,
    mut input: Box<dyn std::io::Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    let mut buf = Vec::new();
    input
        .read_to_end(&mut buf)
        .map_err(|e| Error::format(file, e.to_string()))?;
    Ok(Box::new(read_parquet(file, Bytes::from(buf), opts, target)?))
}

/// The registry's reader of a local Parquet file: footer, then the needed column chunks.
pub(in crate::formats) fn open_file(
    file: &str,
    input: std::fs::File,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    Ok(Box::new(read_parquet(file, input, opts, target)?))
}

#[cfg(test)]
mod tests {
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::DataType;
    use bytes::Bytes;
    use parquet::file::metadata::{FileMetaData, ParquetMetaDataBuilder};

    use super::super::metadata::with_row_count_of_row_groups;
    use super::*;

    fn three_rows() -> Bytes {
        let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2, 3])) as ArrayRef)]).unwrap();
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        Bytes::from(buf)
    }

    #[test]
    fn a_read_ending_with_fewer_rows_than_the_row_groups_hold_is_an_error() {
        let e = check_row_count("f.parquet", Some(6), 0).unwrap_err().to_string();
        assert!(e.contains("holds 6 rows but 0 could be decoded"), "{e}");
        assert!(check_row_count("f.parquet", Some(6), 6).is_ok());
        // With filters the count is not known in advance.
        assert!(check_row_count("f.parquet", None, 0).is_ok());
    }

    #[test]
    fn a_target_naming_no_column_of_the_file_still_gives_every_row() {
        let target = Arc::new(Schema::new(vec![arrow::datatypes::Field::new(
            "zzz",
            DataType::Utf8,
            true,
        )]));
        let reader = read_parquet("f.parquet", three_rows(), &ReadOptions::default(), Some(target)).unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 3);
    }

    #[test]
    fn a_footer_row_count_that_disagrees_with_the_row_groups_takes_theirs() {
        let md = ArrowReaderMetadata::load(&three_rows(), ArrowReaderOptions::new()).unwrap();
        let md = md.metadata();
        let fm = md.file_metadata();
        let lying = FileMetaData::new(fm.version(), 0, None, None, fm.schema_descr_ptr(), None);
        let lying = Arc::new(
            ParquetMetaDataBuilder::new(lying)
                .set_row_groups(md.row_groups().to_vec())
                .build(),
        );
        let fixed = with_row_count_of_row_groups(lying);
        assert_eq!(fixed.file_metadata().num_rows(), 3);
        let opts = ReadOptions::default();
        let reader = read_parquet("f.parquet", three_rows(), &opts, None).unwrap();
        let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(rows, 3);
    }
}
