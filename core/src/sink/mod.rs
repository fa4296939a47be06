//! The write loop of file-based destinations, shared by destination-file and
//! destination-s3:
//!
//! stdin lines → per-stream buffered writer (one open file per partition) →
//! rollover at `file_size_mb` → commit (rename into place / complete the
//! upload) → only then echo the STATE messages that came before.
//!
//! A STATE is held until every record before it, in the streams it covers,
//! is in a committed file; a failure discards every uncommitted file and
//! echoes nothing more.

pub mod input;
pub mod layout;
pub mod states;
pub mod stream;
pub mod target;

use std::collections::HashMap;
use std::io::BufRead;

use arrow::datatypes::Schema;
use lakeport_protocol::{
    AirbyteMessage, ConfiguredAirbyteCatalog, ConnectorError, DestinationSyncMode, Emitter, StreamDescriptor,
};

use crate::error::Error;
use crate::formats::compression::Compression;
use crate::formats::{FileFormat, WriteOptions};
use crate::schema::json_schema_to_arrow;
use states::{PendingStates, Scope};
use stream::StreamSink;
pub use target::Target;

/// How a destination writes.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Output format.
    pub format: FileFormat,
    /// The format's codec (`""` for its default).
    pub codec: String,
    /// Stream compression wrapped around text formats (its extension is added).
    pub text_compression: Compression,
    /// A file is committed and a new one started past this size.
    pub file_size_bytes: u64,
    /// Record fields (or extraction-date parts) that become hive folders.
    pub partition_by: Vec<String>,
    /// Add `_airbyte_raw_id` and `_airbyte_extracted_at`.
    pub metadata_columns: bool,
    /// Rows decoded per batch.
    pub batch_size: usize,
    /// The sync's timestamp in file names (`YYYYMMDD_HHMMSS`).
    pub stamp: String,
    /// Overwrite every stream (besides catalog `destination_sync_mode`).
    pub overwrite: bool,
    /// Nesting kept when inferring schemas.
    pub json_max_depth: usize,
    /// Writer options.
    pub write_options: WriteOptions,
}

impl SinkConfig {
    /// The extension of the files written (`parquet`, `jsonl.gz`, …).
    pub fn extension(&self) -> String {
        match (self.format, self.text_compression) {
            (FileFormat::Parquet | FileFormat::Avro, _) | (_, Compression::None) => self.format.extension().to_string(),
            (f, c) => format!("{}.{}", f.extension(), c.extension()),
        }
    }
}

/// The codecs each output format accepts; the first is its default.
pub fn codecs(format: FileFormat) -> &'static [&'static str] {
    match format {
        FileFormat::Parquet => &["snappy", "gzip", "zstd", "lz4", "brotli", "none"],
        FileFormat::Avro => &["snappy", "deflate", "zstd", "bzip2", "xz", "none"],
        _ => &["none", "gzip", "zstd"],
    }
}

/// Checks `compression` against the codecs `format` accepts (its default
/// when `None`) and returns the codec name with the stream compression to
/// wrap text formats in (which also names the file extension).
pub fn resolve_codec(format: FileFormat, compression: Option<&str>) -> Result<(String, Compression), Error> {
    let allowed = codecs(format);
    let codec = compression
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| allowed[0].to_string());
    if !allowed.contains(&codec.as_str()) {
        return Err(Error::Config(format!(
            "compression '{codec}' does not apply to {}; use one of: {}.",
            format.name(),
            allowed.join(", ")
        )));
    }
    let text_compression = match format {
        FileFormat::Parquet | FileFormat::Avro => Compression::None,
        _ => codec.parse()?,
    };
    Ok((codec, text_compression))
}

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SinkSummary {
    /// Records written.
    pub records: u64,
    /// Files committed, relative to the root.
    pub files: Vec<String>,
    /// States echoed.
    pub states: u64,
    /// Older files removed by overwrite.
    pub removed: usize,
}

fn key(stream: &str, namespace: Option<&str>) -> StreamDescriptor {
    StreamDescriptor {
        name: stream.to_string(),
        namespace: namespace.map(str::to_string),
    }
}

struct Engine<'a, T: Target> {
    target: &'a mut T,
    cfg: &'a SinkConfig,
    catalog: Option<&'a ConfiguredAirbyteCatalog>,
    streams: HashMap<StreamDescriptor, StreamSink<T::Sink>>,
    order: Vec<StreamDescriptor>,
    pending: PendingStates,
    seq: u64,
    summary: SinkSummary,
}

impl<'a, T: Target> Engine<'a, T> {
    fn stream(&mut self, desc: &StreamDescriptor) -> Result<&mut StreamSink<T::Sink>, ConnectorError> {
        if !self.streams.contains_key(desc) {
            let sink = match self.catalog {
                Some(catalog) => {
                    let configured = catalog.find(&desc.name, desc.namespace.as_deref()).ok_or_else(|| {
                        ConnectorError::config(format!(
                            "A record of stream '{}' arrived, but the catalog does not configure that stream. Add it to the catalog or run without --catalog.",
                            desc.name
                        ))
                    })?;
                    let schema = json_schema_to_arrow(&configured.stream.json_schema)?;
                    let overwrite =
                        self.cfg.overwrite || configured.destination_sync_mode == DestinationSyncMode::Overwrite;
                    StreamSink::new(&desc.name, Some(&schema), overwrite, self.cfg)
                }
                None => StreamSink::new(&desc.name, None::<&Schema>, self.cfg.overwrite, self.cfg),
            };
            self.streams.insert(desc.clone(), sink);
            self.order.push(desc.clone());
        }
        self.streams
            .get_mut(desc)
            .ok_or_else(|| ConnectorError::system("stream writer vanished"))
    }

