//! Cost management: S3 prices, pre-flight estimates, limits, dev sampling and
//! the COST report (CONTRACT §6).
//!
//! - [`Pricing`]: S3 Standard us-east-1 by default, overridable (`pricing`).
//! - [`FileModel`] / [`estimate_read`]: the requests and bytes a read will
//!   cost, per format — a Parquet file is a footer read (all of a small file)
//!   plus coalesced ranged GETs of the projected column chunks; CSV/JSON/Avro
//!   are one streaming GET.
//! - [`Limits`] / [`select_files`]: `dev_sampling` (deterministic, seedable),
//!   `dev_max_files`, `max_files_per_run` and `max_data_size_gb` (deferred in
//!   incremental mode, an error up front in full refresh), and
//!   [`check_cost_limit`] for `cost_limit_usd`.
//! - [`CostTracker`]: the running total during a read, from the meter.
//! - [`CostReport`]: the `COST {…}` LOG message.

use serde::Serialize;
use serde_json::Value;

use crate::formats::parquet::{COALESCE_GAP_BYTES, PARQUET_FOOTER_PREFETCH};
use crate::storage::MeterSnapshot;

/// Bytes per GB as S3 bills transfer (GiB).
pub const BYTES_PER_GB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Bytes per Parquet row group assumed when estimating ranged reads.
pub const PARQUET_ROW_GROUP_BYTES: u64 = 128 * 1024 * 1024;

/// Request and transfer prices, in USD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Pricing {
    /// Per 1,000 GET/HEAD (and other read) requests.
    pub get_per_1000: f64,
    /// Per 1,000 LIST requests.
    pub list_per_1000: f64,
    /// Per 1,000 PUT/COPY/POST requests.
    pub put_per_1000: f64,
    /// Per GB transferred out.
    pub transfer_per_gb: f64,
}

impl Default for Pricing {
    /// S3 Standard, us-east-1.
    fn default() -> Self {
        Pricing {
            get_per_1000: 0.0004,
            list_per_1000: 0.005,
            put_per_1000: 0.005,
            transfer_per_gb: 0.09,
        }
    }
}

impl Pricing {
    /// The defaults with the given overrides (negative or non-finite values ignored).
    pub fn with_overrides(get: Option<f64>, list: Option<f64>, put: Option<f64>, transfer: Option<f64>) -> Pricing {
        let d = Pricing::default();
        let pick = |v: Option<f64>, def: f64| v.filter(|x| x.is_finite() && *x >= 0.0).unwrap_or(def);
        Pricing {
            get_per_1000: pick(get, d.get_per_1000),
            list_per_1000: pick(list, d.list_per_1000),
            put_per_1000: pick(put, d.put_per_1000),
            transfer_per_gb: pick(transfer, d.transfer_per_gb),
        }
    }

    /// The prices of a `pricing` config object (`get_per_1000`, `list_per_1000`,
    /// `put_per_1000`, `transfer_per_gb`); `None` or missing keys: defaults.
    pub fn from_config(pricing: Option<&Value>) -> Pricing {
        let f = |k: &str| pricing.and_then(|p| p.get(k)).and_then(Value::as_f64);
        Pricing::with_overrides(
            f("get_per_1000"),
            f("list_per_1000"),
            f("put_per_1000"),
            f("transfer_per_gb"),
        )
    }

    /// The price of `usage`.
    pub fn price(&self, usage: &Usage) -> f64 {
        usage.list_requests as f64 / 1000.0 * self.list_per_1000
            + (usage.get_requests + usage.head_requests) as f64 / 1000.0 * self.get_per_1000
            + usage.put_requests as f64 / 1000.0 * self.put_per_1000
            + usage.bytes_scanned as f64 / BYTES_PER_GB * self.transfer_per_gb
    }
}

/// Requests and bytes, planned or metered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// LIST requests.
    pub list_requests: u64,
    /// GET requests (whole or ranged).
    pub get_requests: u64,
    /// HEAD and other read-priced requests.
    pub head_requests: u64,
    /// PUT/COPY/POST-priced requests other than LIST.
    pub put_requests: u64,
    /// Bytes received.
    pub bytes_scanned: u64,
}

