//! The incremental cursor of file-based sources: which files were read, when
//! they were last modified, and a watermark for history that was folded away.
//!
//! The state is Airbyte's file-based CDK shape, so a state written by Airbyte's
//! source-s3 works here and ours works there:
//!
//! ```json
//! {"history": {"data/a.csv": "2024-01-02T03:04:05.000000Z"},
//!  "_ab_source_file_last_modified": "2024-01-02T03:04:05.000000Z_data/a.csv"}
//! ```
//!
//! History is kept compact: beyond `max_history` files the oldest entries are
//! folded into a watermark (`_lakeport_watermark`). Once the history is full
//! (a watermark exists, or a saved history holds `max_history` files), a file
//! not in the history is read when it is newer than the watermark (or, for a
//! full history without one — Airbyte's — newer than its earliest entry), or
//! when it was modified within the last `days_to_sync_if_history_is_full`
//! days, as Airbyte's `DefaultFileBasedCursor` does.
//!
//! A stream with a record-level cursor (`cursor_field`) also keeps the
//! greatest cursor value read, as `_lakeport_cursor: {"field", "value"}`
//! (see [`super::record`]).

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{json, Map, Value};

use super::compare::max_value;
use super::fields::{format_timestamp, truncate_micros, LAST_MODIFIED_FIELD};
use crate::source::shard::{Shard, STATE_KEY as SHARD_KEY};
use crate::time::parse_timestamp;

/// Default number of files remembered before folding into the watermark
/// (Airbyte's `DEFAULT_MAX_HISTORY_SIZE`).
pub const DEFAULT_MAX_HISTORY: usize = 10_000;
/// Days of files re-considered once the history is full, by default
/// (Airbyte's `DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL`).
pub const DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL: u32 = 3;

const WATERMARK_KEY: &str = "_lakeport_watermark";
/// The state key of the record-level cursor: `{"field": …, "value": …}`.
pub const RECORD_CURSOR_KEY: &str = "_lakeport_cursor";

/// Files read so far, by URL (key or path), with their modification time.
#[derive(Debug, Clone, PartialEq)]
pub struct FileCursor {
    history: HashMap<String, DateTime<Utc>>,
    watermark: Option<DateTime<Utc>>,
    max_history: usize,
    /// Days of older files re-considered once the history is full (0: none).
    days_to_sync_if_history_is_full: u32,
    /// The record-level cursor: its field and the greatest value read.
    record: Option<(String, Value)>,
    /// The shard whose files this cursor follows (`None`: unsharded).
    shard: Option<Shard>,
}

impl Default for FileCursor {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_HISTORY)
    }
}

impl FileCursor {
    /// An empty cursor remembering at most `max_history` files.
    pub fn new(max_history: usize) -> Self {
        FileCursor {
            history: HashMap::new(),
            watermark: None,
            max_history: max_history.max(1),
            days_to_sync_if_history_is_full: DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL,
            record: None,
            shard: None,
        }
    }

    /// The cursor of `shard`'s files (`None`: unsharded), recorded in its state.
    pub fn with_shard(mut self, shard: Option<Shard>) -> Self {
        self.shard = shard;
        self
    }

    /// The shard whose files this cursor follows, as its state recorded it.
    pub fn shard(&self) -> Option<Shard> {
        self.shard
    }

    /// Sets how many days of files older than the history are still read
    /// once the history is full (`days_to_sync_if_history_is_full`; default
    /// [`DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL`]; 0: none, the history and
    /// its watermark alone decide).
    pub fn with_days_to_sync_if_history_is_full(mut self, days: u32) -> Self {
        self.days_to_sync_if_history_is_full = days;
        self
    }

