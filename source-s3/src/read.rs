//! Reading: list → select (globs, start_date, incremental history) → fetch
//! and decode in `parallel_workers` threads → records in object order → a
//! STATE after every object → a COST report at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lakeport_core::cursor::{FileCursor, DEFAULT_MAX_HISTORY};
use lakeport_core::scan::{scan, ScanConfig, ScanError, ScanEvent, ScanFile};
use lakeport_core::storage::{MeterSnapshot, ObjectMeta, Storage};
use lakeport_protocol::{
    AirbyteMessage, ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, EstimateTrace,
    EstimateType, InputState, StateMessage, StreamDescriptor, StreamStatus, SyncMode, TraceMessage,
};
use serde_json::json;
use tokio::runtime::Handle;

use crate::config::SourceS3Config;
use crate::objects;
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
    /// Bytes of the selected objects.
    pub bytes_selected: u64,
}

/// Reads every stream of the catalog.
pub(crate) async fn read(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = streams::plan(config)?;
    let mut totals = ReadTotals::default();
    for configured in &catalog.streams {
        let name = &configured.stream.name;
        let plan = plans.iter().find(|p| &p.name == name).ok_or_else(|| {
            ConnectorError::config(format!(
                "The catalog names stream '{name}', which this config does not have (streams: {}). Run discover again.",
                plans.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let descriptor = configured.stream.descriptor();
        out.trace(TraceMessage::stream_status(descriptor.clone(), StreamStatus::Started))?;
        match read_stream(config, store, configured, plan, state, &mut totals, out).await {
            Ok(()) => out.trace(TraceMessage::stream_status(descriptor, StreamStatus::Complete))?,
            Err(e) => {
                if !e.is_broken_pipe() {
                    let _ = out.trace(TraceMessage::stream_status(
                        descriptor.clone(),
                        StreamStatus::Incomplete,
                    ));
                }
                return Err(e.with_stream(descriptor));
            }
        }
    }
    // Everything the process sent, discovery included.
    let used = store.meter().snapshot();
    out.info(cost_report(config, &used, &totals))?;
    Ok(())
}

async fn read_stream(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    configured: &ConfiguredAirbyteStream,
    plan: &StreamPlan,
    state: &InputState,
    totals: &mut ReadTotals,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let descriptor = configured.stream.descriptor();
    let incremental = configured.sync_mode == SyncMode::Incremental;
    let mut cursor = if incremental {
        FileCursor::from_state(state.stream(&descriptor), DEFAULT_MAX_HISTORY)
    } else {
        FileCursor::default()
    };
    let (files, listed) = select(config, store, plan, &cursor, out).await?;
    let bytes: u64 = files.iter().map(|f| f.size).sum();
    totals.files_listed += listed;
    totals.files_selected += files.len() as u64;
    totals.bytes_selected += bytes;
    out.trace(TraceMessage::estimate(EstimateTrace {
        name: descriptor.name.clone(),
        estimate_type: EstimateType::Stream,
        namespace: descriptor.namespace.clone(),
        row_estimate: None,
        byte_estimate: Some(bytes),
    }))?;
    if files.is_empty() {
        if incremental && !cursor.is_empty() {
            // Nothing new: repeat the state so the platform keeps it.
            out.emit(&AirbyteMessage::State {
                state: StateMessage::stream(descriptor, cursor.to_state(), 0),
            })?;
        }
        return Ok(());
    }
    let target = plan.read_target(&configured.stream.json_schema)?;
    let decoding = plan.decoding();
    let handle = Handle::current();
    let scan_files: Vec<ScanFile> = files
        .into_iter()
        .map(|meta| {
            let (store, decoding, handle) = (store.clone(), decoding.clone(), handle.clone());
            ScanFile {
                url: meta.key.clone(),
                last_modified: meta.last_modified,
                size: meta.size,
                extra_fields: vec![],
                open: Box::new(move |opts, target| objects::open(&handle, &store, &meta, &decoding, opts, target)),
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
    let mut since_state = 0u64;
    let mut files_read = 0u64;
    let total_files = scan_files.len();
    let mut records = 0u64;
    let started = Instant::now();
    let mut last_progress = started;
    let bytes_at_start = store.meter().snapshot().bytes_received;
    // The scan blocks this thread; let the runtime move its other tasks (the
    // downloads feeding the workers) elsewhere.
    let result = tokio::task::block_in_place(|| {
        scan(scan_files, &scan_config, |event| -> Result<(), ConnectorError> {
            match event {
                ScanEvent::Records { bytes, count } => {
                    since_state += count;
                    records += count;
                    out.record_lines(&bytes, count)?;
                    if last_progress.elapsed() >= PROGRESS_EVERY {
                        last_progress = Instant::now();
                        let secs = started.elapsed().as_secs_f64().max(0.001);
                        let mb = (store.meter().snapshot().bytes_received - bytes_at_start) as f64 / 1e6;
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
                ScanEvent::FileDone { url, last_modified, .. } => {
                    files_read += 1;
                    cursor.mark_read(&url, last_modified);
                    out.emit(&AirbyteMessage::State {
                        state: StateMessage::stream(descriptor.clone(), cursor.to_state(), since_state),
                    })?;
                    since_state = 0;
                }
            }
            Ok(())
        })
    });
    totals.files_read += files_read;
    match result {
        Ok(()) => Ok(()),
        Err(ScanError::File(e)) => Err(e.into()),
        Err(ScanError::Sink(e)) => Err(e),
    }
}

/// How often a long read logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The objects of a stream a read would fetch now: listed, filtered by globs,
/// format and `start_date`, minus those the cursor has seen; oldest first (so
/// the cursor only moves forward). Also returns how many were listed.
async fn select(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    plan: &StreamPlan,
    cursor: &FileCursor,
    out: &mut Emitter,
) -> Result<(Vec<ObjectMeta>, u64), ConnectorError> {
    let since = streams::start_date(config)?;
    let listing = streams::list(store, plan, since).await?;
    for w in &listing.warnings {
        out.warn(w)?;
    }
    let mut files: Vec<ObjectMeta> = listing
        .files
        .into_iter()
        .filter(|f| cursor.should_read(&f.key, f.last_modified))
        .collect();
    files.sort_by(|a, b| a.last_modified.cmp(&b.last_modified).then_with(|| a.key.cmp(&b.key)));
    Ok((files, listing.listed))
}

/// Prices a read without fetching any object: lists and selects each
/// stream's objects, emits a TRACE ESTIMATE per stream and the COST report.
pub(crate) async fn estimate(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = streams::plan(config)?;
    let mut totals = ReadTotals::default();
    // Without a catalog: every stream of the config, in full.
    let wanted: Vec<(StreamDescriptor, SyncMode)> = if catalog.streams.is_empty() {
        plans.iter().map(|p| (StreamDescriptor::new(&p.name), SyncMode::FullRefresh)).collect()
    } else {
        catalog.streams.iter().map(|c| (c.stream.descriptor(), c.sync_mode)).collect()
    };
    for (descriptor, sync_mode) in wanted {
        let Some(plan) = plans.iter().find(|p| p.name == descriptor.name) else {
            continue;
        };
        let cursor = if sync_mode == SyncMode::Incremental {
            FileCursor::from_state(state.stream(&descriptor), DEFAULT_MAX_HISTORY)
        } else {
            FileCursor::default()
        };
        let (files, listed) = select(config, store, plan, &cursor, out).await?;
        let bytes: u64 = files.iter().map(|f| f.size).sum();
        totals.files_listed += listed;
        totals.files_selected += files.len() as u64;
        totals.bytes_selected += bytes;
        out.trace(TraceMessage::estimate(EstimateTrace {
            name: descriptor.name.clone(),
            estimate_type: EstimateType::Stream,
            namespace: descriptor.namespace.clone(),
            row_estimate: None,
            byte_estimate: Some(bytes),
        }))?;
    }
    out.info(cost_report(config, &store.meter().snapshot(), &totals))?;
    Ok(())
}

/// Default S3 Standard prices (USD, us-east-1).
const GET_PER_1000: f64 = 0.0004;
const LIST_PER_1000: f64 = 0.005;
const PUT_PER_1000: f64 = 0.005;
const TRANSFER_PER_GB: f64 = 0.09;

/// The COST report (CONTRACT §6): `COST ` and one JSON object. The actual
/// figures come from the meter (requests really sent, retries included).
pub(crate) fn cost_report(config: &SourceS3Config, used: &MeterSnapshot, totals: &ReadTotals) -> String {
    let p = config.pricing.clone().unwrap_or_default();
    let get = p.get_per_1000.unwrap_or(GET_PER_1000);
    let list = p.list_per_1000.unwrap_or(LIST_PER_1000);
    let put = p.put_per_1000.unwrap_or(PUT_PER_1000);
    let transfer = p.transfer_per_gb.unwrap_or(TRANSFER_PER_GB);
    let gb = |b: u64| b as f64 / 1e9;
    let actual = used.tier2_requests() as f64 / 1000.0 * get
        + used.list_requests as f64 / 1000.0 * list
        + (used.tier1_requests() - used.list_requests) as f64 / 1000.0 * put
        + gb(used.bytes_received) * transfer;
    let estimated = used.list_requests as f64 / 1000.0 * list
        + totals.files_selected as f64 / 1000.0 * get
        + gb(totals.bytes_selected) * transfer;
    let reduction = if totals.files_listed == 0 {
        0.0
    } else {
        100.0 * (1.0 - totals.files_selected as f64 / totals.files_listed as f64)
    };
    let report = json!({
        "estimated_usd": round6(estimated),
        "actual_usd": round6(actual),
        "list_requests": used.list_requests,
        "get_requests": used.get_requests,
        "head_requests": used.head_requests,
        "retries": used.retries,
        "bytes_scanned": used.bytes_received,
        "files_listed": totals.files_listed,
        "files_selected": totals.files_selected,
        "files_read": totals.files_read,
        "partitions_total": 0,
        "partitions_selected": 0,
        "scan_reduction_pct": (reduction * 100.0).round() / 100.0,
        "sampling_rate": config.dev_sampling.unwrap_or(1.0),
    });
    format!("COST {report}")
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
