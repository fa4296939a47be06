//! The cost limit (`cost_limit_usd`): [`check_cost_limit`] refuses a run
//! whose estimate is over it, before its first GET; [`CostTracker`] prices
//! the meter during a read, which stops after the current file once the
//! metered cost passes the limit. [`CostError`] says which limit and what to
//! change.

use super::estimate::Estimate;
use super::pricing::{Pricing, Usage, BYTES_PER_GB};
use crate::storage::MeterSnapshot;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::estimate::{estimate_read, FileModel};

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

    #[test]
    fn the_tracker_stops_a_read_over_the_limit() {
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
    }
}
