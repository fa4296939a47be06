//! The write loop: stdin lines → per-stream writers → commit → STATE echo,
//! then each stream's cleanup (see the module documentation of `sink`).

use std::io::BufRead;

use arrow::datatypes::Schema;
use lakeport_protocol::{AirbyteMessage, ConfiguredAirbyteCatalog, ConnectorError, Emitter, StreamDescriptor};

use super::generation::{Cleanup, Sweep};
use super::input::lines::for_each_line;
use super::input::message::InputRecord;
use super::input::{invalid_line, parse_line, parse_line_deferred};
use super::replayed::replayed_extracted_at;
use super::settings::SinkConfig;
use super::source_status::SourceStatuses;
use super::states::{Pending, PendingStates, Scope};
use super::stream::{Pushed, Row, StreamSink};
use super::streams::{configured, Streams};
use super::target::Target;
use crate::schema::json_schema_to_arrow;

/// What a write did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SinkSummary {
    /// Records written.
    pub records: u64,
    /// Files committed, relative to the root.
    pub files: Vec<String>,
    /// States echoed.
    pub states: u64,
    /// Older files removed by overwrite or refresh.
    pub removed: usize,
}

struct Engine<'a, T: Target> {
    target: &'a mut T,
    cfg: &'a SinkConfig,
    catalog: Option<&'a ConfiguredAirbyteCatalog>,
    /// Each stream's writer, in the order their first record arrived.
    streams: Streams<StreamSink<T::Sink>>,
    pending: PendingStates,
    seq: u64,
    summary: SinkSummary,
    /// What the input said of the source's read.
    source: SourceStatuses,
}

impl<'a, T: Target> Engine<'a, T> {
    /// Hands record `r` of input line `n` to its stream. `false`, the
    /// record not taken, when its `data` is unchecked ([`parse_line_deferred`])
    /// and not one JSON value, or its stream is new: the caller then reads
    /// the line in full and hands that over (a stream is only ever set up
    /// from a record whose fields are certain).
    fn record(&mut self, r: &InputRecord<'_>, n: u64, out: &mut Emitter) -> Result<bool, ConnectorError> {
        let i = if r.data_checked {
            self.stream(&r.stream, r.namespace.as_deref())?
        } else {
            match self.streams.find(&r.stream, r.namespace.as_deref()) {
                Some(i) => i,
                None => return Ok(false),
            }
        };
        let (desc, stream) = self.streams.at_mut(i);
        let committed_before = stream.committed.len();
        let emitted_at = replayed_extracted_at(r.data).unwrap_or(r.emitted_at);
        let row = Row {
            seq: self.seq + 1,
            line: n,
            data: r.data,
            data_checked: r.data_checked,
            emitted_at,
        };
        // A record handed back may still have flushed the rows before it,
        // and so committed a file.
        let taken = match stream.push(&mut *self.target, self.cfg, row)? {
            Pushed::Taken(warnings) => {
                self.seq += 1;
                for w in warnings {
                    out.warn(format!("stream '{}': {w}", desc.name))?;
                }
                true
            }
            Pushed::Undelimited => false,
        };
        let committed_now = stream.committed.len();
        if committed_now > committed_before {
            files_committed(out, committed_now - committed_before);
            self.release(out)?;
        }
        Ok(taken)
    }

    /// The position of the stream's writer in `streams`, created on first use.
    fn stream(&mut self, name: &str, namespace: Option<&str>) -> Result<usize, ConnectorError> {
        let (catalog, cfg) = (self.catalog, self.cfg);
        self.streams
            .get_or_try_insert(name, namespace, |desc| new_sink(catalog, cfg, desc))
    }

    fn release(&mut self, out: &mut Emitter) -> Result<(), ConnectorError> {
        let streams = &self.streams;
        let covered = |p: &Pending| match &p.scope {
            Scope::Stream(d) => streams
                .get(d)
                .and_then(StreamSink::first_uncommitted)
                .is_none_or(|f| f > p.seq),
            Scope::All => streams
                .iter()
                .all(|(_, s)| s.first_uncommitted().is_none_or(|f| f > p.seq)),
        };
        for state in self.pending.release(covered) {
            out.emit(&AirbyteMessage::State { state })?;
            self.summary.states += 1;
        }
        Ok(())
    }

