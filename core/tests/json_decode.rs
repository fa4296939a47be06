//! JSON → Arrow with the lenient decoders, exact: any JSON value into a string column (as
//! its JSON text), JSON-value columns, base64 binaries, timestamps from strings (expanded
//! years included) and numbers — from JSON text and from serialized values; and whether a
//! value fits a column type.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use lakeport_core::records::{json_reader_builder, record_fits, value_fits};
use serde_json::json;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("s", DataType::Utf8, true),
        lakeport_core::schema::json_field("j", &json!({"type": ["string", "object"]})),
        Field::new("b", DataType::Binary, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("tn", DataType::Timestamp(TimeUnit::Millisecond, None), true),
    ]))
}

fn strings(a: &ArrayRef) -> Vec<Option<String>> {
    a.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
}

const ROWS: &str = r#"{"s": {"k": [1, -2.5e3, true, false, null, "x\"y"], "e": {}}, "j": "plain", "b": "aGk=", "ts": "2024-01-01T00:00:00Z", "tn": 1500}
{"s": 12, "j": {"a": [1, {"b": null}]}, "b": null, "ts": "+012024-01-01T00:00:00.5+01:00", "tn": "1970-01-01T00:00:02"}
{"s": true, "j": 3.25, "ts": 1700000000000000, "tn": null}
{"s": false, "j": [], "ts": null, "tn": 2.9}
{"s": null, "j": null, "b": "", "ts": "-000001-12-31T23:59:59.123456789Z"}
{"s": [[]], "j": true}
"#;

