//! Parquet reader (sync over any `ChunkReader`, async over any `AsyncFileReader` for ranged
//! reads) with projection and filter pushdown: row groups whose statistics exclude a filter
//! are skipped, then rows are filtered.
//!
//! [`read_parquet_ranged`] is the reader for object stores: it plans the byte ranges the
//! decoder will need, coalesces nearby ranges into few requests, and fetches the next row
//! groups while the current one decodes (a bounded read-ahead), so a remote object reads
//! about as fast as a local file while memory stays flat.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use arrow::array::{Array, ArrayRef, BooleanArray, Datum, RecordBatch, Scalar};
use arrow::compute::kernels::cmp;
use arrow::datatypes::{DataType, Fields, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, Stream, StreamExt};
use futures::FutureExt;
use lakeport_protocol::panics::catch_panic;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowPredicate, ArrowPredicateFn, ArrowReaderBuilder, ArrowReaderMetadata, ArrowReaderOptions,
    ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::push_decoder::{ParquetPushDecoder, ParquetPushDecoderBuilder, PlannedRange, ScanPlan};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{BrotliLevel, Compression as PqCompression, GzipLevel, Type as PhysicalType, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{
    FileMetaData, PageIndexPolicy, ParquetMetaData, ParquetMetaDataBuilder, ParquetMetaDataPushDecoder,
};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::ChunkReader;
use parquet::schema::types::TypePtr;
use parquet::DecodeResult;
use serde_json::Value as JsonValue;

use super::conform::{conform, drop_rows, with_nulled};
use super::options::{ColumnFilter, FilterOp, OnBadRecord, ReadOptions};
use super::writer::{pq_err, sink_err, werr, CountingWriter, FormatWriter, Sink, WriteOptions};
use super::{BatchReader, Warnings};
use crate::error::{Error, Result};
use crate::task::AbortOnDrop;

fn perr(file: &str, e: impl std::fmt::Display) -> Error {
    let msg = e.to_string();
    if msg.contains("magic") || msg.contains("footer") || msg.contains("metadata") {
        Error::format(
            file,
            format!("the file is not valid Parquet ({msg}); check the file format and that the upload is complete"),
        )
    } else {
        Error::format(file, msg)
    }
}

/// Arrow reader metadata for a file: its schema as the parquet crate maps it, except INT96
/// timestamps, which are read at microsecond resolution. INT96 (Impala, Hive, Spark) holds
/// nanoseconds within a day plus a Julian day; as an `i64` of nanoseconds it overflows past
/// 2262 (Spark writes `9999-12-31`), while microseconds cover every year a reader meets —
/// as pyarrow's `coerce_int96_timestamp_unit="us"` and Spark itself do.
///
/// A footer whose row count disagrees with its row groups' (old writers left 0 there) is
/// taken at its row groups' word: the decoder reads no more rows than the footer says.
pub(crate) fn arrow_metadata(file: &str, metadata: Arc<ParquetMetaData>) -> Result<ArrowReaderMetadata> {
    let metadata = with_row_count_of_row_groups(metadata);
    let plain =
        ArrowReaderMetadata::try_new(Arc::clone(&metadata), ArrowReaderOptions::new()).map_err(|e| perr(file, e))?;
    let descr = metadata.file_metadata().schema_descr_ptr();
    if !descr.columns().iter().any(|c| c.physical_type() == PhysicalType::INT96) {
        return Ok(plain);
    }
    let fields = int96_as_micros(plain.schema().fields(), descr.root_schema().get_fields());
    let hinted = Arc::new(Schema::new_with_metadata(fields, plain.schema().metadata().clone()));
    ArrowReaderMetadata::try_new(metadata, ArrowReaderOptions::new().with_schema(hinted)).map_err(|e| perr(file, e))
}

/// `metadata` with the file's row count set to the sum of its row groups' when they differ.
fn with_row_count_of_row_groups(metadata: Arc<ParquetMetaData>) -> Arc<ParquetMetaData> {
    let rows: i64 = metadata.row_groups().iter().map(|rg| rg.num_rows()).sum();
    let fm = metadata.file_metadata();
    if fm.num_rows() == rows {
        return metadata;
    }
    let fixed = FileMetaData::new(
        fm.version(),
        rows,
        fm.created_by().map(str::to_string),
        fm.key_value_metadata().cloned(),
        fm.schema_descr_ptr(),
        fm.column_orders().cloned(),
    );
    Arc::new(
        ParquetMetaDataBuilder::new(fixed)
            .set_row_groups(metadata.row_groups().to_vec())
            .build(),
    )
}

/// `fields` with the timestamps of INT96 columns (top level or in structs) in microseconds.
fn int96_as_micros(fields: &Fields, parquet: &[TypePtr]) -> Fields {
    fields
        .iter()
        .map(|f| {
            let leaf = parquet.iter().find(|p| p.name() == f.name());
            let dt = match (f.data_type(), leaf) {
                (DataType::Timestamp(TimeUnit::Nanosecond, tz), Some(p))
                    if p.is_primitive() && p.get_physical_type() == PhysicalType::INT96 =>
                {
                    DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
                }
                (DataType::Struct(children), Some(p)) if p.is_group() => {
                    DataType::Struct(int96_as_micros(children, p.get_fields()))
                }
                (dt, _) => dt.clone(),
            };
            Arc::new(f.as_ref().clone().with_data_type(dt))
        })
        .collect()
}

/// A single-row array holding `value` cast to `dt`.
fn scalar_array(value: &JsonValue, dt: &DataType) -> std::result::Result<ArrayRef, String> {
    let raw: ArrayRef = match value {
        JsonValue::Bool(b) => Arc::new(BooleanArray::from(vec![*b])),
        JsonValue::Number(n) => match n.as_i64() {
            Some(i) if !matches!(dt, DataType::Float16 | DataType::Float32 | DataType::Float64) => {
                Arc::new(arrow::array::Int64Array::from(vec![i]))
            }
            _ => Arc::new(arrow::array::Float64Array::from(vec![n.as_f64().unwrap_or(f64::NAN)])),
        },
        JsonValue::String(s) => Arc::new(arrow::array::StringArray::from(vec![s.as_str()])),
        other => return Err(format!("filter value {other} must be a string, number or boolean")),
    };
    let dt = match dt {
        DataType::Dictionary(_, v) => v.as_ref(),
        d => d,
    };
    let out = arrow::compute::cast_with_options(
        &raw,
        dt,
        &arrow::compute::CastOptions {
            safe: false,
            ..Default::default()
        },
    )
    .map_err(|e| format!("filter value {value} cannot be compared with a {dt} column: {e}"))?;
    Ok(out)
}

/// The values a filter compares with (one for most ops, several for `in`).
fn filter_scalars(f: &ColumnFilter, dt: &DataType) -> std::result::Result<Vec<ArrayRef>, String> {
    match (&f.op, &f.value) {
        (FilterOp::In, JsonValue::Array(vs)) => vs.iter().map(|v| scalar_array(v, dt)).collect(),
        (_, v) => Ok(vec![scalar_array(v, dt)?]),
    }
}

fn cmp_op(op: FilterOp, l: &dyn Datum, r: &dyn Datum) -> std::result::Result<BooleanArray, ArrowError> {
    match op {
        FilterOp::Eq | FilterOp::In => cmp::eq(l, r),
        FilterOp::NotEq => cmp::neq(l, r),
        FilterOp::Lt => cmp::lt(l, r),
        FilterOp::LtEq => cmp::lt_eq(l, r),
        FilterOp::Gt => cmp::gt(l, r),
        FilterOp::GtEq => cmp::gt_eq(l, r),
    }
}

/// Evaluates a filter over a column: true where the row passes.
fn eval_filter(col: &dyn Array, op: FilterOp, values: &[ArrayRef]) -> std::result::Result<BooleanArray, ArrowError> {
    let col: ArrayRef = arrow::array::make_array(col.to_data());
    let col: ArrayRef = match col.data_type() {
        DataType::Dictionary(_, v) => arrow::compute::cast(&col, v)?,
        _ => col,
    };
    let mut acc: Option<BooleanArray> = None;
    for v in values {
        let r = cmp_op(op, &col, &Scalar::new(v.clone()))?;
        acc = Some(match acc {
            None => r,
            Some(a) => arrow::compute::or(&a, &r)?,
        });
    }
    Ok(acc.unwrap_or_else(|| BooleanArray::from(vec![false; col.len()])))
}

/// For each row group, whether its statistics prove no row can pass `f` (false when unknown).
fn excluded_by_stats(
    mins: &ArrayRef,
    maxes: &ArrayRef,
    op: FilterOp,
    values: &[ArrayRef],
) -> std::result::Result<Vec<bool>, ArrowError> {
    let n = mins.len();
    let truthy = |a: &BooleanArray, i: usize| a.is_valid(i) && a.value(i);
    let mut out = vec![op == FilterOp::In || op == FilterOp::Eq; n];
    if op == FilterOp::In || op == FilterOp::Eq {
        // Excluded when every value lies outside [min, max].
        for v in values {
            let s = Scalar::new(v.clone());
            let below = cmp::gt(mins, &s)?; // min > v
            let above = cmp::lt(maxes, &s)?; // max < v
            for (i, o) in out.iter_mut().enumerate() {
                if !(truthy(&below, i) || truthy(&above, i)) {
                    *o = false;
                }
            }
        }
        return Ok(out);
    }
    let v = match values.first() {
        Some(v) => Scalar::new(v.clone()),
        None => return Ok(vec![false; n]),
    };
    let ex = match op {
        FilterOp::Lt => cmp::gt_eq(mins, &v)?,
        FilterOp::LtEq => cmp::gt(mins, &v)?,
        FilterOp::Gt => cmp::lt_eq(maxes, &v)?,
        FilterOp::GtEq => cmp::lt(maxes, &v)?,
        FilterOp::NotEq => {
            let a = cmp::eq(mins, &v)?;
            let b = cmp::eq(maxes, &v)?;
            arrow::compute::and(&a, &b)?
        }
        FilterOp::Eq | FilterOp::In => unreachable_eq(n),
    };
    for (i, o) in out.iter_mut().enumerate() {
        *o = truthy(&ex, i);
    }
    Ok(out)
}

fn unreachable_eq(n: usize) -> BooleanArray {
    BooleanArray::from(vec![false; n])
}

/// Applies projection, row-group pruning and row filters to a reader builder.
fn configure<T>(
    file: &str,
    mut builder: ArrowReaderBuilder<T>,
    opts: &ReadOptions,
    target: Option<&SchemaRef>,
) -> Result<(ArrowReaderBuilder<T>, SchemaRef)> {
    let arrow_schema = builder.schema().clone();
    let metadata = builder.metadata().clone();
    let parquet_schema_ptr = metadata.file_metadata().schema_descr_ptr();
    let parquet_schema = parquet_schema_ptr.as_ref();
    let names: Vec<String> = arrow_schema.fields().iter().map(|f| f.name().clone()).collect();

    // Projection: requested columns, else the target's columns present in the file, else all.
    let wanted: Option<Vec<usize>> = match (&opts.parquet_columns, target) {
        (Some(cols), _) => {
            let mut idx = vec![];
            for c in cols {
                match names.iter().position(|n| n == c) {
                    Some(i) => idx.push(i),
                    None => {
                        return Err(Error::Config(format!(
                            "parquet_columns names '{c}', which {file} does not have; its columns are: {}",
                            names.join(", ")
                        )))
                    }
                }
            }
            Some(idx)
        }
        (None, Some(t)) => Some(
            names
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    t.fields()
                        .iter()
                        .any(|f| f.name() == *n || f.name().eq_ignore_ascii_case(n))
                })
                .map(|(i, _)| i)
                .collect(),
        ),
        (None, None) => None,
    };
    let out_schema: SchemaRef = match &wanted {
        Some(idx) => {
            let mut idx = idx.clone();
            idx.sort_unstable();
            idx.dedup();
            let mask = ProjectionMask::roots(parquet_schema, idx.iter().copied());
            builder = builder.with_projection(mask);
            Arc::new(arrow_schema.project(&idx).map_err(|e| perr(file, e))?)
        }
        None => arrow_schema.clone(),
    };

    if !opts.parquet_filters.is_empty() {
        let row_groups = metadata.row_groups();
        let mut keep = vec![true; row_groups.len()];
        let mut predicates: Vec<Box<dyn ArrowPredicate>> = vec![];
        for f in &opts.parquet_filters {
            let Some(ci) = names.iter().position(|n| n == &f.column) else {
                return Err(Error::Config(format!(
                    "parquet_filters names column '{}', which {file} does not have; its columns are: {}",
                    f.column,
                    names.join(", ")
                )));
            };
            let dt = arrow_schema.field(ci).data_type().clone();
            let values = filter_scalars(f, &dt).map_err(Error::Config)?;
            if let Ok(conv) = StatisticsConverter::try_new(&f.column, &arrow_schema, parquet_schema) {
                if let (Ok(mins), Ok(maxes)) = (
                    conv.row_group_mins(row_groups.iter()),
                    conv.row_group_maxes(row_groups.iter()),
                ) {
                    if let Ok(ex) = excluded_by_stats(&mins, &maxes, f.op, &values) {
                        for (k, e) in keep.iter_mut().zip(ex) {
                            if e {
                                *k = false;
                            }
                        }
                    }
                }
            }
            let op = f.op;
            let mask = ProjectionMask::roots(parquet_schema, [ci]);
            predicates.push(Box::new(ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
                let r = eval_filter(batch.column(0).as_ref(), op, &values)?;
                // Nulls never pass.
                Ok(match r.nulls() {
                    Some(_) => arrow::compute::prep_null_mask_filter(&r),
                    None => r,
                })
            })));
        }
        let selected: Vec<usize> = keep.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect();
        builder = builder
            .with_row_groups(selected)
            .with_row_filter(RowFilter::new(predicates));
    }
    Ok((builder.with_batch_size(opts.batch_size), out_schema))
}

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
    let metadata = ArrowReaderMetadata::load(&reader, ArrowReaderOptions::new()).map_err(|e| perr(file, e))?;
    let metadata = arrow_metadata(file, Arc::clone(metadata.metadata()))?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(reader, metadata))
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
fn expected_rows(metadata: &ParquetMetaData, opts: &ReadOptions) -> Option<u64> {
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
fn check_row_count(file: &str, expected: Option<u64>, decoded: u64) -> Result<()> {
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

fn finish_batch(
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

/// Bytes the Parquet reader fetches from the end of an object with the footer (the
/// cost model counts them too).
pub const PARQUET_FOOTER_PREFETCH: u64 = 64 * 1024;

/// Ranges closer than this are fetched by one request (as `object_store`'s `get_ranges`).
pub const COALESCE_GAP_BYTES: u64 = 1024 * 1024;

/// Row groups are fetched together until a fetch holds at least this many bytes.
pub const MIN_FETCH_BYTES: u64 = 4 * 1024 * 1024;

/// How [`read_parquet_ranged`] fetches an object: the footer, then the planned byte ranges
/// of the projected column chunks, coalesced and read ahead of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangedReadOptions {
    /// Bytes fetched from the end of the object with the footer. Data that falls within them
    /// (all of a small file) is not fetched again.
    pub footer_prefetch: u64,
    /// Ranges separated by at most this many bytes are fetched by one request (the bytes
    /// in between are read and dropped), as `object_store`'s `get_ranges` does — unless
    /// the hole is larger than the bytes it joins (see [`coalesce_ranges`]).
    pub coalesce_gap: u64,
    /// Consecutive row groups are fetched together until a fetch holds at least this many
    /// bytes, so files with many small row groups take few requests. A row group is never
    /// split between two fetches.
    pub min_fetch_bytes: u64,
    /// Fetches running or waiting ahead of the decoder (at least 1).
    pub prefetch_fetches: usize,
    /// Bytes of those fetches at most; one fetch ahead is always allowed, whatever its size.
    pub prefetch_bytes: u64,
    /// Ranged requests of one fetch in flight at once.
    pub concurrency: usize,
}

impl Default for RangedReadOptions {
    fn default() -> Self {
        RangedReadOptions {
            footer_prefetch: PARQUET_FOOTER_PREFETCH,
            coalesce_gap: COALESCE_GAP_BYTES,
            min_fetch_bytes: MIN_FETCH_BYTES,
            prefetch_fetches: 2,
            prefetch_bytes: 64 * 1024 * 1024,
            concurrency: 8,
        }
    }
}

/// A stream of Parquet batches read through ranged requests ([`read_parquet_ranged`]).
pub struct ParquetStream {
    schema: SchemaRef,
    inner: BoxStream<'static, Result<RecordBatch>>,
    warnings: Arc<Mutex<Warnings>>,
}

impl ParquetStream {
    /// The schema of the batches (the target's, when one was given).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Warnings collected so far (rows emitted as null or skipped per `on_bad_record`).
    pub fn take_warnings(&mut self) -> Vec<String> {
        match self.warnings.lock() {
            Ok(mut w) => w.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

impl Stream for ParquetStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for ParquetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Opens a `size`-byte Parquet object through ranged reads, for object stores:
///
/// 1. the footer: one request for the last `footer_prefetch` bytes (a second one only when
///    the metadata is larger);
/// 2. the byte ranges the decoder will read — only the projected column chunks of the row
///    groups `parquet_filters` does not prune — in decoding order, grouped into fetches of
///    whole row groups, nearby ranges coalesced into one request and the requests of a
///    fetch issued concurrently;
/// 3. while a row group decodes, the next fetches (at most `prefetch_fetches` and
///    `prefetch_bytes`) run on the tokio runtime, so memory stays flat however large the
///    object is.
///
/// A range the plan did not foresee is fetched when the decoder asks for it, so the result
/// never depends on the plan. Must be polled within a tokio runtime for the read-ahead to
/// run concurrently (without one, fetches run when polled). `reader` is cloned for every
/// fetch: it should be cheap to clone (a handle on a shared client).
pub async fn read_parquet_ranged<T>(
    file: &str,
    mut reader: T,
    size: u64,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
    ranged: RangedReadOptions,
) -> Result<ParquetStream>
where
    T: AsyncFileReader + Clone + Unpin + Send + 'static,
{
    let (metadata, tail) = load_metadata(file, &mut reader, size, ranged.footer_prefetch).await?;
    let reader_metadata = arrow_metadata(file, Arc::clone(&metadata))?;
    let builder = ParquetPushDecoderBuilder::new_with_metadata(reader_metadata);
    let (builder, schema) = configure(file, builder, opts, target.as_ref())?;
    let decoder = builder.build().map_err(|e| perr(file, e))?;
    let plan = decoder.scan_plan();
    let warnings = Arc::new(Mutex::new(Warnings::default()));
    let expected_rows = expected_rows(&metadata, opts);
    let mut state = RangedDecoder {
        file: file.to_string(),
        decoder,
        metadata,
        fetcher: Fetcher {
            reader,
            options: ranged,
            handle: tokio::runtime::Handle::try_current().ok(),
            planner: FetchPlanner::new(plan, tail.0.clone(), ranged),
            staged: None,
            ahead: VecDeque::new(),
            current: None,
            tail,
        },
        target: target.clone(),
        on_bad: opts.on_bad_record,
        warnings: Arc::clone(&warnings),
        done: false,
        expected_rows,
        decoded_rows: 0,
    };
    // Start fetching at once: the first row groups download while the caller sets up.
    state.fetcher.top_up();
    let inner = futures::stream::unfold(state, |mut state| async move {
        let item = state.next_batch().await?;
        Some((item, state))
    })
    .boxed();
    Ok(ParquetStream {
        schema: target.unwrap_or(schema),
        inner,
        warnings,
    })
}

/// Reads the footer and metadata of a `size`-byte object: one request for the last
/// `prefetch` bytes, another only if the metadata is longer. Returns the metadata and the
/// bytes of the first request (which may hold data of a small file).
async fn load_metadata<T: AsyncFileReader>(
    file: &str,
    reader: &mut T,
    size: u64,
    prefetch: u64,
) -> Result<(Arc<ParquetMetaData>, (Range<u64>, Bytes))> {
    let mut decoder = ParquetMetaDataPushDecoder::try_new(size)
        .map_err(|e| perr(file, format!("invalid footer: {e}")))?
        .with_page_index_policy(PageIndexPolicy::Skip);
    let tail_range = size.saturating_sub(prefetch.max(8))..size;
    let tail = reader
        .get_bytes(tail_range.clone())
        .await
        .map_err(|e| fetch_error(file, e))?;
    if tail.len() as u64 != tail_range.end - tail_range.start {
        return Err(short_read(file, &tail_range, tail.len()));
    }
    decoder
        .push_range(tail_range.clone(), tail.clone())
        .map_err(|e| perr(file, e))?;
    loop {
        match decoder.try_decode().map_err(|e| perr(file, e))? {
            DecodeResult::Data(metadata) => return Ok((Arc::new(metadata), (tail_range, tail))),
            DecodeResult::NeedsData(ranges) => {
                let data = reader
                    .get_byte_ranges(ranges.clone())
                    .await
                    .map_err(|e| fetch_error(file, e))?;
                decoder.push_ranges(ranges, data).map_err(|e| perr(file, e))?;
            }
            DecodeResult::Finished => return Err(perr(file, "the footer metadata could not be decoded")),
        }
    }
}

/// A failed request: a storage error (with its own advice) keeps its message.
fn fetch_error(file: &str, e: ParquetError) -> Error {
    match e {
        ParquetError::External(inner) => Error::format(file, inner.to_string()),
        other => perr(file, other),
    }
}

fn short_read(file: &str, range: &Range<u64>, got: usize) -> Error {
    Error::format(
        file,
        format!(
            "asked for bytes {}..{} and got {got} bytes: the object is shorter than listed (was it replaced \
             during the read?); run the sync again",
            range.start, range.end
        ),
    )
}

/// Sorts `ranges` and merges those closer than `gap` bytes, as long as the bytes read in
/// between (fetched and dropped) are no more than the bytes wanted on both sides: a
/// projection skipping large column chunks still reads only the chunks it needs, while
/// nearby small ranges take one request.
pub fn coalesce_ranges(mut ranges: Vec<Range<u64>>, gap: u64) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_unstable_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    // Bytes wanted in the last merged range (without the holes).
    let mut wanted = 0u64;
    for r in ranges {
        let len = r.end - r.start;
        match out.last_mut() {
            Some(last) if r.start <= last.end => {
                wanted += r.end.saturating_sub(last.end);
                last.end = last.end.max(r.end);
            }
            Some(last) if r.start - last.end <= gap.min(wanted + len) => {
                wanted += len;
                last.end = r.end;
            }
            _ => {
                wanted = len;
                out.push(r);
            }
        }
    }
    out
}

/// Bytes fetched for some ranges: `(range, bytes)` pairs.
#[derive(Debug, Default)]
struct Chunks(Vec<(Range<u64>, Bytes)>);

/// The bytes of `r` within `data` (the bytes from `start` on), if it holds all of them: a
/// zero-copy slice.
fn slice_of(start: u64, data: &Bytes, r: &Range<u64>) -> Option<Bytes> {
    let end = start + data.len() as u64;
    (start <= r.start && r.end <= end).then(|| data.slice((r.start - start) as usize..(r.end - start) as usize))
}

impl Chunks {
    /// The bytes of `r`, if one chunk holds all of them (a zero-copy slice).
    fn slice(&self, r: &Range<u64>) -> Option<Bytes> {
        self.0.iter().find_map(|(c, data)| slice_of(c.start, data, r))
    }

    fn covers(spans: &[Range<u64>], r: &Range<u64>) -> bool {
        spans.iter().any(|s| s.start <= r.start && r.end <= s.end)
    }
}

/// One fetch: whole row groups' planned ranges, coalesced.
#[derive(Debug)]
struct FetchUnit {
    /// The coalesced ranges, in file order.
    spans: Vec<Range<u64>>,
    /// Their total length.
    bytes: u64,
    /// The last row group planned in this fetch.
    last_row_group: usize,
}

/// Turns the decoder's scan plan into fetch units, lazily.
struct FetchPlanner {
    plan: std::iter::Peekable<ScanPlan>,
    /// Bytes already fetched with the footer.
    tail: Range<u64>,
    options: RangedReadOptions,
}

impl FetchPlanner {
    fn new(plan: ScanPlan, tail: Range<u64>, options: RangedReadOptions) -> Self {
        FetchPlanner {
            plan: plan.peekable(),
            tail,
            options,
        }
    }

    /// The next fetch: the ranges of whole row groups until `min_fetch_bytes`; `None` when
    /// the plan is done.
    fn next_unit(&mut self) -> Option<FetchUnit> {
        let mut ranges: Vec<Range<u64>> = Vec::new();
        let mut bytes = 0u64;
        let mut last_row_group = None;
        while let Some(first) = self.plan.next() {
            let row_group = first.row_group;
            let mut add = |p: PlannedRange| {
                let in_tail = self.tail.start <= p.range.start && p.range.end <= self.tail.end;
                if !in_tail && !p.is_empty() {
                    bytes += p.len();
                    ranges.push(p.range);
                }
            };
            add(first);
            while let Some(p) = self.plan.next_if(|p| p.row_group == row_group) {
                add(p);
            }
            last_row_group = Some(row_group);
            if !ranges.is_empty() && bytes >= self.options.min_fetch_bytes {
                break;
            }
        }
        let last_row_group = last_row_group?;
        if ranges.is_empty() {
            return None;
        }
        let spans = coalesce_ranges(ranges, self.options.coalesce_gap);
        let bytes = spans.iter().map(|s| s.end - s.start).sum();
        Some(FetchUnit {
            spans,
            bytes,
            last_row_group,
        })
    }
}

/// A fetch running on the runtime (or, without one, a future run when awaited).
enum Running {
    /// Aborted when dropped (the read stopped early).
    Task(AbortOnDrop<parquet::errors::Result<Vec<Bytes>>>),
    Inline(BoxFuture<'static, parquet::errors::Result<Vec<Bytes>>>),
}

struct Pending {
    unit: FetchUnit,
    running: Running,
}

impl Pending {
    async fn wait(self) -> parquet::errors::Result<(FetchUnit, Vec<Bytes>)> {
        let data = match self.running {
            Running::Task(task) => task
                .await
                .map_err(|e| ParquetError::General(format!("a read-ahead fetch stopped: {e}")))??,
            Running::Inline(fut) => fut.await?,
        };
        Ok((self.unit, data))
    }
}

/// Serves the decoder's requests from the footer bytes, the fetch in use and the fetches
/// read ahead; fetches what the plan did not foresee.
struct Fetcher<T> {
    reader: T,
    options: RangedReadOptions,
    handle: Option<tokio::runtime::Handle>,
    planner: FetchPlanner,
    /// A planned fetch not started yet (over the read-ahead budget, or not needed yet).
    staged: Option<FetchUnit>,
    /// Fetches started, in plan order.
    ahead: VecDeque<Pending>,
    /// The fetch the decoder reads from now.
    current: Option<Chunks>,
    /// The footer request's bytes.
    tail: (Range<u64>, Bytes),
}

impl<T> Fetcher<T>
where
    T: AsyncFileReader + Clone + Unpin + Send + 'static,
{
    fn next_planned(&mut self) -> Option<FetchUnit> {
        self.staged.take().or_else(|| self.planner.next_unit())
    }

    /// Fetches `spans` with at most `concurrency` requests in flight.
    fn fetch(&self, spans: Vec<Range<u64>>) -> BoxFuture<'static, parquet::errors::Result<Vec<Bytes>>> {
        let reader = self.reader.clone();
        let concurrency = self.options.concurrency.max(1);
        async move {
            if spans.len() <= 1 {
                let mut reader = reader;
                return reader.get_byte_ranges(spans).await;
            }
            // One request per span, `concurrency` at a time, results in order.
            let requests: Vec<(T, Range<u64>)> = spans.into_iter().map(|span| (reader.clone(), span)).collect();
            let results: Vec<Bytes> = futures::stream::iter(
                requests
                    .into_iter()
                    .map(|(mut reader, span)| async move { reader.get_bytes(span).await }),
            )
            .buffered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<parquet::errors::Result<_>>()?;
            Ok(results)
        }
        .boxed()
    }

    fn start(&self, unit: FetchUnit) -> Pending {
        let future = self.fetch(unit.spans.clone());
        let running = match &self.handle {
            Some(handle) => Running::Task(AbortOnDrop::new(handle.spawn(future))),
            None => Running::Inline(future),
        };
        Pending { unit, running }
    }

    /// Starts planned fetches until `prefetch_fetches` are ahead, or their bytes would
    /// exceed `prefetch_bytes` (one is always allowed).
    fn top_up(&mut self) {
        while self.ahead.len() < self.options.prefetch_fetches.max(1) {
            let Some(unit) = self.next_planned() else { return };
            let ahead_bytes: u64 = self.ahead.iter().map(|p| p.unit.bytes).sum();
            if !self.ahead.is_empty() && ahead_bytes + unit.bytes > self.options.prefetch_bytes {
                self.staged = Some(unit);
                return;
            }
            let pending = self.start(unit);
            self.ahead.push_back(pending);
        }
    }

    /// Where the planned fetch holding `r` is among those started, starting planned fetches
    /// (and skipping those the decoder went past) until one holds it. `None`: the plan does
    /// not hold `r` before row group `row_group`'s fetch.
    fn locate(&mut self, r: &Range<u64>, row_group: Option<usize>) -> Option<usize> {
        if let Some(i) = self.ahead.iter().position(|p| Chunks::covers(&p.unit.spans, r)) {
            return Some(i);
        }
        let row_group = row_group?;
        while let Some(unit) = self.next_planned() {
            if Chunks::covers(&unit.spans, r) {
                let pending = self.start(unit);
                self.ahead.push_back(pending);
                return Some(self.ahead.len() - 1);
            }
            if unit.last_row_group >= row_group {
                // At or past the row group asked for: the plan does not hold `r`.
                self.staged = Some(unit);
                return None;
            }
            // A fetch of row groups the decoder skipped: never needed.
        }
        None
    }

    /// The bytes of `ranges`, in order.
    async fn serve(
        &mut self,
        ranges: &[Range<u64>],
        metadata: &ParquetMetaData,
    ) -> parquet::errors::Result<Vec<Bytes>> {
        let mut out: Vec<Option<Bytes>> = vec![None; ranges.len()];
        let mut missing: Vec<usize> = Vec::new();
        for (i, r) in ranges.iter().enumerate() {
            if let Some(b) = slice_of(self.tail.0.start, &self.tail.1, r) {
                out[i] = Some(b);
                continue;
            }
            if let Some(b) = self.current.as_ref().and_then(|c| c.slice(r)) {
                out[i] = Some(b);
                continue;
            }
            match self.locate(r, row_group_of(metadata, r)) {
                Some(pos) => {
                    // Fetches before it hold row groups the decoder is past: drop them.
                    let mut taken = None;
                    for _ in 0..=pos {
                        taken = self.ahead.pop_front();
                    }
                    if let Some(pending) = taken {
                        let (unit, data) = pending.wait().await?;
                        let chunks = Chunks(unit.spans.into_iter().zip(data).collect());
                        out[i] = chunks.slice(r);
                        self.current = Some(chunks);
                    }
                    self.top_up();
                    if out[i].is_none() {
                        missing.push(i);
                    }
                }
                None => missing.push(i),
            }
        }
        if !missing.is_empty() {
            let wanted: Vec<Range<u64>> = missing.iter().map(|&i| ranges[i].clone()).collect();
            let spans = coalesce_ranges(wanted, self.options.coalesce_gap);
            let data = self.fetch(spans.clone()).await?;
            let chunks = Chunks(spans.into_iter().zip(data).collect());
            for i in missing {
                out[i] = chunks.slice(&ranges[i]);
            }
        }
        out.into_iter()
            .zip(ranges)
            .map(|(b, r)| {
                b.ok_or_else(|| {
                    ParquetError::General(format!(
                        "asked for bytes {}..{} and got fewer: the object is shorter than listed (was it replaced \
                         during the read?); run the sync again",
                        r.start, r.end
                    ))
                })
            })
            .collect()
    }
}

/// The row group whose column chunks hold the first byte of `r`, if any.
fn row_group_of(metadata: &ParquetMetaData, r: &Range<u64>) -> Option<usize> {
    metadata.row_groups().iter().position(|rg| {
        rg.columns().iter().any(|c| {
            let (start, len) = c.byte_range();
            start <= r.start && r.start < start + len
        })
    })
}

/// The state of a [`read_parquet_ranged`] stream.
struct RangedDecoder<T> {
    file: String,
    decoder: ParquetPushDecoder,
    metadata: Arc<ParquetMetaData>,
    fetcher: Fetcher<T>,
    target: Option<SchemaRef>,
    on_bad: OnBadRecord,
    warnings: Arc<Mutex<Warnings>>,
    done: bool,
    /// Rows the file holds (without filters), checked against the rows decoded.
    expected_rows: Option<u64>,
    decoded_rows: u64,
}

impl<T> RangedDecoder<T>
where
    T: AsyncFileReader + Clone + Unpin + Send + 'static,
{
    async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        let r = self.try_next_batch().await;
        match r {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                // Stop the read-ahead at once.
                self.fetcher.ahead.clear();
                Some(Err(e))
            }
        }
    }

    async fn try_next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            match self.decoder.try_decode().map_err(|e| perr(&self.file, e))? {
                DecodeResult::Data(batch) => {
                    self.decoded_rows += batch.num_rows() as u64;
                    let mut warnings = Warnings::default();
                    let batch = finish_batch(&self.file, batch, self.target.as_ref(), self.on_bad, &mut warnings)?;
                    let taken = warnings.take();
                    if !taken.is_empty() {
                        let mut shared = match self.warnings.lock() {
                            Ok(w) => w,
                            Err(poisoned) => poisoned.into_inner(),
                        };
                        for w in taken {
                            shared.push(w);
                        }
                    }
                    return Ok(Some(batch));
                }
                DecodeResult::NeedsData(ranges) => {
                    let data = self
                        .fetcher
                        .serve(&ranges, &self.metadata)
                        .await
                        .map_err(|e| fetch_error(&self.file, e))?;
                    self.decoder
                        .push_ranges(ranges, data)
                        .map_err(|e| perr(&self.file, e))?;
                }
                DecodeResult::Finished => {
                    check_row_count(&self.file, self.expected_rows, self.decoded_rows)?;
                    return Ok(None);
                }
            }
        }
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

/// The registry's writer of Parquet: `codec` as [`parse_parquet_codec`] reads it, row groups
/// of `opts.row_group_rows` rows.
pub(super) fn new_parquet_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    let props = WriterProperties::builder()
        .set_compression(parse_parquet_codec(codec)?)
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .build();
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

/// The registry's reader of a Parquet stream: it needs random access, so the stream is
/// buffered whole in memory (prefer [`read_parquet`] or [`read_parquet_ranged`]).
pub(super) fn open_stream<'a>(
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
pub(super) fn open_file(
    file: &str,
    input: std::fs::File,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    Ok(Box::new(read_parquet(file, input, opts, target)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

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
