//! Avro object container files: schema mapping both ways, a streaming reader (rows decoded by
//! `apache-avro`, assembled into Arrow through `arrow_json`), and a block-by-block writer.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::Arc;

use apache_avro::schema::{RecordField, Schema as AvroSchema};
use apache_avro::types::Value;
use apache_avro::Codec;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::*;
use lakeport_protocol::panics::catch_panic;
use serde_json::{json, Value as JsonValue};

use super::conform::{conform, drop_rows, with_nulled};
use super::options::{OnBadRecord, ReadOptions};
use super::writer::{CountingWriter, FormatWriter, Sink, WriteOptions};
use super::{BatchReader, Warnings};
use crate::error::{Error, Result};
use crate::records::{json_reader_builder, write_date, write_json_str};

// ---------------------------------------------------------------------------------------
// Avro schema → Arrow
// ---------------------------------------------------------------------------------------

type Names = HashMap<String, AvroSchema>;

fn collect_names(s: &AvroSchema, names: &mut Names) {
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

fn resolve<'a>(s: &'a AvroSchema, names: &'a Names) -> &'a AvroSchema {
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
            return crate::records::json_field(name, &json!({ "type": kinds }));
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
fn avro_to_arrow_with(s: &AvroSchema, names: &Names) -> Schema {
    match s {
        AvroSchema::Record(r) => Schema::new(record_fields(&r.fields, names, 0)),
        other => Schema::new(vec![Field::new("value", avro_type(other, names, 0), true)]),
    }
}

// ---------------------------------------------------------------------------------------
// Avro value → JSON text (fed to arrow_json)
// ---------------------------------------------------------------------------------------

/// The decimal digits (with a `-` when negative) of a big-endian two's-complement integer
/// of any length.
fn twos_complement_digits(bytes: &[u8]) -> String {
    let neg = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut mag: Vec<u8> = bytes.to_vec();
    if neg {
        // Magnitude of a negative number: invert and add one.
        for b in mag.iter_mut() {
            *b = !*b;
        }
        for b in mag.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    // Base 256 to base 10^9 by repeated division.
    let mut chunks: Vec<u32> = Vec::new();
    let mut start = mag.iter().position(|b| *b != 0).unwrap_or(mag.len());
    while start < mag.len() {
        let mut rem: u64 = 0;
        for b in mag[start..].iter_mut() {
            let cur = (rem << 8) | u64::from(*b);
            *b = (cur / 1_000_000_000) as u8;
            rem = cur % 1_000_000_000;
        }
        chunks.push(rem as u32);
        while start < mag.len() && mag[start] == 0 {
            start += 1;
        }
    }
    let mut text = String::new();
    if neg && !chunks.is_empty() {
        text.push('-');
    }
    match chunks.split_last() {
        None => text.push('0'),
        Some((last, rest)) => {
            text.push_str(&last.to_string());
            for c in rest.iter().rev() {
                text.push_str(&format!("{c:09}"));
            }
        }
    }
    text
}

fn write_decimal_bytes(out: &mut Vec<u8>, bytes: &[u8], scale: usize) {
    let scale = i32::try_from(scale).unwrap_or(i32::MAX);
    crate::records::write_decimal_digits(out, &twos_complement_digits(bytes), scale);
}

/// The text of a NaN or an infinity, as Arrow's float parser reads it.
fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

fn write_value(v: &Value, s: &AvroSchema, names: &Names, out: &mut Vec<u8>) {
    let s = resolve(s, names);
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) if matches!(s, AvroSchema::Date) => write_date(out, i64::from(*i)),
        Value::Date(d) => write_date(out, i64::from(*d)),
        Value::Int(i) | Value::TimeMillis(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Long(i)
        | Value::TimeMicros(i)
        | Value::TimestampMillis(i)
        | Value::TimestampMicros(i)
        | Value::TimestampNanos(i)
        | Value::LocalTimestampMillis(i)
        | Value::LocalTimestampMicros(i)
        | Value::LocalTimestampNanos(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Float(f) if f.is_finite() => out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes()),
        Value::Double(f) if f.is_finite() => out.extend_from_slice(ryu::Buffer::new().format_finite(*f).as_bytes()),
        // Kept as the values they are (the decoder parses these strings): the RECORD writer
        // nulls them with a meta.changes entry, as it does for every format.
        Value::Float(f) => write_json_str(out, non_finite(f64::from(*f))),
        Value::Double(f) => write_json_str(out, non_finite(*f)),
        Value::Fixed(_, b) if matches!(s, AvroSchema::Fixed(f) if names.contains_key(&format!("{DECIMAL_BRANCH}{}", f.name.name))) =>
        {
            let scale = match s {
                AvroSchema::Fixed(f) => match names.get(&format!("{DECIMAL_BRANCH}{}", f.name.name)) {
                    Some(AvroSchema::Decimal(d)) => d.scale,
                    _ => 0,
                },
                _ => 0,
            };
            write_decimal_bytes(out, b, scale);
        }
        Value::Bytes(b) | Value::Fixed(_, b) => {
            use base64::Engine;
            write_json_str(out, &base64::engine::general_purpose::STANDARD.encode(b));
        }
        Value::String(st) | Value::Enum(_, st) => write_json_str(out, st),
        Value::Uuid(u) => write_json_str(out, &u.to_string()),
        Value::Decimal(d) => {
            let scale = match s {
                AvroSchema::Decimal(ds) => ds.scale,
                _ => 0,
            };
            match <Vec<u8>>::try_from(d) {
                Ok(bytes) => write_decimal_bytes(out, &bytes, scale),
                Err(_) => out.extend_from_slice(b"null"),
            }
        }
        Value::BigDecimal(b) => write_json_str(out, &b.to_string()),
        Value::Duration(d) => {
            use base64::Engine;
            let bytes: [u8; 12] = (*d).into();
            write_json_str(out, &base64::engine::general_purpose::STANDARD.encode(bytes));
        }
        Value::Union(i, inner) => {
            let branch = match s {
                AvroSchema::Union(u) => u.variants().get(*i as usize).unwrap_or(s),
                _ => s,
            };
            write_value(inner, branch, names, out)
        }
        Value::Array(items) => {
            let item_schema = match s {
                AvroSchema::Array(a) => a.items.as_ref(),
                _ => s,
            };
            out.push(b'[');
            for (n, it) in items.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_value(it, item_schema, names, out);
            }
            out.push(b']');
        }
        Value::Map(m) => {
            let vs = match s {
                AvroSchema::Map(ms) => ms.types.as_ref(),
                _ => s,
            };
            out.push(b'{');
            for (n, (k, v)) in m.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                write_value(v, vs, names, out);
            }
            out.push(b'}');
        }
        Value::Record(fields) => {
            let schemas: Option<&Vec<RecordField>> = match s {
                AvroSchema::Record(r) => Some(&r.fields),
                _ => None,
            };
            out.push(b'{');
            for (n, (k, v)) in fields.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                let fs = schemas
                    .and_then(|fs| fs.iter().find(|f| &f.name == k))
                    .map(|f| &f.schema)
                    .unwrap_or(&AvroSchema::Null);
                write_value(v, fs, names, out);
            }
            out.push(b'}');
        }
    }
}

