//! Every writer × codec → the matching reader returns the same values and types.

mod common;

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::*;
use arrow::datatypes::*;
use lakeport_core::formats::{self, compression, new_writer, Compression, FileFormat, ReadOptions, WriteOptions};

fn write(format: FileFormat, codec: &str, batch: &RecordBatch) -> Vec<u8> {
    let mut w = new_writer(format, codec, batch.schema(), Vec::new(), &WriteOptions::default()).unwrap();
    // Two writes: the writer must cope with several pieces.
    w.write(&batch.slice(0, 2)).unwrap();
    let before = w.bytes_written();
    w.write(&batch.slice(2, batch.num_rows() - 2)).unwrap();
    assert!(w.bytes_written() >= before);
    w.finish().unwrap()
}

fn read(format: FileFormat, comp: Compression, bytes: Vec<u8>, target: Option<SchemaRef>) -> RecordBatch {
    let opts = ReadOptions::default().with_batch_size(3);
    let name = format!("test.{format}");
    let reader: Box<dyn formats::BatchReader> = if format == FileFormat::Parquet {
        Box::new(formats::parquet::read_parquet(&name, bytes::Bytes::from(bytes), &opts, target).unwrap())
    } else {
        let input = compression::decoder(comp, Box::new(Cursor::new(bytes)));
        formats::read_stream(&name, input, format, &opts, target).unwrap()
    };
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    assert!(batches.iter().all(|b| b.num_rows() <= 3), "batch_size respected");
    common::concat(&schema, &batches)
}

#[test]
fn parquet_every_codec() {
    let batch = common::every_type();
    for codec in ["snappy", "gzip", "zstd", "lz4", "brotli", "none"] {
        let bytes = write(FileFormat::Parquet, codec, &batch);
        assert_eq!(&bytes[..4], b"PAR1");
        let back = read(FileFormat::Parquet, Compression::None, bytes, None);
        assert_eq!(back, batch, "parquet {codec}");
    }
}

#[test]
fn avro_every_codec() {
    let batch = common::every_type();
    for codec in ["null", "deflate", "snappy", "zstd", "bzip2", "xz"] {
        let bytes = write(FileFormat::Avro, codec, &batch);
        assert_eq!(&bytes[..4], b"Obj\x01");
        let back = read(FileFormat::Avro, Compression::None, bytes, None);
        assert_eq!(back.schema(), batch.schema(), "avro {codec} schema");
        assert_eq!(back, batch, "avro {codec}");
    }
}

#[test]
fn avro_field_names_that_clash_once_made_legal_stay_distinct() {
    // `a b`/`a_b` and `é`/`ü` are the same Avro name once made legal; so are
    // two fields of a nested record.
    let inner = Fields::from(vec![
        Field::new("x-y", DataType::Int64, true),
        Field::new("x_y", DataType::Int64, true),
    ]);
    let schema = Arc::new(Schema::new(vec![
        Field::new("a b", DataType::Int64, true),
        Field::new("a_b", DataType::Int64, true),
        Field::new("é", DataType::Utf8, true),
        Field::new("ü", DataType::Utf8, true),
        Field::new("s", DataType::Struct(inner.clone()), true),
    ]));
    let nested = StructArray::new(
        inner,
        vec![
            Arc::new(Int64Array::from(vec![5, 6, 7])),
            Arc::new(Int64Array::from(vec![8, 9, 10])),
        ],
        None,
    );
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(Int64Array::from(vec![4, 5, 6])),
            Arc::new(StringArray::from(vec!["e1", "e2", "e3"])),
            Arc::new(StringArray::from(vec!["u1", "u2", "u3"])),
            Arc::new(nested),
        ],
    )
    .unwrap();
    let bytes = write(FileFormat::Avro, "null", &batch);
    let back = read(FileFormat::Avro, Compression::None, bytes, None);
    let names: Vec<String> = back.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["a_b", "a_b_1", "_", "__1", "s"]);
    for (i, col) in back.columns().iter().enumerate().take(4) {
        assert_eq!(col.as_ref(), batch.column(i).as_ref(), "column {i}");
    }
    let s = back.column(4).as_struct();
    assert_eq!(s.column_names(), ["x_y", "x_y_1"]);
    assert_eq!(s.column(1).as_primitive::<Int64Type>().values(), &[8, 9, 10]);
}

#[test]
fn json_and_jsonl_every_codec_with_target_schema() {
    let batch = common::every_type();
    for format in [FileFormat::Json, FileFormat::Jsonl] {
        for (codec, comp) in [
            ("none", Compression::None),
            ("gzip", Compression::Gzip),
            ("zstd", Compression::Zstd),
            ("bz2", Compression::Bz2),
            ("lz4", Compression::Lz4),
            ("snappy", Compression::Snappy),
            ("brotli", Compression::Brotli),
        ] {
            let bytes = write(format, codec, &batch);
            let back = read(format, comp, bytes, Some(batch.schema()));
            assert_eq!(back, batch, "{format} {codec}");
        }
    }
}

