//! Arrow ⇄ JSON Schema conversion with Airbyte's conventions, type inference from text and
//! JSON samples, and merging (widening) of schemas across files.
//!
//! Widening order: null < boolean < integer < number < string. Dates widen to timestamps;
//! any other mix of kinds (an object against an integer, say) widens to string and is
//! reported as a warning — merging never fails.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, TimeUnit};
use serde_json::{json, Map, Value as JsonValue};

use crate::error::{Error, Result};

/// The time zone given to timestamps read from JSON Schema `format: date-time`.
pub const UTC: &str = "UTC";

/// The Arrow type of `format: date-time` values: microseconds, UTC.
pub fn timestamp_utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::from(UTC)))
}

/// The Arrow type of Airbyte's `timestamp_without_timezone`: microseconds, no zone.
pub fn timestamp_naive() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, None)
}

/// A map from string keys to `values` (a JSON object with `additionalProperties`).
pub fn map_type(values: DataType) -> DataType {
    DataType::Map(
        Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![
                Field::new("keys", DataType::Utf8, false),
                Field::new("values", values, true),
            ])),
            false,
        )),
        false,
    )
}

// ---------------------------------------------------------------------------------------
// Columns of JSON values
// ---------------------------------------------------------------------------------------

/// The Arrow canonical extension type of a string column holding JSON texts (`arrow.json`).
/// Records carry such a column's values as the JSON values themselves — e.g. an Avro union
/// of several kinds holds a number in one row, a string or an object in the next.
pub const JSON_EXTENSION: &str = "arrow.json";

/// The field metadata key naming an Arrow extension type.
const EXTENSION_KEY: &str = "ARROW:extension:name";

/// The field metadata key holding a field's own JSON Schema (for [`JSON_EXTENSION`] columns,
/// whose Arrow type alone says only "string").
pub const JSON_SCHEMA_KEY: &str = "lakeport.json_schema";

/// Whether `field` is a string column of JSON texts ([`JSON_EXTENSION`]).
pub fn is_json_field(field: &Field) -> bool {
    matches!(field.data_type(), DataType::Utf8)
        && field.metadata().get(EXTENSION_KEY).is_some_and(|n| n == JSON_EXTENSION)
}

/// A nullable string column of JSON texts whose values follow `json_schema`.
pub fn json_field(name: &str, json_schema: &JsonValue) -> Field {
    Field::new(name, DataType::Utf8, true).with_metadata(std::collections::HashMap::from([
        (EXTENSION_KEY.to_string(), JSON_EXTENSION.to_string()),
        (JSON_SCHEMA_KEY.to_string(), json_schema.to_string()),
    ]))
}

// ---------------------------------------------------------------------------------------
// Exact numbers and instants
// ---------------------------------------------------------------------------------------

/// The JSON Schema keyword giving a `number` column's decimal precision (total digits).
/// Airbyte's `number` says nothing of precision and a destination writes it as a double; a
/// decimal column's schema carries its precision and scale so that a destination writes
/// every digit back (a Parquet/Avro decimal), as the file held it. Other readers ignore it.
pub const DECIMAL_PRECISION_KEY: &str = "decimal_precision";

/// The JSON Schema keyword giving a `number` column's decimal scale (digits after the
/// point), beside [`DECIMAL_PRECISION_KEY`].
pub const DECIMAL_SCALE_KEY: &str = "decimal_scale";

/// The JSON Schema keyword giving a date-time column's resolution when it is finer than
/// Airbyte's microseconds: [`NANOSECONDS`]. A destination then keeps nanoseconds.
pub const TIMESTAMP_PRECISION_KEY: &str = "timestamp_precision";

/// The value of [`TIMESTAMP_PRECISION_KEY`] for nanosecond timestamps.
pub const NANOSECONDS: &str = "nanoseconds";

/// The Arrow decimal type of `precision` digits, `scale` after the point: 128 bits up to 38
/// digits, 256 bits up to 76; `None` beyond (or for a scale Arrow cannot hold).
pub fn decimal_type(precision: i64, scale: i64) -> Option<DataType> {
    let scale = i8::try_from(scale).ok()?;
    match u8::try_from(precision).ok()? {
        p @ 1..=38 if i16::from(scale) <= i16::from(p) => Some(DataType::Decimal128(p, scale)),
        p @ 39..=76 if i16::from(scale) <= i16::from(p) => Some(DataType::Decimal256(p, scale)),
        _ => None,
    }
}

