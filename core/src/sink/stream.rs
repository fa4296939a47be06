//! One stream's output: its schema, its open file per partition, rollover,
//! and commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};

use super::generation::{Cleanup, GENERATION_ID};
use super::input::scan::is_one_value;
use super::layout::{file_name, partition_segment, safe_segment};
use super::rows::{data_schema, Chunk, ChunkDecoder, DecodedRows, RowChunk};
use super::settings::SinkConfig;
use super::target::Target;
use crate::error::{Error, Result};
use crate::formats::background::BackgroundWriter;
use crate::formats::{new_writer, FormatWriter};
use crate::records::{record_fits, FlatJsonDecoder, TextFits};
use crate::schema::{timestamp_utc, JsonSchemaInferrer};

/// The row id column added to every row.
pub const RAW_ID: &str = "_airbyte_raw_id";
/// The extraction time column added to every row.
pub const EXTRACTED_AT: &str = "_airbyte_extracted_at";

/// Records buffered to infer a schema when there is no catalog.
pub const INFER_SAMPLE: usize = 1000;

/// An open file: its records are decoded on one thread and encoded on
/// another, while the engine reads on.
struct OpenFile<S: std::io::Write + Send + 'static> {
    rel_path: String,
    writer: BackgroundWriter<S, Chunk>,
}

/// One partition folder's writer.
struct Part<S: std::io::Write + Send + 'static> {
    rel_dir: String,
    /// Records held as text, for the file's decoder thread.
    rows: RowChunk,
    /// Records decoded as they were read (the fast path); they go to the
    /// file before any record of `rows`.
    decoded: Option<DecodedRows>,
    /// Whether the records of the chunk being filled may take the fast path
    /// (a record it does not take sends the chunk's rest as text).
    decoding: bool,
    /// Chunks handed to the file (where decoding is shared, the odd ones go
    /// as text: see [`StreamSink::shares_decoding`]).
    sent: u64,
    file: Option<OpenFile<S>>,
    /// Sequence number of the oldest record not yet committed.
    first_uncommitted: Option<u64>,
}

impl<S: std::io::Write + Send + 'static> Part<S> {
    fn new(rel_dir: String) -> Self {
        Part {
            rel_dir,
            rows: RowChunk::default(),
            decoded: None,
            decoding: true,
            sent: 0,
            file: None,
            first_uncommitted: None,
        }
    }

    /// Records held, not yet handed to the file.
    fn held(&self) -> usize {
        self.rows.len() + self.decoded.as_ref().map_or(0, DecodedRows::len)
    }
}

/// What a stream did with a record.
#[derive(Debug, PartialEq)]
pub enum Pushed {
    /// Taken; the schema inference's new warnings.
    Taken(Vec<String>),
    /// Not taken: its `data` was delimited by its line's tail only and is
    /// not one JSON value. Nothing of it is kept (the rows decoded before it
    /// may have gone to their file, as before any record held as text). The
    /// caller reads the line in full (it may hold more fields, or be
    /// malformed) and hands over that.
    Undelimited,
}

/// One record as the engine hands it to a stream.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// Its sequence number among all records of the input.
    pub seq: u64,
    /// The input line it came from.
    pub line: u64,
    /// Its JSON object's text.
    pub data: &'a str,
    /// Whether `data` is known to be one balanced JSON value; when not (it
    /// was delimited by its line's tail), the stream checks it unless its
    /// decoder reads it to its end.
    pub data_checked: bool,
    /// When it was extracted (ms since the epoch).
    pub emitted_at: i64,
}

/// A record held while the schema is inferred.
struct Sampled {
    seq: u64,
    line: u64,
    data: String,
    emitted_at: i64,
    part_dir: String,
}

impl Sampled {
    fn row(&self) -> Row<'_> {
        Row {
            seq: self.seq,
            line: self.line,
            data: &self.data,
            data_checked: true,
            emitted_at: self.emitted_at,
        }
    }
}

