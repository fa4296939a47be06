//! Reading: each configured stream's files, decoded in parallel, records in
//! file order, a STATE after completed files (paced once the history is
//! large); in incremental mode only new or changed files, and with a record
//! cursor (`cursor_field`) only records after the saved value.

use std::sync::Arc;

use lakeport_core::schema::json_schema_to_arrow;
use lakeport_core::source::cursor::record_cursor_field;
use lakeport_core::source::cursor::{FileCursor, StatePacer, DEFAULT_MAX_HISTORY};
use lakeport_core::source::scan::{scan_with_cursor, ScanConfig, ScanEvent, ScanFile};
use lakeport_core::source::steps::{self, find_stream, stream_finished, stream_started, StreamStates};
use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, InputState, SyncMode,
};

use crate::config::Config;
use crate::listing::StreamPlan;
use crate::store::Files;

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
        // Catalog `cursor_field` when not the file cursor, else the config's;
        // checked against the catalog's schema before anything is read.
        let field = record_cursor_field(configured.cursor_field.as_deref(), config.cursor_field.as_deref());
        let (name, schema) = (&configured.stream.name, &configured.stream.json_schema);
        let record_cursor = field
            .map(|field| steps::record_cursor(name, field, schema, &[], &cursor, out))
            .transpose()?;
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
        .filter(|f| cursor.should_read(&f.url, f.meta.last_modified))
        .collect();
    let mut states = StreamStates::new(descriptor.clone(), cursor, record_cursor.as_ref()).paced(StatePacer::default());
    let bytes = found.iter().map(|f| f.meta.size).sum();
    if !states.start(out, bytes, found.len(), incremental)? {
        return Ok(());
    }
    let target = json_schema_to_arrow(&configured.stream.json_schema)
        .map(Arc::new)
        .map_err(ConnectorError::from)?;
    let decoding = config.decoding()?;
    let scan_files: Vec<ScanFile> = found
        .iter()
        .map(|f| ScanFile {
            url: f.url.clone(),
            last_modified: f.meta.last_modified,
            size: f.meta.size,
            extra_fields: vec![],
            open: files.opener(&f.meta, &f.url, decoding),
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