    /// What keeps `state` (a saved stream state) from being read as a file
    /// cursor, if anything: not an object, a history that is not one, times
    /// that do not parse, or none of the keys a file source saves (another
    /// connector's state). An empty object is an empty cursor, not a problem.
    pub fn state_problem(state: &Value) -> Option<String> {
        let Value::Object(obj) = state else {
            return Some(format!("it is {state}, not a JSON object"));
        };
        if obj.is_empty() {
            return None;
        }
        match obj.get("history") {
            Some(Value::Object(h)) => {
                let bad: Vec<&String> = h
                    .iter()
                    .filter(|(_, v)| v.as_str().and_then(parse_timestamp).is_none())
                    .map(|(k, _)| k)
                    .collect();
                if let Some(first) = bad.first() {
                    return Some(format!(
                        "{} history entr{} have no readable time (e.g. '{first}'); times look like \
                         2024-01-01T00:00:00.000000Z",
                        bad.len(),
                        if bad.len() == 1 { "y does" } else { "ies do" }
                    ));
                }
                None
            }
            Some(other) => Some(format!("its history is {other}, not an object of file → time")),
            None if [WATERMARK_KEY, LAST_MODIFIED_FIELD, RECORD_CURSOR_KEY, SHARD_KEY]
                .iter()
                .any(|k| obj.contains_key(*k)) =>
            {
                None
            }
            None => Some(format!(
                "it has none of the keys a file source saves (history, {LAST_MODIFIED_FIELD}) but {}; \
                 is it another connector's state?",
                obj.keys().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
            )),
        }
    }

    /// A cursor from a saved stream state (ours or Airbyte's); unknown shapes
    /// start empty (see [`FileCursor::state_problem`]).
    pub fn from_state(state: Option<&Value>, max_history: usize) -> Self {
        let mut c = Self::new(max_history);
        let Some(state) = state else { return c };
        if let Some(Value::Object(h)) = state.get("history") {
            for (url, v) in h {
                if let Some(t) = v.as_str().and_then(parse_timestamp) {
                    c.history.insert(url.clone(), t);
                }
            }
        }
        c.watermark = state
            .get(WATERMARK_KEY)
            .and_then(Value::as_str)
            .and_then(parse_timestamp);
        if c.history.is_empty() && c.watermark.is_none() {
            // A legacy v3 state keeps only the cursor value.
            c.watermark = state
                .get(LAST_MODIFIED_FIELD)
                .and_then(Value::as_str)
                .and_then(|s| parse_timestamp(s.split('_').next().unwrap_or(s)));
        }
        c.record = state.get(RECORD_CURSOR_KEY).and_then(|r| {
            let field = r.get("field")?.as_str()?.to_string();
            let value = r.get("value").filter(|v| !v.is_null())?.clone();
            Some((field, value))
        });
        c.shard = Shard::of_state(state);
        c.compact();
        c
    }

    /// Whether the history is full: files were folded into the watermark, or
    /// it holds `max_history` files (Airbyte's `_is_history_full`). A full
    /// history no longer tells every file read apart, so older files are
    /// judged by time (see [`FileCursor::should_read_at`]).
    pub fn is_history_full(&self) -> bool {
        (!self.history.is_empty() && self.history.len() >= self.max_history) || self.watermark.is_some()
    }

    /// The days of older files re-considered once the history is full.
    pub fn days_to_sync_if_history_is_full(&self) -> u32 {
        self.days_to_sync_if_history_is_full
    }

    /// [`FileCursor::should_read_at`] now.
    pub fn should_read(&self, url: &str, last_modified: DateTime<Utc>) -> bool {
        self.should_read_at(url, last_modified, Utc::now())
    }

    /// Whether a file must be read, `now` being the time of the sync. Times
    /// compare at the state's precision (microseconds).
    ///
    /// - In the history: read again only when modified since.
    /// - History not full: every other file is new, so read.
    /// - History full: read when newer than the boundary — the watermark,
    ///   else the earliest history entry (equal time: a greater URL) — and
    ///   otherwise only when modified at or after `now` minus
    ///   `days_to_sync_if_history_is_full` days. This is Airbyte's
    ///   `DefaultFileBasedCursor._should_sync_file` with its start time
    ///   `min(earliest entry, now - days)`; the watermark (all folded files
    ///   are at or before it) is a tighter boundary than the earliest entry.
    pub fn should_read_at(&self, url: &str, last_modified: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        let last_modified = truncate_micros(last_modified);
        if let Some(seen) = self.history.get(url) {
            return last_modified > *seen;
        }
        if !self.is_history_full() {
            return true;
        }
        let newer_than_boundary = match (self.watermark, self.earliest()) {
            (Some(w), _) => last_modified > w,
            (None, Some((t, u))) => last_modified > t || (last_modified == t && url > u),
            (None, None) => true,
        };
        newer_than_boundary || self.lookback_start(now).is_some_and(|start| last_modified >= start)
    }

