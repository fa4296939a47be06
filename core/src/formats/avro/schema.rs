//! Schema mapping both ways: an Avro schema as Arrow fields (named types resolved, unions
//! of several kinds as JSON values), and an Arrow schema as an Avro record with legal names.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::schema::{RecordField, Schema as AvroSchema};
use arrow::datatypes::*;
use serde_json::{json, Value as JsonValue};

use super::header::DECIMAL_BRANCH;
use crate::error::{Error, Result};

pub(super) type Names = HashMap<String, AvroSchema>;

pub(super) fn collect_names(s: &AvroSchema, names: &mut Names) {
    match s {
        AvroSchema::Record(r) => {
            names.insert(r.name.name.clone(), s.clone());
            names.insert(r.name.fullname(None), s.clone());
            for f in &r.fields {
                collect_names(&f.schema, names);
            }
        }
        AvroSchema::Enum(e) => {
            names.insert(e.name.name.clone(), s.clone());
            names.insert(e.name.fullname(None), s.clone());
        }
        AvroSchema::Fixed(f) => {
            names.insert(f.name.name.clone(), s.clone());
            names.insert(f.name.fullname(None), s.clone());
        }
        AvroSchema::Array(a) => collect_names(&a.items, names),
        AvroSchema::Map(m) => collect_names(&m.types, names),
        AvroSchema::Union(u) => u.variants().iter().for_each(|v| collect_names(v, names)),
        AvroSchema::Decimal(d) => collect_names(&d.inner, names),
        _ => {}
    }
}

pub(super) fn resolve<'a>(s: &'a AvroSchema, names: &'a Names) -> &'a AvroSchema {
    match s {
        AvroSchema::Ref { name } => names
            .get(&name.fullname(None))
            .or_else(|| names.get(&name.name))
            .unwrap_or(s),
        _ => s,
    }
}

fn avro_type(s: &AvroSchema, names: &Names, depth: usize) -> DataType {
    let s = resolve(s, names);
    if depth > 32 {
        return DataType::Utf8;
    }
    match s {
        AvroSchema::Null => DataType::Null,
        AvroSchema::Boolean => DataType::Boolean,
        AvroSchema::Int => DataType::Int32,
        AvroSchema::Long => DataType::Int64,
        AvroSchema::Float => DataType::Float32,
        AvroSchema::Double => DataType::Float64,
        AvroSchema::Fixed(f) => match names.get(&format!("{DECIMAL_BRANCH}{}", f.name.name)) {
            Some(decimal) => avro_type(decimal, names, depth),
            None => DataType::Binary,
        },
        AvroSchema::Bytes | AvroSchema::Duration => DataType::Binary,
        AvroSchema::String | AvroSchema::Enum(_) | AvroSchema::Uuid | AvroSchema::BigDecimal => DataType::Utf8,
        AvroSchema::Date => DataType::Date32,
        AvroSchema::TimeMillis => DataType::Time32(TimeUnit::Millisecond),
        AvroSchema::TimeMicros => DataType::Time64(TimeUnit::Microsecond),
        AvroSchema::TimestampMillis => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        AvroSchema::TimestampMicros => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        AvroSchema::TimestampNanos => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        AvroSchema::LocalTimestampMillis => DataType::Timestamp(TimeUnit::Millisecond, None),
        AvroSchema::LocalTimestampMicros => DataType::Timestamp(TimeUnit::Microsecond, None),
        AvroSchema::LocalTimestampNanos => DataType::Timestamp(TimeUnit::Nanosecond, None),
        AvroSchema::Decimal(d) if d.precision <= 38 && d.scale <= d.precision => {
            DataType::Decimal128(d.precision as u8, d.scale as i8)
        }
        AvroSchema::Decimal(d) if d.precision <= 76 && d.scale <= d.precision => {
            DataType::Decimal256(d.precision as u8, d.scale as i8)
        }
        AvroSchema::Decimal(_) => DataType::Utf8,
        AvroSchema::Array(a) => DataType::List(Arc::new(Field::new_list_field(
            avro_type(&a.items, names, depth + 1),
            true,
        ))),
        AvroSchema::Map(m) => DataType::Map(
            Arc::new(Field::new(
                "entries",
                DataType::Struct(Fields::from(vec![
                    Field::new("keys", DataType::Utf8, false),
                    Field::new("values", avro_type(&m.types, names, depth + 1), true),
                ])),
                false,
            )),
            false,
        ),
        AvroSchema::Record(r) => DataType::Struct(record_fields(&r.fields, names, depth + 1)),
        AvroSchema::Union(u) => {
            let non_null: Vec<&AvroSchema> = u.variants().iter().filter(|v| !matches!(v, AvroSchema::Null)).collect();
            match non_null.as_slice() {
                [one] => avro_type(one, names, depth),
                [] => DataType::Null,
                _ => DataType::Utf8,
            }
        }
        AvroSchema::Ref { .. } => DataType::Utf8,
    }
}

fn record_fields(fields: &[RecordField], names: &Names, depth: usize) -> Fields {
    fields
        .iter()
        .map(|f| avro_field(&f.name, &f.schema, names, depth))
        .collect()
}

