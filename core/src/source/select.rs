//! Selecting what a read of one stream fetches: the listing minus what the
//! cursor has seen, this worker's shard of it, in reading order, sampled and
//! cut to the limits, with the cost model of the selection.

use lakeport_protocol::{ConnectorError, Emitter};
use serde_json::Value;

use super::cursor::FileCursor;
use super::engine::Engine;
use super::listing::list;
use super::plan::StreamPlan;
use super::pruning::file_model;
use super::sample::schema_sample;
use super::shard::Shard;
use crate::cost::{estimate_read, select_files, Pricing, RunMode, Usage};
use crate::partition::PartitionScheme;
use crate::storage::ObjectMeta;

/// What a read of one stream fetches, and what its listing found.
#[derive(Debug)]
pub struct Selected {
    /// The objects to read, in reading order.
    pub files: Vec<ObjectMeta>,
    /// Objects left for the next run.
    pub deferred: u64,
    /// Objects listed.
    pub listed: u64,
    /// Bytes of `files`.
    pub bytes: u64,
    /// Bytes of the objects the partition filter kept (before sampling and limits).
    pub bytes_kept: u64,
    /// The partition scheme of the keys.
    pub scheme: PartitionScheme,
    /// Partitions in the data.
    pub partitions_total: u64,
    /// Partitions selected.
    pub partitions_selected: u64,
    /// The share of the data the partition filter pruned, in percent.
    pub scan_reduction_pct: f64,
    /// The requests and bytes reading `files` is expected to cost.
    pub usage: Usage,
    /// What discovery's schema sample of the listed files costs (a read
    /// without a catalog discovers first).
    pub schema_sample: Usage,
    /// A sharded read: what each shard of the stream reads (before limits
    /// and sampling), in shard order; empty when unsharded.
    pub shares: Vec<ShardShare>,
}

/// What one shard of a stream reads.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ShardShare {
    /// Objects.
    pub files: u64,
    /// Bytes of the objects.
    pub bytes: u64,
    /// The requests and bytes reading them is expected to cost.
    pub usage: Usage,
}

/// The LOG of a stream whose state history is full (as Airbyte warns).
fn history_full_note(plan: &StreamPlan, cursor: &FileCursor) -> String {
    match cursor.days_to_sync_if_history_is_full() {
        0 => format!(
            "{}: the state history is full ({} files); files older than it are taken as read \
             (days_to_sync_if_history_is_full is 0).",
            plan.name,
            cursor.len()
        ),
        days => format!(
            "{}: the state history is full ({} files); files older than it are read again when modified within \
             the last {days} day(s) (days_to_sync_if_history_is_full).",
            plan.name,
            cursor.len()
        ),
    }
}

/// What [`Engine::select`] selects: one stream, as a read (or an estimate) of it.
pub struct SelectRequest<'a> {
    /// The stream.
    pub stream: &'a StreamPlan,
    /// Its file cursor (empty for a full refresh).
    pub cursor: &'a FileCursor,
    /// Full refresh or incremental.
    pub mode: RunMode,
    /// The catalog's JSON Schema of the stream (the cost model's columns), if any.
    pub json_schema: Option<&'a Value>,
    /// Prices what a run may read (`estimate`): the full-refresh limits WARN
    /// instead of failing, and discovery's cached listing is not used.
    pub pricing_only: bool,
}

