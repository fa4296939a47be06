//! The COST report (CONTRACT §6): [`CostReport`], the `COST {…}` LOG message
//! of a read and of `estimate` — the estimate beside the metered figures —
//! and the same as a short table for a person at a shell ([`CostReport::table`]).

use lakeport_protocol::progress::{table, thousands};
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

    /// The report as a short table for a person at a shell: requests,
    /// bytes and USD estimated beside metered (`actual` is the heading of
    /// the metered column: for `estimate`, what the listing cost so far),
    /// then the files, partitions and limits.
    pub fn table(&self, actual: &str) -> String {
        let dash = || "-".to_string();
        let count = |n: u64| thousands(n);
        let rows = vec![
            vec!["USD".into(), usd(self.estimated_usd), usd(self.actual_usd)],
            vec![
                "GET requests".into(),
                count(self.estimated_get_requests),
                count(self.get_requests),
            ],
            vec!["bytes".into(), bytes(self.estimated_bytes), bytes(self.bytes_scanned)],
            vec!["LIST requests".into(), dash(), count(self.list_requests)],
            vec!["HEAD requests".into(), dash(), count(self.head_requests)],
            vec!["PUT/other requests".into(), dash(), count(self.put_requests)],
            vec!["retries".into(), dash(), count(self.retries)],
        ];
        let mut text = table(&["COST", "estimate", actual], &rows);
        text.push_str(&format!(
            "\nfiles: {} listed, {} selected, {} read, {} deferred",
            count(self.files_listed),
            count(self.files_selected),
            count(self.files_read),
            count(self.files_deferred)
        ));
        text.push_str(&format!(
            "\npartitions: {} of {} selected, scan reduction {:.1}%",
            count(self.partitions_selected),
            count(self.partitions_total),
            self.scan_reduction_pct
        ));
        let limit = if self.cost_limit_usd.is_finite() && self.cost_limit_usd > 0.0 {
            usd(self.cost_limit_usd)
        } else {
            "none".into()
        };
        text.push_str(&format!(
            "\nsampling: {}% of files; cost limit: {limit}",
            (self.sampling_rate * 100.0 * 100.0).round() / 100.0
        ));
        text
    }

    /// Parses a `COST {…}` message back (for tests and tools).
    pub fn parse_message(message: &str) -> Option<Value> {
        serde_json::from_str(message.strip_prefix("COST ")?).ok()
    }
}

/// `$0.000123`, `$0.50`, `$100.00`: USD to the millionth of a dollar, with
/// at least two decimals (`<$0.000001` below, `$0` at zero).
fn usd(x: f64) -> String {
    if x == 0.0 {
        return "$0".into();
    }
    if x < 0.000_000_5 {
        return "<$0.000001".into();
    }
    let mut text = format!("${x:.6}");
    while text.ends_with('0') && text.len() - text.find('.').unwrap_or(0) > 3 {
        text.pop();
    }
    text
}

/// Bytes in the unit that reads best: `512 B`, `1.5 KB`, `12.3 MB`, `1.2 GB` (powers of 1000).
fn bytes(n: u64) -> String {
    let x = n as f64;
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", x / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", x / 1e6),
        _ => format!("{:.1} GB", x / 1e9),
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

    #[test]
    fn the_table_shows_estimate_beside_actual() {
        let report = CostReport {
            estimated_usd: 0.0000123,
            actual_usd: 0.0000101,
            list_requests: 2,
            get_requests: 1234,
            estimated_get_requests: 1300,
            estimated_bytes: 12_345_678,
            bytes_scanned: 999,
            files_listed: 4000,
            files_selected: 1000,
            files_read: 998,
            files_deferred: 2,
            partitions_total: 40,
            partitions_selected: 10,
            scan_reduction_pct: 75.0,
            sampling_rate: 0.25,
            cost_limit_usd: 0.5,
            ..Default::default()
        };
        let t = report.table("actual");
        let expected = "\
COST                 estimate    actual
USD                 $0.000012  $0.00001
GET requests            1,300     1,234
bytes                 12.3 MB     999 B
LIST requests               -         2
HEAD requests               -         0
PUT/other requests          -         0
retries                     -         0
files: 4,000 listed, 1,000 selected, 998 read, 2 deferred
partitions: 10 of 40 selected, scan reduction 75.0%
sampling: 25% of files; cost limit: $0.50";
        assert_eq!(t, expected);
        let none = CostReport::default().table("listing so far");
        assert!(
            none.starts_with(
                "COST                estimate  listing so far\nUSD                       $0              $0\n"
            ),
            "{none}"
        );
        assert!(none.ends_with("sampling: 0% of files; cost limit: none"), "{none}");
        assert_eq!(usd(1e-9), "<$0.000001");
        assert_eq!(usd(100.0), "$100.00");
        assert_eq!(usd(0.0000065421), "$0.000007");
        assert_eq!(bytes(1_500), "1.5 KB");
        assert_eq!(bytes(2_000_000_000), "2.0 GB");
    }
}
