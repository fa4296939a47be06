//! Airbyte's record envelope, as its object-store destinations (destination-s3
//! and its kin) write it: every row gets
//! `_airbyte_raw_id`, `_airbyte_extracted_at`, `_airbyte_generation_id` and
//! `_airbyte_meta` (`{"changes": […], "sync_id": …}`), with the record's
//! fields at the root (root-level flattening; always for Parquet and Avro) or
//! as one `_airbyte_data` object (no flattening).
//!
//! `_airbyte_meta.changes` carries the changes the source made to the record
//! (its RECORD's `meta.changes`), plus one per value that does not fit the
//! catalog's type for its field: such a value is written as null with
//! `{"field", "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"}`,
//! as Airbyte's destinations do, rather than failing the sync.
//!
//! [`EnvelopeReader`] rewrites the RECORD lines of the input before the sink
//! engine reads them (one line in, one line out, so the engine's line numbers
//! stay right) and records each stream's real name and namespace for the key
//! layout; [`envelope_catalog`] gives the engine the matching schemas.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, BufRead, Read};

use arrow::datatypes::Schema;
use lakeport_protocol::ConfiguredAirbyteCatalog;
use serde_json::{json, Map, Value};

use super::input::parse_line;
use super::key_layout::StreamNames;
use super::layout::safe_segment;
use crate::records::value_fits;
use crate::schema::json_schema_to_arrow;

/// How the record's fields are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flattening {
    /// Fields at the root, next to the envelope columns.
    RootLevel,
    /// Fields in one `_airbyte_data` column.
    None,
}

/// The envelope's settings.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// Where the fields go.
    pub flattening: Flattening,
    /// `_airbyte_extracted_at` as epoch milliseconds (text formats, as
    /// Airbyte writes them) instead of a timestamp (Parquet, Avro).
    pub extracted_at_millis: bool,
    /// Generation id per stream (from the catalog; 0 otherwise).
    pub generations: HashMap<(String, Option<String>), i64>,
    /// `_airbyte_meta.sync_id`.
    pub sync_id: i64,
    /// Each catalog stream's data schema, to null the values that do not fit.
    pub schemas: HashMap<(String, Option<String>), Schema>,
}

impl Envelope {
    /// The envelope for `catalog`'s streams.
    pub fn new(flattening: Flattening, extracted_at_millis: bool, catalog: Option<&ConfiguredAirbyteCatalog>) -> Self {
        let mut generations = HashMap::new();
        let mut schemas = HashMap::new();
        let mut sync_id = 0;
        for s in catalog.map(|c| c.streams.as_slice()).unwrap_or_default() {
            let key = (s.stream.name.clone(), s.stream.namespace.clone());
            generations.insert(key.clone(), s.generation_id.unwrap_or(0));
            // A schema that does not convert is reported by the engine.
            if let Ok(schema) = json_schema_to_arrow(&s.stream.json_schema) {
                schemas.insert(key, schema);
            }
            sync_id = s.sync_id.unwrap_or(sync_id);
        }
        Envelope {
            flattening,
            extracted_at_millis,
            generations,
            sync_id,
            schemas,
        }
    }

    /// The record's data wrapped in the envelope, as JSON text; `meta` is
    /// the RECORD's own `meta`.
    fn wrap(&self, data: &str, meta: Option<&str>, emitted_at: i64, stream: &str, namespace: Option<&str>) -> String {
        let key = (stream.to_string(), namespace.map(str::to_string));
        let generation = self.generations.get(&key).copied().unwrap_or(0);
        let mut changes = source_changes(meta);
        let data = match self.schemas.get(&key) {
            Some(schema) => null_misfits(data, schema, &mut changes),
            None => Cow::Borrowed(data),
        };
        let extracted = if self.extracted_at_millis {
            emitted_at.to_string()
        } else {
            let t = chrono::DateTime::from_timestamp_millis(emitted_at).unwrap_or_default();
            format!("\"{}\"", t.format("%Y-%m-%dT%H:%M:%S%.3fZ"))
        };
        let head = format!(
            "{{\"_airbyte_raw_id\":\"{}\",\"_airbyte_extracted_at\":{extracted},\"_airbyte_generation_id\":{generation},\"_airbyte_meta\":{{\"changes\":{},\"sync_id\":{}}}",
            uuid::Uuid::new_v4(),
            Value::Array(changes),
            self.sync_id
        );
        match self.flattening {
            Flattening::None => format!("{head},\"_airbyte_data\":{data}}}"),
            Flattening::RootLevel => {
                let body = data.trim_start();
                let rest = body.strip_prefix('{').unwrap_or(body).trim_start();
                let sep = if rest.starts_with('}') { "" } else { "," };
                format!("{head}{sep}{rest}")
            }
        }
    }
}