/// The decimal type a `number` schema declares ([`DECIMAL_PRECISION_KEY`],
/// [`DECIMAL_SCALE_KEY`]), if any.
fn declared_decimal(s: &JsonValue) -> Option<DataType> {
    let precision = s.get(DECIMAL_PRECISION_KEY)?.as_i64()?;
    let scale = s.get(DECIMAL_SCALE_KEY).map_or(Some(0), JsonValue::as_i64)?;
    decimal_type(precision, scale)
}

/// The unit a date-time schema declares ([`TIMESTAMP_PRECISION_KEY`]): microseconds unless
/// it says nanoseconds.
fn declared_unit(s: &JsonValue) -> TimeUnit {
    match s.get(TIMESTAMP_PRECISION_KEY).and_then(JsonValue::as_str) {
        Some(NANOSECONDS) => TimeUnit::Nanosecond,
        _ => TimeUnit::Microsecond,
    }
}

// ---------------------------------------------------------------------------------------
// Arrow → JSON Schema
// ---------------------------------------------------------------------------------------

/// The JSON Schema (`{"type":"object","properties":{…}}`) of records with `schema`'s columns.
/// Every property is nullable (`{"type":["null", …]}`).
pub fn arrow_to_json_schema(schema: &Schema) -> JsonValue {
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": fields_to_properties(schema.fields()),
    })
}

fn fields_to_properties(fields: &Fields) -> JsonValue {
    let mut props = Map::new();
    for f in fields {
        props.insert(f.name().clone(), field_to_json_schema(f));
    }
    JsonValue::Object(props)
}

fn nullable(t: &str) -> JsonValue {
    json!({ "type": ["null", t] })
}

/// The JSON Schema of one field: its own (metadata [`JSON_SCHEMA_KEY`], for
/// columns of JSON values) or its type's.
pub fn field_to_json_schema(f: &Field) -> JsonValue {
    f.metadata()
        .get(JSON_SCHEMA_KEY)
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_else(|| data_type_to_json_schema(f.data_type()))
}

/// The JSON Schema of one Arrow type (nullable).
pub fn data_type_to_json_schema(dt: &DataType) -> JsonValue {
    use DataType::*;
    match dt {
        Null => nullable("string"),
        Boolean => nullable("boolean"),
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => nullable("integer"),
        Float16 | Float32 | Float64 => nullable("number"),
        Decimal32(p, s) | Decimal64(p, s) | Decimal128(p, s) | Decimal256(p, s) => json!({
            "type": ["null", "number"],
            DECIMAL_PRECISION_KEY: p,
            DECIMAL_SCALE_KEY: s,
        }),
        Utf8 | LargeUtf8 | Utf8View => nullable("string"),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => {
            json!({ "type": ["null", "string"], "contentEncoding": "base64" })
        }
        Date32 | Date64 => json!({ "type": ["null", "string"], "format": "date" }),
        Timestamp(unit, tz) => {
            let mut s = json!({
                "type": ["null", "string"],
                "format": "date-time",
                "airbyte_type": if tz.is_some() { "timestamp_with_timezone" } else { "timestamp_without_timezone" },
            });
            if *unit == TimeUnit::Nanosecond {
                s[TIMESTAMP_PRECISION_KEY] = json!(NANOSECONDS);
            }
            s
        }
        Time32(_) | Time64(_) => json!({
            "type": ["null", "string"],
            "format": "time",
            "airbyte_type": "time_without_timezone"
        }),
        Struct(fields) => json!({
            "type": ["null", "object"],
            "properties": fields_to_properties(fields),
        }),
        List(f) | LargeList(f) | FixedSizeList(f, _) | ListView(f) | LargeListView(f) => json!({
            "type": ["null", "array"],
            "items": data_type_to_json_schema(f.data_type()),
        }),
        Map(entries, _) => {
            let value_schema = match entries.data_type() {
                Struct(kv) if kv.len() == 2 => data_type_to_json_schema(kv[1].data_type()),
                _ => json!({}),
            };
            json!({ "type": ["null", "object"], "additionalProperties": value_schema })
        }
        Dictionary(_, v) => data_type_to_json_schema(v),
        RunEndEncoded(_, v) => data_type_to_json_schema(v.data_type()),
        _ => nullable("string"),
    }
}

