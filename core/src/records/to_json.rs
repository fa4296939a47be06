//! Arrow columns → JSON values, column by column: the encoders behind RECORD lines
//! ([`super::RecordSerializer`]) and the JSON writers ([`RowEncoder`]).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::*;

use super::json_text::{
    key_bytes, write_base64, write_date, write_decimal, write_decimal_digits, write_f32, write_f64, write_int,
    write_json_str, write_time_of_day, write_timestamp,
};
use crate::error::{Error, Result};
use crate::schema::is_json_field;

/// An encoder for a column described by `field`: JSON-text columns are written raw.
fn field_encoder<'a>(field: &Field, array: &'a dyn Array) -> Result<ColumnEncoder<'a>> {
    if is_json_field(field) && matches!(array.data_type(), DataType::Utf8) {
        let a = array.as_string::<i32>();
        return Ok(ColumnEncoder {
            array,
            write: Box::new(move |i, out| {
                let text = a.value(i);
                if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
                    out.extend_from_slice(text.as_bytes());
                } else {
                    write_json_str(out, text);
                }
            }),
        });
    }
    make_encoder(array)
}

/// Writes the JSON value of one column's row `i` into `out` (the caller handles nulls).
type ValueFn<'a> = Box<dyn Fn(usize, &mut Vec<u8>) + 'a>;

/// Encodes one Arrow column as JSON values.
struct ColumnEncoder<'a> {
    array: &'a dyn Array,
    write: ValueFn<'a>,
}

impl ColumnEncoder<'_> {
    #[inline]
    fn encode(&self, i: usize, out: &mut Vec<u8>) {
        if self.array.is_null(i) {
            out.extend_from_slice(b"null");
        } else {
            (self.write)(i, out);
        }
    }
}

fn prim<'a, T: ArrowPrimitiveType>(a: &'a dyn Array, f: impl Fn(T::Native, &mut Vec<u8>) + 'a) -> ValueFn<'a> {
    let arr = a.as_primitive::<T>();
    Box::new(move |i, out| f(arr.value(i), out))
}

