//! A fast path for decoding JSON objects into a `RecordBatch` when every
//! column is a plain scalar (integer, number, boolean, string, date,
//! timestamp): one pass per object straight into the column builders — the
//! hand-written scan of [`flat_scan`](super::flat_scan) for the plainest
//! objects, a serde pass for the others — several times faster than Arrow's
//! JSON tape decoder on wide records.
//!
//! It only decodes what it is sure to decode exactly as Arrow's JSON decoder
//! (with this crate's lenient options) would: integers into integer columns,
//! strings into string columns, dates and timestamps parsed by Arrow's own
//! parsers. Anything else — a string in a number column, a number in a
//! string column, a nested value, a duplicate key, malformed JSON — makes
//! [`FlatJsonDecoder::decode`] give up on the batch (`None`), and the caller
//! decodes it with Arrow's decoder, which then also produces the errors.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::timezone::Tz;
use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, RecordBatch, RecordBatchOptions,
    StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::compute::kernels::cast_utils::{string_to_datetime, Parser};
use arrow::datatypes::{DataType, Date32Type, SchemaRef, TimeUnit};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::Deserializer as _;

use super::flat_scan::{same_key, scan_flat, Token};

/// The column types the fast path decodes.
#[derive(Debug, Clone)]
enum Kind {
    Int64,
    Float64,
    Boolean,
    Utf8,
    Date32,
    Micros(Tz),
}

impl Kind {
    fn of(data_type: &DataType) -> Option<Kind> {
        Some(match data_type {
            DataType::Int64 => Kind::Int64,
            DataType::Float64 => Kind::Float64,
            DataType::Boolean => Kind::Boolean,
            DataType::Utf8 => Kind::Utf8,
            DataType::Date32 => Kind::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, tz) => {
                Kind::Micros(tz.as_deref().unwrap_or("+00:00").parse().ok()?)
            }
            _ => return None,
        })
    }
}

enum Builder {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Boolean(BooleanBuilder),
    Utf8(StringBuilder),
    Date32(Date32Builder),
    Micros(TimestampMicrosecondBuilder, Tz),
}

impl Builder {
    fn new(kind: &Kind, rows: usize, text_bytes: usize) -> Builder {
        match kind {
            Kind::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
            Kind::Float64 => Builder::Float64(Float64Builder::with_capacity(rows)),
            Kind::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
            Kind::Utf8 => Builder::Utf8(StringBuilder::with_capacity(rows, text_bytes)),
            Kind::Date32 => Builder::Date32(Date32Builder::with_capacity(rows)),
            Kind::Micros(tz) => Builder::Micros(TimestampMicrosecondBuilder::with_capacity(rows), *tz),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Boolean(b) => b.append_null(),
            Builder::Utf8(b) => b.append_null(),
            Builder::Date32(b) => b.append_null(),
            Builder::Micros(b, _) => b.append_null(),
        }
    }

    /// Appends one value as Arrow's decoder reads it into this column;
    /// `None` for a value the fast path does not take.
    fn append(&mut self, token: Token) -> Option<()> {
        match (self, token) {
            (b, Token::Null) => b.append_null(),
            (Builder::Int64(b), Token::Int(v)) => b.append_value(v),
            // As Arrow: a JSON integer read as a double.
            (Builder::Float64(b), Token::Int(v)) => b.append_value(v as f64),
            (Builder::Float64(b), Token::Float(v)) => b.append_value(v),
            (Builder::Boolean(b), Token::Bool(v)) => b.append_value(v),
            (Builder::Utf8(b), Token::Str(v)) => b.append_value(v),
            (Builder::Date32(b), Token::Str(v)) => b.append_value(Date32Type::parse(v)?),
            (Builder::Micros(b, tz), Token::Str(v)) => {
                b.append_value(string_to_datetime(tz, v).ok()?.timestamp_micros())
            }
            _ => return None,
        }
        Some(())
    }

