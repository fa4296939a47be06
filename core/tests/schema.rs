//! Arrow ⇄ JSON Schema and merging across files.

mod common;

use std::sync::Arc;

use arrow::datatypes::*;
use lakeport_core::schema::{self, arrow_to_json_schema, json_schema_to_arrow, merge};
use serde_json::json;

#[test]
fn arrow_to_json_schema_follows_airbyte_conventions() {
    let s = arrow_to_json_schema(&common::every_type_schema());
    let p = &s["properties"];
    assert_eq!(s["type"], "object");
    assert_eq!(p["id"], json!({"type": ["null", "integer"]}));
    assert_eq!(p["score"], json!({"type": ["null", "number"]}));
    // A decimal says its precision and scale, for a destination to keep every digit.
    assert_eq!(
        p["amount"],
        json!({"type": ["null", "number"], "decimal_precision": 10, "decimal_scale": 2})
    );
    assert_eq!(p["flag"], json!({"type": ["null", "boolean"]}));
    assert_eq!(p["name"], json!({"type": ["null", "string"]}));
    assert_eq!(p["day"], json!({"type": ["null", "string"], "format": "date"}));
    assert_eq!(
        p["ts"],
        json!({"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"})
    );
    assert_eq!(p["obj"]["type"], json!(["null", "object"]));
    assert_eq!(p["obj"]["properties"]["a"], json!({"type": ["null", "integer"]}));
    assert_eq!(
        p["tags"],
        json!({"type": ["null", "array"], "items": {"type": ["null", "integer"]}})
    );
    assert_eq!(p["blob"]["type"], json!(["null", "string"]));
    let naive = schema::data_type_to_json_schema(&DataType::Timestamp(TimeUnit::Millisecond, None));
    assert_eq!(naive["airbyte_type"], "timestamp_without_timezone");
    assert_eq!(naive.get("timestamp_precision"), None);
    let nanos = schema::data_type_to_json_schema(&DataType::Timestamp(TimeUnit::Nanosecond, None));
    assert_eq!(
        nanos,
        json!({"type": ["null", "string"], "format": "date-time",
               "airbyte_type": "timestamp_without_timezone", "timestamp_precision": "nanoseconds"})
    );
}

#[test]
fn json_schema_to_arrow_and_back() {
    let js = json!({
        "type": "object",
        "properties": {
            "i": {"type": ["null", "integer"]},
            "n": {"type": "number"},
            "n_int": {"type": "number", "airbyte_type": "integer"},
            "b": {"type": ["boolean", "null"]},
            "s": {"type": "string"},
            "d": {"type": "string", "format": "date"},
            "t": {"type": ["null", "string"], "format": "date-time"},
            "o": {"type": "object", "properties": {"x": {"type": "integer"}}},
            "o_free": {"type": "object"},
            "a": {"type": "array", "items": {"type": "string"}},
            "a_free": {"type": "array"},
            "mixed": {"type": ["string", "integer"]},
            "any": {},
            "dec": {"type": ["null", "number"], "decimal_precision": 20, "decimal_scale": 4},
            "dec_big": {"type": "number", "decimal_precision": 76, "decimal_scale": 10},
            "dec_huge": {"type": "number", "decimal_precision": 77, "decimal_scale": 0},
            "t_ns": {"type": "string", "format": "date-time", "timestamp_precision": "nanoseconds"},
            "naive_ns": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone",
                         "timestamp_precision": "nanoseconds"}
        }
    });
    let s = json_schema_to_arrow(&js).unwrap();
    let t = |n: &str| s.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(t("i"), DataType::Int64);
    assert_eq!(t("n"), DataType::Float64);
    assert_eq!(t("n_int"), DataType::Int64);
    assert_eq!(t("b"), DataType::Boolean);
    assert_eq!(t("s"), DataType::Utf8);
    assert_eq!(t("d"), DataType::Date32);
    assert_eq!(t("t"), DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
    assert_eq!(
        t("o"),
        DataType::Struct(vec![Field::new("x", DataType::Int64, true)].into())
    );
    assert_eq!(t("o_free"), DataType::Utf8);
    assert_eq!(
        t("a"),
        DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))
    );
    assert_eq!(t("a_free"), DataType::Utf8);
    assert_eq!(t("mixed"), DataType::Utf8);
    assert_eq!(t("any"), DataType::Utf8);
    assert_eq!(t("dec"), DataType::Decimal128(20, 4));
    assert_eq!(t("dec_big"), DataType::Decimal256(76, 10));
    // Past 76 digits no Arrow decimal holds it: a double, as a plain `number`.
    assert_eq!(t("dec_huge"), DataType::Float64);
    assert_eq!(t("t_ns"), DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())));
    assert_eq!(t("naive_ns"), DataType::Timestamp(TimeUnit::Nanosecond, None));
    assert!(s.fields().iter().all(|f| f.is_nullable()));
    // Field order is kept.
    assert_eq!(s.field(0).name(), "i");
    // And back again: the same schema.
    let again = json_schema_to_arrow(&arrow_to_json_schema(&s)).unwrap();
    assert_eq!(again, s);
}

