//! CSV and TSV reader: streaming, typed by a target schema or by inference from the first
//! rows, with encodings, skipped rows, null values, a line-length cap and a bad-row policy.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::formats::conform::{cast_column, drop_rows, with_nulled};
use crate::formats::io::{utf8_reader, LineCap};
use crate::formats::options::{BoolValues, OnBadRecord, ReadOptions};
use crate::formats::reader::{BatchReader, Warnings};
use crate::schema::{finalize, infer_text_type, widen};

/// A streaming CSV/TSV reader producing typed batches.
pub struct CsvReader<'a> {
    file: String,
    rdr: csv::Reader<Box<dyn Read + Send + 'a>>,
    /// Rows read ahead for inference, with their line numbers.
    pending: VecDeque<(csv::ByteRecord, u64)>,
    /// For each output column, the index of the source column (None: absent from file).
    sources: Vec<Option<usize>>,
    /// The number of fields every row must have.
    width: usize,
    schema: SchemaRef,
    opts: ReadOptions,
    null_values: Vec<String>,
    warnings: Warnings,
    done: bool,
    record: csv::ByteRecord,
    /// Rows, and text bytes of each column, of the previous batch: the next
    /// one's builders start that large (a small file allocates little; a
    /// large one allocates each batch once).
    capacity: (usize, Vec<usize>),
}

/// The builders of a first batch start with room for this many rows.
const FIRST_BATCH_ROWS: usize = 1024;

/// The read buffer of the CSV parser. The input is already buffered (and
/// decompressed) upstream; a larger one only costs a small file its zeroing.
const CSV_BUFFER_BYTES: usize = 64 * 1024;

impl<'a> CsvReader<'a> {
    /// Opens a CSV stream (already decompressed). With `target`, output batches have that
    /// schema; without, the schema is inferred from the first `opts.infer_rows` rows.
    /// `tsv` makes a tab the delimiter unless another non-comma delimiter was set.
    pub fn new(
        file: &str,
        input: Box<dyn Read + Send + 'a>,
        opts: &ReadOptions,
        target: Option<SchemaRef>,
        tsv: bool,
    ) -> Result<Self> {
        let c = &opts.csv;
        let delimiter = if tsv && c.delimiter == b',' { b'\t' } else { c.delimiter };
        let text = utf8_reader(input, c.encoding);
        let capped: Box<dyn Read + Send + 'a> = Box::new(LineCap::new(text, opts.max_line_bytes));
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .quote(c.quote)
            .escape(c.escape)
            .double_quote(true)
            .buffer_capacity(CSV_BUFFER_BYTES)
            .from_reader(capped);
        let mut me = CsvReader {
            file: file.to_string(),
            rdr,
            pending: VecDeque::new(),
            sources: vec![],
            width: 0,
            schema: Arc::new(Schema::empty()),
            opts: opts.clone(),
            null_values: c.null_values.clone(),
            warnings: Warnings::default(),
            done: false,
            record: csv::ByteRecord::new(),
            capacity: (FIRST_BATCH_ROWS.min(opts.batch_size.max(1)), Vec::new()),
        };
        for _ in 0..c.skip_rows_before_header {
            if me.next_raw()?.is_none() {
                break;
            }
        }
        let names: Vec<String> = if c.header {
            match me.next_raw()? {
                Some(_) => header_names(me.record.iter().map(as_str)),
                None => vec![],
            }
        } else {
            vec![]
        };
        for _ in 0..c.skip_rows_after_header {
            if me.next_raw()?.is_none() {
                break;
            }
        }
        // Read ahead: the inference sample, or one row to learn the width without a header.
        let sample = if target.is_none() {
            opts.infer_rows
        } else {
            usize::from(!c.header)
        };
        while me.pending.len() < sample {
            match me.next_raw()? {
                Some(line) => me.pending.push_back((me.record.clone(), line)),
                None => break,
            }
        }
        let names = if c.header {
            names
        } else {
            let width = me.pending.front().map(|(r, _)| r.len()).unwrap_or(0);
            match (&c.column_names, &target) {
                (Some(n), _) if width > 0 && n.len() != width => {
                    return Err(Error::format(
                        file,
                        format!(
                            "csv_column_names gives {} name(s) but the rows have {width} field(s); name every \
                             column (or check csv_delimiter)",
                            n.len()
                        ),
                    ))
                }
                (Some(n), _) => n.clone(),
                // Without a header, a target schema names the columns by position.
                (None, Some(t)) => t.fields().iter().map(|f| f.name().clone()).collect(),
                (None, None) => (0..width).map(|i| format!("f{i}")).collect(),
            }
        };
        me.width = if c.header {
            names.len()
        } else {
            me.pending.front().map(|(r, _)| r.len()).unwrap_or(names.len())
        };
        let schema = match target {
            Some(t) => t,
            None => Arc::new(me.infer(&names)),
        };
        me.sources = schema
            .fields()
            .iter()
            .map(|f| {
                names
                    .iter()
                    .position(|n| n == f.name())
                    .or_else(|| names.iter().position(|n| n.eq_ignore_ascii_case(f.name())))
            })
            .collect();
        me.schema = schema;
        Ok(me)
    }

