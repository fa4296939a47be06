//! Reading: each configured stream's files, decoded in parallel, records in
//! file order, a STATE after completed files (paced once the history is
//! large); in incremental mode only new or changed files, and with a record
//! cursor (`cursor_field`) only records after the saved value.

use std::sync::Arc;

use lakeport_core::schema::json_schema_to_arrow;
use lakeport_core::source::cursor::{record_cursor_field, RecordCursor};
use lakeport_core::source::cursor::{FileCursor, StatePacer, DEFAULT_MAX_HISTORY};
use lakeport_core::source::scan::{scan_with_cursor, ScanConfig, ScanEvent, ScanFile};
use lakeport_core::source::steps::{self, find_stream, stream_finished, stream_started, StreamStates};
use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, InputState, SyncMode,
};

use crate::config::Config;
use crate::streams::{self, Files, StreamPlan};

/// Reads every stream of the catalog.
pub async fn read(
    config: &Config,
    files: &Files,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = files.plan(config).await?;
    // Every stream of the catalog is found before any is read.
    catalog.check_no_repeated_streams()?;
    let work = catalog
        .streams
        .iter()
        .map(|configured| find_stream(&plans, &configured.stream.name, |p| p.name.as_str()).map(|p| (configured, p)))
        .collect::<Result<Vec<_>, _>>()?;
    for (configured, plan) in work {
        let descriptor = configured.stream.descriptor();
        stream_started(out, &descriptor)?;
        let result = read_stream(config, files, configured, plan, state, out).await;
        stream_finished(out, &descriptor, result)?;
    }
    Ok(())
}

/// The record cursor of an incremental stream (catalog `cursor_field` when
/// not the file cursor, else the config's), checked against the catalog's
/// schema before anything is read.
fn record_cursor(
    config: &Config,
    configured: &ConfiguredAirbyteStream,
    cursor: &FileCursor,
    out: &mut Emitter,
) -> Result<Option<RecordCursor>, ConnectorError> {
    let Some(field) = record_cursor_field(configured.cursor_field.as_deref(), config.cursor_field.as_deref()) else {
        return Ok(None);
    };
    let stream = &configured.stream;
    steps::record_cursor(&stream.name, field, &stream.json_schema, &[], cursor, out).map(Some)
}

async fn read_stream(
    config: &Config,
    files: &Files,
    configured: &ConfiguredAirbyteStream,
    plan: &StreamPlan,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let descriptor = configured.stream.descriptor();
    let incremental = configured.sync_mode == SyncMode::Incremental;
    let (cursor, record_cursor) = if incremental {
        let cursor = steps::saved_cursor(out, state, &descriptor, DEFAULT_MAX_HISTORY)?;
        let record_cursor = record_cursor(config, configured, &cursor, out)?;
        (cursor, record_cursor)
    } else {
        (FileCursor::default(), None)
    };
    let (found, warnings) = files.files(config, plan).await?;
    for w in warnings {
        out.warn(w)?;
    }
    let found: Vec<_> = found
        .into_iter()
        .filter(|f| cursor.should_read(&f.url, f.last_modified))
        .collect();
    let mut states = StreamStates::new(descriptor.clone(), cursor, record_cursor.as_ref()).paced(StatePacer::default());
    let bytes = found.iter().map(|f| f.size).sum();
    if !states.start(out, bytes, found.len(), incremental)? {
        return Ok(());
    }
    let target = json_schema_to_arrow(&configured.stream.json_schema)
        .map(Arc::new)
        .map_err(ConnectorError::from)?;
    let (format, compression) = streams::decoding(config)?;
    let scan_files: Vec<ScanFile> = found
        .iter()
        .map(|f| ScanFile {
            url: f.url.clone(),
            last_modified: f.last_modified,
            size: f.size,
            extra_fields: vec![],
            open: f.opener(format, compression),
        })
        .collect();
    let scan_config = ScanConfig {
        workers: config.parallel_workers,
        read_options: config.format_options.to_read_options()?,
        target: Some(target),
        stream: descriptor.name.clone(),
        namespace: descriptor.namespace.clone(),
        emitted_at: lakeport_protocol::now_millis(),
    };
    let last_index = scan_files.len().saturating_sub(1);
    // The scan blocks this thread; stored objects are fetched on the runtime's other threads.
    let result = tokio::task::block_in_place(|| {
        scan_with_cursor(
            scan_files,
            &scan_config,
            record_cursor.as_ref(),
            |event| -> Result<(), ConnectorError> {
                match event {
                    ScanEvent::Records { bytes, count } => states.records_read(out, &bytes, count)?,
                    ScanEvent::Warnings(ws) => {
                        for w in ws {
                            out.warn(w)?;
                        }
                    }
                    ScanEvent::FileDone(done) => {
                        let last = done.index == last_index;
                        states.file_done(out, done, last)?;
                    }
                }
                Ok(())
            },
        )
    });
    states.end_scan(out, &result, record_cursor.as_ref())?;
    result.map_err(ConnectorError::from)
}
