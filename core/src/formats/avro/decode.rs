//! The streaming reader: rows decoded by `apache-avro`, written as JSON text and assembled
//! into Arrow batches by `arrow_json`.

use std::io::Read;
use std::sync::Arc;

use apache_avro::schema::{RecordField, Schema as AvroSchema};
use apache_avro::types::Value;
use arrow::array::RecordBatch;
use arrow::datatypes::*;
use lakeport_protocol::panics::catch_panic;

use super::blocks::{min_value_bytes, CheckedBlocks};
use super::header::{checked_header, rewrite_union_decimals, DECIMAL_BRANCH};
use super::schema::{avro_to_arrow_with, collect_names, resolve, Names};
use crate::error::{Error, Result};
use crate::formats::conform::{conform, drop_rows, with_nulled};
use crate::formats::options::{OnBadRecord, ReadOptions};
use crate::formats::reader::{BatchReader, Warnings};
use crate::records::{json_reader_builder, write_date, write_json_str};

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
        // So do the data blocks, one by one (uncompressed ones against their record count).
        let uncompressed = matches!(header.entry(b"avro.codec"), None | Some(b"null"));
        let min_record_bytes = header
            .entry(b"avro.schema")
            .and_then(|s| serde_json::from_slice::<serde_json::Value>(s).ok())
            .map(|s| min_value_bytes(&s, 0));
        let rest: Box<dyn Read + Send + 'a> = Box::new(CheckedBlocks::new(
            rest,
            header.sync(),
            min_record_bytes.filter(|_| uncompressed),
        ));
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
            .map_err(|e| {
                Error::format(
                    file,
                    format!("the file is not valid Avro: its header or schema is malformed ({e})"),
                )
            })?;
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

/// The registry's reader of an Avro stream.
pub(in crate::formats) fn open_stream<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(Box::new(AvroReader::new(file, input, opts, target)?))
}