// ---------------------------------------------------------------------------------------
// JSON Schema → Arrow
// ---------------------------------------------------------------------------------------

/// [`json_schema_to_arrow`], with each string column whose property allows several kinds
/// (`{"type": ["null", "integer", "string"]}`, an array of any items) carrying that schema ([`JSON_SCHEMA_KEY`]): a
/// reader of JSON values ([`with_json_values`]) passes such values through unchanged; other
/// readers read text into it as into any string column.
pub fn json_schema_to_arrow_keeping_values(json_schema: &JsonValue) -> Result<Schema> {
    let schema = json_schema_to_arrow(json_schema)?;
    let props = json_schema.get("properties").and_then(JsonValue::as_object);
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match props.and_then(|p| p.get(f.name())) {
            Some(s) if f.data_type() == &DataType::Utf8 && holds_json_values(s) => f
                .as_ref()
                .clone()
                .with_metadata(HashMap::from([(JSON_SCHEMA_KEY.to_string(), s.to_string())])),
            _ => f.as_ref().clone(),
        })
        .collect();
    Ok(Schema::new(fields))
}

/// Whether a property read into a string column allows values that are not strings: several
/// kinds, or an array or object of no declared shape.
fn holds_json_values(s: &JsonValue) -> bool {
    schema_types(s).iter().any(|t| t != "string")
}

/// `schema` with its string columns that declare a schema of several kinds
/// ([`json_schema_to_arrow_keeping_values`]) made columns of JSON values ([`json_field`]),
/// for a reader of JSON to decode into.
pub fn with_json_values(schema: &Schema) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let declared = f
                .metadata()
                .get(JSON_SCHEMA_KEY)
                .and_then(|s| serde_json::from_str::<JsonValue>(s).ok());
            match declared {
                Some(js) if f.data_type() == &DataType::Utf8 && holds_json_values(&js) => json_field(f.name(), &js),
                _ => f.as_ref().clone(),
            }
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The Arrow schema of a stream's `json_schema` (an object schema with `properties`).
/// Every field is nullable. A schema without properties yields an empty schema.
pub fn json_schema_to_arrow(json_schema: &JsonValue) -> Result<Schema> {
    let obj = json_schema.as_object().ok_or_else(|| {
        Error::Config(format!(
            "a stream json_schema must be a JSON object, got {}",
            short(json_schema)
        ))
    })?;
    let fields: Vec<Field> = match obj.get("properties").and_then(JsonValue::as_object) {
        Some(props) => props
            .iter()
            .map(|(name, s)| Field::new(name, json_schema_to_data_type(s), true))
            .collect(),
        None => vec![],
    };
    Ok(Schema::new(fields))
}

fn short(v: &JsonValue) -> String {
    let s = v.to_string();
    if s.len() > 80 {
        let mut end = 80;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    } else {
        s
    }
}

/// The non-null JSON types a schema allows (`type` as a string or list, or via
/// `anyOf`/`oneOf`).
fn schema_types(s: &JsonValue) -> Vec<String> {
    let mut out = vec![];
    match s.get("type") {
        Some(JsonValue::String(t)) => out.push(t.clone()),
        Some(JsonValue::Array(ts)) => out.extend(ts.iter().filter_map(|t| t.as_str().map(String::from))),
        _ => {}
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(JsonValue::Array(alts)) = s.get(key) {
            for alt in alts {
                out.extend(schema_types(alt));
            }
        }
    }
    out.retain(|t| t != "null");
    out.dedup();
    out
}

/// The sub-schema of an `anyOf`/`oneOf` that declares `ty`, or `s` itself.
fn branch_for<'a>(s: &'a JsonValue, ty: &str) -> &'a JsonValue {
    for key in ["anyOf", "oneOf"] {
        if let Some(JsonValue::Array(alts)) = s.get(key) {
            for alt in alts {
                if schema_types(alt).iter().any(|t| t == ty) {
                    return alt;
                }
            }
        }
    }
    s
}

