//! [`RecordSerializer`]: a `RecordBatch` as Airbyte RECORD lines.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::*;
use serde_json::Value as JsonValue;

use super::json_text::{write_int, write_json_str};
use super::nulled::{unrepresentable_rows, NulledValues, NULLED_FIELDS_COLUMN, NULLED_REASON};
use super::to_json::{plain_batch, RowEncoder};
use crate::error::Result;

/// Writes each row of a `RecordBatch` as a complete Airbyte RECORD line:
/// `{"type":"RECORD","record":{"namespace":…,"stream":…,"data":{…},"emitted_at":…}}\n`.
///
/// Constant per-file fields (e.g. `_ab_source_file_url`) are appended to every `data`
/// object from a pre-serialised fragment; a batch column with the same name is skipped.
#[derive(Debug, Clone)]
pub struct RecordSerializer {
    prefix: Vec<u8>,
    extra: Vec<u8>,
    extra_names: Vec<String>,
    suffix: Vec<u8>,
    stream: String,
    namespace: Option<String>,
}

impl RecordSerializer {
    /// A serializer for `stream` (and `namespace`, omitted when `None`) stamping
    /// `emitted_at_ms` on every record.
    pub fn new(stream: &str, namespace: Option<&str>, emitted_at_ms: i64) -> Self {
        let mut prefix = Vec::with_capacity(64 + stream.len());
        prefix.extend_from_slice(b"{\"type\":\"RECORD\",\"record\":{");
        if let Some(ns) = namespace {
            prefix.extend_from_slice(b"\"namespace\":");
            write_json_str(&mut prefix, ns);
            prefix.push(b',');
        }
        prefix.extend_from_slice(b"\"stream\":");
        write_json_str(&mut prefix, stream);
        prefix.extend_from_slice(b",\"data\":{");
        let mut s = RecordSerializer {
            prefix,
            extra: vec![],
            extra_names: vec![],
            suffix: vec![],
            stream: stream.to_string(),
            namespace: namespace.map(String::from),
        };
        s.set_emitted_at(emitted_at_ms);
        s
    }

    /// The stream name.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// The namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// Sets the `emitted_at` stamp (milliseconds since the epoch).
    pub fn set_emitted_at(&mut self, emitted_at_ms: i64) {
        self.suffix.clear();
        self.suffix.extend_from_slice(b"},\"emitted_at\":");
        write_int(&mut self.suffix, emitted_at_ms);
        self.suffix.extend_from_slice(b"}}\n");
    }

    /// Replaces the constant fields appended to every record's `data` (e.g. the source
    /// file's URL and last-modified time for this file).
    pub fn set_extra_fields(&mut self, fields: &[(&str, JsonValue)]) {
        self.extra.clear();
        self.extra_names.clear();
        for (name, value) in fields {
            self.extra.push(b',');
            write_json_str(&mut self.extra, name);
            self.extra.push(b':');
            // serde_json writes valid JSON; a Value cannot fail to serialise.
            let _ = serde_json::to_writer(&mut self.extra, value);
            self.extra_names.push((*name).to_string());
        }
    }

    /// Builder form of [`Self::set_extra_fields`].
    pub fn with_extra_fields(mut self, fields: &[(&str, JsonValue)]) -> Self {
        self.set_extra_fields(fields);
        self
    }

    /// Appends one RECORD line per row of `batch` to `out`.
    pub fn write_batch(&self, batch: &RecordBatch, out: &mut Vec<u8>) -> Result<()> {
        self.write_rows(batch, 0, batch.num_rows(), out)
    }

    /// [`Self::write_batch`], counting in `nulled` the values written as null because JSON
    /// cannot hold them (each such record carries a `meta.changes` entry).
    pub fn write_batch_noting(&self, batch: &RecordBatch, out: &mut Vec<u8>, nulled: &mut NulledValues) -> Result<()> {
        self.write_rows_noting(batch, 0, batch.num_rows(), out, nulled)
    }