/// A stream's writer.
pub struct StreamSink<S: std::io::Write + Send + 'static> {
    name: String,
    dir: String,
    schema: Option<SchemaRef>,
    data_schema: Option<Schema>,
    inferrer: Option<JsonSchemaInferrer>,
    /// The check of records against the inferred schema, for those the
    /// fast path (`flat`) does not take (a record that fits is not parsed on
    /// this thread: only its file's decoder reads it).
    fits: Option<TextFits>,
    /// The decoder of the fast path, records decoded as they are read: for
    /// a schema inferred from plain columns, it takes only records that fit
    /// it (no check of their own, one scan each).
    flat: Option<Arc<FlatJsonDecoder>>,
    warned: usize,
    sample: Vec<Sampled>,
    parts: BTreeMap<String, Part<S>>,
    next_index: usize,
    /// Final paths of the files this sync committed.
    pub committed: Vec<String>,
    /// Records since the stream's last STATE.
    pub since_state: u64,
    /// Records written in this sync.
    pub records: u64,
    /// What is removed of the stream's older data after a successful sync.
    pub cleanup: Cleanup,
    /// The refresh generation this sync writes (from the catalog).
    pub generation: Option<i64>,
}

/// The written schema: the metadata columns (`_airbyte_raw_id`,
/// `_airbyte_extracted_at`, and `_airbyte_generation_id` when the catalog
/// gives a generation), then the data's fields (a data field of the same
/// name as a metadata column is dropped: the destination writes its own).
fn with_metadata(data: &Schema, metadata_columns: bool, generation: Option<i64>) -> SchemaRef {
    if !metadata_columns {
        return Arc::new(data.clone());
    }
    let mut fields = vec![
        Arc::new(Field::new(RAW_ID, DataType::Utf8, true)),
        Arc::new(Field::new(EXTRACTED_AT, timestamp_utc(), true)),
    ];
    if generation.is_some() {
        fields.push(Arc::new(Field::new(GENERATION_ID, DataType::Int64, true)));
    }
    fields.extend(
        data.fields()
            .iter()
            .filter(|f| f.name() != RAW_ID && f.name() != EXTRACTED_AT && f.name() != GENERATION_ID)
            .cloned(),
    );
    Arc::new(Schema::new(fields))
}