/// The Arrow type of one JSON Schema property.
pub fn json_schema_to_data_type(s: &JsonValue) -> DataType {
    let types = schema_types(s);
    let airbyte_type = s.get("airbyte_type").and_then(JsonValue::as_str);
    let mut kinds: Vec<&str> = types.iter().map(String::as_str).collect();
    // integer ⊂ number
    if kinds.contains(&"integer") && kinds.contains(&"number") {
        kinds.retain(|k| *k != "integer");
    }
    if kinds.len() != 1 {
        return DataType::Utf8;
    }
    let kind = kinds[0];
    let s = branch_for(s, kind);
    let format = s.get("format").and_then(JsonValue::as_str);
    match kind {
        "integer" => DataType::Int64,
        "number" if airbyte_type == Some("integer") => DataType::Int64,
        "number" => declared_decimal(s).unwrap_or(DataType::Float64),
        "boolean" => DataType::Boolean,
        "string" => match (format, airbyte_type) {
            // Airbyte's naive date-time: written without an offset, kept without a zone.
            (Some("date-time") | None, Some("timestamp_without_timezone")) => {
                DataType::Timestamp(declared_unit(s), None)
            }
            (Some("date-time"), _) | (_, Some("timestamp_with_timezone")) => {
                DataType::Timestamp(declared_unit(s), Some(Arc::from(UTC)))
            }
            (Some("date"), _) => DataType::Date32,
            _ => DataType::Utf8,
        },
        "object" => match (
            s.get("properties").and_then(JsonValue::as_object),
            s.get("additionalProperties"),
        ) {
            (Some(props), _) if !props.is_empty() => DataType::Struct(
                props
                    .iter()
                    .map(|(n, p)| Field::new(n, json_schema_to_data_type(p), true))
                    .collect(),
            ),
            // A map: any keys, values of one declared type.
            (_, Some(values)) if values.is_object() && !schema_types(values).is_empty() => {
                map_type(json_schema_to_data_type(values))
            }
            _ => DataType::Utf8,
        },
        "array" => match s.get("items") {
            Some(items) if items.is_object() && !schema_types(items).is_empty() => {
                DataType::List(Arc::new(Field::new_list_field(json_schema_to_data_type(items), true)))
            }
            _ => DataType::Utf8,
        },
        _ => DataType::Utf8,
    }
}

// ---------------------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------------------

/// The narrowest type of a text value (CSV cell): integer, number, boolean, date,
/// timestamp (µs, UTC) or string. An empty string is `Null` (no information).
pub fn infer_text_type(s: &str) -> DataType {
    let t = s.trim();
    if t.is_empty() {
        return DataType::Null;
    }
    let b = t.as_bytes();
    let digits_start = usize::from(b[0] == b'-' || b[0] == b'+');
    if digits_start < b.len() && b[digits_start..].iter().all(u8::is_ascii_digit) {
        // Leading zeros ("007") are identifiers, keep them as text.
        let leading_zero = b.len() - digits_start > 1 && b[digits_start] == b'0';
        if !leading_zero && t.parse::<i64>().is_ok() {
            return DataType::Int64;
        }
        if !leading_zero {
            return DataType::Float64;
        }
        return DataType::Utf8;
    }
    if b.iter().any(u8::is_ascii_digit)
        && b.iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'+' | b'e' | b'E'))
        && t.parse::<f64>().is_ok()
    {
        return DataType::Float64;
    }
    if t.eq_ignore_ascii_case("true") || t.eq_ignore_ascii_case("false") {
        return DataType::Boolean;
    }
    if looks_like_date(b) {
        return DataType::Date32;
    }
    if b.len() >= 19
        && looks_like_date(&b[..10])
        && (b[10] == b'T' || b[10] == b' ')
        && arrow::compute::kernels::cast_utils::string_to_timestamp_nanos(t).is_ok()
    {
        return timestamp_utc();
    }
    DataType::Utf8
}

fn looks_like_date(b: &[u8]) -> bool {
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && chrono::NaiveDate::parse_from_str(std::str::from_utf8(b).unwrap_or(""), "%Y-%m-%d").is_ok()
}

/// The type of one JSON value; objects deeper than `max_depth` levels become `Utf8`
/// (kept as JSON text).
pub fn infer_json_type(v: &JsonValue, max_depth: usize) -> DataType {
    match v {
        JsonValue::Null => DataType::Null,
        JsonValue::Bool(_) => DataType::Boolean,
        JsonValue::Number(n) => {
            if n.is_i64() {
                DataType::Int64
            } else {
                DataType::Float64
            }
        }
        JsonValue::String(_) => DataType::Utf8,
        JsonValue::Array(items) => {
            if max_depth == 0 {
                return DataType::Utf8;
            }
            let mut t = DataType::Null;
            for item in items {
                t = widen(&t, &infer_json_type(item, max_depth - 1)).unwrap_or(DataType::Utf8);
            }
            DataType::List(Arc::new(Field::new_list_field(t, true)))
        }
        JsonValue::Object(map) => {
            if max_depth == 0 || map.is_empty() {
                return DataType::Utf8;
            }
            DataType::Struct(
                map.iter()
                    .map(|(k, v)| Field::new(k, infer_json_type(v, max_depth - 1), true))
                    .collect(),
            )
        }
    }
}

