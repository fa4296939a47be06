//! CSV fields written straight from Arrow columns into the output buffer.
//!
//! A value is written as the text [`to_text`] gives it — strings as they are, everything
//! else as the JSON the RECORD serializer writes, a quoted scalar unquoted — and then quoted
//! when CSV needs it. The flat scalar types (integers, floats, booleans, decimals, dates,
//! timestamps, times of day) are written by the JSON text primitives directly into the row
//! buffer, with no string per value; every other type (nested values, binary, durations,
//! dictionaries, …) goes through [`to_text`] a column at a time, as before.

use std::cell::RefCell;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::*;

use crate::error::Result;
use crate::formats::conform::to_text;
use crate::records::{write_date, write_decimal, write_f32, write_f64, write_int, write_time_of_day, write_timestamp};

/// Writes the field of row `i` (not null) into the buffer.
type FieldFn<'a> = Box<dyn Fn(usize, &mut Vec<u8>) + 'a>;

/// One column's CSV field writer.
pub(super) struct CsvColumn<'a> {
    array: &'a dyn Array,
    write: FieldFn<'a>,
}

impl CsvColumn<'_> {
    /// Appends row `i`'s field to `out`: nothing for a null.
    #[inline]
    pub(super) fn write(&self, i: usize, out: &mut Vec<u8>) {
        if !self.array.is_null(i) {
            (self.write)(i, out);
        }
    }
}

/// How a column's JSON text becomes its CSV text.
#[derive(Clone, Copy)]
enum Json {
    /// Unquoted (numbers, booleans): as it is.
    Bare,
    /// A quoted string without escapes (dates, timestamps, times): without its quotes.
    Quoted,
}

/// A writer of `f`'s JSON text of row `i` as a CSV field delimited by `delimiter`.
fn json_field<'a>(
    array: &'a dyn Array,
    delimiter: u8,
    json: Json,
    f: impl Fn(usize, &mut Vec<u8>) + 'a,
) -> CsvColumn<'a> {
    // These texts hold only digits, letters, `-+.:` and never a quote, a line break or an
    // outer space: under any other delimiter (`,`, tab, `;`, `|`, …) they need no check.
    let check = delimiter.is_ascii_alphanumeric() || b"-+.: \"\r\n".contains(&delimiter);
    let write: FieldFn<'a> = Box::new(move |i, out| {
        let start = out.len();
        f(i, out);
        if let Json::Quoted = json {
            let end = out.len();
            out.copy_within(start + 1..end - 1, start);
            out.truncate(end - 2);
        }
        if check {
            quote_appended(out, start, delimiter);
        }
    });
    CsvColumn { array, write }
}

fn prim<'a, T: ArrowPrimitiveType>(
    array: &'a dyn Array,
    delimiter: u8,
    json: Json,
    f: impl Fn(T::Native, &mut Vec<u8>) + 'a,
) -> CsvColumn<'a> {
    let values = array.as_primitive::<T>().values();
    json_field(array, delimiter, json, move |i, out| f(values[i], out))
}

