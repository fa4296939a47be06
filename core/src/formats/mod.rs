//! Streaming readers and writers for every supported file format, and compression.
//!
//! Reading: [`read_stream`] turns a (decompressed) byte stream of any format into an iterator
//! of Arrow `RecordBatch`es; [`parquet::read_parquet`] / [`parquet::read_parquet_async`]
//! read Parquet with ranged reads; [`read_path`] does everything for a local file.
//! Writing: [`new_writer`] returns a [`FormatWriter`] for any format and codec;
//! [`write_path`] writes a local file.
//!
//! Each format is one module (`csv/`, `json/`, `parquet/`, `avro/`: its reader, its writer
//! and their constructors) plus one entry in the registry ([`FORMATS`], a [`FormatSpec`]
//! per [`FileFormat`]): its names and extensions, whether it reads and writes, whether it
//! needs random access, its codecs, and its reader and writer constructors. [`read_stream`],
//! [`read_path`], [`new_writer`], [`FileFormat::from_extension`] and [`FileFormat`]'s
//! `FromStr` go through the registry. Shared by the formats: [`options`] (reader options),
//! `conform` (batches made to fit a target schema), `io` (line cap, text decoding),
//! [`compression`] (stream codecs), [`writer`] (the writer trait), [`background`] (a writer
//! on its own thread).
//!
//! Layering: formats build on [`crate::records`] (JSON values ⇄ Arrow) and
//! [`crate::schema`]; they import nothing above them (nor storage: bytes come in as
//! `Read`, `ChunkReader` or `AsyncFileReader`).
//!
//! Adding a format:
//! 1. `formats/<name>/` (`read.rs`, `write.rs`, `mod.rs`): a [`BatchReader`] with a
//!    constructor of type [`OpenStream`] (and one of type [`OpenFile`] when it reads better
//!    with random access), and a [`FormatWriter`] with a constructor of type [`NewWriter`]
//!    if it can be written (text formats wrap their sink in `writer::stream_sink`);
//! 2. `formats/mod.rs`: `mod <name>;`;
//! 3. `formats/registry.rs`: the [`FileFormat`] variant and its [`FormatSpec`] in `TABLE`
//!    (names, extensions, family, random access, codecs, constructors), in variant order —
//!    a compile-time check keeps the order;
//! 4. the tests: a round trip in `core/tests/roundtrip.rs` read back by an independent reader
//!    in `tests/tests/formats_interop.rs`, and malformed input in `core/tests/malformed_files.rs`.
//!
//! Code outside `formats` should ask `format.spec()` for these properties rather than
//! match on the variant. A random-access format besides Parquet also needs a
//! ranged reader for object stores (as [`parquet::read_parquet_ranged`]), wired where the
//! source engine opens objects.

pub mod avro;
pub mod background;
pub mod compression;
mod conform;
pub mod csv;
mod io;
pub mod json;
pub mod options;
pub mod parquet;
mod reader;
mod registry;
pub mod writer;

use std::io::{Read, Write};
use std::path::Path;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

pub use compression::Compression;
pub use options::{ColumnFilter, CsvOptions, FilterOp, OnBadRecord, ReadOptions, TextEncoding};
pub use reader::{BatchReader, Warnings};
pub use registry::{FileFormat, FormatSpec, NewWriter, OpenFile, OpenStream, FORMATS};
use writer::Typed;
pub use writer::{FormatWriter, Sink, WriteOptions};

use crate::error::{Error, Result};

/// Reads `input` — a decompressed byte stream of `file` in `format` — as record batches of
/// `opts.batch_size` rows. With `target` (from the catalog), batches conform to it: missing
/// columns null, values cast, unconvertible values failing or skipped per
/// `opts.on_bad_record`. Without, the schema is inferred from a bounded sample (CSV/JSON) or
/// read from the file (Parquet/Avro).
///
/// Parquet needs random access: here the stream is buffered whole in memory; prefer
/// [`parquet::read_parquet`] (a `File` or any `ChunkReader`) or
/// [`parquet::read_parquet_async`] (ranged reads) for large files.
pub fn read_stream<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    format: FileFormat,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    let spec = format.spec();
    let open = spec
        .read_stream
        .ok_or_else(|| Error::Config(format!("{} files cannot be read; set another format", spec.name)))?;
    open(file, input, opts, target)
}

