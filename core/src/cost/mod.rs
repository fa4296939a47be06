//! Cost management: S3 prices, pre-flight estimates, limits, dev sampling and
//! the COST report (CONTRACT §6).
//!
//! | file            | holds                                                                 |
//! |-----------------|-----------------------------------------------------------------------|
//! | `pricing.rs`    | [`Pricing`] (S3 Standard us-east-1 by default, overridable by `pricing`) and [`Usage`] |
//! | `estimate.rs`   | [`FileModel`] / [`estimate_read`]: the requests and bytes a read will cost, per format |
//! | `limit.rs`      | [`check_cost_limit`] for `cost_limit_usd` up front, [`CostTracker`] (the running total from the meter), [`CostError`] |
//! | `selection.rs`  | [`Limits`] / [`select_files`]: `dev_sampling` (deterministic, seedable), `dev_max_files`, `max_files_per_run`, `max_data_size_gb` |
//! | `report.rs`     | [`CostReport`]: the `COST {…}` LOG message                             |
//!
//! It prices what the storage layer's meter counted
//! ([`crate::storage::Metered`]) and what the formats layer will fetch (the
//! Parquet footer prefetch and coalescing gap of `formats::parquet`).

mod estimate;
mod limit;
mod pricing;
mod report;
mod selection;

pub use estimate::{estimate_read, Estimate, FileModel, PARQUET_ROW_GROUP_BYTES};
pub use limit::{check_cost_limit, usd_pair, CostError, CostTracker};
pub use pricing::{Pricing, Usage, BYTES_PER_GB};
pub use report::CostReport;
pub use selection::{in_sample, select_files, stable_hash, Limits, RunMode, Selection};
