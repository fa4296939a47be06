//! The COST report (CONTRACT §6) of a read or an estimate: what was listed,
//! selected and read ([`ReadTotals`]), the pre-flight estimate, and the
//! actual figures of the meter; for a sharded estimate, the `SHARDS` report
//! pricing each shard and the whole.

use serde_json::{json, Value};

use lakeport_protocol::{ConnectorError, Emitter};

use super::engine::Engine;
use super::select::{Selected, ShardShare};
use super::shard::Shard;
use crate::cost::{estimate_read, CostReport, Estimate, Usage};

/// What a read did, for the COST report.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReadTotals {
    /// Objects listed.
    pub files_listed: u64,
    /// Objects selected to read.
    pub files_selected: u64,
    /// Objects read completely.
    pub files_read: u64,
    /// Objects left for the next run (limits in incremental mode).
    pub files_deferred: u64,
    /// Bytes of the selected objects.
    pub bytes_selected: u64,
    /// Partitions in the data.
    pub partitions_total: u64,
    /// Partitions selected.
    pub partitions_selected: u64,
    /// Bytes the partition filters kept, and the estimated bytes of the whole
    /// data (for the overall scan reduction).
    pub bytes_kept: f64,
    /// See `bytes_kept`.
    pub bytes_whole: f64,
}

impl ReadTotals {
    /// Adds what was selected of one stream.
    pub fn add(&mut self, s: &Selected) {
        self.files_listed += s.listed;
        self.files_selected += s.files.len() as u64;
        self.files_deferred += s.deferred;
        self.bytes_selected += s.bytes;
        self.partitions_total += s.partitions_total;
        self.partitions_selected += s.partitions_selected;
        let kept = s.bytes_kept.max(1) as f64;
        self.bytes_kept += kept;
        self.bytes_whole += kept / (1.0 - s.scan_reduction_pct / 100.0).max(1e-9);
    }

    fn scan_reduction_pct(&self) -> f64 {
        if self.bytes_whole <= 0.0 {
            return 0.0;
        }
        (100.0 * (1.0 - self.bytes_kept / self.bytes_whole)).clamp(0.0, 100.0)
    }
}

impl Engine<'_> {
    /// The COST report (CONTRACT §6): `COST ` and one JSON object. The actual
    /// figures come from the meter — everything the process sent, discovery
    /// included, retries included.
    pub fn cost_report(&self, estimate: &Estimate, totals: &ReadTotals) -> String {
        let limits = &self.plan.limits;
        CostReport {
            files_listed: totals.files_listed,
            files_selected: totals.files_selected,
            files_read: totals.files_read,
            files_deferred: totals.files_deferred,
            partitions_total: totals.partitions_total,
            partitions_selected: totals.partitions_selected,
            scan_reduction_pct: totals.scan_reduction_pct(),
            sampling_rate: limits.sampling_rate(),
            cost_limit_usd: limits.cost_limit_usd,
            ..CostReport::default()
        }
        .with_estimate(estimate)
        .with_actual(self.meter.snapshot(), &self.plan.pricing)
        .message()
    }

    /// Logs the COST report, when the plan asks for one ([`super::plan::ReadPlan::cost_report`]).
    pub fn log_cost_report(
        &self,
        out: &mut Emitter,
        estimate: &Estimate,
        totals: &ReadTotals,
    ) -> Result<(), ConnectorError> {
        if self.plan.cost_report {
            out.info(self.cost_report(estimate, totals))?;
        }
        Ok(())
    }

    /// The pre-flight estimate: what was sent so far (listings, discovery) plus
    /// the planned reads.
    pub fn preflight(&self, selections: &[&Selected]) -> Estimate {
        let pricing = &self.plan.pricing;
        let mut estimate = estimate_read(Usage::from(self.meter.snapshot()), std::iter::empty(), pricing);
        for s in selections {
            estimate.usage = estimate.usage + s.usage;
            estimate.files += s.files.len() as u64;
            estimate.bytes += s.bytes;
        }
        estimate.usd = pricing.price(&estimate.usage);
        estimate
    }

    /// The `SHARDS` report of a sharded estimate: `SHARDS ` and one JSON
    /// object — this worker's `shard` and `count`, then per shard (`shards`,
    /// in index order) and for the `whole` stream the files, bytes and
    /// estimated USD (before limits and sampling; each shard lists the
    /// whole plan, so each pays the listing). In incremental mode the state
    /// is this shard's: the other shards are priced as if they had none.
    pub fn shard_report(&self, shard: Shard, shares: &[ShardShare]) -> String {
        let pricing = &self.plan.pricing;
        let listing = Usage::from(self.meter.snapshot());
        let usd = |u: Usage| (pricing.price(&u) * 1e6).round() / 1e6;
        let per: Vec<Value> = shares
            .iter()
            .enumerate()
            .map(|(i, s)| json!({"index": i, "files": s.files, "bytes": s.bytes, "estimated_usd": usd(listing + s.usage)}))
            .collect();
        let whole = json!({
            "files": shares.iter().map(|s| s.files).sum::<u64>(),
            "bytes": shares.iter().map(|s| s.bytes).sum::<u64>(),
            "estimated_usd": shares.iter().map(|s| usd(listing + s.usage)).sum::<f64>(),
        });
        let report = json!({"shard": shard.index, "count": shard.count, "shards": per, "whole": whole});
        format!("SHARDS {report}")
    }
}