/// The `changes` of a RECORD's `meta`, when it has any.
fn source_changes(meta: Option<&str>) -> Vec<Value> {
    let meta: Option<Value> = meta.and_then(|m| serde_json::from_str(m).ok());
    match meta {
        Some(Value::Object(mut m)) => match m.remove("changes") {
            Some(Value::Array(changes)) => changes,
            _ => vec![],
        },
        _ => vec![],
    }
}

/// `data` with every value that does not fit its field's type set to null,
/// each such change added to `changes`. Data that is not a JSON object is
/// left for the engine to report.
fn null_misfits<'a>(data: &'a str, schema: &Schema, changes: &mut Vec<Value>) -> Cow<'a, str> {
    let Ok(mut map) = serde_json::from_str::<Map<String, Value>>(data) else {
        return Cow::Borrowed(data);
    };
    let mut nulled = false;
    for (name, value) in map.iter_mut() {
        let Ok(field) = schema.field_with_name(name) else {
            continue;
        };
        if !value_fits(value, field.data_type()) {
            *value = Value::Null;
            nulled = true;
            changes.push(json!({"field": name, "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"}));
        }
    }
    if nulled {
        Cow::Owned(Value::Object(map).to_string())
    } else {
        Cow::Borrowed(data)
    }
}

/// The JSON schema of the envelope columns.
fn envelope_properties(millis: bool) -> serde_json::Map<String, Value> {
    let extracted = if millis {
        json!({"type": "integer"})
    } else {
        json!({"type": "string", "format": "date-time"})
    };
    let mut props = serde_json::Map::new();
    props.insert("_airbyte_raw_id".into(), json!({"type": "string"}));
    props.insert("_airbyte_extracted_at".into(), extracted);
    props.insert("_airbyte_generation_id".into(), json!({"type": "integer"}));
    props.insert(
        "_airbyte_meta".into(),
        json!({"type": "object", "properties": {
            "changes": {"type": "array", "items": {"type": "object", "properties": {
                "field": {"type": "string"}, "change": {"type": "string"}, "reason": {"type": "string"}}}},
            "sync_id": {"type": "integer"}}}),
    );
    props
}