// ---------------------------------------------------------------------------------------
// Header: unions of several decimal `fixed` types
// ---------------------------------------------------------------------------------------

/// The key prefix under which [`Names`] holds the decimal a union's `fixed` branch stands
/// for once its `logicalType` was taken off (see [`rewrite_union_decimals`]).
const DECIMAL_BRANCH: &str = "\u{0}decimal:";

/// A decimal `fixed` branch of a union: (name, precision, scale).
type UnionDecimal = (String, usize, usize);

/// A header metadata entry: key and value bytes.
type HeaderEntry = (Vec<u8>, Vec<u8>);

/// The header's bytes for the Avro reader — rewritten when a union holds several decimal
/// `fixed` branches, which the Avro library refuses ("Unions cannot contain duplicate
/// types") although the specification allows any number of named types in a union: their
/// `logicalType` is taken off (plain named `fixed`, which it accepts) and their decimal
/// returned, by name, to read their values as decimals. Otherwise the header as read.
fn rewrite_union_decimals(header: Header) -> (Vec<u8>, Vec<UnionDecimal>) {
    let Header { raw, mut entries, sync } = header;
    let mut decimals = vec![];
    for (k, v) in entries.iter_mut() {
        if k.as_slice() != b"avro.schema" {
            continue;
        }
        let Ok(mut schema) = serde_json::from_slice::<JsonValue>(v) else {
            return (raw, vec![]);
        };
        strip_union_decimals(&mut schema, &mut decimals);
        if decimals.is_empty() {
            return (raw, vec![]);
        }
        *v = schema.to_string().into_bytes();
    }
    if decimals.is_empty() {
        return (raw, vec![]);
    }
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(b"Obj\x01");
    zigzag(&mut out, entries.len() as i64);
    for (k, v) in &entries {
        avro_bytes(&mut out, k);
        avro_bytes(&mut out, v);
    }
    zigzag(&mut out, 0);
    out.extend_from_slice(&sync);
    (out, decimals)
}

