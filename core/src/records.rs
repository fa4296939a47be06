//! `RecordBatch` → Airbyte RECORD JSON lines, written straight into byte buffers (no
//! `serde_json::Value` per row), and JSON records → `RecordBatch` for writers.
//!
//! Values are written as the Arrow type says: integers as JSON integers, floats via `ryu`
//! (NaN and infinities as `null`), dates as `"YYYY-MM-DD"`, timestamps as ISO-8601 with the
//! column's precision (`Z` suffix when the column has a time zone), decimals as JSON numbers,
//! binary as base64 strings, structs and maps as objects, lists as arrays.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::*;
use arrow::error::ArrowError;
use arrow::json::reader::{ArrayDecoder, DecoderContext, DecoderFactory, Tape, TapeElement};
use base64::Engine;
use serde_json::Value as JsonValue;

use crate::error::{Error, Result};

// ---------------------------------------------------------------------------------------
// JSON text primitives
// ---------------------------------------------------------------------------------------

const fn escape_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t
}

static ESCAPE: [u8; 256] = escape_table();

/// Appends `s` as a JSON string literal (quoted, escaped) to `out`.
#[inline]
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[inline]
fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut b = ryu::Buffer::new();
        out.extend_from_slice(b.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

#[inline]
fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let mut b = ryu::Buffer::new();
        out.extend_from_slice(b.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

#[inline]
fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(v).as_bytes());
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
#[inline]
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[inline]
fn push2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
}

#[inline]
fn push_digits(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut buf = [b'0'; 20];
    for i in (0..width).rev() {
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&buf[..width]);
}

#[inline]
fn write_date_body(out: &mut Vec<u8>, days: i64) {
    let (y, m, d) = civil_from_days(days);
    if (0..=9999).contains(&y) {
        push_digits(out, y as u64, 4);
    } else {
        // Outside four digits: ISO 8601 expanded year.
        if y < 0 {
            out.push(b'-');
        } else {
            out.push(b'+');
        }
        push_digits(out, y.unsigned_abs(), 6);
    }
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
}

/// Appends a quoted `"YYYY-MM-DD"` for a day count since the epoch.
#[inline]
pub fn write_date(out: &mut Vec<u8>, days: i64) {
    out.push(b'"');
    write_date_body(out, days);
    out.push(b'"');
}

/// Appends a quoted ISO-8601 timestamp for `value` in `unit` since the epoch, with the unit's
/// fractional digits (none for seconds, 3 for ms, 6 for µs, 9 for ns) and a `Z` when `utc`.
#[inline]
pub fn write_timestamp(out: &mut Vec<u8>, value: i64, unit: TimeUnit, utc: bool) {
    let (per_sec, digits) = match unit {
        TimeUnit::Second => (1i64, 0usize),
        TimeUnit::Millisecond => (1_000, 3),
        TimeUnit::Microsecond => (1_000_000, 6),
        TimeUnit::Nanosecond => (1_000_000_000, 9),
    };
    let secs = value.div_euclid(per_sec);
    let frac = value.rem_euclid(per_sec) as u64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    out.push(b'"');
    write_date_body(out, days);
    out.push(b'T');
    push2(out, sod / 3600);
    out.push(b':');
    push2(out, (sod / 60) % 60);
    out.push(b':');
    push2(out, sod % 60);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, frac, digits);
    }
    if utc {
        out.push(b'Z');
    }
    out.push(b'"');
}

fn write_time_of_day(out: &mut Vec<u8>, nanos: i64, digits: usize) {
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000) as u64;
    let sod = secs.rem_euclid(86_400) as u32;
    out.push(b'"');
    push2(out, sod / 3600);
    out.push(b':');
    push2(out, (sod / 60) % 60);
    out.push(b':');
    push2(out, sod % 60);
    if digits > 0 {
        out.push(b'.');
        push_digits(out, frac / 10u64.pow(9 - digits as u32), digits);
    }
    out.push(b'"');
}

// ---------------------------------------------------------------------------------------
// Columns of JSON values
// ---------------------------------------------------------------------------------------

/// The Arrow canonical extension type of a string column holding JSON texts (`arrow.json`).
/// Records carry such a column's values as the JSON values themselves — e.g. an Avro union
/// of several kinds holds a number in one row, a string or an object in the next.
pub const JSON_EXTENSION: &str = "arrow.json";

/// The field metadata key naming an Arrow extension type.
const EXTENSION_KEY: &str = "ARROW:extension:name";

/// The field metadata key holding a field's own JSON Schema (for [`JSON_EXTENSION`] columns,
/// whose Arrow type alone says only "string").
pub const JSON_SCHEMA_KEY: &str = "lakeport.json_schema";

/// Whether `field` is a string column of JSON texts ([`JSON_EXTENSION`]).
pub fn is_json_field(field: &Field) -> bool {
    matches!(field.data_type(), DataType::Utf8)
        && field.metadata().get(EXTENSION_KEY).is_some_and(|n| n == JSON_EXTENSION)
}

