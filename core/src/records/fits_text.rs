//! [`TextFits`]: whether a record's JSON text fits a schema, read in one
//! pass without building a `serde_json::Value` — the per-record check of a
//! write whose schema is inferred (most records fit; only those that do not
//! are parsed in full to widen the schema).
//!
//! It answers as [`record_fits`](super::record_fits) does on the parsed
//! record, or more strictly: `true` only for a valid JSON object whose every
//! field is in the schema with a value that fits its column; invalid JSON,
//! a repeated key or anything that does not fit is `false` (the caller then
//! takes the full parse, which says what is wrong or widens).

use std::collections::HashMap;
use std::fmt;

use arrow::datatypes::{DataType, Schema};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer as _;

use super::flat_scan::{same_key, scan_flat_kinds, Token};
use super::timestamp_scan::digits;

/// The fit check for records of one schema (its field index built once).
#[derive(Debug)]
pub struct TextFits {
    types: Vec<DataType>,
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl TextFits {
    /// The check for records of `schema`.
    pub fn new(schema: &Schema) -> Self {
        TextFits {
            types: schema.fields().iter().map(|f| f.data_type().clone()).collect(),
            names: schema.fields().iter().map(|f| f.name().clone()).collect(),
            index: schema
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name().clone(), i))
                .collect(),
        }
    }

    /// Whether `text` is a JSON object that fits the schema (see the module docs).
    pub fn fits(&self, text: &str) -> bool {
        let mut few = [false; 64];
        let mut many = vec![];
        let seen: &mut [bool] = match self.types.len() {
            n if n <= few.len() => &mut few[..n],
            n => {
                many.resize(n, false);
                &mut many
            }
        };
        // The plainest records: the hand-written scan; the others: a serde pass.
        let mut fits = true;
        // Records mostly keep the schema's key order (it was inferred from them): the
        // column after the previous key's is tried before the field index.
        let mut next = 0;
        let scanned = scan_flat_kinds(text, |key, token| {
            let col = match self.names.get(next) {
                Some(name) if same_key(name, key) => next,
                _ => match self.index.get(key) {
                    Some(&col) => col,
                    None => {
                        fits = false;
                        return None;
                    }
                },
            };
            next = col + 1;
            if std::mem::replace(&mut seen[col], true) || !token_fits(token, &self.types[col]) {
                fits = false;
                return None;
            }
            Some(())
        });
        if scanned.is_some() || !fits {
            return fits;
        }
        seen.fill(false);
        let mut de = serde_json::Deserializer::from_str(text);
        de.deserialize_map(RecordVisitor { fits: self, seen }).is_ok() && de.end().is_ok()
    }
}

/// Whether a scalar fits a column type, as `value_fits` judges it.
fn token_fits(token: Token, dt: &DataType) -> bool {
    use DataType::*;
    match (token, dt) {
        (Token::Null, _) | (_, Utf8 | LargeUtf8) => true,
        (Token::Bool(_), Boolean) => true,
        (Token::Int(_), Int8 | Int16 | Int32 | Int64) => true,
        (Token::Int(_) | Token::Float(_), Float32 | Float64 | Decimal128(..)) => true,
        (Token::Str(s), Date32) => date_fits(s),
        (Token::Str(s), Timestamp(..)) => arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(s).is_ok(),
        (Token::Str(_), Binary) => true,
        _ => false,
    }
}

/// Whether `s` is a date as `%Y-%m-%d` reads it: the common `YYYY-MM-DD` checked by hand,
/// anything else (other year widths, signs, one-digit fields) by chrono.
fn date_fits(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() == 10 && b[4] == b'-' && b[7] == b'-' {
        if let (Some(y), Some(m), Some(d)) = (digits(&b[0..4]), digits(&b[5..7]), digits(&b[8..10])) {
            return chrono::NaiveDate::from_ymd_opt(y as i32, m, d).is_some();
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Stops the pass: the record does not fit (or is not JSON).
fn misfit<E: de::Error>() -> E {
    E::custom("does not fit")
}

struct RecordVisitor<'a> {
    fits: &'a TextFits,
    seen: &'a mut [bool],
}

impl<'de> Visitor<'de> for RecordVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(col) = map.next_key_seed(KeySeed(&self.fits.index))? {
            if std::mem::replace(&mut self.seen[col], true) {
                return Err(misfit());
            }
            map.next_value_seed(FitsSeed(&self.fits.types[col]))?;
        }
        Ok(())
    }
}

/// A key's column; a key not in the schema does not fit.
struct KeySeed<'a>(&'a HashMap<String, usize>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        self.0.get(key).copied().ok_or_else(misfit)
    }
}

/// One value checked against its column type, as `value_fits` judges it.
struct FitsSeed<'t>(&'t DataType);