/// Takes `logicalType: decimal` off the `fixed` branches of unions that hold more than one,
/// recording each one's (name, precision, scale).
fn strip_union_decimals(v: &mut JsonValue, found: &mut Vec<UnionDecimal>) {
    match v {
        JsonValue::Array(branches) => {
            let is_decimal_fixed = |b: &JsonValue| {
                b.get("type") == Some(&json!("fixed")) && b.get("logicalType") == Some(&json!("decimal"))
            };
            if branches.iter().filter(|b| is_decimal_fixed(b)).count() > 1 {
                for b in branches.iter_mut().filter(|b| is_decimal_fixed(b)) {
                    let name = b["name"]
                        .as_str()
                        .unwrap_or("")
                        .rsplit('.')
                        .next()
                        .unwrap_or("")
                        .to_string();
                    let precision = b["precision"].as_u64().unwrap_or(0) as usize;
                    let scale = b["scale"].as_u64().unwrap_or(0) as usize;
                    if let Some(o) = b.as_object_mut() {
                        o.remove("logicalType");
                    }
                    found.push((name, precision, scale));
                }
            }
            for b in branches.iter_mut() {
                strip_union_decimals(b, found);
            }
        }
        JsonValue::Object(map) => {
            for key in ["type", "items", "values"] {
                if let Some(child) = map.get_mut(key) {
                    strip_union_decimals(child, found);
                }
            }
            if let Some(JsonValue::Array(fields)) = map.get_mut("fields") {
                for f in fields.iter_mut() {
                    if let Some(t) = f.get_mut("type") {
                        strip_union_decimals(t, found);
                    }
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------------------

/// A streaming Avro container-file reader producing batches.
pub struct AvroReader<'a> {
    file: String,
    rows: apache_avro::Reader<'static, Box<dyn Read + Send + 'a>>,
    avro_schema: AvroSchema,
    names: Names,
    decoder: arrow::json::reader::Decoder,
    schema: SchemaRef,
    target: Option<SchemaRef>,
    batch_size: usize,
    on_bad: OnBadRecord,
    warnings: Warnings,
    buf: Vec<u8>,
    done: bool,
}

fn avro_err(file: &str, e: impl std::fmt::Display) -> Error {
    let msg = e.to_string();
    if msg.to_ascii_lowercase().contains("magic") || msg.contains("header") {
        Error::format(
            file,
            format!("the file is not a valid Avro object container file ({msg}); check the file format"),
        )
    } else {
        Error::format(file, format!("invalid Avro data: {msg}"))
    }
}

/// Most metadata entries an Avro header may declare (writers put 2 or 3).
const MAX_HEADER_ENTRIES: i64 = 1024;

/// Most bytes of an Avro header's metadata (the schema is most of it).
const MAX_HEADER_BYTES: usize = 64 << 20;

/// An Avro object container's header, as read and parsed.
struct Header {
    /// Its bytes.
    raw: Vec<u8>,
    /// The metadata map's entries, in file order.
    entries: Vec<HeaderEntry>,
    /// The sync marker.
    sync: [u8; 16],
}

/// Reads an Avro object container's header (magic, metadata map, sync
/// marker) and checks what the Avro crate would allocate from it. Returns it
/// and the rest of the stream, to be read after its bytes.
fn checked_header<'a>(file: &str, mut input: Box<dyn Read + Send + 'a>) -> Result<(Header, Box<dyn Read + Send + 'a>)> {
    let bad = |why: String| Error::format(file, format!("the file is not valid Avro: {why}"));
    let mut header = Vec::new();
    let take = |n: usize, header: &mut Vec<u8>, input: &mut Box<dyn Read + Send + 'a>| -> Result<()> {
        if header.len() + n > MAX_HEADER_BYTES {
            return Err(bad(format!("its header is larger than {MAX_HEADER_BYTES} bytes")));
        }
        let start = header.len();
        header.resize(start + n, 0);
        input
            .read_exact(&mut header[start..])
            .map_err(|e| bad(format!("its header is cut short ({e})")))
    };
    let long = |header: &mut Vec<u8>, input: &mut Box<dyn Read + Send + 'a>| -> Result<i64> {
        let mut n: u64 = 0;
        for shift in (0..70).step_by(7) {
            let mut b = [0u8; 1];
            input
                .read_exact(&mut b)
                .map_err(|e| bad(format!("its header is cut short ({e})")))?;
            header.push(b[0]);
            n |= u64::from(b[0] & 0x7f) << shift.min(63);
            if b[0] & 0x80 == 0 {
                return Ok((n >> 1) as i64 ^ -((n & 1) as i64));
            }
        }
        Err(bad("a number in its header does not end".into()))
    };
    let mut entries = Vec::new();
    take(4, &mut header, &mut input)?;
    if header[..4] != *b"Obj\x01" {
        return Err(bad("it does not start with the Avro magic bytes".into()));
    }
    loop {
        let mut count = long(&mut header, &mut input)?;
        if count == 0 {
            break;
        }
        if count < 0 {
            count = count.checked_neg().unwrap_or(i64::MAX);
            long(&mut header, &mut input)?;
        }
        if count > MAX_HEADER_ENTRIES {
            return Err(bad(format!("its header declares {count} metadata entries")));
        }
        for _ in 0..count {
            let mut entry = [Vec::new(), Vec::new()];
            for part in &mut entry {
                let len = long(&mut header, &mut input)?;
                let len = usize::try_from(len).map_err(|_| bad(format!("its header holds a length of {len}")))?;
                take(len, &mut header, &mut input)?;
                *part = header[header.len() - len..].to_vec();
            }
            let [k, v] = entry;
            entries.push((k, v));
        }
    }
    take(16, &mut header, &mut input)?;
    let mut sync = [0u8; 16];
    sync.copy_from_slice(&header[header.len() - 16..]);
    Ok((
        Header {
            raw: header,
            entries,
            sync,
        },
        input,
    ))
}

impl<'a> AvroReader<'a> {
    /// Opens an Avro object container stream (already decompressed; block codecs are
    /// handled here). With `target`, output batches conform to it.
    pub fn new(
        file: &str,
        input: Box<dyn Read + Send + 'a>,
        opts: &ReadOptions,
        target: Option<SchemaRef>,
    ) -> Result<Self> {
        // The Avro crate sizes its header map by the count the file declares
        // (a few bytes could ask for gigabytes): the header is checked first.
        let (header, rest) = checked_header(file, input)?;
        let (header, decimals) = rewrite_union_decimals(header);
        let input: Box<dyn Read + Send + 'a> = Box::new(std::io::Cursor::new(header).chain(rest));
        // The Avro crate panics on some malformed schemas: a panic is the file's error.
        let rows = catch_panic(|| apache_avro::Reader::new(input))
            .map_err(|p| {
                Error::format(
                    file,
                    format!("the file is not valid Avro: its schema is malformed ({p})"),
                )
            })?
            .map_err(|e| avro_err(file, e))?;
        let avro_schema = rows.writer_schema().clone();
        let mut names = Names::new();
        collect_names(&avro_schema, &mut names);
        for (name, precision, scale) in decimals {
            let decimal = AvroSchema::Decimal(apache_avro::schema::DecimalSchema {
                precision,
                scale,
                inner: Box::new(AvroSchema::Null),
            });
            names.insert(format!("{DECIMAL_BRANCH}{name}"), decimal);
        }
        let native = Arc::new(avro_to_arrow_with(&avro_schema, &names));
        let decoder = json_reader_builder(native.clone(), opts.batch_size)
            .build_decoder()
            .map_err(|e| Error::Internal(format!("decoder: {e}")))?;
        Ok(AvroReader {
            file: file.to_string(),
            rows,
            avro_schema,
            names,
            decoder,
            schema: target.clone().unwrap_or(native),
            target,
            batch_size: opts.batch_size,
            on_bad: opts.on_bad_record,
            warnings: Warnings::default(),
            buf: Vec::with_capacity(64 * 1024),
            done: false,
        })
    }

    fn read_batch(&mut self) -> Result<Option<RecordBatch>> {
        let mut n = 0;
        while n < self.batch_size {
            let Some(row) = self.rows.next() else {
                self.done = true;
                break;
            };
            let row = row.map_err(|e| avro_err(&self.file, e))?;
            self.buf.clear();
            match &self.avro_schema {
                AvroSchema::Record(_) => write_value(&row, &self.avro_schema, &self.names, &mut self.buf),
                other => {
                    self.buf.extend_from_slice(b"{\"value\":");
                    write_value(&row, other, &self.names, &mut self.buf);
                    self.buf.push(b'}');
                }
            }
            self.buf.push(b'\n');
            let used = self
                .decoder
                .decode(&self.buf)
                .map_err(|e| Error::format(&self.file, format!("invalid Avro data: {e}")))?;
            if used != self.buf.len() {
                return Err(Error::Internal("Avro row decoder overflow".into()));
            }
            n += 1;
        }
        let batch = self
            .decoder
            .flush()
            .map_err(|e| Error::format(&self.file, format!("invalid Avro data: {e}")))?;
        let Some(batch) = batch else {
            return Ok(None);
        };
        match &self.target {
            None => Ok(Some(batch)),
            Some(t) => {
                let c = conform(&batch, t).map_err(|e| Error::format(&self.file, e.to_string()))?;
                if let Some(first) = c.bad.first() {
                    let msg = format!(
                        "value {} in field '{}' cannot be read as {}",
                        first.value,
                        first.column,
                        crate::schema::kind_name(&first.target)
                    );
                    match self.on_bad {
                        OnBadRecord::Fail => return Err(Error::format(&self.file, msg)),
                        OnBadRecord::Emit => {
                            self.warnings.push(format!(
                                "{}: emitted {} record(s) with a value that does not fit the schema as null, first: {msg}",
                                self.file,
                                c.bad.len()
                            ));
                            let nulled = c.bad.iter().map(|b| (b.row, b.column.as_str()));
                            return Ok(Some(with_nulled(&c.batch, nulled)?));
                        }
                        OnBadRecord::Skip => {
                            self.warnings.push(format!(
                                "{}: skipped {} record(s), first: {msg}",
                                self.file,
                                c.bad.len()
                            ));
                            let rows: Vec<usize> = c.bad.iter().map(|b| b.row).collect();
                            return Ok(Some(drop_rows(&c.batch, &rows)?));
                        }
                    }
                }
                Ok(Some(c.batch))
            }
        }
    }
}

impl Iterator for AvroReader<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let batch = catch_panic(|| self.read_batch()).unwrap_or_else(|p| {
            Err(Error::format(
                &self.file,
                format!("the file is not valid Avro: a block is malformed ({p})"),
            ))
        });
        match batch {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl BatchReader for AvroReader<'_> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.warnings.take()
    }
}

