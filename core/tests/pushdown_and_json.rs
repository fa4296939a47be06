//! Parquet projection and filter pushdown; JSON arrays, flattening and target schemas.

use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use lakeport_core::formats::{self, new_writer, ColumnFilter, FileFormat, ReadOptions, WriteOptions};
use serde_json::json;

fn parquet_bytes(rows: i64, row_group_rows: usize) -> bytes::Bytes {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("cat", DataType::Utf8, true),
        Field::new("v", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..rows)),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| ["a", "b", "c"][(i % 3) as usize]),
            )),
            Arc::new(Float64Array::from_iter_values((0..rows).map(|i| i as f64 / 2.0))),
        ],
    )
    .unwrap();
    let opts = WriteOptions {
        row_group_rows,
        ..Default::default()
    };
    let mut w = new_writer(FileFormat::Parquet, "snappy", schema, Vec::new(), &opts).unwrap();
    w.write(&batch).unwrap();
    bytes::Bytes::from(w.finish().unwrap())
}

fn filters(v: serde_json::Value) -> Vec<ColumnFilter> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| ColumnFilter::from_json(f).unwrap())
        .collect()
}

fn read(bytes: bytes::Bytes, opts: ReadOptions) -> RecordBatch {
    let r = formats::parquet::read_parquet("p.parquet", bytes, &opts, None).unwrap();
    let schema = formats::BatchReader::schema(&r);
    let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

#[test]
fn projection_and_filters() {
    let bytes = parquet_bytes(10_000, 1_000);
    let opts = ReadOptions::default()
        .with_parquet_columns(vec!["v".into(), "id".into()])
        .with_parquet_filters(filters(json!([["id", ">=", 9_990], ["cat", "in", ["a", "b"]]])));
    let b = read(bytes.clone(), opts);
    let names: Vec<&str> = b.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "v"]);
    let ids = b.column(0).as_primitive::<Int64Type>();
    let expected: Vec<i64> = (9_990..10_000).filter(|i| i % 3 != 2).collect();
    assert_eq!(ids.values().to_vec(), expected);
    for (op, value, count) in [
        ("=", json!(42), 1usize),
        ("!=", json!(42), 9_999),
        ("<", json!(10), 10),
        ("<=", json!(10), 11),
        (">", json!(9_989), 10),
        ("=", json!("b"), 0), // string compared to int: cast error → config error below
    ] {
        if value.is_string() {
            let opts = ReadOptions::default().with_parquet_filters(filters(json!([["id", op, value]])));
            assert!(formats::parquet::read_parquet("p.parquet", bytes.clone(), &opts, None).is_err());
            continue;
        }
        let opts = ReadOptions::default().with_parquet_filters(filters(json!([["id", op, value]])));
        assert_eq!(read(bytes.clone(), opts).num_rows(), count, "{op} {value}");
    }
    let opts = ReadOptions::default().with_parquet_filters(filters(json!([["v", ">", 4_999.0]])));
    assert_eq!(read(bytes.clone(), opts).num_rows(), 1);
    // Unknown columns are config errors naming the columns.
    let opts = ReadOptions::default().with_parquet_columns(vec!["nope".into()]);
    let e = formats::parquet::read_parquet("p.parquet", bytes, &opts, None)
        .err()
        .unwrap();
    assert!(e.to_string().contains("nope") && e.to_string().contains("id, cat, v"));
    assert!(ColumnFilter::from_json(&json!(["a", "~", 1])).is_err());
}

#[test]
fn async_reader_reads_with_pushdown() {
    let bytes = parquet_bytes(5_000, 500);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(async {
        use futures::StreamExt;
        let opts = ReadOptions::default().with_parquet_filters(filters(json!([["id", "<", 750]])));
        let (schema, mut stream) = formats::parquet::read_parquet_async("p.parquet", AsyncBytes(bytes), &opts, None)
            .await
            .unwrap();
        assert_eq!(schema.fields().len(), 3);
        let mut n = 0;
        while let Some(b) = stream.next().await {
            n += b.unwrap().num_rows();
        }
        assert_eq!(n, 750);
    });
}

