//! Estimating: what a read would fetch and cost, priced without fetching
//! any object (a TRACE ESTIMATE per stream and the COST report).

use lakeport_protocol::{ConfiguredAirbyteCatalog, ConnectorError, Emitter, InputState, StreamDescriptor, SyncMode};
use serde_json::Value;

use super::cursor::FileCursor;
use super::engine::Engine;
use super::report::ReadTotals;
use super::select::{SelectRequest, ShardShare};
use super::steps;
use crate::cost::{check_cost_limit, RunMode};

impl Engine<'_> {
    /// Prices a read without fetching any object: lists (through the pruned
    /// plan) and selects each stream's objects as a read would, emits a TRACE
    /// ESTIMATE per stream and the COST report. Limits the read would hit are
    /// WARNs here, not errors.
    ///
    /// Without a catalog the price is that of a `read` without one, which
    /// discovers first: each stream whose schema is inferred has its schema
    /// sample read (one GET per sampled object; the read reuses discovery's
    /// listing).
    ///
    /// A sharded read's estimate is this shard's; a `SHARDS` LOG then prices
    /// every shard and the whole (see [`Engine::shard_report`]).
    pub async fn estimate(
        &self,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        let plans = &self.plan.streams;
        let mut totals = ReadTotals::default();
        // Without a catalog: every stream of the config, in full.
        let wanted: Vec<(StreamDescriptor, SyncMode, Option<&Value>)> = if catalog.streams.is_empty() {
            plans
                .iter()
                .map(|p| (StreamDescriptor::new(&p.name), SyncMode::FullRefresh, None))
                .collect()
        } else {
            catalog
                .streams
                .iter()
                .map(|c| (c.stream.descriptor(), c.sync_mode, Some(&c.stream.json_schema)))
                .collect()
        };
        let mut selections = Vec::new();
        let mut shares: Vec<ShardShare> = Vec::new();
        for (descriptor, sync_mode, json_schema) in wanted {
            let Some(plan) = plans.iter().find(|p| p.name == descriptor.name) else {
                continue;
            };
            let (cursor, mode) = if sync_mode == SyncMode::Incremental {
                (
                    plan.saved_cursor(state, &descriptor, self.plan.shard, out)?,
                    RunMode::Incremental,
                )
            } else {
                (FileCursor::default().with_shard(self.plan.shard), RunMode::FullRefresh)
            };
            let request = SelectRequest {
                stream: plan,
                cursor: &cursor,
                mode,
                json_schema,
                pricing_only: true,
            };
            let mut selected = self
                .select(&request, &mut 0, out)
                .await
                .map_err(|e| e.with_stream(descriptor.clone()))?;
            if catalog.streams.is_empty() && !plan.schemaless && plan.input_schema.is_none() {
                selected.usage = selected.usage + selected.schema_sample;
            }
            steps::estimate(out, &descriptor, selected.bytes)?;
            totals.add(&selected);
            shares.resize(selected.shares.len().max(shares.len()), ShardShare::default());
            for (sum, share) in shares.iter_mut().zip(&selected.shares) {
                sum.files += share.files;
                sum.bytes += share.bytes;
                sum.usage = sum.usage + share.usage;
            }
            selections.push(selected);
        }
        let estimate = self.preflight(&selections.iter().collect::<Vec<_>>());
        if let Err(e) = check_cost_limit(&estimate, self.plan.limits.cost_limit_usd) {
            out.warn(format!("A read would fail: {e}"))?;
        }
        self.emit_cost_report(out, &estimate, &totals, "listing")?;
        if let Some(shard) = self.plan.shard {
            out.info(self.shard_report(shard, &shares))?;
        }
        Ok(())
    }
}