// ---------------------------------------------------------------------------------------
// Arrow → Avro schema and values
// ---------------------------------------------------------------------------------------

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
fn avro_names<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
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

fn decimal_value(v: i128) -> Value {
    let bytes = v.to_be_bytes();
    // Minimal two's-complement length.
    let mut start = 0;
    while start < 15 {
        let b = bytes[start];
        let next_high = bytes[start + 1] & 0x80;
        if (b == 0 && next_high == 0) || (b == 0xff && next_high != 0) {
            start += 1;
        } else {
            break;
        }
    }
    Value::Decimal(apache_avro::Decimal::from(bytes[start..].to_vec()))
}

/// The Avro value of `array[i]` (not null) for Arrow type `dt`.
fn arrow_value(array: &dyn Array, i: usize) -> Value {
    use DataType::*;
    if array.is_null(i) {
        return Value::Null;
    }
    match array.data_type() {
        Null => Value::Null,
        Boolean => Value::Boolean(array.as_boolean().value(i)),
        Int8 => Value::Int(i32::from(array.as_primitive::<Int8Type>().value(i))),
        Int16 => Value::Int(i32::from(array.as_primitive::<Int16Type>().value(i))),
        Int32 => Value::Int(array.as_primitive::<Int32Type>().value(i)),
        UInt8 => Value::Int(i32::from(array.as_primitive::<UInt8Type>().value(i))),
        UInt16 => Value::Int(i32::from(array.as_primitive::<UInt16Type>().value(i))),
        Int64 => Value::Long(array.as_primitive::<Int64Type>().value(i)),
        UInt32 => Value::Long(i64::from(array.as_primitive::<UInt32Type>().value(i))),
        UInt64 => Value::Long(array.as_primitive::<UInt64Type>().value(i) as i64),
        Float16 => Value::Float(array.as_primitive::<Float16Type>().value(i).to_f32()),
        Float32 => Value::Float(array.as_primitive::<Float32Type>().value(i)),
        Float64 => Value::Double(array.as_primitive::<Float64Type>().value(i)),
        Utf8 => Value::String(array.as_string::<i32>().value(i).to_string()),
        LargeUtf8 => Value::String(array.as_string::<i64>().value(i).to_string()),
        Utf8View => Value::String(array.as_string_view().value(i).to_string()),
        Binary => Value::Bytes(array.as_binary::<i32>().value(i).to_vec()),
        LargeBinary => Value::Bytes(array.as_binary::<i64>().value(i).to_vec()),
        BinaryView => Value::Bytes(array.as_binary_view().value(i).to_vec()),
        FixedSizeBinary(_) => Value::Bytes(array.as_fixed_size_binary().value(i).to_vec()),
        Date32 => Value::Date(array.as_primitive::<Date32Type>().value(i)),
        Date64 => Value::Date((array.as_primitive::<Date64Type>().value(i) / 86_400_000) as i32),
        Time32(TimeUnit::Second) => Value::TimeMillis(array.as_primitive::<Time32SecondType>().value(i) * 1000),
        Time32(_) => Value::TimeMillis(array.as_primitive::<Time32MillisecondType>().value(i)),
        Time64(TimeUnit::Nanosecond) => Value::TimeMicros(array.as_primitive::<Time64NanosecondType>().value(i) / 1000),
        Time64(_) => Value::TimeMicros(array.as_primitive::<Time64MicrosecondType>().value(i)),
        Timestamp(unit, tz) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(i) * 1_000_000,
                TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(i),
                TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(i),
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(i) / 1000,
            };
            match (unit, tz.is_some()) {
                (TimeUnit::Millisecond, true) => Value::TimestampMillis(v),
                (TimeUnit::Millisecond, false) => Value::LocalTimestampMillis(v),
                (_, true) => Value::TimestampMicros(v),
                (_, false) => Value::LocalTimestampMicros(v),
            }
        }
        Decimal128(..) => decimal_value(array.as_primitive::<Decimal128Type>().value(i)),
        Decimal64(..) => decimal_value(i128::from(array.as_primitive::<Decimal64Type>().value(i))),
        Decimal32(..) => decimal_value(i128::from(array.as_primitive::<Decimal32Type>().value(i))),
        Struct(fields) => {
            let s = array.as_struct();
            Value::Record(
                avro_names(fields.iter().map(|f| f.name().as_str()))
                    .into_iter()
                    .zip(s.columns())
                    .map(|(name, c)| (name, nullable_value(c.as_ref(), i)))
                    .collect(),
            )
        }
        List(_) => {
            let l = array.as_list::<i32>();
            let v = l.value(i);
            Value::Array((0..v.len()).map(|j| nullable_value(v.as_ref(), j)).collect())
        }
        LargeList(_) => {
            let l = array.as_list::<i64>();
            let v = l.value(i);
            Value::Array((0..v.len()).map(|j| nullable_value(v.as_ref(), j)).collect())
        }
        FixedSizeList(..) => {
            let l = array.as_fixed_size_list();
            let v = l.value(i);
            Value::Array((0..v.len()).map(|j| nullable_value(v.as_ref(), j)).collect())
        }
        Map(..) => {
            let m = array.as_map();
            let entries = m.value(i);
            let keys = arrow::compute::cast(entries.column(0), &Utf8).ok();
            let values = entries.column(1);
            let mut out = HashMap::new();
            if let Some(keys) = keys {
                let keys = keys.as_string::<i32>();
                for j in 0..entries.len() {
                    out.insert(keys.value(j).to_string(), nullable_value(values.as_ref(), j));
                }
            }
            Value::Map(out)
        }
        _ => {
            let options = arrow::util::display::FormatOptions::default();
            match arrow::util::display::ArrayFormatter::try_new(array, &options) {
                Ok(f) => Value::String(f.value(i).to_string()),
                Err(_) => Value::Null,
            }
        }
    }
}