#[test]
fn merge_widens_and_unions_columns() {
    let a = Schema::new(vec![
        Field::new("x", DataType::Boolean, true),
        Field::new("y", DataType::Int64, true),
        Field::new("z", DataType::Null, true),
        Field::new("d", DataType::Date32, true),
        Field::new("only_a", DataType::Utf8, true),
    ]);
    let b = Schema::new(vec![
        Field::new("x", DataType::Int64, true),
        Field::new("y", DataType::Float64, true),
        Field::new("z", DataType::Utf8, true),
        Field::new(
            "d",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("only_b", DataType::Int64, false),
    ]);
    let (m, warnings) = merge(&a, "a.csv", &b, "b.csv");
    assert!(warnings.is_empty(), "{warnings:?}");
    let t = |n: &str| m.field_with_name(n).unwrap().data_type().clone();
    // `true` and `1`: neither a boolean nor an integer column reads both.
    assert_eq!(t("x"), DataType::Utf8);
    assert_eq!(t("y"), DataType::Float64);
    assert_eq!(t("z"), DataType::Utf8);
    assert_eq!(t("d"), DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())));
    assert_eq!(t("only_a"), DataType::Utf8);
    assert_eq!(t("only_b"), DataType::Int64);
    assert!(m.field_with_name("only_b").unwrap().is_nullable());
    let names: Vec<&str> = m.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["x", "y", "z", "d", "only_a", "only_b"]);
}

#[test]
fn merge_conflict_widens_to_string_with_warning() {
    let a = Schema::new(vec![Field::new(
        "v",
        DataType::Struct(vec![Field::new("k", DataType::Int64, true)].into()),
        true,
    )]);
    let b = Schema::new(vec![Field::new("v", DataType::Int64, true)]);
    let (m, warnings) = merge(&a, "s3://b/one.json", &b, "s3://b/two.json");
    assert_eq!(m.field(0).data_type(), &DataType::Utf8);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].contains("one.json") && warnings[0].contains("two.json"),
        "{warnings:?}"
    );
    assert!(warnings[0].contains("object") && warnings[0].contains("integer"));
}

#[test]
fn nested_struct_merge_unions_fields() {
    let a = Schema::new(vec![Field::new(
        "o",
        DataType::Struct(vec![Field::new("k", DataType::Int64, true)].into()),
        true,
    )]);
    let b = Schema::new(vec![Field::new(
        "o",
        DataType::Struct(
            vec![
                Field::new("k", DataType::Float64, true),
                Field::new("j", DataType::Utf8, true),
            ]
            .into(),
        ),
        true,
    )]);
    let (m, w) = merge(&a, "a", &b, "b");
    assert!(w.is_empty());
    assert_eq!(
        m.field(0).data_type(),
        &DataType::Struct(
            vec![
                Field::new("k", DataType::Float64, true),
                Field::new("j", DataType::Utf8, true),
            ]
            .into()
        )
    );
}

