//! The format registry: one [`FormatSpec`] per [`FileFormat`], saying what the format is
//! called, which extensions name it, whether it can be read and written, whether it needs
//! random access, which codecs apply, and the constructors of its reader and writer.
//!
//! Everything that depends on the format — [`super::read_stream`], [`super::read_path`],
//! [`super::new_writer`], [`FileFormat::from_extension`], [`FromStr`], the codec lists
//! destinations offer — asks the registry instead of matching on the format.

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use arrow::datatypes::SchemaRef;

use super::compression::Compression;
use super::options::ReadOptions;
use super::reader::BatchReader;
use super::writer::{FormatWriter, Sink, WriteOptions};
use super::{avro, csv, json, parquet};
use crate::error::{Error, Result};

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    /// Comma-separated values (any delimiter).
    Csv,
    /// Tab-separated values.
    Tsv,
    /// A JSON array of objects, or one object.
    Json,
    /// One JSON object per line (NDJSON).
    Jsonl,
    /// Apache Parquet.
    Parquet,
    /// Apache Avro object container file.
    Avro,
}

/// Opens a (decompressed) byte stream of the format as record batches: the file's name for
/// messages, the stream, the read options and the target schema (from the catalog), if any.
pub type OpenStream =
    for<'a> fn(&str, Box<dyn Read + Send + 'a>, &ReadOptions, Option<SchemaRef>) -> Result<Box<dyn BatchReader + 'a>>;

/// Opens a local file of a random-access format with random access (footer, then the
/// needed parts only).
pub type OpenFile = fn(&str, std::fs::File, &ReadOptions, Option<SchemaRef>) -> Result<Box<dyn BatchReader>>;

/// A writer of the format over any sink: the codec name (empty: the format's default),
/// the schema of the batches, the sink and the writer options.
pub type NewWriter = fn(&str, SchemaRef, Box<dyn Sink>, &WriteOptions) -> Result<Box<dyn FormatWriter<Box<dyn Sink>>>>;

/// What the engine knows about one format: its registration.
#[derive(Clone, Copy)]
pub struct FormatSpec {
    /// The format this entry describes.
    pub format: FileFormat,
    /// The canonical name (`"csv"`, `"jsonl"`, …), also the extension written.
    pub name: &'static str,
    /// Other names accepted in configs (`ndjson` for `jsonl`).
    pub aliases: &'static [&'static str],
    /// The extensions (lower case, no dot) that name the format on read.
    pub extensions: &'static [&'static str],
    /// Formats of one family are read alike (CSV and TSV a delimiter apart, JSON and JSON
    /// lines): an extension of another family contradicts a configured format.
    pub family: &'static str,
    /// The format needs random access (a footer at the end, as Parquet): objects are read
    /// with ranged reads, local files with seeks, and a plain stream is buffered whole.
    pub random_access: bool,
    /// The format compresses inside the file (Parquet pages, Avro blocks): its codecs are
    /// its own and the file is never wrapped in a stream codec (no `.gz` extension).
    /// Otherwise a codec is a stream [`Compression`] around the whole file.
    pub compresses_itself: bool,
    /// The codecs a destination offers for the format, the first its default.
    pub codecs: &'static [&'static str],
    /// Its reader over a byte stream (`None`: the format cannot be read).
    pub read_stream: Option<OpenStream>,
    /// Its reader over a local file with random access, when it reads better so.
    pub read_file: Option<OpenFile>,
    /// Its writer (`None`: the format cannot be written).
    pub write: Option<NewWriter>,
}

impl fmt::Debug for FormatSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormatSpec")
            .field("name", &self.name)
            .field("extensions", &self.extensions)
            .field("random_access", &self.random_access)
            .field("codecs", &self.codecs)
            .field("reads", &self.read_stream.is_some())
            .field("writes", &self.write.is_some())
            .finish()
    }
}

/// The stream codecs offered for text formats (compression around the whole file).
const STREAM_CODECS: &[&str] = &["none", "gzip", "zstd"];

/// Every format, in the order of [`FileFormat`]'s variants ([`FileFormat::spec`] indexes it;
/// a check at compile time keeps the order).
pub static FORMATS: [FormatSpec; 6] = TABLE;

const TABLE: [FormatSpec; 6] = [
    FormatSpec {
        format: FileFormat::Csv,
        name: "csv",
        aliases: &[],
        extensions: &["csv", "txt"],
        family: "delimited",
        random_access: false,
        compresses_itself: false,
        codecs: STREAM_CODECS,
        read_stream: Some(csv::open_csv),
        read_file: None,
        write: Some(csv::csv_writer),
    },
    FormatSpec {
        format: FileFormat::Tsv,
        name: "tsv",
        aliases: &[],
        extensions: &["tsv", "tab"],
        family: "delimited",
        random_access: false,
        compresses_itself: false,
        codecs: STREAM_CODECS,
        read_stream: Some(csv::open_tsv),
        read_file: None,
        write: Some(csv::tsv_writer),
    },
    FormatSpec {
        format: FileFormat::Json,
        name: "json",
        aliases: &[],
        extensions: &["json"],
        family: "json",
        random_access: false,
        compresses_itself: false,
        codecs: STREAM_CODECS,
        read_stream: Some(json::open_json),
        read_file: None,
        write: Some(json::json_writer),
    },
    FormatSpec {
        format: FileFormat::Jsonl,
        name: "jsonl",
        aliases: &["ndjson", "jsonlines", "json_lines"],
        extensions: &["jsonl", "ndjson"],
        family: "json",
        random_access: false,
        compresses_itself: false,
        codecs: STREAM_CODECS,
        read_stream: Some(json::open_jsonl),
        read_file: None,
        write: Some(json::jsonl_writer),
    },
    FormatSpec {
        format: FileFormat::Parquet,
        name: "parquet",
        aliases: &[],
        extensions: &["parquet", "pq", "parq"],
        family: "parquet",
        random_access: true,
        compresses_itself: true,
        codecs: &["snappy", "gzip", "zstd", "lz4", "brotli", "none"],
        read_stream: Some(parquet::open_stream),
        read_file: Some(parquet::open_file),
        write: Some(parquet::new_parquet_writer),
    },
    FormatSpec {
        format: FileFormat::Avro,
        name: "avro",
        aliases: &[],
        extensions: &["avro"],
        family: "avro",
        random_access: false,
        compresses_itself: true,
        codecs: &["snappy", "deflate", "zstd", "bzip2", "xz", "none"],
        read_stream: Some(avro::open_stream),
        read_file: None,
        write: Some(avro::new_avro_writer),
    },
];

