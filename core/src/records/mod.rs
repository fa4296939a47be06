//! JSON records ⇄ Arrow: `RecordBatch` → Airbyte RECORD JSON lines, written straight into
//! byte buffers (no `serde_json::Value` per row), and JSON records → `RecordBatch` for
//! writers.
//!
//! Values are written as the Arrow type says: integers as JSON integers, floats via `ryu`
//! (NaN and infinities as `null`), dates as `"YYYY-MM-DD"`, timestamps as ISO-8601 with the
//! column's precision (`Z` suffix when the column has a time zone), decimals as JSON numbers,
//! binary as base64 strings, structs and maps as objects, lists as arrays.
//!
//! | file              | holds                                                          |
//! |-------------------|----------------------------------------------------------------|
//! | `json_text.rs`    | JSON text primitives: strings, numbers, dates, timestamps      |
//! | `to_json.rs`      | column encoders: Arrow values → JSON ([`RowEncoder`])          |
//! | `nulled.rs`       | values JSON cannot hold or that do not fit, emitted as null with `meta.changes` ([`NulledValues`]) |
//! | `record_lines.rs` | [`RecordSerializer`]: a batch → RECORD lines                   |
//! | `from_json.rs`    | JSON values or RECORD lines → batches ([`JsonRecordDecoder`], [`RecordLineDecoder`]); [`record_fits`] |
//! | `flat.rs`         | [`FlatJsonDecoder`]: the fast path of JSON → batch for flat schemas |
//! | `flat_scan.rs`    | the hand-written scanner of one flat JSON object the fast path reads rows with |
//! | `timestamp_scan.rs` | the common spellings of UTC timestamps read by hand, for the fast path |
//! | `fits_text.rs`    | [`TextFits`]: whether a record's JSON text fits a schema, without parsing it into values |
//!
//! Layering: imports [`crate::schema`] (Arrow ⇄ JSON Schema, the JSON-column marker) and
//! nothing above; [`crate::formats`] builds on it.

mod fits_text;
mod flat;
mod flat_scan;
mod from_json;
mod json_text;
mod nulled;
mod record_lines;
mod timestamp_scan;
mod to_json;

pub use fits_text::TextFits;
pub use flat::{FlatJsonDecoder, FlatRows};
pub(crate) use flat_scan::string_stop;
pub use from_json::{
    json_reader_builder, record_fits, value_fits, JsonRecordDecoder, LenientDecoderFactory, RecordLineDecoder,
};
pub use json_text::{
    write_date, write_decimal, write_decimal_digits, write_f32, write_f64, write_int, write_json_str,
    write_time_of_day, write_timestamp,
};
pub use nulled::{unrepresentable_rows, NulledValues, NULLED_FIELDS_COLUMN, NULLED_REASON};
pub use record_lines::RecordSerializer;
pub use to_json::{array_to_json_strings, plain_batch, write_value, RowEncoder};
