//! Arrow rows encoded straight into Avro binary datums, without building an Avro `Value`
//! per row: a [`DatumPlan`] pairs each Arrow column with the Avro schema node the writer
//! declared for it and writes the bytes the Avro encoding gives that value.
//!
//! Only pairs whose encoding is plain (booleans, integers, floats, strings, bytes, dates,
//! times and timestamps down to microseconds, records and arrays of those, `["null", T]`
//! unions) are encoded here; a column holding anything else (decimals, maps, nanosecond
//! values, dictionaries, …) is handed to the general encoder (Avro values) the writer
//! passes in, one value at a time. The bytes are the same either way (the tests compare
//! them).

use apache_avro::schema::Schema as AvroSchema;
use arrow::array::{Array, ArrayRef, AsArray, GenericListArray, OffsetSizeTrait};
use arrow::datatypes::*;

use super::header::{avro_bytes, zigzag};
use crate::error::Result;

/// How one value is encoded.
#[derive(Debug)]
enum Enc {
    /// Avro `null`: no bytes.
    Null,
    /// A `["null", T]` union: branch 0 for a null, else branch 1 and the value.
    Nullable(Box<Enc>),
    Boolean,
    /// Any integer Arrow type as an Avro `int` or `long` (the same zigzag varint).
    Integer,
    Float32,
    Float64,
    Utf8,
    Binary,
    Date32,
    Date64,
    /// An integer scaled by a factor (seconds → milliseconds or microseconds).
    Scaled(i64),
    Record(Vec<Enc>),
    List(Box<Enc>),
    /// A top-level column for the general encoder, with its field's Avro schema.
    General(AvroSchema),
}

/// The general encoder: appends the value at `i` of a column under its field's Avro
/// schema.
pub(super) type GeneralEncoder<'a> = &'a dyn Fn(&AvroSchema, &dyn Array, usize, &mut Vec<u8>) -> Result<()>;

/// The encoders of a record's columns, in order.
#[derive(Debug)]
pub(super) struct DatumPlan {
    fields: Vec<Enc>,
}

impl DatumPlan {
    /// The plan for rows of `schema` written with Avro record schema `avro` (`None` when
    /// `avro` is not a record of as many fields).
    pub(super) fn new(schema: &Schema, avro: &AvroSchema) -> Option<DatumPlan> {
        let AvroSchema::Record(r) = avro else { return None };
        if r.fields.len() != schema.fields().len() {
            return None;
        }
        let fields = schema
            .fields()
            .iter()
            .zip(&r.fields)
            .map(|(f, a)| plan(f.data_type(), &a.schema).unwrap_or_else(|| Enc::General(a.schema.clone())))
            .collect();
        Some(DatumPlan { fields })
    }

    /// Whether every column is encoded directly (none by the general encoder).
    #[cfg(test)]
    fn all_direct(&self) -> bool {
        !self.fields.iter().any(|f| matches!(f, Enc::General(_)))
    }

    /// Appends row `i` of `columns` (the batch's columns, in schema order) to `out`.
    pub(super) fn encode_row(
        &self,
        columns: &[ArrayRef],
        i: usize,
        general: GeneralEncoder,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        for (enc, column) in self.fields.iter().zip(columns) {
            match enc {
                Enc::General(schema) => general(schema, column.as_ref(), i, out)?,
                enc => encode(enc, column.as_ref(), i, out),
            }
        }
        Ok(())
    }
}