    fn finish(self, data_type: &DataType) -> ArrayRef {
        match self {
            Builder::Int64(mut b) => Arc::new(b.finish()),
            Builder::Float64(mut b) => Arc::new(b.finish()),
            Builder::Boolean(mut b) => Arc::new(b.finish()),
            Builder::Utf8(mut b) => Arc::new(b.finish()),
            Builder::Date32(mut b) => Arc::new(b.finish()),
            Builder::Micros(mut b, _) => Arc::new(b.finish().with_data_type(data_type.clone())),
        }
    }
}

/// Decodes batches of flat JSON objects for one schema (see the module docs).
#[derive(Debug)]
pub struct FlatJsonDecoder {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    index: HashMap<String, usize>,
}

impl FlatJsonDecoder {
    /// A decoder for `schema`, or `None` when a column's type is not one the
    /// fast path handles.
    pub fn new(schema: SchemaRef) -> Option<Self> {
        let kinds = schema
            .fields()
            .iter()
            .map(|f| Kind::of(f.data_type()))
            .collect::<Option<Vec<_>>>()?;
        let index = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name().clone(), i))
            .collect::<HashMap<_, _>>();
        if index.len() != kinds.len() {
            return None;
        }
        Some(FlatJsonDecoder { schema, kinds, index })
    }

    /// Decodes `rows` (one JSON object each) into one batch, or `None` when
    /// any of them needs Arrow's decoder.
    pub fn decode(&self, rows: &[&str], text_bytes: usize) -> Option<RecordBatch> {
        let n = rows.len();
        let mut state = RowState {
            decoder: self,
            builders: self.kinds.iter().map(|k| Builder::new(k, n, text_bytes)).collect(),
            seen: vec![u32::MAX; self.kinds.len()],
            order: vec![],
            row: 0,
        };
        let mut tokens: Vec<(usize, Token)> = Vec::with_capacity(self.kinds.len());
        for (row, text) in rows.iter().enumerate() {
            state.row = u32::try_from(row).ok()?;
            tokens.clear();
            let mut k = 0;
            let scanned = scan_flat(text, |key, token| {
                if let Some(col) = state.column(k, key) {
                    tokens.push((col, token));
                }
                k += 1;
                Some(())
            });
            if scanned.is_some() {
                for &(col, token) in &tokens {
                    if std::mem::replace(&mut state.seen[col], state.row) == state.row {
                        return None;
                    }
                    state.builders[col].append(token)?;
                }
            } else {
                // Escapes, big numbers, nested values of other keys: serde reads the row.
                let mut de = serde_json::Deserializer::from_str(text);
                de.deserialize_map(RowVisitor(&mut state)).ok()?;
                de.end().ok()?;
            }
            for (col, seen) in state.seen.iter().enumerate() {
                if *seen != state.row {
                    if !self.schema.field(col).is_nullable() {
                        return None;
                    }
                    state.builders[col].append_null();
                }
            }
        }
        let columns = state
            .builders
            .into_iter()
            .zip(self.schema.fields())
            .map(|(b, f)| b.finish(f.data_type()))
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(n));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options).ok()
    }
}

struct RowState<'d> {
    decoder: &'d FlatJsonDecoder,
    builders: Vec<Builder>,
    /// The row each column was last set in.
    seen: Vec<u32>,
    /// The column of the previous row's k-th key: most inputs keep one key order.
    order: Vec<usize>,
    row: u32,
}

impl RowState<'_> {
    /// The column of the row's `k`-th key, `key` (`None`: not in the schema).
    fn column(&mut self, k: usize, key: &str) -> Option<usize> {
        if let Some(&col) = self.order.get(k) {
            if same_key(self.decoder.schema.field(col).name(), key) {
                return Some(col);
            }
        }
        let col = self.decoder.index.get(key).copied();
        if let Some(c) = col {
            if self.order.len() <= k {
                self.order.resize(k + 1, c);
            }
            self.order[k] = c;
        }
        col
    }
}

/// Gives up on the batch.
fn bail<E: de::Error>() -> E {
    E::custom("not a flat record")
}

struct RowVisitor<'s, 'd>(&'s mut RowState<'d>);

