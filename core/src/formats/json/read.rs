//! JSON (a top-level array of objects, streamed element by element, or one object) and
//! JSONL/NDJSON readers over `arrow_json`, with inference, flattening and a size cap.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};

use super::blocks::{DecodeSpec, LineBatches};
use super::lines::{LineBlocks, SerialLines};
use crate::error::{Error, Result};
use crate::formats::conform::{conform, drop_rows, with_nulled};
use crate::formats::options::{OnBadRecord, ReadOptions};
use crate::formats::reader::{BatchReader, Warnings};
use crate::records::json_reader_builder;
use crate::schema::{is_json_field, with_json_values, JsonSchemaInferrer};

/// Turns a JSON document (an array of values, or values separated by whitespace) into a
/// stream of values separated by newlines, enforcing a size cap per value.
struct Framer<R> {
    inner: R,
    max: usize,
    /// Bytes in the current top-level value.
    current: usize,
    values: u64,
    state: FrameState,
    in_string: bool,
    escaped: bool,
    depth: usize,
    buf: Vec<u8>,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum FrameState {
    /// Before the first non-blank byte.
    Start,
    /// Inside a top-level array (values at depth 1 are rows).
    Array,
    /// After the top-level array's `]`.
    AfterArray,
    /// Values one after another (JSONL or a single object).
    Values,
}

impl<R: Read> Framer<R> {
    fn new(inner: R, max: usize, allow_array: bool) -> Self {
        Framer {
            inner,
            max,
            current: 0,
            values: 0,
            state: if allow_array {
                FrameState::Start
            } else {
                FrameState::Values
            },
            in_string: false,
            escaped: false,
            depth: 0,
            buf: vec![0; 64 * 1024],
        }
    }
}

impl<R: Read> Read for Framer<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let want = out.len().min(self.buf.len());
        if want == 0 {
            return Ok(0);
        }
        loop {
            let n = self.inner.read(&mut self.buf[..want])?;
            if n == 0 {
                return Ok(0);
            }
            let mut w = 0;
            for i in 0..n {
                let b = self.buf[i];
                match self.state {
                    FrameState::Start => {
                        if b.is_ascii_whitespace() {
                            continue;
                        }
                        if b == b'[' {
                            self.state = FrameState::Array;
                            self.depth = 1;
                            continue;
                        }
                        self.state = FrameState::Values;
                        self.value_byte(b, out, &mut w)?;
                    }
                    FrameState::Array => {
                        if !self.in_string && self.depth == 1 {
                            match b {
                                b',' => {
                                    out[w] = b'\n';
                                    w += 1;
                                    self.current = 0;
                                    self.values += 1;
                                    continue;
                                }
                                b']' => {
                                    out[w] = b'\n';
                                    w += 1;
                                    self.depth = 0;
                                    self.state = FrameState::AfterArray;
                                    continue;
                                }
                                _ => {}
                            }
                        }
                        self.value_byte(b, out, &mut w)?;
                    }
                    FrameState::AfterArray => {
                        if !b.is_ascii_whitespace() {
                            return Err(io::Error::new(
                                io::ErrorKind::InvalidData,
                                "unexpected data after the top-level JSON array",
                            ));
                        }
                    }
                    FrameState::Values => {
                        if b == b'\n' && !self.in_string {
                            self.current = 0;
                            self.values += 1;
                        }
                        self.value_byte(b, out, &mut w)?;
                    }
                }
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

impl<R> Framer<R> {
    fn too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "record {} is longer than {} bytes (the size limit); is the file format right?",
                self.values + 1,
                self.max
            ),
        )
    }

    #[inline]
    fn value_byte(&mut self, b: u8, out: &mut [u8], w: &mut usize) -> io::Result<()> {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            }
        } else {
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
        self.current += 1;
        if self.current > self.max {
            return Err(self.too_long());
        }
        out[*w] = b;
        *w += 1;
        Ok(())
    }
}