/// The schema of a stream, inferred from a bounded sample (`opts.infer_rows` rows for CSV/TSV
/// and JSON/JSONL) or read from the file's own schema (Avro header; Parquet footer — the whole
/// stream is buffered for Parquet here, prefer [`parquet::parquet_schema`]). Returns the
/// schema and warnings (e.g. conflicting types widened to string). Only the sample is read.
pub fn infer_schema(
    file: &str,
    input: Box<dyn Read + Send + '_>,
    format: FileFormat,
    opts: &ReadOptions,
) -> Result<(arrow::datatypes::Schema, Vec<String>)> {
    let mut reader = read_stream(file, input, format, opts, None)?;
    let schema = reader.schema().as_ref().clone();
    Ok((schema, reader.take_warnings()))
}

/// Reads a local file: the format from `format` or the extension, the compression from
/// `compression` or the extension then magic bytes. Parquet files are read with random
/// access (footer, then the needed column chunks).
pub fn read_path(
    path: &Path,
    format: Option<FileFormat>,
    compression: Option<Compression>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    let name = path.display().to_string();
    let format = match format {
        Some(f) => f,
        None => FileFormat::from_extension(&name).ok_or_else(|| {
            Error::Config(format!(
                "cannot tell the format of {name} from its extension; set the format explicitly"
            ))
        })?,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(&name, e))?;
    if let Some(open_file) = format.spec().read_file {
        if matches!(compression, None | Some(Compression::None)) && Compression::from_extension(&name).is_none() {
            return open_file(&name, file, opts, target);
        }
    }
    let (_, input) = compression::open_decompressed(&name, compression, Box::new(file))?;
    read_stream(&name, input, format, opts, target)
}

/// Reads every batch of a reader into memory (for tests and small files).
pub fn collect(reader: Box<dyn BatchReader + '_>) -> Result<Vec<RecordBatch>> {
    reader.collect()
}

/// A writer of `format` with `codec` over `sink` for batches of `schema` (the format's
/// registered writer, see [`FormatSpec::write`]).
///
/// `codec` is the format's compression: Parquet `snappy|gzip|zstd|lz4|brotli|none`, Avro
/// `null|deflate|snappy|zstd|bzip2|xz`, CSV/JSON/JSONL a stream codec (`gzip|zstd|none`, and
/// also `bz2|lz4|snappy|brotli`); an empty string picks the default (snappy for Parquet,
/// none otherwise).
pub fn new_writer<W: Write + Send + 'static>(
    format: FileFormat,
    codec: &str,
    schema: SchemaRef,
    sink: W,
    opts: &WriteOptions,
) -> Result<Box<dyn FormatWriter<W>>> {
    let spec = format.spec();
    let new = spec
        .write
        .ok_or_else(|| Error::Config(format!("{} files cannot be written; set another format", spec.name)))?;
    let inner = new(codec, schema, Box::new(sink), opts)?;
    Ok(Box::new(Typed::<W>::new(inner)))
}

/// Writes `batches` to a new local file at `path` (format from `format`, codec as in
/// [`new_writer`]). Returns the bytes written.
pub fn write_path(
    path: &std::path::Path,
    format: FileFormat,
    codec: &str,
    schema: SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64> {
    let name = path.display().to_string();
    let file = std::fs::File::create(path).map_err(|e| Error::io(&name, e))?;
    let mut w = new_writer(
        format,
        codec,
        schema,
        std::io::BufWriter::with_capacity(1 << 20, file),
        &WriteOptions::default(),
    )?;
    for b in batches {
        w.write(b)?;
    }
    let mut buf = w.finish()?;
    buf.flush().map_err(|e| Error::io(&name, e))?;
    let file = buf.into_inner().map_err(|e| Error::io(&name, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&name, e))?;
    Ok(file.metadata().map(|m| m.len()).unwrap_or(0))
}