/// A `["null", T]` union value.
fn nullable_value(array: &dyn Array, i: usize) -> Value {
    if matches!(array.data_type(), DataType::Null) {
        return Value::Null;
    }
    if array.is_null(i) {
        Value::Union(0, Box::new(Value::Null))
    } else {
        Value::Union(1, Box::new(arrow_value(array, i)))
    }
}

/// Parses an Avro codec name: `null`/`none`, `deflate`, `snappy`, `zstd`/`zstandard`,
/// `bzip2`, `xz`.
pub fn parse_codec(name: &str) -> Result<Codec> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "null" | "none" | "" | "uncompressed" => Codec::Null,
        "deflate" => Codec::Deflate(apache_avro::DeflateSettings::default()),
        "snappy" => Codec::Snappy,
        "zstd" | "zstandard" => Codec::Zstandard(apache_avro::ZstandardSettings::default()),
        "bzip2" | "bz2" => Codec::Bzip2(apache_avro::Bzip2Settings::default()),
        "xz" => Codec::Xz(apache_avro::XzSettings::default()),
        other => {
            return Err(Error::Config(format!(
                "unknown Avro codec '{other}'; use one of null, deflate, snappy, zstd, bzip2, xz"
            )))
        }
    })
}

fn codec_name(c: &Codec) -> &'static str {
    match c {
        Codec::Null => "null",
        Codec::Deflate(_) => "deflate",
        Codec::Snappy => "snappy",
        Codec::Zstandard(_) => "zstandard",
        Codec::Bzip2(_) => "bzip2",
        Codec::Xz(_) => "xz",
    }
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        if z & !0x7f == 0 {
            out.push(z as u8);
            return;
        }
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
}

