//! Fidelity on the shapes real-world files have: each file is written by an independent
//! writer (pyarrow, fastavro and Python's csv module through `tests/python/fidelity_files.py`;
//! the parquet crate's low-level writer from a message type for the legacy layouts Impala,
//! Hive and Spark wrote), read by source-file, and compared value by value with pyarrow,
//! fastavro or Python's csv (`tests/python/fidelity_reference.py`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lakeport_tests::fidelity::{compare, python_script, read_files, FileRun};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type, Int96, Int96Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::{json, Value};

/// The files of `fidelity_files.py` whose name starts with `prefix`.
fn generated(dir: &Path, prefix: &str) -> Vec<(String, PathBuf, String)> {
    let made: Vec<Value> = serde_json::from_str(&python_script("fidelity_files.py", &[dir.to_str().unwrap()])).unwrap();
    made.iter()
        .filter(|m| m["name"].as_str().unwrap().starts_with(prefix))
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                PathBuf::from(m["file"].as_str().unwrap()),
                m["format"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Reads each file with source-file and asserts it matches the reference reader exactly.
fn assert_exact(dir: &Path, files: &[(String, PathBuf, String)]) -> Vec<FileRun> {
    let list: Vec<(PathBuf, &str)> = files.iter().map(|(_, p, f)| (p.clone(), f.as_str())).collect();
    let runs = read_files(dir, &list, &json!({}));
    let mut failures = vec![];
    for ((name, _, _), r) in files.iter().zip(&runs) {
        if r.code() != Some(0) {
            failures.push(format!(
                "{name}: exit {:?}: {:?}\n{}",
                r.code(),
                r.errors(),
                r.run.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "refused:\n{}", failures.join("\n"));
    let refs: Vec<&FileRun> = runs.iter().collect();
    let verdicts = compare(dir, &refs);
    let bad: Vec<String> = files
        .iter()
        .zip(&verdicts)
        .filter(|(_, v)| v.status != "exact")
        .map(|((name, _, _), v)| format!("{name}: {} {}", v.status, v.detail))
        .collect();
    assert!(
        bad.is_empty(),
        "not read like the reference reader:\n{}",
        bad.join("\n")
    );
    runs
}

/// A Parquet file in the layouts older writers used, written from a message type with the
/// parquet crate's column writers (levels given by hand):
/// - `repeated int32 nums;` directly in the root: an unannotated repeated primitive;
/// - `repeated group pairs {…}` in the root: an unannotated repeated group;
/// - a 2-level LIST (`repeated binary array` straight inside the LIST group), as
///   parquet-avro and Hive wrote;
/// - INT96 timestamps (Impala, Hive, Spark) up to `9999-12-31 03:00:00` and before 1677.
fn write_legacy_parquet(path: &Path) {
    let schema = Arc::new(
        parse_message_type(
            "message legacy {
                required int32 id;
                repeated int32 nums;
                optional group tags (LIST) { repeated binary array (UTF8); }
                repeated group pairs { required binary k (UTF8); optional int64 v; }
                optional int96 ts;
            }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
    let mut rg = writer.next_row_group().unwrap();
    let int96 = |days_since_epoch: i64, nanos_of_day: u64| {
        let mut v = Int96::new();
        v.set_data(
            nanos_of_day as u32,
            (nanos_of_day >> 32) as u32,
            (days_since_epoch + 2_440_588) as u32,
        );
        v
    };
    let s = |t: &str| ByteArray::from(t);
    let mut column = 0;
    while let Some(mut col) = rg.next_column().unwrap() {
        match column {
            0 => {
                col.typed::<Int32Type>().write_batch(&[1, 2, 3], None, None).unwrap();
            }
            1 => {
                // [1,2,3], [], [7]
                col.typed::<Int32Type>()
                    .write_batch(&[1, 2, 3, 7], Some(&[1, 1, 1, 0, 1]), Some(&[0, 1, 1, 0, 0]))
                    .unwrap();
            }
            2 => {
                // ["a","b"], null, []
                col.typed::<ByteArrayType>()
                    .write_batch(&[s("a"), s("b")], Some(&[2, 2, 0, 1]), Some(&[0, 1, 0, 0]))
                    .unwrap();
            }
            3 => {
                // pairs.k: [x], [], [y, z]
                col.typed::<ByteArrayType>()
                    .write_batch(&[s("x"), s("y"), s("z")], Some(&[1, 0, 1, 1]), Some(&[0, 0, 0, 1]))
                    .unwrap();
            }
            4 => {
                // pairs.v: [1], [], [null, -5]
                col.typed::<Int64Type>()
                    .write_batch(&[1, -5], Some(&[2, 0, 1, 2]), Some(&[0, 0, 0, 1]))
                    .unwrap();
            }
            _ => {
                // 9999-12-31T03:00:00, null, 1600-01-01T00:00:00.000001
                col.typed::<Int96Type>()
                    .write_batch(
                        &[int96(2_932_896, 3 * 3_600 * 1_000_000_000), int96(-135_140, 1_000)],
                        Some(&[1, 0, 1]),
                        None,
                    )
                    .unwrap();
            }
        }
        col.close().unwrap();
        column += 1;
    }
    rg.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn parquet_shapes_are_read_like_pyarrow() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = generated(dir.path(), "pq_");
    let legacy = dir.path().join("legacy.parquet");
    write_legacy_parquet(&legacy);
    files.push((
        "legacy (unannotated repeated, 2-level list, INT96)".into(),
        legacy,
        "parquet".into(),
    ));
    let phones = dir.path().join("phones.parquet");
    write_repeated_group_in_optional_group(&phones);
    files.push((
        "repeated group inside an optional group".into(),
        phones,
        "parquet".into(),
    ));
    let runs = assert_exact(dir.path(), &files);

    // The discovered schema types what the records hold: maps as objects, naive timestamps
    // as Airbyte's timestamp_without_timezone.
    let maps = runs.iter().find(|r| r.file.ends_with("pq_maps.parquet")).unwrap();
    assert!(maps.records()[0]["data"]["by_name"].is_object());
    let ts = runs.iter().find(|r| r.file.ends_with("pq_timestamps.parquet")).unwrap();
    let naive = ts.records()[0]["data"]["naive_us"].as_str().unwrap().to_string();
    assert_eq!(
        naive, "2024-02-29T23:59:59.999999",
        "a naive timestamp is written without an offset"
    );
    let legacy = runs.iter().find(|r| r.file.ends_with("legacy.parquet")).unwrap();
    assert_eq!(legacy.records()[0]["data"]["ts"], "9999-12-31T03:00:00.000000");
}

#[test]
fn discover_types_maps_naive_timestamps_and_decimals_as_airbyte_does() {
    let dir = tempfile::tempdir().unwrap();
    let files = generated(dir.path(), "pq_");
    let file = |n: &str| files.iter().find(|(name, _, _)| name == n).unwrap().1.clone();
    let discover = |path: PathBuf| {
        let cfg = lakeport_tests::write_json(
            dir.path(),
            "discover.json",
            &json!({"file_path": path, "format": "parquet", "stream_name": "t"}),
        );
        let r = lakeport_tests::run("source-file", &["discover", "--config", cfg.to_str().unwrap()], None);
        r.assert_success();
        r.catalog()["streams"][0]["json_schema"]["properties"].clone()
    };
    let maps = discover(file("pq_maps"));
    assert_eq!(maps["by_name"]["type"], json!(["null", "object"]), "{maps}");
    let ts = discover(file("pq_timestamps"));
    assert_eq!(ts["naive_us"]["airbyte_type"], "timestamp_without_timezone", "{ts}");
    assert_eq!(ts["utc_ms"]["airbyte_type"], "timestamp_with_timezone", "{ts}");
    let dec = discover(file("pq_decimals"));
    assert_eq!(dec["d76"]["type"], json!(["null", "number"]), "{dec}");
    // The precision and scale a destination needs to write every digit back.
    assert_eq!(
        (&dec["d76"]["decimal_precision"], &dec["d76"]["decimal_scale"]),
        (&json!(76), &json!(10))
    );
    assert_eq!(
        (&dec["d5"]["decimal_precision"], &dec["d5"]["decimal_scale"]),
        (&json!(5), &json!(2))
    );
    assert_eq!(ts["ny_ns"]["timestamp_precision"], "nanoseconds", "{ts}");
    assert_eq!(ts["naive_us"].get("timestamp_precision"), None, "{ts}");
}

#[test]
fn avro_shapes_are_read_like_fastavro() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = generated(dir.path(), "av_")
        .into_iter()
        .filter(|(n, _, _)| n != "av_unions")
        .collect();
    assert_exact(dir.path(), &files);
}

#[test]
fn avro_unions_of_named_types_are_read_like_fastavro() {
    let dir = tempfile::tempdir().unwrap();
    let files = generated(dir.path(), "av_unions");
    assert_exact(dir.path(), &files);
}

#[test]
fn csv_line_endings_lf_crlf_cr_and_mixed_are_read_like_python_csv() {
    let dir = tempfile::tempdir().unwrap();
    let files = generated(dir.path(), "csv_");
    assert_eq!(files.len(), 4);
    assert_exact(dir.path(), &files);
}

#[test]
fn json_fields_of_several_kinds_and_mixed_arrays_pass_through_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let files = generated(dir.path(), "js_mixed");
    // Read without a catalog: every value as Python's json reads it.
    let runs = assert_exact(dir.path(), &files);
    let plain: Vec<Value> = runs[0].records().iter().map(|r| r["data"].clone()).collect();
    // Discover lists the kinds each field holds (a schema the values validate against).
    let cfg = lakeport_tests::write_json(
        dir.path(),
        "js.json",
        &json!({"file_path": files[0].1, "format": "jsonl", "stream_name": "t"}),
    );
    let discovered = lakeport_tests::run("source-file", &["discover", "--config", cfg.to_str().unwrap()], None);
    discovered.assert_success();
    let props = discovered.catalog()["streams"][0]["json_schema"]["properties"].clone();
    for (field, kinds) in [
        ("v", json!(["null", "array", "integer", "object", "string"])),
        ("arr", json!(["null", "array"])),
        ("o", json!(["null", "array", "integer", "object", "string"])),
        ("flag", json!(["null", "boolean", "integer", "string"])),
    ] {
        assert_eq!(props[field], json!({"type": kinds}), "{field}: {props}");
    }
    assert_eq!(props["n"], json!({"type": ["null", "number"]}), "{props}");
    // Read with that catalog (and the default flattening): the same values.
    let catalog = lakeport_tests::write_json(
        dir.path(),
        "js_catalog.json",
        &lakeport_tests::configured_catalog(discovered.catalog(), "full_refresh"),
    );
    let read = lakeport_tests::run(
        "source-file",
        &[
            "read",
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
        ],
        None,
    );
    read.assert_success();
    let with_catalog: Vec<Value> = read
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"]["data"].clone())
        .collect();
    let without_file_fields = |rows: &[Value]| -> Vec<Value> {
        rows.iter()
            .map(|r| {
                let mut r = r.clone();
                if let Some(o) = r.as_object_mut() {
                    o.retain(|k, _| !k.starts_with("_ab_source_file"));
                }
                r
            })
            .collect()
    };
    assert_eq!(without_file_fields(&with_catalog), without_file_fields(&plain));
    assert_eq!(with_catalog[1]["v"], json!("five"));
    assert_eq!(with_catalog[0]["arr"], json!([1, "a", {"x": 1}, null, [true]]));
}

#[test]
fn values_json_cannot_hold_are_null_with_meta_changes_and_one_warning_per_column() {
    let dir = tempfile::tempdir().unwrap();
    let files = generated(dir.path(), "pq_floats");
    let runs = assert_exact(dir.path(), &files);
    let r = &runs[0];
    let records = r.records();
    assert_eq!(records.len(), 5, "every row is emitted");
    let change = |field: &str| json!({"field": field, "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"});
    // A NaN nested in a list: the list keeps its place, the value is null, the column noted.
    assert_eq!(records[0]["data"]["in_list"], json!([1.0, null]));
    assert_eq!(records[0]["meta"]["changes"], json!([change("in_list")]));
    assert_eq!(records[1]["meta"]["changes"], json!([change("f64")]));
    assert_eq!(records[2]["meta"]["changes"], json!([change("f64"), change("f32")]));
    assert!(
        records[3].get("meta").is_none(),
        "nothing nulled, no meta: {}",
        records[3]
    );
    assert_eq!(records[4]["meta"]["changes"], json!([change("f64"), change("in_list")]));
    let warnings: Vec<String> = r
        .warnings()
        .into_iter()
        .filter(|w| w.contains("NaN or infinite"))
        .collect();
    assert_eq!(warnings.len(), 3, "one WARN per column: {warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("3 value(s) of column 'f64'")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("1 value(s) of column 'f32'")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("2 value(s) of column 'in_list'")),
        "{warnings:?}"
    );
}

/// The layout of parquet-testing's `repeated_no_annotation.parquet` (a repeated group with no
/// LIST annotation inside an optional group), which the parquet crate decodes as no rows.
fn write_repeated_group_in_optional_group(path: &Path) {
    let schema = Arc::new(
        parse_message_type(
            "message user {
                required int32 id;
                optional group phoneNumbers {
                    repeated group phone { required int64 number; optional binary kind (UTF8); }
                }
            }",
        )
        .unwrap(),
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(File::create(path).unwrap(), schema, props).unwrap();
    let mut rg = writer.next_row_group().unwrap();
    let mut column = 0;
    while let Some(mut col) = rg.next_column().unwrap() {
        match column {
            0 => {
                col.typed::<Int32Type>().write_batch(&[1, 2, 3], None, None).unwrap();
            }
            1 => {
                // null, {phone: []}, {phone: [{number: 555, …}]}
                col.typed::<Int64Type>()
                    .write_batch(&[555], Some(&[0, 1, 2]), Some(&[0, 0, 0]))
                    .unwrap();
            }
            _ => {
                col.typed::<ByteArrayType>()
                    .write_batch(&[ByteArray::from("home")], Some(&[0, 1, 3]), Some(&[0, 0, 0]))
                    .unwrap();
            }
        }
        col.close().unwrap();
        column += 1;
    }
    rg.close().unwrap();
    writer.close().unwrap();
}

#[test]
fn a_footer_saying_0_rows_over_a_row_group_of_6_is_read_in_full() {
    // parquet-testing's repeated_no_annotation.parquet (written by parquet-rs 0.3.0): its
    // footer says 0 rows, its row group 6. It was read as no rows with exit 0 and a STATE
    // calling the file done; a read that decodes fewer rows than the row groups hold is now
    // an error, and this one is read in full.
    let file = lakeport_tests::workspace_root()
        .join("../shared/conformance/parquet-testing/data/repeated_no_annotation.parquet");
    assert!(file.exists(), "{} is missing", file.display());
    let dir = tempfile::tempdir().unwrap();
    let runs = read_files(dir.path(), &[(file, "parquet")], &json!({}));
    let r = &runs[0];
    assert_eq!(r.code(), Some(0), "{:?}", r.errors());
    assert_eq!(r.records().len(), 6);
    let verdicts = compare(dir.path(), &[r]);
    assert_eq!(verdicts[0].status, "exact", "{:?}", verdicts[0].detail);
}