#[test]
fn json_inference_widens() {
    let mut inf = schema::JsonSchemaInferrer::new(10);
    inf.observe(&json!({"a": 1, "b": true, "c": {"x": 1}, "d": null}));
    inf.observe(&json!({"a": 2.5, "b": 3, "c": 7, "e": [1, 2]}));
    let s = inf.schema();
    let t = |n: &str| s.field_with_name(n).unwrap().data_type().clone();
    assert_eq!(t("a"), DataType::Float64);
    assert_eq!(t("b"), DataType::Utf8);
    assert_eq!(t("c"), DataType::Utf8);
    assert_eq!(t("d"), DataType::Utf8);
    assert_eq!(
        t("e"),
        DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)))
    );
    assert_eq!(inf.warnings().len(), 1);
}

#[test]
fn widen_merges_every_type_pair_it_knows() {
    use lakeport_core::schema::{kind_name, timestamp_naive, timestamp_utc, widen};
    use DataType::*;
    let list = |t: DataType| List(Arc::new(Field::new_list_field(t, true)));
    let large = |t: DataType| LargeList(Arc::new(Field::new_list_field(t, true)));
    // Equal types and nulls.
    assert_eq!(widen(&Int32, &Int32), Ok(Int32));
    assert_eq!(widen(&Null, &Date32), Ok(Date32));
    assert_eq!(widen(&Utf8, &Null), Ok(Utf8));
    // The scalar ladder: boolean < integer < number < string.
    assert_eq!(widen(&Int8, &UInt32), Ok(Int64));
    assert_eq!(widen(&Int32, &Int64), Ok(Int64));
    assert_eq!(widen(&Int64, &Float32), Ok(Float64));
    assert_eq!(widen(&Float16, &Float32), Ok(Float64));
    assert_eq!(widen(&Int64, &Utf8), Ok(Utf8));
    assert_eq!(widen(&LargeUtf8, &Boolean), Ok(Utf8));
    // `true` and `1` in one column: string.
    assert_eq!(widen(&Boolean, &Int64), Ok(Utf8));
    assert_eq!(widen(&Float64, &Boolean), Ok(Utf8));
    // Temporal types.
    assert_eq!(widen(&Date32, &timestamp_utc()), Ok(timestamp_utc()));
    assert_eq!(widen(&timestamp_naive(), &Date64), Ok(timestamp_naive()));
    assert_eq!(
        widen(
            &Timestamp(TimeUnit::Second, None),
            &Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        ),
        Ok(Timestamp(TimeUnit::Microsecond, Some("UTC".into())))
    );
    assert_eq!(
        widen(
            &Timestamp(TimeUnit::Millisecond, Some("+01:00".into())),
            &Timestamp(TimeUnit::Second, None)
        ),
        Ok(Timestamp(TimeUnit::Microsecond, Some("+01:00".into())))
    );
    assert_eq!(widen(&Date32, &Date64), Ok(Utf8));
    assert_eq!(widen(&Time32(TimeUnit::Second), &Utf8), Ok(Utf8));
    assert_eq!(widen(&Binary, &Int64), Ok(Utf8));
    // Nanoseconds stay when both sides have them.
    assert_eq!(
        widen(
            &Timestamp(TimeUnit::Nanosecond, None),
            &Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
        ),
        Ok(Timestamp(TimeUnit::Nanosecond, Some("UTC".into())))
    );
    // Decimals keep every integer digit and the larger scale: 256 bits past 38 digits, a
    // float past 76.
    assert_eq!(widen(&Decimal128(10, 2), &Decimal128(8, 4)), Ok(Decimal128(12, 4)));
    assert_eq!(widen(&Decimal128(38, 0), &Decimal128(38, 10)), Ok(Decimal256(48, 10)));
    assert_eq!(widen(&Decimal64(12, 3), &Decimal256(40, 2)), Ok(Decimal256(41, 3)));
    assert_eq!(widen(&Decimal256(76, 0), &Decimal128(38, 10)), Ok(Float64));
    assert_eq!(widen(&Decimal128(5, 2), &Int64), Ok(Float64));
    // Lists widen their items; an item conflict is a conflict of the list.
    assert_eq!(widen(&list(Int32), &list(Float64)), Ok(list(Float64)));
    assert_eq!(widen(&large(Int32), &large(Int64)), Ok(list(Int64)));
    assert_eq!(widen(&list(Int64), &list(Struct(Fields::empty()))), Err(Utf8));
    // Structs: the union of their fields, each widened.
    let sa = Struct(Fields::from(vec![Field::new("a", Int32, false)]));
    let sb = Struct(Fields::from(vec![
        Field::new("a", Float64, true),
        Field::new("b", Utf8, false),
    ]));
    assert_eq!(
        widen(&sa, &sb),
        Ok(Struct(Fields::from(vec![
            Field::new("a", Float64, true),
            Field::new("b", Utf8, true)
        ])))
    );
    // Real conflicts: a nested value against a scalar.
    assert_eq!(widen(&sa, &Int64), Err(Utf8));
    assert_eq!(widen(&list(Int64), &Utf8), Err(Utf8));
    assert_eq!(widen(&Duration(TimeUnit::Second), &Int64), Err(Utf8));
    // The kind names warnings use.
    assert_eq!(
        [
            &Null,
            &Boolean,
            &UInt8,
            &Decimal256(40, 2),
            &Utf8View,
            &Date64,
            &timestamp_utc(),
            &Time64(TimeUnit::Nanosecond)
        ]
        .map(kind_name),
        [
            "null",
            "boolean",
            "integer",
            "number",
            "string",
            "date",
            "timestamp",
            "time"
        ]
    );
    assert_eq!(
        [
            &sa,
            &lakeport_core::schema::map_type(Int64),
            &large(Int8),
            &FixedSizeBinary(4),
            &Duration(TimeUnit::Second)
        ]
        .map(kind_name),
        ["object", "map", "array", "binary", "other"]
    );
}

