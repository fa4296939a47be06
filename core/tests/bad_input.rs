//! Every bad input is a clear `Error::Format` naming the file (or a skip with a warning),
//! never a panic.

mod common;

use std::io::{Cursor, Read, Write};

use arrow::array::*;
use arrow::datatypes::Int64Type;
use lakeport_core::formats::{
    self, compression, new_writer, Compression, FileFormat, OnBadRecord, ReadOptions, WriteOptions,
};
use lakeport_core::Error;

fn read_all(
    file: &str,
    input: Box<dyn Read + Send>,
    format: FileFormat,
    opts: &ReadOptions,
) -> (lakeport_core::Result<Vec<RecordBatch>>, Vec<String>) {
    match formats::read_stream(file, input, format, opts, None) {
        Err(e) => (Err(e), vec![]),
        Ok(mut r) => {
            let mut out = vec![];
            let mut err = None;
            for b in r.by_ref() {
                match b {
                    Ok(b) => out.push(b),
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            let w = r.take_warnings();
            (err.map_or(Ok(out), Err), w)
        }
    }
}

fn format_error(e: Error, file: &str) -> String {
    match &e {
        Error::Format { file: f, .. } => assert_eq!(f, file),
        other => panic!("expected a format error, got {other:?}"),
    }
    e.to_string()
}

#[test]
fn truncated_gzip() {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..20_000 {
        writeln!(enc, "{i},value {i}").unwrap();
    }
    let mut gz = enc.finish().unwrap();
    gz.truncate(gz.len() / 2);
    let input = compression::decoder(Compression::Gzip, Box::new(Cursor::new(gz)));
    let (r, _) = read_all("data/x.csv.gz", input, FileFormat::Csv, &ReadOptions::default());
    let msg = format_error(r.unwrap_err(), "data/x.csv.gz");
    assert!(msg.contains("gzip"), "{msg}");
}

#[test]
fn not_gzip_at_all() {
    let input = compression::decoder(Compression::Gzip, Box::new(Cursor::new(b"a,b\n1,2\n".to_vec())));
    let (r, _) = read_all("x.csv.gz", input, FileFormat::Csv, &ReadOptions::default());
    let msg = format_error(r.unwrap_err(), "x.csv.gz");
    assert!(
        msg.contains("not valid gzip") && msg.contains("set compression"),
        "{msg}"
    );
}

#[test]
fn corrupt_parquet_footer() {
    let batch = common::every_type();
    let mut w = new_writer(
        FileFormat::Parquet,
        "snappy",
        batch.schema(),
        Vec::new(),
        &WriteOptions::default(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    let mut bytes = w.finish().unwrap();
    let n = bytes.len();
    // Damage the footer length and the metadata before it.
    for b in &mut bytes[n - 40..n - 4] {
        *b = 0xAB;
    }
    let r = formats::parquet::read_parquet(
        "bad.parquet",
        bytes::Bytes::from(bytes.clone()),
        &ReadOptions::default(),
        None,
    );
    let msg = format_error(r.err().unwrap(), "bad.parquet");
    assert!(msg.contains("bad.parquet"), "{msg}");
    // Not Parquet at all.
    let r = formats::parquet::read_parquet(
        "bad2.parquet",
        bytes::Bytes::from_static(b"hello world, not parquet"),
        &ReadOptions::default(),
        None,
    );
    let msg = format_error(r.err().unwrap(), "bad2.parquet");
    assert!(msg.contains("not valid Parquet"), "{msg}");
}

#[test]
fn avro_wrong_magic() {
    let batch = common::every_type();
    let mut w = new_writer(
        FileFormat::Avro,
        "null",
        batch.schema(),
        Vec::new(),
        &WriteOptions::default(),
    )
    .unwrap();
    w.write(&batch).unwrap();
    let mut bytes = w.finish().unwrap();
    bytes[2] = b'X';
    let (r, _) = read_all(
        "bad.avro",
        Box::new(Cursor::new(bytes)),
        FileFormat::Avro,
        &ReadOptions::default(),
    );
    let msg = format_error(r.unwrap_err(), "bad.avro");
    assert!(msg.contains("Avro"), "{msg}");
}

#[test]
fn ragged_csv_row_fails_with_line_number() {
    let data = "a,b\n1,2\n3\n4,5\n";
    let (r, _) = read_all(
        "r.csv",
        Box::new(data.as_bytes()),
        FileFormat::Csv,
        &ReadOptions::default(),
    );
    let msg = format_error(r.unwrap_err(), "r.csv");
    assert!(msg.contains("line 3") && msg.contains("1 fields"), "{msg}");
}

#[test]
fn ragged_csv_row_skipped_with_warning() {
    let data = "a,b\n1,2\n3\n4,5\n";
    let opts = ReadOptions::default().with_on_bad_record(OnBadRecord::Skip);
    let (r, warnings) = read_all("r.csv", Box::new(data.as_bytes()), FileFormat::Csv, &opts);
    let batches = r.unwrap();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(total, 2);
    assert_eq!(batches[0].column(0).as_primitive::<Int64Type>().values(), &[1, 4]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("r.csv") && warnings[0].contains("line 3"),
        "{warnings:?}"
    );
}

#[test]
fn uncastable_value_fails_or_skips() {
    let target = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
        "a",
        arrow::datatypes::DataType::Int64,
        true,
    )]));
    let data = "a\n1\nabc\n3\n";
    let r = formats::read_stream(
        "c.csv",
        Box::new(data.as_bytes()),
        FileFormat::Csv,
        &ReadOptions::default(),
        Some(target.clone()),
    )
    .unwrap()
    .collect::<lakeport_core::Result<Vec<_>>>();
    let msg = format_error(r.unwrap_err(), "c.csv");
    assert!(msg.contains("line 3") && msg.contains("abc"), "{msg}");
    let opts = ReadOptions::default().with_on_bad_record(OnBadRecord::Skip);
    let mut reader =
        formats::read_stream("c.csv", Box::new(data.as_bytes()), FileFormat::Csv, &opts, Some(target)).unwrap();
    let b = reader.next().unwrap().unwrap();
    assert_eq!(b.column(0).as_primitive::<Int64Type>().values(), &[1, 3]);
    assert_eq!(reader.take_warnings().len(), 1);
}

