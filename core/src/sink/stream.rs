//! One stream's output: its schema, its open file per partition, rollover,
//! and commit.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use serde_json::{Map, Value};

use super::generation::{Cleanup, GENERATION_ID};
use super::layout::{file_name, partition_segment, safe_segment};
use super::rows::{ChunkDecoder, RowChunk};
use super::settings::SinkConfig;
use super::target::Target;
use crate::error::{Error, Result};
use crate::formats::background::BackgroundWriter;
use crate::formats::{new_writer, FormatWriter};
use crate::records::{record_fits, TextFits};
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
    writer: BackgroundWriter<S, RowChunk>,
}

/// One partition folder's writer.
struct Part<S: std::io::Write + Send + 'static> {
    rel_dir: String,
    rows: RowChunk,
    file: Option<OpenFile<S>>,
    /// Sequence number of the oldest record not yet committed.
    first_uncommitted: Option<u64>,
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
    /// The check of records against the inferred schema (a record that fits
    /// is not parsed on this thread: only its file's decoder reads it).
    fits: Option<TextFits>,
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
        StreamSink {
            name: name.to_string(),
            dir: safe_segment(name),
            schema: schema.map(|s| with_metadata(s, cfg.metadata_columns, generation)),
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

    /// Adds one record; returns the schema inference's new warnings.
    pub fn push<T: Target<Sink = S>>(&mut self, target: &mut T, cfg: &SinkConfig, row: Row<'_>) -> Result<Vec<String>> {
        let Row {
            seq,
            line,
            data,
            emitted_at,
        } = row;
        self.records += 1;
        self.since_state += 1;
        let fits = |s: &Self| s.inferrer.is_none() || s.fits.as_ref().is_some_and(|f| f.fits(data));
        if cfg.partition_by.is_empty() && fits(self) {
            // The fast path: the text goes straight to the decoder's buffer.
            self.push_row(target, cfg, row, String::new())?;
            return Ok(vec![]);
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
                return Ok(self.new_warnings());
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
        Ok(warnings)
    }

    fn set_schema(&mut self, data: &Schema, cfg: &SinkConfig) {
        self.schema = Some(with_metadata(data, cfg.metadata_columns, self.generation));
        self.fits = self.inferrer.is_some().then(|| TextFits::new(data));
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
            let part_dir = std::mem::take(&mut s.part_dir);
            self.push_row(target, cfg, s.row(), part_dir)?;
        }
        Ok(())
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
            let part = Part {
                rel_dir,
                rows: RowChunk::default(),
                file: None,
                first_uncommitted: None,
            };
            self.parts.insert(part_dir.clone(), part);
        }
        let Some(part) = self.parts.get_mut(&part_dir) else {
            return Err(Error::Internal("partition writer vanished".into()));
        };
        part.first_uncommitted.get_or_insert(row.seq);
        part.rows.push(row.data, row.emitted_at, row.line);
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
    if part.rows.is_empty() {
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
        let writer = BackgroundWriter::spawn_with(encoder, move |chunk: RowChunk| decoder.decode(&chunk))?;
        part.file = Some(OpenFile { rel_path, writer });
    }
    let Some(file) = part.file.as_mut() else {
        return Ok(false);
    };
    file.writer.send(std::mem::take(&mut part.rows))?;
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
    if part.rows.is_empty() {
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
mod tests {
    use super::*;

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