impl<S: std::io::Write + Send + 'static> StreamSink<S> {
    /// A stream writer; `schema` is the data's schema from the catalog, or
    /// `None` to infer it from the records; `generation` the catalog's
    /// `generation_id` for the stream.
    pub fn new(
        name: &str,
        schema: Option<&Schema>,
        cleanup: Cleanup,
        generation: Option<i64>,
        cfg: &SinkConfig,
    ) -> Self {
        let written = schema.map(|s| with_metadata(s, cfg.metadata_columns, generation));
        StreamSink {
            name: name.to_string(),
            dir: safe_segment(name),
            flat: written.as_ref().and_then(|w| fast_decoder(w, cfg, generation, false)),
            schema: written,
            data_schema: schema.cloned(),
            warned: 0,
            inferrer: schema.is_none().then(|| JsonSchemaInferrer::new(cfg.json_max_depth)),
            fits: None,
            sample: Vec::new(),
            parts: BTreeMap::new(),
            next_index: 0,
            committed: Vec::new(),
            since_state: 0,
            records: 0,
            cleanup,
            generation,
        }
    }

    /// The stream's directory (relative to the root).
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// The oldest uncommitted record's sequence number.
    pub fn first_uncommitted(&self) -> Option<u64> {
        let parts = self.parts.values().filter_map(|p| p.first_uncommitted);
        let sample = self.sample.first().map(|s| s.seq);
        parts.chain(sample).min()
    }

    /// Adds one record: [`Pushed::Taken`] with the schema inference's new
    /// warnings, or [`Pushed::Undelimited`] (nothing added) for a `data` not
    /// known to be one value that is not.
    pub fn push<T: Target<Sink = S>>(&mut self, target: &mut T, cfg: &SinkConfig, row: Row<'_>) -> Result<Pushed> {
        let Row {
            seq,
            line,
            data,
            data_checked,
            emitted_at,
        } = row;
        let fits = |s: &Self| s.inferrer.is_none() || s.fits.as_ref().is_some_and(|f| f.fits(data));
        // The decoder of the first fast path reads `data` to its end; every
        // other path needs it delimited.
        let decoded = cfg.partition_by.is_empty() && self.push_decoded(target, cfg, row)?;
        if !decoded && !data_checked && !is_one_value(data) {
            return Ok(Pushed::Undelimited);
        }
        self.records += 1;
        self.since_state += 1;
        if decoded {
            return Ok(Pushed::Taken(vec![]));
        }
        if cfg.partition_by.is_empty() {
            // The other fast path: its text straight to the decoder's buffer.
            if fits(self) {
                self.push_row(target, cfg, row, String::new())?;
                return Ok(Pushed::Taken(vec![]));
            }
        }
        let map: Map<String, Value> = serde_json::from_str(data).map_err(|e| {
            Error::format(
                format!("stream '{}', input line {line}", self.name),
                format!("invalid record: {e}"),
            )
        })?;
        let part_dir = if cfg.partition_by.is_empty() {
            String::new()
        } else {
            partition_dir(&cfg.partition_by, &map, emitted_at)
        };
        let mut warnings = vec![];
        if self.inferrer.is_some() {
            let record = Value::Object(map);
            if self.schema.is_none() {
                if let Some(inferrer) = self.inferrer.as_mut() {
                    inferrer.observe(&record);
                }
                self.sample.push(Sampled {
                    seq,
                    line,
                    data: data.to_string(),
                    emitted_at,
                    part_dir,
                });
                if self.sample.len() >= INFER_SAMPLE {
                    self.start_inferred(target, cfg)?;
                }
                return Ok(Pushed::Taken(self.new_warnings()));
            }
            if !self.data_schema.as_ref().is_some_and(|s| record_fits(&record, s)) {
                // Widen, and roll every open file over to the new schema.
                let widened = match self.inferrer.as_mut() {
                    Some(inferrer) => {
                        inferrer.observe(&record);
                        inferrer.schema()
                    }
                    None => return Err(Error::Internal("no schema inferrer".into())),
                };
                warnings = self.new_warnings();
                self.commit_all(target, cfg)?;
                self.set_schema(&widened, cfg);
                self.parts.clear();
            }
        }
        self.push_row(target, cfg, row, part_dir)?;
        Ok(Pushed::Taken(warnings))
    }

    fn set_schema(&mut self, data: &Schema, cfg: &SinkConfig) {
        self.schema = Some(with_metadata(data, cfg.metadata_columns, self.generation));
        self.fits = self.inferrer.is_some().then(|| TextFits::new(data));
        self.flat = self
            .schema
            .as_ref()
            .and_then(|w| fast_decoder(w, cfg, self.generation, self.inferrer.is_some()));
        self.data_schema = Some(data.clone());
    }

    fn new_warnings(&mut self) -> Vec<String> {
        let Some(inferrer) = &self.inferrer else { return vec![] };
        let all = inferrer.warnings();
        let fresh = all.get(self.warned..).unwrap_or_default().to_vec();
        self.warned = all.len();
        fresh
    }

    fn start_inferred<T: Target<Sink = S>>(&mut self, target: &mut T, cfg: &SinkConfig) -> Result<()> {
        let Some(inferred) = self.inferrer.as_ref().map(JsonSchemaInferrer::schema) else {
            return Ok(());
        };
        self.set_schema(&inferred, cfg);
        for mut s in std::mem::take(&mut self.sample) {
            if s.part_dir.is_empty() && self.push_decoded(target, cfg, s.row())? {
                continue;
            }
            let part_dir = std::mem::take(&mut s.part_dir);
            self.push_row(target, cfg, s.row(), part_dir)?;
        }
        Ok(())
    }

    /// The fast path of an unpartitioned stream: the record decoded into
    /// its file's next batch at once. `false` (nothing held) when the
    /// record does not take it (or fit the inferred schema): the caller
    /// then holds it as text.
    fn push_decoded<T: Target<Sink = S>>(&mut self, target: &mut T, cfg: &SinkConfig, row: Row<'_>) -> Result<bool> {
        let (Some(flat), Some(schema)) = (&self.flat, &self.schema) else {
            return Ok(false);
        };
        #[cfg(test)]
        if tests::TEXT_ONLY.with(std::cell::Cell::get) {
            return Ok(false);
        }
        let shares = self.shares_decoding();
        let part = self
            .parts
            .entry(String::new())
            .or_insert_with(|| Part::new(self.dir.clone()));
        // Where decoding is shared, every other chunk goes as text.
        if !part.decoding || (shares && part.sent % 2 == 1) {
            return Ok(false);
        }
        let batch_rows = cfg.batch_rows();
        let rows = part
            .decoded
            .get_or_insert_with(|| DecodedRows::new(Arc::clone(flat), batch_rows));
        let taken = rows.push(row.data, row.emitted_at);
        #[cfg(test)]
        tests::DECODED.with(|d| d.set(d.get() + usize::from(taken)));
        if taken {
            part.first_uncommitted.get_or_insert(row.seq);
        } else {
            part.decoding = false;
        }
        // A full batch, or what was decoded before a record held as text (which follows it).
        if (taken && rows.len() >= batch_rows) || (!taken && !rows.is_empty()) {
            let ids = FileIds {
                stream: &self.name,
                dir: &self.dir,
                generation: self.generation,
            };
            if write_buffered(part, target, cfg, ids, &mut self.next_index, schema)? {
                let path = commit_part(part, target)?;
                self.committed.extend(path);
            }
            // Text from here to the end of the chunk.
            if !taken {
                part.decoding = false;
            }
        }
        Ok(taken)
    }

    /// Whether the decoding of records is shared with each file's own
    /// thread: with a catalog's schema every other chunk goes as text to
    /// be decoded there (the reading thread, which also scans every line, is
    /// the busiest of the three: 1M records → Parquet took 1.11–1.29 s
    /// against 1.26–1.43 s decoding all on the reading thread). Records
    /// checked against an inferred schema are decoded where they are read:
    /// that decode is their check.
    fn shares_decoding(&self) -> bool {
        self.inferrer.is_none()
    }

    fn push_row<T: Target<Sink = S>>(
        &mut self,
        target: &mut T,
        cfg: &SinkConfig,
        row: Row<'_>,
        part_dir: String,
    ) -> Result<()> {
        let schema = match &self.schema {
            Some(s) => Arc::clone(s),
            None => return Err(Error::Internal("stream has no schema yet".into())),
        };
        if !self.parts.contains_key(&part_dir) {
            let rel_dir = if part_dir.is_empty() {
                self.dir.clone()
            } else {
                format!("{}/{}", self.dir, part_dir)
            };
            self.parts.insert(part_dir.clone(), Part::new(rel_dir));
        }
        let Some(part) = self.parts.get_mut(&part_dir) else {
            return Err(Error::Internal("partition writer vanished".into()));
        };
        part.first_uncommitted.get_or_insert(row.seq);
        part.rows.push(row.data, row.emitted_at, row.line);
        // Records decoded later would overtake it: text to the chunk's end.
        part.decoding = false;
        if part.rows.len() >= cfg.batch_rows() {
            let ids = FileIds {
                stream: &self.name,
                dir: &self.dir,
                generation: self.generation,
            };
            let full = write_buffered(part, target, cfg, ids, &mut self.next_index, &schema)?;
            if full {
                let path = commit_part(part, target)?;
                self.committed.extend(path);
            }
        }
        Ok(())
    }

    /// Writes out and commits every open file (at a state flush or the end).
    pub fn commit_all<T: Target<Sink = S>>(&mut self, target: &mut T, cfg: &SinkConfig) -> Result<()> {
        if self.schema.is_none() && !self.sample.is_empty() {
            self.start_inferred(target, cfg)?;
        }
        let Some(schema) = self.schema.clone() else {
            return Ok(());
        };
        let ids = FileIds {
            stream: &self.name,
            dir: &self.dir,
            generation: self.generation,
        };
        for part in self.parts.values_mut() {
            write_buffered(part, target, cfg, ids, &mut self.next_index, &schema)?;
            let path = commit_part(part, target)?;
            self.committed.extend(path);
        }
        Ok(())
    }

    /// The file name prefix of this stream's files (`<stream>_`).
    pub fn file_prefix(&self) -> String {
        format!("{}_", self.dir)
    }
}