/// An in-memory `AsyncFileReader` (what the S3 reader does with ranged GETs).
struct AsyncBytes(bytes::Bytes);

impl parquet::arrow::async_reader::AsyncFileReader for AsyncBytes {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> futures::future::BoxFuture<'_, parquet::errors::Result<bytes::Bytes>> {
        let b = self.0.slice(range.start as usize..range.end as usize);
        Box::pin(async move { Ok(b) })
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a parquet::arrow::arrow_reader::ArrowReaderOptions>,
    ) -> futures::future::BoxFuture<'a, parquet::errors::Result<Arc<parquet::file::metadata::ParquetMetaData>>> {
        let _ = options;
        let data = self.0.clone();
        Box::pin(async move {
            let m = parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&data)?;
            Ok(Arc::new(m))
        })
    }
}

#[test]
fn json_array_streamed_and_single_object() {
    let data = r#"  [ {"a": 1, "s": "x,]}"}, {"a": 2, "s": "[{"} ,{"a":3}
    ]  "#;
    let r = formats::read_stream(
        "a.json",
        Box::new(data.as_bytes()),
        FileFormat::Json,
        &ReadOptions::default(),
        None,
    )
    .unwrap();
    let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
    let b = &batches[0];
    assert_eq!(b.num_rows(), 3);
    assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[1, 2, 3]);
    assert_eq!(b.column(1).as_string::<i32>().value(0), "x,]}");
    let one = r#"{"a": {"b": 1}}"#;
    let r = formats::read_stream(
        "o.json",
        Box::new(one.as_bytes()),
        FileFormat::Json,
        &ReadOptions::default(),
        None,
    )
    .unwrap();
    assert_eq!(r.map(|b| b.unwrap().num_rows()).sum::<usize>(), 1);
}

#[test]
fn json_flatten_and_max_depth() {
    let data = "{\"id\": 1, \"user\": {\"name\": \"x\", \"addr\": {\"city\": \"P\"}}}\n{\"id\": 2, \"user\": {\"name\": \"y\"}}\n";
    let opts = ReadOptions::default().with_json_flatten(true, 10);
    let r = formats::read_stream("f.jsonl", Box::new(data.as_bytes()), FileFormat::Jsonl, &opts, None).unwrap();
    let schema = r.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["id", "user.name", "user.addr.city"]);
    let b = r.map(|b| b.unwrap()).next().unwrap();
    assert_eq!(b.column(2).as_string::<i32>().value(0), "P");
    assert!(b.column(2).is_null(1));
    // Depth 1: only the first level is flattened.
    let opts = ReadOptions::default().with_json_flatten(true, 1);
    let r = formats::read_stream("f.jsonl", Box::new(data.as_bytes()), FileFormat::Jsonl, &opts, None).unwrap();
    let names: Vec<String> = r.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["id", "user.name", "user.addr"]);
    // With a flattened target schema.
    let target = Arc::new(Schema::new(vec![
        Field::new("user.addr.city", DataType::Utf8, true),
        Field::new("id", DataType::Utf8, true),
    ]));
    let opts = ReadOptions::default().with_json_flatten(true, 10);
    let r = formats::read_stream(
        "f.jsonl",
        Box::new(data.as_bytes()),
        FileFormat::Jsonl,
        &opts,
        Some(target.clone()),
    )
    .unwrap();
    let b = r.map(|b| b.unwrap()).next().unwrap();
    assert_eq!(b.schema(), target);
    assert_eq!(b.column(1).as_string::<i32>().value(1), "2");
}