// Entry `i` describes the variant with discriminant `i`.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(
            TABLE[i].format as usize == i,
            "FORMATS must list the formats in variant order"
        );
        i += 1;
    }
};

impl FileFormat {
    /// The format's registration.
    pub fn spec(self) -> &'static FormatSpec {
        &FORMATS[self as usize]
    }

    /// The canonical name (`"csv"`, `"jsonl"`, …).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The file extension written (without a dot).
    pub fn extension(self) -> &'static str {
        self.spec().name
    }

    /// Detects the format from a path's extension, ignoring a compression extension
    /// (`x.csv.gz` → `Csv`).
    pub fn from_extension(path: &str) -> Option<FileFormat> {
        let path = match Compression::from_extension(path) {
            Some((_, stem)) => stem,
            None => path,
        };
        let (_, ext) = path.rsplit_once('.')?;
        let ext = ext.to_ascii_lowercase();
        FORMATS
            .iter()
            .find(|s| s.extensions.contains(&ext.as_str()))
            .map(|s| s.format)
    }

    /// The format `path`'s extension names when it is of another family than
    /// `self` (a `.jsonl` key read as CSV, a `.csv` one as Parquet): reading
    /// it as `self` is likely a mistake. CSV and TSV are one family (a
    /// delimiter apart), and so are JSON and JSON lines.
    pub fn contradicted_by(self, path: &str) -> Option<FileFormat> {
        FileFormat::from_extension(path).filter(|other| other.spec().family != self.spec().family)
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FileFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim().to_ascii_lowercase();
        FORMATS
            .iter()
            .find(|spec| spec.name == s || spec.aliases.contains(&s.as_str()))
            .map(|spec| spec.format)
            .ok_or_else(|| {
                let names: Vec<&str> = FORMATS.iter().map(|spec| spec.name).collect();
                Error::Config(format!("unknown file format '{s}'; use one of {}", names.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::{FileFormat, FORMATS};

    #[test]
    fn an_extension_of_another_kind_contradicts_the_configured_format() {
        assert_eq!(FileFormat::Csv.contradicted_by("a/b.jsonl"), Some(FileFormat::Jsonl));
        assert_eq!(
            FileFormat::Csv.contradicted_by("a/b.parquet"),
            Some(FileFormat::Parquet)
        );
        assert_eq!(FileFormat::Parquet.contradicted_by("a/b.csv.gz"), Some(FileFormat::Csv));
        // One kind: a delimiter apart, or JSON and JSON lines.
        assert_eq!(FileFormat::Csv.contradicted_by("a/b.tsv"), None);
        assert_eq!(FileFormat::Jsonl.contradicted_by("a/b.json"), None);
        // No extension, or one no format claims: nothing to contradict.
        assert_eq!(FileFormat::Csv.contradicted_by("a/b"), None);
        assert_eq!(FileFormat::Avro.contradicted_by("a/b.dat"), None);
    }

    #[test]
    fn names_extensions_and_aliases_come_from_the_registry() {
        for (path, format) in [
            ("x.csv", FileFormat::Csv),
            ("x.TXT", FileFormat::Csv),
            ("x.tab", FileFormat::Tsv),
            ("x.json.gz", FileFormat::Json),
            ("x.ndjson", FileFormat::Jsonl),
            ("x.pq", FileFormat::Parquet),
            ("x.parq", FileFormat::Parquet),
            ("x.avro", FileFormat::Avro),
        ] {
            assert_eq!(FileFormat::from_extension(path), Some(format), "{path}");
        }
        assert_eq!(FileFormat::from_extension("x.dat"), None);
        assert_eq!(FileFormat::from_extension("noext"), None);
        for (name, format) in [
            (" CSV ", FileFormat::Csv),
            ("json_lines", FileFormat::Jsonl),
            ("jsonlines", FileFormat::Jsonl),
            ("ndjson", FileFormat::Jsonl),
            ("parquet", FileFormat::Parquet),
        ] {
            assert_eq!(name.parse::<FileFormat>().ok(), Some(format), "{name}");
        }
        let err = "orc".parse::<FileFormat>().unwrap_err().to_string();
        assert!(
            err.contains("unknown file format 'orc'; use one of csv, tsv, json, jsonl, parquet, avro"),
            "{err}"
        );
        for spec in &FORMATS {
            assert_eq!(spec.format.spec().name, spec.name);
            assert_eq!(spec.format.to_string(), spec.name);
            assert_eq!(spec.format.extension(), spec.name);
            assert_eq!(spec.name.parse::<FileFormat>().ok(), Some(spec.format));
            assert!(spec.read_stream.is_some() && spec.write.is_some(), "{}", spec.name);
        }
        let random: Vec<&str> = FORMATS.iter().filter(|s| s.random_access).map(|s| s.name).collect();
        assert_eq!(random, ["parquet"]);
    }
}