impl Engine<'_> {
    /// The objects of a stream a read would fetch now: listed through the
    /// pruned plan, filtered by globs, format and `start_date`, minus those the
    /// cursor has seen; oldest first (so the cursor only moves forward) — in key
    /// order for date-ordered layouts and when the plan says so (`key_order`), so deferred files are never behind the
    /// newest synced folder — then sampled (`dev_sampling`, `dev_max_files`) and
    /// cut to `max_files_per_run` / `max_data_size_gb`. `listed`: the objects
    /// listed, set even when the selection is refused.
    pub async fn select(
        &self,
        request: &SelectRequest<'_>,
        listed: &mut u64,
        out: &mut Emitter,
    ) -> Result<Selected, ConnectorError> {
        let SelectRequest {
            stream: plan,
            cursor,
            mode,
            json_schema,
            pricing_only,
        } = *request;
        if mode == RunMode::Incremental && cursor.is_history_full() {
            out.info(history_full_note(plan, cursor))?;
        }
        let synced = (mode == RunMode::Incremental && !cursor.is_empty()).then_some(cursor);
        // A read without a catalog: discovery listed the stream already.
        let cached = (!pricing_only && synced.is_none())
            .then(|| self.listings.take(&plan.name))
            .flatten();
        let listing = match cached {
            Some(listing) => listing,
            None => list(&self.store, &self.plan, plan, synced).await?,
        };
        *listed = listing.listed;
        for w in &listing.warnings {
            out.warn(w)?;
        }
        let mut files: Vec<ObjectMeta> = listing
            .files
            .into_iter()
            .filter(|f| cursor.should_read(&self.plan.url(&f.key), f.last_modified))
            .collect();
        if listing.date_ordered || self.plan.key_order {
            files.sort_by(|a, b| a.key.cmp(&b.key));
        } else {
            files.sort_by(|a, b| a.last_modified.cmp(&b.last_modified).then_with(|| a.key.cmp(&b.key)));
        }
        let bytes_kept: u64 = files.iter().map(|f| f.size).sum();
        let schema_sample = estimate_read(Usage::default(), schema_sample(&files), &Pricing::default()).usage;
        let partition_names = if self.plan.partitions.columns {
            listing.scheme.columns()
        } else {
            Vec::new()
        };
        let model = |f: &ObjectMeta| (f.size, file_model(plan, &f.key, json_schema, &partition_names));
        let mut shares = Vec::new();
        if let Some(shard) = self.plan.shard {
            let keys: Vec<(&str, u64)> = files.iter().map(|f| (f.key.as_str(), f.size)).collect();
            let assigned = Shard::assign(shard.count, &keys, mode == RunMode::FullRefresh);
            if pricing_only {
                shares = vec![ShardShare::default(); shard.count as usize];
                for (f, s) in files.iter().zip(&assigned) {
                    let share = &mut shares[*s as usize];
                    share.files += 1;
                    share.bytes += f.size;
                    share.usage = estimate_read(share.usage, [model(f)], &Pricing::default()).usage;
                }
            }
            let all = files.len();
            let how = if mode == RunMode::FullRefresh {
                // Shards that divide different listings may overlap: the fingerprint tells.
                format!("balanced by bytes; listing fingerprint {}", Shard::fingerprint(&keys))
            } else {
                "by a hash of the key".to_string()
            };
            files = files
                .into_iter()
                .zip(assigned)
                .filter_map(|(f, s)| (s == shard.index).then_some(f))
                .collect();
            out.info(format!(
                "{}: {shard} takes {} of the {all} file(s) to read ({how}).",
                plan.name,
                files.len()
            ))?;
        }
        let limits = &self.plan.limits;
        // `estimate` prices what a run may read, and says when a full refresh would be refused.
        let limit_mode = if pricing_only { RunMode::Incremental } else { mode };
        let selection = select_files(files, |f| f.key.as_str(), |f| f.size, limits, limit_mode)
            .map_err(|e| ConnectorError::config(e.to_string()))?;
        if pricing_only && mode == RunMode::FullRefresh && !selection.deferred.is_empty() && !limits.dev_mode() {
            out.warn(format!(
                "A full refresh read would fail before its first GET: {} file(s) are over `max_files_per_run` / \
             `max_data_size_gb`; priced here: the first {} (what an incremental sync reads now).",
                selection.deferred.len(),
                selection.files.len()
            ))?;
        }
        for w in &selection.warnings {
            out.warn(w)?;
        }
        let models = selection.files.iter().map(model);
        let usage = estimate_read(Usage::default(), models, &Pricing::default()).usage;
        Ok(Selected {
            bytes: selection.files.iter().map(|f| f.size).sum(),
            deferred: selection.deferred.len() as u64,
            files: selection.files,
            listed: listing.listed,
            bytes_kept,
            scheme: listing.scheme,
            partitions_total: listing.partitions_total,
            partitions_selected: listing.partitions_selected,
            scan_reduction_pct: listing.scan_reduction_pct,
            usage,
            schema_sample,
            shares,
        })
    }
}
