//! Partition values: parsing a folder value as a date, an integer or a
//! string, and comparing two values "as the values allow".

use std::cmp::Ordering;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Value};

/// A partition value with the most specific type its text allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypedValue {
    /// `YYYY-MM-DD`, `YYYY/MM/DD` or `YYYYMMDD` (a valid calendar date).
    Date(NaiveDate),
    /// Digits, optionally signed (`"01"` is 1).
    Integer(i64),
    /// Anything else.
    Text(String),
}

impl TypedValue {
    /// Parses `raw`: a date if it is one, else an integer, else text.
    pub fn parse(raw: &str) -> TypedValue {
        if let Some(d) = parse_date(raw) {
            return TypedValue::Date(d);
        }
        if let Some(i) = parse_int(raw) {
            return TypedValue::Integer(i);
        }
        TypedValue::Text(raw.to_string())
    }
}

/// Parses a whole-date value: `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYYMMDD`, or the
/// date part of an RFC 3339 / ISO timestamp. Years outside 1900..=2200 are
/// not taken for dates (so `20240115` is a date but `12345678` is not).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    let date = if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        NaiveDate::parse_from_str(s, "%Y%m%d").ok()?
    } else if s.len() >= 10 && s.is_char_boundary(10) {
        let (head, rest) = s.split_at(10);
        if !(rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')) {
            return None;
        }
        let sep = head.as_bytes()[4];
        if (sep != b'-' && sep != b'/') || head.as_bytes()[7] != sep {
            return None;
        }
        let fmt = if sep == b'-' { "%Y-%m-%d" } else { "%Y/%m/%d" };
        NaiveDate::parse_from_str(head, fmt).ok()?
    } else {
        return None;
    };
    (1900..=2200).contains(&date.year()).then_some(date)
}

/// Parses an integer: optional sign and ASCII digits only.
pub fn parse_int(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Compares two raw values as dates if both are dates, as integers if both
/// are integers, else as strings.
pub fn compare_values(a: &str, b: &str) -> Ordering {
    match (TypedValue::parse(a), TypedValue::parse(b)) {
        (TypedValue::Date(x), TypedValue::Date(y)) => x.cmp(&y),
        (TypedValue::Integer(x), TypedValue::Integer(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// The JSON type of a partition column, from every value seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Every value is an integer.
    Integer,
    /// Every value is a date (emitted as `YYYY-MM-DD`).
    Date,
    /// Anything else.
    String,
}

impl ColumnType {
    /// The narrowest type holding every value of `values` (no values: string).
    pub fn infer<'a>(values: impl IntoIterator<Item = &'a str>) -> ColumnType {
        let mut ty: Option<ColumnType> = None;
        for v in values {
            let this = match TypedValue::parse(v) {
                TypedValue::Date(_) => ColumnType::Date,
                TypedValue::Integer(_) => ColumnType::Integer,
                TypedValue::Text(_) => ColumnType::String,
            };
            ty = Some(match (ty, this) {
                (None, t) => t,
                (Some(a), b) if a == b => a,
                // `20240101` parses as a date; with other integers it is one.
                (Some(ColumnType::Date), ColumnType::Integer) | (Some(ColumnType::Integer), ColumnType::Date)
                    if parse_int(v).is_some() =>
                {
                    ColumnType::Integer
                }
                _ => ColumnType::String,
            });
        }
        ty.unwrap_or(ColumnType::String)
    }

    /// The column's JSON Schema (nullable).
    pub fn json_schema(self) -> Value {
        match self {
            ColumnType::Integer => json!({"type": ["null", "integer"]}),
            ColumnType::Date => json!({"type": ["null", "string"], "format": "date"}),
            ColumnType::String => json!({"type": ["null", "string"]}),
        }
    }

    /// `raw` as a JSON value of this type (a value that does not fit is kept as a string).
    pub fn to_json(self, raw: &str) -> Value {
        match self {
            ColumnType::Integer => parse_int(raw).map(Value::from).unwrap_or_else(|| Value::from(raw)),
            ColumnType::Date => parse_date(raw)
                .map(|d| Value::from(d.format("%Y-%m-%d").to_string()))
                .unwrap_or_else(|| Value::from(raw)),
            ColumnType::String => Value::from(raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dates_integers_and_text() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
        assert_eq!(TypedValue::parse("2024-01-15"), TypedValue::Date(d));
        assert_eq!(TypedValue::parse("20240115"), TypedValue::Date(d));
        assert_eq!(TypedValue::parse("2024/01/15"), TypedValue::Date(d));
        assert_eq!(TypedValue::parse("2024-01-15T10:00:00Z"), TypedValue::Date(d));
        assert_eq!(TypedValue::parse("01"), TypedValue::Integer(1));
        assert_eq!(TypedValue::parse("2024"), TypedValue::Integer(2024));
        assert_eq!(TypedValue::parse("12345678"), TypedValue::Integer(12345678));
        assert_eq!(TypedValue::parse("20241345"), TypedValue::Integer(20241345));
        assert_eq!(TypedValue::parse("us-east-1"), TypedValue::Text("us-east-1".into()));
        assert_eq!(TypedValue::parse("2024-13-01"), TypedValue::Text("2024-13-01".into()));
    }

    #[test]
    fn compares_as_the_values_allow() {
        assert_eq!(compare_values("9", "10"), Ordering::Less);
        assert_eq!(compare_values("03", "3"), Ordering::Equal);
        assert_eq!(compare_values("2024-01-15", "20240115"), Ordering::Equal);
        assert_eq!(compare_values("2024-02-01", "2024-01-31"), Ordering::Greater);
        assert_eq!(compare_values("b", "a"), Ordering::Greater);
        assert_eq!(compare_values("10", "a"), Ordering::Less);
    }

    #[test]
    fn column_types() {
        assert_eq!(ColumnType::infer(["01", "12"]), ColumnType::Integer);
        assert_eq!(ColumnType::infer(["2024-01-01", "2024-01-02"]), ColumnType::Date);
        assert_eq!(ColumnType::infer(["20240101", "7"]), ColumnType::Integer);
        assert_eq!(ColumnType::infer(["us", "7"]), ColumnType::String);
        assert_eq!(ColumnType::infer(Vec::<&str>::new()), ColumnType::String);
        assert_eq!(ColumnType::Integer.to_json("07"), json!(7));
        assert_eq!(ColumnType::Date.to_json("20240107"), json!("2024-01-07"));
        assert_eq!(ColumnType::String.to_json("07"), json!("07"));
        assert_eq!(ColumnType::Integer.json_schema()["type"][1], "integer");
    }
}