/// Records the bytes read through it (for replaying an inference sample).
struct Tee<R> {
    inner: R,
    seen: Vec<u8>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// Decoded batches, as `arrow_json` gives them.
type Batches<'a> = Box<dyn Iterator<Item = std::result::Result<RecordBatch, arrow::error::ArrowError>> + Send + 'a>;

/// A streaming JSON / JSONL reader producing batches.
pub struct JsonReader<'a> {
    file: String,
    inner: Batches<'a>,
    schema: SchemaRef,
    /// Decode schema when it differs from the output (flattening, conformance).
    flatten: Option<usize>,
    target: Option<SchemaRef>,
    on_bad: OnBadRecord,
    warnings: Warnings,
    done: bool,
}

impl<'a> JsonReader<'a> {
    /// Opens a JSON (`array = true`: a top-level array or object) or JSONL stream (already
    /// decompressed). With `target`, output batches have that schema; without, the schema is
    /// inferred from the first `opts.infer_rows` records.
    pub fn new(
        file: &str,
        input: Box<dyn Read + Send + 'a>,
        opts: &ReadOptions,
        target: Option<SchemaRef>,
        array: bool,
    ) -> Result<Self> {
        let mut warnings = Warnings::default();
        // Learn the decode schema: from the target (unflattened when flattening), else from a
        // sample that is replayed afterwards.
        // Fields the catalog allows several kinds in are read as JSON values, unchanged.
        let target = target.map(|t| Arc::new(with_json_values(&t)));
        // JSON is framed into lines by a state machine; JSON lines are lines already.
        let framed: Box<dyn Read + Send + 'a> = if array {
            Box::new(Framer::new(input, opts.max_line_bytes, true))
        } else {
            input
        };
        let (decode_schema, stream): (SchemaRef, Box<dyn Read + Send + 'a>) = match &target {
            Some(t) if !opts.json_flatten => (t.clone(), framed),
            Some(t) => (Arc::new(unflatten(t)), framed),
            None if array => infer(file, framed, opts, &mut warnings, |r| r)?,
            None => {
                let lines = SerialLines::new(Default::default(), LineBlocks::new(framed, opts.max_line_bytes));
                infer(file, lines, opts, &mut warnings, SerialLines::into_rest)?
            }
        };
        let decoding = DecodeSpec {
            schema: decode_schema.clone(),
            batch_size: opts.batch_size,
            ignore_type_conflicts: opts.on_bad_record == OnBadRecord::Skip,
        };
        let inner: Batches<'a> = if array {
            let buffered: Box<dyn BufRead + Send + 'a> = Box::new(BufReader::with_capacity(256 * 1024, stream));
            Box::new(
                json_reader_builder(decode_schema.clone(), opts.batch_size)
                    .with_ignore_type_conflicts(decoding.ignore_type_conflicts)
                    .build(buffered)
                    .map_err(|e| Error::format(file, e.to_string()))?,
            )
        } else {
            // Blocks build their decoders as they go: a schema it cannot decode is refused here.
            decoding.check().map_err(|e| Error::format(file, e.to_string()))?;
            let blocks = LineBlocks::new(stream, opts.max_line_bytes);
            Box::new(LineBatches::new(blocks, decoding, opts.decode_threads))
        };
        let flatten = opts.json_flatten.then_some(opts.json_max_depth);
        let schema = match (&target, flatten) {
            (Some(t), _) => t.clone(),
            // Nothing to flatten (an empty file, or objects without fields).
            (None, Some(_)) if decode_schema.fields().is_empty() => decode_schema,
            (None, Some(depth)) => {
                let empty = RecordBatch::new_empty(decode_schema.clone());
                let flat = empty
                    .normalize(".", Some(depth))
                    .map_err(|e| Error::format(file, e.to_string()))?
                    .schema();
                Arc::new(with_json_fields_of(&flat, &decode_schema))
            }
            (None, None) => decode_schema,
        };
        Ok(JsonReader {
            file: file.to_string(),
            inner,
            schema,
            flatten,
            target,
            on_bad: opts.on_bad_record,
            warnings,
            done: false,
        })
    }

    fn process(&mut self, batch: RecordBatch) -> Result<RecordBatch> {
        let batch = match self.flatten {
            Some(depth) if batch.num_columns() > 0 => {
                let flat = batch
                    .normalize(".", Some(depth))
                    .map_err(|e| Error::format(&self.file, e.to_string()))?;
                // Flattening drops field metadata: columns of JSON values say so again.
                match self.target {
                    None if flat.schema_ref() != &self.schema => flat
                        .with_schema(self.schema.clone())
                        .map_err(|e| Error::format(&self.file, e.to_string()))?,
                    _ => flat,
                }
            }
            _ => batch,
        };
        match &self.target {
            Some(t) if batch.schema_ref() != t => {
                let c = conform(&batch, t).map_err(|e| Error::format(&self.file, e.to_string()))?;
                if let Some(first) = c.bad.first() {
                    let msg = format!(
                        "value {} in field '{}' is not a valid {}",
                        first.value,
                        first.column,
                        crate::schema::kind_name(&first.target)
                    );
                    match self.on_bad {
                        OnBadRecord::Fail => {
                            return Err(Error::format(
                                &self.file,
                                format!("{msg}; {}", crate::formats::options::FIT_ADVICE),
                            ))
                        }
                        OnBadRecord::Emit => {
                            self.warnings.push(format!(
                                "{}: emitted {} record(s) with a value that does not fit the schema as null, first: {msg}",
                                self.file,
                                c.bad.len()
                            ));
                            return with_nulled(&c.batch, c.bad.iter().map(|b| (b.row, b.column.as_str())));
                        }
                        OnBadRecord::Skip => {
                            self.warnings.push(format!(
                                "{}: skipped {} record(s) that do not fit the schema, first: {msg}",
                                self.file,
                                c.bad.len()
                            ));
                            let rows: Vec<usize> = c.bad.iter().map(|b| b.row).collect();
                            return drop_rows(&c.batch, &rows);
                        }
                    }
                }
                Ok(c.batch)
            }
            _ => Ok(batch),
        }
    }
}