impl From<MeterSnapshot> for Usage {
    fn from(m: MeterSnapshot) -> Usage {
        Usage {
            list_requests: m.list_requests,
            get_requests: m.get_requests,
            head_requests: m.head_requests + m.other_requests,
            put_requests: m.tier1_requests().saturating_sub(m.list_requests),
            bytes_scanned: m.bytes_received,
        }
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;

    fn add(self, o: Usage) -> Usage {
        Usage {
            list_requests: self.list_requests + o.list_requests,
            get_requests: self.get_requests + o.get_requests,
            head_requests: self.head_requests + o.head_requests,
            put_requests: self.put_requests + o.put_requests,
            bytes_scanned: self.bytes_scanned + o.bytes_scanned,
        }
    }
}

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

/// A cost or size limit that stops a run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CostError {
    /// The estimated (or metered) cost is over `cost_limit_usd`.
    #[error("Operation cost ${} exceeds limit ${} ({detail}). {advice}", usd_pair(*cost, *limit).0, usd_pair(*cost, *limit).1)]
    OverLimit {
        /// The cost in USD.
        cost: f64,
        /// The limit in USD.
        limit: f64,
        /// What the cost is made of, with full precision.
        detail: String,
        /// What to change.
        advice: String,
    },
    /// More files or data than a full refresh may read.
    #[error("{0}")]
    TooLarge(String),
}

impl From<CostError> for crate::Error {
    fn from(e: CostError) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// Two amounts in USD as the cost-limit message prints them: an amount of at
/// least a cent with two decimals (`0.05`, `12.00`), a smaller one with
/// three significant digits (`0.000123`); both with more digits while they
/// would print alike (a cost just over its limit).
pub fn usd_pair(a: f64, b: f64) -> (String, String) {
    let show = |v: f64, extra: usize| {
        let mut decimals = 2;
        while v.abs() < 0.01 && v != 0.0 && v.abs() * 10f64.powi(decimals as i32) < 99.5 && decimals < 12 {
            decimals += 1;
        }
        format!("{v:.prec$}", prec = (decimals + extra).min(12))
    };
    let mut extra = 0;
    loop {
        let (x, y) = (show(a, extra), show(b, extra));
        if x != y || extra >= 10 {
            return (x, y);
        }
        extra += 1;
    }
}

const COST_ADVICE: &str = "Raise `cost_limit_usd`, narrow the files with `partition_filter`, `globs` or \
    `path_prefix`, project fewer `parquet_columns`, or set `dev_sampling`/`dev_max_files` while developing.";

/// Fails when `estimate` is over `limit_usd`.
pub fn check_cost_limit(estimate: &Estimate, limit_usd: f64) -> Result<(), CostError> {
    if estimate.usd <= limit_usd {
        return Ok(());
    }
    Err(CostError::OverLimit {
        cost: estimate.usd,
        limit: limit_usd,
        detail: format!(
            "estimated ${:.6} for {} file(s), {:.3} GB, {} LIST and {} GET request(s); limit ${}",
            estimate.usd,
            estimate.files,
            estimate.bytes as f64 / BYTES_PER_GB,
            estimate.usage.list_requests,
            estimate.usage.get_requests,
            limit_usd
        ),
        advice: COST_ADVICE.into(),
    })
}

/// Cost and size limits, and development sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// `cost_limit_usd`.
    pub cost_limit_usd: f64,
    /// `max_files_per_run`.
    pub max_files_per_run: u64,
    /// `max_data_size_gb`.
    pub max_data_size_gb: f64,
    /// `dev_sampling`: the share of files read (0..=1).
    pub dev_sampling: Option<f64>,
    /// `dev_max_files`.
    pub dev_max_files: Option<u64>,
    /// Seed of the sample (`dev_sampling_seed`); the same seed picks the same files.
    pub sampling_seed: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cost_limit_usd: 100.0,
            max_files_per_run: 10_000,
            max_data_size_gb: 1000.0,
            dev_sampling: None,
            dev_max_files: None,
            sampling_seed: 0,
        }
    }
}

impl Limits {
    /// Whether development sampling is on (`dev_sampling` < 1 or `dev_max_files`).
    pub fn dev_mode(&self) -> bool {
        self.dev_sampling.is_some_and(|r| r < 1.0) || self.dev_max_files.is_some()
    }

    /// The sampling rate reported (1.0 when not sampling).
    pub fn sampling_rate(&self) -> f64 {
        self.dev_sampling.map(|r| r.clamp(0.0, 1.0)).unwrap_or(1.0)
    }
}

