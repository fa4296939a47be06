//! Reading: list through the pruned partition plan → select (globs,
//! start_date, incremental history, dev sampling, limits) → price the run and
//! stop before the first GET if it is over `cost_limit_usd` → fetch and decode
//! in `parallel_workers` threads (small objects fetched ahead of them) →
//! records in object order → STATEs after completed objects (after each while
//! the history is small, then at most once a second, always after the last
//! and when a read stops early; the metered cost checked after each object)
//! → a COST report at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lakeport_core::cost::{
    check_cost_limit, estimate_read, select_files, CostReport, CostTracker, Estimate, Limits, Pricing, RunMode, Usage,
};
use lakeport_core::partition::PartitionScheme;
use lakeport_core::source::cursor::RecordCursor;
use lakeport_core::source::cursor::{FileCursor, StatePacer, DEFAULT_MAX_HISTORY};
use lakeport_core::source::scan::{scan_with_cursor, ScanConfig, ScanEvent, ScanFile};
use lakeport_core::source::steps::{self, find_stream, stream_finished, stream_started, StreamStates};
use lakeport_core::storage::{ObjectMeta, Storage};
use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, InputState, StreamDescriptor, SyncMode,
};
use serde_json::Value;
use tokio::runtime::Handle;

use crate::config::SourceS3Config;
use crate::objects;
use crate::pruning;
use crate::streams::{self, StreamPlan};

