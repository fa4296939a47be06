//! Avro values both ways, exact: files written by the `apache-avro` crate's own writer
//! (unions, fixed, enums, maps, arrays, records, logical types) read by Lakeport's reader,
//! and Arrow types the writer maps (times, timestamps, unsigned and small integers,
//! decimals, maps, lists) written by Lakeport's writer and read back.

use std::io::Cursor;
use std::sync::Arc;

use apache_avro::types::{Record, Value};
use apache_avro::{Schema as AvroSchema, Writer};
use arrow::array::*;
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::*;
use lakeport_core::formats::avro::{parse_codec, AvroBlockWriter, AvroReader};
use lakeport_core::formats::ReadOptions;
use lakeport_core::records::RowEncoder;

/// Every row of every batch `reader` yields, as JSON object text.
fn rows_as_json(reader: AvroReader<'_>) -> Vec<String> {
    let mut out = vec![];
    for batch in reader {
        let batch = batch.unwrap();
        let enc = RowEncoder::new(&batch, &[]).unwrap();
        for i in 0..batch.num_rows() {
            let mut buf = Vec::new();
            enc.write_object(i, &mut buf);
            out.push(String::from_utf8(buf).unwrap());
        }
    }
    out
}

fn reader(bytes: Vec<u8>) -> AvroReader<'static> {
    AvroReader::new("t.avro", Box::new(Cursor::new(bytes)), &ReadOptions::default(), None).unwrap()
}

const EVERY_AVRO_TYPE: &str = r#"{
  "type": "record", "name": "row", "fields": [
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "tag", "type": {"type": "fixed", "name": "Tag", "size": 3}},
    {"name": "counts", "type": {"type": "map", "values": "long"}},
    {"name": "items", "type": {"type": "array", "items": ["null", "string"]}},
    {"name": "maybe", "type": ["null", "int", "string"]},
    {"name": "inner", "type": {"type": "record", "name": "Inner", "fields": [
        {"name": "x", "type": "double"}, {"name": "ok", "type": "boolean"}]}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
    {"name": "big", "type": {"type": "fixed", "name": "Big", "size": 8, "logicalType": "decimal", "precision": 18, "scale": 3}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "t_ms", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "t_us", "type": {"type": "long", "logicalType": "time-micros"}},
    {"name": "ts_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "ts_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "lts_us", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "f", "type": "float"},
    {"name": "raw", "type": "bytes"}
  ]}"#;

fn every_type_row<'a>(
    schema: &'a AvroSchema,
    color: (u32, &str),
    maybe: Value,
    price: i64,
    big: i64,
    f: f32,
) -> Record<'a> {
    let mut r = Record::new(schema).unwrap();
    r.put("color", Value::Enum(color.0, color.1.to_string()));
    r.put("tag", Value::Fixed(3, b"abc".to_vec()));
    r.put(
        "counts",
        Value::Map([("k".to_string(), Value::Long(7))].into_iter().collect()),
    );
    r.put(
        "items",
        Value::Array(vec![
            Value::Union(1, Box::new(Value::String("a".into()))),
            Value::Union(0, Box::new(Value::Null)),
        ]),
    );
    r.put("maybe", maybe);
    r.put(
        "inner",
        Value::Record(vec![
            ("x".into(), Value::Double(-0.5)),
            ("ok".into(), Value::Boolean(true)),
        ]),
    );
    r.put(
        "price",
        Value::Decimal(apache_avro::Decimal::from(price.to_be_bytes().to_vec())),
    );
    r.put(
        "big",
        Value::Decimal(apache_avro::Decimal::from(big.to_be_bytes().to_vec())),
    );
    r.put("day", Value::Date(19_782));
    r.put("t_ms", Value::TimeMillis(45_296_789));
    r.put("t_us", Value::TimeMicros(1));
    r.put("ts_ms", Value::TimestampMillis(1_700_000_000_123));
    r.put("ts_us", Value::TimestampMicros(-1));
    r.put("lts_us", Value::LocalTimestampMicros(86_400_000_000));
    r.put(
        "id",
        Value::Uuid(uuid::Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap()),
    );
    r.put("f", Value::Float(f));
    r.put("raw", Value::Bytes(vec![0, 255]));
    r
}

