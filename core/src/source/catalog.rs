//! The Airbyte shape of a file-based stream, shared by source-file and
//! source-s3: its JSON Schema (the data's columns plus the two file fields)
//! and its catalog entry (full refresh and incremental on the file cursor).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use lakeport_protocol::{AirbyteStream, SyncMode};
use serde_json::Value;

use super::cursor::{FILE_URL_FIELD, LAST_MODIFIED_FIELD};
use crate::schema::arrow_to_json_schema;

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
        crate::schema::timestamp_utc(),
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