/// What names a stream's files and what they record.
#[derive(Clone, Copy)]
struct FileIds<'a> {
    stream: &'a str,
    dir: &'a str,
    generation: Option<i64>,
}

/// The decoder of the fast path for batches of `schema` (see
/// [`StreamSink::flat`]): with a catalog's schema every record is offered to
/// it ([`FlatJsonDecoder::new`]); with an `inferred` one it takes only
/// records that fit ([`FlatJsonDecoder::strict`]). `None` when the schema
/// has columns it does not decode.
///
/// With a catalog, too, a record is decoded on the reading thread: right
/// after the envelope scan its text is still in cache, and the batch decode
/// on the file's thread cost about a third more CPU in all (1M records →
/// Parquet: 853 against 1129 profile samples, the reading thread's share
/// 551 against 498).
fn fast_decoder(
    schema: &SchemaRef,
    cfg: &SinkConfig,
    generation: Option<i64>,
    inferred: bool,
) -> Option<Arc<FlatJsonDecoder>> {
    let data = data_schema(schema, cfg.metadata_columns, generation);
    let decoder = if inferred {
        FlatJsonDecoder::strict(data)
    } else {
        FlatJsonDecoder::new(data)
    };
    decoder.map(Arc::new)
}

/// Hands the part's buffered records to its file (opening one when needed).
/// Returns true when the file reached the rollover size.
fn write_buffered<S: std::io::Write + Send + 'static, T: Target<Sink = S>>(
    part: &mut Part<S>,
    target: &mut T,
    cfg: &SinkConfig,
    ids: FileIds<'_>,
    next_index: &mut usize,
    schema: &SchemaRef,
) -> Result<bool> {
    let FileIds {
        stream,
        dir: stream_dir,
        generation,
    } = ids;
    if part.held() == 0 {
        return Ok(false);
    }
    if part.file.is_none() {
        let rel_path = loop {
            let name = file_name(
                stream_dir,
                &cfg.stamp,
                cfg.writer.as_deref(),
                *next_index,
                &cfg.extension(),
            );
            *next_index += 1;
            let candidate = format!("{}/{}", part.rel_dir, name);
            if !target.exists(&candidate)? {
                break candidate;
            }
        };
        let sink = target.create(&rel_path, generation)?;
        let mut options = cfg.write_options.clone();
        if cfg.metadata_columns {
            // Row ids never repeat: a dictionary would only be built to be dropped.
            options.distinct_columns.push(RAW_ID.to_string());
        }
        let encoder = new_writer(cfg.format, &cfg.codec, Arc::clone(schema), sink, &options)?;
        let encoder: Box<dyn FormatWriter<S>> = Box::new(BackgroundWriter::spawn(encoder)?);
        let mut decoder = ChunkDecoder::new(stream, Arc::clone(schema), cfg.metadata_columns, cfg.batch_rows())?
            .with_generation(generation)?;
        let writer = BackgroundWriter::spawn_with(encoder, move |chunk: Chunk| decoder.batch(chunk))?;
        part.file = Some(OpenFile { rel_path, writer });
    }
    let Some(file) = part.file.as_mut() else {
        return Ok(false);
    };
    // What was decoded came first.
    if let Some(decoded) = part.decoded.take().filter(|d| !d.is_empty()) {
        file.writer.send(Chunk::Decoded(decoded))?;
    }
    if !part.rows.is_empty() {
        file.writer.send(Chunk::Text(std::mem::take(&mut part.rows)))?;
    }
    // The next chunk tries the fast path again (unless it is one whose
    // decoding is left to the file's thread).
    part.sent += 1;
    part.decoding = true;
    Ok(file.writer.bytes_written() + file.writer.buffered_bytes() >= cfg.file_size_bytes)
}