#[test]
fn files_from_the_avro_crate_read_with_exact_values() {
    let schema = AvroSchema::parse_str(EVERY_AVRO_TYPE).unwrap();
    for codec in ["null", "deflate", "snappy", "zstd", "bzip2", "xz"] {
        let mut w = Writer::with_codec(&schema, Vec::new(), parse_codec(codec).unwrap());
        w.append(every_type_row(
            &schema,
            (0, "RED"),
            Value::Union(1, Box::new(Value::Int(42))),
            12_345,
            -1,
            1.5,
        ))
        .unwrap();
        w.append(every_type_row(
            &schema,
            (1, "GREEN"),
            Value::Union(2, Box::new(Value::String("x".into()))),
            -5,
            123_456_789,
            2.25,
        ))
        .unwrap();
        w.append(every_type_row(
            &schema,
            (0, "RED"),
            Value::Union(0, Box::new(Value::Null)),
            0,
            0,
            -0.0,
        ))
        .unwrap();
        let bytes = w.into_inner().unwrap();
        let rows = rows_as_json(reader(bytes));
        let common = r#""tag":"YWJj","counts":{"k":7},"items":["a",null],"#;
        let tail = r#""inner":{"x":-0.5,"ok":true},"#;
        let times = r#""day":"2024-02-29","t_ms":"12:34:56.789","t_us":"00:00:00.000001","ts_ms":"2023-11-14T22:13:20.123Z","ts_us":"1969-12-31T23:59:59.999999Z","lts_us":"1970-01-02T00:00:00.000000","id":"67e55044-10b1-426f-9247-bb680e5fe0c8","#;
        assert_eq!(
            rows,
            vec![
                format!(
                    r#"{{"color":"RED",{common}"maybe":42,{tail}"price":123.45,"big":-0.001,{times}"f":1.5,"raw":"AP8="}}"#
                ),
                format!(
                    r#"{{"color":"GREEN",{common}"maybe":"x",{tail}"price":-0.05,"big":123456.789,{times}"f":2.25,"raw":"AP8="}}"#
                ),
                format!(
                    r#"{{"color":"RED",{common}"maybe":null,{tail}"price":0.00,"big":0.000,{times}"f":-0.0,"raw":"AP8="}}"#
                ),
            ],
            "codec {codec}"
        );
    }
}

