//! Reading: each configured stream's files, decoded in parallel, records in
//! file order, a STATE after every file.

use std::sync::Arc;

use lakeport_core::cursor::{FileCursor, StatePacer};
use lakeport_core::formats;
use lakeport_core::scan::{scan, ScanConfig, ScanError, ScanEvent, ScanFile};
use lakeport_core::schema::json_schema_to_arrow;
use lakeport_protocol::{
    AirbyteMessage, ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError, Emitter, EstimateTrace,
    EstimateType, InputState, StateMessage, StreamStatus, SyncMode, TraceMessage,
};

use crate::config::Config;
use crate::streams::{self, StreamPlan};

/// Reads every stream of the catalog.
pub fn read(
    config: &Config,
    catalog: &ConfiguredAirbyteCatalog,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let plans = streams::plan(config)?;
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
        match read_stream(config, configured, plan, state, out) {
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
    Ok(())
}

fn read_stream(
    config: &Config,
    configured: &ConfiguredAirbyteStream,
    plan: &StreamPlan,
    state: &InputState,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let descriptor = configured.stream.descriptor();
    let incremental = configured.sync_mode == SyncMode::Incremental;
    let mut cursor = if incremental {
        FileCursor::from_state(state.stream(&descriptor), lakeport_core::cursor::DEFAULT_MAX_HISTORY)
    } else {
        FileCursor::default()
    };
    let (files, warnings) = streams::files(config, plan)?;
    for w in warnings {
        out.warn(w)?;
    }
    let files: Vec<_> = files
        .into_iter()
        .filter(|f| cursor.should_read(&f.url(), f.last_modified))
        .collect();
    out.trace(TraceMessage::estimate(EstimateTrace {
        name: descriptor.name.clone(),
        estimate_type: EstimateType::Stream,
        namespace: descriptor.namespace.clone(),
        row_estimate: None,
        byte_estimate: Some(files.iter().map(|f| f.size).sum()),
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
    let target = json_schema_to_arrow(&configured.stream.json_schema)
        .map(Arc::new)
        .map_err(ConnectorError::from)?;
    let format = config.file_format()?;
    let compression = config.compression()?;
    let scan_files: Vec<ScanFile> = files
        .iter()
        .map(|f| {
            let path = f.path.clone();
            ScanFile {
                url: f.url(),
                last_modified: f.last_modified,
                size: f.size,
                extra_fields: vec![],
                open: Box::new(move |opts, target| formats::read_path(&path, format, compression, opts, target)),
            }
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
    let mut since_state = 0u64;
    let mut pacer = StatePacer::default();
    let last_index = scan_files.len().saturating_sub(1);
    let result = scan(scan_files, &scan_config, |event| -> Result<(), ConnectorError> {
        match event {
            ScanEvent::Records { bytes, count } => {
                since_state += count;
                out.record_lines(&bytes, count)?;
            }
            ScanEvent::Warnings(ws) => {
                for w in ws {
                    out.warn(w)?;
                }
            }
            ScanEvent::FileDone {
                index,
                url,
                last_modified,
                ..
            } => {
                cursor.mark_read(&url, last_modified);
                if pacer.due(cursor.len(), index == last_index) {
                    out.emit(&AirbyteMessage::State {
                        state: StateMessage::stream(descriptor.clone(), cursor.to_state(), since_state),
                    })?;
                    since_state = 0;
                }
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(()),
        Err(ScanError::File(e)) => Err(e.into()),
        Err(ScanError::Sink(e)) => Err(e),
    }
}
