//! Format benchmark: generates a mixed-type table and times conversions between file formats
//! and Airbyte RECORD lines. Run through `scripts/bench-formats.sh`, which measures each
//! conversion in its own process (peak RSS).
//!
//! ```text
//! bench_formats gen <dir> <rows> [formats,comma,separated]
//! bench_formats to-records <format> <file>            # RECORD lines to stdout
//! bench_formats from-records <format> <codec> <records-file> <out-file>
//! ```
//! Each conversion prints one line to stderr: `RESULT <name> rows=<n> secs=<s> rows_per_sec=<r>`.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::*;
use arrow::datatypes::*;
use lakeport_core::formats::background::BackgroundWriter;
use lakeport_core::formats::{self, new_writer, FileFormat, ReadOptions, WriteOptions};
use lakeport_core::records::RecordSerializer;
use lakeport_core::sink::input::scan::scan_record;
use lakeport_core::sink::rows::{ChunkDecoder, RowChunk};
use serde_json::json;

const BATCH: usize = 10_000;

/// A format writer over a buffered local file.
type FileWriter = Box<dyn formats::FormatWriter<BufWriter<File>>>;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("qty", DataType::Int64, true),
        Field::new("price", DataType::Float64, true),
        Field::new("ratio", DataType::Float64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("comment", DataType::Utf8, true),
        Field::new("active", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "updated_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("score", DataType::Int64, true),
    ]))
}

/// Rows `start..start+n` of the table (deterministic).
fn batch(start: usize, n: usize) -> RecordBatch {
    const CITIES: [&str; 6] = ["Paris", "Zürich", "New York", "São Paulo", "東京", "Lagos"];
    let r = start..start + n;
    let h = |i: usize, k: u64| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(k as u32);
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(r.clone().map(|i| i as i64))),
        Arc::new(Int64Array::from_iter_values(r.clone().map(|i| (h(i, 3) % 1000) as i64))),
        Arc::new(Float64Array::from_iter_values(
            r.clone().map(|i| (h(i, 7) % 100_000) as f64 / 100.0),
        )),
        Arc::new(Float64Array::from_iter(r.clone().map(|i| {
            (h(i, 11) % 10 != 0).then(|| (h(i, 13) % 1_000_000) as f64 / 1_000_000.0)
        }))),
        Arc::new(StringArray::from_iter_values(r.clone().map(|i| format!("user_{i:08}")))),
        Arc::new(StringArray::from_iter_values(
            r.clone().map(|i| CITIES[(h(i, 17) % 6) as usize]),
        )),
        Arc::new(StringArray::from_iter(r.clone().map(|i| {
            (h(i, 19) % 5 != 0).then(|| format!("comment \"{}\" with, commas {}", i % 97, h(i, 23) % 10_000))
        }))),
        Arc::new(BooleanArray::from_iter(r.clone().map(|i| Some(h(i, 29) % 2 == 0)))),
        Arc::new(Date32Array::from_iter_values(
            r.clone().map(|i| 18_000 + (i % 3650) as i32),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                r.clone().map(|i| 1_600_000_000_000_000 + (i as i64) * 1_000_003),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from_iter(
                r.clone()
                    .map(|i| (h(i, 31) % 3 != 0).then(|| 1_650_000_000_000_000 + (h(i, 37) % 10_000_000_000) as i64)),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter(r.clone().map(|i| {
            (h(i, 41) % 4 != 0).then(|| (h(i, 43) % 1_000_000) as i64 - 500_000)
        }))),
    ];
    RecordBatch::try_new(schema(), cols).expect("valid batch")
}

fn report(name: &str, rows: usize, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "RESULT {name} rows={rows} secs={secs:.3} rows_per_sec={:.0}",
        rows as f64 / secs.max(1e-9)
    );
}

fn generate(dir: &str, rows: usize, which: &str) -> lakeport_core::Result<()> {
    let wanted: Vec<&str> = which.split(',').collect();
    let mut writers: Vec<(String, FileWriter)> = vec![];
    let opts = WriteOptions::default();
    for (fmt, codec, file) in [
        (FileFormat::Parquet, "snappy", "x.parquet"),
        (FileFormat::Csv, "none", "x.csv"),
        (FileFormat::Jsonl, "none", "x.jsonl"),
        (FileFormat::Avro, "snappy", "x.avro"),
    ] {
        if wanted.contains(&fmt.name()) {
            let f = File::create(format!("{dir}/{file}")).map_err(|e| lakeport_core::Error::io(file, e))?;
            writers.push((
                file.into(),
                new_writer(fmt, codec, schema(), BufWriter::with_capacity(1 << 20, f), &opts)?,
            ));
        }
    }
    let mut records = if wanted.contains(&"records") {
        let f = File::create(format!("{dir}/records.jsonl")).map_err(|e| lakeport_core::Error::io("records", e))?;
        Some(BufWriter::with_capacity(1 << 20, f))
    } else {
        None
    };
    let ser = RecordSerializer::new("bench", None, 1_700_000_000_000);
    let mut buf = Vec::with_capacity(4 << 20);
    let mut start = 0;
    while start < rows {
        let n = BATCH.min(rows - start);
        let b = batch(start, n);
        for (_, w) in writers.iter_mut() {
            w.write(&b)?;
        }
        if let Some(r) = records.as_mut() {
            buf.clear();
            ser.write_batch(&b, &mut buf)?;
            r.write_all(&buf).map_err(|e| lakeport_core::Error::io("records", e))?;
        }
        start += n;
    }
    for (name, w) in writers {
        let mut f = w.finish()?;
        f.flush().map_err(|e| lakeport_core::Error::io(&name, e))?;
    }
    if let Some(mut r) = records {
        r.flush().map_err(|e| lakeport_core::Error::io("records", e))?;
    }
    Ok(())
}

