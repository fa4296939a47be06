//! `lakeport-core`: the engine shared by every Lakeport connector.
//!
//! Bytes flow one way — storage → (decompress) → format → Arrow `RecordBatch` →
//! records → protocol writer — and each concern has one module:
//!
//! | module        | holds                                                            |
//! |---------------|------------------------------------------------------------------|
//! | [`storage`]   | list / get / put / delete over S3 and the local filesystem       |
//! | [`formats`]   | streaming readers and writers for CSV, TSV, JSON, JSONL, Parquet, Avro, and compression |
//! | [`schema`]    | Arrow ⇄ JSON Schema, inference, merging across files             |
//! | [`records`]   | `RecordBatch` → RECORD JSON lines; JSON records → `RecordBatch` (and its flat fast path) |
//! | [`partition`] | partition schemes, filters and the pruned listing plan           |
//! | [`cost`]      | request metering figures, prices, limits and the COST report     |
//! | [`source`]    | the file-source engine: cursors, objects opened as batches, sampling, the read loop |
//! | [`sink`]      | the destination engine                                           |
//! | [`config`]    | each connector flavour's config mapped onto the native one       |
//! | [`task`]      | `AbortOnDrop`: a spawned task aborted when its handle is dropped  |
//! | [`time`]      | the date-time spellings every layer accepts                       |
//! | [`error`]     | the crate's error type, mapped to Airbyte failure types          |
#![warn(missing_docs)]

pub mod config;
pub mod cost;
pub mod error;
pub mod formats;
pub mod partition;
pub mod records;
pub mod schema;
pub mod sink;
pub mod source;
pub mod storage;
pub mod task;
pub mod time;

pub use error::{Error, Result};