/// Finishes and commits the part's open file, if any. Returns its path.
fn commit_part<S: std::io::Write + Send + 'static, T: Target<Sink = S>>(
    part: &mut Part<S>,
    target: &mut T,
) -> Result<Option<String>> {
    let committed = match part.file.take() {
        Some(OpenFile { rel_path, writer }) => {
            let sink = writer.finish()?;
            target.commit(&rel_path, sink)?;
            Some(rel_path)
        }
        None => None,
    };
    if part.held() == 0 {
        part.first_uncommitted = None;
    }
    Ok(committed)
}

/// The hive folders for a record: `k1=v1/k2=v2`.
fn partition_dir(keys: &[String], data: &Map<String, Value>, emitted_at: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(emitted_at).unwrap_or_default();
    keys.iter()
        .map(|k| {
            let value = match data.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => match k.as_str() {
                    "year" => t.format("%Y").to_string(),
                    "month" => t.format("%m").to_string(),
                    "day" => t.format("%d").to_string(),
                    "hour" => t.format("%H").to_string(),
                    EXTRACTED_AT => t.format("%Y-%m-%d").to_string(),
                    _ => String::new(),
                },
                Some(other) => other.to_string(),
            };
            partition_segment(k, &value)
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::formats::compression::Compression;
    use crate::formats::{FileFormat, WriteOptions};
    use crate::sink::generation::Sweep;

    thread_local! {
        /// Turns the decoded fast path off on this thread: the records all
        /// go as text to the file's decoder thread (the general path).
        pub(crate) static TEXT_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
        /// Records the decoded fast path took on this thread.
        pub(crate) static DECODED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        /// [`write_rows`] goes on past a record handed back undelimited.
        static UNDELIMITED_SKIPPED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Files kept in memory.
    #[derive(Default)]
    struct Memory {
        committed: HashMap<String, Vec<u8>>,
    }

    impl Target for Memory {
        type Sink = Vec<u8>;
        fn exists(&mut self, rel_path: &str) -> Result<bool> {
            Ok(self.committed.contains_key(rel_path))
        }
        fn create(&mut self, _: &str, _: Option<i64>) -> Result<Vec<u8>> {
            Ok(Vec::new())
        }
        fn commit(&mut self, rel_path: &str, sink: Vec<u8>) -> Result<()> {
            self.committed.insert(rel_path.to_string(), sink);
            Ok(())
        }
        fn abort_all(&mut self) {}
        fn remove_older(&mut self, _: &str, _: &str, _: &[String], _: &Sweep) -> Result<usize> {
            Ok(0)
        }
    }

    fn config(batch: usize) -> SinkConfig {
        SinkConfig {
            format: FileFormat::Jsonl,
            codec: "none".into(),
            text_compression: Compression::None,
            file_size_bytes: 1 << 30,
            partition_by: vec![],
            metadata_columns: false,
            batch_size: batch,
            stamp: "20240101_000000".into(),
            writer: None,
            overwrite: false,
            json_max_depth: 5,
            write_options: WriteOptions::default(),
        }
    }

    /// Writes `records` (the `data` of each, numbered from line 1) as one
    /// stream, its schema from `schema` or inferred; returns the output's
    /// lines in file order, and the warnings.
    fn write(records: &[&str], schema: Option<&Schema>, text_only: bool, batch: usize) -> Result<Vec<String>> {
        write_rows(records, schema, text_only, batch, true)
    }

    /// [`write`], the records' `data` marked `checked` or not (delimited by
    /// their line's tail only).
    fn write_rows(
        records: &[&str],
        schema: Option<&Schema>,
        text_only: bool,
        batch: usize,
        checked: bool,
    ) -> Result<Vec<String>> {
        TEXT_ONLY.with(|t| t.set(text_only));
        let cfg = config(batch);
        let mut target = Memory::default();
        let mut sink = StreamSink::new("s", schema, Cleanup::of(None, false), None, &cfg);
        for (i, data) in records.iter().enumerate() {
            let row = Row {
                seq: i as u64 + 1,
                line: i as u64 + 1,
                data,
                data_checked: checked,
                emitted_at: 1_700_000_000_000,
            };
            let pushed = sink.push(&mut target, &cfg, row).and_then(|p| match p {
                Pushed::Taken(_) => Ok(()),
                Pushed::Undelimited if UNDELIMITED_SKIPPED.with(std::cell::Cell::get) => Ok(()),
                Pushed::Undelimited => Err(Error::Internal(format!("input line {}: undelimited", i + 1))),
            });
            if let Err(e) = pushed {
                TEXT_ONLY.with(|t| t.set(false));
                return Err(e);
            }
        }
        sink.commit_all(&mut target, &cfg)?;
        TEXT_ONLY.with(|t| t.set(false));
        let mut lines = vec![];
        for path in &sink.committed {
            let text = String::from_utf8(target.committed[path].clone()).expect("JSON lines");
            lines.extend(text.lines().map(str::to_string));
        }
        Ok(lines)
    }

    /// Records as sources print them and odd ones, where the schema
    /// inferred from the first ones is widened by later ones.
    fn odd_records() -> Vec<String> {
        let mut records: Vec<String> = (0..1200)
            .map(|i| format!(r#"{{"id":{i},"amount":{i}.5,"ok":true,"name":"user-{i}"}}"#))
            .collect();
        records.extend(
            [
                r#"{"id":1,"amount":1e5,"ok":false,"name":"é ü€😀"}"#,
                r#"{"id":-0,"amount":-0,"name":null}"#,
                r#"{"amount":1.0}"#,
                r#"{"name":"a\"b\\c\n\u00e9"}"#,
                r#"{"id":2,"amount":3,"ok":null,"name":"after an escape"}"#,
                r#"{"name":12}"#,
                r#"{"id":3,"name":"x"}"#,
                r#"{"id":4,"extra":"a new column"}"#,
                r#"{"id":5,"amount":-1.25E-3,"name":"x","extra":null}"#,
                r#"{"id":6,"nested":{"a":[1,2,{"b":null}]}}"#,
                r#"{"id":7.5}"#,
                r#"{"id":8,"name":"last"}"#,
            ]
            .map(str::to_string),
        );
        records.extend((0..50).map(|i| format!(r#"{{"id":{i},"name":"tail-{i}","amount":0.25}}"#)));
        records
    }

    /// A `data` delimited by its line's tail only is written as a checked
    /// one when it is one object, and handed back untaken on every path
    /// when it is not: decoded at once (the decoder reads it to its end),
    /// held as text or sampled for the schema (checked first).
    #[test]
    fn an_unchecked_data_is_written_when_one_object_and_handed_back_otherwise() {
        let records = odd_records();
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("name", DataType::Utf8, true),
        ]);
        for schema in [None, Some(&schema)] {
            for text_only in [false, true] {
                let checked = write(&records, schema, text_only, 256).unwrap();
                assert_eq!(write_rows(&records, schema, text_only, 256, false).unwrap(), checked);
                for bad in [
                    r#"{"id":1},"x":{"b":2}"#,
                    r#"{"id":1} {"id":2}"#,
                    r#"{"id":{"b":1}"#,
                    r#"{"name":"}"#,
                ] {
                    // Early (while the schema is sampled) and late (decoded at once).
                    for at in [3, 1100] {
                        let mut input = records[..at].to_vec();
                        input.push(bad);
                        let e = write_rows(&input, schema, text_only, 256, false).expect_err(bad);
                        assert!(
                            e.to_string().contains(&format!("input line {}: undelimited", at + 1)),
                            "{bad}: {e}"
                        );
                        // Handed back with nothing changed: the stream goes on
                        // as if it had not been offered.
                        input.extend(&records[at..]);
                        UNDELIMITED_SKIPPED.with(|s| s.set(true));
                        let skipped = write_rows(&input, schema, text_only, 256, false);
                        UNDELIMITED_SKIPPED.with(|s| s.set(false));
                        assert_eq!(skipped.unwrap(), checked, "{bad} at {at}");
                    }
                }
            }
        }
    }

    /// Without a catalog, records decoded as they are read (one scan each)
    /// come out exactly as through the general path (a fit check, then the
    /// decoder thread), widening included.
    #[test]
    fn the_decoded_path_writes_what_the_text_path_writes() {
        let records = odd_records();
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        for batch in [1, 3, 256] {
            DECODED.with(|d| d.set(0));
            let fast = write(&records, None, false, batch).unwrap();
            let decoded = DECODED.with(std::cell::Cell::get);
            assert!(decoded > 1200, "the fast path took {decoded} records");
            let general = write(&records, None, true, batch).unwrap();
            assert_eq!(
                DECODED.with(std::cell::Cell::get),
                decoded,
                "the general path took none"
            );
            assert_same(&fast, &general, records.len(), batch);
        }
        // With a catalog's schema too (a key outside it is dropped).
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("amount", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("name", DataType::Utf8, true),
            Field::new("day", DataType::Date32, true),
        ]);
        let mut records = records[..1210].to_vec();
        records.push(r#"{"id":9,"day":"2024-02-29"}"#);
        records.push(r#"{"day":null,"name":"é"}"#);
        for batch in [1, 7, 256] {
            DECODED.with(|d| d.set(0));
            let fast = write(&records, Some(&schema), false, batch).unwrap();
            // Every other chunk is decoded on the file's thread: both paths ran.
            let decoded = DECODED.with(std::cell::Cell::get);
            assert!(
                decoded > records.len() / 3 && decoded < records.len() * 2 / 3,
                "batch {batch}: the reading thread decoded {decoded} of {} records",
                records.len()
            );
            let general = write(&records, Some(&schema), true, batch).unwrap();
            assert_same(&fast, &general, records.len(), batch);
        }
    }

    fn assert_same(fast: &[String], general: &[String], records: usize, batch: usize) {
        assert_eq!((fast.len(), general.len()), (records, records), "batch {batch}");
        if let Some((i, (a, b))) = fast.iter().zip(general).enumerate().find(|(_, (a, b))| a != b) {
            panic!("batch {batch}, record {i}: {a} vs {b}");
        }
    }

    /// A record that does not fit the catalog's schema is an error naming
    /// its input line, after records the fast path took.
    #[test]
    fn a_record_that_does_not_fit_names_its_line() {
        let schema = Schema::new(vec![Field::new("id", DataType::Int64, true)]);
        let mut records = vec![r#"{"id":1}"#; 9];
        records.push(r#"{"id":{"nested":true}}"#);
        records.push(r#"{"id":2}"#);
        for batch in [1, 4, 256] {
            let err = write(&records, Some(&schema), false, batch).unwrap_err().to_string();
            assert!(err.contains("input line 10"), "{err}");
        }
    }

    #[test]
    fn partition_folders() {
        let data: Map<String, Value> = serde_json::from_str(r#"{"country":"FR","n":3}"#).unwrap();
        let keys = vec!["country".to_string(), "n".to_string(), "year".to_string()];
        assert_eq!(
            partition_dir(&keys, &data, 1_700_000_000_000),
            "country=FR/n=3/year=2023"
        );
    }
}