#[test]
fn a_file_of_plain_values_reads_as_one_value_column() {
    let schema = AvroSchema::parse_str(r#"{"type": "array", "items": "long"}"#).unwrap();
    let mut w = Writer::new(&schema, Vec::new());
    w.append(Value::Array(vec![Value::Long(1), Value::Long(-2)])).unwrap();
    w.append(Value::Array(vec![])).unwrap();
    let rows = rows_as_json(reader(w.into_inner().unwrap()));
    assert_eq!(rows, vec![r#"{"value":[1,-2]}"#, r#"{"value":[]}"#]);
}

#[test]
fn non_finite_floats_are_kept_for_the_record_writer_to_null() {
    let schema = AvroSchema::parse_str(
        r#"{"type":"record","name":"r","fields":[{"name":"d","type":"double"},{"name":"f","type":"float"}]}"#,
    )
    .unwrap();
    let mut w = Writer::new(&schema, Vec::new());
    for (d, f) in [(f64::NAN, f32::INFINITY), (f64::NEG_INFINITY, 1.0)] {
        let mut r = Record::new(&schema).unwrap();
        r.put("d", Value::Double(d));
        r.put("f", Value::Float(f));
        w.append(r).unwrap();
    }
    let batch = reader(w.into_inner().unwrap()).next().unwrap().unwrap();
    let d = batch.column(0).as_primitive::<Float64Type>();
    assert!(d.value(0).is_nan());
    assert_eq!(d.value(1), f64::NEG_INFINITY);
    let f = batch.column(1).as_primitive::<Float32Type>();
    assert_eq!((f.value(0), f.value(1)), (f32::INFINITY, 1.0));
}

#[test]
fn parse_codec_names_every_codec_and_refuses_others() {
    for (name, expected) in [
        ("null", "Null"),
        ("NONE", "Null"),
        ("", "Null"),
        ("uncompressed", "Null"),
        ("deflate", "Deflate"),
        ("snappy", "Snappy"),
        ("zstandard", "Zstandard"),
        ("zstd", "Zstandard"),
        ("bz2", "Bzip2"),
        ("bzip2", "Bzip2"),
        ("xz", "Xz"),
    ] {
        assert!(
            format!("{:?}", parse_codec(name).unwrap()).starts_with(expected),
            "{name}"
        );
    }
    assert_eq!(
        parse_codec("lzo").unwrap_err().to_string(),
        "unknown Avro codec 'lzo'; use one of null, deflate, snappy, zstd, bzip2, xz"
    );
}

/// A map column of string keys to nullable Int32 values: `[{a:1}, {b:null}, null]` (one
/// entry each: Avro maps are unordered).
fn map_column() -> MapArray {
    let entries = StructArray::from(vec![
        (
            Arc::new(Field::new("keys", DataType::Utf8, false)),
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("values", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
        ),
    ]);
    let field = Arc::new(Field::new("entries", entries.data_type().clone(), false));
    MapArray::new(
        field,
        OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 1, 2, 2])),
        entries,
        Some(vec![true, true, false].into()),
        false,
    )
}

#[test]
fn the_writer_maps_every_arrow_type_and_reads_back_exactly() {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("i8", Arc::new(Int8Array::from(vec![Some(-8), None, Some(127)]))),
        ("u16", Arc::new(UInt16Array::from(vec![65_535, 0, 1]))),
        ("u32", Arc::new(UInt32Array::from(vec![u32::MAX, 0, 1]))),
        ("u64", Arc::new(UInt64Array::from(vec![1u64 << 40, 0, 1]))),
        (
            "h",
            Arc::new(Float16Array::from(
                vec![0.5f32, -2.0, 8.0]
                    .into_iter()
                    .map(<Float16Type as ArrowPrimitiveType>::Native::from_f32)
                    .collect::<Vec<_>>(),
            )),
        ),
        ("f", Arc::new(Float32Array::from(vec![0.25f32, -1.0, 3.5]))),
        ("ls", Arc::new(LargeStringArray::from(vec!["é", "", "z"]))),
        (
            "lb",
            Arc::new(LargeBinaryArray::from(vec![b"hi".as_ref(), b"", b"\x01"])),
        ),
        (
            "fb",
            Arc::new(
                FixedSizeBinaryArray::try_from_iter(vec![b"ab".to_vec(), b"cd".to_vec(), b"ef".to_vec()].into_iter())
                    .unwrap(),
            ),
        ),
        ("d64", Arc::new(Date64Array::from(vec![86_400_000, 0, -86_400_000]))),
        ("t32s", Arc::new(Time32SecondArray::from(vec![3_661, 0, 86_399]))),
        ("t32ms", Arc::new(Time32MillisecondArray::from(vec![1, 0, 45_296_789]))),
        (
            "t64ns",
            Arc::new(Time64NanosecondArray::from(vec![1_000, 0, 45_296_789_012_000])),
        ),
        ("t64us", Arc::new(Time64MicrosecondArray::from(vec![1, 0, 2]))),
        (
            "tss",
            Arc::new(TimestampSecondArray::from(vec![1, 0, -1]).with_timezone("UTC")),
        ),
        (
            "tsms",
            Arc::new(TimestampMillisecondArray::from(vec![1_500, 0, -1]).with_timezone("UTC")),
        ),
        (
            "tsms_local",
            Arc::new(TimestampMillisecondArray::from(vec![1_500, 0, -1])),
        ),
        ("tsns", Arc::new(TimestampNanosecondArray::from(vec![1_000, 0, -1_000]))),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(-12_345), Some(0), None])
                    .with_precision_and_scale(20, 3)
                    .unwrap(),
            ),
        ),
        (
            "dec_big",
            Arc::new(
                Decimal128Array::from(vec![i128::from(i64::MAX) * 1000, -1, 1])
                    .with_precision_and_scale(38, 2)
                    .unwrap(),
            ),
        ),
        ("m", Arc::new(map_column())),
        (
            "ll",
            Arc::new(LargeListArray::from_iter_primitive::<Int64Type, _, _>(vec![
                Some(vec![Some(1), None]),
                Some(vec![]),
                None,
            ])),
        ),
        (
            "fl",
            Arc::new(FixedSizeListArray::from_iter_primitive::<Int32Type, _, _>(
                vec![Some(vec![Some(1), Some(2)]), Some(vec![None, Some(4)]), None],
                2,
            )),
        ),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, c)| c).collect()).unwrap();
    let mut w = AvroBlockWriter::new(Vec::new(), &schema, "row", parse_codec("deflate").unwrap()).unwrap();
    w.write(&batch).unwrap();
    w.flush_block().unwrap();
    let after_first = w.get_ref().len();
    w.write(&batch.slice(0, 1)).unwrap();
    let bytes = w.finish().unwrap();
    assert!(bytes.len() > after_first, "the second block is written on finish");
    let rows = rows_as_json(reader(bytes));
    let expected = [
        concat!(
            r#"{"i8":-8,"u16":65535,"u32":4294967295,"u64":1099511627776,"h":0.5,"f":0.25,"ls":"é","lb":"aGk=","fb":"YWI=","#,
            r#""d64":"1970-01-02","t32s":"01:01:01.000","t32ms":"00:00:00.001","t64ns":"00:00:00.000001","t64us":"00:00:00.000001","#,
            r#""tss":"1970-01-01T00:00:01.000000Z","tsms":"1970-01-01T00:00:01.500Z","tsms_local":"1970-01-01T00:00:01.500","#,
            r#""tsns":"1970-01-01T00:00:00.000001000","dec":-12.345,"dec_big":92233720368547758070.00,"m":{"a":1},"ll":[1,null],"fl":[1,2]}"#
        ),
        concat!(
            r#"{"i8":null,"u16":0,"u32":0,"u64":0,"h":-2.0,"f":-1.0,"ls":"","lb":"","fb":"Y2Q=","#,
            r#""d64":"1970-01-01","t32s":"00:00:00.000","t32ms":"00:00:00.000","t64ns":"00:00:00.000000","t64us":"00:00:00.000000","#,
            r#""tss":"1970-01-01T00:00:00.000000Z","tsms":"1970-01-01T00:00:00.000Z","tsms_local":"1970-01-01T00:00:00.000","#,
            r#""tsns":"1970-01-01T00:00:00.000000000","dec":0.000,"dec_big":-0.01,"m":{"b":null},"ll":[],"fl":[null,4]}"#
        ),
        concat!(
            r#"{"i8":127,"u16":1,"u32":1,"u64":1,"h":8.0,"f":3.5,"ls":"z","lb":"AQ==","fb":"ZWY=","#,
            r#""d64":"1969-12-31","t32s":"23:59:59.000","t32ms":"12:34:56.789","t64ns":"12:34:56.789012","t64us":"00:00:00.000002","#,
            r#""tss":"1969-12-31T23:59:59.000000Z","tsms":"1969-12-31T23:59:59.999Z","tsms_local":"1969-12-31T23:59:59.999","#,
            r#""tsns":"1969-12-31T23:59:59.999999000","dec":null,"dec_big":0.01,"m":null,"ll":null,"fl":null}"#
        ),
    ];
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[..3], expected);
    assert_eq!(rows[3], expected[0], "the second block holds the first row again");
}

