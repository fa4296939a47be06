//! Reader options shared by every format: batch size, CSV dialect, bad-record policy,
//! Parquet projection and filters, JSON flattening.

use std::str::FromStr;

use serde_json::Value as JsonValue;

use crate::error::{Error, Result};

/// What to do about a value that does not fit its column's type.
pub(crate) const FIT_ADVICE: &str = "if the column really holds such values, run discover again (types are \
     inferred from a sample of the first rows) or declare the column's type; to skip such records instead, \
     set on_error: skip";

/// What to do with a record that does not fit (ragged CSV row, value not castable to the
/// target type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnBadRecord {
    /// Stop with an [`Error::Format`] naming the file and line.
    #[default]
    Fail,
    /// Drop the record and collect a warning (see [`super::BatchReader::take_warnings`]).
    Skip,
    /// Keep the record: a value that cannot be converted to the target type is
    /// null, with a warning. Rows that cannot be parsed at all (ragged CSV rows,
    /// invalid text) and JSON values the decoder itself rejects still fail.
    /// Set programmatically (Airbyte's "Emit Record"), not parsed from `on_error`.
    Emit,
}

impl FromStr for OnBadRecord {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fail" | "error" | "emit_record" | "fail_sync" => Ok(OnBadRecord::Fail),
            "skip" | "skip_record" | "ignore" | "warn" => Ok(OnBadRecord::Skip),
            other => Err(Error::Config(format!(
                "unknown on_bad_record policy '{other}'; use 'fail' or 'skip'"
            ))),
        }
    }
}

/// A text encoding accepted for CSV/TSV input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextEncoding {
    /// UTF-8 (a leading BOM is skipped); invalid bytes are an error naming the line.
    #[default]
    Utf8,
    /// UTF-8 with a byte-order mark (BOM removed).
    Utf8Sig,
    /// UTF-16 with a BOM (little-endian without one).
    Utf16,
    /// UTF-16 little-endian.
    Utf16Le,
    /// UTF-16 big-endian.
    Utf16Be,
    /// ISO-8859-1 / latin-1 (decoded as windows-1252, its superset, as browsers do).
    Latin1,
    /// windows-1252.
    Windows1252,
}

impl FromStr for TextEncoding {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let norm = s.trim().to_ascii_lowercase().replace('_', "-");
        Ok(match norm.as_str() {
            "utf-8" | "utf8" | "" => TextEncoding::Utf8,
            "utf-8-sig" | "utf8-sig" => TextEncoding::Utf8Sig,
            "utf-16" | "utf16" => TextEncoding::Utf16,
            "utf-16le" | "utf-16-le" => TextEncoding::Utf16Le,
            "utf-16be" | "utf-16-be" => TextEncoding::Utf16Be,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => TextEncoding::Latin1,
            "windows-1252" | "cp1252" => TextEncoding::Windows1252,
            other => {
                return Err(Error::Config(format!(
                    "unsupported encoding '{other}'; use utf-8, utf-8-sig, utf-16, latin-1 or windows-1252"
                )))
            }
        })
    }
}

/// The CSV/TSV dialect.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    /// Field delimiter (`,`; `\t` for TSV).
    pub delimiter: u8,
    /// Whether the first (non-skipped) row holds the column names.
    pub header: bool,
    /// Quote character.
    pub quote: u8,
    /// Escape character inside quoted fields (`None`: quotes are escaped by doubling).
    pub escape: Option<u8>,
    /// Field values read as null (besides an empty unquoted field for non-string columns).
    pub null_values: Vec<String>,
    /// Lines skipped before the header.
    pub skip_rows_before_header: usize,
    /// Rows skipped after the header.
    pub skip_rows_after_header: usize,
    /// Text encoding.
    pub encoding: TextEncoding,
    /// Column names used when `header` is false (otherwise `f0`, `f1`, …).
    pub column_names: Option<Vec<String>>,
    /// The strings read as booleans (`csv_true_values` / `csv_false_values`);
    /// `None`: `true`/`false` are inferred as booleans, and a boolean column
    /// reads them and `t`/`f`, `yes`/`no`, `y`/`n`, `on`/`off`, `1`/`0` in any case.
    pub booleans: Option<BoolValues>,
}

/// The strings a CSV boolean column reads, matched exactly (case-sensitive,
/// surrounding spaces ignored), as Airbyte's CSV parser does; a value in both
/// lists is true.
#[derive(Debug, Clone, PartialEq)]
pub struct BoolValues {
    /// Strings read as `true`.
    pub true_values: Vec<String>,
    /// Strings read as `false`.
    pub false_values: Vec<String>,
}

impl BoolValues {
    /// Airbyte's default true values (file-based CDK `DEFAULT_TRUE_VALUES`).
    pub const DEFAULT_TRUE: [&'static str; 6] = ["y", "yes", "t", "true", "on", "1"];
    /// Airbyte's default false values (file-based CDK `DEFAULT_FALSE_VALUES`).
    pub const DEFAULT_FALSE: [&'static str; 6] = ["n", "no", "f", "false", "off", "0"];

    /// The lists a config gives; a list not given takes Airbyte's default.
    /// `None` when neither is given.
    pub fn from_lists(true_values: Option<&[String]>, false_values: Option<&[String]>) -> Option<Self> {
        if true_values.is_none() && false_values.is_none() {
            return None;
        }
        let or_default = |given: Option<&[String]>, default: &[&str]| {
            given
                .map(<[String]>::to_vec)
                .unwrap_or_else(|| default.iter().map(|s| (*s).to_string()).collect())
        };
        Some(BoolValues {
            true_values: or_default(true_values, &Self::DEFAULT_TRUE),
            false_values: or_default(false_values, &Self::DEFAULT_FALSE),
        })
    }

    /// The boolean `value` stands for, if any.
    pub fn parse(&self, value: &str) -> Option<bool> {
        let matches = |list: &[String]| list.iter().any(|t| t == value || t == value.trim());
        if matches(&self.true_values) {
            Some(true)
        } else if matches(&self.false_values) {
            Some(false)
        } else {
            None
        }
    }
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            header: true,
            quote: b'"',
            escape: None,
            null_values: vec![],
            skip_rows_before_header: 0,
            skip_rows_after_header: 0,
            encoding: TextEncoding::Utf8,
            column_names: None,
            booleans: None,
        }
    }
}

