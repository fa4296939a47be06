//! Discovery: each stream's schema, inferred from a bounded sample of its
//! newest files and merged across them.

use arrow::datatypes::Schema;
use lakeport_core::file_stream::{airbyte_stream, stream_json_schema};
use lakeport_core::formats;
use lakeport_core::schema::merge;
use lakeport_protocol::{AirbyteStream, ConnectorError, Emitter};

use crate::config::Config;
use crate::listing::FileEntry;
use crate::streams::{self, StreamPlan};

/// Files sampled per stream for its schema.
pub const SAMPLE_FILES: usize = 10;

/// Infers the merged schema of `files` (newest first, at most [`SAMPLE_FILES`]).
pub fn infer_schema(config: &Config, files: &[FileEntry], out: &mut Emitter) -> Result<Schema, ConnectorError> {
    let mut newest: Vec<&FileEntry> = files.iter().collect();
    newest.sort_by(|a, b| {
        b.last_modified
            .cmp(&a.last_modified)
            .then_with(|| a.relative.cmp(&b.relative))
    });
    let opts = config.format_options.to_read_options().map_err(ConnectorError::from)?;
    let format = config.file_format()?;
    let compression = config.compression()?;
    let mut merged: Option<(Schema, String)> = None;
    for f in newest.into_iter().take(SAMPLE_FILES) {
        let reader = formats::read_path(&f.path, format, compression, &opts, None)?;
        let schema = reader.schema();
        let name = f.path.display().to_string();
        merged = Some(match merged {
            None => (schema.as_ref().clone(), name),
            Some((acc, acc_name)) => {
                let (m, warnings) = merge(&acc, &acc_name, &schema, &name);
                for w in warnings {
                    out.warn(w)?;
                }
                (m, acc_name)
            }
        });
    }
    Ok(merged.map(|(s, _)| s).unwrap_or_else(Schema::empty))
}

/// Discovers one stream.
pub fn discover_stream(config: &Config, plan: &StreamPlan, out: &mut Emitter) -> Result<AirbyteStream, ConnectorError> {
    let (files, warnings) = streams::files(config, plan)?;
    for w in warnings {
        out.warn(w)?;
    }
    if files.is_empty() {
        return Err(ConnectorError::config(format!(
            "No readable file found for stream '{}' under '{}'. Check file_path and glob_pattern.",
            plan.name,
            plan.root.display()
        )));
    }
    let schema = infer_schema(config, &files, out)?;
    Ok(airbyte_stream(&plan.name, stream_json_schema(&schema)))
}
