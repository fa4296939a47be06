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
//!
//! [`FlatRows`] decodes one row at a time (on the thread that reads the
//! records, which then need no second scan): a row it does not take leaves
//! nothing behind, and the caller keeps its text for the batch path.
//! Timestamps in the usual UTC spellings are read by
//! [`timestamp_scan`](super::timestamp_scan), the others by Arrow's parser.

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
use super::timestamp_scan::utc_micros;

/// The column types the fast path decodes.
#[derive(Debug, Clone)]
enum Kind {
    Int64,
    Float64,
    Boolean,
    Utf8,
    Date32,
    /// A timestamp column in a time zone; whether it is UTC.
    Micros(Tz, bool),
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
                let zone = tz.as_deref().unwrap_or("+00:00");
                let utc = matches!(zone, "UTC" | "+00:00" | "Z");
                Kind::Micros(zone.parse().ok()?, utc)
            }
            _ => return None,
        })
    }
}

/// One value converted for its column, ready to append (a string as its
/// place in the row's text, so cells outlive no borrow).
#[derive(Debug, Clone, Copy)]
enum Cell {
    Null,
    I64(i64),
    F64(f64),
    Bool(bool),
    I32(i32),
    Str(usize, usize),
}

impl Kind {
    /// `token` as this column's cell, read as Arrow's decoder reads it;
    /// `None` for a value the fast path does not take. `text` is the row
    /// the token was scanned from.
    fn cell(&self, token: Token, text: &str) -> Option<Cell> {
        Some(match (self, token) {
            (_, Token::Null) => Cell::Null,
            (Kind::Int64, Token::Int(v)) => Cell::I64(v),
            // As Arrow: a JSON integer read as a double.
            (Kind::Float64, Token::Int(v)) => Cell::F64(v as f64),
            (Kind::Float64, Token::Float(v)) => Cell::F64(v),
            (Kind::Boolean, Token::Bool(v)) => Cell::Bool(v),
            (Kind::Utf8, Token::Str(v)) => {
                let start = (v.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
                text.get(start..start + v.len())?;
                Cell::Str(start, start + v.len())
            }
            (Kind::Date32, Token::Str(v)) => Cell::I32(Date32Type::parse(v)?),
            (Kind::Micros(tz, utc), Token::Str(v)) => Cell::I64(match utc.then(|| utc_micros(v)).flatten() {
                Some(micros) => micros,
                None => string_to_datetime(tz, v).ok()?.timestamp_micros(),
            }),
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
    Micros(TimestampMicrosecondBuilder),
}

impl Builder {
    fn new(kind: &Kind, rows: usize, text_bytes: usize) -> Builder {
        match kind {
            Kind::Int64 => Builder::Int64(Int64Builder::with_capacity(rows)),
            Kind::Float64 => Builder::Float64(Float64Builder::with_capacity(rows)),
            Kind::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
            Kind::Utf8 => Builder::Utf8(StringBuilder::with_capacity(rows, text_bytes)),
            Kind::Date32 => Builder::Date32(Date32Builder::with_capacity(rows)),
            Kind::Micros(..) => Builder::Micros(TimestampMicrosecondBuilder::with_capacity(rows)),
        }
    }

    fn append_null(&mut self) {
        match self {
            Builder::Int64(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Boolean(b) => b.append_null(),
            Builder::Utf8(b) => b.append_null(),
            Builder::Date32(b) => b.append_null(),
            Builder::Micros(b) => b.append_null(),
        }
    }

    /// Appends a cell made by this column's [`Kind::cell`] from a token of `text`.
    fn push(&mut self, cell: Cell, text: &str) {
        match (self, cell) {
            (Builder::Int64(b), Cell::I64(v)) => b.append_value(v),
            (Builder::Micros(b), Cell::I64(v)) => b.append_value(v),
            (Builder::Float64(b), Cell::F64(v)) => b.append_value(v),
            (Builder::Boolean(b), Cell::Bool(v)) => b.append_value(v),
            (Builder::Date32(b), Cell::I32(v)) => b.append_value(v),
            (Builder::Utf8(b), Cell::Str(start, end)) => b.append_value(text.get(start..end).unwrap_or_default()),
            // Null, and (never: cells are made for their column) a cell of another type.
            (b, _) => b.append_null(),
        }
    }

    fn finish(self, data_type: &DataType) -> ArrayRef {
        match self {
            Builder::Int64(mut b) => Arc::new(b.finish()),
            Builder::Float64(mut b) => Arc::new(b.finish()),
            Builder::Boolean(mut b) => Arc::new(b.finish()),
            Builder::Utf8(mut b) => Arc::new(b.finish()),
            Builder::Date32(mut b) => Arc::new(b.finish()),
            Builder::Micros(mut b) => Arc::new(b.finish().with_data_type(data_type.clone())),
        }
    }
}

/// Decodes batches of flat JSON objects for one schema (see the module docs).
#[derive(Debug)]
pub struct FlatJsonDecoder {
    schema: SchemaRef,
    kinds: Vec<Kind>,
    index: HashMap<String, usize>,
    /// A key not in the schema refuses the row (see [`FlatJsonDecoder::strict`]).
    strict: bool,
    /// Whether every column takes nulls (a missing key needs no check).
    all_nullable: bool,
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
        let all_nullable = schema.fields().iter().all(|f| f.is_nullable());
        Some(FlatJsonDecoder {
            schema,
            kinds,
            index,
            strict: false,
            all_nullable,
        })
    }

    /// A decoder for rows that must fit `schema` as
    /// [`TextFits`](super::TextFits) judges them (a schema inferred from the
    /// records): [`FlatRows::push`] takes a row only when it fits — no key
    /// outside the schema — so a row it takes needs no fit check of its own.
    /// `None` unless every column is an integer, number, boolean or string.
    pub fn strict(schema: SchemaRef) -> Option<Self> {
        let decoder = FlatJsonDecoder::new(schema)?;
        let plain = |k: &Kind| matches!(k, Kind::Int64 | Kind::Float64 | Kind::Boolean | Kind::Utf8);
        decoder.kinds.iter().all(plain).then_some(FlatJsonDecoder {
            strict: true,
            ..decoder
        })
    }

    /// The schema of the batches made.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Decodes `rows` (one JSON object each) into one batch, or `None` when
    /// any of them needs Arrow's decoder.
    pub fn decode(&self, rows: &[&str], text_bytes: usize) -> Option<RecordBatch> {
        let mut state = RowState::new(self, rows.len(), text_bytes);
        for text in rows {
            match state.push_scanned(text) {
                Scanned::Appended => {}
                Scanned::Refused => return None,
                // Escapes, big numbers, nested values of other keys: serde reads the row.
                Scanned::Shape => state.push_serde(text)?,
            }
        }
        state.finish()
    }
}

/// Rows decoded one at a time into the columns of a batch, on the thread
/// that reads them: each row is scanned once (by hand; a row the hand scan
/// does not take is refused, and the caller keeps its text for Arrow's
/// decoder).
pub struct FlatRows {
    state: RowState<Arc<FlatJsonDecoder>>,
}

impl FlatRows {
    /// Rows for `decoder`'s schema, room made for `rows` rows of `text_bytes` bytes of text.
    pub fn new(decoder: Arc<FlatJsonDecoder>, rows: usize, text_bytes: usize) -> Self {
        FlatRows {
            state: RowState::new(decoder, rows, text_bytes),
        }
    }

    /// Decodes one row (a JSON object) into the columns: `false`, with
    /// nothing appended, when the fast path does not take it.
    pub fn push(&mut self, text: &str) -> bool {
        matches!(self.state.push_scanned(text), Scanned::Appended)
    }

    /// Rows decoded.
    pub fn len(&self) -> usize {
        self.state.row as usize
    }

    /// Whether no row is decoded.
    pub fn is_empty(&self) -> bool {
        self.state.row == 0
    }

    /// The batch of the rows decoded.
    pub fn finish(self) -> Option<RecordBatch> {
        self.state.finish()
    }
}

/// What the hand scan made of a row.
enum Scanned {
    Appended,
    /// Not in the shape the hand scan takes (nothing appended): serde may take it.
    Shape,
    /// A value the fast path does not take (nothing appended).
    Refused,
}

struct RowState<D: std::ops::Deref<Target = FlatJsonDecoder>> {
    decoder: D,
    builders: Vec<Builder>,
    /// The attempt (`stamp`) in which each column was last set.
    seen: Vec<u32>,
    /// Counts the rows tried, taken or not.
    stamp: u32,
    /// Rows appended.
    row: u32,
    /// The column of the previous row's k-th key: most inputs keep one key order.
    order: Vec<usize>,
    /// The current row's cells, checked before any is appended.
    cells: Vec<(usize, Cell)>,
}

impl<D: std::ops::Deref<Target = FlatJsonDecoder>> RowState<D> {
    fn new(decoder: D, rows: usize, text_bytes: usize) -> Self {
        RowState {
            builders: decoder
                .kinds
                .iter()
                .map(|k| Builder::new(k, rows, text_bytes))
                .collect(),
            seen: vec![u32::MAX; decoder.kinds.len()],
            cells: Vec::with_capacity(decoder.kinds.len()),
            decoder,
            stamp: 0,
            row: 0,
            order: vec![],
        }
    }

    /// Starts a row; `None` past `u32::MAX` rows.
    fn next_stamp(&mut self) -> Option<()> {
        self.stamp = self.stamp.checked_add(1).filter(|&s| s != u32::MAX)?;
        Some(())
    }

    /// Reads one row with the hand scan; appends it only when every value
    /// converts and no key repeats.
    fn push_scanned(&mut self, text: &str) -> Scanned {
        if self.next_stamp().is_none() {
            return Scanned::Refused;
        }
        self.cells.clear();
        let mut k = 0;
        let mut refused = false;
        let scanned = scan_flat(text, |key, token| {
            k += 1;
            let Some(col) = self.column(k - 1, key) else {
                if self.decoder.strict {
                    refused = true;
                    return None;
                }
                return Some(());
            };
            let cell = self.decoder.kinds[col].cell(token, text);
            if std::mem::replace(&mut self.seen[col], self.stamp) == self.stamp || cell.is_none() {
                refused = true;
                return None;
            }
            self.cells.extend(cell.map(|c| (col, c)));
            Some(())
        });
        if refused {
            return Scanned::Refused;
        }
        if scanned.is_none() {
            return Scanned::Shape;
        }
        let stamp = self.stamp;
        let missing_required = !self.decoder.all_nullable
            && self
                .seen
                .iter()
                .zip(self.decoder.schema.fields())
                .any(|(&seen, f)| seen != stamp && !f.is_nullable());
        if missing_required {
            return Scanned::Refused;
        }
        for &(col, cell) in &self.cells {
            self.builders[col].push(cell, text);
        }
        self.fill_missing();
        self.row += 1;
        Scanned::Appended
    }

    /// Reads one row with serde, appending as it goes: `None` (the batch is
    /// given up) when the row does not take the fast path.
    fn push_serde(&mut self, text: &str) -> Option<()> {
        self.next_stamp()?;
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(RowVisitor(&mut *self)).ok()?;
        de.end().ok()?;
        let stamp = self.stamp;
        for (col, &seen) in self.seen.iter().enumerate() {
            if seen != stamp && !self.decoder.schema.field(col).is_nullable() {
                return None;
            }
        }
        self.fill_missing();
        self.row += 1;
        Some(())
    }

    /// Nulls in the columns the row had no key for.
    fn fill_missing(&mut self) {
        for (col, &seen) in self.seen.iter().enumerate() {
            if seen != self.stamp {
                self.builders[col].append_null();
            }
        }
    }

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

    fn finish(self) -> Option<RecordBatch> {
        let columns = self
            .builders
            .into_iter()
            .zip(self.decoder.schema.fields())
            .map(|(b, f)| b.finish(f.data_type()))
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.row as usize));
        RecordBatch::try_new_with_options(Arc::clone(&self.decoder.schema), columns, &options).ok()
    }
}

/// Gives up on the batch.
fn bail<E: de::Error>() -> E {
    E::custom("not a flat record")
}

struct RowVisitor<'s, D: std::ops::Deref<Target = FlatJsonDecoder>>(&'s mut RowState<D>);

impl<'de, D: std::ops::Deref<Target = FlatJsonDecoder>> Visitor<'de> for RowVisitor<'_, D> {
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
            if std::mem::replace(&mut state.seen[col], state.stamp) == state.stamp {
                return Err(bail());
            }
            map.next_value_seed(ValueSeed(&state.decoder.kinds[col], &mut state.builders[col]))?;
        }
        Ok(())
    }
}