#[test]
fn json_array_is_valid_json_and_inferred() {
    let batch = common::every_type();
    let bytes = write(FileFormat::Json, "none", &batch);
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
    assert_eq!(v[0]["id"], serde_json::json!(i64::MIN));
    assert_eq!(v[1]["ts"], "2023-11-14T22:13:20.123456Z");
    assert_eq!(v[0]["amount"].to_string(), "123.45");
    // Without a target schema, types are inferred.
    let back = read(FileFormat::Json, Compression::None, bytes, None);
    let s = back.schema();
    assert_eq!(s.field_with_name("id").unwrap().data_type(), &DataType::Int64);
    assert_eq!(s.field_with_name("flag").unwrap().data_type(), &DataType::Boolean);
    assert!(matches!(
        s.field_with_name("obj").unwrap().data_type(),
        DataType::Struct(_)
    ));
    assert!(matches!(
        s.field_with_name("tags").unwrap().data_type(),
        DataType::List(_)
    ));
    let ids = back.column_by_name("id").unwrap().as_primitive::<Int64Type>();
    assert_eq!(ids.value(2), i64::MAX);
    let names = back.column_by_name("name").unwrap().as_string::<i32>();
    assert_eq!(names.value(1), "héllo 😀 \u{1} tab\there");
}

/// CSV cannot tell a null string from an empty one: both read back as "".
fn csv_expected(batch: &RecordBatch) -> RecordBatch {
    let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
    let name = batch.column(2).as_string::<i32>();
    cols[2] = Arc::new(StringArray::from_iter_values(name.iter().map(|v| v.unwrap_or(""))));
    let blob = batch.column(9).as_binary::<i32>();
    cols[9] = Arc::new(BinaryArray::from_iter_values(blob.iter().map(|v| v.unwrap_or(b""))));
    RecordBatch::try_new(batch.schema(), cols).unwrap()
}

#[test]
fn csv_and_tsv_every_codec_with_target_schema() {
    let batch = common::every_type();
    for format in [FileFormat::Csv, FileFormat::Tsv] {
        for (codec, comp) in [
            ("none", Compression::None),
            ("gzip", Compression::Gzip),
            ("zstd", Compression::Zstd),
        ] {
            let bytes = write(format, codec, &batch);
            let back = read(format, comp, bytes, Some(batch.schema()));
            assert_eq!(back, csv_expected(&batch), "{format} {codec}");
        }
    }
}

#[test]
fn csv_inferred_types() {
    let data = "i,f,b,d,t,s,e\n1,1.5,true,2024-01-02,2024-01-02T03:04:05Z,x,\n-7,2,false,2024-01-03,2024-01-02 03:04:05.5,007,\n";
    let r = formats::read_stream(
        "t.csv",
        Box::new(data.as_bytes()),
        FileFormat::Csv,
        &ReadOptions::default(),
        None,
    )
    .unwrap();
    let schema = r.schema();
    let types: Vec<DataType> = schema.fields().iter().map(|f| f.data_type().clone()).collect();
    assert_eq!(
        types,
        vec![
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            DataType::Utf8,
            DataType::Utf8,
        ]
    );
    let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
    let b = &batches[0];
    assert_eq!(b.column(0).as_primitive::<Int64Type>().value(1), -7);
    assert_eq!(b.column(1).as_primitive::<Float64Type>().value(1), 2.0);
    assert_eq!(b.column(5).as_string::<i32>().value(1), "007");
    assert_eq!(
        b.column(4).as_primitive::<TimestampMicrosecondType>().value(1),
        1_704_164_645_500_000
    );
}

#[test]
fn write_path_and_read_path() {
    let dir = tempfile::tempdir().unwrap();
    let batch = common::every_type();
    for (file, codec) in [
        ("t.parquet", "zstd"),
        ("t.avro", "snappy"),
        ("t.jsonl.gz", "gzip"),
        ("t.json", "none"),
    ] {
        let path = dir.path().join(file);
        let format = FileFormat::from_extension(file).unwrap();
        let n = formats::write_path(&path, format, codec, batch.schema(), std::slice::from_ref(&batch)).unwrap();
        assert!(n > 0);
        let target = matches!(format, FileFormat::Json | FileFormat::Jsonl).then(|| batch.schema());
        let r = formats::read_path(&path, None, None, &ReadOptions::default(), target).unwrap();
        let schema = r.schema();
        let back = common::concat(&schema, &formats::collect(r).unwrap());
        assert_eq!(back, batch, "{file}");
    }
}

/// Every codec the registry offers for a format is accepted by its writer, and the file
/// reads back whole: through the format's own codec, or the stream codec around it (whose
/// name is then the file's extension).
#[test]
fn every_codec_the_registry_offers_writes_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let batch = common::every_type();
    for spec in formats::FORMATS.iter().filter(|s| s.write.is_some()) {
        for codec in spec.codecs {
            let compression: Compression = if spec.compresses_itself {
                Compression::None
            } else {
                codec.parse().unwrap()
            };
            let name = match compression {
                Compression::None => format!("t-{codec}.{}", spec.name),
                c => format!("t.{}.{}", spec.name, c.extension()),
            };
            let path = dir.path().join(&name);
            formats::write_path(&path, spec.format, codec, batch.schema(), std::slice::from_ref(&batch)).unwrap();
            assert_eq!(FileFormat::from_extension(&name), Some(spec.format), "{name}");
            let target = (!spec.compresses_itself).then(|| batch.schema());
            let r = formats::read_path(&path, None, None, &ReadOptions::default(), target).unwrap();
            let schema = r.schema();
            let back = common::concat(&schema, &formats::collect(r).unwrap());
            assert_eq!(back.num_rows(), batch.num_rows(), "{name}");
            if matches!(spec.format, FileFormat::Csv | FileFormat::Tsv) {
                // Delimited text holds every value as text: rows and columns, not types.
                assert_eq!(back.num_columns(), batch.num_columns(), "{name}");
            } else {
                assert_eq!(back, batch, "{name}");
            }
        }
    }
}