#[test]
fn target_schema_fills_missing_and_casts() {
    let data = "a,b\n1,x\n2,y\n";
    let target = Arc::new(Schema::new(vec![
        Field::new("b", DataType::Utf8, true),
        Field::new("missing", DataType::Int64, true),
        Field::new("a", DataType::Float64, true),
    ]));
    let r = formats::read_stream(
        "t.csv",
        Box::new(data.as_bytes()),
        FileFormat::Csv,
        &ReadOptions::default(),
        Some(target.clone()),
    )
    .unwrap();
    let b = r.map(|b| b.unwrap()).next().unwrap();
    assert_eq!(b.schema(), target);
    assert_eq!(b.column(0).as_string::<i32>().value(1), "y");
    assert_eq!(b.column(1).null_count(), 2);
    assert_eq!(b.column(2).as_primitive::<Float64Type>().values(), &[1.0, 2.0]);
}

#[test]
fn csv_dialect_options() {
    let data = "preamble line\nx;y\nskip me;0\n'a;b';1\nNA;2\n";
    let mut opts = ReadOptions::default();
    opts.csv.delimiter = b';';
    opts.csv.quote = b'\'';
    opts.csv.skip_rows_before_header = 1;
    opts.csv.skip_rows_after_header = 1;
    opts.csv.null_values = vec!["NA".into()];
    let r = formats::read_stream("d.csv", Box::new(data.as_bytes()), FileFormat::Csv, &opts, None).unwrap();
    let b = r.map(|b| b.unwrap()).next().unwrap();
    assert_eq!(b.column(0).as_string::<i32>().value(0), "a;b");
    assert!(b.column(0).is_null(1));
    assert_eq!(b.column(1).as_primitive::<Int64Type>().values(), &[1, 2]);
    // No header: f0, f1.
    let mut opts = ReadOptions::default();
    opts.csv.header = false;
    let r = formats::read_stream(
        "n.tsv",
        Box::new("1\tq\n2\tr\n".as_bytes()),
        FileFormat::Tsv,
        &opts,
        None,
    )
    .unwrap();
    let names: Vec<String> = r.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["f0", "f1"]);
    assert_eq!(r.map(|b| b.unwrap().num_rows()).sum::<usize>(), 2);
    // UTF-16 with BOM.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "h\nü\n".encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    let mut opts = ReadOptions::default();
    opts.csv.encoding = "utf-16".parse().unwrap();
    let r = formats::read_stream(
        "w.csv",
        Box::new(std::io::Cursor::new(utf16)),
        FileFormat::Csv,
        &opts,
        None,
    )
    .unwrap();
    let b = r.map(|b| b.unwrap()).next().unwrap();
    assert_eq!(b.column(0).as_string::<i32>().value(0), "ü");
}

#[test]
fn infer_schema_and_headerless_csv_with_target() {
    let (schema, warnings) = formats::infer_schema(
        "s.jsonl",
        Box::new("{\"a\": 1, \"b\": {\"c\": 1}}\n{\"a\": 2.5, \"b\": 3}\n".as_bytes()),
        FileFormat::Jsonl,
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(schema.field(0).data_type(), &DataType::Float64);
    // An object in one record, a number in the next: a column of JSON values whose schema
    // lists both kinds; nothing is converted, so nothing is warned about.
    assert_eq!(schema.field(1).data_type(), &DataType::Utf8);
    assert!(lakeport_core::schema::is_json_field(schema.field(1)));
    assert_eq!(
        lakeport_core::schema::field_to_json_schema(schema.field(1)),
        serde_json::json!({"type": ["null", "integer", "object"]})
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    // Headerless CSV with a target schema: columns are taken by position.
    let target = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
    ]));
    let mut opts = ReadOptions::default();
    opts.csv.header = false;
    let r = formats::read_stream(
        "h.csv",
        Box::new("1,a\n2,b\n".as_bytes()),
        FileFormat::Csv,
        &opts,
        Some(target),
    )
    .unwrap();
    let b = r.map(|b| b.unwrap()).next().unwrap();
    assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[1, 2]);
    assert_eq!(b.column(1).as_string::<i32>().value(1), "b");
}