    fn release(&mut self, out: &mut Emitter) -> Result<(), ConnectorError> {
        let streams = &self.streams;
        let covered = |p: &states::Pending| match &p.scope {
            Scope::Stream(d) => streams
                .get(d)
                .and_then(|s| s.first_uncommitted())
                .is_none_or(|f| f > p.seq),
            Scope::All => streams
                .values()
                .all(|s| s.first_uncommitted().is_none_or(|f| f > p.seq)),
        };
        for state in self.pending.release(covered) {
            out.emit(&AirbyteMessage::State { state })?;
            self.summary.states += 1;
        }
        Ok(())
    }

    fn line(&mut self, line: &str, n: u64, out: &mut Emitter) -> Result<(), ConnectorError> {
        let parsed = input::parse_line(line).map_err(|e| {
            ConnectorError::config(format!(
                "Input line {n} is not a valid Airbyte message: {e}. Pipe a source's `read` output into `write`."
            ))
        })?;
        match parsed.kind.as_ref() {
            "RECORD" => {
                let Some(r) = parsed.record else { return Ok(()) };
                let desc = key(&r.stream, r.namespace.as_deref());
                self.stream(&desc)?;
                self.seq += 1;
                let seq = self.seq;
                let stream = self
                    .streams
                    .get_mut(&desc)
                    .ok_or_else(|| ConnectorError::system("stream writer vanished"))?;
                let committed_before = stream.committed.len();
                let warnings = stream
                    .push(&mut *self.target, self.cfg, seq, r.data.get(), r.emitted_at)
                    .map_err(|e| with_line(e, n))?;
                let committed_now = stream.committed.len();
                for w in warnings {
                    out.warn(format!("stream '{}': {w}", desc.name))?;
                }
                if committed_now > committed_before {
                    self.release(out)?;
                }
            }
            "STATE" => {
                let Some(raw) = parsed.state else { return Ok(()) };
                let streams = &mut self.streams;
                self.pending.push(raw, self.seq, |scope| match scope {
                    Scope::Stream(d) => streams.get_mut(d).map_or(0, |s| std::mem::take(&mut s.since_state)),
                    Scope::All => streams.values_mut().map(|s| std::mem::take(&mut s.since_state)).sum(),
                })?;
                self.release(out)?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn with_line(e: Error, n: u64) -> ConnectorError {
    let mut ce = ConnectorError::from(e);
    ce.message = format!("{} (input line {n})", ce.message);
    ce
}

/// Writes every message of `input` through `target`. On error, every
/// uncommitted file is discarded and the error returned.
pub fn run_sink<T: Target>(
    target: &mut T,
    cfg: &SinkConfig,
    catalog: Option<&ConfiguredAirbyteCatalog>,
    input: &mut (dyn BufRead + Send),
    out: &mut Emitter,
) -> Result<SinkSummary, ConnectorError> {
    let mut engine = Engine {
        target,
        cfg,
        catalog,
        streams: HashMap::new(),
        order: Vec::new(),
        pending: PendingStates::default(),
        seq: 0,
        summary: SinkSummary::default(),
    };
    let result = drive(&mut engine, input, out);
    if result.is_err() {
        engine.target.abort_all();
    }
    result?;
    Ok(engine.summary)
}

fn drive<T: Target>(
    engine: &mut Engine<'_, T>,
    input: &mut (dyn BufRead + Send),
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let mut line = String::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = input
            .read_line(&mut line)
            .map_err(|e| ConnectorError::system(format!("Could not read the input messages: {e}")))?;
        if read == 0 {
            break;
        }
        n += 1;
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        engine.line(text, n, out)?;
    }
    // End of input: commit everything, echo every state, then overwrite.
    for desc in engine.order.clone() {
        if let Some(stream) = engine.streams.get_mut(&desc) {
            stream.commit_all(engine.target, engine.cfg)?;
        }
    }
    engine.release(out)?;
    if let Some(catalog) = engine.catalog {
        for configured in &catalog.streams {
            let desc = configured.stream.descriptor();
            let overwrite = engine.cfg.overwrite || configured.destination_sync_mode == DestinationSyncMode::Overwrite;
            if overwrite && !engine.streams.contains_key(&desc) {
                // No record this sync: overwrite still empties the stream.
                engine.stream(&desc)?;
            }
        }
    }
    for desc in &engine.order {
        let Some(stream) = engine.streams.get(desc) else {
            continue;
        };
        engine.summary.records += stream.records;
        engine.summary.files.extend(stream.committed.iter().cloned());
        if stream.overwrite {
            engine.summary.removed +=
                engine
                    .target
                    .remove_older(stream.dir(), &stream.file_prefix(), &stream.committed)?;
        }
    }
    Ok(())
}