/// Accumulates the schema of a sample of JSON objects (records), widening as it goes.
#[derive(Debug, Clone, Default)]
pub struct JsonSchemaInferrer {
    fields: Vec<Field>,
    index: HashMap<String, usize>,
    max_depth: usize,
    conflicts: Vec<String>,
    /// With [`JsonSchemaInferrer::keeping_mixed_values`]: per field, the JSON kinds seen and
    /// whether an array in it mixed kinds.
    mixed: Option<Vec<MixedKinds>>,
}

/// The JSON kinds one field held, for [`JsonSchemaInferrer::keeping_mixed_values`].
#[derive(Debug, Clone, Default)]
struct MixedKinds {
    kinds: std::collections::BTreeSet<&'static str>,
    mixed_array: bool,
}

impl MixedKinds {
    fn observe(&mut self, v: &JsonValue) {
        self.kinds.insert(json_kind(v));
        self.mixed_array |= has_mixed_array(v);
    }

    /// The JSON Schema of a field of several kinds (or holding mixed arrays), `None` for a
    /// field one typed column holds without converting a value.
    fn json_schema(&self) -> Option<JsonValue> {
        let mut kinds: Vec<&str> = self.kinds.iter().copied().filter(|k| *k != "null").collect();
        if kinds.contains(&"number") {
            kinds.retain(|k| *k != "integer");
        }
        if kinds.len() <= 1 && !self.mixed_array {
            return None;
        }
        let mut types = vec!["null"];
        types.extend(kinds);
        Some(json!({ "type": types }))
    }
}

/// The JSON Schema kind of a JSON value.
fn json_kind(v: &JsonValue) -> &'static str {
    match v {
        JsonValue::Null => "null",
        JsonValue::Bool(_) => "boolean",
        JsonValue::Number(n) if n.is_i64() || n.is_u64() => "integer",
        JsonValue::Number(_) => "number",
        JsonValue::String(_) => "string",
        JsonValue::Array(_) => "array",
        JsonValue::Object(_) => "object",
    }
}

/// Whether an array anywhere in `v` holds items of kinds no one typed list holds without
/// converting some (a number and a string, an object and a number, …).
fn has_mixed_array(v: &JsonValue) -> bool {
    match v {
        JsonValue::Array(items) => {
            let mut kinds =
                items
                    .iter()
                    .map(json_kind)
                    .filter(|k| *k != "null")
                    .map(|k| if k == "integer" { "number" } else { k });
            let first = kinds.next();
            kinds.any(|k| Some(k) != first) || items.iter().any(has_mixed_array)
        }
        JsonValue::Object(map) => map.values().any(has_mixed_array),
        _ => false,
    }
}

impl JsonSchemaInferrer {
    /// An inferrer that keeps objects nested at most `max_depth` levels.
    pub fn new(max_depth: usize) -> Self {
        JsonSchemaInferrer {
            max_depth: max_depth.max(1),
            ..Default::default()
        }
    }

    /// This inferrer, making a field that holds values of several kinds (a number in one
    /// record, a string or an object in another) or arrays of mixed items a column of JSON
    /// values ([`json_field`]) whose schema lists the kinds seen — its values pass through
    /// unchanged, as Airbyte's file-based sources pass JSON values — instead of a string
    /// column holding their text.
    pub fn keeping_mixed_values(mut self) -> Self {
        self.mixed = Some(vec![]);
        self
    }