/// A nullable string column of JSON texts whose values follow `json_schema`.
pub fn json_field(name: &str, json_schema: &JsonValue) -> Field {
    Field::new(name, DataType::Utf8, true).with_metadata(std::collections::HashMap::from([
        (EXTENSION_KEY.to_string(), JSON_EXTENSION.to_string()),
        (JSON_SCHEMA_KEY.to_string(), json_schema.to_string()),
    ]))
}

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

// ---------------------------------------------------------------------------------------
// Column encoders
// ---------------------------------------------------------------------------------------

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

fn write_base64(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    let start = out.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    out.resize(start + len, 0);
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(bytes, &mut out[start..])
        .unwrap_or(0);
    out.truncate(start + n);
    out.push(b'"');
}

fn write_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    if scale <= 0 {
        write_int(out, v);
        for _ in 0..(-scale) {
            out.push(b'0');
        }
        return;
    }
    let scale = scale as u32;
    let neg = v < 0;
    let abs = v.unsigned_abs();
    let pow = 10u128.pow(scale);
    if neg {
        out.push(b'-');
    }
    write_int(out, abs / pow);
    out.push(b'.');
    let frac = abs % pow;
    let mut digits = [b'0'; 40];
    let mut f = frac;
    for i in (0..scale as usize).rev() {
        digits[i] = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits[..scale as usize]);
}

/// Appends a decimal given as its unscaled integer's text (`-123`) and a scale: every digit,
/// as a JSON number (`-1.23` for scale 2; trailing zeros for a negative scale).
pub fn write_decimal_digits(out: &mut Vec<u8>, unscaled: &str, scale: i32) {
    let (neg, digits) = match unscaled.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, unscaled),
    };
    if neg {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        if digits != "0" {
            out.extend(std::iter::repeat_n(b'0', scale.unsigned_abs() as usize));
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        out.extend_from_slice(&digits.as_bytes()[..digits.len() - scale]);
        out.push(b'.');
        out.extend_from_slice(&digits.as_bytes()[digits.len() - scale..]);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', scale - digits.len()));
        out.extend_from_slice(digits.as_bytes());
    }
}

fn key_bytes(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 3);
    write_json_str(&mut k, name);
    k.push(b':');
    k
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

// ---------------------------------------------------------------------------------------
// Values JSON cannot hold
// ---------------------------------------------------------------------------------------

/// The Airbyte `meta.changes` reason of a value nulled because JSON cannot hold it (or,
/// with `on_bad_record: emit`, because it does not fit the stream's schema).
pub const NULLED_REASON: &str = "SOURCE_SERIALIZATION_ERROR";

/// A batch column (a list of field names per row) a reader adds when it emitted values that
/// do not fit the schema as null: the RECORD writer turns it into `meta.changes` entries and
/// never writes it as data.
pub const NULLED_FIELDS_COLUMN: &str = "_lakeport_nulled_fields";

/// Whether a type can hold a value JSON cannot (a float, at any depth).
fn may_be_unrepresentable(dt: &DataType) -> bool {
    match dt {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => {
            may_be_unrepresentable(f.data_type())
        }
        DataType::Struct(fs) => fs.iter().any(|f| may_be_unrepresentable(f.data_type())),
        _ => false,
    }
}

/// Rows of `array` holding a value — at any depth — that JSON cannot hold (NaN, infinities)
/// and that the encoder writes as `null`; `None` when there is none.
pub fn unrepresentable_rows(array: &dyn Array) -> Option<Vec<bool>> {
    if !may_be_unrepresentable(array.data_type()) {
        return None;
    }
    let n = array.len();
    let mark = |f: &dyn Fn(usize) -> bool| -> Option<Vec<bool>> {
        let rows: Vec<bool> = (0..n).map(|i| array.is_valid(i) && f(i)).collect();
        rows.contains(&true).then_some(rows)
    };
    match array.data_type() {
        DataType::Float16 => {
            let a = array.as_primitive::<Float16Type>();
            mark(&|i| !a.value(i).is_finite())
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            if a.values().iter().all(|v| v.is_finite()) {
                return None;
            }
            mark(&|i| !a.value(i).is_finite())
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if a.values().iter().all(|v| v.is_finite()) {
                return None;
            }
            mark(&|i| !a.value(i).is_finite())
        }
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            let child = unrepresentable_rows(l.values().as_ref())?;
            let off = l.value_offsets();
            mark(&|i| child[off[i] as usize..off[i + 1] as usize].contains(&true))
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>();
            let child = unrepresentable_rows(l.values().as_ref())?;
            let off = l.value_offsets();
            mark(&|i| child[off[i] as usize..off[i + 1] as usize].contains(&true))
        }
        DataType::FixedSizeList(_, size) => {
            let l = array.as_fixed_size_list();
            let child = unrepresentable_rows(l.values().as_ref())?;
            let size = *size as usize;
            mark(&|i| child[i * size..(i + 1) * size].contains(&true))
        }
        DataType::Map(..) => {
            let m = array.as_map();
            let child = unrepresentable_rows(m.values().as_ref())?;
            let off = m.value_offsets();
            mark(&|i| child[off[i] as usize..off[i + 1] as usize].contains(&true))
        }
        DataType::Struct(_) => {
            let children: Vec<Vec<bool>> = array
                .as_struct()
                .columns()
                .iter()
                .filter_map(|c| unrepresentable_rows(c.as_ref()))
                .collect();
            if children.is_empty() {
                return None;
            }
            mark(&|i| children.iter().any(|c| c[i]))
        }
        _ => None,
    }
}

