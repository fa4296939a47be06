//! JSON (a top-level array of objects, streamed element by element, or one object) and
//! JSONL/NDJSON: readers over `arrow_json` with inference, flattening and a size cap, and
//! writers.
//!
//! | file        | holds                                                                  |
//! |-------------|------------------------------------------------------------------------|
//! | `read.rs`   | [`JsonReader`]: inference, flattening, conformance; JSON framed into values |
//! | `lines.rs`  | JSON lines cut into blocks of whole lines (`memchr`), the size cap     |
//! | `blocks.rs` | JSON lines blocks decoded on a few threads, batches in order           |
//! | `write.rs`  | the JSON and JSON lines writers                                        |

mod blocks;
mod lines;
mod read;
mod write;

pub use read::JsonReader;

pub(super) use read::{open_json, open_jsonl};
pub(super) use write::{json_writer, jsonl_writer};