impl<'de> DeserializeSeed<'de> for FitsSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        if matches!(self.0, DataType::Utf8 | DataType::LargeUtf8) {
            // Any value fits a string column (written as its JSON text).
            return d.deserialize_ignored_any(IgnoredAny).map(|_| ());
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FitsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        token_fits(Token::Bool(v), self.0).then_some(()).ok_or_else(misfit)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        token_fits(Token::Int(v), self.0).then_some(()).ok_or_else(misfit)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => self.visit_f64(v as f64),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        token_fits(Token::Float(v), self.0).then_some(()).ok_or_else(misfit)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<(), E> {
        token_fits(Token::Str(s), self.0).then_some(()).ok_or_else(misfit)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match self.0 {
            DataType::Struct(fields) => {
                let mut seen = vec![false; fields.len()];
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    let i = fields.iter().position(|f| f.name() == &*key).ok_or_else(misfit)?;
                    if std::mem::replace(&mut seen[i], true) {
                        return Err(misfit());
                    }
                    map.next_value_seed(FitsSeed(fields[i].data_type()))?;
                }
                Ok(())
            }
            DataType::Map(entries, _) => match entries.data_type() {
                DataType::Struct(kv) if kv.len() == 2 => {
                    let mut keys = std::collections::HashSet::new();
                    while let Some(key) = map.next_key::<String>()? {
                        if !keys.insert(key) {
                            return Err(misfit());
                        }
                        map.next_value_seed(FitsSeed(kv[1].data_type()))?;
                    }
                    Ok(())
                }
                _ => Err(misfit()),
            },
            _ => Err(misfit()),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.0 {
            DataType::List(f) => {
                while seq.next_element_seed(FitsSeed(f.data_type()))?.is_some() {}
                Ok(())
            }
            _ => Err(misfit()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::Field;
    use serde_json::Value;

    use super::super::record_fits;
    use super::*;
    use crate::schema::{map_type, timestamp_utc};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("i", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
            Field::new("b", DataType::Boolean, true),
            Field::new("s", DataType::Utf8, true),
            Field::new("d", DataType::Date32, true),
            Field::new("t", timestamp_utc(), true),
            Field::new(
                "o",
                DataType::Struct(vec![Field::new("x", DataType::Int64, true)].into()),
                true,
            ),
            Field::new(
                "l",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
            Field::new("m", map_type(DataType::Float64), true),
        ])
    }

    /// Every sample is judged as `record_fits` judges its parsed value.
    #[test]
    fn answers_as_record_fits() {
        let schema = schema();
        let fits = TextFits::new(&schema);
        for text in [
            r#"{}"#,
            r#"{"i": 1, "f": 2, "b": true, "s": "x", "d": "2024-02-29", "t": "2024-01-01T00:00:00Z"}"#,
            r#"{"i": null, "f": 1.5e3, "s": {"any": [1, "thing"]}, "o": {"x": 3}, "l": ["a", null], "m": {"k": 1}}"#,
            r#"{"\u0069": 1}"#,
            r#"{"i": 1.5}"#,
            r#"{"i": 18446744073709551615}"#,
            r#"{"f": 18446744073709551615}"#,
            r#"{"i": "1"}"#,
            r#"{"b": 1}"#,
            r#"{"d": "2024-02-30"}"#,
            r#"{"d": "2023-02-29"}"#,
            r#"{"d": "2024-13-01"}"#,
            r#"{"d": "2024-00-10"}"#,
            r#"{"d": "0000-01-01"}"#,
            r#"{"d": "2024-1-05"}"#,
            r#"{"d": "12024-01-05"}"#,
            r#"{"d": "+2024-01-05"}"#,
            r#"{"d": "2024-01-0x"}"#,
            r#"{"d": "2024/01/05"}"#,
            r#"{"t": "2024-01-01T00:00:00Z", "s": "x", "i": 2, "b": false, "f": 1}"#,
            r#"{"t": "soon"}"#,
            r#"{"t": 17}"#,
            r#"{"unknown": 1}"#,
            r#"{"o": {"y": 1}}"#,
            r#"{"o": [1]}"#,
            r#"{"l": [1]}"#,
            r#"{"m": {"k": "v"}}"#,
        ] {
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(fits.fits(text), record_fits(&value, &schema), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_not_one_json_object() {
        let fits = TextFits::new(&schema());
        for text in [
            r#"{"i": 1"#,
            r#"{"i": 1} x"#,
            r#"[1]"#,
            r#"{"i": 1, "i": 2}"#,
            r#"{"i": 1, "f": 2, "f": 3}"#,
            r#"{"f": 2, "i": 1, "f": 3}"#,
            r#"{"s": [1,]}"#,
            "",
        ] {
            assert!(!fits.fits(text), "{text}");
        }
    }
}