/// The field writer of `array`'s column. `owned` keeps the text of a column written
/// through [`to_text`] (its writer borrows it).
pub(super) fn csv_column<'a>(
    array: &'a ArrayRef,
    delimiter: u8,
    owned: &'a mut Option<StringArray>,
) -> Result<CsvColumn<'a>> {
    use Json::{Bare, Quoted};
    let a: &'a dyn Array = array.as_ref();
    Ok(match a.data_type() {
        DataType::Utf8 => {
            let s = a.as_string::<i32>();
            CsvColumn {
                array: a,
                write: Box::new(move |i, out| csv_field(out, s.value(i).as_bytes(), delimiter)),
            }
        }
        DataType::Boolean => {
            let b = a.as_boolean();
            json_field(a, delimiter, Bare, move |i, out| {
                out.extend_from_slice(if b.value(i) { b"true" } else { b"false" })
            })
        }
        DataType::Int8 => prim::<Int8Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::Int16 => prim::<Int16Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::Int32 => prim::<Int32Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::Int64 => prim::<Int64Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::UInt8 => prim::<UInt8Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::UInt16 => prim::<UInt16Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::UInt32 => prim::<UInt32Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::UInt64 => prim::<UInt64Type>(a, delimiter, Bare, |v, o| write_int(o, v)),
        DataType::Float32 => prim::<Float32Type>(a, delimiter, Bare, |v, o| write_f32(o, v)),
        DataType::Float64 => prim::<Float64Type>(a, delimiter, Bare, |v, o| write_f64(o, v)),
        DataType::Decimal32(_, scale) => {
            let scale = *scale;
            prim::<Decimal32Type>(a, delimiter, Bare, move |v, o| write_decimal(o, i128::from(v), scale))
        }
        DataType::Decimal64(_, scale) => {
            let scale = *scale;
            prim::<Decimal64Type>(a, delimiter, Bare, move |v, o| write_decimal(o, i128::from(v), scale))
        }
        DataType::Decimal128(_, scale) => {
            let scale = *scale;
            prim::<Decimal128Type>(a, delimiter, Bare, move |v, o| write_decimal(o, v, scale))
        }
        DataType::Date32 => prim::<Date32Type>(a, delimiter, Quoted, |v, o| write_date(o, i64::from(v))),
        DataType::Date64 => prim::<Date64Type>(a, delimiter, Quoted, |v, o| write_date(o, v.div_euclid(86_400_000))),
        DataType::Timestamp(unit, tz) => {
            let (unit, utc) = (*unit, tz.is_some());
            let values: &'a [i64] = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().values(),
                TimeUnit::Millisecond => a.as_primitive::<TimestampMillisecondType>().values(),
                TimeUnit::Microsecond => a.as_primitive::<TimestampMicrosecondType>().values(),
                TimeUnit::Nanosecond => a.as_primitive::<TimestampNanosecondType>().values(),
            };
            // The text of the previous row's value, written again when the value repeats
            // (a sync's extraction time, a file's modification time: the same on every row).
            let last: RefCell<(Option<i64>, Vec<u8>)> = RefCell::new((None, Vec::with_capacity(40)));
            json_field(a, delimiter, Quoted, move |i, out| {
                let v = values[i];
                let mut last = last.borrow_mut();
                if last.0 != Some(v) {
                    last.1.clear();
                    write_timestamp(&mut last.1, v, unit, utc);
                    last.0 = Some(v);
                }
                out.extend_from_slice(&last.1);
            })
        }
        DataType::Time32(TimeUnit::Second) => prim::<Time32SecondType>(a, delimiter, Quoted, |v, o| {
            write_time_of_day(o, i64::from(v) * 1_000_000_000, 0)
        }),
        DataType::Time32(_) => prim::<Time32MillisecondType>(a, delimiter, Quoted, |v, o| {
            write_time_of_day(o, i64::from(v) * 1_000_000, 3)
        }),
        DataType::Time64(TimeUnit::Nanosecond) => {
            prim::<Time64NanosecondType>(a, delimiter, Quoted, |v, o| write_time_of_day(o, v, 9))
        }
        DataType::Time64(_) => {
            prim::<Time64MicrosecondType>(a, delimiter, Quoted, |v, o| write_time_of_day(o, v * 1_000, 6))
        }
        _ => {
            // Any other type: its text as [`to_text`] makes it, a string column's empty
            // values quoted (they differ from nulls), another's left empty as nulls are.
            let is_string = matches!(a.data_type(), DataType::LargeUtf8 | DataType::Utf8View);
            let text: &'a StringArray = owned.insert(to_text(array)?.as_string::<i32>().clone());
            CsvColumn {
                array: text,
                write: Box::new(move |i, out| {
                    let s = text.value(i).as_bytes();
                    if is_string || !s.is_empty() {
                        csv_field(out, s, delimiter);
                    }
                }),
            }
        }
    })
}