    fn line(&mut self, line: &str, n: u64, out: &mut Emitter) -> Result<(), ConnectorError> {
        let parsed = parse_line_deferred(line).map_err(|e| invalid_line(n, &e))?;
        match parsed.kind.as_ref() {
            "RECORD" => {
                let Some(r) = parsed.record else { return Ok(()) };
                if !self.record(&r, n, out)? {
                    // Its `data`, delimited by the line's tail, is not one
                    // value (the line may hold more fields, or be malformed):
                    // the line read in full says which.
                    let full = parse_line(line).map_err(|e| invalid_line(n, &e))?;
                    if let Some(r) = full.record {
                        self.record(&r, n, out)?;
                    }
                }
            }
            "STATE" => {
                let Some(raw) = parsed.state else { return Ok(()) };
                let streams = &mut self.streams;
                self.pending
                    .push(raw, self.seq, |scope| streams.take_count(scope, |s| &mut s.since_state))?;
                self.release(out)?;
            }
            "TRACE" => self.source.note(line),
            _ => {}
        }
        Ok(())
    }
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
        streams: Streams::default(),
        pending: PendingStates::default(),
        seq: 0,
        summary: SinkSummary::default(),
        source: SourceStatuses::default(),
    };
    let result = drive(&mut engine, input, out);
    if result.is_err() {
        // Stop every encoder thread first (their files unfinished), so the
        // target knows every file and upload it has to discard.
        engine.streams.clear();
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
    for_each_line(input, |text, n| engine.line(text, n, out))?;
    // End of input: commit everything, echo every state, then overwrite.
    // Each stream's states are echoed as soon as its files are committed:
    // a kill before the next stream's commit re-delivers less.
    for i in 0..engine.streams.len() {
        let stream = engine.streams.at_mut(i).1;
        let before = stream.committed.len();
        stream.commit_all(engine.target, engine.cfg)?;
        files_committed(out, stream.committed.len() - before);
        engine.release(out)?;
    }
    engine.release(out)?;
    if let Some(catalog) = engine.catalog {
        for configured in &catalog.streams {
            let desc = configured.stream.descriptor();
            if Cleanup::of(Some(configured), engine.cfg.overwrite).removes() && engine.streams.get(&desc).is_none() {
                // No record this sync: a refresh or overwrite still empties the stream.
                engine.stream(&desc.name, desc.namespace.as_deref())?;
            }
        }
    }
    for i in 0..engine.streams.len() {
        let (desc, stream) = engine.streams.at(i);
        engine.summary.records += stream.records;
        engine.summary.files.extend(stream.committed.iter().cloned());
        if !stream.cleanup.removes() {
            continue;
        }
        if let Some(why) = engine.source.not_complete(desc) {
            out.warn(format!(
                "stream '{}': its older data was kept because {why}; the next successful sync removes it.",
                desc.name
            ))?;
            continue;
        }
        let (dir, prefix, keep) = (stream.dir().to_string(), stream.file_prefix(), stream.committed.clone());
        let sweep = Sweep {
            cleanup: stream.cleanup,
            writer: engine.cfg.writer.clone(),
            generation: stream.generation,
        };
        engine.summary.removed += engine.target.remove_older(&dir, &prefix, &keep, &sweep)?;
    }
    Ok(())
}

/// Counts committed files on the progress line of a person at a shell (one
/// branch per commit without a terminal).
fn files_committed(out: &Emitter, n: usize) {
    if let Some(t) = out.terminal() {
        t.update(|c| c.files += n as u64);
    }
}

/// A new stream's writer: with the catalog's schema and cleanup when there
/// is a catalog (a stream it does not configure is an error), else inferred.
fn new_sink<S: std::io::Write + Send + 'static>(
    catalog: Option<&ConfiguredAirbyteCatalog>,
    cfg: &SinkConfig,
    desc: &StreamDescriptor,
) -> Result<StreamSink<S>, ConnectorError> {
    Ok(match catalog {
        Some(catalog) => {
            let configured = configured(catalog, desc)?;
            let schema = json_schema_to_arrow(&configured.stream.json_schema)?;
            let cleanup = Cleanup::of(Some(configured), cfg.overwrite);
            let generation = configured.generation_id;
            StreamSink::new(&desc.name, Some(&schema), cleanup, generation, cfg)
        }
        None => StreamSink::new(&desc.name, None::<&Schema>, Cleanup::of(None, cfg.overwrite), None, cfg),
    })
}
