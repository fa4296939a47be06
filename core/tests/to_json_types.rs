//! Every Arrow type the RECORD/JSON encoders write, with the exact JSON text expected:
//! times of each unit, durations, intervals, decimals of several scales, binaries,
//! dictionaries, lists, structs, maps, and nulls inside nested values.

use std::sync::Arc;

use arrow::array::*;
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::*;
use lakeport_core::records::{array_to_json_strings, write_value, RowEncoder};

type F16 = <Float16Type as ArrowPrimitiveType>::Native;

/// The JSON text of every row of `array` (`None` for a null row).
fn texts(array: &dyn Array) -> Vec<Option<String>> {
    let s = array_to_json_strings(array).unwrap();
    (0..s.len())
        .map(|i| s.is_valid(i).then(|| s.value(i).to_string()))
        .collect()
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

#[test]
fn times_of_day_in_each_unit() {
    let a = Time32SecondArray::from(vec![0, 3_661, 86_399]);
    assert_eq!(texts(&a), some(&["\"00:00:00\"", "\"01:01:01\"", "\"23:59:59\""]));
    let a = Time32MillisecondArray::from(vec![1, 45_296_789]);
    assert_eq!(texts(&a), some(&["\"00:00:00.001\"", "\"12:34:56.789\""]));
    let a = Time64MicrosecondArray::from(vec![1, 45_296_789_012]);
    assert_eq!(texts(&a), some(&["\"00:00:00.000001\"", "\"12:34:56.789012\""]));
    let a = Time64NanosecondArray::from(vec![1, 45_296_789_012_345]);
    assert_eq!(texts(&a), some(&["\"00:00:00.000000001\"", "\"12:34:56.789012345\""]));
    let a = Time64NanosecondArray::from(vec![Some(5), None]);
    assert_eq!(texts(&a), vec![Some("\"00:00:00.000000005\"".to_string()), None]);
}

#[test]
fn integers_floats_and_booleans() {
    assert_eq!(texts(&Int8Array::from(vec![-128, 127])), some(&["-128", "127"]));
    assert_eq!(texts(&Int16Array::from(vec![-32768])), some(&["-32768"]));
    assert_eq!(texts(&UInt8Array::from(vec![255])), some(&["255"]));
    assert_eq!(texts(&UInt16Array::from(vec![65535])), some(&["65535"]));
    assert_eq!(texts(&UInt32Array::from(vec![u32::MAX])), some(&["4294967295"]));
    assert_eq!(
        texts(&UInt64Array::from(vec![u64::MAX])),
        some(&["18446744073709551615"])
    );
    let h = Float16Array::from(vec![F16::from_f32(1.5), F16::INFINITY]);
    assert_eq!(texts(&h), some(&["1.5", "null"]));
    let f = Float32Array::from(vec![0.25f32, f32::NAN]);
    assert_eq!(texts(&f), some(&["0.25", "null"]));
    assert_eq!(texts(&BooleanArray::from(vec![true, false])), some(&["true", "false"]));
    // A Null column has no validity buffer: every row is written as JSON null.
    assert_eq!(texts(&NullArray::new(2)), some(&["null", "null"]));
}

#[test]
fn dates_and_timestamps_of_each_unit() {
    let d = Date64Array::from(vec![86_400_000, -1]);
    assert_eq!(texts(&d), some(&["\"1970-01-02\"", "\"1969-12-31\""]));
    let s = TimestampSecondArray::from(vec![1_700_000_000]);
    assert_eq!(texts(&s), some(&["\"2023-11-14T22:13:20\""]));
    let ms = TimestampMillisecondArray::from(vec![1_700_000_000_123]).with_timezone("UTC");
    assert_eq!(texts(&ms), some(&["\"2023-11-14T22:13:20.123Z\""]));
    let us = TimestampMicrosecondArray::from(vec![-1]);
    assert_eq!(texts(&us), some(&["\"1969-12-31T23:59:59.999999\""]));
    let ns = TimestampNanosecondArray::from(vec![Some(1_000_000_001), None]).with_timezone("+02:00");
    assert_eq!(
        texts(&ns),
        vec![Some("\"1970-01-01T00:00:01.000000001Z\"".to_string()), None]
    );
    // Years outside four digits use the ISO 8601 expanded form.
    let far = Date32Array::from(vec![3_000_000, -800_000]);
    assert_eq!(texts(&far), some(&["\"+010183-09-21\"", "\"-000221-09-04\""]));
}

#[test]
fn decimals_of_several_scales_including_negative() {
    let a = Decimal128Array::from(vec![12_345, -12_345, -5, 0])
        .with_precision_and_scale(10, 2)
        .unwrap();
    assert_eq!(texts(&a), some(&["123.45", "-123.45", "-0.05", "0.00"]));
    let a = Decimal128Array::from(vec![7, -7])
        .with_precision_and_scale(10, -3)
        .unwrap();
    assert_eq!(texts(&a), some(&["7000", "-7000"]));
    let a = Decimal128Array::from(vec![42]).with_precision_and_scale(10, 0).unwrap();
    assert_eq!(texts(&a), some(&["42"]));
    let a = Decimal256Array::from(vec![i256::from_i128(-123_456), i256::from_i128(5), i256::ZERO])
        .with_precision_and_scale(40, 4)
        .unwrap();
    assert_eq!(texts(&a), some(&["-12.3456", "0.0005", "0.0000"]));
    let a = Decimal256Array::from(vec![i256::from_i128(12), i256::ZERO])
        .with_precision_and_scale(40, -2)
        .unwrap();
    assert_eq!(texts(&a), some(&["1200", "0"]));
    let a = Decimal64Array::from(vec![-1_005])
        .with_precision_and_scale(12, 3)
        .unwrap();
    assert_eq!(texts(&a), some(&["-1.005"]));
    let a = Decimal32Array::from(vec![99]).with_precision_and_scale(5, 1).unwrap();
    assert_eq!(texts(&a), some(&["9.9"]));
}

#[test]
fn strings_and_binaries_of_every_width() {
    assert_eq!(texts(&LargeStringArray::from(vec!["a\"b"])), some(&["\"a\\\"b\""]));
    assert_eq!(
        texts(&StringViewArray::from(vec!["tab\there"])),
        some(&["\"tab\\there\""])
    );
    assert_eq!(texts(&BinaryArray::from(vec![b"hi!".as_ref()])), some(&["\"aGkh\""]));
    assert_eq!(
        texts(&LargeBinaryArray::from(vec![b"\x00\xff".as_ref()])),
        some(&["\"AP8=\""])
    );
    assert_eq!(
        texts(&BinaryViewArray::from(vec![b"abcd".as_ref()])),
        some(&["\"YWJjZA==\""])
    );
    let f = FixedSizeBinaryArray::try_from_iter(vec![b"ab".to_vec(), b"cd".to_vec()].into_iter()).unwrap();
    assert_eq!(texts(&f), some(&["\"YWI=\"", "\"Y2Q=\""]));
}

#[test]
fn durations_and_intervals_as_their_display_text() {
    let d = DurationSecondArray::from(vec![90]);
    let ms = DurationMillisecondArray::from(vec![1_500]);
    let us = DurationMicrosecondArray::from(vec![2]);
    let ns = DurationNanosecondArray::from(vec![Some(3), None]);
    assert_eq!(texts(&d), some(&["\"PT90S\""]));
    assert_eq!(texts(&ms), some(&["\"PT1.5S\""]));
    assert_eq!(texts(&us), some(&["\"PT0.000002S\""]));
    assert_eq!(texts(&ns), vec![Some("\"PT0.000000003S\"".to_string()), None]);
    let ym = IntervalYearMonthArray::from(vec![14]);
    assert_eq!(texts(&ym), some(&["\"1 years 2 mons\""]));
    let dt = IntervalDayTimeArray::from(vec![IntervalDayTime::new(3, 1_500)]);
    assert_eq!(texts(&dt), some(&["\"3 days 1.500 secs\""]));
    let mdn = IntervalMonthDayNanoArray::from(vec![IntervalMonthDayNano::new(1, 2, 3_000_000_000)]);
    assert_eq!(texts(&mdn), some(&["\"1 mons 2 days 3.000000000 secs\""]));
}

#[test]
fn dictionaries_write_their_values() {
    let d: DictionaryArray<Int32Type> = vec![Some("x"), None, Some("y"), Some("x")].into_iter().collect();
    assert_eq!(
        texts(&d),
        vec![
            Some("\"x\"".to_string()),
            None,
            Some("\"y\"".to_string()),
            Some("\"x\"".to_string())
        ]
    );
    let mut out = Vec::new();
    write_value(&d, 2, &mut out).unwrap();
    assert_eq!(out, b"\"y\"");
}

#[test]
fn lists_of_each_kind_with_nulls_inside() {
    let l =
        ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![Some(1), None, Some(3)]), Some(vec![]), None]);
    assert_eq!(
        texts(&l),
        vec![Some("[1,null,3]".to_string()), Some("[]".to_string()), None]
    );
    let l = LargeListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(-1), Some(2)])]);
    assert_eq!(texts(&l), some(&["[-1,2]"]));
    let l = FixedSizeListArray::from_iter_primitive::<Int32Type, _, _>(
        vec![Some(vec![Some(1), Some(2)]), Some(vec![None, Some(4)])],
        2,
    );
    assert_eq!(texts(&l), some(&["[1,2]", "[null,4]"]));
}

