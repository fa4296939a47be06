//! Parquet reader (sync over any `ChunkReader`, async over any `AsyncFileReader` for ranged
//! reads) with projection and filter pushdown: row groups whose statistics exclude a filter
//! are skipped, then rows are filtered.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Datum, RecordBatch, Scalar};
use arrow::compute::kernels::cmp;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::error::ArrowError;
use futures::stream::{BoxStream, StreamExt};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowPredicate, ArrowPredicateFn, ArrowReaderBuilder, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::ProjectionMask;
use parquet::file::reader::ChunkReader;
use serde_json::Value as JsonValue;

use super::conform::{conform, drop_rows};
use super::options::{ColumnFilter, FilterOp, OnBadRecord, ReadOptions};
use super::{BatchReader, Warnings};
use crate::error::{Error, Result};

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
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader).map_err(|e| perr(file, e))?;
    let (builder, schema) = configure(file, builder, opts, target.as_ref())?;
    let inner = builder.build().map_err(|e| perr(file, e))?;
    Ok(ParquetReader {
        file: file.to_string(),
        inner,
        schema: target.clone().unwrap_or(schema),
        target,
        on_bad: opts.on_bad_record,
        warnings: Warnings::default(),
        done: false,
    })
}

/// The Arrow schema of a Parquet file (reads the footer only).
pub fn parquet_schema<T: ChunkReader + 'static>(file: &str, reader: T) -> Result<Schema> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(reader).map_err(|e| perr(file, e))?;
    Ok(builder.schema().as_ref().clone())
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
            OnBadRecord::Emit => warnings.push(format!(
                "{file}: emitted {} row(s) with a value that does not fit the schema as null, first: {msg}",
                c.bad.len()
            )),
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
        let r = match self.inner.next()? {
            Ok(b) => finish_batch(&self.file, b, self.target.as_ref(), self.on_bad, &mut self.warnings),
            Err(e) => Err(perr(&self.file, e)),
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
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| perr(file, e))?;
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
