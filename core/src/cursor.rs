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
//! folded into a watermark (`_lakeport_watermark`); a file older than the
//! watermark is taken as read, as Airbyte does when its history is full.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

/// The cursor field file-based sources add to every record.
pub const LAST_MODIFIED_FIELD: &str = "_ab_source_file_last_modified";
/// The field holding each record's file.
pub const FILE_URL_FIELD: &str = "_ab_source_file_url";
/// Default number of files remembered before folding into the watermark.
pub const DEFAULT_MAX_HISTORY: usize = 10_000;

const WATERMARK_KEY: &str = "_lakeport_watermark";

/// Formats a time as Airbyte's file sources do: `%Y-%m-%dT%H:%M:%S.%6fZ`.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Parses a time in Airbyte's format, RFC 3339, or a bare date.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.fZ",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%SZ",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `t` without its sub-microsecond part (what the state can hold).
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// Files read so far, by URL (key or path), with their modification time.
#[derive(Debug, Clone, PartialEq)]
pub struct FileCursor {
    history: HashMap<String, DateTime<Utc>>,
    watermark: Option<DateTime<Utc>>,
    max_history: usize,
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
        }
    }

    /// A cursor from a saved stream state (ours or Airbyte's); unknown shapes
    /// start empty.
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
        c.compact();
        c
    }

    /// Whether a file must be read: new, modified since it was read, and not
    /// older than the watermark. Times compare at the state's precision
    /// (microseconds).
    pub fn should_read(&self, url: &str, last_modified: DateTime<Utc>) -> bool {
        let last_modified = truncate_micros(last_modified);
        if let Some(seen) = self.history.get(url) {
            return last_modified > *seen;
        }
        match self.watermark {
            Some(w) => last_modified > w,
            None => true,
        }
    }

    /// Records that a file was read completely.
    pub fn mark_read(&mut self, url: &str, last_modified: DateTime<Utc>) {
        self.history.insert(url.to_string(), truncate_micros(last_modified));
        self.compact();
    }

    /// How many files are remembered individually.
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// True when nothing was read yet.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty() && self.watermark.is_none()
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
}
