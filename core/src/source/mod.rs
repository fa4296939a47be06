//! The file-source engine: what source-s3 and source-file share to turn
//! stored objects into Airbyte streams, over any [`crate::storage::Storage`].
//!
//! | file / folder | holds                                                                |
//! |---------------|----------------------------------------------------------------------|
//! | [`cursor`]    | the incremental cursors: file history and record-level `cursor_field` |
//! | [`object`]    | an object opened as record batches (ranged Parquet reads, streaming others) |
//! | [`sample`]    | schema inference from a bounded sample of a stream's newest files    |
//! | [`catalog`]   | the Airbyte shape of a file stream (JSON Schema, catalog entry)      |
//! | [`scan`]      | the read loop: files decoded in parallel, records in file order      |
//! | [`steps`]     | the per-stream steps of a read: stream status, states, estimate      |

pub mod catalog;
pub mod cursor;
pub mod object;
pub mod sample;
pub mod scan;
pub mod steps;