    /// Adds one record; non-object values are ignored.
    pub fn observe(&mut self, record: &JsonValue) {
        let Some(map) = record.as_object() else {
            return;
        };
        for (k, v) in map {
            let t = infer_json_type(v, self.max_depth - 1);
            let field = self.index.get(k).copied().unwrap_or(self.fields.len());
            if let Some(mixed) = self.mixed.as_mut() {
                mixed.resize_with(mixed.len().max(field + 1), MixedKinds::default);
                mixed[field].observe(v);
            }
            match self.index.get(k) {
                Some(&i) => {
                    let old = self.fields[i].data_type().clone();
                    let new = match widen(&old, &t) {
                        Ok(t) => t,
                        Err(t) => {
                            if self.conflicts.len() < 100 && self.mixed.is_none() {
                                self.conflicts.push(format!(
                                    "field '{k}' holds both {} and {} values; read as string",
                                    kind_name(&old),
                                    kind_name(&t)
                                ));
                            }
                            t
                        }
                    };
                    self.fields[i] = Field::new(k, new, true);
                }
                None => {
                    self.index.insert(k.clone(), self.fields.len());
                    self.fields.push(Field::new(k, t, true));
                }
            }
        }
    }

    /// Adds one record given as JSON text.
    pub fn observe_str(&mut self, record: &str) -> Result<()> {
        let v: JsonValue = serde_json::from_str(record)
            .map_err(|e| Error::format("<records>", format!("invalid JSON record: {e}")))?;
        self.observe(&v);
        Ok(())
    }

    /// Type conflicts seen so far (each widened to string).
    pub fn warnings(&self) -> &[String] {
        &self.conflicts
    }

    /// The schema seen so far, with never-typed (all-null) columns as `Utf8`.
    pub fn schema(&self) -> Schema {
        let schema = finalize(&Schema::new(self.fields.clone()));
        let Some(mixed) = &self.mixed else {
            return schema;
        };
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .zip(mixed)
            .map(|(f, m)| match m.json_schema() {
                Some(js) => json_field(f.name(), &js),
                None => f.as_ref().clone(),
            })
            .collect();
        Schema::new_with_metadata(fields, schema.metadata().clone())
    }
}

/// Replaces `Null` types (columns that were only ever null) by `Utf8`, recursively.
pub fn finalize(schema: &Schema) -> Schema {
    Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), finalize_type(f.data_type()), true))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    )
}

fn finalize_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Null => DataType::Utf8,
        DataType::Struct(fs) => DataType::Struct(
            fs.iter()
                .map(|f| Field::new(f.name(), finalize_type(f.data_type()), true))
                .collect(),
        ),
        DataType::List(f) => DataType::List(Arc::new(Field::new_list_field(finalize_type(f.data_type()), true))),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Widening and merging
// ---------------------------------------------------------------------------------------

/// A short human name of a type's kind, for warnings.
pub fn kind_name(dt: &DataType) -> &'static str {
    use DataType::*;
    match dt {
        Null => "null",
        Boolean => "boolean",
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => "integer",
        Float16 | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => "number",
        Utf8 | LargeUtf8 | Utf8View => "string",
        Date32 | Date64 => "date",
        Timestamp(..) => "timestamp",
        Time32(_) | Time64(_) => "time",
        Struct(_) => "object",
        Map(..) => "map",
        List(_) | LargeList(_) | FixedSizeList(..) => "array",
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => "binary",
        _ => "other",
    }
}

fn rank(dt: &DataType) -> Option<u8> {
    match kind_name(dt) {
        "null" => Some(0),
        "boolean" => Some(1),
        "integer" => Some(2),
        "number" => Some(3),
        "string" => Some(4),
        _ => None,
    }
}

