//! JSON (a top-level array of objects, streamed element by element, or one object) and
//! JSONL/NDJSON: readers over `arrow_json` with inference, flattening and a size cap, and
//! writers.

mod read;
mod write;

pub use read::JsonReader;

pub(super) use read::{open_json, open_jsonl};
pub(super) use write::{json_writer, jsonl_writer};