/// Resolves a key to its column (`None`: not in the schema).
struct KeySeed<'s, D: std::ops::Deref<Target = FlatJsonDecoder>> {
    state: &'s mut RowState<D>,
    k: usize,
}

impl<'de, D: std::ops::Deref<Target = FlatJsonDecoder>> DeserializeSeed<'de> for KeySeed<'_, D> {
    type Value = Option<usize>;

    fn deserialize<De: de::Deserializer<'de>>(self, d: De) -> Result<Option<usize>, De::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, D: std::ops::Deref<Target = FlatJsonDecoder>> Visitor<'de> for KeySeed<'_, D> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Option<usize>, E> {
        Ok(self.state.column(self.k, key))
    }
}

/// Appends one value to its column's builder.
struct ValueSeed<'b>(&'b Kind, &'b mut Builder);

impl ValueSeed<'_> {
    fn append(self, token: Token) -> Option<()> {
        match (self.1, token) {
            (Builder::Utf8(b), Token::Str(v)) => b.append_value(v),
            (b, token) => b.push(self.0.cell(token, "")?, ""),
        }
        Some(())
    }
}

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
        self.append(Token::Null).ok_or_else(bail)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        if v == 0 && matches!(self.1, Builder::Float64(_)) {
            // `0` or `-0`? serde does not say; Arrow reads `-0` as -0.0.
            return Err(bail());
        }
        self.append(Token::Int(v)).ok_or_else(bail)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match (i64::try_from(v), &mut *self.1) {
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
        self.append(Token::Float(v)).ok_or_else(bail)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.append(Token::Bool(v)).ok_or_else(bail)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.append(Token::Str(v)).ok_or_else(bail)
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

    /// Rows as sources print them, and odd ones: escapes, unicode, nulls,
    /// missing and unknown keys, nested values, numbers in every spelling,
    /// values of the wrong kind, duplicate keys, malformed text.
    const ODD_ROWS: [&str; 30] = [
        r#"{"i": 1, "f": 1.5, "b": true, "s": "plain", "d": "2024-02-29", "t": "2024-01-01T00:00:00Z"}"#,
        r#"{"i":-0,"f":-0,"s":"é ü€😀","t":"2024-01-01T01:02:03.123456+02:00"}"#,
        r#"{"f":1e5,"i":0}"#,
        r#"{"f":-0.0,"i":7}"#,
        r#"{"f":1.0,"b":false}"#,
        r#"{"f":1E-7,"s":""}"#,
        r#"{"s":"a\"b\\c\n\u00e9"}"#,
        r#"{"s":null,"i":null,"f":null,"b":null,"d":null,"t":null}"#,
        r#"{}"#,
        r#"{"extra":{"x":[1,2]},"i":3}"#,
        r#"{"extra":"x","i":4}"#,
        r#"{"i":"5"}"#,
        r#"{"i":1.5}"#,
        r#"{"s":1}"#,
        r#"{"s":{"nested":true}}"#,
        r#"{"b":"true"}"#,
        r#"{"d":"yesterday"}"#,
        r#"{"t":1700000000}"#,
        r#"{"i":1,"i":2}"#,
        r#"{"i":9223372036854775807,"f":18446744073709551615}"#,
        r#"{"i":9223372036854775808}"#,
        r#"{"i":1"#,
        r#"{"i":1} x"#,
        r#"[1]"#,
        r#"{"t":"2024-06-01 10:00:00","d":"2024-06-01"}"#,
        r#"{ "i" : 2 , "s" : "spaced" }"#,
        r#"{"s":"tab	inside"}"#,
        r#"{"\u0069":6}"#,
        r#"{"f":1e400}"#,
        r#"{"i":01}"#,
    ];

    /// One row at a time, each row taken is decoded as Arrow's decoder
    /// decodes it, value by value, and a row refused leaves nothing behind.
    #[test]
    fn rows_one_at_a_time_decode_as_arrow() {
        for strict in [false, true] {
            let plain = Arc::new(Schema::new(schema().fields()[..4].to_vec()));
            let (schema, decoder) = if strict {
                (Arc::clone(&plain), FlatJsonDecoder::strict(plain).unwrap())
            } else {
                (schema(), FlatJsonDecoder::new(schema()).unwrap())
            };
            let mut rows = FlatRows::new(Arc::new(decoder), 4, 16);
            let mut taken = vec![];
            for row in ODD_ROWS {
                let before = rows.len();
                if rows.push(row) {
                    taken.push(row);
                }
                assert_eq!(rows.len(), taken.len(), "{row}");
                assert!(rows.len() >= before);
            }
            assert!(taken.len() >= if strict { 6 } else { 10 }, "{taken:?}");
            let mut arrow = JsonRecordDecoder::new(Arc::clone(&schema), taken.len()).unwrap();
            for r in &taken {
                arrow.push(r.as_bytes()).unwrap();
            }
            assert_eq!(
                rows.finish().unwrap(),
                arrow.flush().unwrap().unwrap(),
                "strict: {strict}"
            );
        }
    }

    /// A batch of each row alone is decoded as Arrow's decoder decodes it,
    /// or left to it.
    #[test]
    fn each_odd_row_decodes_as_arrow_or_not_at_all() {
        let fast = FlatJsonDecoder::new(schema()).unwrap();
        let mut decoded = 0;
        for row in ODD_ROWS
            .iter()
            .chain(&[r#"{"f":-0,"s":"\n"}"#, r#"{"f":0,"s":"\n"}"#, r#"{"f":-0}"#])
        {
            let Some(ours) = fast.decode(&[row], row.len()) else {
                continue;
            };
            let mut arrow = JsonRecordDecoder::new(schema(), 1).unwrap();
            arrow.push(row.as_bytes()).unwrap();
            assert_eq!(ours, arrow.flush().unwrap().unwrap(), "{row}");
            decoded += 1;
        }
        assert!(decoded >= 12, "{decoded}");
    }

    /// The strict decoder takes a row only when it fits the schema as
    /// `TextFits` judges it (the check it stands in for).
    #[test]
    fn a_strict_row_taken_fits() {
        let plain = Schema::new(schema().fields()[..4].to_vec());
        let fits = super::super::TextFits::new(&plain);
        let mut rows = FlatRows::new(Arc::new(FlatJsonDecoder::strict(Arc::new(plain)).unwrap()), 4, 16);
        let mut refused_fitting = 0;
        for row in ODD_ROWS {
            let taken = rows.push(row);
            assert!(!taken || fits.fits(row), "taken but does not fit: {row}");
            refused_fitting += usize::from(!taken && fits.fits(row));
        }
        // Some fit without taking the fast path (escapes, a number in a string column).
        assert!(refused_fitting > 0);
        assert!(!rows.push(r#"{"i":1,"unknown":2}"#));
        assert!(
            FlatJsonDecoder::strict(schema()).is_none(),
            "dates and timestamps are not inferred"
        );
    }
}