/// The catalog with each stream's schema wrapped in the envelope.
pub fn envelope_catalog(catalog: &ConfiguredAirbyteCatalog, envelope: &Envelope) -> ConfiguredAirbyteCatalog {
    let mut out = catalog.clone();
    for s in &mut out.streams {
        let mut props = envelope_properties(envelope.extracted_at_millis);
        let schema = &s.stream.json_schema;
        match envelope.flattening {
            Flattening::None => {
                props.insert("_airbyte_data".into(), schema.clone());
            }
            Flattening::RootLevel => {
                if let Some(fields) = schema.get("properties").and_then(Value::as_object) {
                    for (k, v) in fields {
                        props.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
        }
        s.stream.json_schema = json!({"type": "object", "properties": Value::Object(props)});
    }
    out
}

/// Rewrites RECORD lines into the envelope (when one is given; else it only
/// records stream names); every other line passes as is (a malformed line
/// too: the engine reports it with its line number).
pub struct EnvelopeReader<R> {
    inner: R,
    envelope: Option<Envelope>,
    streams: StreamNames,
    line: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
}

impl<R: BufRead> EnvelopeReader<R> {
    /// Wraps `inner`; stream names seen are recorded in `streams`.
    pub fn new(inner: R, envelope: Option<Envelope>, streams: StreamNames) -> Self {
        EnvelopeReader {
            inner,
            envelope,
            streams,
            line: Vec::new(),
            out: Vec::new(),
            pos: 0,
        }
    }

    fn next_line(&mut self) -> io::Result<()> {
        self.line.clear();
        self.out.clear();
        self.pos = 0;
        if self.inner.read_until(b'\n', &mut self.line)? == 0 {
            return Ok(());
        }
        // Bytes that are not UTF-8 (a line cut inside a character, bad
        // input) pass as they are: the engine says what is wrong with them.
        let Ok(text) = std::str::from_utf8(&self.line) else {
            self.out.extend_from_slice(&self.line);
            return Ok(());
        };
        let text = text.trim_end_matches(['\n', '\r']);
        let rewritten = match parse_line(text) {
            Ok(parsed) if parsed.kind == "RECORD" => parsed.record.and_then(|r| {
                let namespace = r.namespace.as_deref();
                let dir = safe_segment(&r.stream);
                if let Ok(mut names) = self.streams.lock() {
                    names
                        .entry(dir)
                        .or_insert_with(|| (r.stream.to_string(), namespace.map(str::to_string)));
                }
                let envelope = self.envelope.as_ref()?;
                let data = envelope.wrap(r.data, r.meta, r.emitted_at, &r.stream, namespace);
                Some(format!(
                    "{{\"stream\":{},\"namespace\":{},\"emitted_at\":{},\"data\":{data}}}",
                    Value::from(r.stream.as_ref()),
                    namespace.map_or(Value::Null, Value::from),
                    r.emitted_at
                ))
            }),
            _ => None,
        };
        match rewritten {
            Some(record) => {
                self.out.extend_from_slice(b"{\"type\":\"RECORD\",\"record\":");
                self.out.extend_from_slice(record.as_bytes());
                self.out.extend_from_slice(b"}\n");
            }
            None => self.out.extend_from_slice(&self.line),
        }
        Ok(())
    }
}

impl<R: BufRead> Read for EnvelopeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for EnvelopeReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.out.len() {
            self.next_line()?;
        }
        Ok(&self.out[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        self.pos = (self.pos + amt).min(self.out.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(flattening: Flattening) -> Envelope {
        Envelope {
            flattening,
            extracted_at_millis: true,
            generations: HashMap::new(),
            sync_id: 7,
            schemas: HashMap::new(),
        }
    }

    #[test]
    fn records_are_wrapped_and_other_lines_pass() {
        let input = "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\",\"namespace\":\"public\",\"data\":{\"id\":1},\"emitted_at\":5}}\n{\"type\":\"STATE\",\"state\":{\"type\":\"LEGACY\",\"data\":{}}}\nnot json\n";
        let names: StreamNames = Default::default();
        let mut r = EnvelopeReader::new(input.as_bytes(), Some(env(Flattening::None)), names.clone());
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        let d = &v["record"]["data"];
        assert_eq!(d["_airbyte_data"], json!({"id": 1}));
        assert_eq!(d["_airbyte_extracted_at"], json!(5));
        assert_eq!(d["_airbyte_generation_id"], json!(0));
        assert_eq!(d["_airbyte_meta"], json!({"changes": [], "sync_id": 7}));
        assert_eq!(d["_airbyte_raw_id"].as_str().unwrap().len(), 36);
        assert_eq!(v["record"]["namespace"], json!("public"));
        assert_eq!(
            lines[1],
            "{\"type\":\"STATE\",\"state\":{\"type\":\"LEGACY\",\"data\":{}}}"
        );
        assert_eq!(lines[2], "not json");
        assert_eq!(
            names.lock().unwrap()["users"],
            ("users".to_string(), Some("public".to_string()))
        );
    }

    #[test]
    fn root_level_flattening() {
        let e = env(Flattening::RootLevel);
        let v: Value = serde_json::from_str(&e.wrap("{\"a\":1}", None, 0, "s", None)).unwrap();
        assert_eq!(v["a"], json!(1));
        assert!(v.get("_airbyte_data").is_none());
        let v: Value = serde_json::from_str(&e.wrap("{}", None, 0, "s", None)).unwrap();
        assert_eq!(v.as_object().unwrap().len(), 4);
    }

    #[test]
    fn changes_carry_the_sources_and_null_what_does_not_fit() {
        let mut e = env(Flattening::RootLevel);
        let schema = json!({"type": "object", "properties": {
            "id": {"type": "integer"}, "when": {"type": "string", "format": "date-time"}, "note": {"type": "string"}}});
        e.schemas
            .insert(("s".into(), None), json_schema_to_arrow(&schema).unwrap());
        let source =
            r#"{"changes": [{"field": "note", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"}]}"#;
        let row = e.wrap(
            r#"{"id":"seven","when":"2024-01-01T00:00:00Z","note":"n"}"#,
            Some(source),
            0,
            "s",
            None,
        );
        let v: Value = serde_json::from_str(&row).unwrap();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["when"], json!("2024-01-01T00:00:00Z"));
        assert_eq!(
            v["_airbyte_meta"]["changes"],
            json!([
                {"field": "note", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"},
                {"field": "id", "change": "NULLED", "reason": "DESTINATION_SERIALIZATION_ERROR"}
            ])
        );
        // Data that fits passes through as written.
        let row = e.wrap(r#"{"id":7}"#, None, 0, "s", None);
        assert!(row.ends_with(r#","id":7}"#), "{row}");
    }
}