/// What a read did, for the COST report.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ReadTotals {
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
    fn add(&mut self, s: &Selected) {
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

/// What a read of one stream fetches, and what its listing found.
#[derive(Debug)]
pub(crate) struct Selected {
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
}

/// The COST report (CONTRACT §6): `COST ` and one JSON object. The actual
/// figures come from the meter — everything the process sent, discovery
/// included, retries included.
pub(crate) fn cost_report(
    store: &Arc<dyn Storage>,
    limits: &Limits,
    pricing: &Pricing,
    estimate: &Estimate,
    totals: &ReadTotals,
) -> String {
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
    .with_actual(store.meter().snapshot(), pricing)
    .message()
}

/// The pre-flight estimate: what was sent so far (listings, discovery) plus
/// the planned reads.
fn preflight(store: &Arc<dyn Storage>, pricing: &Pricing, selections: &[&Selected]) -> Estimate {
    let mut estimate = estimate_read(Usage::from(store.meter().snapshot()), std::iter::empty(), pricing);
    for s in selections {
        estimate.usage = estimate.usage + s.usage;
        estimate.files += s.files.len() as u64;
        estimate.bytes += s.bytes;
    }
    estimate.usd = pricing.price(&estimate.usage);
    estimate
}

/// Reads every stream of the catalog. Every stream is listed and selected
/// first, so the run is priced — and refused if over `cost_limit_usd` or the
/// full-refresh limits — before its first GET.
pub(crate) async fn read(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    listings: &streams::ListingCache,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = streams::plan(config)?;
    let limits = pruning::limits(config);
    let pricing = pruning::pricing(config);
    let mut totals = ReadTotals::default();
    catalog.check_no_repeated_streams()?;
    let mut work = Vec::with_capacity(catalog.streams.len());
    for configured in &catalog.streams {
        let plan = find_stream(&plans, &configured.stream.name, |p| p.name.as_str())?;
        let descriptor = configured.stream.descriptor();
        let incremental = configured.sync_mode == SyncMode::Incremental;
        let cursor = if incremental {
            file_cursor(plan, state, &descriptor, out)?
        } else {
            FileCursor::default()
        };
        let record_cursor = if incremental {
            record_cursor(config, plan, configured, &cursor, out).map_err(|e| e.with_stream(descriptor.clone()))?
        } else {
            None
        };
        let mode = if incremental {
            RunMode::Incremental
        } else {
            RunMode::FullRefresh
        };
        let mut listed = 0;
        let selected = match select(
            config,
            (store, Some(listings)),
            plan,
            &cursor,
            mode,
            Some(&configured.stream.json_schema),
            (false, &mut listed),
            out,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                // Refused (a limit): the report still counts what was listed.
                totals.files_listed += listed;
                let estimate = preflight(store, &pricing, &[]);
                out.info(cost_report(store, &limits, &pricing, &estimate, &totals))?;
                return Err(e.with_stream(descriptor));
            }
        };
        totals.add(&selected);
        work.push((configured, plan, cursor, record_cursor, selected));
    }
    let estimate = preflight(store, &pricing, &work.iter().map(|w| &w.4).collect::<Vec<_>>());
    if let Err(e) = check_cost_limit(&estimate, limits.cost_limit_usd) {
        out.info(cost_report(store, &limits, &pricing, &estimate, &totals))?;
        return Err(ConnectorError::config(e.to_string()));
    }
    let tracker = CostTracker::new(pricing, limits.cost_limit_usd, Default::default(), estimate.usd);
    for (configured, plan, cursor, record_cursor, selected) in work {
        let descriptor = configured.stream.descriptor();
        stream_started(out, &descriptor)?;
        let result = read_stream(
            config,
            store,
            configured,
            plan,
            (cursor, record_cursor),
            selected,
            &tracker,
            &mut totals,
            out,
        )
        .await;
        let reported = result.as_ref().is_err_and(|e| !e.is_broken_pipe());
        if let Err(e) = stream_finished(out, &descriptor, result) {
            if reported {
                let _ = out.info(cost_report(store, &limits, &pricing, &estimate, &totals));
            }
            return Err(e);
        }
    }
    out.info(cost_report(store, &limits, &pricing, &estimate, &totals))?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn read_stream(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    configured: &ConfiguredAirbyteStream,
    plan: &StreamPlan,
    (cursor, record_cursor): (FileCursor, Option<RecordCursor>),
    selected: Selected,
    tracker: &CostTracker,
    totals: &mut ReadTotals,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let descriptor = configured.stream.descriptor();
    let incremental = configured.sync_mode == SyncMode::Incremental;
    let mut states = StreamStates::new(descriptor.clone(), cursor, record_cursor.as_ref()).paced(StatePacer::default());
    let files = selected.files;
    if !states.start(out, selected.bytes, files.len(), incremental)? {
        return Ok(());
    }
    // Partition values as typed fields (`partition_columns`), typed as the catalog says.
    let hive = plan.hive_string_fields;
    let columns = (config.partition_columns && !hive).then(|| {
        pruning::catalog_columns(
            &selected.scheme,
            &configured.stream.json_schema,
            files.iter().map(|f| f.key.as_str()),
        )
    });
    let scheme = selected.scheme;
    let target = plan.read_target(&configured.stream.json_schema)?;
    let decoding = plan.decoding();
    let handle = Handle::current();
    // Small objects are fetched ahead of the workers, while the cost limit allows.
    let may_fetch: objects::MayFetch = {
        let (tracker, store) = (tracker.clone(), store.clone());
        Arc::new(move || tracker.check(store.meter().snapshot()).is_ok())
    };
    let prefetch = objects::Prefetch::start(&handle, store, &files, &decoding, config.parallel_workers, may_fetch);
    let scan_files: Vec<ScanFile> = files
        .into_iter()
        .enumerate()
        .map(|(index, meta)| {
            let (store, decoding, handle, prefetch) =
                (store.clone(), decoding.clone(), handle.clone(), prefetch.clone());
            ScanFile {
                url: meta.key.clone(),
                last_modified: meta.last_modified,
                size: meta.size,
                extra_fields: if hive {
                    crate::hive::hive_fields(&meta.key)
                } else {
                    columns
                        .as_ref()
                        .map(|c| c.record_fields(&scheme, &meta.key).into_iter().collect())
                        .unwrap_or_default()
                },
                open: Box::new(move |opts, target| {
                    prefetch.open(index, &handle, &store, &meta, &decoding, opts, target)
                }),
            }
        })
        .collect();
    let scan_config = ScanConfig {
        workers: config.parallel_workers,
        read_options: plan.read_options()?,
        target,
        stream: descriptor.name.clone(),
        namespace: descriptor.namespace.clone(),
        emitted_at: lakeport_protocol::now_millis(),
    };
    let mut files_read = 0u64;
    let total_files = scan_files.len();
    let started = Instant::now();
    let mut last_progress = started;
    let bytes_at_start = store.meter().snapshot().bytes_received;
    // The scan blocks this thread; let the runtime move its other tasks (the
    // downloads feeding the workers) elsewhere.
    let result = tokio::task::block_in_place(|| {
        scan_with_cursor(
            scan_files,
            &scan_config,
            record_cursor.as_ref(),
            |event| -> Result<(), ConnectorError> {
                match event {
                    ScanEvent::Records { bytes, count } => {
                        states.records_read(out, &bytes, count)?;
                        if last_progress.elapsed() >= PROGRESS_EVERY {
                            last_progress = Instant::now();
                            let secs = started.elapsed().as_secs_f64().max(0.001);
                            let mb = (store.meter().snapshot().bytes_received - bytes_at_start) as f64 / 1e6;
                            let records = states.records();
                            out.info(format!(
                                "{}: {files_read}/{total_files} files, {records} records, {:.1} MB/s, {:.0} records/s",
                                descriptor.name,
                                mb / secs,
                                records as f64 / secs
                            ))?;
                        }
                    }
                    ScanEvent::Warnings(ws) => {
                        for w in ws {
                            out.warn(w)?;
                        }
                    }
                    ScanEvent::FileDone(done) => {
                        files_read += 1;
                        states.file_done(out, done, files_read as usize == total_files)?;
                        // The estimate was wrong: stop after this file, its state saved.
                        tracker
                            .check(store.meter().snapshot())
                            .map_err(|e| ConnectorError::config(e.to_string()))?;
                    }
                }
                Ok(())
            },
        )
    });
    // The scan is over (its files and their handles are gone): with this
    // last handle, no further GET is fetched ahead.
    drop(prefetch);
    totals.files_read += files_read;
    states.end_scan(out, &result, record_cursor.as_ref())?;
    result.map_err(ConnectorError::from)
}

/// The file cursor of an incremental stream, from its saved state.
fn file_cursor(
    plan: &StreamPlan,
    state: &InputState,
    descriptor: &StreamDescriptor,
    out: &mut Emitter,
) -> Result<FileCursor, ConnectorError> {
    Ok(steps::saved_cursor(out, state, descriptor, DEFAULT_MAX_HISTORY)?
        .with_days_to_sync_if_history_is_full(plan.days_to_sync_if_history_is_full))
}

/// The record cursor of an incremental stream (catalog `cursor_field`, else
/// the config's), checked against the catalog's schema before any GET, with
/// the value saved for it in the state.
fn record_cursor(
    config: &SourceS3Config,
    plan: &StreamPlan,
    configured: &ConfiguredAirbyteStream,
    cursor: &FileCursor,
    out: &mut Emitter,
) -> Result<Option<RecordCursor>, ConnectorError> {
    let Some(field) = plan.record_cursor_field(configured.cursor_field.as_deref()) else {
        return Ok(None);
    };
    if plan.schemaless {
        return Err(ConnectorError::config(format!(
            "Stream '{}': cursor_field '{field}' needs the stream's columns, but the stream is schemaless. \
             Set schemaless to false, or remove cursor_field.",
            plan.name
        )));
    }
    let partition_columns = if config.partition_columns {
        config.partition_keys.clone().unwrap_or_default()
    } else {
        Vec::new()
    };
    steps::record_cursor(
        &plan.name,
        field,
        &configured.stream.json_schema,
        &partition_columns,
        cursor,
        out,
    )
    .map(Some)
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

/// How often a long read logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The objects of a stream a read would fetch now: listed through the
/// pruned plan, filtered by globs, format and `start_date`, minus those the
/// cursor has seen; oldest first (so the cursor only moves forward) — in key
/// order for date-ordered layouts, so deferred files are never behind the
/// newest synced folder — then sampled (`dev_sampling`, `dev_max_files`) and
/// cut to `max_files_per_run` / `max_data_size_gb`.
#[allow(clippy::too_many_arguments)]
async fn select(
    config: &SourceS3Config,
    (store, listings): (&Arc<dyn Storage>, Option<&streams::ListingCache>),
    plan: &StreamPlan,
    cursor: &FileCursor,
    mode: RunMode,
    json_schema: Option<&Value>,
    (pricing_only, listed): (bool, &mut u64),
    out: &mut Emitter,
) -> Result<Selected, ConnectorError> {
    let since = streams::start_date(config)?;
    if mode == RunMode::Incremental && cursor.is_history_full() {
        out.info(history_full_note(plan, cursor))?;
    }
    let synced = (mode == RunMode::Incremental && !cursor.is_empty()).then_some(cursor);
    // A read without a catalog: discovery listed the stream already.
    let cached = listings.filter(|_| synced.is_none()).and_then(|c| c.take(&plan.name));
    let listing = match cached {
        Some(listing) => listing,
        None => streams::list(store, config, plan, since, synced).await?,
    };
    *listed = listing.listed;
    for w in &listing.warnings {
        out.warn(w)?;
    }
    let mut files: Vec<ObjectMeta> = listing
        .files
        .into_iter()
        .filter(|f| cursor.should_read(&f.key, f.last_modified))
        .collect();
    if listing.date_ordered {
        files.sort_by(|a, b| a.key.cmp(&b.key));
    } else {
        files.sort_by(|a, b| a.last_modified.cmp(&b.last_modified).then_with(|| a.key.cmp(&b.key)));
    }
    let bytes_kept: u64 = files.iter().map(|f| f.size).sum();
    let schema_sample = estimate_read(
        Usage::default(),
        crate::discover::schema_sample(&files),
        &Pricing::default(),
    )
    .usage;
    let limits = pruning::limits(config);
    // `estimate` prices what a run may read, and says when a full refresh would be refused.
    let limit_mode = if pricing_only { RunMode::Incremental } else { mode };
    let selection = select_files(files, |f| f.key.as_str(), |f| f.size, &limits, limit_mode)
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
    let partition_names = if config.partition_columns {
        listing.scheme.columns()
    } else {
        Vec::new()
    };
    let models = selection
        .files
        .iter()
        .map(|f| (f.size, pruning::file_model(plan, &f.key, json_schema, &partition_names)));
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
    })
}

