//! Ordering of record cursor values (numbers, dates and timestamps, strings),
//! shared by the record filter and the saved state.

use std::cmp::Ordering;

use serde_json::Value;

use crate::time::parse_timestamp;

/// Compares two cursor values: numbers numerically, strings that are both
/// dates or timestamps in time order, other strings lexicographically; a
/// number and a numeric string numerically; otherwise numbers sort before
/// strings, and anything else before both.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    fn number(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0)),
        },
        (Value::String(x), Value::String(y)) => match (parse_timestamp(x), parse_timestamp(y)) {
            (Some(tx), Some(ty)) => tx.cmp(&ty).then_with(|| x.cmp(y)),
            _ => x.cmp(y),
        },
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ if a.is_number() => Ordering::Less,
            _ => Ordering::Greater,
        },
        _ => rank(a).cmp(&rank(b)),
    }
}

fn rank(v: &Value) -> u8 {
    match v {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// The greater of two optional cursor values (see [`compare_values`]).
pub fn max_value(a: Option<Value>, b: Option<Value>) -> Option<Value> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if compare_values(&b, &a) == Ordering::Greater {
            b
        } else {
            a
        }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_compare_by_type() {
        assert_eq!(compare_values(&json!(10), &json!(9)), Ordering::Greater);
        assert_eq!(compare_values(&json!(2.5), &json!(10)), Ordering::Less);
        assert_eq!(compare_values(&json!("10"), &json!(9)), Ordering::Greater);
        assert_eq!(
            compare_values(&json!("2024-01-01T00:00:00.5Z"), &json!("2024-01-01T00:00:00Z")),
            Ordering::Greater
        );
        assert_eq!(
            compare_values(&json!("2024-01-02"), &json!("2024-01-01T23:00:00Z")),
            Ordering::Greater
        );
        assert_eq!(compare_values(&json!("b"), &json!("abc")), Ordering::Greater);
        assert_eq!(max_value(Some(json!(3)), Some(json!(2))), Some(json!(3)));
        assert_eq!(max_value(None, Some(json!(2))), Some(json!(2)));
    }

    #[test]
    fn mixed_kinds_order_numbers_before_strings_and_the_rest_by_rank() {
        // Floats (not both integers) compare as floats, whatever their spelling.
        assert_eq!(compare_values(&json!(1.5), &json!(1.25)), Ordering::Greater);
        assert_eq!(compare_values(&json!(-0.5), &json!(0)), Ordering::Less);
        // A number and a numeric string (spaces allowed) compare numerically, both ways.
        assert_eq!(compare_values(&json!(9), &json!(" 10 ")), Ordering::Less);
        assert_eq!(compare_values(&json!("2.5"), &json!(2.5)), Ordering::Equal);
        // A number and a string that is not a number: the number first.
        assert_eq!(compare_values(&json!(10), &json!("abc")), Ordering::Less);
        assert_eq!(compare_values(&json!("abc"), &json!(10)), Ordering::Greater);
        // One timestamp and one plain string: plain string order.
        assert_eq!(compare_values(&json!("2024-01-01"), &json!("z")), Ordering::Less);
        // Equal instants spelled differently: the spelling breaks the tie, so
        // the order is total.
        assert_eq!(
            compare_values(&json!("2024-01-01T00:00:00Z"), &json!("2024-01-01T00:00:00+00:00")),
            Ordering::Greater
        );
        // null < bool < number < string < array < object.
        let ranked = [
            json!(null),
            json!(true),
            json!(1),
            json!("a"),
            json!([1]),
            json!({"a": 1}),
        ];
        for (i, a) in ranked.iter().enumerate() {
            for (j, b) in ranked.iter().enumerate() {
                assert_eq!(compare_values(a, b), i.cmp(&j), "{a} vs {b}");
            }
        }
        // The maximum keeps the first of equals and skips a missing side.
        assert_eq!(max_value(Some(json!("2.0")), Some(json!(2))), Some(json!("2.0")));
        assert_eq!(max_value(Some(json!(1)), None), Some(json!(1)));
        assert_eq!(max_value(None, None), None);
    }
}
