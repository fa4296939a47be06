//! Pre-flight estimates: what reading a file costs by format ([`FileModel`]:
//! a Parquet file is a footer read, all of a small file, plus coalesced
//! ranged GETs of the projected column chunks; CSV/JSON/Avro are one
//! streaming GET) and what a run costs ([`estimate_read`]).

use serde::Serialize;

use super::pricing::{Pricing, Usage};
use crate::formats::parquet::{COALESCE_GAP_BYTES, PARQUET_FOOTER_PREFETCH};

/// Bytes per Parquet row group assumed when estimating ranged reads.
pub const PARQUET_ROW_GROUP_BYTES: u64 = 128 * 1024 * 1024;

/// How reading one file costs, by format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileModel {
    /// One streaming GET of the whole object (CSV, TSV, JSON, JSONL, Avro, compressed files).
    Whole,
    /// Parquet through ranged GETs (`formats::parquet::read_parquet_ranged`): the
    /// footer (with a prefetch that holds all of a small file), then per row group one
    /// GET per run of projected columns (nearby column chunks coalesced); row groups
    /// smaller than [`crate::formats::parquet::MIN_FETCH_BYTES`] are fetched together.
    Parquet {
        /// Leaf columns read (after `parquet_columns` projection).
        columns_read: usize,
        /// Leaf columns in the file.
        columns_total: usize,
    },
}

impl FileModel {
    /// The requests and bytes reading a `size`-byte file costs.
    pub fn usage(&self, size: u64) -> Usage {
        match *self {
            FileModel::Whole => Usage {
                get_requests: 1,
                bytes_scanned: size,
                ..Usage::default()
            },
            FileModel::Parquet {
                columns_read,
                columns_total,
            } => {
                // The footer request (the last PARQUET_FOOTER_PREFETCH bytes) holds all of a
                // small file.
                if size <= PARQUET_FOOTER_PREFETCH {
                    return Usage {
                        get_requests: 1,
                        bytes_scanned: size,
                        ..Usage::default()
                    };
                }
                let total = columns_total.max(1) as u64;
                let read = (columns_read as u64).min(total);
                let data = size - PARQUET_FOOTER_PREFETCH;
                let row_groups = data.div_ceil(PARQUET_ROW_GROUP_BYTES).max(1);
                // One fetch per row group (row groups below MIN_FETCH_BYTES are fetched
                // together; the assumed ones are larger). In a fetch, each run of projected
                // columns is one request, and runs closer than the coalescing gap merge.
                let chunk = data / row_groups / total;
                let runs = if read == total || chunk < COALESCE_GAP_BYTES {
                    1
                } else {
                    read.min(total - read + 1)
                };
                Usage {
                    get_requests: 1 + row_groups * runs,
                    bytes_scanned: PARQUET_FOOTER_PREFETCH + data * read / total,
                    ..Usage::default()
                }
            }
        }
    }
}

/// A pre-flight estimate of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Estimate {
    /// Requests and bytes: the listing already done plus the planned reads.
    pub usage: Usage,
    /// Its price.
    pub usd: f64,
    /// Files to read.
    pub files: u64,
    /// Bytes of those files (object sizes).
    pub bytes: u64,
}

/// Estimates a run: `listing` (the metered cost of listing, already spent)
/// plus reading every `(size, model)` file.
pub fn estimate_read(listing: Usage, files: impl IntoIterator<Item = (u64, FileModel)>, pricing: &Pricing) -> Estimate {
    let mut usage = listing;
    let (mut n, mut bytes) = (0u64, 0u64);
    for (size, model) in files {
        usage = usage + model.usage(size);
        n += 1;
        bytes += size;
    }
    Estimate {
        usage,
        usd: pricing.price(&usage),
        files: n,
        bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_format_models() {
        assert_eq!(FileModel::Whole.usage(1234).get_requests, 1);
        assert_eq!(FileModel::Whole.usage(1234).bytes_scanned, 1234);
        let pq = FileModel::Parquet {
            columns_read: 2,
            columns_total: 8,
        };
        // Within the footer request.
        let small = pq.usage(10_000);
        assert_eq!((small.get_requests, small.bytes_scanned), (1, 10_000));
        // Column chunks of 16 MiB (1 GiB: 8 row groups of 8 columns): two runs of
        // projected columns at worst, per row group.
        let big = pq.usage(1 << 30);
        assert_eq!(big.get_requests, 1 + 8 * 2);
        // Projection: about a quarter of the data plus the footer.
        assert!(big.bytes_scanned < (1 << 30) / 3, "{big:?}");
        // Column chunks of 1.5 MiB → 3 projected of 4: at most two runs.
        let three = FileModel::Parquet {
            columns_read: 3,
            columns_total: 4,
        };
        assert_eq!(three.usage((6 << 20) + PARQUET_FOOTER_PREFETCH).get_requests, 1 + 2);
        // Small column chunks coalesce: one request per row group, whatever the projection.
        let mid = pq.usage(3 << 20);
        assert_eq!(mid.get_requests, 2);
        let all = FileModel::Parquet {
            columns_read: 8,
            columns_total: 8,
        };
        assert_eq!(all.usage(1 << 30).get_requests, 1 + 8);
        assert_eq!(all.usage(1 << 30).bytes_scanned, 1 << 30);
    }
}