fn avro_bytes(out: &mut Vec<u8>, b: &[u8]) {
    zigzag(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// Writes an Avro object container file block by block: rows are encoded into a block
/// buffer that is compressed and written out whenever it exceeds the block size.
pub struct AvroBlockWriter<W: Write> {
    sink: W,
    schema: AvroSchema,
    codec: Codec,
    sync: [u8; 16],
    block: Vec<u8>,
    rows_in_block: i64,
    block_bytes: usize,
    header_written: bool,
    schema_json: String,
}

impl<W: Write> AvroBlockWriter<W> {
    /// A writer of records with Arrow schema `schema` (record name `name`) using `codec`.
    pub fn new(sink: W, schema: &Schema, name: &str, codec: Codec) -> Result<Self> {
        let avro = arrow_to_avro(schema, name)?;
        let schema_json = avro.canonical_form();
        let schema_json = serde_json::to_string(&avro).unwrap_or(schema_json);
        let sync = *uuid::Uuid::new_v4().as_bytes();
        Ok(AvroBlockWriter {
            sink,
            schema: avro,
            codec,
            sync,
            block: Vec::with_capacity(1 << 20),
            rows_in_block: 0,
            block_bytes: 1 << 20,
            header_written: false,
            schema_json,
        })
    }

    fn write_header(&mut self) -> std::io::Result<()> {
        let mut h = Vec::with_capacity(self.schema_json.len() + 64);
        h.extend_from_slice(b"Obj\x01");
        zigzag(&mut h, 2);
        avro_bytes(&mut h, b"avro.schema");
        avro_bytes(&mut h, self.schema_json.as_bytes());
        avro_bytes(&mut h, b"avro.codec");
        avro_bytes(&mut h, codec_name(&self.codec).as_bytes());
        zigzag(&mut h, 0);
        h.extend_from_slice(&self.sync);
        self.sink.write_all(&h)?;
        self.header_written = true;
        Ok(())
    }

    /// Appends every row of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if !self.header_written {
            self.write_header()
                .map_err(|e| Error::Internal(format!("Avro write: {e}")))?;
        }
        let schema = batch.schema();
        let names = avro_names(schema.fields().iter().map(|f| f.name().as_str()));
        for i in 0..batch.num_rows() {
            let rec = Value::Record(
                names
                    .iter()
                    .zip(batch.columns())
                    .map(|(n, c)| (n.clone(), nullable_value(c.as_ref(), i)))
                    .collect(),
            );
            let datum = apache_avro::to_avro_datum(&self.schema, rec)
                .map_err(|e| Error::Internal(format!("Avro encode row {i}: {e}")))?;
            self.block.extend_from_slice(&datum);
            self.rows_in_block += 1;
            if self.block.len() >= self.block_bytes {
                self.flush_block()?;
            }
        }
        Ok(())
    }

    /// Compresses and writes the pending block (if any).
    pub fn flush_block(&mut self) -> Result<()> {
        if !self.header_written {
            self.write_header()
                .map_err(|e| Error::Internal(format!("Avro write: {e}")))?;
        }
        if self.rows_in_block == 0 {
            return Ok(());
        }
        let mut data = std::mem::take(&mut self.block);
        self.codec
            .compress(&mut data)
            .map_err(|e| Error::Internal(format!("Avro compress: {e}")))?;
        let mut head = Vec::with_capacity(20);
        zigzag(&mut head, self.rows_in_block);
        zigzag(&mut head, data.len() as i64);
        let io = |e: std::io::Error| Error::Internal(format!("Avro write: {e}"));
        self.sink.write_all(&head).map_err(io)?;
        self.sink.write_all(&data).map_err(io)?;
        self.sink.write_all(&self.sync).map_err(io)?;
        data.clear();
        self.block = data;
        self.rows_in_block = 0;
        Ok(())
    }

    /// The sink.
    pub fn get_ref(&self) -> &W {
        &self.sink
    }

    /// Writes the last block and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.flush_block()?;
        self.sink
            .flush()
            .map_err(|e| Error::Internal(format!("Avro write: {e}")))?;
        Ok(self.sink)
    }
}

/// The registry's writer of Avro: `codec` as [`parse_codec`] reads it, records named
/// `opts.avro_record_name`.
pub(super) fn new_avro_writer(
    codec: &str,
    schema: SchemaRef,
    sink: Box<dyn Sink>,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>> {
    let codec = parse_codec(codec)?;
    let w = AvroBlockWriter::new(CountingWriter::new(sink), &schema, &opts.avro_record_name, codec)?;
    Ok(Box::new(AvroWriter { inner: w }))
}

/// An [`AvroBlockWriter`] counting the bytes it writes.
struct AvroWriter<W: Write + Send> {
    inner: AvroBlockWriter<CountingWriter<W>>,
}

impl<W: Write + Send> FormatWriter<W> for AvroWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.inner.write(batch)
    }

    fn bytes_written(&self) -> u64 {
        self.inner.get_ref().count()
    }

    fn finish(self: Box<Self>) -> Result<W> {
        Ok(self.inner.finish()?.into_inner())
    }
}

/// The registry's reader of an Avro stream.
pub(super) fn open_stream<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(Box::new(AvroReader::new(file, input, opts, target)?))
}