/// A stable 64-bit hash of `key` under `seed` (FNV-1a, then a SplitMix64 finaliser):
/// the same on every run, platform and Rust version.
pub fn stable_hash(seed: u64, key: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for b in key.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Whether `key` is in the `rate` sample under `seed`: a file's membership
/// depends on its key only, so a sample is stable across runs and grows
/// monotonically with the rate.
pub fn in_sample(seed: u64, key: &str, rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 {
        return false;
    }
    (stable_hash(seed, key) as f64 / u64::MAX as f64) < rate
}

/// Whether the run may defer files to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// A full refresh: limits are errors (unless sampling).
    FullRefresh,
    /// An incremental sync: files over the limits wait for the next run.
    Incremental,
}

/// The files a run reads after sampling and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection<T> {
    /// The files to read, in the order given.
    pub files: Vec<T>,
    /// Files left for the next run (incremental mode).
    pub deferred: Vec<T>,
    /// Files dropped by sampling or `dev_max_files`.
    pub sampled_out: u64,
    /// WARN messages to log.
    pub warnings: Vec<String>,
}

/// Applies `dev_sampling` and `dev_max_files`, then `max_files_per_run` and
/// `max_data_size_gb`, to `files` (in reading order; `key` and `size` tell
/// each file's key and bytes). In incremental mode the files over a limit
/// are deferred (a WARN says so); in a full refresh they are an error unless
/// development sampling is on, in which case the run is cut with a WARN.
pub fn select_files<T>(
    files: Vec<T>,
    key: impl Fn(&T) -> &str,
    size: impl Fn(&T) -> u64,
    limits: &Limits,
    mode: RunMode,
) -> Result<Selection<T>, CostError> {
    let before = files.len() as u64;
    let rate = limits.sampling_rate();
    let mut kept: Vec<T> = files
        .into_iter()
        .filter(|f| in_sample(limits.sampling_seed, key(f), rate))
        .collect();
    if let Some(max) = limits.dev_max_files {
        kept.truncate(usize::try_from(max).unwrap_or(usize::MAX));
    }
    let sampled_out = before - kept.len() as u64;
    let mut warnings = Vec::new();
    if limits.dev_mode() {
        warnings.push(format!(
            "Development sampling: reading {} of {} file(s) (dev_sampling {}, dev_max_files {}). Remove \
             `dev_sampling`/`dev_max_files` for complete data.",
            kept.len(),
            before,
            rate,
            limits
                .dev_max_files
                .map(|m| m.to_string())
                .unwrap_or_else(|| "unset".into())
        ));
    }
    let max_bytes = (limits.max_data_size_gb.max(0.0) * BYTES_PER_GB) as u64;
    let total_bytes: u64 = kept.iter().map(&size).sum();
    let n = kept.len() as u64;
    if n <= limits.max_files_per_run && total_bytes <= max_bytes {
        return Ok(Selection {
            files: kept,
            deferred: Vec::new(),
            sampled_out,
            warnings,
        });
    }
    let over = format!(
        "{n} file(s) and {:.3} GB selected, over `max_files_per_run` {} / `max_data_size_gb` {}",
        total_bytes as f64 / BYTES_PER_GB,
        limits.max_files_per_run,
        limits.max_data_size_gb
    );
    if mode == RunMode::FullRefresh && !limits.dev_mode() {
        return Err(CostError::TooLarge(format!(
            "Run too large: {over}. Raise the limits, narrow the files with `partition_filter`, `globs` or \
             `path_prefix`, sync incrementally (the rest is then read by the next runs), or set \
             `dev_sampling`/`dev_max_files` while developing."
        )));
    }
    // Take files in order while both limits hold; defer the rest.
    let mut taken = 0u64;
    let mut bytes = 0u64;
    let mut files = Vec::new();
    let mut deferred = Vec::new();
    for f in kept {
        let s = size(&f);
        if deferred.is_empty()
            && taken < limits.max_files_per_run
            && (bytes + s <= max_bytes || taken == 0 && s <= max_bytes)
        {
            taken += 1;
            bytes += s;
            files.push(f);
        } else {
            deferred.push(f);
        }
    }
    warnings.push(match mode {
        RunMode::Incremental => format!(
            "{over}: reading {} file(s) now; the other {} wait for the next run.",
            files.len(),
            deferred.len()
        ),
        RunMode::FullRefresh => format!(
            "{over}: development sampling is on, so only the first {} file(s) are read.",
            files.len()
        ),
    });
    if mode == RunMode::FullRefresh {
        deferred.clear();
    }
    Ok(Selection {
        files,
        deferred,
        sampled_out,
        warnings,
    })
}

