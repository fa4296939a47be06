//! RECORD lines parsed back with serde_json equal the expected values; JSON records decode
//! into batches.

mod common;

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use lakeport_core::records::{record_fits, JsonRecordDecoder, RecordSerializer};
use serde_json::{json, Value};

#[test]
fn record_lines_have_typed_values() {
    let batch = common::every_type();
    let ser = RecordSerializer::new("users", Some("public"), 1_700_000_000_000).with_extra_fields(&[
        ("_ab_source_file_url", json!("s3://b/k.parquet")),
        ("_ab_source_file_last_modified", json!("2024-01-01T00:00:00.000000Z")),
    ]);
    let mut out = Vec::new();
    ser.write_batch(&batch, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(text.ends_with('\n'));
    let rows: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let r0 = &rows[0];
    assert_eq!(r0["type"], "RECORD");
    assert_eq!(r0["record"]["stream"], "users");
    assert_eq!(r0["record"]["namespace"], "public");
    assert_eq!(r0["record"]["emitted_at"], 1_700_000_000_000i64);
    let d0 = &r0["record"]["data"];
    assert_eq!(
        d0,
        &json!({
            "id": i64::MIN,
            "score": 1.5,
            "name": "",
            "flag": true,
            "day": "1970-01-01",
            "ts": "1970-01-01T00:00:00.000000Z",
            "amount": 123.45,
            "obj": {"a": 1, "b": "x"},
            "tags": [1, 2],
            "blob": "AP8=",
            "_ab_source_file_url": "s3://b/k.parquet",
            "_ab_source_file_last_modified": "2024-01-01T00:00:00.000000Z"
        })
    );
    let d1 = &rows[1]["record"]["data"];
    assert_eq!(d1["name"], "héllo 😀 \u{1} tab\there");
    assert_eq!(d1["day"], "2024-02-29");
    assert_eq!(d1["ts"], "2023-11-14T22:13:20.123456Z");
    assert_eq!(d1["amount"], json!(-0.05));
    assert_eq!(d1["obj"], Value::Null);
    assert_eq!(d1["tags"], json!([]));
    assert_eq!(d1["score"], json!(-2.25e-7));
    let d2 = &rows[2]["record"]["data"];
    assert_eq!(d2["id"], json!(i64::MAX));
    assert_eq!(d2["name"], "a\"b,\nc");
    assert_eq!(d2["day"], "1969-12-31");
    assert_eq!(d2["ts"], "1969-12-31T23:59:59.999999Z");
    assert_eq!(d2["tags"], Value::Null);
    assert_eq!(d2["obj"], json!({"a": null, "b": "y"}));
    let d3 = &rows[3]["record"]["data"];
    assert_eq!(d3["id"], Value::Null);
    assert_eq!(d3["score"], json!(1e300));
    assert_eq!(d3["tags"], json!([null, 5]));
    assert_eq!(d3["amount"], json!(0.0));
    // The raw text keeps the decimal's scale.
    assert!(lines[3].contains("\"amount\":0.00"));
    // No namespace → the key is omitted.
    let mut out = Vec::new();
    RecordSerializer::new("s", None, 1)
        .write_batch(&batch.slice(0, 1), &mut out)
        .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(v["record"].get("namespace").is_none());
}

#[test]
fn nan_and_infinity_are_null_and_extra_fields_win() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("f", DataType::Float32, true),
        Field::new("_ab_source_file_url", DataType::Utf8, true),
        Field::new("ms", DataType::Timestamp(TimeUnit::Millisecond, None), true),
        Field::new(
            "m",
            DataType::Map(
                Arc::new(Field::new(
                    "entries",
                    DataType::Struct(
                        vec![
                            Field::new("key", DataType::Utf8, false),
                            Field::new("value", DataType::Int32, true),
                        ]
                        .into(),
                    ),
                    false,
                )),
                false,
            ),
            true,
        ),
    ]));
    let mut mb = MapBuilder::new(None, StringBuilder::new(), Int32Builder::new());
    mb.keys().append_value("k");
    mb.values().append_value(7);
    mb.append(true).unwrap();
    mb.append(false).unwrap();
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Float32Array::from(vec![f32::NAN, f32::INFINITY])),
            Arc::new(StringArray::from(vec![Some("column value"), None])),
            Arc::new(TimestampMillisecondArray::from(vec![Some(1_500), None])),
            Arc::new(mb.finish()),
        ],
    )
    .unwrap();
    let ser = RecordSerializer::new("s", None, 5).with_extra_fields(&[("_ab_source_file_url", json!("file.csv"))]);
    let mut out = Vec::new();
    ser.write_batch(&batch, &mut out).unwrap();
    let rows: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows[0]["record"]["data"],
        json!({"f": null, "ms": "1970-01-01T00:00:01.500", "m": {"k": 7}, "_ab_source_file_url": "file.csv"})
    );
    assert_eq!(rows[1]["record"]["data"]["m"], Value::Null);
}

