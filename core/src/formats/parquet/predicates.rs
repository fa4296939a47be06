//! Filter pushdown: `[column, op, value]` filters as Arrow comparisons over a column, and
//! the row-group statistics that prove no row of a group can pass.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Datum, Scalar};
use arrow::compute::kernels::cmp;
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use serde_json::Value as JsonValue;

use crate::formats::options::{ColumnFilter, FilterOp};

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
pub(super) fn filter_scalars(f: &ColumnFilter, dt: &DataType) -> std::result::Result<Vec<ArrayRef>, String> {
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
pub(super) fn eval_filter(
    col: &dyn Array,
    op: FilterOp,
    values: &[ArrayRef],
) -> std::result::Result<BooleanArray, ArrowError> {
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
pub(super) fn excluded_by_stats(
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