/// The running cost of a read, from the meter.
#[derive(Debug, Clone)]
pub struct CostTracker {
    pricing: Pricing,
    limit_usd: f64,
    start: MeterSnapshot,
    estimated_usd: f64,
}

impl CostTracker {
    /// A tracker pricing requests after `start`, against `limit_usd`.
    pub fn new(pricing: Pricing, limit_usd: f64, start: MeterSnapshot, estimated_usd: f64) -> CostTracker {
        CostTracker {
            pricing,
            limit_usd,
            start,
            estimated_usd,
        }
    }

    /// The metered cost from the start to `now`.
    pub fn actual_usd(&self, now: MeterSnapshot) -> f64 {
        self.pricing.price(&Usage::from(now - self.start))
    }

    /// Fails once the metered cost at `now` is over the limit (the estimate was wrong).
    pub fn check(&self, now: MeterSnapshot) -> Result<(), CostError> {
        let actual = self.actual_usd(now);
        if actual <= self.limit_usd {
            return Ok(());
        }
        let used = Usage::from(now - self.start);
        Err(CostError::OverLimit {
            cost: actual,
            limit: self.limit_usd,
            detail: format!(
                "metered ${actual:.6} so far ({} LIST, {} GET request(s), {} bytes) against an estimate of ${:.6}; \
                 limit ${}; the read stopped after the current file and the state is saved",
                used.list_requests, used.get_requests, used.bytes_scanned, self.estimated_usd, self.limit_usd
            ),
            advice: COST_ADVICE.into(),
        })
    }
}

/// The COST report (CONTRACT §6): one LOG INFO `COST {json}` at the end of a
/// read and from `estimate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CostReport {
    /// The pre-flight estimate in USD.
    pub estimated_usd: f64,
    /// The metered cost in USD (for `estimate`: the listing only).
    pub actual_usd: f64,
    /// LIST requests sent.
    pub list_requests: u64,
    /// GET requests sent.
    pub get_requests: u64,
    /// HEAD requests sent.
    pub head_requests: u64,
    /// Other requests priced as PUT/POST.
    pub put_requests: u64,
    /// Retries among the requests.
    pub retries: u64,
    /// Bytes received.
    pub bytes_scanned: u64,
    /// Objects listed.
    pub files_listed: u64,
    /// Objects selected (after partitions, globs, sampling and limits).
    pub files_selected: u64,
    /// Objects read completely.
    pub files_read: u64,
    /// Objects left for the next run.
    pub files_deferred: u64,
    /// Partitions in the data (counted or estimated).
    pub partitions_total: u64,
    /// Partitions selected.
    pub partitions_selected: u64,
    /// Share of the data pruned, in percent.
    pub scan_reduction_pct: f64,
    /// The `dev_sampling` rate (1.0: every file).
    pub sampling_rate: f64,
    /// Estimated GET requests.
    pub estimated_get_requests: u64,
    /// Estimated bytes.
    pub estimated_bytes: u64,
    /// The limit.
    pub cost_limit_usd: f64,
}

fn round_usd(x: f64) -> f64 {
    (x * 1e10).round() / 1e10
}

impl CostReport {
    /// Fills the metered figures from `used` priced with `pricing`.
    pub fn with_actual(mut self, used: MeterSnapshot, pricing: &Pricing) -> CostReport {
        let usage = Usage::from(used);
        self.actual_usd = pricing.price(&usage);
        self.list_requests = usage.list_requests;
        self.get_requests = usage.get_requests;
        self.head_requests = usage.head_requests;
        self.put_requests = usage.put_requests;
        self.retries = used.retries;
        self.bytes_scanned = usage.bytes_scanned;
        self
    }

    /// Fills the estimate.
    pub fn with_estimate(mut self, estimate: &Estimate) -> CostReport {
        self.estimated_usd = estimate.usd;
        self.estimated_get_requests = estimate.usage.get_requests;
        self.estimated_bytes = estimate.usage.bytes_scanned;
        self
    }