/// Infers the schema of the first `opts.infer_rows` values of `sampled`; returns it and the
/// whole stream again (what was sampled, then `rest` of `sampled`).
fn infer<'a, R: Read + Send + 'a>(
    file: &str,
    sampled: R,
    opts: &ReadOptions,
    warnings: &mut Warnings,
    rest: impl FnOnce(R) -> Box<dyn Read + Send + 'a>,
) -> Result<(SchemaRef, Box<dyn Read + Send + 'a>)> {
    let mut tee = BufReader::with_capacity(
        64 * 1024,
        Tee {
            inner: sampled,
            seen: vec![],
        },
    );
    let mut inferrer = JsonSchemaInferrer::new(opts.json_max_depth.max(1) + 1).keeping_mixed_values();
    {
        let mut values = serde_json::Deserializer::from_reader(&mut tee).into_iter::<serde_json::Value>();
        let mut seen = 0;
        while seen < opts.infer_rows {
            match values.next() {
                None => break,
                Some(Ok(v)) => {
                    inferrer.observe(&v);
                    seen += 1;
                }
                Some(Err(e)) => {
                    if let Some(io) = io_cause(&e) {
                        return Err(Error::format(file, io));
                    }
                    return Err(Error::format(
                        file,
                        format!("invalid JSON near record {} ({e}); is the file JSON/JSONL?", seen + 1),
                    ));
                }
            }
        }
    }
    for w in inferrer.warnings() {
        warnings.push(format!("{file}: {w}"));
    }
    let tee = tee.into_inner();
    let replay = io::Cursor::new(tee.seen).chain(rest(tee.inner));
    Ok((Arc::new(inferrer.schema()), Box::new(replay)))
}

fn io_cause(e: &serde_json::Error) -> Option<String> {
    if e.is_io() {
        Some(e.to_string())
    } else {
        None
    }
}

