//! The per-stream steps of a file-based source's read, shared by source-file
//! and source-s3: finding the config's stream a catalog entry names, the
//! STREAM_STATUS traces around a stream, the record cursor of an incremental
//! stream, the TRACE ESTIMATE before reading, the saved state repeated when
//! there is nothing new, and a STATE after completed files
//! ([`StreamStates`]).

use lakeport_protocol::{
    AirbyteMessage, ConnectorError, Emitter, EstimateTrace, EstimateType, InputState, StateMessage, StreamDescriptor,
    StreamStatus, TraceMessage,
};
use serde_json::Value;

use super::cursor::{check_cursor_field, RecordCursor};
use super::cursor::{FileCursor, StatePacer, LAST_MODIFIED_FIELD};
use super::scan::FileDone;

/// The stream of `plans` named `name` (a catalog's stream); a config error
/// listing the config's streams when there is none.
pub fn find_stream<'a, T>(plans: &'a [T], name: &str, name_of: impl Fn(&T) -> &str) -> Result<&'a T, ConnectorError> {
    plans.iter().find(|p| name_of(p) == name).ok_or_else(|| {
        ConnectorError::config(format!(
            "The catalog names stream '{name}', which this config does not have (streams: {}). Run discover again.",
            plans.iter().map(&name_of).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The saved state of a file-based stream: its own (per-stream, or its
/// entry in a legacy object keyed by stream name), else a bare file-cursor
/// state — what Airbyte's source-s3 keeps per stream,
/// `{"history": {…}, "_ab_source_file_last_modified": "…"}`, passed as the
/// whole state. A bare state serves every stream: its history names the
/// objects it has seen, so each stream finds only its own.
pub fn saved_state<'a>(state: &'a InputState, descriptor: &StreamDescriptor) -> Option<&'a Value> {
    state.stream(descriptor).or_else(|| {
        state
            .legacy()
            .filter(|l| l.get("history").is_some_and(Value::is_object) || l.get(LAST_MODIFIED_FIELD).is_some())
    })
}

/// The file cursor saved for a stream ([`saved_state`]), keeping at most
/// `max_history` files. A saved state this source cannot read is a WARN
/// saying why — the stream is then read as if never synced — never dropped
/// in silence.
pub fn saved_cursor(
    out: &mut Emitter,
    state: &InputState,
    descriptor: &StreamDescriptor,
    max_history: usize,
) -> Result<FileCursor, ConnectorError> {
    let saved = saved_state(state, descriptor);
    if let Some(why) = saved.and_then(FileCursor::state_problem) {
        out.warn(format!(
            "The saved state of stream '{}' cannot be used: {why}. The stream is read as if never synced; \
             pass the STATE a previous read of this stream emitted.",
            descriptor.name
        ))?;
    }
    Ok(FileCursor::from_state(saved, max_history))
}

/// TRACE STREAM_STATUS `STARTED`.
pub fn stream_started(out: &mut Emitter, descriptor: &StreamDescriptor) -> Result<(), ConnectorError> {
    out.trace(TraceMessage::stream_status(descriptor.clone(), StreamStatus::Started))?;
    Ok(())
}

/// Ends a stream's read: TRACE STREAM_STATUS `COMPLETE` after `result` Ok;
/// else `INCOMPLETE` (unless stdout is closed) and the error, naming the stream.
pub fn stream_finished(
    out: &mut Emitter,
    descriptor: &StreamDescriptor,
    result: Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    match result {
        Ok(()) => {
            out.trace(TraceMessage::stream_status(descriptor.clone(), StreamStatus::Complete))?;
            Ok(())
        }
        Err(e) => {
            if !e.is_broken_pipe() {
                let _ = out.trace(TraceMessage::stream_status(
                    descriptor.clone(),
                    StreamStatus::Incomplete,
                ));
            }
            Err(e.with_stream(descriptor.clone()))
        }
    }
}

/// TRACE ESTIMATE: the stream will read `bytes` bytes.
pub fn estimate(out: &mut Emitter, descriptor: &StreamDescriptor, bytes: u64) -> Result<(), ConnectorError> {
    out.trace(TraceMessage::estimate(EstimateTrace {
        name: descriptor.name.clone(),
        estimate_type: EstimateType::Stream,
        namespace: descriptor.namespace.clone(),
        row_estimate: None,
        byte_estimate: Some(bytes),
    }))?;
    Ok(())
}

/// The record cursor on `field` of incremental stream `stream`, checked
/// against its catalog JSON Schema before anything is read (a data column,
/// not a file field nor one of `partition_columns`, of an ordered type), with
/// the value `cursor` saved for it. A value saved for another field is a
/// WARN: every record of the files read now is read, and the cursor restarts.
pub fn record_cursor(
    stream: &str,
    field: String,
    json_schema: &Value,
    partition_columns: &[String],
    cursor: &FileCursor,
    out: &mut Emitter,
) -> Result<RecordCursor, ConnectorError> {
    check_cursor_field(stream, &field, json_schema, partition_columns)?;
    if let Some(saved) = cursor.record_cursor_field().filter(|saved| *saved != field) {
        out.warn(format!(
            "{stream}: the state holds a cursor value for '{saved}', not for cursor_field '{field}': every record of the \
             files read now is read, and the cursor restarts on '{field}'."
        ))?;
    }
    let after = cursor.record_cursor(&field).cloned();
    Ok(RecordCursor::new(field, after))
}

/// The state of one stream being read: its file cursor, moved as files
/// complete (and the record cursor with it), and the STATE messages that
/// save it, each with the records emitted since the previous one.
#[derive(Debug)]
pub struct StreamStates {
    descriptor: StreamDescriptor,
    cursor: FileCursor,
    record_field: Option<String>,
    pacer: Option<StatePacer>,
    /// Files completed since the last STATE.
    unsaved: usize,
    since_state: u64,
    records: u64,
    skipped: u64,
}

impl StreamStates {
    /// States of `descriptor` from `cursor` (empty for a full refresh),
    /// saving the greatest value of `record_cursor`'s field if there is one.
    /// A STATE follows every file unless [`StreamStates::paced`].
    pub fn new(descriptor: StreamDescriptor, cursor: FileCursor, record_cursor: Option<&RecordCursor>) -> Self {
        StreamStates {
            descriptor,
            cursor,
            record_field: record_cursor.map(|rc| rc.field.clone()),
            pacer: None,
            unsaved: 0,
            since_state: 0,
            records: 0,
            skipped: 0,
        }
    }

    /// STATEs as `pacer` decides (and always after the last file).
    pub fn paced(mut self, pacer: StatePacer) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// The stream.
    pub fn descriptor(&self) -> &StreamDescriptor {
        &self.descriptor
    }

    /// The file cursor as of now.
    pub fn cursor(&self) -> &FileCursor {
        &self.cursor
    }

    /// Records emitted so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Records skipped so far as at or before the saved record-cursor value.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Starts the read of `files` files of `bytes` bytes: a TRACE ESTIMATE;
    /// then, when there is no file, the saved state of an incremental stream
    /// is repeated (so the platform keeps it) and `false` says there is
    /// nothing to read.
    pub fn start(
        &self,
        out: &mut Emitter,
        bytes: u64,
        files: usize,
        incremental: bool,
    ) -> Result<bool, ConnectorError> {
        estimate(out, &self.descriptor, bytes)?;
        if files > 0 {
            return Ok(true);
        }
        if incremental && !self.cursor.is_empty() {
            out.emit(&AirbyteMessage::State {
                state: StateMessage::stream(self.descriptor.clone(), self.cursor.to_state(), 0),
            })?;
        }
        Ok(false)
    }

    /// Writes `count` RECORD lines (`bytes`) of the current file.
    pub fn records_read(&mut self, out: &mut Emitter, bytes: &[u8], count: u64) -> Result<(), ConnectorError> {
        self.since_state += count;
        self.records += count;
        out.record_lines(bytes, count)?;
        Ok(())
    }

    /// A file was read completely: the cursor moves past it (and to its
    /// greatest record-cursor value), then a STATE — after every file, or
    /// when the pacer says so and always when `last` (no file follows).
    /// Returns whether a STATE was emitted.
    pub fn file_done(&mut self, out: &mut Emitter, done: FileDone, last: bool) -> Result<bool, ConnectorError> {
        self.cursor.mark_read(&done.url, done.last_modified);
        if let Some(field) = &self.record_field {
            self.cursor.advance_record_cursor(field, done.cursor_max);
            self.skipped += done.skipped;
        }
        self.unsaved += 1;
        let due = match self.pacer.as_mut() {
            Some(p) => p.due(self.cursor.len(), last),
            None => true,
        };
        if due {
            self.emit_state(out)?;
        }
        Ok(due)
    }

    /// Saves the files completed since the last STATE, if any (a read that
    /// stops early calls it, so a paced STATE is never lost). Returns whether
    /// a STATE was emitted.
    pub fn flush(&mut self, out: &mut Emitter) -> Result<bool, ConnectorError> {
        if self.unsaved == 0 {
            return Ok(false);
        }
        self.emit_state(out)?;
        Ok(true)
    }

    fn emit_state(&mut self, out: &mut Emitter) -> Result<(), ConnectorError> {
        out.emit(&AirbyteMessage::State {
            state: StateMessage::stream(self.descriptor.clone(), self.cursor.to_state(), self.since_state),
        })?;
        self.since_state = 0;
        self.unsaved = 0;
        Ok(())
    }

    /// Ends a stream's scan: when it stopped early (`scan` is an error), the
    /// files it completed are saved — the scan's error is what is reported,
    /// even if the output is gone too — then the LOG of the records
    /// `record_cursor` skipped, if any.
    pub fn end_scan<T, E>(
        &mut self,
        out: &mut Emitter,
        scan: &Result<T, E>,
        record_cursor: Option<&RecordCursor>,
    ) -> Result<(), ConnectorError> {
        if scan.is_err() {
            let _ = self.flush(out);
        }
        if let Some(note) = record_cursor.and_then(|rc| self.skipped_note(rc)) {
            out.info(note)?;
        }
        Ok(())
    }

    /// The LOG saying how many records `record_cursor` skipped, if any.
    pub fn skipped_note(&self, record_cursor: &RecordCursor) -> Option<String> {
        (self.skipped > 0).then(|| {
            format!(
                "{}: skipped {} record(s) whose {} is at or before the saved cursor value {}.",
                self.descriptor.name,
                self.skipped,
                record_cursor.field,
                record_cursor.after.as_ref().map(|v| v.to_string()).unwrap_or_default()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use crate::source::captured::Captured;

    fn done(url: &str, secs: i64, cursor_max: Option<Value>, skipped: u64) -> FileDone {
        FileDone {
            index: 0,
            url: url.into(),
            last_modified: Utc.timestamp_opt(secs, 0).unwrap(),
            records: 1,
            cursor_max,
            skipped,
        }
    }

    #[test]
    fn a_bare_airbyte_file_state_serves_every_stream() {
        let bare = r#"{"history": {"a.csv": "2024-01-01T00:00:00.000000Z"},
                       "_ab_source_file_last_modified": "2024-01-01T00:00:00.000000Z_a.csv"}"#;
        let state = InputState::parse(bare).unwrap();
        let got = saved_state(&state, &StreamDescriptor::new("any")).unwrap();
        assert!(got["history"]["a.csv"].is_string());
        // Keyed by stream name: only that stream's.
        let keyed = InputState::parse(&format!(r#"{{"s": {bare}}}"#)).unwrap();
        assert!(saved_state(&keyed, &StreamDescriptor::new("s")).is_some());
        assert!(saved_state(&keyed, &StreamDescriptor::new("other")).is_none());
    }

    #[test]
    fn finds_streams_or_lists_them() {
        let plans = ["a", "b"];
        assert_eq!(*find_stream(&plans, "b", |p| p).unwrap(), "b");
        let e = find_stream(&plans, "c", |p| p).unwrap_err();
        assert!(e.message.contains("'c'") && e.message.contains("a, b"), "{}", e.message);
    }

    #[test]
    fn an_empty_incremental_stream_repeats_its_state() {
        let cap = Captured::default();
        let mut out = Emitter::new(Box::new(cap.clone()));
        let mut cursor = FileCursor::default();
        cursor.mark_read("a.csv", Utc.timestamp_opt(10, 0).unwrap());
        let states = StreamStates::new(StreamDescriptor::new("s"), cursor, None);
        assert!(!states.start(&mut out, 0, 0, true).unwrap());
        assert!(states.start(&mut out, 5, 1, true).unwrap());
        let full = StreamStates::new(StreamDescriptor::new("s"), FileCursor::default(), None);
        assert!(!full.start(&mut out, 0, 0, false).unwrap());
        let lines = cap.lines(&mut out);
        let types: Vec<&str> = lines.iter().map(|m| m["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["TRACE", "STATE", "TRACE", "TRACE"]);
        assert_eq!(lines[0]["trace"]["estimate"]["byte_estimate"], 0);
        assert_eq!(lines[1]["state"]["sourceStats"]["recordCount"], 0.0);
        assert!(lines[1]["state"]["stream"]["stream_state"]["history"]["a.csv"].is_string());
    }

    #[test]
    fn states_follow_files_with_record_counts_and_the_record_cursor() {
        let cap = Captured::default();
        let mut out = Emitter::new(Box::new(cap.clone()));
        let rc = RecordCursor::new("seq", Some(json!(2)));
        let mut states = StreamStates::new(StreamDescriptor::new("s"), FileCursor::default(), Some(&rc));
        states.records_read(&mut out, b"", 3).unwrap();
        assert!(states
            .file_done(&mut out, done("a", 1, Some(json!(7)), 2), false)
            .unwrap());
        assert!(states
            .file_done(&mut out, done("b", 2, Some(json!(5)), 1), true)
            .unwrap());
        assert_eq!(states.skipped(), 3);
        assert_eq!(states.records(), 3);
        assert!(states
            .skipped_note(&rc)
            .unwrap()
            .contains("skipped 3 record(s) whose seq"));
        let lines = cap.lines(&mut out);
        assert_eq!(lines[0]["state"]["sourceStats"]["recordCount"], 3.0);
        assert_eq!(lines[1]["state"]["sourceStats"]["recordCount"], 0.0);
        assert_eq!(
            lines[1]["state"]["stream"]["stream_state"]["_lakeport_cursor"],
            json!({"field": "seq", "value": 7})
        );
    }

    #[test]
    fn paced_states_wait_for_the_pacer_or_the_last_file() {
        let cap = Captured::default();
        let mut out = Emitter::new(Box::new(cap.clone()));
        let pacer = StatePacer::new(0, std::time::Duration::from_secs(3600));
        let mut states = StreamStates::new(StreamDescriptor::new("s"), FileCursor::default(), None).paced(pacer);
        assert!(!states.file_done(&mut out, done("a", 1, None, 0), false).unwrap());
        assert!(states.file_done(&mut out, done("b", 2, None, 0), true).unwrap());
        assert_eq!(cap.lines(&mut out).len(), 1);
        // Nothing unsaved: no STATE.
        assert!(!states.flush(&mut out).unwrap());
        // A read stopping early saves what it completed.
        assert!(!states.file_done(&mut out, done("c", 3, None, 0), false).unwrap());
        assert!(states.flush(&mut out).unwrap());
        let lines = cap.lines(&mut out);
        assert_eq!(lines.len(), 2);
        assert!(lines[1]["state"]["stream"]["stream_state"]["history"]["c"].is_string());
        assert!(!states.flush(&mut out).unwrap());
    }

    #[test]
    fn a_cursor_saved_for_another_field_warns() {
        let cap = Captured::default();
        let mut out = Emitter::new(Box::new(cap.clone()));
        let schema = json!({"type": "object", "properties": {"seq": {"type": "integer"}, "at": {"type": "string"}}});
        let mut cursor = FileCursor::default();
        cursor.advance_record_cursor("at", Some(json!("2024-01-01")));
        let rc = record_cursor("s", "seq".into(), &schema, &[], &cursor, &mut out).unwrap();
        assert_eq!(rc.after, None);
        let rc = record_cursor("s", "at".into(), &schema, &[], &cursor, &mut out).unwrap();
        assert_eq!(rc.after, Some(json!("2024-01-01")));
        assert!(record_cursor("s", "nope".into(), &schema, &[], &cursor, &mut out).is_err());
        let lines = cap.lines(&mut out);
        assert_eq!(lines.len(), 1);
        assert!(lines[0]["log"]["message"]
            .as_str()
            .unwrap()
            .contains("restarts on 'seq'"));
    }
}