    /// The start of the window of older files still read once the history
    /// is full: `now` minus `days_to_sync_if_history_is_full` days; `None`
    /// when that is 0.
    pub fn lookback_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.days_to_sync_if_history_is_full == 0 {
            return None;
        }
        now.checked_sub_signed(TimeDelta::days(i64::from(self.days_to_sync_if_history_is_full)))
    }

    /// The oldest (time, url) remembered.
    fn earliest(&self) -> Option<(DateTime<Utc>, &str)> {
        self.history
            .iter()
            .map(|(u, t)| (*t, u.as_str()))
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
    }

    /// Records that a file was read completely.
    pub fn mark_read(&mut self, url: &str, last_modified: DateTime<Utc>) {
        self.history.insert(url.to_string(), truncate_micros(last_modified));
        self.compact();
    }

    /// The saved record-cursor value of `field`; `None` when nothing was
    /// saved, or it was saved for another field.
    pub fn record_cursor(&self, field: &str) -> Option<&Value> {
        self.record.as_ref().filter(|(f, _)| f == field).map(|(_, v)| v)
    }

    /// The field the saved record-cursor value belongs to.
    pub fn record_cursor_field(&self) -> Option<&str> {
        self.record.as_ref().map(|(f, _)| f.as_str())
    }

    /// Moves the record cursor of `field` to `value` if greater (typed
    /// comparison, see [`super::compare::compare_values`]); a value
    /// saved for another field is replaced.
    pub fn advance_record_cursor(&mut self, field: &str, value: Option<Value>) {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return;
        };
        let saved = self.record_cursor(field).cloned();
        if let Some(max) = max_value(saved, Some(value)) {
            self.record = Some((field.to_string(), max));
        }
    }

    /// How many files are remembered individually.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// True when nothing was read yet.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.watermark.is_none() && self.record.is_none()
    }

    /// The newest (time, url) read, which is the stream's cursor value.
    pub fn newest(&self) -> Option<(DateTime<Utc>, &str)> {
        self.history
            .iter()
            .map(|(u, t)| (*t, u.as_str()))
            .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
    }

    fn compact(&mut self) {
        if self.history.len() <= self.max_history {
            return;
        }
        let mut entries: Vec<(DateTime<Utc>, String)> = self.history.drain().map(|(u, t)| (t, u)).collect();
        entries.sort();
        let fold = entries.len() - self.max_history;
        for (t, _) in entries.iter().take(fold) {
            if self.watermark.is_none_or(|w| *t > w) {
                self.watermark = Some(*t);
            }
        }
        self.history = entries.into_iter().skip(fold).map(|(t, u)| (u, t)).collect();
    }

    /// The stream state to save.
    pub fn to_state(&self) -> Value {
        let mut entries: Vec<(&String, &DateTime<Utc>)> = self.history.iter().collect();
        entries.sort();
        let history: Map<String, Value> = entries
            .into_iter()
            .map(|(u, t)| (u.clone(), Value::String(format_timestamp(*t))))
            .collect();
        let mut state = json!({ "history": history });
        let cursor = self
            .newest()
            .map(|(t, u)| format!("{}_{}", format_timestamp(t), u))
            .or_else(|| self.watermark.map(format_timestamp));
        if let Some(cursor) = cursor {
            state[LAST_MODIFIED_FIELD] = Value::String(cursor);
        }
        if let Some(w) = self.watermark {
            state[WATERMARK_KEY] = Value::String(format_timestamp(w));
        }
        if let Some((field, value)) = &self.record {
            state[RECORD_CURSOR_KEY] = json!({"field": field, "value": value});
        }
        if let Some(shard) = self.shard {
            state[SHARD_KEY] = shard.to_state();
        }
        state
    }
}

/// Decides when a file-based source emits its STATE: after every completed
/// file while the history is small, then at most once per `interval`, and
/// always after the last file. Each STATE carries the whole history, so one
/// per file would make the output grow with the square of the file count.
#[derive(Debug, Clone)]
pub struct StatePacer {
    small_history: usize,
    interval: std::time::Duration,
    last: std::time::Instant,
}

impl Default for StatePacer {
    fn default() -> Self {
        Self::new(100, std::time::Duration::from_secs(1))
    }
}

impl StatePacer {
    /// Every file while the history holds at most `small_history` files,
    /// then at most once per `interval`.
    pub fn new(small_history: usize, interval: std::time::Duration) -> Self {
        StatePacer {
            small_history,
            interval,
            last: std::time::Instant::now(),
        }
    }

