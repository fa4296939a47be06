//! The COST report (CONTRACT §6): [`CostReport`], the `COST {…}` LOG message
//! of a read and of `estimate` — the estimate beside the metered figures.

use serde::Serialize;
use serde_json::Value;

use super::estimate::Estimate;
use super::pricing::{Pricing, Usage};
use crate::storage::MeterSnapshot;

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
    fn the_report_holds_every_field() {
        let ok = MeterSnapshot {
            get_requests: 10,
            ..Default::default()
        };
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