#[test]
fn json_inference_keeping_mixed_values_lists_the_kinds_seen() {
    let mut inf = schema::JsonSchemaInferrer::new(10).keeping_mixed_values();
    inf.observe(&json!({"a": 1, "b": true, "c": {"x": 1}, "d": null, "m": [1, "x"], "n": 1, "s": "x"}));
    inf.observe(&json!({"a": 2.5, "b": 3, "c": 7, "e": [1, 2], "m": null, "n": null, "s": "y"}));
    inf.observe(&json!({"b": "three", "e": [3.5], "m": [[1], [{"k": 2}]]}));
    let s = inf.schema();
    let f = |n: &str| s.field_with_name(n).unwrap().clone();
    // One kind (integers and numbers are one): a typed column, as before.
    assert_eq!(f("a").data_type(), &DataType::Float64);
    assert!(!schema::is_json_field(&f("a")));
    assert_eq!(f("s").data_type(), &DataType::Utf8);
    assert!(!schema::is_json_field(&f("s")));
    assert_eq!(f("n").data_type(), &DataType::Int64);
    assert!(!schema::is_json_field(&f("e")));
    // Several kinds, or arrays of mixed items: JSON values, the kinds seen in the schema.
    for (name, kinds) in [
        ("b", json!(["null", "boolean", "integer", "string"])),
        ("c", json!(["null", "integer", "object"])),
        ("m", json!(["null", "array"])),
    ] {
        assert!(schema::is_json_field(&f(name)), "{name}");
        assert_eq!(schema::field_to_json_schema(&f(name)), json!({"type": kinds}), "{name}");
    }
    assert!(inf.warnings().is_empty(), "{:?}", inf.warnings());
}
