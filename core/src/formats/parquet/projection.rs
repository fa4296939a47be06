//! Projection, row-group pruning and row filters applied to a reader builder (sync,
//! async or push decoder alike).

use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{ArrowPredicate, ArrowPredicateFn, ArrowReaderBuilder, RowFilter};
use parquet::arrow::ProjectionMask;

use super::metadata::perr;
use super::predicates::{eval_filter, excluded_by_stats, filter_scalars};
use crate::error::{Error, Result};
use crate::formats::options::ReadOptions;

/// Applies projection, row-group pruning and row filters to a reader builder.
pub(super) fn configure<T>(
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
