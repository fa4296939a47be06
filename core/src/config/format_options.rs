//! The format options of file-based sources (CONTRACT §4: `csv_*`,
//! `parquet_*`, `json_*`, `batch_size`, `on_error`), as the user writes them,
//! and their translation into [`ReadOptions`].

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::formats::options::{BoolValues, ColumnFilter, CsvOptions, OnBadRecord, ReadOptions};

/// Format options shared by source-s3 and source-file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct FormatOptions {
    /// Rows per decoded batch.
    pub batch_size: usize,
    /// CSV field delimiter (`\t` for TSV).
    pub csv_delimiter: String,
    /// Whether the first CSV row holds column names.
    pub csv_header: bool,
    /// CSV character encoding.
    pub csv_encoding: String,
    /// CSV quote character.
    pub csv_quote_char: String,
    /// CSV escape character.
    pub csv_escape_char: Option<String>,
    /// CSV values read as null.
    pub csv_null_values: Vec<String>,
    /// Rows skipped before the CSV header.
    pub csv_skip_rows_before_header: usize,
    /// Rows skipped after the CSV header.
    pub csv_skip_rows_after_header: usize,
    /// CSV column names, used when `csv_header` is false (else `f0`, `f1`, …).
    pub csv_column_names: Option<Vec<String>>,
    /// Strings a CSV boolean column reads as true (case-sensitive; with
    /// `csv_false_values`, also what infers a column as boolean).
    pub csv_true_values: Option<Vec<String>>,
    /// Strings a CSV boolean column reads as false (case-sensitive).
    pub csv_false_values: Option<Vec<String>>,
    /// Parquet column projection.
    pub parquet_columns: Option<Vec<String>>,
    /// Parquet filters, `[column, op, value]`.
    pub parquet_filters: Option<Vec<Value>>,
    /// Flatten nested JSON objects into `parent.child` columns.
    pub json_flatten: bool,
    /// Deepest nesting flattened.
    pub json_max_depth: usize,
    /// `fail` or `skip` on a malformed record.
    pub on_error: Option<String>,
    /// Rows read of each file at most (unset: all); Airbyte source-file's
    /// `reader_options.nrows`.
    pub max_rows_per_file: Option<u64>,
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            batch_size: 10_000,
            csv_delimiter: ",".into(),
            csv_header: true,
            csv_encoding: "utf-8".into(),
            csv_quote_char: "\"".into(),
            csv_escape_char: None,
            csv_null_values: vec![String::new()],
            csv_skip_rows_before_header: 0,
            csv_skip_rows_after_header: 0,
            csv_column_names: None,
            csv_true_values: None,
            csv_false_values: None,
            parquet_columns: None,
            parquet_filters: None,
            json_flatten: true,
            json_max_depth: 10,
            on_error: None,
            max_rows_per_file: None,
        }
    }
}

/// One byte from a one-character option such as `csv_delimiter`; `\t` and
/// `tab` are accepted for a tab.
fn single_byte(key: &str, value: &str) -> Result<u8> {
    let v = match value {
        "\\t" | "tab" | "TAB" => "\t",
        other => other,
    };
    let bytes = v.as_bytes();
    if matches!(bytes, [b'\n' | b'\r']) {
        Err(Error::Config(format!(
            "{key} cannot be a line break: lines end records. Use ',', ';', '\\t' or '|'."
        )))
    } else if bytes.len() == 1 {
        Ok(bytes[0])
    } else {
        Err(Error::Config(format!(
            "{key} must be a single ASCII character, got '{value}'"
        )))
    }
}