#[test]
fn structs_and_maps_with_nulls_inside() {
    let s = StructArray::from(vec![
        (
            Arc::new(Field::new("a", DataType::Int32, true)),
            Arc::new(Int32Array::from(vec![Some(1), None])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("b\"q", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec![Some("x"), Some("y")])) as ArrayRef,
        ),
    ]);
    assert_eq!(
        texts(&s),
        some(&["{\"a\":1,\"b\\\"q\":\"x\"}", "{\"a\":null,\"b\\\"q\":\"y\"}"])
    );

    let keys = StringArray::from(vec!["k1", "k2", "k3"]);
    let values = Int64Array::from(vec![Some(10), None, Some(30)]);
    let entries = StructArray::from(vec![
        (
            Arc::new(Field::new("keys", DataType::Utf8, false)),
            Arc::new(keys) as ArrayRef,
        ),
        (
            Arc::new(Field::new("values", DataType::Int64, true)),
            Arc::new(values) as ArrayRef,
        ),
    ]);
    let entries_field = Arc::new(Field::new("entries", entries.data_type().clone(), false));
    let map = MapArray::new(
        entries_field,
        OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 2, 2, 3])),
        entries,
        Some(vec![true, true, false].into()),
        false,
    );
    assert_eq!(
        texts(&map),
        vec![
            Some("{\"k1\":10,\"k2\":null}".to_string()),
            Some("{}".to_string()),
            None
        ]
    );

    // Integer map keys are written as strings (JSON object keys).
    let entries = StructArray::from(vec![
        (
            Arc::new(Field::new("keys", DataType::Int32, false)),
            Arc::new(Int32Array::from(vec![7])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("values", DataType::Boolean, true)),
            Arc::new(BooleanArray::from(vec![true])) as ArrayRef,
        ),
    ]);
    let entries_field = Arc::new(Field::new("entries", entries.data_type().clone(), false));
    let map = MapArray::new(
        entries_field,
        OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 1])),
        entries,
        None,
        false,
    );
    assert_eq!(texts(&map), some(&["{\"7\":true}"]));
}

