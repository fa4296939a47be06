//! Discovery: each stream's schema, inferred from a bounded sample of its
//! newest files and merged across them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use lakeport_core::cursor::{FILE_URL_FIELD, LAST_MODIFIED_FIELD};
use lakeport_core::formats;
use lakeport_core::schema::{arrow_to_json_schema, merge};
use lakeport_protocol::{AirbyteStream, ConnectorError, Emitter, SyncMode};
use serde_json::Value;

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

/// The JSON Schema of a stream: the data's columns plus the two file fields.
pub fn stream_json_schema(data: &Schema) -> Value {
    let mut fields: Vec<Arc<Field>> = data
        .fields()
        .iter()
        .filter(|f| f.name() != FILE_URL_FIELD && f.name() != LAST_MODIFIED_FIELD)
        .cloned()
        .collect();
    fields.push(Arc::new(Field::new(FILE_URL_FIELD, DataType::Utf8, true)));
    fields.push(Arc::new(Field::new(
        LAST_MODIFIED_FIELD,
        lakeport_core::schema::timestamp_utc(),
        true,
    )));
    arrow_to_json_schema(&Schema::new(fields))
}

/// An Airbyte stream for a file-based stream with this JSON Schema.
pub fn airbyte_stream(name: &str, json_schema: Value) -> AirbyteStream {
    AirbyteStream {
        name: name.to_string(),
        json_schema,
        supported_sync_modes: vec![SyncMode::FullRefresh, SyncMode::Incremental],
        source_defined_cursor: Some(true),
        default_cursor_field: Some(vec![LAST_MODIFIED_FIELD.to_string()]),
        source_defined_primary_key: None,
        namespace: None,
        is_resumable: Some(true),
    }
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
