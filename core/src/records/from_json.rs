//! JSON records → `RecordBatch`: Arrow's JSON decoder made lenient where Airbyte data
//! needs it, over JSON values ([`JsonRecordDecoder`]) or RECORD lines
//! ([`RecordLineDecoder`]), and whether a record fits a schema without widening.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::*;
use arrow::error::ArrowError;
use arrow::json::reader::{ArrayDecoder, DecoderContext, DecoderFactory, Tape, TapeElement};
use base64::Engine;
use serde_json::Value as JsonValue;

use super::json_text::{write_f32, write_f64, write_int, write_json_str};
use crate::error::{Error, Result};
use crate::schema::is_json_field;

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
    use super::super::json_text::write_timestamp;
    use super::*;

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
}

#[cfg(test)]
mod decoder_tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Int64Type, TimestampNanosecondType, TimestampSecondType};
    use serde_json::json;

    use super::*;

    fn schema(fields: Vec<Field>) -> SchemaRef {
        Arc::new(Schema::new(fields))
    }

    #[test]
    fn records_fill_batches_of_the_size_asked_and_bad_records_are_refused() {
        let s = schema(vec![Field::new("id", DataType::Int64, true)]);
        let mut d = JsonRecordDecoder::new(s.clone(), 2).unwrap();
        assert_eq!(d.schema(), &s);
        assert!(d.flush().unwrap().is_none(), "nothing buffered");
        d.push(br#"{"id": 1, "other": "ignored"}"#).unwrap();
        assert_eq!((d.buffered_rows(), d.is_full()), (1, false));
        d.push(br#"{}"#).unwrap();
        assert!(d.is_full());
        let batch = d.flush().unwrap().unwrap();
        assert_eq!(d.buffered_rows(), 0);
        let ids = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!((ids.value(0), ids.is_null(1)), (1, true));
        // Half an object, and a value of the wrong type.
        let e = d.push(br#"{"id": 1"#).unwrap_err().to_string();
        assert!(e.contains("not a complete JSON object"), "{e}");
        let mut d = JsonRecordDecoder::new(s, 2).unwrap();
        d.push(br#"{"id": [1, 2]}"#).unwrap();
        let e = d.flush().unwrap_err().to_string();
        assert!(e.contains("record does not fit the schema"), "{e}");
    }

    #[test]
    fn timestamps_of_every_unit_are_read_from_text_and_big_integers() {
        let s = schema(vec![
            Field::new("s", DataType::Timestamp(TimeUnit::Second, Some("+00:00".into())), true),
            Field::new("ns", DataType::Timestamp(TimeUnit::Nanosecond, None), true),
        ]);
        let mut d = JsonRecordDecoder::new(s, 8).unwrap();
        d.push(br#"{"s": "2024-01-02T03:04:05Z", "ns": "2024-01-02 03:04:05.123456789"}"#)
            .unwrap();
        // Beyond 32 bits: the number as it is, in the column's unit.
        d.push(br#"{"s": 4102444800, "ns": 1704164645123456789}"#).unwrap();
        d.push(br#"{"s": "2024-01-02T03:04:05+00:00", "ns": null}"#).unwrap();
        let batch = d.flush().unwrap().unwrap();
        let secs = batch.column(0).as_primitive::<TimestampSecondType>();
        assert_eq!(secs.values().to_vec(), [1_704_164_645, 4_102_444_800, 1_704_164_645]);
        let nanos = batch.column(1).as_primitive::<TimestampNanosecondType>();
        assert_eq!(nanos.value(0), 1_704_164_645_123_456_789);
        assert_eq!(nanos.value(1), 1_704_164_645_123_456_789);
        assert!(nanos.is_null(2));
        let mut d = JsonRecordDecoder::new(
            schema(vec![Field::new("s", DataType::Timestamp(TimeUnit::Second, None), true)]),
            8,
        )
        .unwrap();
        d.push(br#"{"s": "not a time"}"#).unwrap();
        let e = d.flush().unwrap_err().to_string();
        assert!(e.contains("whilst decoding field 's'"), "{e}");
        // Seconds in a string are not a time either (only numbers are).
        let mut d = JsonRecordDecoder::new(
            schema(vec![Field::new("s", DataType::Timestamp(TimeUnit::Second, None), true)]),
            8,
        )
        .unwrap();
        d.push(br#"{"s": "1704164645"}"#).unwrap();
        assert!(d.flush().is_err());
    }

    #[test]
    fn record_lines_decode_to_their_data_and_values_fit_maps() {
        let s = schema(vec![Field::new("id", DataType::Int64, true)]);
        let mut d = RecordLineDecoder::new(s.clone(), 10).unwrap();
        d.push(br#"{"type":"RECORD","record":{"stream":"x","data":{"id":7},"emitted_at":1}}"#)
            .unwrap();
        assert_eq!((d.buffered_rows(), d.is_full()), (1, false));
        let batch = d.flush().unwrap().unwrap();
        assert_eq!(batch.schema(), s);
        assert_eq!(batch.column(0).as_primitive::<Int64Type>().value(0), 7);
        assert!(d.flush().unwrap().is_none());
        let map = crate::schema::map_type(DataType::Int64);
        assert!(value_fits(&json!({"a": 1, "b": null}), &map));
        assert!(!value_fits(&json!({"a": "x"}), &map));
        let odd = DataType::Map(Arc::new(Field::new("e", DataType::Utf8, false)), false);
        assert!(!value_fits(&json!({"a": 1}), &odd));
    }
}