/// Prices a read without fetching any object: lists (through the pruned
/// plan) and selects each stream's objects as a read would, emits a TRACE
/// ESTIMATE per stream and the COST report. Limits the read would hit are
/// WARNs here, not errors.
///
/// Without a catalog the price is that of a `read` without one, which
/// discovers first: each stream whose schema is inferred has its schema
/// sample read (one GET per sampled object; the read reuses discovery's
/// listing).
pub(crate) async fn estimate(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = streams::plan(config)?;
    let limits = pruning::limits(config);
    let pricing = pruning::pricing(config);
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
    for (descriptor, sync_mode, json_schema) in wanted {
        let Some(plan) = plans.iter().find(|p| p.name == descriptor.name) else {
            continue;
        };
        let (cursor, mode) = if sync_mode == SyncMode::Incremental {
            (file_cursor(plan, state, &descriptor, out)?, RunMode::Incremental)
        } else {
            (FileCursor::default(), RunMode::FullRefresh)
        };
        let mut selected = select(
            config,
            (store, None),
            plan,
            &cursor,
            mode,
            json_schema,
            (true, &mut 0),
            out,
        )
        .await
        .map_err(|e| e.with_stream(descriptor.clone()))?;
        if catalog.streams.is_empty() && !plan.schemaless && plan.input_schema.is_none() {
            selected.usage = selected.usage + selected.schema_sample;
        }
        steps::estimate(out, &descriptor, selected.bytes)?;
        totals.add(&selected);
        selections.push(selected);
    }
    let estimate = preflight(store, &pricing, &selections.iter().collect::<Vec<_>>());
    if let Err(e) = check_cost_limit(&estimate, limits.cost_limit_usd) {
        out.warn(format!("A read would fail: {e}"))?;
    }
    out.info(cost_report(store, &limits, &pricing, &estimate, &totals))?;
    Ok(())
}
