//! RECORD lines written straight into a byte buffer — no `serde_json::Value`
//! per row. Each stream precomputes its line prefix and its quoted field
//! names; each value is written as SQLite stores it: integers as JSON
//! integers, REALs as `ryu` writes them ([`write_real`]), TEXT as escaped
//! strings, BLOBs as base64, NULL as null. A value that cannot be
//! represented (±infinity, TEXT that is not UTF-8) or that its column's
//! discovered type cannot hold (text in an INTEGER column, a DATE that is
//! not a date) is nulled and noted in `meta.changes` (see [`write_value`]).

use base64::Engine as _;
use rusqlite::types::ValueRef;

use crate::types::ColumnKind;
pub use crate::value::escape::{write_json_str, write_json_text};
pub use crate::value::real::write_real;
use crate::value::temporal;

/// What happened to a value on its way to JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Written as stored.
    AsIs,
    /// Replaced by null (could not be represented in JSON).
    Nulled,
}

/// Writes one value of a column of `kind`, as the discovered schema says it
/// is. SQLite stores any value under any declared type; a value the
/// column's JSON type cannot hold is nulled (and noted by the caller in
/// `meta.changes`) rather than emitted against the schema, where the
/// destination would fail on it:
///
/// - INTEGER: integers; a REAL with no fraction is written as an integer.
/// - REAL/NUMERIC: integers and finite REALs.
/// - TEXT: text; integers and REALs as their text.
/// - BOOLEAN: 0/1 as false/true.
/// - DATE, DATETIME, TIME: text that is one ([`crate::value::temporal`]).
/// - BLOB: base64 of the bytes, BLOB or TEXT.
/// - no declared type: every value as stored (its schema comes from them).
///
/// Non-UTF-8 TEXT and infinite REALs are nulled whatever the column.
pub fn write_value(buf: &mut Vec<u8>, kind: ColumnKind, value: ValueRef<'_>) -> Written {
    use ColumnKind as K;
    match (kind, value) {
        (_, ValueRef::Null) => buf.extend_from_slice(b"null"),
        (K::Boolean, ValueRef::Integer(i @ (0 | 1))) => {
            buf.extend_from_slice(if i == 1 { b"true" } else { b"false" });
        }
        (K::Integer | K::Number | K::Untyped, ValueRef::Integer(i)) => {
            buf.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
        }
        (K::Integer, ValueRef::Real(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => {
            buf.extend_from_slice(itoa::Buffer::new().format(f as i64).as_bytes());
        }
        (K::Number | K::Untyped, ValueRef::Real(f)) if f.is_finite() => write_real(buf, f),
        (K::String, ValueRef::Integer(i)) => {
            buf.push(b'"');
            buf.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            buf.push(b'"');
        }
        (K::String, ValueRef::Real(f)) if f.is_finite() => {
            buf.push(b'"');
            write_real(buf, f);
            buf.push(b'"');
        }
        (K::Date, ValueRef::Text(t)) if !temporal::is_date(t) => return nulled(buf),
        (K::DateTime, ValueRef::Text(t)) if !temporal::is_date_time(t) => return nulled(buf),
        (K::Time, ValueRef::Text(t)) if !temporal::is_time(t) => return nulled(buf),
        (K::String | K::Date | K::DateTime | K::Time | K::Untyped, ValueRef::Text(bytes)) => {
            if !write_json_text(buf, bytes) {
                return nulled(buf);
            }
        }
        (K::Blob | K::Untyped, ValueRef::Blob(bytes)) | (K::Blob, ValueRef::Text(bytes)) => write_base64(buf, bytes),
        _ => return nulled(buf),
    }
    Written::AsIs
}

/// Writes `null` for a value that cannot be represented.
fn nulled(buf: &mut Vec<u8>) -> Written {
    buf.extend_from_slice(b"null");
    Written::Nulled
}

/// Writes `bytes` as a base64 JSON string.
pub fn write_base64(buf: &mut Vec<u8>, bytes: &[u8]) {
    let engine = &base64::engine::general_purpose::STANDARD;
    buf.push(b'"');
    let start = buf.len();
    let len = base64::encoded_len(bytes.len(), true).unwrap_or(0);
    buf.resize(start + len, 0);
    let written = engine.encode_slice(bytes, &mut buf[start..]).unwrap_or(0);
    buf.truncate(start + written);
    buf.push(b'"');
}

/// The precomputed shape of one stream's RECORD lines.
pub struct RecordLayout {
    prefix: Vec<u8>,
    keys: Vec<Vec<u8>>,
    kinds: Vec<ColumnKind>,
    names: Vec<String>,
    changed: Vec<usize>,
    /// `},"emitted_at":N}}\n` for `suffix_at` = N.
    suffix: Vec<u8>,
    suffix_at: Option<i64>,
}

impl RecordLayout {
    /// A layout for stream `stream` (in `namespace`) with these columns.
    pub fn new(namespace: Option<&str>, stream: &str, columns: &[(String, ColumnKind)]) -> Self {
        let mut prefix = b"{\"type\":\"RECORD\",\"record\":{".to_vec();
        if let Some(ns) = namespace {
            prefix.extend_from_slice(b"\"namespace\":");
            write_json_str(&mut prefix, ns);
            prefix.push(b',');
        }
        prefix.extend_from_slice(b"\"stream\":");
        write_json_str(&mut prefix, stream);
        prefix.extend_from_slice(b",\"data\":{");
        let keys = columns
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                let mut k = Vec::with_capacity(name.len() + 4);
                if i > 0 {
                    k.push(b',');
                }
                write_json_str(&mut k, name);
                k.push(b':');
                k
            })
            .collect();
        RecordLayout {
            prefix,
            keys,
            kinds: columns.iter().map(|(_, k)| *k).collect(),
            names: columns.iter().map(|(n, _)| n.clone()).collect(),
            changed: Vec::new(),
            suffix: Vec::new(),
            suffix_at: None,
        }
    }

    /// How many columns a record has.
    pub fn width(&self) -> usize {
        self.keys.len()
    }

    /// Appends a RECORD line from values (for tests and small callers).
    pub fn write_values(&mut self, buf: &mut Vec<u8>, values: &[ValueRef<'_>], emitted_at: i64) {
        self.write_record(buf, values.iter().copied(), emitted_at);
    }

    /// Appends the RECORD line of one row given as its values in column order.
    pub fn write_record<'v>(
        &mut self,
        buf: &mut Vec<u8>,
        values: impl IntoIterator<Item = ValueRef<'v>>,
        emitted_at: i64,
    ) {
        buf.extend_from_slice(&self.prefix);
        self.changed.clear();
        for (i, ((key, kind), v)) in self.keys.iter().zip(&self.kinds).zip(values).enumerate() {
            buf.extend_from_slice(key);
            if write_value(buf, *kind, v) == Written::Nulled {
                self.changed.push(i);
            }
        }
        self.finish(buf, emitted_at);
    }

    fn finish(&mut self, buf: &mut Vec<u8>, emitted_at: i64) {
        if self.changed.is_empty() {
            // The usual case: the same closing bytes for every row of a batch.
            if self.suffix_at != Some(emitted_at) {
                self.suffix.clear();
                self.suffix.extend_from_slice(b"},\"emitted_at\":");
                self.suffix
                    .extend_from_slice(itoa::Buffer::new().format(emitted_at).as_bytes());
                self.suffix.extend_from_slice(b"}}\n");
                self.suffix_at = Some(emitted_at);
            }
            buf.extend_from_slice(&self.suffix);
            return;
        }
        buf.extend_from_slice(b"},\"emitted_at\":");
        buf.extend_from_slice(itoa::Buffer::new().format(emitted_at).as_bytes());
        buf.extend_from_slice(b",\"meta\":{\"changes\":[");
        for (n, &i) in self.changed.iter().enumerate() {
            if n > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(b"{\"field\":");
            write_json_str(buf, &self.names[i]);
            buf.extend_from_slice(b",\"change\":\"NULLED\",\"reason\":\"SOURCE_SERIALIZATION_ERROR\"}");
        }
        buf.extend_from_slice(b"]}}}\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn one(kind: ColumnKind, v: ValueRef<'_>) -> (String, Written) {
        let mut b = Vec::new();
        let w = write_value(&mut b, kind, v);
        (String::from_utf8(b).unwrap(), w)
    }

    #[test]
    fn values_are_faithful() {
        use ColumnKind::*;
        assert_eq!(one(Integer, ValueRef::Integer(i64::MIN)).0, "-9223372036854775808");
        assert_eq!(one(Number, ValueRef::Real(1.5)).0, "1.5");
        assert_eq!(one(Number, ValueRef::Real(3.0)).0, "3.0");
        assert_eq!(one(Number, ValueRef::Real(1e300)).0, "1e300");
        assert_eq!(
            one(Number, ValueRef::Real(f64::INFINITY)),
            ("null".into(), Written::Nulled)
        );
        assert_eq!(one(Number, ValueRef::Real(f64::NAN)), ("null".into(), Written::Nulled));
        assert_eq!(one(Boolean, ValueRef::Integer(1)).0, "true");
        assert_eq!(one(Boolean, ValueRef::Integer(0)).0, "false");
        assert_eq!(one(Integer, ValueRef::Integer(1)).0, "1");
        assert_eq!(one(Blob, ValueRef::Blob(b"\x00\xffhi")).0, "\"AP9oaQ==\"");
        assert_eq!(one(Blob, ValueRef::Blob(b"")).0, "\"\"");
        assert_eq!(
            one(String, ValueRef::Text(b"\xff\xfe")),
            ("null".into(), Written::Nulled)
        );
        assert_eq!(one(String, ValueRef::Null).0, "null");
    }

    #[test]
    fn values_the_column_type_cannot_hold_are_nulled() {
        use ColumnKind::*;
        let nulled = |kind, v| assert_eq!(one(kind, v), ("null".into(), Written::Nulled), "{kind:?} {v:?}");
        nulled(Integer, ValueRef::Real(2.5));
        nulled(Integer, ValueRef::Text(b"str-in-int"));
        nulled(Number, ValueRef::Text(b"abc"));
        nulled(Boolean, ValueRef::Integer(5));
        nulled(Boolean, ValueRef::Text(b"yes"));
        nulled(Date, ValueRef::Text(b"not a date"));
        nulled(Date, ValueRef::Integer(20240101));
        nulled(DateTime, ValueRef::Text(b"yesterday"));
        nulled(Time, ValueRef::Text(b"noon"));
        nulled(String, ValueRef::Blob(b"\x00"));
        // What the type can hold is kept, in its JSON form.
        assert_eq!(one(Integer, ValueRef::Real(3.0)).0, "3");
        assert_eq!(one(String, ValueRef::Integer(42)).0, "\"42\"");
        assert_eq!(one(String, ValueRef::Real(1.5)).0, "\"1.5\"");
        assert_eq!(one(Date, ValueRef::Text(b"2024-01-31")).0, "\"2024-01-31\"");
        assert_eq!(
            one(DateTime, ValueRef::Text(b"2024-01-31 10:00:00")).0,
            "\"2024-01-31 10:00:00\""
        );
        assert_eq!(one(Blob, ValueRef::Text(b"hi")).0, "\"aGk=\"");
        // No declared type: as stored.
        assert_eq!(one(Untyped, ValueRef::Text(b"x")).0, "\"x\"");
        assert_eq!(one(Untyped, ValueRef::Real(2.5)).0, "2.5");
    }

    #[test]
    fn record_lines_parse_and_note_changes() {
        let cols = vec![
            ("id".to_string(), ColumnKind::Integer),
            ("na\"me".to_string(), ColumnKind::String),
            ("x".to_string(), ColumnKind::Number),
        ];
        let mut layout = RecordLayout::new(None, "Robert'); DROP TABLE x;--", &cols);
        let mut buf = Vec::new();
        layout.write_values(
            &mut buf,
            &[ValueRef::Integer(7), ValueRef::Text(b"a\nb"), ValueRef::Real(0.25)],
            5,
        );
        layout.write_values(
            &mut buf,
            &[ValueRef::Null, ValueRef::Null, ValueRef::Real(f64::NEG_INFINITY)],
            6,
        );
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            lines[0],
            json!({"type":"RECORD","record":{"stream":"Robert'); DROP TABLE x;--",
                "data":{"id":7,"na\"me":"a\nb","x":0.25},"emitted_at":5}})
        );
        assert_eq!(
            lines[1]["record"]["meta"],
            json!({"changes":[{"field":"x","change":"NULLED","reason":"SOURCE_SERIALIZATION_ERROR"}]})
        );
        let with_ns = RecordLayout::new(Some("main"), "t", &cols[..1]);
        assert!(with_ns
            .prefix
            .starts_with(b"{\"type\":\"RECORD\",\"record\":{\"namespace\":\"main\",\"stream\":\"t\""));
    }
}