    fn infer(&mut self, names: &[String]) -> Schema {
        let booleans = self.opts.csv.booleans.as_ref();
        let mut types = vec![DataType::Null; names.len()];
        // With custom boolean strings: whether every value of a column is one (Airbyte
        // prefers boolean over integer then, so `1`/`0` columns are booleans).
        let mut all_bool = vec![booleans.is_some(); names.len()];
        // Without them: whether every value is one a boolean column reads (`1`, `off`, …)
        // and one at least is `true` or `false` — then `true,false,1,0` is a boolean column,
        // decided over the whole sample, not by its first rows.
        let mut lenient_bool = vec![booleans.is_none(); names.len()];
        let mut saw_word = vec![false; names.len()];
        for (rec, _) in &self.pending {
            if rec.len() != names.len() {
                continue;
            }
            for (c, v) in rec.iter().map(as_str).enumerate() {
                if self.null_values.iter().any(|n| n == v) {
                    continue;
                }
                let vt = match (infer_text_type(v), booleans) {
                    (DataType::Null, _) => continue,
                    // The given strings alone make booleans.
                    (DataType::Boolean, Some(_)) => DataType::Utf8,
                    (vt, _) => vt,
                };
                saw_word[c] |= vt == DataType::Boolean;
                lenient_bool[c] = lenient_bool[c] && is_lenient_bool(v);
                all_bool[c] = all_bool[c] && booleans.is_some_and(|bv| bv.parse(v).is_some());
                types[c] = widen(&types[c], &vt).unwrap_or(DataType::Utf8);
            }
        }
        for (c, t) in types.iter_mut().enumerate() {
            if *t != DataType::Null && (all_bool[c] || (lenient_bool[c] && saw_word[c])) {
                *t = DataType::Boolean;
            }
        }
        finalize(&Schema::new(
            names
                .iter()
                .zip(types)
                .map(|(n, t)| Field::new(n, t, true))
                .collect::<Vec<_>>(),
        ))
    }

