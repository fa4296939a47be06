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

use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, InputState, SyncMode,
};
use tokio::runtime::Handle;

use super::cursor::{FileCursor, RecordCursor, StatePacer};
use super::engine::Engine;
use super::hive::hive_fields;
use super::object::prefetch::{MayFetch, Prefetch};
use super::object::ObjectAt;
use super::plan::StreamPlan;
use super::pruning::catalog_columns;
use super::report::{ReadProgress, ReadTotals};
use super::scan::{scan_with_cursor, ScanConfig, ScanEvent, ScanFile};
use super::select::{SelectRequest, Selected};
use super::steps::{self, find_stream, stream_finished, stream_started, StreamStates};
use crate::cost::{check_cost_limit, CostTracker, RunMode};

/// One stream of a read, selected and ready to read.
struct StreamWork<'a> {
    configured: &'a ConfiguredAirbyteStream,
    plan: &'a StreamPlan,
    cursor: FileCursor,
    record_cursor: Option<RecordCursor>,
    selected: Selected,
}

impl Engine<'_> {
    /// Reads every stream of the catalog. Every stream is listed and selected
    /// first, so the run is priced — and refused if over `cost_limit_usd` or the
    /// full-refresh limits — before its first GET.
    pub async fn read(
        &self,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        let limits = &self.plan.limits;
        let mut totals = ReadTotals::default();
        catalog.check_no_repeated_streams()?;
        let mut work = Vec::with_capacity(catalog.streams.len());
        for configured in &catalog.streams {
            let plan = find_stream(&self.plan.streams, &configured.stream.name, |p| p.name.as_str())?;
            let descriptor = configured.stream.descriptor();
            let incremental = configured.sync_mode == SyncMode::Incremental;
            let cursor = if incremental {
                plan.saved_cursor(state, &descriptor, self.plan.shard, out)?
            } else {
                FileCursor::default().with_shard(self.plan.shard)
            };
            let record_cursor = if incremental {
                self.record_cursor(plan, configured, &cursor, out)
                    .map_err(|e| e.with_stream(descriptor.clone()))?
            } else {
                None
            };
            let mode = if incremental {
                RunMode::Incremental
            } else {
                RunMode::FullRefresh
            };
            let mut listed = 0;
            let request = SelectRequest {
                stream: plan,
                cursor: &cursor,
                mode,
                json_schema: Some(&configured.stream.json_schema),
                pricing_only: false,
            };
            let selected = match self.select(&request, &mut listed, out).await {
                Ok(s) => s,
                Err(e) => {
                    // Refused (a limit): the report still counts what was listed.
                    totals.files_listed += listed;
                    let estimate = self.preflight(&[]);
                    self.log_cost_report(out, &estimate, &totals)?;
                    return Err(e.with_stream(descriptor));
                }
            };
            totals.add(&selected);
            work.push(StreamWork {
                configured,
                plan,
                cursor,
                record_cursor,
                selected,
            });
        }
        let estimate = self.preflight(&work.iter().map(|w| &w.selected).collect::<Vec<_>>());
        if let Err(e) = check_cost_limit(&estimate, limits.cost_limit_usd) {
            self.log_cost_report(out, &estimate, &totals)?;
            return Err(ConnectorError::config(e.to_string()));
        }
        let tracker = CostTracker::new(
            self.plan.pricing,
            limits.cost_limit_usd,
            Default::default(),
            estimate.usd,
        );
        for stream in work {
            let descriptor = stream.configured.stream.descriptor();
            stream_started(out, &descriptor)?;
            let result = self.read_stream(stream, &tracker, &mut totals, out).await;
            let reported = result.as_ref().is_err_and(|e| !e.is_broken_pipe());
            if let Err(e) = stream_finished(out, &descriptor, result) {
                if reported {
                    let _ = self.log_cost_report(out, &estimate, &totals);
                }
                return Err(e);
            }
        }
        self.log_cost_report(out, &estimate, &totals)?;
        Ok(())
    }

    /// Reads one stream of the catalog: its selected objects decoded in
    /// `parallel_workers` threads (small ones fetched ahead), records in object
    /// order, STATEs after completed objects, the metered cost checked after each.
    async fn read_stream(
        &self,
        stream: StreamWork<'_>,
        tracker: &CostTracker,
        totals: &mut ReadTotals,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        let StreamWork {
            configured,
            plan,
            cursor,
            record_cursor,
            selected,
        } = stream;
        let (store, meter) = (&self.store, &self.meter);
        let descriptor = configured.stream.descriptor();
        let incremental = configured.sync_mode == SyncMode::Incremental;
        let mut states =
            StreamStates::new(descriptor.clone(), cursor, record_cursor.as_ref()).paced(StatePacer::default());
        let files = selected.files;
        if !states.start(out, selected.bytes, files.len(), incremental)? {
            return Ok(());
        }
        // Partition values as typed fields (`partition_columns`), typed as the catalog says.
        let hive = plan.hive_string_fields;
        let columns = (self.plan.partitions.columns && !hive).then(|| {
            catalog_columns(
                &selected.scheme,
                &configured.stream.json_schema,
                files.iter().map(|f| f.key.as_str()),
            )
        });
        let scheme = selected.scheme;
        let target = plan.read_target(&configured.stream.json_schema)?;
        let decoding = plan.decoding();
        let handle = Handle::current();
        // Small objects are fetched ahead of the workers (when the plan says so),
        // while the cost limit allows.
        let may_fetch: MayFetch = {
            let (tracker, meter) = (tracker.clone(), meter.clone());
            Arc::new(move || tracker.check(meter.snapshot()).is_ok())
        };
        let ahead: &[_] = if self.plan.fetch_ahead { &files } else { &[] };
        let prefetch = Prefetch::start(&handle, store, ahead, &decoding, self.plan.workers, may_fetch);
        let scan_files: Vec<ScanFile> = files
            .into_iter()
            .enumerate()
            .map(|(index, meta)| {
                let (store, decoding, handle, prefetch) =
                    (store.clone(), decoding.clone(), handle.clone(), prefetch.clone());
                ScanFile {
                    url: self.plan.url(&meta.key),
                    last_modified: meta.last_modified,
                    size: meta.size,
                    extra_fields: if hive {
                        hive_fields(&meta.key)
                    } else {
                        columns
                            .as_ref()
                            .map(|c| c.record_fields(&scheme, &meta.key).into_iter().collect())
                            .unwrap_or_default()
                    },
                    open: Box::new(move |opts, target| {
                        let at = ObjectAt {
                            handle: &handle,
                            store: &store,
                            meta: &meta,
                        };
                        prefetch.open(index, at, &decoding, opts, target)
                    }),
                }
            })
            .collect();
        let scan_config = ScanConfig {
            workers: self.plan.workers,
            read_options: plan.read_options(),
            target,
            stream: descriptor.name.clone(),
            namespace: descriptor.namespace.clone(),
            emitted_at: lakeport_protocol::now_millis(),
        };
        let mut files_read = 0u64;
        let total_files = scan_files.len();
        let started = Instant::now();
        let mut last_progress = started;
        let bytes_at_start = meter.snapshot().bytes_received;
        let progress = ReadProgress::start(out, meter, &descriptor.name, total_files, selected.bytes);
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
                            progress.records(states.records());
                            if last_progress.elapsed() >= PROGRESS_EVERY {
                                last_progress = Instant::now();
                                let secs = started.elapsed().as_secs_f64().max(0.001);
                                let mb = (meter.snapshot().bytes_received - bytes_at_start) as f64 / 1e6;
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
                            progress.file_done(files_read);
                            states.file_done(out, done, files_read as usize == total_files)?;
                            // The estimate was wrong: stop after this file, its state saved.
                            tracker
                                .check(meter.snapshot())
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
        if result.is_ok() {
            progress.finish(states.records());
        }
        result.map_err(ConnectorError::from)
    }

    /// The record cursor of an incremental stream (catalog `cursor_field`, else
    /// the config's), checked against the catalog's schema before any GET, with
    /// the value saved for it in the state.
    fn record_cursor(
        &self,
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
        let partition_columns = self.plan.partitions.record_columns();
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
}

/// How often a long read logs its progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
