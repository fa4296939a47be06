//! Declared column types → a JSON Schema type, following SQLite's type
//! affinity rules (datatype3 §3.1) refined by the common type names
//! (BOOLEAN, DATE, DATETIME/TIMESTAMP, TIME) that SQLite itself files
//! under NUMERIC affinity.

use serde_json::{json, Map, Value};

/// What a column holds, as far as its records' JSON is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// INTEGER affinity: JSON integers.
    Integer,
    /// REAL or NUMERIC affinity: JSON numbers.
    Number,
    /// TEXT affinity: strings.
    String,
    /// BLOB: base64 strings.
    Blob,
    /// BOOLEAN: 0/1 stored as integers, emitted as false/true.
    Boolean,
    /// DATE: strings with `format: date`.
    Date,
    /// DATETIME/TIMESTAMP: strings with `format: date-time`.
    DateTime,
    /// TIME: strings with `format: time`.
    Time,
    /// No declared type: whatever the values are.
    Untyped,
}

impl ColumnKind {
    /// The kind of a column declared with `declared` (e.g. `VARCHAR(20)`).
    pub fn from_declared(declared: &str) -> Self {
        let t = declared.trim().to_ascii_uppercase();
        if t.is_empty() {
            return ColumnKind::Untyped;
        }
        if t.contains("BOOL") {
            return ColumnKind::Boolean;
        }
        if t.contains("DATETIME") || t.contains("TIMESTAMP") {
            return ColumnKind::DateTime;
        }
        if t.contains("DATE") {
            return ColumnKind::Date;
        }
        // SQLite's own rules, in its order.
        if t.contains("INT") {
            return ColumnKind::Integer;
        }
        if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            return ColumnKind::String;
        }
        if t.contains("BLOB") {
            return ColumnKind::Blob;
        }
        if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
            return ColumnKind::Number;
        }
        if t.contains("TIME") {
            return ColumnKind::Time;
        }
        if t.contains("JSON") || t.contains("UUID") || t.contains("STRING") {
            return ColumnKind::String;
        }
        // NUMERIC, DECIMAL and anything else: NUMERIC affinity.
        ColumnKind::Number
    }

    /// The JSON Schema of a column of this kind. `nullable` adds `"null"`.
    /// Untyped columns take their types from `observed` (see [`Observed`]).
    pub fn json_schema(self, nullable: bool, observed: &Observed) -> Value {
        let (ty, extra): (&str, Value) = match self {
            ColumnKind::Integer => ("integer", json!({})),
            ColumnKind::Number => ("number", json!({})),
            ColumnKind::String => ("string", json!({})),
            ColumnKind::Blob => ("string", json!({"contentEncoding": "base64"})),
            ColumnKind::Boolean => ("boolean", json!({})),
            ColumnKind::Date => ("string", json!({"format": "date"})),
            ColumnKind::DateTime => (
                "string",
                json!({"format": "date-time", "airbyte_type": "timestamp_without_timezone"}),
            ),
            ColumnKind::Time => (
                "string",
                json!({"format": "time", "airbyte_type": "time_without_timezone"}),
            ),
            ColumnKind::Untyped => return observed.json_schema(),
        };
        let mut schema = Map::new();
        schema.insert("type".into(), if nullable { json!(["null", ty]) } else { json!(ty) });
        if let Value::Object(extra) = extra {
            schema.extend(extra);
        }
        Value::Object(schema)
    }
}

/// The storage classes seen in a sample of an untyped column's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// INTEGER values seen.
    pub integer: bool,
    /// REAL values seen.
    pub real: bool,
    /// TEXT values seen.
    pub text: bool,
    /// BLOB values seen.
    pub blob: bool,
}

impl Observed {
    /// Notes a value of SQLite storage class `type_name` (as `typeof()` names it).
    pub fn note(&mut self, type_name: &str) {
        match type_name {
            "integer" => self.integer = true,
            "real" => self.real = true,
            "text" => self.text = true,
            "blob" => self.blob = true,
            _ => {}
        }
    }

    /// The JSON Schema of the values seen: always nullable; a nullable string
    /// when nothing but NULLs (or nothing) was seen.
    pub fn json_schema(&self) -> Value {
        let mut types = vec!["null"];
        if self.real {
            types.push("number");
        } else if self.integer {
            types.push("integer");
        }
        if self.text || self.blob {
            types.push("string");
        }
        if types.len() == 1 {
            types.push("string");
        }
        let mut schema = json!({ "type": types });
        if self.blob && !self.text && !self.integer && !self.real {
            schema["contentEncoding"] = json!("base64");
        }
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnKind::*;

    #[test]
    fn affinity_mapping() {
        let cases = [
            ("INTEGER", Integer),
            ("int", Integer),
            ("BIGINT UNSIGNED", Integer),
            ("TINYINT(1)", Integer),
            ("REAL", Number),
            ("FLOAT", Number),
            ("DOUBLE PRECISION", Number),
            ("NUMERIC", Number),
            ("DECIMAL(10,2)", Number),
            ("TEXT", String),
            ("VARCHAR(255)", String),
            ("NCHAR(3)", String),
            ("CLOB", String),
            ("BLOB", Blob),
            ("BOOLEAN", Boolean),
            ("bool", Boolean),
            ("DATE", Date),
            ("DATETIME", DateTime),
            ("TIMESTAMP", DateTime),
            ("TIME", Time),
            ("JSON", String),
            ("", Untyped),
            ("  ", Untyped),
            ("WHATEVER", Number),
        ];
        for (decl, kind) in cases {
            assert_eq!(ColumnKind::from_declared(decl), kind, "{decl}");
        }
    }

    #[test]
    fn schemas() {
        let none = Observed::default();
        assert_eq!(Integer.json_schema(true, &none), json!({"type": ["null", "integer"]}));
        assert_eq!(Integer.json_schema(false, &none), json!({"type": "integer"}));
        assert_eq!(
            Blob.json_schema(true, &none),
            json!({"type": ["null", "string"], "contentEncoding": "base64"})
        );
        assert_eq!(
            Date.json_schema(true, &none),
            json!({"type": ["null", "string"], "format": "date"})
        );
        assert_eq!(Untyped.json_schema(false, &none), json!({"type": ["null", "string"]}));
        let mut o = Observed::default();
        o.note("integer");
        o.note("text");
        assert_eq!(
            Untyped.json_schema(false, &o),
            json!({"type": ["null", "integer", "string"]})
        );
        o.note("real");
        assert_eq!(o.json_schema(), json!({"type": ["null", "number", "string"]}));
    }
}
