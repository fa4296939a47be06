//! Shared test data: a table holding every type the engine maps.
#![allow(dead_code)]

use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::OffsetBuffer;
use arrow::datatypes::*;

/// The schema of [`every_type`].
pub fn every_type_schema() -> SchemaRef {
    let st = Fields::from(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("score", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("amount", DataType::Decimal128(10, 2), true),
        Field::new("obj", DataType::Struct(st), true),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true))),
            true,
        ),
        Field::new("blob", DataType::Binary, true),
    ]))
}

/// Four rows: nulls, empty strings, unicode, i64 extremes, decimals, timestamps with zone,
/// dates, nested objects, arrays.
pub fn every_type() -> RecordBatch {
    let schema = every_type_schema();
    let st_fields = match schema.field(7).data_type() {
        DataType::Struct(f) => f.clone(),
        _ => unreachable!(),
    };
    let obj = StructArray::new(
        st_fields,
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None, None, Some(3)])) as ArrayRef,
            Arc::new(StringArray::from(vec![Some("x"), None, Some("y"), None])),
        ],
        Some(vec![true, false, true, true].into()),
    );
    let tags = ListArray::new(
        Arc::new(Field::new_list_field(DataType::Int64, true)),
        OffsetBuffer::new(vec![0, 2, 2, 2, 4].into()),
        Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(5)])),
        Some(vec![true, true, false, true].into()),
    );
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![Some(i64::MIN), Some(0), Some(i64::MAX), None])),
            Arc::new(Float64Array::from(vec![Some(1.5), Some(-2.25e-7), None, Some(1e300)])),
            Arc::new(StringArray::from(vec![
                Some(""),
                Some("héllo 😀 \u{1} tab\there"),
                Some("a\"b,\nc"),
                None,
            ])),
            Arc::new(BooleanArray::from(vec![Some(true), Some(false), None, Some(true)])),
            Arc::new(Date32Array::from(vec![Some(0), Some(19_782), Some(-1), None])),
            Arc::new(
                TimestampMicrosecondArray::from(vec![Some(0), Some(1_700_000_000_123_456), Some(-1), None])
                    .with_timezone("UTC"),
            ),
            Arc::new(
                Decimal128Array::from(vec![Some(12_345), Some(-5), None, Some(0)])
                    .with_precision_and_scale(10, 2)
                    .unwrap(),
            ),
            Arc::new(obj),
            Arc::new(tags),
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\xff"[..]),
                Some(&b"bin"[..]),
                None,
                Some(&b"abc"[..]),
            ])),
        ],
    )
    .unwrap()
}

/// Concatenates batches (empty input → empty batch of `schema`).
pub fn concat(schema: &SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    arrow::compute::concat_batches(schema, batches).unwrap()
}