#[test]
fn json_records_decode_into_batches() {
    let schema = common::every_type_schema();
    let mut dec = JsonRecordDecoder::new(schema.clone(), 100).unwrap();
    dec.push(br#"{"id": 5, "name": "x", "ts": "2024-01-01T00:00:00Z", "day": "2024-01-02", "amount": 1.25, "obj": {"a": 1}, "tags": [1], "blob": "AP8=", "extra": {"ignored": true}}"#).unwrap();
    dec.push(br#"{"id": null, "name": {"nested": [1, "two"]}, "score": 3}"#)
        .unwrap();
    assert_eq!(dec.buffered_rows(), 2);
    let b = dec.flush().unwrap().unwrap();
    assert_eq!(b.num_rows(), 2);
    assert_eq!(b.column(0).as_primitive::<Int64Type>().value(0), 5);
    assert!(b.column(0).is_null(1));
    // An object in a string column is kept as JSON text.
    assert_eq!(b.column(2).as_string::<i32>().value(1), r#"{"nested":[1,"two"]}"#);
    assert_eq!(b.column(1).as_primitive::<Float64Type>().value(1), 3.0);
    assert_eq!(
        b.column(5).as_primitive::<TimestampMicrosecondType>().value(0),
        1_704_067_200_000_000
    );
    assert_eq!(b.column(4).as_primitive::<Date32Type>().value(0), 19_724);
    assert_eq!(b.column(6).as_primitive::<Decimal128Type>().value(0), 125);
    assert_eq!(b.column(9).as_binary::<i32>().value(0), b"\x00\xff");
    // A record that does not fit.
    assert!(dec.push(br#"{"id": "not a number"}"#).is_err() || dec.flush().is_err());
}

#[test]
fn record_fits_detects_widening() {
    let schema = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
    assert!(record_fits(&json!({"a": 1}), &schema));
    assert!(record_fits(&json!({"a": null}), &schema));
    assert!(!record_fits(&json!({"a": 1.5}), &schema));
    assert!(!record_fits(&json!({"b": 1}), &schema));
}

#[test]
fn dictionary_columns_serialize_as_values() {
    let dict: DictionaryArray<Int32Type> = vec![Some("a"), None, Some("b"), Some("a")].into_iter().collect();
    let schema = Arc::new(Schema::new(vec![Field::new("d", dict.data_type().clone(), true)]));
    let batch = RecordBatch::try_new(schema, vec![Arc::new(dict)]).unwrap();
    let mut out = Vec::new();
    RecordSerializer::new("s", None, 0)
        .write_batch(&batch, &mut out)
        .unwrap();
    let vals: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"]["data"]["d"].clone())
        .collect();
    assert_eq!(vals, vec![json!("a"), Value::Null, json!("b"), json!("a")]);
}

#[test]
fn record_lines_decode_back_into_the_batch() {
    let batch = common::every_type();
    let mut lines = Vec::new();
    RecordSerializer::new("s", Some("ns"), 9)
        .write_batch(&batch, &mut lines)
        .unwrap();
    let mut dec = lakeport_core::records::RecordLineDecoder::new(batch.schema(), 1000).unwrap();
    for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        dec.push(line).unwrap();
    }
    let back = dec.flush().unwrap().unwrap();
    assert_eq!(back, batch);
}

#[test]
fn values_emitted_as_null_for_not_fitting_the_schema_are_noted_in_meta_changes() {
    use lakeport_core::formats::{read_stream, FileFormat, OnBadRecord, ReadOptions};
    let target = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let opts = ReadOptions {
        on_bad_record: OnBadRecord::Emit,
        ..ReadOptions::default()
    };
    // (JSON values the decoder itself rejects still fail: see `OnBadRecord::Emit`.)
    for (format, data) in [
        (FileFormat::Csv, "n,s\n1,a\nx,b\n3,c\n"),
        (FileFormat::Tsv, "n\ts\n1\ta\nx\tb\n3\tc\n"),
    ] {
        let input: Box<dyn std::io::Read + Send> = Box::new(std::io::Cursor::new(data.as_bytes().to_vec()));
        let reader = read_stream("f", input, format, &opts, Some(target.clone())).unwrap();
        let ser = RecordSerializer::new("t", None, 0);
        let mut out = Vec::new();
        for batch in reader {
            ser.write_batch(&batch.unwrap(), &mut out).unwrap();
        }
        let rows: Vec<Value> = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), 3, "{format}: every record emitted");
        assert_eq!(rows[1]["record"]["data"], json!({"n": null, "s": "b"}), "{format}");
        assert_eq!(
            rows[1]["record"]["meta"],
            json!({"changes": [{"field": "n", "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}]}),
            "{format}"
        );
        assert!(rows[0]["record"].get("meta").is_none(), "{format}: {}", rows[0]);
        assert_eq!(rows[2]["record"]["data"], json!({"n": 3, "s": "c"}), "{format}");
    }
}

#[test]
fn record_lines_exact_text_for_ranges_extra_fields_and_both_kinds_of_nulled_values() {
    use lakeport_core::records::{NulledValues, NULLED_FIELDS_COLUMN};
    let mut nulled_col = ListBuilder::new(StringBuilder::new());
    nulled_col.append_null();
    nulled_col.values().append_value("n");
    nulled_col.append(true);
    nulled_col.append_null();
    let batch = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("x", DataType::Float64, true),
            Field::new("n", DataType::Int64, true),
            Field::new(
                NULLED_FIELDS_COLUMN,
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                true,
            ),
        ])),
        vec![
            Arc::new(Float64Array::from(vec![f64::NAN, 1.0, f64::INFINITY])),
            Arc::new(Int64Array::from(vec![Some(1), None, Some(3)])),
            Arc::new(nulled_col.finish()),
        ],
    )
    .unwrap();
    let mut ser = RecordSerializer::new("s\"1", None, 5);
    assert_eq!((ser.stream(), ser.namespace()), ("s\"1", None));
    ser.set_emitted_at(-7);
    let mut out = Vec::new();
    let mut nulled = NulledValues::default();
    ser.write_rows_noting(&batch, 0, 10, &mut out, &mut nulled).unwrap();
    let change = |f: &str| format!(r#"{{"field":"{f}","change":"NULLED","reason":"SOURCE_SERIALIZATION_ERROR"}}"#);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            concat!(
                r#"{{"type":"RECORD","record":{{"stream":"s\"1","data":{{"x":null,"n":1}},"emitted_at":-7,"meta":{{"changes":[{}]}}}}}}"#,
                "\n",
                r#"{{"type":"RECORD","record":{{"stream":"s\"1","data":{{"x":1.0,"n":null}},"emitted_at":-7,"meta":{{"changes":[{}]}}}}}}"#,
                "\n",
                r#"{{"type":"RECORD","record":{{"stream":"s\"1","data":{{"x":null,"n":3}},"emitted_at":-7,"meta":{{"changes":[{}]}}}}}}"#,
                "\n"
            ),
            change("x"),
            change("n"),
            change("x")
        )
    );
    assert_eq!(
        nulled.take_warnings("f").len(),
        1,
        "only NaN/infinity values are counted"
    );

    // Rows 1..2 only, every column replaced by the extra fields: no leading comma.
    let only_extra = RecordSerializer::new("s", Some("ns"), 1).with_extra_fields(&[
        ("x", json!("u")),
        ("n", json!(2)),
        (NULLED_FIELDS_COLUMN, json!(null)),
    ]);
    let plain = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("x", DataType::Int32, true)])),
        vec![Arc::new(Int32Array::from(vec![1, 2, 3]))],
    )
    .unwrap();
    let mut out = Vec::new();
    only_extra.write_rows(&plain, 1, 2, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        concat!(
            r#"{"type":"RECORD","record":{"namespace":"ns","stream":"s","data":{"x":"u","n":2,"_lakeport_nulled_fields":null},"emitted_at":1}}"#,
            "\n"
        )
    );
}
