//! Reader options parsed from their config text: bad-record policies, encodings, boolean
//! values, Parquet filters, and the builder's limits.

use lakeport_core::formats::options::BoolValues;
use lakeport_core::formats::{ColumnFilter, CsvOptions, FilterOp, OnBadRecord, ReadOptions, TextEncoding};
use serde_json::json;

#[test]
fn policies_and_encodings_parse_every_spelling() {
    for s in ["fail", " ERROR ", "emit_record", "fail_sync"] {
        assert_eq!(s.parse::<OnBadRecord>().unwrap(), OnBadRecord::Fail, "{s}");
    }
    for s in ["skip", "skip_record", "ignore", "Warn"] {
        assert_eq!(s.parse::<OnBadRecord>().unwrap(), OnBadRecord::Skip, "{s}");
    }
    assert_eq!(
        "drop".parse::<OnBadRecord>().unwrap_err().to_string(),
        "unknown on_bad_record policy 'drop'; use 'fail' or 'skip'"
    );
    let encodings = [
        ("UTF-8", TextEncoding::Utf8),
        ("", TextEncoding::Utf8),
        ("utf_8_sig", TextEncoding::Utf8Sig),
        ("utf16", TextEncoding::Utf16),
        ("utf-16-le", TextEncoding::Utf16Le),
        ("UTF-16BE", TextEncoding::Utf16Be),
        ("iso-8859-1", TextEncoding::Latin1),
        ("l1", TextEncoding::Latin1),
        ("cp1252", TextEncoding::Windows1252),
    ];
    for (s, e) in encodings {
        assert_eq!(s.parse::<TextEncoding>().unwrap(), e, "{s}");
    }
    assert_eq!(
        "ebcdic".parse::<TextEncoding>().unwrap_err().to_string(),
        "unsupported encoding 'ebcdic'; use utf-8, utf-8-sig, utf-16, latin-1 or windows-1252"
    );
}

#[test]
fn boolean_values_default_per_side_and_match_trimmed() {
    assert_eq!(BoolValues::from_lists(None, None), None);
    let only_true = BoolValues::from_lists(Some(&["si".to_string()]), None).unwrap();
    assert_eq!(only_true.true_values, vec!["si"]);
    assert_eq!(
        only_true.false_values,
        BoolValues::DEFAULT_FALSE.map(String::from).to_vec()
    );
    assert_eq!(only_true.parse(" si "), Some(true));
    assert_eq!(only_true.parse("yes"), None, "the given list replaces the default");
    assert_eq!(only_true.parse("off"), Some(false));
    let only_false = BoolValues::from_lists(None, Some(&["nein".to_string()])).unwrap();
    assert_eq!(
        (only_false.parse("1"), only_false.parse("nein"), only_false.parse("0")),
        (Some(true), Some(false), None)
    );
}

#[test]
fn parquet_filters_are_triples_with_known_operators() {
    let ops = [
        ("=", FilterOp::Eq),
        ("==", FilterOp::Eq),
        ("!=", FilterOp::NotEq),
        ("<>", FilterOp::NotEq),
        ("<", FilterOp::Lt),
        ("<=", FilterOp::LtEq),
        (">", FilterOp::Gt),
        (">=", FilterOp::GtEq),
        ("IN", FilterOp::In),
    ];
    for (s, op) in ops {
        assert_eq!(s.parse::<FilterOp>().unwrap(), op, "{s}");
    }
    let f = ColumnFilter::from_json(&json!(["year", ">=", 2020])).unwrap();
    assert_eq!(
        f,
        ColumnFilter {
            column: "year".into(),
            op: FilterOp::GtEq,
            value: json!(2020)
        }
    );
    let f = ColumnFilter::from_json(&json!(["c", "in", ["a", "b"]])).unwrap();
    assert_eq!((f.op, f.value), (FilterOp::In, json!(["a", "b"])));
    for bad in [
        json!("year >= 2020"),
        json!(["year", ">="]),
        json!([1, "=", 2]),
        json!(["y", 5, 2]),
    ] {
        assert_eq!(
            ColumnFilter::from_json(&bad).unwrap_err().to_string(),
            format!("parquet_filters entries must be [column, op, value] triples, got {bad}")
        );
    }
    assert_eq!(
        ColumnFilter::from_json(&json!(["c", "in", "a"]))
            .unwrap_err()
            .to_string(),
        "parquet filter on 'c' with 'in' needs a list value"
    );
    assert_eq!(
        ColumnFilter::from_json(&json!(["c", "~", 1])).unwrap_err().to_string(),
        "unknown parquet filter operator '~'; use one of = != < <= > >= in"
    );
}

#[test]
fn the_builder_keeps_its_limits() {
    let csv = CsvOptions {
        delimiter: b';',
        ..CsvOptions::default()
    };
    let o = ReadOptions::default()
        .with_batch_size(0)
        .with_csv(csv.clone())
        .with_on_bad_record(OnBadRecord::Emit)
        .with_parquet_columns(vec!["a".into()])
        .with_parquet_filters(vec![ColumnFilter::from_json(&json!(["a", "=", 1])).unwrap()])
        .with_json_flatten(true, 3)
        .with_max_rows(Some(5))
        .with_max_line_bytes(10)
        .with_infer_rows(0);
    assert_eq!(o.batch_size, 1);
    assert_eq!(o.csv, csv);
    assert_eq!(o.on_bad_record, OnBadRecord::Emit);
    assert_eq!(o.parquet_columns, Some(vec!["a".to_string()]));
    assert_eq!(o.parquet_filters.len(), 1);
    assert_eq!((o.json_flatten, o.json_max_depth), (true, 3));
    assert_eq!(o.max_rows, Some(5));
    assert_eq!(o.max_line_bytes, 1024, "at least 1 KiB");
    assert_eq!(o.infer_rows, 1);
}

#[test]
fn warnings_keep_the_first_hundred_and_count_the_rest() {
    let mut w = lakeport_core::formats::Warnings::default();
    for i in 0..103 {
        w.push(format!("w{i}"));
    }
    let taken = w.take();
    assert_eq!(taken.len(), 101);
    assert_eq!((taken[0].as_str(), taken[99].as_str()), ("w0", "w99"));
    assert_eq!(taken[100], "… and 3 more warnings");
    assert!(w.take().is_empty(), "taken once");
    w.push("again".into());
    assert_eq!(w.take(), vec!["again"]);
}

#[test]
fn unknown_format_names_list_the_known_ones() {
    use lakeport_core::formats::FileFormat;
    assert_eq!(
        "xlsx".parse::<FileFormat>().unwrap_err().to_string(),
        "unknown file format 'xlsx'; use one of csv, tsv, json, jsonl, parquet, avro"
    );
}
