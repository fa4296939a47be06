//! Parquet reader (sync over any `ChunkReader`, async over any `AsyncFileReader` for ranged
//! reads) with projection and filter pushdown: row groups whose statistics exclude a filter
//! are skipped, then rows are filtered. And the Parquet writer.
//!
//! [`read_parquet_ranged`] is the reader for object stores: it plans the byte ranges the
//! decoder will need, coalesces nearby ranges into few requests, and fetches the next row
//! groups while the current one decodes (a bounded read-ahead), so a remote object reads
//! about as fast as a local file while memory stays flat.
//!
//! | file            | holds                                                              |
//! |-----------------|--------------------------------------------------------------------|
//! | `footer.rs`     | footers other writers got wrong, repaired (mistyped fields, dictionary offset 0) |
//! | `metadata.rs`   | the footer as Arrow sees it (INT96 as microseconds, row counts)     |
//! | `predicates.rs` | filters as Arrow comparisons; row groups their statistics exclude  |
//! | `projection.rs` | projection, row-group pruning and row filters on a reader builder  |
//! | `read.rs`       | [`read_parquet`], [`read_parquet_async`], the registry's readers   |
//! | `ranged.rs`     | [`read_parquet_ranged`]: footer, then the scheduled fetches         |
//! | `fetch.rs`      | the fetch scheduler: plan → coalesced fetches read ahead; [`RangedReadOptions`] |
//! | `write.rs`      | the writer and [`parse_parquet_codec`]                              |

mod fetch;
mod footer;
mod metadata;
mod predicates;
mod projection;
mod ranged;
mod read;
mod write;

pub use fetch::{coalesce_ranges, RangedReadOptions, COALESCE_GAP_BYTES, MIN_FETCH_BYTES, PARQUET_FOOTER_PREFETCH};
pub use ranged::{read_parquet_ranged, ParquetStream};
pub use read::{parquet_schema, read_parquet, read_parquet_async, ParquetReader};
pub use write::parse_parquet_codec;

pub(super) use read::{open_file, open_stream};
pub(super) use write::new_parquet_writer;
