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
//! | [`object_reader`] | a stored object (S3 or local) opened as record batches (ranged Parquet reads) |
//! | [`scan`], [`stream_discover`], [`stream_read`], [`file_stream`] | the discover and read steps file-based sources share |
//! | [`task`]      | `AbortOnDrop`: a spawned task aborted when its handle is dropped  |
//! | [`error`]     | the crate's error type, mapped to Airbyte failure types          |
#![warn(missing_docs)]

pub mod config;
pub mod cost;
pub mod cursor;
pub mod error;
pub mod file_stream;
pub mod formats;
pub mod object_reader;
pub mod partition;
pub mod record_cursor;
pub mod records;
pub mod scan;
pub mod schema;
pub mod sink;
pub mod storage;
pub mod stream_discover;
pub mod stream_read;
pub mod task;

pub use error::{Error, Result};