    /// The LOG message: `COST ` and the JSON object.
    pub fn message(&self) -> String {
        let mut r = self.clone();
        r.estimated_usd = round_usd(r.estimated_usd);
        r.actual_usd = round_usd(r.actual_usd);
        r.scan_reduction_pct = (r.scan_reduction_pct * 100.0).round() / 100.0;
        let json = serde_json::to_string(&r).unwrap_or_else(|_| "{}".into());
        format!("COST {json}")
    }

    /// Parses a `COST {…}` message back (for tests and tools).
    pub fn parse_message(message: &str) -> Option<Value> {
        serde_json::from_str(message.strip_prefix("COST ")?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_messages_show_sums_under_a_cent() {
        let pair = |a, b| {
            let (x, y) = usd_pair(a, b);
            format!("{x} / {y}")
        };
        assert_eq!(pair(12.0, 5.0), "12.00 / 5.00");
        assert_eq!(pair(0.05, 0.01), "0.05 / 0.01");
        assert_eq!(pair(0.000123456, 0.000001), "0.000123 / 0.00000100");
        assert_eq!(pair(0.0021, 0.002), "0.00210 / 0.00200");
        assert_eq!(pair(0.05, 0.001), "0.05 / 0.00100");
        assert_eq!(pair(0.0501, 0.05), "0.0501 / 0.0500");
        assert_eq!(pair(0.00001, 0.0), "0.0000100 / 0.00");
        let e = CostError::OverLimit {
            cost: 0.000123456,
            limit: 0.00007,
            detail: "d".into(),
            advice: "a".into(),
        };
        assert!(
            e.to_string()
                .starts_with("Operation cost $0.000123 exceeds limit $0.0000700 (d). a"),
            "{e}"
        );
    }

    #[test]
    fn default_prices_and_overrides() {
        let p = Pricing::default();
        let u = Usage {
            list_requests: 1000,
            get_requests: 1000,
            head_requests: 0,
            put_requests: 0,
            bytes_scanned: BYTES_PER_GB as u64,
        };
        assert!((p.price(&u) - (0.005 + 0.0004 + 0.09)).abs() < 1e-12);
        let p = Pricing::from_config(Some(&serde_json::json!({"get_per_1000": 1.0, "transfer_per_gb": -1})));
        assert_eq!(p.get_per_1000, 1.0);
        assert_eq!(p.transfer_per_gb, 0.09);
        assert_eq!(Pricing::from_config(None), Pricing::default());
    }

    #[test]
    fn meter_snapshots_price_as_s3_bills() {
        let m = MeterSnapshot {
            list_requests: 2,
            get_requests: 10,
            head_requests: 1,
            put_requests: 3,
            upload_part_requests: 2,
            bytes_received: 500,
            ..Default::default()
        };
        let u = Usage::from(m);
        assert_eq!(
            (u.list_requests, u.get_requests, u.head_requests, u.put_requests),
            (2, 10, 1, 5)
        );
    }

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

    #[test]
    fn estimates_and_the_limit_message() {
        let listing = Usage {
            list_requests: 4,
            bytes_scanned: 2000,
            ..Default::default()
        };
        let e = estimate_read(listing, (0..15).map(|_| (1000, FileModel::Whole)), &Pricing::default());
        assert_eq!(e.files, 15);
        assert_eq!(e.usage.get_requests, 15);
        let expected = 4.0 * 0.005 / 1000.0 + 15.0 * 0.0004 / 1000.0 + 17_000.0 / BYTES_PER_GB * 0.09;
        assert!((e.usd - expected).abs() < 1e-15);
        check_cost_limit(&e, 1.0).unwrap();
        let msg = check_cost_limit(&e, 0.000001).unwrap_err().to_string();
        assert!(
            msg.starts_with("Operation cost $0.0000274 exceeds limit $0.00000100 ("),
            "{msg}"
        );
        assert!(msg.contains("cost_limit_usd"), "{msg}");
        let big = Estimate { usd: 123.456, ..e };
        let msg = check_cost_limit(&big, 100.0).unwrap_err().to_string();
        assert!(msg.starts_with("Operation cost $123.46 exceeds limit $100.00"), "{msg}");
        let err: crate::Error = check_cost_limit(&big, 100.0).unwrap_err().into();
        assert_eq!(err.failure_type(), lakeport_protocol::FailureType::ConfigError);
    }

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("events/part-{i:05}.csv")).collect()
    }

