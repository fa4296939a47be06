//! The container header, read and checked before the Avro crate allocates from it, and
//! rewritten when a union holds several decimal `fixed` types.

use std::io::Read;

use serde_json::{json, Value as JsonValue};

use crate::error::{Error, Result};

/// The key prefix under which [`Names`](super::schema::Names) holds the decimal a union's `fixed` branch stands
/// for once its `logicalType` was taken off (see [`rewrite_union_decimals`]).
pub(super) const DECIMAL_BRANCH: &str = "\u{0}decimal:";

/// A decimal `fixed` branch of a union: (name, precision, scale).
pub(super) type UnionDecimal = (String, usize, usize);

/// A header metadata entry: key and value bytes.
type HeaderEntry = (Vec<u8>, Vec<u8>);

/// The header's bytes for the Avro reader — rewritten when names need making legal
/// ([`legalize_names`]) or a union holds several decimal `fixed` branches, which the Avro library refuses ("Unions cannot contain duplicate
/// types") although the specification allows any number of named types in a union: their
/// `logicalType` is taken off (plain named `fixed`, which it accepts) and their decimal
/// returned, by name, to read their values as decimals. Otherwise the header as read.
pub(super) fn rewrite_union_decimals(header: Header) -> (Vec<u8>, Vec<UnionDecimal>) {
    let Header { raw, mut entries, sync } = header;
    let mut decimals = vec![];
    let mut renamed = false;
    for (k, v) in entries.iter_mut() {
        if k.as_slice() != b"avro.schema" {
            continue;
        }
        let Ok(mut schema) = serde_json::from_slice::<JsonValue>(v) else {
            return (raw, vec![]);
        };
        strip_union_decimals(&mut schema, &mut decimals);
        renamed |= legalize_names(&mut schema);
        if decimals.is_empty() && !renamed {
            return (raw, vec![]);
        }
        *v = schema.to_string().into_bytes();
    }
    if decimals.is_empty() && !renamed {
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

/// Avro's primitive type names (never a named type's).
const PRIMITIVES: &[&str] = &[
    "null", "boolean", "int", "long", "float", "double", "bytes", "string", "record", "enum", "array", "map", "fixed",
    "error",
];

/// A full name (`a.b.C`) made of legal Avro names: each part's characters other than ASCII
/// letters, digits and `_` become `_`, and a part starting with a digit gets a `_` before it.
fn legal_full_name(name: &str) -> String {
    name.split('.')
        .map(|part| {
            let mut p: String = part
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
                .collect();
            if p.starts_with(|c: char| c.is_ascii_digit()) {
                p.insert(0, '_');
            }
            p
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Makes the names the Avro library refuses although other readers (fastavro, Java's) read
/// them legal, consistently wherever they are defined or referred to: named types and
/// namespaces holding other characters (Java's reflect writes `Outer$Inner` class names), and
/// the `error` type of Avro protocols, a record. Field names are kept (they name columns).
/// Returns whether anything changed.
fn legalize_names(v: &mut JsonValue) -> bool {
    let mut changed = false;
    let fix = |s: &mut String, changed: &mut bool| {
        let legal = legal_full_name(s);
        if legal != *s {
            *s = legal;
            *changed = true;
        }
    };
    match v {
        JsonValue::String(s) if !PRIMITIVES.contains(&s.as_str()) => fix(s, &mut changed),
        JsonValue::Array(branches) => {
            for b in branches {
                changed |= legalize_names(b);
            }
        }
        JsonValue::Object(map) => {
            if map.get("type") == Some(&json!("error")) {
                map.insert("type".into(), json!("record"));
                changed = true;
            }
            let named = matches!(
                map.get("type").and_then(JsonValue::as_str),
                Some("record" | "enum" | "fixed")
            );
            if named {
                for key in ["name", "namespace"] {
                    if let Some(JsonValue::String(s)) = map.get_mut(key) {
                        fix(s, &mut changed);
                    }
                }
                if let Some(JsonValue::Array(aliases)) = map.get_mut("aliases") {
                    for a in aliases.iter_mut() {
                        if let JsonValue::String(s) = a {
                            fix(s, &mut changed);
                        }
                    }
                }
            }
            for key in ["type", "items", "values"] {
                if let Some(child) = map.get_mut(key) {
                    changed |= legalize_names(child);
                }
            }
            if let Some(JsonValue::Array(fields)) = map.get_mut("fields") {
                for f in fields.iter_mut() {
                    if let Some(t) = f.get_mut("type") {
                        changed |= legalize_names(t);
                    }
                }
            }
        }
        _ => {}
    }
    changed
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

/// Most metadata entries an Avro header may declare (writers put 2 or 3).
const MAX_HEADER_ENTRIES: i64 = 1024;

/// Most bytes of an Avro header's metadata (the schema is most of it).
const MAX_HEADER_BYTES: usize = 64 << 20;

/// An Avro object container's header, as read and parsed.
pub(super) struct Header {
    /// Its bytes.
    raw: Vec<u8>,
    /// The metadata map's entries, in file order.
    entries: Vec<HeaderEntry>,
    /// The sync marker.
    sync: [u8; 16],
}

impl Header {
    /// The sync marker that ends every data block.
    pub(super) fn sync(&self) -> [u8; 16] {
        self.sync
    }

    /// The value of metadata entry `key`.
    pub(super) fn entry(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_slice())
    }
}

/// Reads an Avro object container's header (magic, metadata map, sync
/// marker) and checks what the Avro crate would allocate from it. Returns it
/// and the rest of the stream, to be read after its bytes.
pub(super) fn checked_header<'a>(
    file: &str,
    mut input: Box<dyn Read + Send + 'a>,
) -> Result<(Header, Box<dyn Read + Send + 'a>)> {
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

/// Appends `v` as an Avro `long` (zig-zag varint).
pub(super) fn zigzag(out: &mut Vec<u8>, v: i64) {
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

/// Appends `b` as Avro `bytes` (length, then the bytes).
pub(super) fn avro_bytes(out: &mut Vec<u8>, b: &[u8]) {
    zigzag(out, b.len() as i64);
    out.extend_from_slice(b);
}