    /// Reads the next record into `self.record` (UTF-8 validated); returns its line number.
    fn next_raw(&mut self) -> Result<Option<u64>> {
        loop {
            let more = self.rdr.read_byte_record(&mut self.record).map_err(|e| {
                let line = e.position().map(|p| p.line());
                let msg = match e.into_kind() {
                    csv::ErrorKind::Io(io) => io.to_string(),
                    other => format!("{other:?}"),
                };
                match line {
                    Some(l) => Error::format(&self.file, format!("line {l}: {msg}")),
                    None => Error::format(&self.file, msg),
                }
            })?;
            if !more {
                return Ok(None);
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            // A blank line parses as one empty field: skip it.
            if self.record.len() == 1 && self.record.get(0).is_some_and(<[u8]>::is_empty) {
                continue;
            }
            if std::str::from_utf8(self.record.as_slice()).is_ok() {
                return Ok(Some(line));
            }
            let field = self
                .record
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
                .unwrap_or(0);
            let msg = format!(
                "line {line}: invalid UTF-8 in field {} — set the encoding (e.g. \"latin-1\" or \"windows-1252\") to match the file",
                field + 1
            );
            match self.opts.on_bad_record {
                OnBadRecord::Fail | OnBadRecord::Emit => return Err(Error::format(&self.file, msg)),
                OnBadRecord::Skip => self.warnings.push(format!("{}: skipped {msg}", self.file)),
            }
        }
    }

    fn next_row(&mut self) -> Result<Option<u64>> {
        if let Some((r, line)) = self.pending.pop_front() {
            self.record = r;
            return Ok(Some(line));
        }
        self.next_raw()
    }

    fn read_batch(&mut self) -> Result<Option<RecordBatch>> {
        let batch_size = self.opts.batch_size;
        let n_out = self.schema.fields().len();
        let rows = self.capacity.0;
        let mut builders: Vec<StringBuilder> = (0..n_out)
            .map(|i| StringBuilder::with_capacity(rows, self.capacity.1.get(i).copied().unwrap_or(rows * 8)))
            .collect();
        let mut lines: Vec<u64> = Vec::with_capacity(rows);
        while lines.len() < batch_size {
            let Some(line) = self.next_row()? else {
                self.done = true;
                break;
            };
            let rec = &self.record;
            if rec.len() != self.width && self.width > 0 {
                let msg = format!(
                    "line {line} has {} fields but the header has {}; check the delimiter and quoting, or set `on_error: skip` to skip such rows",
                    rec.len(),
                    self.width
                );
                match self.opts.on_bad_record {
                    OnBadRecord::Fail | OnBadRecord::Emit => return Err(Error::format(&self.file, msg)),
                    OnBadRecord::Skip => {
                        self.warnings.push(format!("{}: skipped {msg}", self.file));
                        continue;
                    }
                }
            }
            for (b, src) in builders.iter_mut().zip(&self.sources) {
                match src.and_then(|i| rec.get(i)).map(as_str) {
                    Some(v) if !self.null_values.iter().any(|n| n == v) => b.append_value(v),
                    _ => b.append_null(),
                }
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        self.capacity = (lines.len(), builders.iter().map(|b| b.values_slice().len()).collect());
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(n_out);
        let mut bad_rows: Vec<usize> = vec![];
        let mut nulled: Vec<(usize, String)> = vec![];
        for (b, f) in builders.iter_mut().zip(self.schema.fields()) {
            let text: ArrayRef = Arc::new(b.finish());
            let (col, bad) = match (&self.opts.csv.booleans, f.data_type()) {
                (Some(booleans), DataType::Boolean) => parse_booleans(&text, booleans),
                _ => cast_column(&text, f.data_type()).map_err(|e| Error::format(&self.file, e.to_string()))?,
            };
            if let Some(&row) = bad.first() {
                let text = text.as_any().downcast_ref::<arrow::array::StringArray>();
                let value = text.map(|t| t.value(row).to_string()).unwrap_or_default();
                let msg = format!(
                    "line {}: value {:?} in column '{}' is not a valid {}",
                    lines[row],
                    truncate(&value),
                    f.name(),
                    crate::schema::kind_name(f.data_type())
                );
                match self.opts.on_bad_record {
                    OnBadRecord::Fail => {
                        return Err(Error::format(
                            &self.file,
                            format!("{msg}; {}", crate::formats::options::FIT_ADVICE),
                        ))
                    }
                    OnBadRecord::Skip => {
                        self.warnings.push(format!(
                            "{}: skipped {} row(s) that do not fit the schema, first: {msg}",
                            self.file,
                            bad.len()
                        ));
                        bad_rows.extend(bad);
                    }
                    OnBadRecord::Emit => {
                        self.warnings.push(format!(
                            "{}: emitted {} row(s) with a value that does not fit the schema as null, first: {msg}",
                            self.file,
                            bad.len()
                        ));
                        nulled.extend(bad.iter().map(|&r| (r, f.name().clone())));
                    }
                }
            }
            columns.push(col);
        }
        let batch = RecordBatch::try_new_with_options(
            self.schema.clone(),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(lines.len())),
        )
        .map_err(|e| Error::format(&self.file, e.to_string()))?;
        bad_rows.sort_unstable();
        bad_rows.dedup();
        if !nulled.is_empty() {
            return Ok(Some(with_nulled(&batch, nulled.iter().map(|(r, f)| (*r, f.as_str())))?));
        }
        Ok(Some(drop_rows(&batch, &bad_rows)?))
    }
}

/// Whether a boolean column without custom strings reads `v` (as Arrow's cast does: `true`,
/// `t`, `yes`, `y`, `on`, `1` and their opposites, in any case).
fn is_lenient_bool(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "false" | "t" | "f" | "yes" | "no" | "y" | "n" | "on" | "off" | "1" | "0"
    )
}

/// A text column read as booleans with the given strings; blank values are
/// null, others not in the lists are reported (and null).
fn parse_booleans(text: &ArrayRef, booleans: &BoolValues) -> (ArrayRef, Vec<usize>) {
    let mut bad = vec![];
    let values: BooleanArray = match text.as_any().downcast_ref::<StringArray>() {
        Some(text) => text
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v = v.filter(|v| !v.trim().is_empty())?;
                let parsed = booleans.parse(v);
                if parsed.is_none() {
                    bad.push(i);
                }
                parsed
            })
            .collect(),
        None => BooleanArray::new_null(text.len()),
    };
    (Arc::new(values), bad)
}