    #[test]
    fn sampling_is_deterministic_seedable_and_close_to_the_rate() {
        let files = keys(2000);
        let pick = |seed: u64, rate: f64| -> Vec<String> {
            files.iter().filter(|k| in_sample(seed, k, rate)).cloned().collect()
        };
        let a = pick(0, 0.1);
        assert_eq!(a, pick(0, 0.1));
        let share = a.len() as f64 / files.len() as f64;
        assert!((0.08..=0.12).contains(&share), "{share}");
        let b = pick(7, 0.1);
        assert_ne!(a, b);
        // A larger rate keeps every file of a smaller one.
        let c = pick(0, 0.3);
        assert!(a.iter().all(|k| c.contains(k)));
        assert!(pick(0, 0.0).is_empty());
        assert_eq!(pick(0, 1.0).len(), 2000);
        // On 200 files: within ±5 points.
        let small: Vec<String> = keys(200);
        let n = small.iter().filter(|k| in_sample(0, k, 0.1)).count();
        assert!((10..=30).contains(&n), "{n}");
    }

    #[test]
    fn limits_defer_in_incremental_and_fail_in_full_refresh() {
        let limits = Limits {
            max_files_per_run: 10,
            ..Limits::default()
        };
        let files = keys(25);
        let s = select_files(files.clone(), |k| k.as_str(), |_| 100, &limits, RunMode::Incremental).unwrap();
        assert_eq!(s.files, files[..10]);
        assert_eq!(s.deferred.len(), 15);
        assert!(s.warnings[0].contains("wait for the next run"), "{:?}", s.warnings);
        let err = select_files(files.clone(), |k| k.as_str(), |_| 100, &limits, RunMode::FullRefresh).unwrap_err();
        assert!(err.to_string().contains("max_files_per_run"), "{err}");
        // With dev sampling the full refresh is cut instead.
        let dev = Limits {
            dev_max_files: Some(12),
            ..limits.clone()
        };
        let s = select_files(files.clone(), |k| k.as_str(), |_| 100, &dev, RunMode::FullRefresh).unwrap();
        assert_eq!(s.files.len(), 10);
        assert_eq!(s.sampled_out, 13);
        assert!(s.deferred.is_empty());
        // Data size.
        let gb = Limits {
            max_data_size_gb: 250.0 / BYTES_PER_GB,
            ..Limits::default()
        };
        let s = select_files(files.clone(), |k| k.as_str(), |_| 100, &gb, RunMode::Incremental).unwrap();
        assert_eq!(s.files.len(), 2);
        assert!(select_files(files, |k| k.as_str(), |_| 100, &gb, RunMode::FullRefresh).is_err());
    }

    #[test]
    fn tracker_and_report() {
        let t = CostTracker::new(Pricing::default(), 0.00001, MeterSnapshot::default(), 0.000001);
        let ok = MeterSnapshot {
            get_requests: 10,
            ..Default::default()
        };
        t.check(ok).unwrap();
        let over = MeterSnapshot {
            list_requests: 3,
            ..Default::default()
        };
        let msg = t.check(over).unwrap_err().to_string();
        assert!(
            msg.starts_with("Operation cost $0.0000150 exceeds limit $0.0000100"),
            "{msg}"
        );
        assert!(msg.contains("stopped after the current file"), "{msg}");
        let report = CostReport {
            files_listed: 5,
            sampling_rate: 1.0,
            ..Default::default()
        }
        .with_actual(ok, &Pricing::default());
        let msg = report.message();
        let v = CostReport::parse_message(&msg).unwrap();
        for k in [
            "estimated_usd",
            "actual_usd",
            "list_requests",
            "get_requests",
            "head_requests",
            "bytes_scanned",
            "files_listed",
            "files_selected",
            "files_read",
            "partitions_total",
            "partitions_selected",
            "scan_reduction_pct",
            "sampling_rate",
        ] {
            assert!(v.get(k).is_some(), "{k} missing in {msg}");
        }
        assert_eq!(v["get_requests"], 10);
        assert!((v["actual_usd"].as_f64().unwrap() - 0.000004).abs() < 1e-12);
    }
}