/// The Arrow field of a record field: a union of several branches (two records, two enums,
/// a string or a long, …) is a column of JSON values, each row its branch's own value, typed
/// in JSON Schema by the kinds its branches have.
fn avro_field(name: &str, schema: &AvroSchema, names: &Names, depth: usize) -> Field {
    if let AvroSchema::Union(u) = resolve(schema, names) {
        let branches: Vec<DataType> = u
            .variants()
            .iter()
            .filter(|v| !matches!(v, AvroSchema::Null))
            .map(|v| avro_type(v, names, depth + 1))
            .collect();
        if branches.len() > 1 {
            let mut kinds: Vec<JsonValue> = vec![json!("null")];
            for t in &branches {
                let schema = crate::schema::data_type_to_json_schema(t);
                for k in schema["type"].as_array().into_iter().flatten() {
                    if !kinds.contains(k) {
                        kinds.push(k.clone());
                    }
                }
            }
            return crate::schema::json_field(name, &json!({ "type": kinds }));
        }
    }
    Field::new(name, avro_type(schema, names, depth), true)
}

/// The Arrow schema of records with Avro schema `s` (a record schema; anything else becomes
/// one column named `value`).
pub fn avro_to_arrow(s: &AvroSchema) -> Schema {
    let mut names = Names::new();
    collect_names(s, &mut names);
    avro_to_arrow_with(s, &names)
}

/// [`avro_to_arrow`] with the named types already collected.
pub(super) fn avro_to_arrow_with(s: &AvroSchema, names: &Names) -> Schema {
    match s {
        AvroSchema::Record(r) => Schema::new(record_fields(&r.fields, names, 0)),
        other => Schema::new(vec![Field::new("value", avro_type(other, names, 0), true)]),
    }
}

fn avro_type_json(dt: &DataType, path: &str) -> JsonValue {
    use DataType::*;
    match dt {
        Null => json!("null"),
        Boolean => json!("boolean"),
        Int8 | Int16 | Int32 | UInt8 | UInt16 => json!("int"),
        Int64 | UInt32 | UInt64 => json!("long"),
        Float16 | Float32 => json!("float"),
        Float64 => json!("double"),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => json!("bytes"),
        Date32 | Date64 => json!({"type": "int", "logicalType": "date"}),
        Time32(_) => json!({"type": "int", "logicalType": "time-millis"}),
        Time64(_) => json!({"type": "long", "logicalType": "time-micros"}),
        Timestamp(TimeUnit::Millisecond, tz) => json!({
            "type": "long",
            "logicalType": if tz.is_some() { "timestamp-millis" } else { "local-timestamp-millis" }
        }),
        Timestamp(TimeUnit::Nanosecond, tz) => json!({
            "type": "long",
            "logicalType": if tz.is_some() { "timestamp-nanos" } else { "local-timestamp-nanos" }
        }),
        Timestamp(_, tz) => json!({
            "type": "long",
            "logicalType": if tz.is_some() { "timestamp-micros" } else { "local-timestamp-micros" }
        }),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) | Decimal256(p, s) => json!({
            "type": "bytes", "logicalType": "decimal", "precision": p, "scale": s
        }),
        Struct(fields) => json!({
            "type": "record",
            "name": path,
            "fields": fields_json(fields.iter().map(|f| f.as_ref()), path),
        }),
        List(f) | LargeList(f) | FixedSizeList(f, _) => json!({
            "type": "array",
            "items": nullable_json(avro_type_json(f.data_type(), &format!("{path}_item"))),
        }),
        Map(entries, _) => {
            let value_type = match entries.data_type() {
                Struct(kv) if kv.len() == 2 => kv[1].data_type().clone(),
                _ => Utf8,
            };
            json!({
                "type": "map",
                "values": nullable_json(avro_type_json(&value_type, &format!("{path}_value"))),
            })
        }
        Dictionary(_, v) => avro_type_json(v, path),
        _ => json!("string"),
    }
}

fn nullable_json(t: JsonValue) -> JsonValue {
    if t == json!("null") {
        t
    } else {
        json!(["null", t])
    }
}

/// The Avro fields of a record at `path`: legal, distinct names ([`avro_names`]).
fn fields_json<'a>(fields: impl Iterator<Item = &'a Field> + Clone, path: &str) -> Vec<JsonValue> {
    let names = avro_names(fields.clone().map(|f| f.name().as_str()));
    fields
        .zip(names)
        .map(|(f, name)| {
            json!({
                "type": nullable_json(avro_type_json(f.data_type(), &format!("{path}_{name}"))),
                "name": name,
                "default": null,
            })
        })
        .collect()
}

/// Avro-legal names for the fields of one record, in order: each
/// [`sanitize`]d, and those that then clash (`a b` and `a_b`, `é` and `ü`)
/// made distinct with `_1`, `_2`, … (Avro refuses a record with two fields
/// of the same name).
pub(super) fn avro_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .map(|n| {
            let base = sanitize(n);
            let mut name = base.clone();
            let mut i = 1;
            while !taken.insert(name.clone()) {
                name = format!("{base}_{i}");
                i += 1;
            }
            name
        })
        .collect()
}

/// An Avro-legal name: letters, digits and `_`, not starting with a digit.
fn sanitize(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The Avro schema (a record named `name`) for an Arrow schema. Every field is a
/// `["null", T]` union with default null. Field names are made Avro-legal (non-alphanumeric
/// characters become `_`) and distinct (names that then clash get `_1`, `_2`, …).
pub fn arrow_to_avro(schema: &Schema, name: &str) -> Result<AvroSchema> {
    let root = sanitize(name);
    let j = json!({
        "type": "record",
        "name": root,
        "fields": fields_json(schema.fields().iter().map(|f| f.as_ref()), &root),
    });
    AvroSchema::parse(&j).map_err(|e| Error::Internal(format!("Avro schema for {name}: {e}")))
}