/// A comparison in a Parquet filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterOp {
    /// `=`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `in` (the value is a list)
    In,
}

impl FromStr for FilterOp {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "=" | "==" => FilterOp::Eq,
            "!=" | "<>" => FilterOp::NotEq,
            "<" => FilterOp::Lt,
            "<=" => FilterOp::LtEq,
            ">" => FilterOp::Gt,
            ">=" => FilterOp::GtEq,
            "in" => FilterOp::In,
            other => {
                return Err(Error::Config(format!(
                    "unknown parquet filter operator '{other}'; use one of = != < <= > >= in"
                )))
            }
        })
    }
}

/// One `[column, op, value]` filter; several filters are combined with AND.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnFilter {
    /// The column name.
    pub column: String,
    /// The comparison.
    pub op: FilterOp,
    /// The value (a list for `in`); cast to the column's type.
    pub value: JsonValue,
}

impl ColumnFilter {
    /// Parses a `[column, op, value]` JSON triple as written in configs.
    pub fn from_json(v: &JsonValue) -> Result<Self> {
        let bad = || {
            Error::Config(format!(
                "parquet_filters entries must be [column, op, value] triples, got {v}"
            ))
        };
        let arr = v.as_array().ok_or_else(bad)?;
        if arr.len() != 3 {
            return Err(bad());
        }
        let column = arr[0].as_str().ok_or_else(bad)?.to_string();
        let op: FilterOp = arr[1].as_str().ok_or_else(bad)?.parse()?;
        if op == FilterOp::In && !arr[2].is_array() {
            return Err(Error::Config(format!(
                "parquet filter on '{column}' with 'in' needs a list value"
            )));
        }
        Ok(ColumnFilter {
            column,
            op,
            value: arr[2].clone(),
        })
    }
}

/// Options for every reader. Build with [`ReadOptions::default`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// Rows per output batch.
    pub batch_size: usize,
    /// CSV/TSV dialect (the delimiter defaults to tab for TSV).
    pub csv: CsvOptions,
    /// What to do with a record that does not fit.
    pub on_bad_record: OnBadRecord,
    /// Parquet projection: only these columns are read (all when `None`).
    pub parquet_columns: Option<Vec<String>>,
    /// Parquet filters pushed down (AND-ed).
    pub parquet_filters: Vec<ColumnFilter>,
    /// JSON/JSONL: nested objects become `parent.child` columns.
    pub json_flatten: bool,
    /// JSON/JSONL: nesting depth flattened at most; deeper values stay JSON text.
    pub json_max_depth: usize,
    /// Longest line / JSON element accepted, in bytes.
    pub max_line_bytes: usize,
    /// Rows sampled for schema inference.
    pub infer_rows: usize,
    /// Rows read of each file at most (`None`: all); pandas' `nrows`.
    pub max_rows: Option<u64>,
    /// Threads one file's reader may decode on (JSON lines; 1: the caller's thread only).
    pub decode_threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            batch_size: 8192,
            csv: CsvOptions::default(),
            on_bad_record: OnBadRecord::Fail,
            parquet_columns: None,
            parquet_filters: vec![],
            json_flatten: false,
            json_max_depth: 10,
            max_line_bytes: 16 << 20,
            infer_rows: 1000,
            max_rows: None,
            decode_threads: 1,
        }
    }
}

impl ReadOptions {
    /// Sets the threads one file's reader may decode on (at least 1).
    pub fn with_decode_threads(mut self, n: usize) -> Self {
        self.decode_threads = n.max(1);
        self
    }

    /// Sets the batch size (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Sets the CSV options.
    pub fn with_csv(mut self, csv: CsvOptions) -> Self {
        self.csv = csv;
        self
    }

    /// Sets the bad-record policy.
    pub fn with_on_bad_record(mut self, p: OnBadRecord) -> Self {
        self.on_bad_record = p;
        self
    }

    /// Sets the Parquet projection.
    pub fn with_parquet_columns(mut self, cols: Vec<String>) -> Self {
        self.parquet_columns = Some(cols);
        self
    }

    /// Sets the Parquet filters.
    pub fn with_parquet_filters(mut self, f: Vec<ColumnFilter>) -> Self {
        self.parquet_filters = f;
        self
    }

    /// Sets JSON flattening and its maximum depth.
    pub fn with_json_flatten(mut self, flatten: bool, max_depth: usize) -> Self {
        self.json_flatten = flatten;
        self.json_max_depth = max_depth;
        self
    }

    /// Reads at most `n` rows of each file (`None`: all).
    pub fn with_max_rows(mut self, n: Option<u64>) -> Self {
        self.max_rows = n;
        self
    }

    /// Sets the longest accepted line in bytes.
    pub fn with_max_line_bytes(mut self, n: usize) -> Self {
        self.max_line_bytes = n.max(1024);
        self
    }

    /// Sets how many rows are sampled for inference.
    pub fn with_infer_rows(mut self, n: usize) -> Self {
        self.infer_rows = n.max(1);
        self
    }
}