/// The encoder of Arrow type `dt` under Avro schema `avro`, if plain.
fn plan(dt: &DataType, avro: &AvroSchema) -> Option<Enc> {
    use DataType as D;
    if let AvroSchema::Union(u) = avro {
        return match u.variants() {
            [AvroSchema::Null, inner] if !matches!(dt, D::Null) => Some(Enc::Nullable(Box::new(plan(dt, inner)?))),
            _ => None,
        };
    }
    Some(match (dt, avro) {
        (D::Null, AvroSchema::Null) => Enc::Null,
        (D::Boolean, AvroSchema::Boolean) => Enc::Boolean,
        (D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16, AvroSchema::Int) => Enc::Integer,
        (D::Int64 | D::UInt32 | D::UInt64, AvroSchema::Long) => Enc::Integer,
        (D::Float32, AvroSchema::Float) => Enc::Float32,
        (D::Float64, AvroSchema::Double) => Enc::Float64,
        (D::Utf8 | D::LargeUtf8 | D::Utf8View, AvroSchema::String) => Enc::Utf8,
        (D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_), AvroSchema::Bytes) => Enc::Binary,
        (D::Date32, AvroSchema::Date) => Enc::Date32,
        (D::Date64, AvroSchema::Date) => Enc::Date64,
        (D::Time32(TimeUnit::Second), AvroSchema::TimeMillis) => Enc::Scaled(1000),
        (D::Time32(TimeUnit::Millisecond), AvroSchema::TimeMillis) => Enc::Integer,
        (D::Time64(TimeUnit::Microsecond), AvroSchema::TimeMicros) => Enc::Integer,
        (D::Timestamp(TimeUnit::Millisecond, Some(_)), AvroSchema::TimestampMillis)
        | (D::Timestamp(TimeUnit::Millisecond, None), AvroSchema::LocalTimestampMillis)
        | (D::Timestamp(TimeUnit::Microsecond, Some(_)), AvroSchema::TimestampMicros)
        | (D::Timestamp(TimeUnit::Microsecond, None), AvroSchema::LocalTimestampMicros) => Enc::Integer,
        (D::Timestamp(TimeUnit::Second, Some(_)), AvroSchema::TimestampMicros)
        | (D::Timestamp(TimeUnit::Second, None), AvroSchema::LocalTimestampMicros) => Enc::Scaled(1_000_000),
        (D::Struct(fields), AvroSchema::Record(r)) if fields.len() == r.fields.len() => Enc::Record(
            fields
                .iter()
                .zip(&r.fields)
                .map(|(f, a)| plan(f.data_type(), &a.schema))
                .collect::<Option<Vec<_>>>()?,
        ),
        (D::List(f) | D::LargeList(f), AvroSchema::Array(a)) => Enc::List(Box::new(plan(f.data_type(), &a.items)?)),
        _ => return None,
    })
}

/// The integer at `i` of an integer-like array (integers, dates, times, timestamps), widened
/// to `i64` as the general encoder does (an unsigned 64-bit value wraps).
fn integer(array: &dyn Array, i: usize) -> i64 {
    use DataType as D;
    match array.data_type() {
        D::Int8 => i64::from(array.as_primitive::<Int8Type>().value(i)),
        D::Int16 => i64::from(array.as_primitive::<Int16Type>().value(i)),
        D::Int32 => i64::from(array.as_primitive::<Int32Type>().value(i)),
        D::UInt8 => i64::from(array.as_primitive::<UInt8Type>().value(i)),
        D::UInt16 => i64::from(array.as_primitive::<UInt16Type>().value(i)),
        D::UInt32 => i64::from(array.as_primitive::<UInt32Type>().value(i)),
        D::UInt64 => array.as_primitive::<UInt64Type>().value(i) as i64,
        D::Time32(TimeUnit::Second) => i64::from(array.as_primitive::<Time32SecondType>().value(i)),
        D::Time32(_) => i64::from(array.as_primitive::<Time32MillisecondType>().value(i)),
        D::Time64(_) => array.as_primitive::<Time64MicrosecondType>().value(i),
        D::Timestamp(TimeUnit::Second, _) => array.as_primitive::<TimestampSecondType>().value(i),
        D::Timestamp(TimeUnit::Millisecond, _) => array.as_primitive::<TimestampMillisecondType>().value(i),
        D::Timestamp(_, _) => array.as_primitive::<TimestampMicrosecondType>().value(i),
        _ => array.as_primitive::<Int64Type>().value(i),
    }
}