/// Rebuilds nested structs from `parent.child` column names.
fn unflatten(schema: &Schema) -> Schema {
    fn insert(fields: &mut Vec<Field>, path: &[&str], leaf: &Field) {
        if path.len() == 1 {
            if !fields.iter().any(|f| f.name() == path[0]) {
                // A column of JSON values stays one (its metadata says so).
                fields.push(leaf.clone().with_name(path[0]).with_nullable(true));
            }
            return;
        }
        let pos = fields.iter().position(|f| f.name() == path[0]);
        let mut children: Vec<Field> = match pos.map(|p| fields[p].data_type().clone()) {
            Some(DataType::Struct(fs)) => fs.iter().map(|f| f.as_ref().clone()).collect(),
            Some(_) => return,
            None => vec![],
        };
        insert(&mut children, &path[1..], leaf);
        let f = Field::new(path[0], DataType::Struct(Fields::from(children)), true);
        match pos {
            Some(p) => fields[p] = f,
            None => fields.push(f),
        }
    }
    let mut fields = vec![];
    for f in schema.fields() {
        let path: Vec<&str> = f.name().split('.').collect();
        insert(&mut fields, &path, f);
    }
    Schema::new(fields)
}

/// `flat` (a flattened schema) with the columns that are columns of JSON values in `nested`
/// (at their dotted path) marked so again: flattening drops field metadata.
fn with_json_fields_of(flat: &Schema, nested: &Schema) -> Schema {
    fn find<'f>(fields: &'f Fields, path: &[&str]) -> Option<&'f Field> {
        let f = fields.iter().find(|f| f.name() == path[0])?;
        match (path.len(), f.data_type()) {
            (1, _) => Some(f),
            (_, DataType::Struct(children)) => find(children, &path[1..]),
            _ => None,
        }
    }
    let fields: Vec<Field> = flat
        .fields()
        .iter()
        .map(|f| {
            let path: Vec<&str> = f.name().split('.').collect();
            match find(nested.fields(), &path) {
                Some(n) if is_json_field(n) && n.data_type() == f.data_type() => {
                    f.as_ref().clone().with_metadata(n.metadata().clone())
                }
                _ => f.as_ref().clone(),
            }
        })
        .collect();
    Schema::new_with_metadata(fields, flat.metadata().clone())
}

/// Opens a JSON stream (the registry's reader of [`crate::formats::FileFormat::Json`]).
pub(in crate::formats) fn open_json<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(Box::new(JsonReader::new(file, input, opts, target, true)?))
}

/// Opens a JSON lines stream (the registry's reader of [`crate::formats::FileFormat::Jsonl`]).
pub(in crate::formats) fn open_jsonl<'a>(
    file: &str,
    input: Box<dyn Read + Send + 'a>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader + 'a>> {
    Ok(Box::new(JsonReader::new(file, input, opts, target, false)?))
}

impl Iterator for JsonReader<'_> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.inner.next()? {
            Ok(b) => match self.process(b) {
                Ok(b) => Some(Ok(b)),
                Err(e) => {
                    self.done = true;
                    Some(Err(e))
                }
            },
            Err(e) => {
                self.done = true;
                let msg = match e {
                    arrow::error::ArrowError::IoError(m, _) => m,
                    // A value the field's type cannot hold (the JSON itself is fine).
                    arrow::error::ArrowError::JsonError(m) if m.contains("failed to parse") => {
                        format!(
                            "a value does not fit its field's type ({m}); {}",
                            crate::formats::options::FIT_ADVICE
                        )
                    }
                    arrow::error::ArrowError::JsonError(m) => format!("invalid JSON: {m}"),
                    other => other.to_string(),
                };
                Some(Err(Error::format(&self.file, msg)))
            }
        }
    }
}

impl BatchReader for JsonReader<'_> {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.warnings.take()
    }
}

#[cfg(test)]
mod reader_error_tests {
    use arrow::datatypes::Schema;

    use super::*;

    fn read(
        text: &'static str,
        target: Option<SchemaRef>,
        array: bool,
        opts: &ReadOptions,
    ) -> Vec<Result<RecordBatch>> {
        let reader = JsonReader::new("f.json", Box::new(text.as_bytes()), opts, target, array).unwrap();
        reader.collect()
    }