/// Values written as `null` because JSON cannot hold them, counted per column (for one
/// WARN per column and file).
#[derive(Debug, Default, Clone)]
pub struct NulledValues {
    counts: Vec<(String, u64)>,
}

impl NulledValues {
    /// Counts `n` more values of `column`.
    pub fn add(&mut self, column: &str, n: u64) {
        match self.counts.iter_mut().find(|(c, _)| c == column) {
            Some((_, count)) => *count += n,
            None => self.counts.push((column.to_string(), n)),
        }
    }

    /// Whether nothing was nulled.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// One warning per column for `file`, with its count; the counts start again.
    pub fn take_warnings(&mut self, file: &str) -> Vec<String> {
        std::mem::take(&mut self.counts)
            .into_iter()
            .map(|(column, n)| {
                format!(
                    "{file}: {n} value(s) of column '{column}' are NaN or infinite, which JSON cannot hold; they \
                     were emitted as null, each record noting it in meta.changes"
                )
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// RECORD serializer
// ---------------------------------------------------------------------------------------

/// Writes each row of a `RecordBatch` as a complete Airbyte RECORD line:
/// `{"type":"RECORD","record":{"namespace":…,"stream":…,"data":{…},"emitted_at":…}}\n`.
///
/// Constant per-file fields (e.g. `_ab_source_file_url`) are appended to every `data`
/// object from a pre-serialised fragment; a batch column with the same name is skipped.
#[derive(Debug, Clone)]
pub struct RecordSerializer {
    prefix: Vec<u8>,
    extra: Vec<u8>,
    extra_names: Vec<String>,
    suffix: Vec<u8>,
    stream: String,
    namespace: Option<String>,
}

impl RecordSerializer {
    /// A serializer for `stream` (and `namespace`, omitted when `None`) stamping
    /// `emitted_at_ms` on every record.
    pub fn new(stream: &str, namespace: Option<&str>, emitted_at_ms: i64) -> Self {
        let mut prefix = Vec::with_capacity(64 + stream.len());
        prefix.extend_from_slice(b"{\"type\":\"RECORD\",\"record\":{");
        if let Some(ns) = namespace {
            prefix.extend_from_slice(b"\"namespace\":");
            write_json_str(&mut prefix, ns);
            prefix.push(b',');
        }
        prefix.extend_from_slice(b"\"stream\":");
        write_json_str(&mut prefix, stream);
        prefix.extend_from_slice(b",\"data\":{");
        let mut s = RecordSerializer {
            prefix,
            extra: vec![],
            extra_names: vec![],
            suffix: vec![],
            stream: stream.to_string(),
            namespace: namespace.map(String::from),
        };
        s.set_emitted_at(emitted_at_ms);
        s
    }

    /// The stream name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Sets the `emitted_at` stamp (milliseconds since the epoch).
    pub fn set_emitted_at(&mut self, emitted_at_ms: i64) {
        self.suffix.clear();
        self.suffix.extend_from_slice(b"},\"emitted_at\":");
        write_int(&mut self.suffix, emitted_at_ms);
        self.suffix.extend_from_slice(b"}}\n");
    }

    /// Replaces the constant fields appended to every record's `data` (e.g. the source
    /// file's URL and last-modified time for this file).
    pub fn set_extra_fields(&mut self, fields: &[(&str, JsonValue)]) {
        self.extra.clear();
        self.extra_names.clear();
        for (name, value) in fields {
            self.extra.push(b',');
            write_json_str(&mut self.extra, name);
            self.extra.push(b':');
            // serde_json writes valid JSON; a Value cannot fail to serialise.
            let _ = serde_json::to_writer(&mut self.extra, value);
            self.extra_names.push((*name).to_string());
        }
    }

    /// Builder form of [`Self::set_extra_fields`].
    pub fn with_extra_fields(mut self, fields: &[(&str, JsonValue)]) -> Self {
        self.set_extra_fields(fields);
        self
    }

    /// Appends one RECORD line per row of `batch` to `out`.
    pub fn write_batch(&self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        self.write_rows(batch, 0, batch.num_rows(), out)
    }

    /// [`Self::write_batch`], counting in `nulled` the values written as null because JSON
    /// cannot hold them (each such record carries a `meta.changes` entry).
    pub fn write_batch_noting(&self, batch: &RecordBatch, out: &mut Vec<u8>, nulled: &mut NulledValues) -> Result<()> {
        self.write_rows_noting(batch, 0, batch.num_rows(), out, nulled)
    }

    /// Appends RECORD lines for rows `start..end` of `batch` (for splitting a batch across
    /// workers).
    pub fn write_rows(&self, batch: &RecordBatch, start: usize, end: usize, out: &mut Vec<u8>) -> Result<()> {
        self.write_rows_noting(batch, start, end, out, &mut NulledValues::default())
    }

    /// [`Self::write_rows`], counting the values nulled in `nulled`.
    ///
    /// This is the one place where a value that JSON cannot hold (NaN, an infinity, at any
    /// depth) becomes `null`: the record gets an Airbyte `meta.changes` entry
    /// `{"field", "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}` for its column.
    pub fn write_rows_noting(
        &self,
        batch: &RecordBatch,
        start: usize,
        end: usize,
        out: &mut Vec<u8>,
        nulled: &mut NulledValues,
    ) -> Result<()> {
        let batch = plain_batch(batch)?;
        let batch = batch.as_ref();
        // Fields a reader nulled (values that do not fit the schema), per row.
        let reader_nulled = batch
            .column_by_name(NULLED_FIELDS_COLUMN)
            .and_then(|c| c.as_list_opt::<i32>())
            .filter(|l| matches!(l.value_type(), DataType::Utf8));
        let skip: std::borrow::Cow<'_, [String]> = if reader_nulled.is_some() {
            let mut names = self.extra_names.clone();
            names.push(NULLED_FIELDS_COLUMN.to_string());
            std::borrow::Cow::Owned(names)
        } else {
            std::borrow::Cow::Borrowed(&self.extra_names)
        };
        let enc = RowEncoder::new(batch, &skip)?;
        let end = end.min(batch.num_rows());
        out.reserve((end.saturating_sub(start)) * (self.prefix.len() + self.suffix.len() + 16 * enc.columns.len()));
        // The extra fragment starts with a comma; drop it when there is no column before it.
        let extra: &[u8] = if enc.is_empty() && !self.extra.is_empty() {
            &self.extra[1..]
        } else {
            &self.extra
        };
        let lossy: Vec<(&str, Vec<bool>)> = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !skip.iter().any(|s| s == f.name()))
            .filter_map(|(f, c)| unrepresentable_rows(c.as_ref()).map(|rows| (f.name().as_str(), rows)))
            .collect();
        // The suffix without its closing `}}\n`: `},"emitted_at":N`.
        let suffix_head = &self.suffix[..self.suffix.len() - 3];
        for i in start..end {
            out.extend_from_slice(&self.prefix);
            enc.write_fields(i, out);
            out.extend_from_slice(extra);
            let mut changes = lossy
                .iter()
                .filter(|(_, rows)| rows[i])
                .map(|(name, _)| *name)
                .peekable();
            let not_fitting = reader_nulled.filter(|l| l.is_valid(i)).map(|l| l.value(i));
            if changes.peek().is_none() && not_fitting.is_none() {
                out.extend_from_slice(&self.suffix);
                continue;
            }
            out.extend_from_slice(suffix_head);
            out.extend_from_slice(b",\"meta\":{\"changes\":[");
            let mut n = 0;
            let mut change = |out: &mut Vec<u8>, name: &str| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                out.extend_from_slice(b"{\"field\":");
                write_json_str(out, name);
                out.extend_from_slice(b",\"change\":\"NULLED\",\"reason\":\"");
                out.extend_from_slice(NULLED_REASON.as_bytes());
                out.extend_from_slice(b"\"}");
            };
            for name in changes {
                change(out, name);
                nulled.add(name, 1);
            }
            if let Some(fields) = not_fitting {
                let fields = fields.as_string::<i32>();
                for name in fields.iter().flatten() {
                    change(out, name);
                }
            }
            out.extend_from_slice(b"]}}}\n");
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// JSON records → RecordBatch
// ---------------------------------------------------------------------------------------

/// Decoders that make JSON→Arrow forgiving in the ways Airbyte data needs: a string column
/// takes any JSON value (objects and arrays as their JSON text, numbers and booleans as text)
/// and binary columns take base64 strings.
#[derive(Debug, Default)]
pub struct LenientDecoderFactory;

impl DecoderFactory for LenientDecoderFactory {
    fn make_default_decoder(
        &self,
        _ctx: &DecoderContext,
        field: &FieldRef,
        _is_nullable: bool,
    ) -> std::result::Result<Option<Box<dyn ArrayDecoder>>, ArrowError> {
        Ok(match field.data_type() {
            DataType::Utf8 if is_json_field(field) => Some(Box::new(JsonTextDecoder)),
            DataType::Utf8 => Some(Box::new(AnyToStringDecoder)),
            DataType::Binary => Some(Box::new(Base64Decoder)),
            DataType::Timestamp(unit, tz) => Some(Box::new(TimestampDecoder::new(field.data_type(), *unit, tz)?)),
            _ => None,
        })
    }
}

struct AnyToStringDecoder;

/// Appends the JSON text of the tape value at `p` to `out`; returns the next position.
fn tape_to_json(tape: &Tape<'_>, p: u32, out: &mut Vec<u8>) -> std::result::Result<u32, ArrowError> {
    match tape.get(p) {
        TapeElement::StartObject(end) => {
            out.push(b'{');
            let mut cur = p + 1;
            let mut first = true;
            while cur < end {
                if !first {
                    out.push(b',');
                }
                first = false;
                // key
                match tape.get(cur) {
                    TapeElement::String(idx) => write_json_str(out, tape.get_string(idx)),
                    _ => return Err(tape.error(cur, "object key")),
                }
                out.push(b':');
                cur = tape_to_json(tape, cur + 1, out)?;
            }
            out.push(b'}');
            Ok(end + 1)
        }
        TapeElement::StartList(end) => {
            out.push(b'[');
            let mut cur = p + 1;
            let mut first = true;
            while cur < end {
                if !first {
                    out.push(b',');
                }
                first = false;
                cur = tape_to_json(tape, cur, out)?;
            }
            out.push(b']');
            Ok(end + 1)
        }
        TapeElement::String(idx) => {
            write_json_str(out, tape.get_string(idx));
            Ok(p + 1)
        }
        TapeElement::Number(idx) => {
            out.extend_from_slice(tape.get_string(idx).as_bytes());
            Ok(p + 1)
        }
        TapeElement::True => {
            out.extend_from_slice(b"true");
            Ok(p + 1)
        }
        TapeElement::False => {
            out.extend_from_slice(b"false");
            Ok(p + 1)
        }
        TapeElement::Null => {
            out.extend_from_slice(b"null");
            Ok(p + 1)
        }
        TapeElement::I64(hi) => match tape.get(p + 1) {
            TapeElement::I32(lo) => {
                write_int(out, (i64::from(hi) << 32) | i64::from(lo as u32));
                Ok(p + 2)
            }
            _ => Err(tape.error(p, "i64")),
        },
        TapeElement::I32(v) => {
            write_int(out, v);
            Ok(p + 1)
        }
        TapeElement::F64(hi) => match tape.get(p + 1) {
            TapeElement::F32(lo) => {
                write_f64(out, f64::from_bits((u64::from(hi) << 32) | u64::from(lo)));
                Ok(p + 2)
            }
            _ => Err(tape.error(p, "f64")),
        },
        TapeElement::F32(v) => {
            write_f32(out, f32::from_bits(v));
            Ok(p + 1)
        }
        _ => Err(tape.error(p, "value")),
    }
}

impl ArrayDecoder for AnyToStringDecoder {
    fn decode(&mut self, tape: &Tape<'_>, pos: &[u32]) -> std::result::Result<ArrayRef, ArrowError> {
        let mut b = arrow::array::StringBuilder::with_capacity(pos.len(), pos.len() * 8);
        let mut buf = Vec::new();
        for &p in pos {
            match tape.get(p) {
                TapeElement::Null => b.append_null(),
                TapeElement::String(idx) => b.append_value(tape.get_string(idx)),
                TapeElement::Number(idx) => b.append_value(tape.get_string(idx)),
                TapeElement::True => b.append_value("true"),
                TapeElement::False => b.append_value("false"),
                _ => {
                    buf.clear();
                    tape_to_json(tape, p, &mut buf)?;
                    b.append_value(String::from_utf8_lossy(&buf));
                }
            }
        }
        Ok(Arc::new(b.finish()))
    }
}

/// Keeps each value as its JSON text (strings quoted), for [`JSON_EXTENSION`] columns.
struct JsonTextDecoder;

impl ArrayDecoder for JsonTextDecoder {
    fn decode(&mut self, tape: &Tape<'_>, pos: &[u32]) -> std::result::Result<ArrayRef, ArrowError> {
        let mut b = arrow::array::StringBuilder::with_capacity(pos.len(), pos.len() * 8);
        let mut buf = Vec::new();
        for &p in pos {
            if let TapeElement::Null = tape.get(p) {
                b.append_null();
                continue;
            }
            buf.clear();
            tape_to_json(tape, p, &mut buf)?;
            b.append_value(String::from_utf8_lossy(&buf));
        }
        Ok(Arc::new(b.finish()))
    }
}

/// Timestamps as Arrow's JSON decoder reads them, plus the ISO-8601 expanded years
/// (`+052951-06-02T04:00:00Z`, `-000001-12-31T…`) the RECORD writer gives timestamps
/// outside years 0000-9999, so that what a source wrote a destination reads back.
struct TimestampDecoder {
    data_type: DataType,
    unit: TimeUnit,
    tz: arrow::array::timezone::Tz,
}

impl TimestampDecoder {
    fn new(data_type: &DataType, unit: TimeUnit, tz: &Option<Arc<str>>) -> std::result::Result<Self, ArrowError> {
        let tz = tz.as_deref().unwrap_or("+00:00").parse()?;
        Ok(TimestampDecoder {
            data_type: data_type.clone(),
            unit,
            tz,
        })
    }

    fn parse(&self, s: &str) -> std::result::Result<i64, ArrowError> {
        let err = |why: &str| ArrowError::JsonError(format!("failed to parse \"{s}\" as {}: {why}", self.data_type));
        let (secs, nanos) = match parse_expanded_timestamp(s) {
            Some(v) => v,
            None => {
                let d = arrow::compute::kernels::cast_utils::string_to_datetime(&self.tz, s)
                    .map_err(|e| err(&e.to_string()))?;
                (d.timestamp(), i64::from(d.timestamp_subsec_nanos()))
            }
        };
        let (per_sec, div) = match self.unit {
            TimeUnit::Second => (1, 1_000_000_000),
            TimeUnit::Millisecond => (1_000, 1_000_000),
            TimeUnit::Microsecond => (1_000_000, 1_000),
            TimeUnit::Nanosecond => (1_000_000_000, 1),
        };
        secs.checked_mul(per_sec)
            .and_then(|v| v.checked_add(nanos / div))
            .ok_or_else(|| err("out of the range of a 64-bit timestamp at this unit"))
    }
}

/// (seconds since the epoch, nanoseconds) of an ISO-8601 date-time with an expanded (signed)
/// year: `±YYYYYY-MM-DDTHH:MM:SS[.f…][Z|±HH:MM]`; `None` for anything else.
fn parse_expanded_timestamp(s: &str) -> Option<(i64, i64)> {
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = &s[1..];
    let dash = rest.find('-')?;
    let year: i64 = rest[..dash].parse().ok()?;
    let b = &rest.as_bytes()[dash..];
    // -MM-DDTHH:MM:SS
    if b.len() < 15 || b[0] != b'-' || b[3] != b'-' || !matches!(b[6], b'T' | b' ') || b[9] != b':' || b[12] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { std::str::from_utf8(&b[r]).ok()?.parse().ok() };
    let (month, day, h, mi, se) = (num(1..3)?, num(4..6)?, num(7..9)?, num(10..12)?, num(13..15)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 15;
    let mut nanos = 0i64;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &b[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        nanos = std::str::from_utf8(digits).ok()?.parse::<i64>().ok()? * 10i64.pow(9 - digits.len() as u32);
    }
    let offset = match &b[i..] {
        b"" | b"Z" | b"z" => 0,
        o if o.len() == 6 && matches!(o[0], b'+' | b'-') && o[3] == b':' => {
            let oh: i64 = std::str::from_utf8(&o[1..3]).ok()?.parse().ok()?;
            let om: i64 = std::str::from_utf8(&o[4..6]).ok()?.parse().ok()?;
            (if o[0] == b'+' { 1 } else { -1 }) * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(sign * year, month as u32, day as u32);
    let secs = days
        .checked_mul(86_400)?
        .checked_add(h * 3600 + mi * 60 + se)?
        .checked_sub(offset)?;
    Some((secs, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (any year).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl ArrayDecoder for TimestampDecoder {
    fn decode(&mut self, tape: &Tape<'_>, pos: &[u32]) -> std::result::Result<ArrayRef, ArrowError> {
        let mut values: Vec<Option<i64>> = Vec::with_capacity(pos.len());
        for &p in pos {
            values.push(match tape.get(p) {
                TapeElement::Null => None,
                TapeElement::String(idx) => Some(self.parse(tape.get_string(idx))?),
                TapeElement::Number(idx) => {
                    let s = tape.get_string(idx);
                    Some(
                        s.parse::<i64>()
                            .or_else(|_| s.parse::<f64>().map(|x| x as i64))
                            .map_err(|_| ArrowError::JsonError(format!("failed to parse {s} as {}", self.data_type)))?,
                    )
                }
                TapeElement::I32(v) => Some(i64::from(v)),
                TapeElement::I64(high) => match tape.get(p + 1) {
                    TapeElement::I32(low) => Some((i64::from(high) << 32) | i64::from(low as u32)),
                    _ => return Err(tape.error(p, "i64")),
                },
                _ => return Err(tape.error(p, "timestamp")),
            });
        }
        let array = arrow::array::Int64Array::from(values);
        arrow::compute::cast(&array, &self.data_type).map(|a| a as ArrayRef)
    }
}

struct Base64Decoder;

impl ArrayDecoder for Base64Decoder {
    fn decode(&mut self, tape: &Tape<'_>, pos: &[u32]) -> std::result::Result<ArrayRef, ArrowError> {
        let mut b = arrow::array::BinaryBuilder::with_capacity(pos.len(), pos.len() * 8);
        for &p in pos {
            match tape.get(p) {
                TapeElement::Null => b.append_null(),
                TapeElement::String(idx) => {
                    let s = tape.get_string(idx);
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|e| ArrowError::JsonError(format!("invalid base64 value: {e}")))?;
                    b.append_value(bytes);
                }
                _ => return Err(tape.error(p, "base64 string")),
            }
        }
        Ok(Arc::new(b.finish()))
    }
}

/// An `arrow_json` reader builder for `schema` with the lenient decoders and primitive
/// coercion (numbers and booleans into string columns) set.
pub fn json_reader_builder(schema: SchemaRef, batch_size: usize) -> arrow::json::ReaderBuilder {
    arrow::json::ReaderBuilder::new(schema)
        .with_batch_size(batch_size)
        .with_coerce_primitive(true)
        .with_decoder_factory(Arc::new(LenientDecoderFactory))
}

/// Decodes JSON record `data` objects (raw JSON text, one per call) into `RecordBatch`es of
/// a given Arrow schema. Unknown fields are ignored; missing fields are null.
pub struct JsonRecordDecoder {
    decoder: arrow::json::reader::Decoder,
    schema: SchemaRef,
    rows: usize,
    batch_size: usize,
}

impl JsonRecordDecoder {
    /// A decoder producing batches of up to `batch_size` rows of `schema`.
    pub fn new(schema: SchemaRef, batch_size: usize) -> Result<Self> {
        let decoder = json_reader_builder(schema.clone(), batch_size.max(1))
            .build_decoder()
            .map_err(|e| Error::Internal(format!("JSON decoder: {e}")))?;
        Ok(JsonRecordDecoder {
            decoder,
            schema,
            rows: 0,
            batch_size: batch_size.max(1),
        })
    }

    /// The output schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows buffered and not yet flushed.
    pub fn buffered_rows(&self) -> usize {
        self.rows
    }

    /// Whether a full batch is buffered (call [`Self::flush`]).
    pub fn is_full(&self) -> bool {
        self.rows >= self.batch_size
    }

    /// Adds one record's `data` object as JSON text. Returns an error if the text is not a
    /// complete JSON value or does not fit the schema; call [`Self::flush`] first when
    /// [`Self::is_full`].
    pub fn push(&mut self, data: &[u8]) -> Result<()> {
        self.push_rows(data, 1)
    }

    /// Adds `rows` records at once: their JSON objects one after another in `text`
    /// (separated by newlines). One decoder pass over many records is much faster than a
    /// call per record. `rows` must not take the buffer past the batch size.
    pub fn push_rows(&mut self, text: &[u8], rows: usize) -> Result<()> {
        let mut rest = text;
        while !rest.is_empty() {
            let n = self
                .decoder
                .decode(rest)
                .map_err(|e| Error::format("<records>", format!("record does not fit the schema: {e}")))?;
            if n == 0 {
                return Err(Error::Internal(
                    "JSON decoder is full; flush before pushing more records".into(),
                ));
            }
            rest = &rest[n..];
        }
        // A newline terminates the value so the next record starts cleanly.
        self.decoder
            .decode(b"\n")
            .map_err(|e| Error::format("<records>", format!("invalid JSON record: {e}")))?;
        if self.decoder.has_partial_record() {
            return Err(Error::format(
                "<records>",
                "a record's data is not a complete JSON object",
            ));
        }
        self.rows += rows;
        Ok(())
    }

    /// Returns the buffered rows as a batch (`None` when empty).
    pub fn flush(&mut self) -> Result<Option<RecordBatch>> {
        self.rows = 0;
        self.decoder
            .flush()
            .map_err(|e| Error::format("<records>", format!("record does not fit the schema: {e}")))
    }
}

/// Decodes whole Airbyte RECORD lines (`{"type":"RECORD","record":{…,"data":{…}}}`) into
/// batches of the `data` objects for a given schema, without a `serde_json::Value` per line.
/// Lines must be RECORD messages (route STATE and other messages elsewhere first).
pub struct RecordLineDecoder {
    inner: JsonRecordDecoder,
    data_schema: SchemaRef,
}

impl RecordLineDecoder {
    /// A decoder producing batches of `data_schema` of up to `batch_size` rows.
    pub fn new(data_schema: SchemaRef, batch_size: usize) -> Result<Self> {
        let data = Field::new("data", DataType::Struct(data_schema.fields().clone()), true);
        let record = Field::new("record", DataType::Struct(vec![data].into()), true);
        let wrapper = Arc::new(Schema::new(vec![record]));
        Ok(RecordLineDecoder {
            inner: JsonRecordDecoder::new(wrapper, batch_size)?,
            data_schema,
        })
    }

    /// Adds one RECORD line.
    pub fn push(&mut self, line: &[u8]) -> Result<()> {
        self.inner.push(line)
    }

    /// Whether a full batch is buffered.
    pub fn is_full(&self) -> bool {
        self.inner.is_full()
    }

    /// Rows buffered.
    pub fn buffered_rows(&self) -> usize {
        self.inner.buffered_rows()
    }

    /// The buffered `data` objects as a batch of the data schema (`None` when empty).
    pub fn flush(&mut self) -> Result<Option<RecordBatch>> {
        let Some(batch) = self.inner.flush()? else {
            return Ok(None);
        };
        let record = batch.column(0).as_struct();
        let data = record.column(0).as_struct();
        let columns = data.columns().to_vec();
        let batch = RecordBatch::try_new_with_options(
            self.data_schema.clone(),
            columns,
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|e| Error::Internal(format!("record batch: {e}")))?;
        Ok(Some(batch))
    }
}

/// Whether a JSON value fits a column type without widening (`null` fits anything).
pub fn value_fits(v: &JsonValue, dt: &DataType) -> bool {
    use DataType::*;
    match (v, dt) {
        (JsonValue::Null, _) => true,
        (_, Utf8 | LargeUtf8) => true,
        (JsonValue::Bool(_), Boolean) => true,
        (JsonValue::Number(n), Int8 | Int16 | Int32 | Int64) => n.is_i64(),
        (JsonValue::Number(_), Float32 | Float64 | Decimal128(..)) => true,
        (JsonValue::String(s), Date32) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
        (JsonValue::String(s), Timestamp(..)) => {
            arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(s).is_ok()
        }
        (JsonValue::String(_), Binary) => true,
        (JsonValue::Object(map), Struct(fields)) => map.iter().all(|(k, v)| {
            fields
                .iter()
                .find(|f| f.name() == k)
                .is_some_and(|f| value_fits(v, f.data_type()))
        }),
        (JsonValue::Array(items), List(f)) => items.iter().all(|i| value_fits(i, f.data_type())),
        (JsonValue::Object(map), Map(entries, _)) => match entries.data_type() {
            Struct(kv) if kv.len() == 2 => map.values().all(|v| value_fits(v, kv[1].data_type())),
            _ => false,
        },
        _ => false,
    }
}

/// Whether a record (a JSON object) fits `schema`: every field is known and its value fits
/// the column type. A record that does not fit calls for a widened schema (see
/// [`crate::schema::JsonSchemaInferrer`]) and a new file.
pub fn record_fits(record: &JsonValue, schema: &Schema) -> bool {
    match record.as_object() {
        Some(map) => map
            .iter()
            .all(|(k, v)| schema.field_with_name(k).is_ok_and(|f| value_fits(v, f.data_type()))),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps() {
        let mut o = vec![];
        write_date(&mut o, 0);
        write_date(&mut o, 19_782);
        write_date(&mut o, -1);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "\"1970-01-01\"\"2024-02-29\"\"1969-12-31\""
        );
        let mut o = vec![];
        write_timestamp(&mut o, -1, TimeUnit::Microsecond, true);
        assert_eq!(String::from_utf8(o).unwrap(), "\"1969-12-31T23:59:59.999999Z\"");
        let mut o = vec![];
        write_decimal(&mut o, -12345, 3);
        write_decimal(&mut o, 5, 2);
        assert_eq!(String::from_utf8(o).unwrap(), "-12.3450.05");
    }

    #[test]
    fn expanded_years_read_back_what_the_writer_wrote() {
        for (micros, unit) in [
            (1_608_762_153_600_000_000i64, TimeUnit::Microsecond),
            (-1_608_762_153_600_000_000, TimeUnit::Microsecond),
            (-62_167_219_200_000_001, TimeUnit::Microsecond),
            (253_402_225_200_123_456, TimeUnit::Microsecond),
        ] {
            let mut o = vec![];
            write_timestamp(&mut o, micros, unit, true);
            let text: String = serde_json::from_slice(&o).unwrap();
            let d = TimestampDecoder::new(
                &DataType::Timestamp(unit, Some("UTC".into())),
                unit,
                &Some("UTC".into()),
            )
            .unwrap();
            assert_eq!(d.parse(&text).unwrap(), micros, "{text}");
        }
        assert_eq!(
            parse_expanded_timestamp("+052951-06-02T04:00:00+01:00"),
            parse_expanded_timestamp("+052951-06-02T03:00:00Z")
        );
        assert_eq!(parse_expanded_timestamp("2024-01-01T00:00:00Z"), None);
    }

    #[test]
    fn escaping() {
        let mut o = vec![];
        write_json_str(&mut o, "a\"b\\c\n\u{1}é😀");
        let s = String::from_utf8(o).unwrap();
        assert_eq!(serde_json::from_str::<String>(&s).unwrap(), "a\"b\\c\n\u{1}é😀");
    }
}
