//! The shape of one input line as the destinations read it, borrowed from
//! the line's text: a record's `data` (and `meta`) stay raw JSON text, a
//! STATE stays raw JSON, so no `serde_json::Value` is built per record.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// One input line, borrowed from the line's text.
#[derive(Debug, Deserialize)]
pub struct InputLine<'a> {
    /// The message type (`RECORD`, `STATE`, …).
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The record, for RECORD.
    #[serde(borrow, default)]
    pub record: Option<InputRecord<'a>>,
    /// The state, for STATE, as raw JSON.
    #[serde(borrow, default)]
    pub state: Option<&'a RawValue>,
}

/// A RECORD's payload.
#[derive(Debug, Deserialize)]
pub struct InputRecord<'a> {
    /// The stream.
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    /// Its namespace.
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    /// The record's fields, as raw JSON text.
    #[serde(borrow, deserialize_with = "raw_json")]
    pub data: &'a str,
    /// Whether `data` was checked to be one balanced JSON value. `false` when
    /// [`scan_record_deferred`](super::scan::scan_record_deferred) delimited
    /// it by the line's tail: its reader must check it is one JSON object.
    #[serde(skip_deserializing, default = "checked")]
    pub data_checked: bool,
    /// When it was extracted (ms since the epoch).
    #[serde(default)]
    pub emitted_at: i64,
    /// The record's `meta` (changes the source made to it), as raw JSON text.
    #[serde(borrow, default, deserialize_with = "raw_json_opt")]
    pub meta: Option<&'a str>,
}

/// What serde parses is checked.
fn checked() -> bool {
    true
}

fn raw_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'de str, D::Error> {
    <&RawValue>::deserialize(d).map(RawValue::get)
}

fn raw_json_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    raw_json(d).map(Some)
}
