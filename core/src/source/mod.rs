//! The file-source engine: what file sources (source-s3, source-file) share
//! to turn stored objects into Airbyte streams, over any
//! [`crate::storage::Storage`].
//!
//! A connector validates its config once into a [`plan::ReadPlan`] (with the
//! parsers of [`parse`]), wraps it with its storage and meter in an
//! [`engine::Engine`], and calls one step: [`engine::Engine::check`],
//! `discover`, `estimate` or `read`.
//!
//! | file / folder | holds                                                                |
//! |---------------|----------------------------------------------------------------------|
//! | [`plan`]      | the typed read plan: streams, partitions, limits, pricing, workers, URLs, order |
//! | [`parse`]     | config values parsed into the plan's types (globs, relative globs, key_pattern, input_schema, …) |
//! | [`engine`]    | [`engine::Engine`]: the plan, the storage, the meter, discovery's listings |
//! | [`check`]     | the connection check: one LIST under the first stream's prefix, or every stream's files |
//! | [`listing`]   | a stream's objects: the pruned listing, filtered; the listing cache; subfolder streams |
//! | [`pruning`]   | partition pruning requests and the cost model of an object           |
//! | [`hive`]      | Airbyte's hive fields (`hive_string_fields`)                         |
//! | [`select`]    | what a read of a stream fetches: cursor, shard, order, sampling, limits |
//! | [`shard`]     | one stream split between N workers: the assignment, the shard's state |
//! | [`report`]    | the COST report and the pre-flight estimate                          |
//! | [`sample`]    | schema inference from a bounded sample of a stream's newest files    |
//! | [`discover`]  | the discover step: each stream's schema and catalog entry            |
//! | [`estimate`]  | the estimate step: a read priced without fetching objects            |
//! | [`read`]      | the read step: select, price, then scan every stream                 |
//! | [`object`]    | an object opened as record batches; ranged Parquet; fetch-ahead      |
//! | [`scan`]      | the read loop: files decoded in parallel, records in file order      |
//! | [`steps`]     | the per-stream steps of a read: stream status, states, estimate      |
//! | [`catalog`]   | the Airbyte shape of a file stream (JSON Schema, catalog entry)      |
//! | `captured`    | tests only: an emitter sink read back as messages                    |
//! | [`cursor`]    | the incremental cursors: file history and record-level `cursor_field` |
//!
//! Imports run one way: the leaves (`shard` ← `cursor`, `object`, `sample`, `catalog`,
//! `scan`, `hive`) ← `steps` ← `plan` ← `parse`, `pruning` ← `listing` ←
//! `engine` ← `select` ← `report` ← the steps `check`, `discover`,
//! `estimate` and `read` (each an `impl Engine` block of its own file).

#[cfg(test)]
mod captured;
pub mod catalog;
pub mod check;
pub mod cursor;
pub mod discover;
pub mod engine;
pub mod estimate;
pub mod hive;
pub mod listing;
pub mod object;
pub mod parse;
pub mod plan;
pub mod pruning;
pub mod read;
pub mod report;
pub mod sample;
pub mod scan;
pub mod select;
pub mod shard;
pub mod steps;