    fn int_target() -> SchemaRef {
        Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]))
    }

    #[test]
    fn data_after_the_top_level_array_is_an_error_naming_it() {
        let out = read(
            "[{\"a\": 1}] \n {\"a\": 2}",
            Some(int_target()),
            true,
            &ReadOptions::default(),
        );
        let e = out.into_iter().find_map(|r| r.err()).expect("an error").to_string();
        assert!(e.contains("unexpected data after the top-level JSON array"), "{e}");
        // Whitespace after it is fine.
        let out = read("[{\"a\": 1}]\n  \n", Some(int_target()), true, &ReadOptions::default());
        let rows: usize = out.into_iter().map(|r| r.unwrap().num_rows()).sum();
        assert_eq!(rows, 1);
    }

    #[test]
    fn a_value_its_field_cannot_hold_and_broken_json_say_which_and_stop_the_reader() {
        let out = read(
            "{\"a\": \"x\"}\n{\"a\": 2}\n",
            Some(int_target()),
            false,
            &ReadOptions::default(),
        );
        assert_eq!(out.len(), 1, "the reader stops at its first error");
        let e = out.into_iter().next().unwrap().unwrap_err().to_string();
        assert!(
            e.contains("f.json") && e.contains("a value does not fit its field's type"),
            "{e}"
        );
        let out = read(
            "{\"a\": 1}\n{\"a\": tru}\n",
            Some(int_target()),
            false,
            &ReadOptions::default(),
        );
        let e = out.into_iter().find_map(|r| r.err()).expect("an error").to_string();
        assert!(e.contains("invalid JSON"), "{e}");
    }

    /// Batches and warnings of a JSON lines file read on `threads` threads.
    fn lines_read(
        text: &str,
        opts: &ReadOptions,
        threads: usize,
    ) -> (Vec<std::result::Result<RecordBatch, String>>, Vec<String>) {
        let opts = opts.clone().with_decode_threads(threads);
        let input: Box<dyn Read + Send> = Box::new(io::Cursor::new(text.as_bytes().to_vec()));
        let mut reader = JsonReader::new("f.jsonl", input, &opts, Some(int_target()), false).unwrap();
        let mut out = vec![];
        let mut warnings = vec![];
        while let Some(r) = reader.next() {
            warnings.extend(reader.take_warnings());
            out.push(r.map_err(|e| e.to_string()));
        }
        warnings.extend(reader.take_warnings());
        (out, warnings)
    }

    #[test]
    fn json_lines_read_on_several_threads_give_the_batches_and_warnings_of_one() {
        // Blocks of at least 1 MiB: a file of several.
        let mut lines: Vec<String> = (0..120_000)
            .map(|i| format!("{{\"a\": {i}, \"pad\": \"{}\"}}", "p".repeat(i % 40)))
            .collect();
        for i in [5, 40_000, 40_001, 99_999] {
            lines[i] = "{\"a\": \"not a number\"}".into();
        }
        let text = lines.join("\r\n");
        for policy in [OnBadRecord::Skip, OnBadRecord::Emit, OnBadRecord::Fail] {
            let opts = ReadOptions {
                on_bad_record: policy,
                batch_size: 1000,
                ..ReadOptions::default()
            };
            let (one, one_warnings) = lines_read(&text, &opts, 1);
            let (three, three_warnings) = lines_read(&text, &opts, 3);
            assert_eq!(one, three, "{policy:?}");
            assert_eq!(one_warnings, three_warnings, "{policy:?}");
            let rows: usize = three.iter().filter_map(|b| b.as_ref().ok()).map(|b| b.num_rows()).sum();
            match policy {
                // The value that does not fit is left out (null), the record kept.
                OnBadRecord::Skip => {
                    assert_eq!(rows, 120_000);
                    let batch = three[40].as_ref().unwrap();
                    assert!(batch.column(0).is_null(0) && batch.column(0).is_null(1) && batch.column(0).is_valid(2));
                }
                // The first batch holds a value its column cannot: the read stops there.
                OnBadRecord::Emit | OnBadRecord::Fail => {
                    assert!(three.last().is_some_and(|r| r.is_err()) && rows == 0)
                }
            }
        }
    }
}