/// A field already validated as UTF-8.
#[inline]
fn as_str(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or("")
}

fn truncate(s: &str) -> String {
    if s.len() <= 60 {
        return s.to_string();
    }
    let mut end = 60;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Column names from a header row: blanks become `f<i>`, duplicates get `_<n>` suffixes.
fn header_names<'r>(fields: impl Iterator<Item = &'r str>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for (i, f) in fields.enumerate() {
        let base = if f.trim().is_empty() {
            format!("f{i}")
        } else {
            f.trim().to_string()
        };
        let mut name = base.clone();
        let mut n = 1;
        while out.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        out.push(name);
    }
    out
}

/// Opens a CSV stream (the registry's reader of [`crate::formats::FileFormat::Csv`]).
pub(in crate::formats) fn open_csv<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(Box::new(CsvReader::new(file, input, opts, target, false)?))
}

/// Opens a TSV stream (the registry's reader of [`crate::formats::FileFormat::Tsv`]).
pub(in crate::formats) fn open_tsv<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(Box::new(CsvReader::new(file, input, opts, target, true)?))
}

impl Iterator for CsvReader<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done && self.pending.is_empty() {
            return None;
        }
        match self.read_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => None,
            Err(e) => {
                self.done = true;
                self.pending.clear();
                Some(Err(e))
            }
        }
    }
}