/// Whether a field's text must be quoted: empty (so it differs from a null), holding the
/// delimiter, a quote or a line break, or starting or ending with a space.
#[inline]
fn needs_quotes(s: &[u8], delimiter: u8) -> bool {
    let Some((&first, _)) = s.split_first() else {
        return true;
    };
    first == b' '
        || s[s.len() - 1] == b' '
        || memchr::memchr3(delimiter, b'"', b'\n', s).is_some()
        || memchr::memchr(b'\r', s).is_some()
}

/// Appends one CSV field, quoted (inner quotes doubled) when [`needs_quotes`] says so.
pub(super) fn csv_field(out: &mut Vec<u8>, s: &[u8], delimiter: u8) {
    if !needs_quotes(s, delimiter) {
        out.extend_from_slice(s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in s.iter().enumerate() {
        if b == b'"' {
            out.extend_from_slice(&s[start..=i]);
            out.push(b'"');
            start = i + 1;
        }
    }
    out.extend_from_slice(&s[start..]);
    out.push(b'"');
}

/// Quotes the text appended to `out` since `start`, when it needs quotes (a number or a
/// date holds no delimiter but an unusual one: rare, so the copy costs nothing on the way).
/// An empty text stays empty, as a null does.
#[inline]
fn quote_appended(out: &mut Vec<u8>, start: usize, delimiter: u8) {
    if out.len() > start && needs_quotes(&out[start..], delimiter) {
        let text = out.split_off(start);
        csv_field(out, &text, delimiter);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::*;
    use arrow::buffer::OffsetBuffer;
    use arrow::datatypes::{Field, Fields};

    use super::*;
    use crate::formats::{new_writer, FileFormat, WriteOptions};

    /// The writer before the direct fields, kept as the reference: every column through
    /// [`to_text`] into a string array, then quoted field by field.
    fn reference_rows(batch: &RecordBatch, delimiter: u8) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, f) in batch.schema().fields().iter().enumerate() {
            if i > 0 {
                out.push(delimiter);
            }
            csv_field(&mut out, f.name().as_bytes(), delimiter);
        }
        out.extend_from_slice(b"\r\n");
        let texts: Vec<ArrayRef> = batch.columns().iter().map(|c| to_text(c).unwrap()).collect();
        let is_string: Vec<bool> = batch
            .columns()
            .iter()
            .map(|c| matches!(c.data_type(), DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
            .collect();
        for i in 0..batch.num_rows() {
            for (j, t) in texts.iter().enumerate() {
                if j > 0 {
                    out.push(delimiter);
                }
                if t.is_null(i) {
                    continue;
                }
                let s = t.as_string::<i32>().value(i);
                if is_string[j] || !s.is_empty() {
                    csv_field(&mut out, s.as_bytes(), delimiter);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Every type the direct fields write, and some they hand to [`to_text`], with nulls,
    /// empty strings, unicode, quotes, line breaks, extremes, NaN and expanded years.
    fn every_kind() -> RecordBatch {
        let st = Fields::from(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let obj = StructArray::new(
            st,
            vec![
                Arc::new(Int64Array::from(vec![Some(1), None, None, Some(3), None])) as ArrayRef,
                Arc::new(StringArray::from(vec![
                    Some("x\"q"),
                    None,
                    Some("y,\n"),
                    None,
                    Some(""),
                ])),
            ],
            Some(vec![true, false, true, true, true].into()),
        );
        let tags = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int64, true)),
            OffsetBuffer::new(vec![0, 2, 2, 2, 4, 4].into()),
            Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(5)])),
            Some(vec![true, true, false, true, true].into()),
        );
        let dict: DictionaryArray<Int32Type> = vec![Some("fr"), None, Some(""), Some("fr"), Some("a b ")]
            .into_iter()
            .collect();
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "s",
                Arc::new(StringArray::from(vec![
                    Some(""),
                    Some("héllo 😀 \u{1} tab\there"),
                    Some("a\"b,\nc"),
                    None,
                    Some(" x"),
                ])),
            ),
            (
                "ls",
                Arc::new(LargeStringArray::from(vec![
                    Some(""),
                    None,
                    Some("a;b"),
                    Some("é "),
                    Some("\r"),
                ])),
            ),
            (
                "sv",
                Arc::new(StringViewArray::from(vec![
                    Some("q\"\""),
                    Some(""),
                    None,
                    Some("a longer string of text, past twelve bytes"),
                    Some("t\tt"),
                ])),
            ),
            (
                "b",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                    Some(false),
                ])),
            ),
            (
                "i8",
                Arc::new(Int8Array::from(vec![
                    Some(i8::MIN),
                    Some(0),
                    None,
                    Some(i8::MAX),
                    Some(-1),
                ])),
            ),
            (
                "i16",
                Arc::new(Int16Array::from(vec![
                    Some(i16::MIN),
                    Some(0),
                    None,
                    Some(i16::MAX),
                    Some(7),
                ])),
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![
                    Some(i32::MIN),
                    Some(0),
                    None,
                    Some(i32::MAX),
                    Some(-70),
                ])),
            ),
            (
                "i64",
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(0),
                    Some(i64::MAX),
                    None,
                    Some(1234),
                ])),
            ),
            (
                "u8",
                Arc::new(UInt8Array::from(vec![Some(u8::MAX), Some(0), None, Some(1), Some(2)])),
            ),
            (
                "u16",
                Arc::new(UInt16Array::from(vec![Some(u16::MAX), Some(0), None, Some(1), Some(2)])),
            ),
            (
                "u32",
                Arc::new(UInt32Array::from(vec![Some(u32::MAX), Some(0), None, Some(1), Some(2)])),
            ),
            (
                "u64",
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), Some(0), None, Some(1), Some(2)])),
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![
                    Some(1.5),
                    Some(f32::NAN),
                    None,
                    Some(-0.0),
                    Some(3.4e38),
                ])),
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![
                    Some(1.5),
                    Some(-2.25e-7),
                    None,
                    Some(1e300),
                    Some(f64::INFINITY),
                ])),
            ),
            (
                "f16",
                arrow::compute::cast(
                    &Float32Array::from(vec![Some(1.5), None, Some(f32::NAN), Some(0.0), Some(65_504.0)]),
                    &DataType::Float16,
                )
                .unwrap(),
            ),
            (
                "d32",
                Arc::new(
                    Decimal32Array::from(vec![Some(12_345), Some(-5), None, Some(0), Some(-99_999)])
                        .with_precision_and_scale(9, 3)
                        .unwrap(),
                ),
            ),
            (
                "d64",
                Arc::new(
                    Decimal64Array::from(vec![Some(12_345), Some(-5), None, Some(0), Some(7)])
                        .with_precision_and_scale(18, -2)
                        .unwrap(),
                ),
            ),
            (
                "d128",
                Arc::new(
                    Decimal128Array::from(vec![
                        Some(12_345),
                        Some(-5),
                        None,
                        Some(0),
                        Some(i128::from(i64::MAX) * 1000),
                    ])
                    .with_precision_and_scale(38, 2)
                    .unwrap(),
                ),
            ),
            (
                "d256",
                Arc::new(
                    Decimal256Array::from(vec![
                        Some(i256::from_i128(-12_345)),
                        None,
                        Some(i256::ZERO),
                        Some(i256::from_i128(5)),
                        Some(i256::from_i128(1)),
                    ])
                    .with_precision_and_scale(40, 4)
                    .unwrap(),
                ),
            ),
            (
                "date32",
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(19_782),
                    Some(-1),
                    None,
                    Some(3_000_000),
                ])),
            ),
            (
                "date64",
                Arc::new(Date64Array::from(vec![
                    Some(0),
                    Some(-86_400_001),
                    None,
                    Some(1_700_000_000_000),
                    Some(86_400_000),
                ])),
            ),
            (
                "ts_s",
                Arc::new(TimestampSecondArray::from(vec![
                    Some(0),
                    Some(-1),
                    None,
                    Some(1_700_000_000),
                    Some(253_402_300_800),
                ])),
            ),
            (
                "ts_ms",
                Arc::new(
                    TimestampMillisecondArray::from(vec![Some(0), Some(-1), None, Some(1_700_000_000_123), Some(5)])
                        .with_timezone("+02:00"),
                ),
            ),
            (
                "ts_us",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![
                        Some(0),
                        Some(1_700_000_000_123_456),
                        Some(-1),
                        None,
                        Some(-62_167_219_200_000_001),
                    ])
                    .with_timezone("UTC"),
                ),
            ),
            (
                "ts_ns",
                Arc::new(TimestampNanosecondArray::from(vec![
                    Some(0),
                    Some(-1),
                    None,
                    Some(1_700_000_000_123_456_789),
                    Some(i64::MIN),
                ])),
            ),
            (
                "ts_repeated",
                Arc::new(
                    TimestampMicrosecondArray::from(vec![Some(7), Some(7), None, Some(7), Some(-7)])
                        .with_timezone("UTC"),
                ),
            ),
            (
                "t32s",
                Arc::new(Time32SecondArray::from(vec![
                    Some(0),
                    Some(86_399),
                    None,
                    Some(3_600),
                    Some(1),
                ])),
            ),
            (
                "t32ms",
                Arc::new(Time32MillisecondArray::from(vec![
                    Some(0),
                    Some(86_399_999),
                    None,
                    Some(3_600_001),
                    Some(1),
                ])),
            ),
            (
                "t64us",
                Arc::new(Time64MicrosecondArray::from(vec![
                    Some(0),
                    Some(86_399_999_999),
                    None,
                    Some(1),
                    Some(2),
                ])),
            ),
            (
                "t64ns",
                Arc::new(Time64NanosecondArray::from(vec![
                    Some(0),
                    Some(86_399_999_999_999),
                    None,
                    Some(1),
                    Some(2),
                ])),
            ),
            (
                "bin",
                Arc::new(BinaryArray::from(vec![
                    Some(&b"\x00\xff"[..]),
                    Some(&b""[..]),
                    None,
                    Some(&b"abc"[..]),
                    Some(&b"\""[..]),
                ])),
            ),
            (
                "dur",
                Arc::new(DurationSecondArray::from(vec![
                    Some(1),
                    None,
                    Some(-3),
                    Some(0),
                    Some(86_400),
                ])),
            ),
            ("dict", Arc::new(dict)),
            ("obj", Arc::new(obj)),
            ("tags", Arc::new(tags)),
            ("nulls", Arc::new(NullArray::new(5))),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// The direct fields write the very bytes the text columns did, whatever the delimiter
    /// (even one that numbers, dates or JSON text hold).
    #[test]
    fn fields_are_the_bytes_the_text_columns_made() {
        let batch = every_kind();
        for delimiter in [
            b',', b'\t', b';', b'|', b'.', b'-', b'0', b'1', b':', b'T', b'Z', b'e', b'n', b' ', b'{', b'"', b'+',
            b'a', b'E', b'/', b'\\',
        ] {
            let opts = WriteOptions {
                csv_delimiter: delimiter,
                ..WriteOptions::default()
            };
            let mut w = new_writer(FileFormat::Csv, "", batch.schema(), Vec::new(), &opts).unwrap();
            w.write(&batch).unwrap();
            w.write(&batch.slice(1, 3)).unwrap();
            let got = w.finish().unwrap();
            let mut want = reference_rows(&batch, delimiter);
            let again = reference_rows(&batch.slice(1, 3), delimiter);
            let header = again.iter().position(|&b| b == b'\n').unwrap() + 1;
            want.extend_from_slice(&again[header..]);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "delimiter {:?}",
                delimiter as char
            );
        }
    }

    #[test]
    fn quoting() {
        let field = |s: &str| {
            let mut out = Vec::new();
            csv_field(&mut out, s.as_bytes(), b',');
            String::from_utf8(out).unwrap()
        };
        assert_eq!(field("plain"), "plain");
        assert_eq!(field(""), "\"\"");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("\"\""), "\"\"\"\"\"\"");
        assert_eq!(field(" lead"), "\" lead\"");
        assert_eq!(field("trail "), "\"trail \"");
        assert_eq!(field("line\nbreak\r"), "\"line\nbreak\r\"");
    }
}