impl FormatOptions {
    /// The reader options these settings mean.
    pub fn to_read_options(&self) -> Result<ReadOptions> {
        let (delimiter, quote) = (
            single_byte("csv_delimiter", &self.csv_delimiter)?,
            single_byte("csv_quote_char", &self.csv_quote_char)?,
        );
        if delimiter == quote {
            return Err(Error::Config(format!(
                "csv_delimiter and csv_quote_char are both '{}'; they must differ.",
                self.csv_delimiter
            )));
        }
        if let Some(names) = &self.csv_column_names {
            let mut seen = std::collections::HashSet::new();
            if let Some(twice) = names.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(Error::Config(format!(
                    "csv_column_names names '{twice}' twice; each column needs its own name."
                )));
            }
        }
        let csv = CsvOptions {
            delimiter,
            header: self.csv_header,
            quote,
            escape: self
                .csv_escape_char
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|s| single_byte("csv_escape_char", s))
                .transpose()?,
            null_values: self.csv_null_values.clone(),
            skip_rows_before_header: self.csv_skip_rows_before_header,
            skip_rows_after_header: self.csv_skip_rows_after_header,
            encoding: self.csv_encoding.parse()?,
            column_names: self.csv_column_names.clone().filter(|names| !names.is_empty()),
            booleans: BoolValues::from_lists(self.csv_true_values.as_deref(), self.csv_false_values.as_deref()),
        };
        let mut opts = ReadOptions::default()
            .with_batch_size(self.batch_size)
            .with_csv(csv)
            .with_json_flatten(self.json_flatten, self.json_max_depth)
            .with_max_rows(self.max_rows_per_file);
        if let Some(policy) = &self.on_error {
            opts = opts.with_on_bad_record(policy.parse::<OnBadRecord>()?);
        }
        if let Some(cols) = &self.parquet_columns {
            opts = opts.with_parquet_columns(cols.clone());
        }
        if let Some(filters) = &self.parquet_filters {
            let parsed = filters
                .iter()
                .map(ColumnFilter::from_json)
                .collect::<Result<Vec<_>>>()?;
            opts = opts.with_parquet_filters(parsed);
        }
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_and_translation() {
        let f = FormatOptions::default();
        assert_eq!(f.batch_size, 10_000);
        assert!(f.json_flatten);
        let o = f.to_read_options().unwrap();
        assert_eq!(o.csv.delimiter, b',');
        assert_eq!(o.batch_size, 10_000);
        let f: FormatOptions = serde_json::from_value(json!({
            "csv_delimiter": "\\t", "csv_encoding": "latin-1", "on_error": "skip",
            "parquet_filters": [["a", ">=", 3]], "parquet_columns": ["a"]}))
        .unwrap();
        let o = f.to_read_options().unwrap();
        assert_eq!(o.csv.delimiter, b'\t');
        assert_eq!(o.on_bad_record, OnBadRecord::Skip);
        assert_eq!(o.parquet_filters.len(), 1);
        assert_eq!(o.csv.booleans, None);
        let f: FormatOptions = serde_json::from_value(json!({"csv_true_values": ["Ja"]})).unwrap();
        let b = f.to_read_options().unwrap().csv.booleans.unwrap();
        assert_eq!(b.true_values, vec!["Ja"]);
        assert_eq!(b.false_values, BoolValues::DEFAULT_FALSE.to_vec());
        assert_eq!(
            (b.parse("Ja"), b.parse(" no "), b.parse("ja")),
            (Some(true), Some(false), None)
        );
        let bad: FormatOptions = serde_json::from_value(json!({"csv_delimiter": ";;"})).unwrap();
        assert!(bad.to_read_options().unwrap_err().to_string().contains("csv_delimiter"));
    }

    #[test]
    fn dialects_that_would_lose_data_are_refused() {
        for (config, says) in [
            (json!({"csv_delimiter": "\n"}), "cannot be a line break"),
            (json!({"csv_delimiter": "'", "csv_quote_char": "'"}), "must differ"),
            (
                json!({"csv_header": false, "csv_column_names": ["a", "a", "b"]}),
                "names 'a' twice",
            ),
        ] {
            let f: FormatOptions = serde_json::from_value(config.clone()).unwrap();
            let e = f.to_read_options().unwrap_err().to_string();
            assert!(e.contains(says), "{config}: {e}");
        }
    }
}