impl BatchReader for CsvReader<'_> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.warnings.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::options::CsvOptions;
    use arrow::array::AsArray;

    fn read(data: &str, booleans: Option<BoolValues>, target: Option<SchemaRef>) -> Result<Vec<RecordBatch>> {
        let opts = ReadOptions::default().with_csv(CsvOptions {
            booleans,
            ..CsvOptions::default()
        });
        let input: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.as_bytes().to_vec()));
        CsvReader::new("t.csv", input, &opts, target, false)?.collect()
    }

    fn bools(b: &RecordBatch, col: usize) -> Vec<Option<bool>> {
        b.column(col).as_boolean().iter().collect()
    }

    fn custom(t: &[&str], f: &[&str]) -> Option<BoolValues> {
        let list = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        BoolValues::from_lists(Some(&list(t)), Some(&list(f)))
    }

    #[test]
    fn batches_of_any_size_keep_every_row() {
        // Batches after the first start as large as the one before; a
        // growing or shrinking text width must not matter.
        let rows: Vec<String> = (0..2500).map(|i| format!("{i},{}", "x".repeat(i % 97))).collect();
        let data = format!("id,s\n{}\n", rows.join("\n"));
        for batch_size in [1, 7, 1024, 1500, 10_000] {
            let opts = ReadOptions {
                batch_size,
                ..ReadOptions::default()
            };
            let input: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.clone().into_bytes()));
            let batches: Vec<RecordBatch> = CsvReader::new("t.csv", input, &opts, None, false)
                .unwrap()
                .collect::<Result<_>>()
                .unwrap();
            assert!(batches.iter().all(|b| b.num_rows() <= batch_size));
            let mut i = 0usize;
            for b in &batches {
                let ids = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
                let texts = b.column(1).as_string::<i32>();
                for r in 0..b.num_rows() {
                    assert_eq!(ids.value(r), i as i64);
                    assert_eq!(texts.value(r).len(), i % 97, "batch_size {batch_size}, row {i}");
                    i += 1;
                }
            }
            assert_eq!(i, 2500, "batch_size {batch_size}");
        }
    }

    #[test]
    fn default_booleans_are_true_and_false_inferred_and_lenient_when_declared() {
        let batches = read("a,b\ntrue,1\nFALSE,0\n", None, None).unwrap();
        assert_eq!(batches[0].schema().field(0).data_type(), &DataType::Boolean);
        assert_eq!(batches[0].schema().field(1).data_type(), &DataType::Int64);
        assert_eq!(bools(&batches[0], 0), vec![Some(true), Some(false)]);
        let target = Arc::new(Schema::new(vec![Field::new("a", DataType::Boolean, true)]));
        let batches = read("a\nyes\nOff\n", None, Some(target)).unwrap();
        assert_eq!(bools(&batches[0], 0), vec![Some(true), Some(false)]);
    }

    #[test]
    fn inference_looks_at_every_sampled_row_before_committing() {
        // `1`/`0` first, `true`/`false` later: booleans (not integers failing on `true`);
        // integers then words that no boolean column reads: text.
        let batches = read("flag,mixed,n\n1,1,1\n0,2,0\ntrue,x,5\nfalse,3,7\n", None, None).unwrap();
        let schema = batches[0].schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        assert_eq!(types, vec![&DataType::Boolean, &DataType::Utf8, &DataType::Int64]);
        assert_eq!(
            bools(&batches[0], 0),
            vec![Some(true), Some(false), Some(true), Some(false)]
        );
    }

    #[test]
    fn cr_crlf_lf_and_mixed_line_endings_end_rows() {
        for data in [
            "a,b\r1,x\r2,\"y\rz\"\r",
            "a,b\r\n1,x\r\n2,\"y\rz\"\r\n",
            "a,b\n1,x\n2,\"y\rz\"\n",
            "a,b\r\n1,x\r2,\"y\rz\"\n",
        ] {
            let batches = read(data, None, None).unwrap();
            let b = &batches[0];
            assert_eq!(b.num_rows(), 2, "{data:?}");
            assert_eq!(b.column(1).as_string::<i32>().value(1), "y\rz", "{data:?}");
        }
        // A CR-only file longer than the line cap in total is not one long line.
        let long: String = (0..50_000).map(|i| format!("{i},v\r")).collect();
        let opts = ReadOptions {
            max_line_bytes: 1024,
            ..ReadOptions::default()
        };
        let input: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(format!("a,b\r{long}").into_bytes()));
        let rows: usize = CsvReader::new("t.csv", input, &opts, None, false)
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum();
        assert_eq!(rows, 50_000);
    }

    #[test]
    fn custom_booleans_are_inferred_before_integers_and_read_exactly() {
        let b = custom(&["Ja", "1"], &["Nein", "0"]);
        let batches = read("a,b,c,d\nJa,1,true,5\nNein,0,false,1\n,1,true,0\n", b, None).unwrap();
        let schema = batches[0].schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        // `true`/`false` are not in the lists: text; 5 is not a boolean: integers.
        assert_eq!(
            types,
            vec![
                &DataType::Boolean,
                &DataType::Boolean,
                &DataType::Utf8,
                &DataType::Int64
            ]
        );
        assert_eq!(bools(&batches[0], 0), vec![Some(true), Some(false), None]);
        assert_eq!(bools(&batches[0], 1), vec![Some(true), Some(false), Some(true)]);
    }

    #[test]
    fn custom_booleans_reject_other_strings_in_a_declared_column() {
        let target = Arc::new(Schema::new(vec![Field::new("a", DataType::Boolean, true)]));
        let b = custom(&["Ja"], &["Nein"]);
        let e = read("a\nJa\nyes\n", b.clone(), Some(target.clone())).unwrap_err();
        assert!(
            e.to_string().contains("line 3") && e.to_string().contains("\"yes\""),
            "{e}"
        );
        // Case matters, as in Airbyte.
        assert!(read("a\nja\n", b, Some(target)).is_err());
    }
}
