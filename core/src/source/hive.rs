//! Airbyte source-s3's hive fields (`hive_string_fields`): for a Parquet
//! stream, every folder of an object's key written `name=value` becomes a
//! string field `name` in each of its records (over a column of the same
//! name in the file) and a string property of the discovered schema.
//!
//! This follows Airbyte's file-based CDK Parquet parser (source-s3 4.16.1):
//! the key is split on `/`, each segment holding `=` is percent-decoded,
//! and its field is the text before the first `=`, its value the text
//! between the first and any second `=`; a later segment of the same name
//! wins.

use crate::partition::ColumnType;
use serde_json::{Map, Value};

/// The hive fields of object `key`, in key order, each name once.
pub fn hive_fields(key: &str) -> Vec<(String, Value)> {
    let mut fields: Vec<(String, Value)> = Vec::new();
    for segment in key.split('/').filter(|s| s.contains('=')) {
        let decoded = percent_decode(segment);
        let mut parts = decoded.split('=');
        let name = parts.next().unwrap_or_default().to_string();
        let value = parts.next().unwrap_or_default().to_string();
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = Value::String(value),
            None => fields.push((name, Value::String(value))),
        }
    }
    fields
}

/// Adds the hive fields of `keys` to a stream's JSON Schema as strings
/// (replacing a property of the same name, as the value in the key wins).
pub fn add_hive_properties<'a>(json_schema: &mut Value, keys: impl IntoIterator<Item = &'a str>) {
    let Some(props) = json_schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    let mut added = Map::new();
    for key in keys {
        for (name, _) in hive_fields(key) {
            added.entry(name).or_insert_with(|| ColumnType::String.json_schema());
        }
    }
    for (name, schema) in added {
        props.insert(name, schema);
    }
}

/// `%XX` escapes decoded as UTF-8 (invalid sequences replaced), as
/// Python's `urllib.parse.unquote`.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_folders_become_string_fields() {
        assert_eq!(
            hive_fields("data/year=2023/month=01/day=01/part-0.parquet"),
            [
                ("year".to_string(), json!("2023")),
                ("month".to_string(), json!("01")),
                ("day".to_string(), json!("01"))
            ]
        );
        assert_eq!(hive_fields("a/b.parquet"), []);
        assert_eq!(
            hive_fields("t/city=S%C3%A3o%20Paulo/k=a=b/k=c/x.parquet"),
            [("city".to_string(), json!("São Paulo")), ("k".to_string(), json!("c"))]
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn schema_properties_are_strings_over_file_columns() {
        let mut schema = json!({"type": "object", "properties": {"year": {"type": ["null", "integer"]}, "v": {}}});
        add_hive_properties(
            &mut schema,
            ["p/year=2023/month=1/a.parquet", "p/year=2024/month=2/b.parquet"],
        );
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(props["year"], ColumnType::String.json_schema());
        assert_eq!(props["month"], ColumnType::String.json_schema());
        assert!(props.contains_key("v"));
    }
}