fn encode(enc: &Enc, array: &dyn Array, i: usize, out: &mut Vec<u8>) {
    match enc {
        Enc::Null | Enc::General(_) => {}
        Enc::Nullable(inner) => {
            if array.is_null(i) {
                out.push(0);
            } else {
                out.push(2); // zigzag(1)
                encode(inner, array, i, out);
            }
        }
        Enc::Boolean => out.push(u8::from(array.as_boolean().value(i))),
        Enc::Integer => zigzag(out, integer(array, i)),
        Enc::Scaled(factor) => zigzag(out, integer(array, i).wrapping_mul(*factor)),
        Enc::Float32 => out.extend_from_slice(&array.as_primitive::<Float32Type>().value(i).to_le_bytes()),
        Enc::Float64 => out.extend_from_slice(&array.as_primitive::<Float64Type>().value(i).to_le_bytes()),
        Enc::Utf8 => {
            let s = match array.data_type() {
                DataType::Utf8 => array.as_string::<i32>().value(i),
                DataType::LargeUtf8 => array.as_string::<i64>().value(i),
                _ => array.as_string_view().value(i),
            };
            avro_bytes(out, s.as_bytes());
        }
        Enc::Binary => {
            let b = match array.data_type() {
                DataType::Binary => array.as_binary::<i32>().value(i),
                DataType::LargeBinary => array.as_binary::<i64>().value(i),
                DataType::BinaryView => array.as_binary_view().value(i),
                _ => array.as_fixed_size_binary().value(i),
            };
            avro_bytes(out, b);
        }
        Enc::Date32 => zigzag(out, i64::from(array.as_primitive::<Date32Type>().value(i))),
        Enc::Date64 => zigzag(
            out,
            i64::from((array.as_primitive::<Date64Type>().value(i) / 86_400_000) as i32),
        ),
        Enc::Record(fields) => {
            let s = array.as_struct();
            for (enc, column) in fields.iter().zip(s.columns()) {
                encode(enc, column.as_ref(), i, out);
            }
        }
        Enc::List(items) => match array.data_type() {
            DataType::LargeList(_) => encode_list(items, array.as_list::<i64>(), i, out),
            _ => encode_list(items, array.as_list::<i32>(), i, out),
        },
    }
}