    /// Appends RECORD lines for rows `start..end` of `batch` (for splitting a batch across
    /// workers).
    pub fn write_rows(&self, batch: &RecordBatch, start: usize, end: usize, out: &mut Vec<u8>) -> Result<()> {
        self.write_rows_noting(batch, start, end, out, &mut NulledValues::default())
    }

    /// [`Self::write_rows`], counting the values nulled in `nulled`.
    ///
    /// This is the one place where a value that JSON cannot hold (NaN, an infinity, at any
    /// depth) becomes `null`: the record gets an Airbyte `meta.changes` entry
    /// `{"field", "change": "NULLED", "reason": "SOURCE_SERIALIZATION_ERROR"}` for its column.
    pub fn write_rows_noting(
        &self,
        batch: &RecordBatch,
        start: usize,
        end: usize,
        out: &mut Vec<u8>,
        nulled: &mut NulledValues,
    ) -> Result<()> {
        let batch = plain_batch(batch)?;
        let batch = batch.as_ref();
        // Fields a reader nulled (values that do not fit the schema), per row.
        let reader_nulled = batch
            .column_by_name(NULLED_FIELDS_COLUMN)
            .and_then(|c| c.as_list_opt::<i32>())
            .filter(|l| matches!(l.value_type(), DataType::Utf8));
        let skip: std::borrow::Cow<'_, [String]> = if reader_nulled.is_some() {
            let mut names = self.extra_names.clone();
            names.push(NULLED_FIELDS_COLUMN.to_string());
            std::borrow::Cow::Owned(names)
        } else {
            std::borrow::Cow::Borrowed(&self.extra_names)
        };
        let enc = RowEncoder::new(batch, &skip)?;
        let end = end.min(batch.num_rows());
        out.reserve((end.saturating_sub(start)) * (self.prefix.len() + self.suffix.len() + 16 * enc.num_columns()));
        // The extra fragment starts with a comma; drop it when there is no column before it.
        let extra: &[u8] = if enc.is_empty() && !self.extra.is_empty() {
            &self.extra[1..]
        } else {
            &self.extra
        };
        let lossy: Vec<(&str, Vec<bool>)> = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !skip.iter().any(|s| s == f.name()))
            .filter_map(|(f, c)| unrepresentable_rows(c.as_ref()).map(|rows| (f.name().as_str(), rows)))
            .collect();
        // The suffix without its closing `}}\n`: `},"emitted_at":N`.
        let suffix_head = &self.suffix[..self.suffix.len() - 3];
        for i in start..end {
            out.extend_from_slice(&self.prefix);
            enc.write_fields(i, out);
            out.extend_from_slice(extra);
            let mut changes = lossy
                .iter()
                .filter(|(_, rows)| rows[i])
                .map(|(name, _)| *name)
                .peekable();
            let not_fitting = reader_nulled.filter(|l| l.is_valid(i)).map(|l| l.value(i));
            if changes.peek().is_none() && not_fitting.is_none() {
                out.extend_from_slice(&self.suffix);
                continue;
            }
            out.extend_from_slice(suffix_head);
            out.extend_from_slice(b",\"meta\":{\"changes\":[");
            let mut n = 0;
            let mut change = |out: &mut Vec<u8>, name: &str| {
                if n > 0 {
                    out.push(b',');
                }
                n += 1;
                out.extend_from_slice(b"{\"field\":");
                write_json_str(out, name);
                out.extend_from_slice(b",\"change\":\"NULLED\",\"reason\":\"");
                out.extend_from_slice(NULLED_REASON.as_bytes());
                out.extend_from_slice(b"\"}");
            };
            for name in changes {
                change(out, name);
                nulled.add(name, 1);
            }
            if let Some(fields) = not_fitting {
                let fields = fields.as_string::<i32>();
                for name in fields.iter().flatten() {
                    change(out, name);
                }
            }
            out.extend_from_slice(b"]}}}\n");
        }
        Ok(())
    }
}