impl<'de> Visitor<'de> for RowVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        let mut k = 0;
        while let Some(col) = map.next_key_seed(KeySeed { state, k })? {
            k += 1;
            let Some(col) = col else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if state.seen[col] == state.row {
                return Err(bail());
            }
            state.seen[col] = state.row;
            map.next_value_seed(ValueSeed(&mut state.builders[col]))?;
        }
        Ok(())
    }
}

/// Resolves a key to its column (`None`: not in the schema).
struct KeySeed<'s, 'd> {
    state: &'s mut RowState<'d>,
    k: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<usize>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.state.column(self.k, key))
    }
}

/// Appends one value to its column's builder.
struct ValueSeed<'b>(&'b mut Builder);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.append(Token::Null).ok_or_else(bail)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.0.append(Token::Int(v)).ok_or_else(bail)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match (i64::try_from(v), &mut *self.0) {
            (Ok(v), _) => self.visit_i64(v),
            // As Arrow: a JSON integer read as a double.
            (Err(_), Builder::Float64(b)) => {
                b.append_value(v as f64);
                Ok(())
            }
            _ => Err(bail()),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.0.append(Token::Float(v)).ok_or_else(bail)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.0.append(Token::Bool(v)).ok_or_else(bail)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.append(Token::Str(v)).ok_or_else(bail)
    }
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{Field, Schema};

    use super::super::from_json::JsonRecordDecoder;
    use super::*;
    use crate::schema::timestamp_utc;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", timestamp_utc(), true),
        ]))
    }

    fn both(rows: &[&str]) -> (Option<RecordBatch>, RecordBatch) {
        let fast = FlatJsonDecoder::new(schema()).unwrap();
        let text: usize = rows.iter().map(|r| r.len()).sum();
        let ours = fast.decode(rows, text);
        let mut arrow = JsonRecordDecoder::new(schema(), rows.len()).unwrap();
        for r in rows {
            arrow.push(r.as_bytes()).unwrap();
        }
        (ours, arrow.flush().unwrap().unwrap())
    }

    #[test]
    fn decodes_exactly_as_arrow() {
        let rows = [
            r#"{"i": 1, "f": 1.5, "b": true, "s": "a\"\u00e9\n", "d": "2024-02-29", "t": "2024-01-01T00:00:00Z"}"#,
            r#"{"t": "2024-01-01T01:02:03.123456+02:00", "s": "", "i": -9223372036854775808, "f": 7, "extra": {"x": [1, 2]}}"#,
            r#"{"i": null, "f": 1e300, "b": false, "s": null, "d": null, "t": "2024-06-01 10:00:00"}"#,
            r#"{}"#,
            r#"{"f": 18446744073709551615, "i": 9223372036854775807}"#,
        ];
        let (ours, arrow) = both(&rows);
        assert_eq!(ours.expect("fast path"), arrow);
    }

    #[test]
    fn leaves_the_rest_to_arrow() {
        for row in [
            r#"{"i": "1"}"#,
            r#"{"i": 1.5}"#,
            r#"{"i": 18446744073709551615}"#,
            r#"{"s": 1}"#,
            r#"{"s": {"nested": true}}"#,
            r#"{"b": "true"}"#,
            r#"{"d": "yesterday"}"#,
            r#"{"t": 1700000000}"#,
            r#"{"i": 1, "i": 2}"#,
            r#"{"i": 1"#,
            r#"{"i": 1} x"#,
            r#"[1]"#,
        ] {
            let fast = FlatJsonDecoder::new(schema()).unwrap();
            assert!(fast.decode(&[row], row.len()).is_none(), "{row}");
        }
    }

    #[test]
    fn only_flat_schemas() {
        let nested = Schema::new(vec![Field::new(
            "o",
            DataType::Struct(vec![Field::new("x", DataType::Int64, true)].into()),
            true,
        )]);
        assert!(FlatJsonDecoder::new(Arc::new(nested)).is_none());
        let required = Arc::new(Schema::new(vec![Field::new("i", DataType::Int64, false)]));
        let fast = FlatJsonDecoder::new(required).unwrap();
        assert!(fast.decode(&["{}"], 2).is_none());
        assert!(fast.decode(&["{\"i\":3}"], 7).is_some());
    }
}