/// Widens two types to one that holds both. `Ok` for an ordinary widening, `Err(Utf8)` for a
/// real conflict (e.g. object vs integer), where the caller should warn.
pub fn widen(a: &DataType, b: &DataType) -> std::result::Result<DataType, DataType> {
    use DataType::*;
    if a == b {
        return Ok(a.clone());
    }
    match (a, b) {
        (Null, t) | (t, Null) => return Ok(t.clone()),
        (Struct(fa), Struct(fb)) => return Ok(Struct(merge_fields(fa, fb, &mut vec![], "", ""))),
        (List(fa), List(fb)) | (LargeList(fa), LargeList(fb)) => {
            let item = widen(fa.data_type(), fb.data_type());
            let conflict = item.is_err();
            let t = List(Arc::new(Field::new_list_field(item.unwrap_or_else(|t| t), true)));
            return if conflict { Err(Utf8) } else { Ok(t) };
        }
        (Date32 | Date64, Timestamp(..)) => return Ok(b.clone()),
        (Timestamp(..), Date32 | Date64) => return Ok(a.clone()),
        (Timestamp(ua, ta), Timestamp(ub, tb)) => {
            let tz = ta.clone().or_else(|| tb.clone());
            let unit = if *ua == TimeUnit::Nanosecond && *ub == TimeUnit::Nanosecond {
                TimeUnit::Nanosecond
            } else {
                TimeUnit::Microsecond
            };
            return Ok(Timestamp(unit, tz));
        }
        (
            Decimal32(pa, sa) | Decimal64(pa, sa) | Decimal128(pa, sa) | Decimal256(pa, sa),
            Decimal32(pb, sb) | Decimal64(pb, sb) | Decimal128(pb, sb) | Decimal256(pb, sb),
        ) => {
            let scale = (*sa).max(*sb);
            let int_digits = (i16::from(*pa) - i16::from(*sa)).max(i16::from(*pb) - i16::from(*sb));
            let precision = int_digits + i16::from(scale);
            return Ok(decimal_type(i64::from(precision), i64::from(scale)).unwrap_or(Float64));
        }
        _ => {}
    }
    match (rank(a), rank(b)) {
        // `true` and `1` in one column: neither a boolean nor a number column reads both.
        (Some(1), Some(2 | 3)) | (Some(2 | 3), Some(1)) => Ok(Utf8),
        (Some(ra), Some(rb)) => Ok(match ra.max(rb) {
            1 => Boolean,
            2 if kind_name(a) == kind_name(b) => Int64,
            2 => Int64,
            3 => Float64,
            _ => Utf8,
        }),
        // temporal or binary against string: string, no surprise
        (None, Some(4)) | (Some(4), None) if is_scalar(a) && is_scalar(b) => Ok(Utf8),
        _ if is_scalar(a) && is_scalar(b) => Ok(Utf8),
        _ => Err(Utf8),
    }
}

fn is_scalar(dt: &DataType) -> bool {
    !matches!(kind_name(dt), "object" | "map" | "array" | "other")
}

fn merge_fields(a: &Fields, b: &Fields, warnings: &mut Vec<String>, a_source: &str, b_source: &str) -> Fields {
    let mut out: Vec<FieldRef> = Vec::with_capacity(a.len().max(b.len()));
    for fa in a {
        match b.iter().find(|fb| fb.name() == fa.name()) {
            Some(fb) => {
                let t = match widen(fa.data_type(), fb.data_type()) {
                    Ok(t) => t,
                    Err(t) => {
                        warnings.push(format!(
                            "column '{}' is {} in {} but {} in {}; it is read as string",
                            fa.name(),
                            kind_name(fa.data_type()),
                            a_source,
                            kind_name(fb.data_type()),
                            b_source
                        ));
                        t
                    }
                };
                // A column of JSON values in both keeps what says so.
                let same_meta = fa.metadata() == fb.metadata() && fa.data_type() == &t;
                let field = Field::new(fa.name(), t, true);
                out.push(Arc::new(if same_meta {
                    field.with_metadata(fa.metadata().clone())
                } else {
                    field
                }));
            }
            None => out.push(Arc::new(fa.as_ref().clone().with_nullable(true))),
        }
    }
    for fb in b {
        if !a.iter().any(|fa| fa.name() == fb.name()) {
            out.push(Arc::new(fb.as_ref().clone().with_nullable(true)));
        }
    }
    Fields::from(out)
}