/// An Avro array: one block of the list's items (when any), then the empty block.
fn encode_list<O: OffsetSizeTrait>(items: &Enc, list: &GenericListArray<O>, i: usize, out: &mut Vec<u8>) {
    let offsets = list.value_offsets();
    let (start, end) = (offsets[i].as_usize(), offsets[i + 1].as_usize());
    if end > start {
        zigzag(out, (end - start) as i64);
        let values = list.values().as_ref();
        for j in start..end {
            encode(items, values, j, out);
        }
    }
    out.push(0);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::*;
    use arrow::buffer::OffsetBuffer;

    use super::*;
    use crate::formats::avro::encode::{general_datum, row_datum};
    use crate::formats::avro::schema::{arrow_to_avro, avro_names};

    /// Every row of `batch` encoded by the plan and by the general encoder: the same bytes.
    /// Returns whether every column was encoded directly.
    fn same_bytes(batch: &arrow::array::RecordBatch) -> bool {
        let avro = arrow_to_avro(&batch.schema(), "t").unwrap();
        let plan = DatumPlan::new(&batch.schema(), &avro).expect("a record schema has a plan");
        let names = avro_names(batch.schema_ref().fields().iter().map(|f| f.name().as_str()));
        for i in 0..batch.num_rows() {
            let mut fast = vec![];
            plan.encode_row(batch.columns(), i, &general_datum, &mut fast).unwrap();
            let general = row_datum(&avro, &names, batch, i).unwrap();
            assert_eq!(fast, general, "row {i}");
        }
        plan.all_direct()
    }

    #[test]
    fn plain_columns_encode_as_the_general_encoder_does() {
        let ts =
            TimestampMicrosecondArray::from(vec![Some(1_700_000_000_123_456), None, Some(-1)]).with_timezone("UTC");
        let batch = RecordBatch::try_from_iter(vec![
            (
                "b",
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])) as ArrayRef,
            ),
            (
                "i8",
                Arc::new(Int8Array::from(vec![Some(-128), Some(127), None])) as ArrayRef,
            ),
            (
                "i16",
                Arc::new(Int16Array::from(vec![Some(-300), None, Some(300)])) as ArrayRef,
            ),
            (
                "i32",
                Arc::new(Int32Array::from(vec![Some(i32::MIN), Some(i32::MAX), None])) as ArrayRef,
            ),
            (
                "u8",
                Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])) as ArrayRef,
            ),
            (
                "u16",
                Arc::new(UInt16Array::from(vec![Some(65535), None, Some(1)])) as ArrayRef,
            ),
            (
                "u32",
                Arc::new(UInt32Array::from(vec![Some(u32::MAX), None, Some(1)])) as ArrayRef,
            ),
            (
                "u64",
                Arc::new(UInt64Array::from(vec![Some(u64::MAX), Some(5), None])) as ArrayRef,
            ),
            (
                "i64",
                Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(i64::MAX), None])) as ArrayRef,
            ),
            (
                "f32",
                Arc::new(Float32Array::from(vec![Some(1.5), None, Some(f32::NAN)])) as ArrayRef,
            ),
            (
                "f64",
                Arc::new(Float64Array::from(vec![Some(-0.0), Some(1e300), None])) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("héllo"), None, Some("")])) as ArrayRef,
            ),
            (
                "ls",
                Arc::new(LargeStringArray::from(vec![Some("a"), Some("bc"), None])) as ArrayRef,
            ),
            (
                "sv",
                Arc::new(StringViewArray::from(vec![
                    Some("a string longer than twelve"),
                    None,
                    Some("x"),
                ])) as ArrayRef,
            ),
            (
                "bin",
                Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), None, Some(&b""[..])])) as ArrayRef,
            ),
            (
                "lbin",
                Arc::new(LargeBinaryArray::from(vec![Some(&b"ab"[..]), None, Some(&b"c"[..])])) as ArrayRef,
            ),
            (
                "fsb",
                Arc::new(
                    FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                        vec![Some(vec![1u8, 2]), None, Some(vec![3, 4])].into_iter(),
                        2,
                    )
                    .unwrap(),
                ) as ArrayRef,
            ),
            (
                "d32",
                Arc::new(Date32Array::from(vec![Some(19_000), Some(-1), None])) as ArrayRef,
            ),
            (
                "d64",
                Arc::new(Date64Array::from(vec![Some(86_400_000 * 3), None, Some(-86_400_000)])) as ArrayRef,
            ),
            (
                "t32s",
                Arc::new(Time32SecondArray::from(vec![Some(3600), None, Some(0)])) as ArrayRef,
            ),
            (
                "t32ms",
                Arc::new(Time32MillisecondArray::from(vec![Some(3_600_000), None, Some(1)])) as ArrayRef,
            ),
            (
                "t64us",
                Arc::new(Time64MicrosecondArray::from(vec![Some(1), Some(86_399_999_999), None])) as ArrayRef,
            ),
            ("tsus", Arc::new(ts) as ArrayRef),
            (
                "tsus_local",
                Arc::new(TimestampMicrosecondArray::from(vec![Some(5), None, Some(-5)])) as ArrayRef,
            ),
            (
                "tsms",
                Arc::new(
                    TimestampMillisecondArray::from(vec![Some(1_700_000_000_123), None, Some(0)]).with_timezone("UTC"),
                ) as ArrayRef,
            ),
            (
                "tsms_local",
                Arc::new(TimestampMillisecondArray::from(vec![None, Some(7), Some(-7)])) as ArrayRef,
            ),
            (
                "tss",
                Arc::new(TimestampSecondArray::from(vec![Some(1_700_000_000), None, Some(-1)]).with_timezone("UTC"))
                    as ArrayRef,
            ),
            (
                "tss_local",
                Arc::new(TimestampSecondArray::from(vec![Some(1), Some(2), None])) as ArrayRef,
            ),
            ("nothing", Arc::new(NullArray::new(3)) as ArrayRef),
        ])
        .unwrap();
        assert!(same_bytes(&batch));
        assert!(same_bytes(&batch.slice(1, 2)));
    }

    #[test]
    fn records_and_lists_encode_as_the_general_encoder_does() {
        // The `_airbyte_meta` shape: a struct of a list of structs and a long.
        let change = Fields::from(vec![
            Field::new("field", DataType::Utf8, true),
            Field::new("change", DataType::Utf8, true),
        ]);
        let changes_values = StructArray::new(
            change.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as ArrayRef,
                Arc::new(StringArray::from(vec![Some("NULLED"), None, Some("TRUNCATED")])) as ArrayRef,
            ],
            Some(vec![true, true, false].into()),
        );
        let item = Arc::new(Field::new("item", DataType::Struct(change), true));
        let changes = ListArray::new(
            item,
            OffsetBuffer::new(vec![0, 0, 2, 3, 3].into()),
            Arc::new(changes_values),
            Some(vec![true, true, true, false].into()),
        );
        let meta_fields = Fields::from(vec![
            Field::new("changes", changes.data_type().clone(), true),
            Field::new("sync_id", DataType::Int64, true),
        ]);
        let meta = StructArray::new(
            meta_fields,
            vec![
                Arc::new(changes) as ArrayRef,
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3), Some(4)])) as ArrayRef,
            ],
            Some(vec![true, true, true, false].into()),
        );
        let ints = LargeListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None, Some(-3)]),
            None,
            Some(vec![]),
            Some(vec![Some(i64::MAX)]),
        ]);
        let batch = RecordBatch::try_from_iter(vec![
            ("_airbyte_meta", Arc::new(meta) as ArrayRef),
            ("ints", Arc::new(ints) as ArrayRef),
        ])
        .unwrap();
        assert!(same_bytes(&batch));
        assert!(same_bytes(&batch.slice(1, 3)));
    }

    #[test]
    fn other_columns_go_through_the_general_encoder_between_direct_ones() {
        let mut map = MapBuilder::new(None, StringBuilder::new(), Int64Builder::new());
        map.keys().append_value("k");
        map.values().append_value(1);
        map.append(true).unwrap();
        map.append(false).unwrap();
        map.append(true).unwrap();
        let map = map.finish();
        let dict: DictionaryArray<Int32Type> = vec![Some("x"), None, Some("y")].into_iter().collect();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "a",
                Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])) as ArrayRef,
            ),
            (
                "dec",
                Arc::new(
                    Decimal128Array::from(vec![Some(-12345), None, Some(1)])
                        .with_precision_and_scale(10, 2)
                        .unwrap(),
                ) as ArrayRef,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("x"), Some("y"), None])) as ArrayRef,
            ),
            (
                "tsns",
                Arc::new(TimestampNanosecondArray::from(vec![
                    Some(1_700_000_000_123_456_789),
                    None,
                    Some(-1_000),
                ])) as ArrayRef,
            ),
            (
                "t64ns",
                Arc::new(Time64NanosecondArray::from(vec![
                    Some(1_000),
                    None,
                    Some(86_399_999_999_000),
                ])) as ArrayRef,
            ),
            ("dict", Arc::new(dict) as ArrayRef),
            ("map", Arc::new(map) as ArrayRef),
            (
                "b",
                Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])) as ArrayRef,
            ),
        ])
        .unwrap();
        assert!(!same_bytes(&batch));
        assert!(!same_bytes(&batch.slice(1, 2)));
    }
}