#[test]
fn row_encoder_skips_columns_and_writes_json_text_columns_raw() {
    let json_meta = lakeport_core::schema::json_field("j", &serde_json::json!({"type": "object"}));
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int32, false),
        json_meta,
        Field::new("drop", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![1, 2, 3])),
            Arc::new(StringArray::from(vec![Some("{\"x\":[1,2]}"), Some("not json"), None])),
            Arc::new(StringArray::from(vec!["a", "b", "c"])),
        ],
    )
    .unwrap();
    let enc = RowEncoder::new(&batch, &["drop".to_string()]).unwrap();
    assert!(!enc.is_empty());
    let mut out = Vec::new();
    for i in 0..3 {
        enc.write_object(i, &mut out);
        out.push(b'\n');
    }
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"id\":1,\"j\":{\"x\":[1,2]}}\n{\"id\":2,\"j\":\"not json\"}\n{\"id\":3,\"j\":null}\n"
    );
    let all_skipped = RowEncoder::new(&batch, &["id".into(), "j".into(), "drop".into()]).unwrap();
    assert!(all_skipped.is_empty());
}

#[test]
fn non_finite_floats_are_found_at_any_depth() {
    use lakeport_core::records::{unrepresentable_rows, NulledValues};
    let fin = Float64Array::from(vec![1.0, 2.0]);
    assert_eq!(unrepresentable_rows(&fin), None);
    assert_eq!(unrepresentable_rows(&Int64Array::from(vec![1])), None);
    // A NaN under a null row does not count.
    let f = Float64Array::from(vec![Some(f64::NAN), None, Some(1.0), Some(f64::NEG_INFINITY)]);
    assert_eq!(unrepresentable_rows(&f), Some(vec![true, false, false, true]));
    let f32s = Float32Array::from(vec![1.0, f32::INFINITY]);
    assert_eq!(unrepresentable_rows(&f32s), Some(vec![false, true]));
    let h = Float16Array::from(vec![F16::NAN, F16::from_f32(1.0)]);
    assert_eq!(unrepresentable_rows(&h), Some(vec![true, false]));
    let l = ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![Some(1.0)]),
        Some(vec![Some(2.0), Some(f64::NAN)]),
        None,
    ]);
    assert_eq!(unrepresentable_rows(&l), Some(vec![false, true, false]));
    assert_eq!(
        texts(&l),
        vec![Some("[1.0]".to_string()), Some("[2.0,null]".to_string()), None]
    );
    let ll = LargeListArray::from_iter_primitive::<Float32Type, _, _>(vec![Some(vec![Some(f32::NAN)]), Some(vec![])]);
    assert_eq!(unrepresentable_rows(&ll), Some(vec![true, false]));
    let fl = FixedSizeListArray::from_iter_primitive::<Float64Type, _, _>(
        vec![
            Some(vec![Some(0.0), Some(1.0)]),
            Some(vec![Some(f64::INFINITY), Some(1.0)]),
        ],
        2,
    );
    assert_eq!(unrepresentable_rows(&fl), Some(vec![false, true]));
    let s = StructArray::from(vec![
        (
            Arc::new(Field::new("name", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("x", DataType::Float64, true)),
            Arc::new(Float64Array::from(vec![f64::NAN, 0.5])) as ArrayRef,
        ),
    ]);
    assert_eq!(unrepresentable_rows(&s), Some(vec![true, false]));
    let finite_struct = StructArray::from(vec![(
        Arc::new(Field::new("x", DataType::Float64, true)),
        Arc::new(Float64Array::from(vec![0.5])) as ArrayRef,
    )]);
    assert_eq!(unrepresentable_rows(&finite_struct), None);
    let entries = StructArray::from(vec![
        (
            Arc::new(Field::new("keys", DataType::Utf8, false)),
            Arc::new(StringArray::from(vec!["k", "k"])) as ArrayRef,
        ),
        (
            Arc::new(Field::new("values", DataType::Float64, true)),
            Arc::new(Float64Array::from(vec![1.0, f64::NAN])) as ArrayRef,
        ),
    ]);
    let entries_field = Arc::new(Field::new("entries", entries.data_type().clone(), false));
    let map = MapArray::new(
        entries_field,
        OffsetBuffer::new(ScalarBuffer::from(vec![0i32, 1, 2])),
        entries,
        None,
        false,
    );
    assert_eq!(unrepresentable_rows(&map), Some(vec![false, true]));

    let mut n = NulledValues::default();
    assert!(n.is_empty());
    n.add("x", 2);
    n.add("y", 1);
    n.add("x", 3);
    assert_eq!(
        n.take_warnings("f.parquet"),
        vec![
            "f.parquet: 5 value(s) of column 'x' are NaN or infinite, which JSON cannot hold; they were emitted as null, each record noting it in meta.changes",
            "f.parquet: 1 value(s) of column 'y' are NaN or infinite, which JSON cannot hold; they were emitted as null, each record noting it in meta.changes",
        ]
    );
    assert!(n.is_empty(), "the counts start again");
}