fn make_encoder<'a>(array: &'a dyn Array) -> Result<ColumnEncoder<'a>> {
    let write: ValueFn<'a> = match array.data_type() {
        DataType::Null => Box::new(|_, out| out.extend_from_slice(b"null")),
        DataType::Boolean => {
            let a = array.as_boolean();
            Box::new(move |i, out| out.extend_from_slice(if a.value(i) { b"true" } else { b"false" }))
        }
        DataType::Int8 => prim::<Int8Type>(array, |v, o| write_int(o, v)),
        DataType::Int16 => prim::<Int16Type>(array, |v, o| write_int(o, v)),
        DataType::Int32 => prim::<Int32Type>(array, |v, o| write_int(o, v)),
        DataType::Int64 => prim::<Int64Type>(array, |v, o| write_int(o, v)),
        DataType::UInt8 => prim::<UInt8Type>(array, |v, o| write_int(o, v)),
        DataType::UInt16 => prim::<UInt16Type>(array, |v, o| write_int(o, v)),
        DataType::UInt32 => prim::<UInt32Type>(array, |v, o| write_int(o, v)),
        DataType::UInt64 => prim::<UInt64Type>(array, |v, o| write_int(o, v)),
        DataType::Float16 => prim::<Float16Type>(array, |v, o| write_f32(o, v.to_f32())),
        DataType::Float32 => prim::<Float32Type>(array, |v, o| write_f32(o, v)),
        DataType::Float64 => prim::<Float64Type>(array, |v, o| write_f64(o, v)),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Box::new(move |i, out| write_json_str(out, a.value(i)))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Box::new(move |i, out| write_json_str(out, a.value(i)))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Box::new(move |i, out| write_json_str(out, a.value(i)))
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            Box::new(move |i, out| write_base64(out, a.value(i)))
        }
        DataType::LargeBinary => {
            let a = array.as_binary::<i64>();
            Box::new(move |i, out| write_base64(out, a.value(i)))
        }
        DataType::BinaryView => {
            let a = array.as_binary_view();
            Box::new(move |i, out| write_base64(out, a.value(i)))
        }
        DataType::FixedSizeBinary(_) => {
            let a = array.as_fixed_size_binary();
            Box::new(move |i, out| write_base64(out, a.value(i)))
        }
        DataType::Date32 => prim::<Date32Type>(array, |v, o| write_date(o, i64::from(v))),
        DataType::Date64 => prim::<Date64Type>(array, |v, o| write_date(o, v.div_euclid(86_400_000))),
        DataType::Timestamp(unit, tz) => {
            let utc = tz.is_some();
            let unit = *unit;
            let a = array.as_primitive_opt::<TimestampMicrosecondType>();
            match (unit, a) {
                (TimeUnit::Microsecond, Some(a)) => Box::new(move |i, out| write_timestamp(out, a.value(i), unit, utc)),
                _ => {
                    let values = timestamp_values(array)?;
                    Box::new(move |i, out| write_timestamp(out, values[i], unit, utc))
                }
            }
        }
        DataType::Time32(TimeUnit::Second) => {
            prim::<Time32SecondType>(array, |v, o| write_time_of_day(o, i64::from(v) * 1_000_000_000, 0))
        }
        DataType::Time32(_) => {
            prim::<Time32MillisecondType>(array, |v, o| write_time_of_day(o, i64::from(v) * 1_000_000, 3))
        }
        DataType::Time64(TimeUnit::Nanosecond) => {
            prim::<Time64NanosecondType>(array, |v, o| write_time_of_day(o, v, 9))
        }
        DataType::Time64(_) => prim::<Time64MicrosecondType>(array, |v, o| write_time_of_day(o, v * 1_000, 6)),
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            prim::<Decimal128Type>(array, move |v, o| write_decimal(o, v, scale))
        }
        DataType::Decimal256(_, scale) => {
            let scale = *scale;
            prim::<Decimal256Type>(array, move |v, o| {
                write_decimal_digits(o, &v.to_string(), i32::from(scale))
            })
        }
        DataType::Decimal64(_, scale) => {
            let scale = *scale;
            prim::<Decimal64Type>(array, move |v, o| write_decimal(o, i128::from(v), scale))
        }
        DataType::Decimal32(_, scale) => {
            let scale = *scale;
            prim::<Decimal32Type>(array, move |v, o| write_decimal(o, i128::from(v), scale))
        }
        DataType::Struct(fields) => {
            let s = array.as_struct();
            let keys: Vec<Vec<u8>> = fields.iter().map(|f| key_bytes(f.name())).collect();
            let children = fields
                .iter()
                .zip(s.columns())
                .map(|(f, c)| field_encoder(f, c.as_ref()))
                .collect::<Result<Vec<_>>>()?;
            Box::new(move |i, out| {
                out.push(b'{');
                for (n, (k, c)) in keys.iter().zip(&children).enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(k);
                    c.encode(i, out);
                }
                out.push(b'}');
            })
        }
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            let child = make_encoder(l.values().as_ref())?;
            let offsets = l.value_offsets();
            Box::new(move |i, out| write_list(out, &child, offsets[i] as usize, offsets[i + 1] as usize))
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>();
            let child = make_encoder(l.values().as_ref())?;
            let offsets = l.value_offsets();
            Box::new(move |i, out| write_list(out, &child, offsets[i] as usize, offsets[i + 1] as usize))
        }
        DataType::FixedSizeList(_, n) => {
            let l = array.as_fixed_size_list();
            let child = make_encoder(l.values().as_ref())?;
            let n = *n as usize;
            Box::new(move |i, out| write_list(out, &child, i * n, (i + 1) * n))
        }
        DataType::Map(..) => {
            let m = array.as_map();
            let keys = arrow::compute::cast(m.keys(), &DataType::Utf8)
                .map_err(|e| Error::Internal(format!("map keys: {e}")))?;
            let keys = Arc::new(keys);
            let values = make_encoder(m.values().as_ref())?;
            let offsets = m.value_offsets();
            Box::new(move |i, out| {
                let k = keys.as_string::<i32>();
                out.push(b'{');
                for (n, j) in (offsets[i] as usize..offsets[i + 1] as usize).enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, if k.is_null(j) { "" } else { k.value(j) });
                    out.push(b':');
                    values.encode(j, out);
                }
                out.push(b'}');
            })
        }
        DataType::Dictionary(_, value_type) => {
            let casted = arrow::compute::cast(array, value_type)
                .map_err(|e| Error::Internal(format!("dictionary column: {e}")))?;
            owned_encoder(casted)?
        }
        _ => {
            // Durations, intervals and other rare types: their display text as a string.
            let options = arrow::util::display::FormatOptions::default();
            let fmt = arrow::util::display::ArrayFormatter::try_new(array, &options)
                .map_err(|e| Error::Internal(format!("cannot format {}: {e}", array.data_type())))?;
            Box::new(move |i, out| write_json_str(out, &fmt.value(i).to_string()))
        }
    };
    Ok(ColumnEncoder { array, write })
}