#[test]
fn avro_schemas_map_to_arrow_types() {
    use lakeport_core::formats::avro::avro_to_arrow;
    let avro = AvroSchema::parse_str(
        r#"{"type": "record", "name": "r", "namespace": "ns", "fields": [
        {"name": "n", "type": "null"},
        {"name": "b", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "by", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A"]}},
        {"name": "e2", "type": "E"},
        {"name": "fx", "type": {"type": "fixed", "name": "F", "size": 2}},
        {"name": "dur", "type": {"type": "fixed", "name": "D", "size": 12, "logicalType": "duration"}},
        {"name": "u", "type": {"type": "string", "logicalType": "uuid"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "tu", "type": {"type": "long", "logicalType": "time-micros"}},
        {"name": "tsm", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tsu", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "tsn", "type": {"type": "long", "logicalType": "timestamp-nanos"}},
        {"name": "ltm", "type": {"type": "long", "logicalType": "local-timestamp-millis"}},
        {"name": "ltu", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "ltn", "type": {"type": "long", "logicalType": "local-timestamp-nanos"}},
        {"name": "dec", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "dec256", "type": {"type": "bytes", "logicalType": "decimal", "precision": 50, "scale": 5}},
        {"name": "arr", "type": {"type": "array", "items": "int"}},
        {"name": "m", "type": {"type": "map", "values": ["null", "double"]}},
        {"name": "rec", "type": {"type": "record", "name": "Inner", "fields": [{"name": "x", "type": "long"}]}},
        {"name": "rec2", "type": "ns.Inner"},
        {"name": "opt", "type": ["null", "string"]},
        {"name": "only_null", "type": ["null"]},
        {"name": "multi", "type": ["null", "long", "string", "boolean"]}
    ]}"#,
    )
    .unwrap();
    let schema = avro_to_arrow(&avro);
    let ty = |name: &str| schema.field_with_name(name).unwrap().data_type().clone();
    use DataType::*;
    let utc = Some("UTC".into());
    let expected = [
        ("n", Null),
        ("b", Boolean),
        ("i", Int32),
        ("l", Int64),
        ("f", Float32),
        ("d", Float64),
        ("by", Binary),
        ("s", Utf8),
        ("e", Utf8),
        ("e2", Utf8),
        ("fx", Binary),
        ("dur", Binary),
        ("u", Utf8),
        ("day", Date32),
        ("tm", Time32(TimeUnit::Millisecond)),
        ("tu", Time64(TimeUnit::Microsecond)),
        ("tsm", Timestamp(TimeUnit::Millisecond, utc.clone())),
        ("tsu", Timestamp(TimeUnit::Microsecond, utc.clone())),
        ("tsn", Timestamp(TimeUnit::Nanosecond, utc)),
        ("ltm", Timestamp(TimeUnit::Millisecond, None)),
        ("ltu", Timestamp(TimeUnit::Microsecond, None)),
        ("ltn", Timestamp(TimeUnit::Nanosecond, None)),
        ("dec", Decimal128(10, 2)),
        ("dec256", Decimal256(50, 5)),
        ("arr", List(Arc::new(Field::new_list_field(Int32, true)))),
        ("m", lakeport_core::schema::map_type(Float64)),
        ("rec", Struct(Fields::from(vec![Field::new("x", Int64, true)]))),
        ("rec2", Struct(Fields::from(vec![Field::new("x", Int64, true)]))),
        ("opt", Utf8),
        ("only_null", Null),
        ("multi", Utf8),
    ];
    for (name, t) in expected {
        assert_eq!(ty(name), t, "{name}");
    }
    let multi = schema.field_with_name("multi").unwrap();
    assert!(lakeport_core::schema::is_json_field(multi));
    assert_eq!(
        lakeport_core::schema::field_to_json_schema(multi),
        serde_json::json!({"type": ["null", "integer", "string", "boolean"]})
    );
    assert!(!lakeport_core::schema::is_json_field(
        schema.field_with_name("opt").unwrap()
    ));
    // A schema that is not a record: one column named `value`.
    let plain = avro_to_arrow(&AvroSchema::parse_str(r#""string""#).unwrap());
    assert_eq!(plain, Schema::new(vec![Field::new("value", Utf8, true)]));
}

#[test]
fn arrow_schemas_map_to_avro_with_legal_distinct_names() {
    use lakeport_core::formats::avro::arrow_to_avro;
    let schema = Schema::new(vec![
        Field::new("1st col", DataType::Int16, true),
        Field::new("a-b", DataType::UInt64, true),
        Field::new("a_b", DataType::Null, true),
        Field::new("", DataType::Float16, true),
        Field::new(
            "dict",
            DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new("dur", DataType::Duration(TimeUnit::Second), true),
        Field::new("dec", DataType::Decimal64(12, 3), true),
        Field::new(
            "tsn",
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            true,
        ),
        Field::new("m", lakeport_core::schema::map_type(DataType::Int32), true),
        Field::new(
            "s",
            DataType::Struct(Fields::from(vec![Field::new("x y", DataType::Boolean, true)])),
            true,
        ),
    ]);
    let avro = arrow_to_avro(&schema, "my record").unwrap();
    let json: serde_json::Value = serde_json::to_value(&avro).unwrap();
    assert_eq!(json["name"], "my_record");
    let fields = json["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["_1st_col", "a_b", "a_b_1", "_", "dict", "dur", "dec", "tsn", "m", "s"]
    );
    use serde_json::json;
    let types: Vec<&serde_json::Value> = fields.iter().map(|f| &f["type"]).collect();
    assert_eq!(types[0], &json!(["null", "int"]));
    assert_eq!(types[1], &json!(["null", "long"]));
    assert_eq!(
        types[2],
        &json!("null"),
        "a null column is not a union of null and null"
    );
    assert_eq!(types[3], &json!(["null", "float"]));
    assert_eq!(types[4], &json!(["null", "string"]));
    assert_eq!(types[5], &json!(["null", "string"]));
    assert_eq!(
        types[6],
        &json!(["null", {"type": "bytes", "logicalType": "decimal", "precision": 12, "scale": 3}])
    );
    assert_eq!(
        types[7],
        &json!(["null", {"type": "long", "logicalType": "timestamp-nanos"}])
    );
    assert_eq!(types[8], &json!(["null", {"type": "map", "values": ["null", "int"]}]));
    let s = &types[9][1];
    assert_eq!(
        (s["type"].as_str(), s["name"].as_str()),
        (Some("record"), Some("my_record_s"))
    );
    assert_eq!(s["fields"][0]["name"], "x_y");
    assert_eq!(s["fields"][0]["type"], json!(["null", "boolean"]));
}

/// Appends `v` as an Avro long (zig-zag varint).
fn zigzag(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn avro_bytes(out: &mut Vec<u8>, b: &[u8]) {
    zigzag(out, b.len() as i64);
    out.extend_from_slice(b);
}

/// A container file (codec null) with `schema` and one block of `rows` encoded rows in `data`.
fn hand_made_file(schema: &str, rows: i64, data: &[u8]) -> Vec<u8> {
    let sync = [7u8; 16];
    let mut f = b"Obj\x01".to_vec();
    zigzag(&mut f, 2);
    avro_bytes(&mut f, b"avro.schema");
    avro_bytes(&mut f, schema.as_bytes());
    avro_bytes(&mut f, b"avro.codec");
    avro_bytes(&mut f, b"null");
    zigzag(&mut f, 0);
    f.extend_from_slice(&sync);
    zigzag(&mut f, rows);
    zigzag(&mut f, data.len() as i64);
    f.extend_from_slice(data);
    f.extend_from_slice(&sync);
    f
}

#[test]
fn a_union_of_several_decimal_fixed_types_reads_each_as_its_decimal() {
    // The Avro crate refuses such a union ("duplicate types"); the specification allows it.
    let schema = r#"{"type":"record","name":"r","fields":[{"name":"v","type":["null",
        {"type":"fixed","name":"A","size":4,"logicalType":"decimal","precision":9,"scale":2},
        {"type":"fixed","name":"ns.B","size":8,"logicalType":"decimal","precision":18,"scale":4}]}]}"#;
    let mut data = Vec::new();
    zigzag(&mut data, 1);
    data.extend_from_slice(&(-12_345i32).to_be_bytes());
    zigzag(&mut data, 2);
    data.extend_from_slice(&5i64.to_be_bytes());
    zigzag(&mut data, 0);
    let rows = rows_as_json(reader(hand_made_file(schema, 3, &data)));
    assert_eq!(rows, vec![r#"{"v":-123.45}"#, r#"{"v":0.0005}"#, r#"{"v":null}"#]);
}

#[test]
fn malformed_headers_are_clear_errors() {
    let open =
        |bytes: Vec<u8>| match AvroReader::new("h.avro", Box::new(Cursor::new(bytes)), &ReadOptions::default(), None) {
            Ok(_) => panic!("a malformed header opened"),
            Err(e) => e.to_string(),
        };
    let msg = open(b"PAR1xxxx".to_vec());
    assert!(
        msg.contains("h.avro")
            && msg.contains("the file is not valid Avro: it does not start with the Avro magic bytes"),
        "{msg}"
    );
    let msg = open(b"Ob".to_vec());
    assert!(
        msg.contains("the file is not valid Avro: its header is cut short"),
        "{msg}"
    );
    let mut many = b"Obj\x01".to_vec();
    zigzag(&mut many, 1_000_000);
    let msg = open(many);
    assert!(msg.contains("its header declares 1000000 metadata entries"), "{msg}");
    let mut negative = b"Obj\x01".to_vec();
    zigzag(&mut negative, -2_000);
    zigzag(&mut negative, 10);
    let msg = open(negative);
    assert!(msg.contains("its header declares 2000 metadata entries"), "{msg}");
    let mut bad_len = b"Obj\x01".to_vec();
    zigzag(&mut bad_len, 1);
    zigzag(&mut bad_len, -5);
    let msg = open(bad_len);
    assert!(msg.contains("its header holds a length of -5"), "{msg}");
    let mut endless = b"Obj\x01".to_vec();
    endless.extend_from_slice(&[0xff; 11]);
    let msg = open(endless);
    assert!(msg.contains("a number in its header does not end"), "{msg}");
    // A block cut short after a valid header: an error, not fewer rows.
    let schema =
        AvroSchema::parse_str(r#"{"type":"record","name":"r","fields":[{"name":"s","type":"string"}]}"#).unwrap();
    let mut w = Writer::new(&schema, Vec::new());
    for i in 0..100 {
        let mut r = Record::new(&schema).unwrap();
        r.put("s", Value::String(format!("row number {i}")));
        w.append(r).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    let cut = bytes[..bytes.len() - 40].to_vec();
    let results: Vec<_> = reader(cut).collect();
    let err = results
        .into_iter()
        .find_map(|r| r.err())
        .expect("a truncated block is an error");
    assert!(err.to_string().contains("t.avro"), "{err}");
    // The first block (after the header's sync marker) declaring what the file cannot hold:
    // a clear error before anything is allocated for it.
    let sync_end = bytes.windows(16).position(|w| w == &bytes[bytes.len() - 16..]).unwrap() + 16;
    let with_block_head = |count: i64, size: i64| {
        let mut b = bytes[..sync_end].to_vec();
        zigzag(&mut b, count);
        zigzag(&mut b, size);
        b.extend_from_slice(&[1, 2, 3]);
        b
    };
    let first_error = |b: Vec<u8>| reader(b).find_map(|r| r.err()).expect("an error").to_string();
    let msg = first_error(with_block_head(100, 400 << 20));
    assert!(
        msg.contains("t.avro") && msg.contains("data block 1 declares 419430400 bytes but the file ends after 3"),
        "{msg}"
    );
    // A million records of at least 1 byte each (a string's length) in 3 bytes.
    let msg = first_error(with_block_head(1_000_000, 3));
    assert!(msg.contains("declares 1000000 records in 3 bytes"), "{msg}");
}

#[test]
fn values_that_do_not_fit_the_target_fail_are_skipped_or_emitted_as_null() {
    use lakeport_core::formats::{BatchReader, OnBadRecord};
    let schema =
        AvroSchema::parse_str(r#"{"type":"record","name":"r","fields":[{"name":"n","type":"string"}]}"#).unwrap();
    let mut w = Writer::new(&schema, Vec::new());
    for v in ["1", "x", "3", "y"] {
        let mut r = Record::new(&schema).unwrap();
        r.put("n", Value::String(v.into()));
        w.append(r).unwrap();
    }
    let bytes = w.into_inner().unwrap();
    let target = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
    let open = |policy| {
        let opts = ReadOptions::default().with_on_bad_record(policy);
        AvroReader::new(
            "t.avro",
            Box::new(Cursor::new(bytes.clone())),
            &opts,
            Some(target.clone()),
        )
        .unwrap()
    };

    let mut fail = open(OnBadRecord::Fail);
    assert_eq!(fail.schema(), target);
    let e = fail.next().unwrap().unwrap_err();
    assert_eq!(
        e.to_string(),
        "Format error in t.avro: value x in field 'n' cannot be read as integer"
    );
    assert!(fail.next().is_none(), "no batch after the error");

    let mut skip = open(OnBadRecord::Skip);
    let batch = skip.next().unwrap().unwrap();
    assert_eq!(
        batch.column(0).as_primitive::<Int64Type>().values().to_vec(),
        vec![1, 3]
    );
    assert_eq!(
        skip.take_warnings(),
        vec!["t.avro: skipped 2 record(s), first: value x in field 'n' cannot be read as integer"]
    );

    let mut emit = open(OnBadRecord::Emit);
    let batch = emit.next().unwrap().unwrap();
    let n = batch.column(0).as_primitive::<Int64Type>();
    assert_eq!(n.iter().collect::<Vec<_>>(), vec![Some(1), None, Some(3), None]);
    let nulled = batch
        .column_by_name(lakeport_core::records::NULLED_FIELDS_COLUMN)
        .unwrap()
        .as_list::<i32>();
    assert!(nulled.is_null(0) && nulled.is_valid(1));
    assert_eq!(nulled.value(1).as_string::<i32>().value(0), "n");
    assert_eq!(
        emit.take_warnings(),
        vec!["t.avro: emitted 2 record(s) with a value that does not fit the schema as null, first: value x in field 'n' cannot be read as integer"]
    );
}

/// Names the Avro library refuses but other readers read (Java's reflect writes `Outer$Inner`
/// class names; Avro protocols have the `error` record type): made legal wherever they are
/// defined or referred to, the values read as written.
#[test]
fn names_other_avro_writers_allow_are_read() {
    let schema = r#"{"type": "error", "name": "Outer$Inner", "namespace": "org.x.Test$", "fields": [
        {"name": "n", "type": "long"},
        {"name": "next", "type": ["null", "org.x.Test$.Outer$Inner"]}]}"#;
    let sync = [3u8; 16];
    let mut bytes = b"Obj\x01".to_vec();
    zigzag(&mut bytes, 1);
    zigzag(&mut bytes, "avro.schema".len() as i64);
    bytes.extend_from_slice(b"avro.schema");
    zigzag(&mut bytes, schema.len() as i64);
    bytes.extend_from_slice(schema.as_bytes());
    zigzag(&mut bytes, 0);
    bytes.extend_from_slice(&sync);
    // Two records: {n: 5, next: {n: -1, next: null}} and {n: 7, next: null}.
    let mut data = vec![];
    for v in [5, 1 /* branch 1 */, -1, 0 /* branch 0 */, 7, 0] {
        zigzag(&mut data, v);
    }
    zigzag(&mut bytes, 2);
    zigzag(&mut bytes, data.len() as i64);
    bytes.extend_from_slice(&data);
    bytes.extend_from_slice(&sync);
    assert_eq!(
        rows_as_json(reader(bytes)),
        [r#"{"n":5,"next":{"n":-1,"next":null}}"#, r#"{"n":7,"next":null}"#]
    );
}
