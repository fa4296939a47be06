//! The COST report (CONTRACT §6) of a read or an estimate: what was listed,
//! selected and read ([`ReadTotals`]), the pre-flight estimate, and the
//! actual figures of the meter (as a LOG, and as a table on a terminal); for
//! a sharded estimate, the `SHARDS` report pricing each shard and the whole;
//! and a stream's read on the progress line of a person at a shell
//! ([`ReadProgress`]).

use std::sync::Arc;

use serde_json::{json, Value};

use lakeport_protocol::progress::{Task, Terminal};
use lakeport_protocol::{ConnectorError, Emitter};

use super::engine::Engine;
use super::select::{Selected, ShardShare};
use super::shard::Shard;
use crate::cost::{estimate_read, CostReport, Estimate, Usage};
use crate::storage::Meter;

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
        self.cost_of(estimate, totals).message()
    }

    /// The COST report's figures.
    fn cost_of(&self, estimate: &Estimate, totals: &ReadTotals) -> CostReport {
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
    }

    /// Logs the COST report, and shows it as a table on a terminal (the
    /// metered column headed `actual`).
    pub fn emit_cost_report(
        &self,
        out: &mut Emitter,
        estimate: &Estimate,
        totals: &ReadTotals,
        actual: &str,
    ) -> Result<(), ConnectorError> {
        let report = self.cost_of(estimate, totals);
        out.info(report.message())?;
        out.show(&report.table(actual));
        Ok(())
    }

    /// Logs the COST report, when the plan asks for one ([`super::plan::ReadPlan::cost_report`]).
    pub fn log_cost_report(
        &self,
        out: &mut Emitter,
        estimate: &Estimate,
        totals: &ReadTotals,
    ) -> Result<(), ConnectorError> {
        if self.plan.cost_report {
            self.emit_cost_report(out, estimate, totals, "actual")?;
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

/// One stream's read on the progress line of a person at a shell: files
/// read of those selected, records, bytes received (the ETA from the
/// selected bytes). Without a terminal every call is one branch.
pub struct ReadProgress {
    terminal: Option<Terminal>,
    meter: Arc<Meter>,
    bytes_at_start: u64,
}

impl ReadProgress {
    /// Starts the line of `stream`, reading `files` objects of `bytes` bytes.
    pub fn start(out: &Emitter, meter: &Arc<Meter>, stream: &str, files: usize, bytes: u64) -> Self {
        let terminal = out.terminal().cloned();
        if let Some(t) = &terminal {
            t.start(Task {
                label: stream.to_string(),
                files_word: "files",
                records_word: "records",
                files_total: Some(files as u64),
                bytes_total: Some(bytes),
                records_total: None,
            });
        }
        ReadProgress {
            terminal,
            meter: meter.clone(),
            bytes_at_start: meter.snapshot().bytes_received,
        }
    }

    /// After a batch of records: `records` in all so far.
    pub fn records(&self, records: u64) {
        if let Some(t) = &self.terminal {
            let bytes = self.meter.snapshot().bytes_received.saturating_sub(self.bytes_at_start);
            t.update(|c| {
                c.records = records;
                c.bytes = bytes;
            });
        }
    }

    /// After an object: `files` read in all so far.
    pub fn file_done(&self, files: u64) {
        if let Some(t) = &self.terminal {
            t.update(|c| c.files = files);
        }
    }

    /// The stream is read: the line is drawn a last time, marked done.
    pub fn finish(&self, records: u64) {
        self.records(records);
        if let Some(t) = &self.terminal {
            t.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use lakeport_protocol::progress::Terminal;
    use lakeport_protocol::{ConfiguredAirbyteCatalog, Emitter, InputState};
    use serde_json::json;

    use crate::formats::{FileFormat, ReadOptions};
    use crate::source::captured::Captured;
    use crate::source::engine::Engine;
    use crate::source::listing::ListingCache;
    use crate::source::plan::{ReadPlan, StreamPlan};
    use crate::storage::{LocalStorage, Metered};

    /// What a terminal received.
    #[derive(Clone, Default)]
    struct Screen(Arc<Mutex<Vec<u8>>>);
    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A read on a terminal draws each stream's line, done at the end, and
    /// the COST table; an estimate shows its table with the listing as the
    /// metered column. The protocol output is the same as without one.
    #[test]
    fn a_read_and_an_estimate_on_a_terminal_show_progress_and_the_cost_table() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let metered = Metered::new(Arc::new(LocalStorage::new(dir.path())));
        let (store, meter) = (metered.store().clone(), metered.meter().clone());
        runtime.block_on(async {
            store.put("data/a.csv", "id,name\n1,ann\n2,bob\n".into()).await.unwrap();
            store.put("data/b.csv", "id,name\n3,cy\n".into()).await.unwrap();
        });
        let stream = StreamPlan::new("people", "data/", Some(FileFormat::Csv), ReadOptions::default());
        let mut plan = ReadPlan::new(vec![stream]);
        plan.cost_report = true;
        let listings = ListingCache::default();
        let engine = Engine::new(plan, store, meter, &listings);
        let catalog = runtime
            .block_on(engine.discover(&mut Emitter::new(Box::new(std::io::sink()))))
            .unwrap();
        let configured: ConfiguredAirbyteCatalog = serde_json::from_value(json!({"streams": [{
            "stream": catalog.streams[0], "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}))
        .unwrap();
        let state = InputState::default();

        let screen = Screen::default();
        let cap = Captured::default();
        let mut out = Emitter::new(Box::new(cap.clone())).with_terminal(Terminal::new(Box::new(screen.clone()), 200));
        runtime.block_on(engine.read(&configured, &state, &mut out)).unwrap();
        let text = String::from_utf8(screen.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("\r\x1b[2Kpeople: 0/2 files, 0 records"), "{text:?}");
        assert!(text.contains("people: 2/2 files, 3 records, "), "{text:?}");
        assert!(text.contains(" elapsed, done\n"), "{text:?}");
        assert!(text.contains("INFO: COST {"), "{text:?}");
        let get = text.lines().find(|l| l.starts_with("GET requests")).unwrap();
        // Discovery's sample (one GET per object, same meter) and the read's.
        assert_eq!(
            get.split_whitespace().collect::<Vec<_>>(),
            ["GET", "requests", "4", "4"]
        );
        assert!(
            text.contains("files: 2 listed, 2 selected, 2 read, 0 deferred"),
            "{text:?}"
        );
        let records = cap.take(&mut out).iter().filter(|m| m["type"] == "RECORD").count();
        assert_eq!(records, 3);

        let screen = Screen::default();
        let mut out = Emitter::new(Box::new(cap.clone())).with_terminal(Terminal::new(Box::new(screen.clone()), 200));
        runtime
            .block_on(engine.estimate(&configured, &state, &mut out))
            .unwrap();
        let text = String::from_utf8(screen.0.lock().unwrap().clone()).unwrap();
        let header = text.lines().find(|l| l.starts_with("COST ")).unwrap();
        assert_eq!(
            header.split_whitespace().collect::<Vec<_>>(),
            ["COST", "estimate", "listing"]
        );
        assert!(!text.contains("elapsed"), "an estimate reads nothing: {text:?}");
    }
}