/// An encoder over an array it owns (used for converted columns).
fn owned_encoder<'a>(array: ArrayRef) -> Result<ValueFn<'a>> {
    // Leak-free: the closure owns the array and re-creates a borrowing encoder per value
    // would be slow, so nested types are serialised into a buffer per value here. This path
    // is only used for dictionary columns.
    Ok(Box::new(move |i, out| {
        if let Ok(enc) = make_encoder(array.as_ref()) {
            enc.encode(i, out);
        } else {
            out.extend_from_slice(b"null");
        }
    }))
}

fn timestamp_values(array: &dyn Array) -> Result<Vec<i64>> {
    let casted =
        arrow::compute::cast(array, &DataType::Int64).map_err(|e| Error::Internal(format!("timestamp column: {e}")))?;
    Ok(casted.as_primitive::<Int64Type>().values().to_vec())
}

#[inline]
fn write_list(out: &mut Vec<u8>, child: &ColumnEncoder<'_>, start: usize, end: usize) {
    out.push(b'[');
    for j in start..end {
        if j > start {
            out.push(b',');
        }
        child.encode(j, out);
    }
    out.push(b']');
}

/// `batch` with top-level dictionary-encoded columns decoded to their value type (borrowed
/// unchanged when there are none).
pub fn plain_batch(batch: &RecordBatch) -> Result<std::borrow::Cow<'_, RecordBatch>> {
    if !batch
        .schema_ref()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
    {
        return Ok(std::borrow::Cow::Borrowed(batch));
    }
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns = Vec::with_capacity(batch.num_columns());
    for (f, c) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        match f.data_type() {
            DataType::Dictionary(_, v) => {
                let plain = arrow::compute::cast(c, v)
                    .map_err(|e| Error::Internal(format!("dictionary column {}: {e}", f.name())))?;
                fields.push(f.as_ref().clone().with_data_type(v.as_ref().clone()));
                columns.push(plain);
            }
            _ => {
                fields.push(f.as_ref().clone());
                columns.push(c.clone());
            }
        }
    }
    let b = RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| Error::Internal(format!("record batch: {e}")))?;
    Ok(std::borrow::Cow::Owned(b))
}

/// Writes the rows of a `RecordBatch` as JSON objects. Built once per batch.
pub struct RowEncoder<'a> {
    columns: Vec<(Vec<u8>, ColumnEncoder<'a>)>,
}

impl<'a> RowEncoder<'a> {
    /// The columns written.
    pub(super) fn num_columns(&self) -> usize {
        self.columns.len()
    }

    /// An encoder for every column of `batch` except those named in `skip`.
    ///
    /// Dictionary-encoded columns are best decoded first with [`plain_batch`] (they work
    /// without it, slowly).
    pub fn new(batch: &'a RecordBatch, skip: &[String]) -> Result<Self> {
        let schema = batch.schema_ref();
        let mut columns = Vec::with_capacity(batch.num_columns());
        for (f, c) in schema.fields().iter().zip(batch.columns()) {
            if skip.iter().any(|s| s == f.name()) {
                continue;
            }
            columns.push((key_bytes(f.name()), field_encoder(f, c.as_ref())?));
        }
        Ok(RowEncoder { columns })
    }

    /// Appends `"k":v,"k2":v2` (no braces) for row `i`.
    #[inline]
    pub fn write_fields(&self, i: usize, out: &mut Vec<u8>) {
        for (n, (k, c)) in self.columns.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(k);
            c.encode(i, out);
        }
    }

    /// Appends `{"k":v,…}` for row `i`.
    #[inline]
    pub fn write_object(&self, i: usize, out: &mut Vec<u8>) {
        out.push(b'{');
        self.write_fields(i, out);
        out.push(b'}');
    }

    /// Whether the encoder has no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// Appends the JSON value of `array[i]` (as the RECORD serializer would) to `out`.
pub fn write_value(array: &dyn Array, i: usize, out: &mut Vec<u8>) -> Result<()> {
    make_encoder(array)?.encode(i, out);
    Ok(())
}

/// One JSON text per row of `array` (`None` for nulls) — used to store nested values in
/// string columns (CSV).
pub fn array_to_json_strings(array: &dyn Array) -> Result<arrow::array::StringArray> {
    let enc = make_encoder(array)?;
    let mut b = arrow::array::StringBuilder::with_capacity(array.len(), array.len() * 16);
    let mut buf = Vec::new();
    for i in 0..array.len() {
        if array.is_null(i) {
            b.append_null();
        } else {
            buf.clear();
            enc.encode(i, &mut buf);
            b.append_value(String::from_utf8_lossy(&buf));
        }
    }
    Ok(b.finish())
}