#[test]
fn invalid_utf8_under_utf8() {
    let data: &[u8] = b"a,b\nok,1\n\xff\xfe,2\n";
    let (r, _) = read_all("u.csv", Box::new(data), FileFormat::Csv, &ReadOptions::default());
    let msg = format_error(r.unwrap_err(), "u.csv");
    assert!(
        msg.contains("line 3") && msg.contains("UTF-8") && msg.contains("encoding"),
        "{msg}"
    );
}

#[test]
fn latin1_is_decoded() {
    let data: &[u8] = b"name\ncaf\xe9\n";
    let mut opts = ReadOptions::default();
    opts.csv.encoding = "latin-1".parse().unwrap();
    let (r, _) = read_all("l.csv", Box::new(data), FileFormat::Csv, &opts);
    let b = &r.unwrap()[0];
    assert_eq!(b.column(0).as_string::<i32>().value(0), "café");
}

#[test]
fn fifty_megabyte_line_is_an_error() {
    for format in [FileFormat::Csv, FileFormat::Jsonl, FileFormat::Json] {
        // A CSV line of 50 MB, or a JSON string value of 50 MB.
        let head: &'static [u8] = if format == FileFormat::Csv { b"" } else { b"{\"a\": \"" };
        let input = head.chain(std::io::repeat(b'x').take(50 << 20));
        let (r, _) = read_all("big.txt", Box::new(input), format, &ReadOptions::default());
        let msg = format_error(r.unwrap_err(), "big.txt");
        assert!(msg.contains("longer than"), "{format}: {msg}");
    }
}

#[test]
fn invalid_json_is_an_error() {
    let data = "{\"a\": 1}\n{\"a\": \n";
    let (r, _) = read_all(
        "j.jsonl",
        Box::new(data.as_bytes()),
        FileFormat::Jsonl,
        &ReadOptions::default(),
    );
    format_error(r.unwrap_err(), "j.jsonl");
    let data = "{\"a\": 1}\n{oops}\n";
    let (r, _) = read_all(
        "j.jsonl",
        Box::new(data.as_bytes()),
        FileFormat::Jsonl,
        &ReadOptions::default(),
    );
    format_error(r.unwrap_err(), "j.jsonl");
}

#[test]
fn empty_json_files_read_as_no_rows() {
    // As an empty CSV file: no rows, no columns — not an error.
    for (name, text, format) in [
        ("e.jsonl", "", FileFormat::Jsonl),
        ("e.json", "[]", FileFormat::Json),
        ("e.csv", "", FileFormat::Csv),
    ] {
        for flatten in [true, false] {
            let opts = ReadOptions::default().with_json_flatten(flatten, 10);
            let (batches, _) = read_all(name, Box::new(Cursor::new(text.as_bytes().to_vec())), format, &opts);
            let rows: usize = batches
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .iter()
                .map(RecordBatch::num_rows)
                .sum();
            assert_eq!(rows, 0, "{name}");
        }
    }
}

#[test]
fn a_value_that_does_not_fit_its_column_says_what_to_do() {
    let target = std::sync::Arc::new(arrow::datatypes::Schema::new(vec![arrow::datatypes::Field::new(
        "n",
        arrow::datatypes::DataType::Int64,
        true,
    )]));
    for (name, text, format) in [
        ("t.csv", "n\n1\noops\n", FileFormat::Csv),
        ("t.jsonl", "{\"n\": 1}\n{\"n\": \"oops\"}\n", FileFormat::Jsonl),
    ] {
        let reader = formats::read_stream(
            name,
            Box::new(Cursor::new(text.as_bytes().to_vec())),
            format,
            &ReadOptions::default(),
            Some(target.clone()),
        )
        .unwrap();
        let e = reader
            .map(|b| b.map(|_| ()))
            .collect::<lakeport_core::Result<Vec<()>>>()
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("oops") && msg.contains("run discover again") && msg.contains("on_error: skip"),
            "{msg}"
        );
    }
}

#[test]
fn column_names_must_name_every_field() {
    let opts = ReadOptions::default().with_csv(lakeport_core::formats::options::CsvOptions {
        header: false,
        column_names: Some(vec!["a".into()]),
        ..Default::default()
    });
    let (got, _) = read_all(
        "t.csv",
        Box::new(Cursor::new(b"1,2,3\n".to_vec())),
        FileFormat::Csv,
        &opts,
    );
    let msg = got.unwrap_err().to_string();
    assert!(msg.contains("1 name(s) but the rows have 3 field(s)"), "{msg}");
}