#[test]
fn decimal_digits_are_written_exactly() {
    use lakeport_core::records::write_decimal_digits;
    let cases = [
        ("12345", 2, "123.45"),
        ("-12345", 2, "-123.45"),
        ("5", 3, "0.005"),
        ("-5", 3, "-0.005"),
        ("123", 3, "0.123"),
        ("42", 0, "42"),
        ("42", -3, "42000"),
        ("0", -3, "0"),
        ("-7", -1, "-70"),
        (
            "123456789012345678901234567890123456789012",
            40,
            "12.3456789012345678901234567890123456789012",
        ),
    ];
    for (digits, scale, expected) in cases {
        let mut out = Vec::new();
        write_decimal_digits(&mut out, digits, scale);
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{digits} scale {scale}");
    }
}

#[test]
fn times_before_midnight_wrap_and_nested_dictionaries_write_values() {
    // A negative time of day (out of range, but storable) wraps onto the clock.
    assert_eq!(texts(&Time32SecondArray::from(vec![-1])), some(&["\"23:59:59\""]));
    assert_eq!(
        texts(&Time64MicrosecondArray::from(vec![-1])),
        some(&["\"23:59:59.999999\""])
    );
    let dict: DictionaryArray<Int8Type> = vec![Some("a"), None].into_iter().collect();
    let s = StructArray::from(vec![(
        Arc::new(Field::new("d", dict.data_type().clone(), true)),
        Arc::new(dict) as ArrayRef,
    )]);
    assert_eq!(texts(&s), some(&["{\"d\":\"a\"}", "{\"d\":null}"]));
}
