//! The block-by-block writer: Arrow values as Avro values, blocks compressed with the
//! file's codec.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use apache_avro::schema::Schema as AvroSchema;
use apache_avro::types::Value;
use apache_avro::Codec;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::*;

use super::datum::DatumPlan;
use super::header::{avro_bytes, zigzag};
use super::schema::{arrow_to_avro, avro_names};
use crate::error::{Error, Result};
use crate::formats::writer::{CountingWriter, FormatWriter, Sink, WriteOptions};

fn decimal_value(v: i128) -> Value {
    decimal_bytes(&v.to_be_bytes())
}

/// An Avro decimal of the big-endian two's-complement `bytes`, shortened to the minimal
/// length that keeps the value (and its sign).
fn decimal_bytes(bytes: &[u8]) -> Value {
    let mut start = 0;
    while start + 1 < bytes.len() {
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
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(i),
            };
            match (unit, tz.is_some()) {
                (TimeUnit::Millisecond, true) => Value::TimestampMillis(v),
                (TimeUnit::Millisecond, false) => Value::LocalTimestampMillis(v),
                (TimeUnit::Nanosecond, true) => Value::TimestampNanos(v),
                (TimeUnit::Nanosecond, false) => Value::LocalTimestampNanos(v),
                (_, true) => Value::TimestampMicros(v),
                (_, false) => Value::LocalTimestampMicros(v),
            }
        }
        Decimal128(..) => decimal_value(array.as_primitive::<Decimal128Type>().value(i)),
        Decimal64(..) => decimal_value(i128::from(array.as_primitive::<Decimal64Type>().value(i))),
        Decimal32(..) => decimal_value(i128::from(array.as_primitive::<Decimal32Type>().value(i))),
        Decimal256(..) => decimal_bytes(&array.as_primitive::<Decimal256Type>().value(i).to_be_bytes()),
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

/// Row `i` of `batch` as an Avro datum of record schema `schema` (fields `names`, as
/// [`avro_names`] makes them), through Avro values: the general encoder, for columns a
/// [`DatumPlan`] does not cover.
pub(super) fn row_datum(schema: &AvroSchema, names: &[String], batch: &RecordBatch, i: usize) -> Result<Vec<u8>> {
    let rec = Value::Record(
        names
            .iter()
            .zip(batch.columns())
            .map(|(n, c)| (n.clone(), nullable_value(c.as_ref(), i)))
            .collect(),
    );
    apache_avro::to_avro_datum(schema, rec).map_err(|e| Error::Internal(format!("Avro encode row {i}: {e}")))
}

/// The general encoder of one top-level column's value (a [`DatumPlan`]'s fallback): the
/// value at `i` of `column` under its field's Avro schema `schema`.
pub(super) fn general_datum(schema: &AvroSchema, column: &dyn Array, i: usize, out: &mut Vec<u8>) -> Result<()> {
    let datum = apache_avro::to_avro_datum(schema, nullable_value(column, i))
        .map_err(|e| Error::Internal(format!("Avro encode row {i}: {e}")))?;
    out.extend_from_slice(&datum);
    Ok(())
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

/// Writes an Avro object container file block by block: rows are encoded into a block
/// buffer that is compressed and written out whenever it exceeds the block size.
pub struct AvroBlockWriter<W: Write> {
    sink: W,
    schema: AvroSchema,
    /// The direct encoder of rows of the writer's Arrow schema, when it covers every column.
    plan: Option<(SchemaRef, DatumPlan)>,
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
        let plan = DatumPlan::new(schema, &avro).map(|p| (Arc::new(schema.clone()), p));
        Ok(AvroBlockWriter {
            sink,
            schema: avro,
            plan,
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
        let planned = matches!(&self.plan, Some((schema, _)) if schema.fields() == batch.schema_ref().fields());
        let names = match planned {
            true => vec![],
            false => avro_names(batch.schema_ref().fields().iter().map(|f| f.name().as_str())),
        };
        for i in 0..batch.num_rows() {
            match (&self.plan, planned) {
                (Some((_, plan)), true) => plan.encode_row(batch.columns(), i, &general_datum, &mut self.block)?,
                _ => {
                    let datum = row_datum(&self.schema, &names, batch, i)?;
                    self.block.extend_from_slice(&datum);
                }
            }
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
pub(in crate::formats) fn new_avro_writer(
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