#[test]
fn json_text_decodes_leniently_and_exactly() {
    let mut d = json_reader_builder(schema(), 100).build_decoder().unwrap();
    d.decode(ROWS.as_bytes()).unwrap();
    let batch = d.flush().unwrap().unwrap();
    assert_eq!(
        strings(batch.column(0)),
        vec![
            Some(r#"{"k":[1,-2.5e3,true,false,null,"x\"y"],"e":{}}"#.to_string()),
            Some("12".into()),
            Some("true".into()),
            Some("false".into()),
            None,
            Some("[[]]".into()),
        ]
    );
    assert_eq!(
        strings(batch.column(1)),
        vec![
            Some(r#""plain""#.to_string()),
            Some(r#"{"a":[1,{"b":null}]}"#.into()),
            Some("3.25".into()),
            Some("[]".into()),
            None,
            Some("true".into()),
        ]
    );
    let b = batch.column(2).as_binary::<i32>();
    assert_eq!(
        b.iter().collect::<Vec<_>>(),
        vec![Some(b"hi".as_ref()), None, None, None, Some(b"".as_ref()), None]
    );
    let ts = batch.column(3).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(
        ts.iter().collect::<Vec<_>>(),
        vec![
            Some(1_704_067_200_000_000),
            // Midnight of 12024-01-01 at +01:00 is 23:00 UTC the day before: 3,672,148 days
            // after the epoch, less an hour, and half a second.
            Some((3_672_148 * 86_400 - 3_600) * 1_000_000 + 500_000),
            Some(1_700_000_000_000_000),
            None,
            Some(-62_167_219_200_876_544),
            None,
        ]
    );
    let tn = batch.column(4).as_primitive::<TimestampMillisecondType>();
    assert_eq!(
        tn.iter().collect::<Vec<_>>(),
        vec![Some(1_500), Some(2_000), None, Some(2), None, None]
    );
}

#[test]
fn serialized_values_decode_like_their_text() {
    let rows = vec![
        json!({"s": {"i": 7, "big": 1_i64 << 40, "neg": -(1_i64 << 40), "f": 0.5, "t": true, "n": null, "l": ["a"]}, "j": {"x": 1}, "ts": 1_i64 << 40, "tn": 5}),
        json!({"s": 1.25, "j": -3, "ts": "1970-01-01T00:00:01Z"}),
    ];
    let mut d = json_reader_builder(schema(), 10).build_decoder().unwrap();
    d.serialize(&rows).unwrap();
    let batch = d.flush().unwrap().unwrap();
    assert_eq!(
        strings(batch.column(0)),
        vec![
            Some(r#"{"i":7,"big":1099511627776,"neg":-1099511627776,"f":0.5,"t":true,"n":null,"l":["a"]}"#.to_string()),
            Some("1.25".into()),
        ]
    );
    assert_eq!(
        strings(batch.column(1)),
        vec![Some(r#"{"x":1}"#.to_string()), Some("-3".into())]
    );
    let ts = batch.column(3).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(ts.iter().collect::<Vec<_>>(), vec![Some(1 << 40), Some(1_000_000)]);
    let tn = batch.column(4).as_primitive::<TimestampMillisecondType>();
    assert_eq!(tn.iter().collect::<Vec<_>>(), vec![Some(5), None]);
}

#[test]
fn undecodable_values_are_errors_naming_them() {
    let decode = |row: &str| {
        let mut d = json_reader_builder(schema(), 10).build_decoder().unwrap();
        d.decode(row.as_bytes())
            .and_then(|_| d.flush())
            .unwrap_err()
            .to_string()
    };
    let e = decode(r#"{"b": "not base64!"}"#);
    assert!(e.contains("invalid base64 value"), "{e}");
    let e = decode(r#"{"b": 12}"#);
    assert!(e.contains("base64 string"), "{e}");
    let e = decode(r#"{"ts": "yesterday"}"#);
    assert!(e.contains("failed to parse \"yesterday\" as Timestamp"), "{e}");
    let e = decode(r#"{"ts": true}"#);
    assert!(e.contains("timestamp"), "{e}");
    let e = decode(r#"{"ts": "+999999999-01-01T00:00:00Z"}"#);
    assert!(e.contains("out of the range of a 64-bit timestamp at this unit"), "{e}");
    // Not an expanded year: handed to Arrow's parser, which refuses it.
    for bad in [
        "+2024-13-01T00:00:00Z",
        "+002024-01-01T00:00:00.Z",
        "+002024-01-01T00:00:00+0100",
        "+002024-01-01",
    ] {
        let e = decode(&format!(r#"{{"ts": "{bad}"}}"#));
        assert!(e.contains(&format!("failed to parse \"{bad}\"")), "{bad}: {e}");
    }
}

#[test]
fn values_fit_their_column_types_without_widening() {
    use DataType::*;
    let list = List(Arc::new(Field::new_list_field(Int64, true)));
    let strukt = Struct(Fields::from(vec![Field::new("a", Int64, true)]));
    let map = lakeport_core::schema::map_type(Boolean);
    let fits = [
        (json!(null), Int64),
        (json!({"x": 1}), Utf8),
        (json!(1), LargeUtf8),
        (json!(true), Boolean),
        (json!(-3), Int32),
        (json!(1.5), Float64),
        (json!(2), Decimal128(10, 2)),
        (json!("2024-02-29"), Date32),
        (json!("2024-02-29T10:00:00Z"), Timestamp(TimeUnit::Microsecond, None)),
        (json!("aGk="), Binary),
        (json!({"a": 1}), strukt.clone()),
        (json!([1, null, 3]), list.clone()),
        (json!({"k": true, "l": null}), map.clone()),
    ];
    for (v, t) in &fits {
        assert!(value_fits(v, t), "{v} in {t}");
    }
    let misfits = [
        (json!(1.5), Int64),
        (json!(u64::MAX), Int64),
        (json!("1"), Int64),
        (json!(1), Boolean),
        (json!("2024-02-30"), Date32),
        (json!("soon"), Timestamp(TimeUnit::Microsecond, None)),
        (json!({"b": 1}), strukt.clone()),
        (json!({"a": "x"}), strukt),
        (json!([1, 2.5]), list),
        (json!({"k": 1}), map),
        (json!(1), Time32(TimeUnit::Second)),
    ];
    for (v, t) in &misfits {
        assert!(!value_fits(v, t), "{v} in {t}");
    }
    let schema = Schema::new(vec![Field::new("a", Int64, true)]);
    assert!(!record_fits(&json!([1]), &schema), "a record is an object");
}

#[test]
fn text_fits_agrees_with_record_fits_or_is_stricter() {
    use lakeport_core::records::TextFits;
    use DataType::*;
    let schema = Schema::new(vec![
        Field::new("i", Int64, true),
        Field::new("f", Float64, true),
        Field::new("b", Boolean, true),
        Field::new("s", Utf8, true),
        Field::new("d", Date32, true),
        Field::new("t", Timestamp(TimeUnit::Microsecond, None), true),
        Field::new("bin", Binary, true),
        Field::new("o", Struct(Fields::from(vec![Field::new("a", Int64, true)])), true),
        Field::new("l", List(Arc::new(Field::new_list_field(Int64, true))), true),
        Field::new("m", lakeport_core::schema::map_type(Boolean), true),
    ]);
    let fits = TextFits::new(&schema);
    let cases = [
        (r#"{"i": 1, "f": 2, "b": true, "s": "x", "d": "2024-01-01"}"#, true),
        (
            r#"{"t": "2024-01-01T00:00:00Z", "bin": "aGk=", "s": {"any": [1]}}"#,
            true,
        ),
        (
            r#"{"o": {"a": 1}, "l": [1, null, 2], "m": {"x": true, "y": null}}"#,
            true,
        ),
        (r#"{"i": 18446744073709551615}"#, false),
        (r#"{"f": 18446744073709551615}"#, true),
        (r#"{"i": 1.5}"#, false),
        (r#"{"b": 1}"#, false),
        (r#"{"d": "2024-02-30"}"#, false),
        (r#"{"t": "later"}"#, false),
        (r#"{"bin": 3}"#, false),
        (r#"{"o": {"z": 1}}"#, false),
        (r#"{"o": {"a": "x"}}"#, false),
        (r#"{"o": [1]}"#, false),
        (r#"{"l": [1.5]}"#, false),
        (r#"{"l": {"a": 1}}"#, false),
        (r#"{"m": {"x": 1}}"#, false),
        (r#"{"unknown": 1}"#, false),
        (r#"{"o": {"a": 1}, "unknown": {}}"#, false),
        (r#"[1]"#, false),
        (r#"{"i": null, "o": null, "l": null}"#, true),
    ];
    for (text, expected) in cases {
        assert_eq!(fits.fits(text), expected, "{text}");
        let parsed: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(record_fits(&parsed, &schema), expected, "record_fits agrees on {text}");
    }
    // Stricter than the parsed check: repeated keys (at the top and inside), invalid JSON.
    for text in [
        r#"{"i": 1, "i": 2}"#,
        r#"{"o": {"a": 1}, "o": null}"#,
        r#"{"o": {"a": 1, "a": 2}}"#,
        r#"{"m": {"x": true, "x": false}}"#,
        r#"{"i": 1"#,
        r#"{"i": 1} trailing"#,
        "",
    ] {
        assert!(!fits.fits(text), "{text}");
    }
}
