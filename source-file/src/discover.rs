//! Discovery: each stream's schema, inferred from a bounded sample of its
//! newest files (read in parallel) and merged across them
//! ([`lakeport_core::source::sample`]).

use lakeport_core::source::catalog::{airbyte_stream, stream_json_schema};
use lakeport_core::source::cursor::{check_cursor_field, record_field};
use lakeport_core::source::sample::infer_merged_schema;
use lakeport_protocol::{AirbyteStream, ConnectorError, Emitter};

use crate::config::Config;
use crate::listing::{FileEntry, StreamPlan};
use crate::store::Files;

/// Discovers one stream.
pub async fn discover_stream(
    config: &Config,
    files: &Files,
    plan: &StreamPlan,
    out: &mut Emitter,
) -> Result<AirbyteStream, ConnectorError> {
    let (found, warnings) = files.files(config, plan).await?;
    for w in warnings {
        out.warn(w)?;
    }
    if found.is_empty() {
        return Err(ConnectorError::config(format!(
            "No readable file found for stream '{}' under '{}'. Check file_path and glob_pattern.",
            plan.name,
            files.url(&plan.root)
        )));
    }
    let opts = config.format_options.to_read_options()?;
    let decoding = config.decoding()?;
    let infer = |f: &FileEntry| {
        let reader = files.opener(&f.meta, &f.url, decoding)(&opts, None)?;
        Ok(reader.schema().as_ref().clone())
    };
    // Stored objects are fetched on the runtime while the sample's threads block.
    let schema = tokio::task::block_in_place(|| infer_merged_schema(&found, config.parallel_workers, infer, out))?;
    let json_schema = stream_json_schema(&schema);
    let mut stream = airbyte_stream(&plan.name, json_schema);
    if let Some(field) = record_field(config.cursor_field.as_deref()) {
        // The configured record cursor is the stream's cursor.
        check_cursor_field(&plan.name, &field, &stream.json_schema, &[])?;
        stream.default_cursor_field = Some(vec![field]);
    }
    Ok(stream)
}
