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