    /// Whether to emit a STATE now, after a file completed; `history_len` is
    /// the cursor's size and `last_file` whether no file follows.
    pub fn due(&mut self, history_len: usize, last_file: bool) -> bool {
        let due = last_file || history_len <= self.small_history || self.last.elapsed() >= self.interval;
        if due {
            self.last = std::time::Instant::now();
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn states_a_file_source_cannot_read_are_named() {
        let ok = [
            json!({}),
            json!({"history": {"a": "2024-01-01T00:00:00.000000Z"}, "_ab_source_file_last_modified": "x"}),
            json!({"_ab_source_file_last_modified": "2024-01-01T00:00:00.000000Z_a"}),
        ];
        for s in ok {
            assert_eq!(FileCursor::state_problem(&s), None, "{s}");
        }
        let problem = |s: Value| FileCursor::state_problem(&s).unwrap_or_default();
        assert!(problem(json!("x")).contains("not a JSON object"));
        assert!(problem(json!({"history": "notanobject"})).contains("history is \"notanobject\""));
        assert!(problem(json!({"history": {"a": "yesterday"}})).contains("1 history entry does"));
        let other = problem(json!({"sync_mode": "full_refresh", "key": [1]}));
        assert!(
            other.contains("another connector") && other.contains("'sync_mode'"),
            "{other}"
        );
    }

    #[test]
    fn new_and_modified_files_are_read_once() {
        let mut c = FileCursor::default();
        assert!(c.should_read("a", t("2024-01-01T00:00:00Z")));
        c.mark_read("a", t("2024-01-01T00:00:00.000000789Z"));
        assert!(!c.should_read("a", t("2024-01-01T00:00:00.000000789Z")));
        assert!(!c.should_read("a", t("2024-01-01T00:00:00Z")));
        assert!(c.should_read("a", t("2024-01-02T00:00:00Z")));
        let back = FileCursor::from_state(Some(&c.to_state()), 10);
        assert_eq!(
            back,
            FileCursor {
                max_history: 10,
                ..c.clone()
            }
        );
        assert_eq!(c.to_state()[LAST_MODIFIED_FIELD], "2024-01-01T00:00:00.000000Z_a");
    }

    #[test]
    fn airbyte_state_is_accepted() {
        let s = json!({"history": {"data/x.csv": "2023-06-05T03:54:07.000000Z"},
                       "_ab_source_file_last_modified": "2023-06-05T03:54:07.000000Z_data/x.csv"});
        let c = FileCursor::from_state(Some(&s), DEFAULT_MAX_HISTORY);
        assert!(!c.should_read("data/x.csv", t("2023-06-05T03:54:07Z")));
        assert!(c.should_read("data/y.csv", t("2020-01-01T00:00:00Z")));
    }

    #[test]
    fn states_are_paced_once_history_is_large() {
        let mut p = StatePacer::new(2, std::time::Duration::from_secs(3600));
        assert!(p.due(1, false));
        assert!(p.due(2, false));
        assert!(!p.due(3, false));
        assert!(!p.due(4, false));
        assert!(p.due(5, true));
    }

    #[test]
    fn history_is_folded_into_a_watermark() {
        let mut c = FileCursor::new(3);
        for (i, u) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.mark_read(u, t(&format!("2024-01-0{}T00:00:00Z", i + 1)));
        }
        assert_eq!(c.len(), 3);
        assert!(!c.should_read("zz-old", t("2024-01-02T00:00:00Z")));
        assert!(c.should_read("zz-new", t("2024-01-02T12:00:00Z")));
        let back = FileCursor::from_state(Some(&c.to_state()), 3);
        assert!(!back.should_read("zz-old", t("2024-01-01T00:00:00Z")));
        assert_eq!(back.len(), 3);
    }

    fn history_of(n: usize, first: DateTime<Utc>) -> Value {
        let history: Map<String, Value> = (0..n)
            .map(|i| {
                let at = first + TimeDelta::seconds(i as i64);
                (format!("h/{i:05}.csv"), Value::String(format_timestamp(at)))
            })
            .collect();
        json!({ "history": history })
    }

    #[test]
    fn a_full_airbyte_history_reads_older_files_of_the_last_days() {
        let now = t("2024-03-10T12:00:00Z");
        // Airbyte's own full history: 10 entries, the cap; the earliest at 03-08 00:00.
        let state = history_of(10, t("2024-03-08T00:00:00Z"));
        let c = FileCursor::from_state(Some(&state), 10);
        assert!(c.is_history_full());
        // Newer than the earliest entry: new, read.
        assert!(c.should_read_at("new.csv", t("2024-03-09T00:00:00Z"), now));
        // Same time as the earliest entry: newer when its URL sorts after it (else
        // the window decides, and 03-08 is within the last 3 days).
        let no_window = c.clone().with_days_to_sync_if_history_is_full(0);
        assert!(no_window.should_read_at("z.csv", t("2024-03-08T00:00:00Z"), now));
        assert!(!no_window.should_read_at("a.csv", t("2024-03-08T00:00:00Z"), now));
        assert!(c.should_read_at("a.csv", t("2024-03-08T00:00:00Z"), now));
        // Older than the earliest entry: read within the last 3 days (the default) only.
        assert!(c.should_read_at("late.csv", t("2024-03-07T12:00:00Z"), now));
        assert!(!c.should_read_at("old.csv", t("2024-03-07T11:59:59Z"), now));
        // A longer window reaches further back; 0 turns the window off.
        let week = c.clone().with_days_to_sync_if_history_is_full(7);
        assert!(week.should_read_at("old.csv", t("2024-03-04T00:00:00Z"), now));
        assert!(!week.should_read_at("older.csv", t("2024-03-03T00:00:00Z"), now));
        assert!(!no_window.should_read_at("late.csv", t("2024-03-07T12:00:00Z"), now));
        // Files in the history are judged by it alone.
        assert!(!c.should_read_at("h/00000.csv", t("2024-03-08T00:00:00Z"), now));
    }

    #[test]
    fn a_history_that_is_not_full_reads_every_file_it_has_not_seen() {
        let now = t("2024-03-10T12:00:00Z");
        let state = history_of(9, t("2024-03-08T00:00:00Z"));
        let c = FileCursor::from_state(Some(&state), 10);
        assert!(!c.is_history_full());
        assert!(c.should_read_at("ancient.csv", t("2001-01-01T00:00:00Z"), now));
    }

    #[test]
    fn a_folded_history_reads_older_files_of_the_last_days_too() {
        let now = t("2024-01-06T00:00:00Z");
        let mut c = FileCursor::new(3).with_days_to_sync_if_history_is_full(2);
        for (i, u) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            c.mark_read(u, t(&format!("2024-01-0{}T00:00:00Z", i + 1)));
        }
        // Watermark 01-02: everything after it that is not in the history is new.
        assert!(c.is_history_full());
        assert!(c.should_read_at("x", t("2024-01-02T00:00:01Z"), now));
        // At or before it: read only within the 2 days before `now`.
        assert!(!c.should_read_at("x", t("2024-01-02T00:00:00Z"), now));
        let later = t("2024-01-03T12:00:00Z");
        assert!(c.should_read_at("x", t("2024-01-02T00:00:00Z"), later));
        assert!(!c.should_read_at("x", t("2024-01-01T00:00:00Z"), later));
    }

    #[test]
    fn the_record_cursor_is_saved_with_the_history() {
        let mut c = FileCursor::default();
        c.mark_read("a", t("2024-01-01T00:00:00Z"));
        assert!(c.record_cursor("seq").is_none());
        c.advance_record_cursor("seq", Some(json!(7)));
        c.advance_record_cursor("seq", Some(json!(5)));
        c.advance_record_cursor("seq", None);
        assert_eq!(c.record_cursor("seq"), Some(&json!(7)));
        let state = c.to_state();
        assert_eq!(state[RECORD_CURSOR_KEY], json!({"field": "seq", "value": 7}));
        assert_eq!(state["history"]["a"], "2024-01-01T00:00:00.000000Z");
        let back = FileCursor::from_state(Some(&state), DEFAULT_MAX_HISTORY);
        assert_eq!(back.record_cursor("seq"), Some(&json!(7)));
        // Another field: the saved value does not apply, and is replaced.
        assert!(back.record_cursor("updated_at").is_none());
        let mut back = back;
        back.advance_record_cursor("updated_at", Some(json!("2024-01-01T00:00:00Z")));
        assert_eq!(back.record_cursor_field(), Some("updated_at"));
    }
}
