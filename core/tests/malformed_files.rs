//! Malformed files that made a third-party reader panic (found by fuzzing,
//! `fuzz/corpus/format_reader/regress-*`): each is now an error naming the
//! file, never a panic. The first byte of each file picks the format and the
//! codec as the `format_reader` fuzz target does.

use std::path::Path;

use lakeport_core::formats::compression::{open_decompressed, Compression};
use lakeport_core::formats::options::ReadOptions;
use lakeport_core::formats::{read_stream, FileFormat};

const FORMATS: [FileFormat; 6] = [
    FileFormat::Csv,
    FileFormat::Tsv,
    FileFormat::Json,
    FileFormat::Jsonl,
    FileFormat::Parquet,
    FileFormat::Avro,
];

const CODECS: [Option<Compression>; 9] = [
    Some(Compression::None),
    None,
    Some(Compression::Gzip),
    Some(Compression::Bz2),
    Some(Compression::Zstd),
    Some(Compression::Snappy),
    Some(Compression::Lz4),
    Some(Compression::Brotli),
    Some(Compression::Zip),
];

/// Reads `data` as the fuzz target does; the first error's text, if any.
fn read(data: &[u8]) -> Option<String> {
    let (&pick, body) = data.split_first()?;
    let format = FORMATS[usize::from(pick & 0x07) % FORMATS.len()];
    let codec = CODECS[usize::from(pick >> 3) % CODECS.len()];
    let opts = ReadOptions::default().with_batch_size(64);
    let (_, input) = match open_decompressed("regress", codec, Box::new(body)) {
        Ok(x) => x,
        Err(e) => return Some(e.to_string()),
    };
    let reader = match read_stream("regress", input, format, &opts, None) {
        Ok(r) => r,
        Err(e) => return Some(e.to_string()),
    };
    for batch in reader {
        if let Err(e) = batch {
            return Some(e.to_string());
        }
    }
    None
}

#[test]
fn files_that_made_a_reader_panic_are_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/format_reader");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the fuzz corpus") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let data = std::fs::read(&path).expect("read");
        let error = read(&data);
        if let Some(why) = name.strip_prefix("regress-") {
            seen += 1;
            let e = error.unwrap_or_else(|| panic!("{name} read without an error"));
            println!("{name}: {e}");
            assert!(e.contains("regress") && e.contains("not valid"), "{name} ({why}): {e}");
        }
    }
    assert!(seen >= 3, "the regression files are missing");
}

/// Footers other writers got wrong, repaired before reading (the Parquet project's own test
/// files in `../shared/conformance`): a column metadata field of the wrong type and a
/// dictionary page offset of 0 (a pre-release parquet-mr); chunk sizes without the
/// dictionary page header (parquet-mr before 1.2.9). Read through the sync reader here; the
/// ranged reader is exercised by the conformance integration test.
#[test]
fn footers_other_writers_got_wrong_are_repaired() {
    use arrow::array::{AsArray, RecordBatch};
    use arrow::datatypes::Int32Type;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/parquet-testing/data");
    let read = |name: &str| -> Vec<RecordBatch> {
        let r = lakeport_core::formats::read_path(&dir.join(name), None, None, &ReadOptions::default(), None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        lakeport_core::formats::collect(r).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let keys: Vec<i32> = read("dict-page-offset-zero.parquet")
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(keys, vec![1552; 39]);
    let nation = read("nation.dict-malformed.parquet");
    let names: Vec<String> = nation
        .iter()
        .flat_map(|b| {
            let c = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Utf8).unwrap();
            c.as_string::<i32>()
                .iter()
                .map(|v| v.unwrap_or("").to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(names.len(), 25);
    assert_eq!((names[0].as_str(), names[24].as_str()), ("ALGERIA", "UNITED STATES"));
}
