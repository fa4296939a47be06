//! SQLite values as they are saved in state (a cursor value, a row key) and
//! read back, without losing their storage class: INTEGER ↔ JSON integer,
//! REAL ↔ JSON float, TEXT ↔ string, BLOB ↔ `{"base64": …}`, NULL ↔ null,
//! ±infinity ↔ `{"real": "inf" | "-inf"}`.

use base64::Engine as _;
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::{json, Value};

/// A SQLite value as JSON for the state.
pub fn to_json(v: &SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => json!(i),
        SqlValue::Real(f) => match serde_json::Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => json!({"real": if *f > 0.0 { "inf" } else { "-inf" }}),
        },
        SqlValue::Text(s) => json!(s),
        SqlValue::Blob(b) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(b)}),
    }
}

/// A state JSON value back as a SQLite value.
pub fn from_json(v: &Value) -> Result<SqlValue, String> {
    Ok(match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().ok_or_else(|| format!("{n} is not a usable number"))?),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Object(o) => {
            if let Some(b) = o.get("base64").and_then(Value::as_str) {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|e| format!("invalid base64 value: {e}"))?;
                SqlValue::Blob(bytes)
            } else {
                match o.get("real").and_then(Value::as_str) {
                    Some("inf") => SqlValue::Real(f64::INFINITY),
                    Some("-inf") => SqlValue::Real(f64::NEG_INFINITY),
                    _ => return Err(format!("unrecognised value {v}")),
                }
            }
        }
        Value::Array(_) => return Err(format!("unrecognised value {v}")),
    })
}

/// True when `a` and `b` are the same stored value (same class, same bytes).
pub fn same(a: &SqlValue, b: ValueRef<'_>) -> bool {
    match (a, b) {
        (SqlValue::Null, ValueRef::Null) => true,
        (SqlValue::Integer(x), ValueRef::Integer(y)) => *x == y,
        (SqlValue::Real(x), ValueRef::Real(y)) => x.to_bits() == y.to_bits(),
        (SqlValue::Text(x), ValueRef::Text(y)) => x.as_bytes() == y,
        (SqlValue::Blob(x), ValueRef::Blob(y)) => x.as_slice() == y,
        _ => false,
    }
}

/// An owned copy of `v` (TEXT that is not UTF-8 is kept lossily).
pub fn owned(v: ValueRef<'_>) -> SqlValue {
    match v {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(i) => SqlValue::Integer(i),
        ValueRef::Real(f) => SqlValue::Real(f),
        ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_keep_the_storage_class() {
        let values = [
            SqlValue::Null,
            SqlValue::Integer(-5),
            SqlValue::Integer(i64::MAX),
            SqlValue::Real(2.0),
            SqlValue::Real(0.1),
            SqlValue::Real(f64::NEG_INFINITY),
            SqlValue::Text("2024-01-01 00:00:00".into()),
            SqlValue::Blob(vec![0, 1, 255]),
        ];
        for v in values {
            let j = to_json(&v);
            let text = serde_json::to_string(&j).unwrap();
            let back = from_json(&serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(back, v, "{text}");
        }
        assert!(from_json(&json!([1])).is_err());
    }

    #[test]
    fn sameness_is_exact() {
        assert!(same(&SqlValue::Integer(1), ValueRef::Integer(1)));
        assert!(!same(&SqlValue::Integer(1), ValueRef::Real(1.0)));
        assert!(same(&SqlValue::Text("a".into()), ValueRef::Text(b"a")));
        assert!(!same(&SqlValue::Text("a".into()), ValueRef::Text(b"A")));
    }
}