/// Merges the schemas of two sources (files): the union of their columns (in first-seen
/// order), each widened to hold both. Real conflicts widen to string and produce one warning
/// naming both sources. Never fails.
pub fn merge(a: &Schema, a_source: &str, b: &Schema, b_source: &str) -> (Schema, Vec<String>) {
    let mut warnings = vec![];
    let fields = merge_fields(a.fields(), b.fields(), &mut warnings, a_source, b_source);
    (Schema::new(fields), warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_inference() {
        assert_eq!(infer_text_type("42"), DataType::Int64);
        assert_eq!(infer_text_type("-4.5e3"), DataType::Float64);
        assert_eq!(infer_text_type("007"), DataType::Utf8);
        assert_eq!(infer_text_type("TRUE"), DataType::Boolean);
        assert_eq!(infer_text_type("2024-02-29"), DataType::Date32);
        assert_eq!(infer_text_type("2024-02-30"), DataType::Utf8);
        assert_eq!(infer_text_type("2024-02-29T10:00:00Z"), timestamp_utc());
        assert_eq!(infer_text_type("2024-02-29 10:00:00.123"), timestamp_utc());
        assert_eq!(infer_text_type("hello"), DataType::Utf8);
        assert_eq!(infer_text_type(""), DataType::Null);
        assert_eq!(infer_text_type("99999999999999999999"), DataType::Float64);
    }
}

#[cfg(test)]
mod conversion_tests {
    use super::*;

    #[test]
    fn a_json_schema_that_is_not_an_object_is_named_shortly_in_the_error() {
        let long = JsonValue::String("x".repeat(200));
        let e = json_schema_to_arrow(&long).unwrap_err().to_string();
        assert!(
            e.contains("a stream json_schema must be a JSON object, got \"xxx"),
            "{e}"
        );
        assert!(e.ends_with('…') && e.len() < 200, "{e}");
        let e = json_schema_to_arrow(&json!([1])).unwrap_err().to_string();
        assert!(e.ends_with("got [1]"), "{e}");
        // Without properties: no columns.
        assert!(json_schema_to_arrow(&json!({"type": "object"}))
            .unwrap()
            .fields()
            .is_empty());
    }

    #[test]
    fn json_schema_types_map_to_arrow_through_unions_maps_and_lists() {
        let t = |s: JsonValue| json_schema_to_data_type(&s);
        // anyOf / oneOf with one non-null kind: that kind's branch and its format.
        assert_eq!(
            t(json!({"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]})),
            DataType::Date32
        );
        assert_eq!(
            t(json!({"oneOf": [{"type": "integer"}, {"type": "number"}]})),
            DataType::Float64
        );
        // Two kinds: text.
        assert_eq!(t(json!({"type": ["string", "boolean"]})), DataType::Utf8);
        assert_eq!(
            t(json!({"type": ["null", "number"], "airbyte_type": "integer"})),
            DataType::Int64
        );
        assert_eq!(
            t(json!({"type": "string", "airbyte_type": "timestamp_with_timezone"})),
            timestamp_utc()
        );
        assert_eq!(
            t(json!({"type": "string", "airbyte_type": "timestamp_without_timezone"})),
            timestamp_naive()
        );
        // Maps of one value type; objects and arrays of nothing declared are text.
        assert_eq!(
            t(json!({"type": "object", "additionalProperties": {"type": "integer"}})),
            map_type(DataType::Int64)
        );
        assert_eq!(
            t(json!({"type": "object", "additionalProperties": true})),
            DataType::Utf8
        );
        assert_eq!(t(json!({"type": "object", "properties": {}})), DataType::Utf8);
        assert_eq!(t(json!({"type": "array"})), DataType::Utf8);
        assert_eq!(t(json!({"type": "array", "items": {}})), DataType::Utf8);
        assert_eq!(t(json!({"type": "whatever"})), DataType::Utf8);
        // And back: a map's values, a dictionary's values, anything else as a string.
        assert_eq!(
            data_type_to_json_schema(&map_type(DataType::Boolean)),
            json!({"type": ["null", "object"], "additionalProperties": {"type": ["null", "boolean"]}})
        );
        let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Int64));
        assert_eq!(
            data_type_to_json_schema(&dict),
            data_type_to_json_schema(&DataType::Int64)
        );
        let odd_map = DataType::Map(Arc::new(Field::new("entries", DataType::Utf8, false)), false);
        assert_eq!(
            data_type_to_json_schema(&odd_map),
            json!({"type": ["null", "object"], "additionalProperties": {}})
        );
    }

    #[test]
    fn the_inferrer_ignores_non_objects_and_refuses_bad_json_text() {
        let mut inferrer = JsonSchemaInferrer::new(3);
        inferrer.observe(&json!([1, 2]));
        inferrer.observe(&json!("text"));
        inferrer.observe_str(r#"{"a": 1, "b": {"x": 1}}"#).unwrap();
        // A number and a boolean: text, quietly (neither column reads both).
        inferrer.observe_str(r#"{"a": true, "b": 2}"#).unwrap();
        let e = inferrer.observe_str("{not json").unwrap_err().to_string();
        assert!(e.contains("invalid JSON record"), "{e}");
        let schema = inferrer.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(types, [&DataType::Utf8, &DataType::Utf8]);
        // An object and a number: text, with a warning naming the field.
        assert_eq!(inferrer.warnings().len(), 1, "{:?}", inferrer.warnings());
        let w = &inferrer.warnings()[0];
        assert!(
            w.starts_with("field 'b' holds both ") && w.ends_with(" values; read as string"),
            "{w}"
        );
    }
}