/// Reads `file` and writes RECORD lines to stdout; decoding runs on its own thread and
/// serialisation on this one (the source pipeline's shape).
fn to_records(format: FileFormat, file: &str) -> lakeport_core::Result<()> {
    let start = Instant::now();
    let (tx, rx) = sync_channel::<lakeport_core::Result<RecordBatch>>(2);
    let path = file.to_string();
    let reader = std::thread::spawn(move || {
        let opts = ReadOptions::default().with_batch_size(BATCH);
        match formats::read_path(std::path::Path::new(&path), Some(format), None, &opts, None) {
            Ok(r) => {
                for b in r {
                    if tx.send(b).is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        }
    });
    let ser = RecordSerializer::new("bench", None, 1_700_000_000_000).with_extra_fields(&[
        ("_ab_source_file_url", json!(file)),
        ("_ab_source_file_last_modified", json!("2024-01-01T00:00:00.000000Z")),
    ]);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut buf = Vec::with_capacity(8 << 20);
    let mut rows = 0;
    for b in rx {
        let b = b?;
        buf.clear();
        ser.write_batch(&b, &mut buf)?;
        out.write_all(&buf).map_err(|e| lakeport_core::Error::io("stdout", e))?;
        rows += b.num_rows();
    }
    out.flush().map_err(|e| lakeport_core::Error::io("stdout", e))?;
    let _ = reader.join();
    report(&format!("{format}->records"), rows, start);
    Ok(())
}

/// Reads RECORD lines and writes a file through the destinations' own pipeline: each line
/// scanned without a JSON tree (`sink::input::scan`), its `data` buffered, decoded a batch at a time
/// on one thread (`sink::rows`) and encoded on another (`formats::background`).
fn from_records(format: FileFormat, codec: &str, records: &str, out: &str) -> lakeport_core::Result<()> {
    let start = Instant::now();
    let f = File::open(records).map_err(|e| lakeport_core::Error::io(records, e))?;
    let mut input = BufReader::with_capacity(1 << 20, f);
    let o = File::create(out).map_err(|e| lakeport_core::Error::io(out, e))?;
    let inner = new_writer(
        format,
        codec,
        schema(),
        BufWriter::with_capacity(1 << 20, o),
        &WriteOptions::default(),
    )?;
    let encoder: FileWriter = Box::new(BackgroundWriter::spawn(inner)?);
    let mut decoder = ChunkDecoder::new("bench", schema(), false, BATCH)?;
    let mut w = BackgroundWriter::spawn_with(encoder, move |chunk: RowChunk| decoder.decode(&chunk))?;
    let mut chunk = RowChunk::default();
    let mut line = String::with_capacity(4096);
    let (mut n, mut count) = (0u64, 0usize);
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .map_err(|e| lakeport_core::Error::io(records, e))?;
        if read == 0 {
            break;
        }
        n += 1;
        let Some(record) = scan_record(line.trim_end()).and_then(|l| l.record) else {
            continue;
        };
        count += 1;
        chunk.push(record.data, record.emitted_at, n);
        if chunk.len() >= BATCH {
            w.send(std::mem::take(&mut chunk))?;
        }
    }
    if !chunk.is_empty() {
        w.send(chunk)?;
    }
    let mut f = w.finish()?;
    f.flush().map_err(|e| lakeport_core::Error::io(out, e))?;
    report(&format!("records->{format}({codec})"), count, start);
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    let result = match arg(1) {
        "gen" => generate(
            arg(2),
            arg(3).parse().unwrap_or(1_000_000),
            if arg(4).is_empty() {
                "parquet,csv,jsonl,avro,records"
            } else {
                arg(4)
            },
        ),
        "to-records" => arg(2).parse().and_then(|f| to_records(f, arg(3))),
        "from-records" => arg(2).parse().and_then(|f| from_records(f, arg(3), arg(4), arg(5))),
        _ => {
            eprintln!("usage: bench_formats gen DIR ROWS [FORMATS] | to-records FORMAT FILE | from-records FORMAT CODEC RECORDS OUT");
            std::process::exit(2);
        }
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
