//! Every format reader on arbitrary bytes, plain and behind every
//! compression codec: batches or an error, never a panic. The first byte
//! picks the format and the codec (with codec detection by magic bytes too).
//!
//! A panic the readers catch themselves (`lakeport_protocol::panics`, around
//! the `parquet` and `apache-avro` crates, which assert on some malformed
//! files) is their error, not a crash: libFuzzer's abort-on-panic hook is
//! skipped for it. Any other panic still aborts.
#![no_main]

use std::sync::Once;

use lakeport_core::formats::compression::{open_decompressed, Compression};
use lakeport_core::formats::options::ReadOptions;
use lakeport_core::formats::{read_stream, FileFormat};
use libfuzzer_sys::fuzz_target;

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

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !lakeport_protocol::panics::is_catching() {
                abort(info);
            }
        }));
    });
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let format = FORMATS[usize::from(pick & 0x07) % FORMATS.len()];
    let codec = CODECS[usize::from(pick >> 3) % CODECS.len()];
    let opts = ReadOptions::default().with_batch_size(64).with_max_rows(Some(10_000));
    let Ok((_, input)) = open_decompressed("fuzz", codec, Box::new(body)) else {
        return;
    };
    // At most 16 MB decompressed: a small input may expand a lot.
    let input = Box::new(std::io::Read::take(input, 16 << 20));
    let Ok(reader) = read_stream("fuzz", input, format, &opts, None) else {
        return;
    };
    for batch in reader {
        if batch.is_err() {
            break;
        }
    }
});
