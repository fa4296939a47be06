//! The two fields file-based sources add to every record, and the time
//! format of their states.

use chrono::{DateTime, Utc};

/// The cursor field file-based sources add to every record.
pub const LAST_MODIFIED_FIELD: &str = "_ab_source_file_last_modified";
/// The field holding each record's file.
pub const FILE_URL_FIELD: &str = "_ab_source_file_url";
/// Formats a time as Airbyte's file sources do: `%Y-%m-%dT%H:%M:%S.%6fZ`.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `t` without its sub-microsecond part (what the state can hold).
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}
