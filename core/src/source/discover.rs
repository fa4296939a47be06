//! Discovery: each stream's schema, inferred from a bounded sample of its
//! newest objects (read in parallel) and merged across them — or given
//! (`input_schema`), or one `data` object (`schemaless`) — plus the partition
//! or hive fields of its keys.

use arrow::datatypes::{DataType, Field, Schema};
use lakeport_protocol::{AirbyteCatalog, ConnectorError, Emitter};
use serde_json::Value;
use tokio::runtime::Handle;

use super::catalog::{airbyte_stream, stream_json_schema};
use super::cursor::check_cursor_field;
use super::engine::Engine;
use super::hive::add_hive_properties;
use super::listing::list;
use super::object::{open, Decoding, ObjectAt};
use super::plan::StreamPlan;
use super::pruning::add_partition_properties;
use super::report::ReadTotals;
use super::sample::{infer_merged_schema, schema_sample};
use crate::cost::{check_cost_limit, estimate_read, Usage};
use crate::formats::FileFormat;
use crate::partition::PartitionColumns;
use crate::schema::json_schema_to_arrow;
use crate::storage::ObjectMeta;

/// `schema` with every column a string (`csv_infer_types: false`).
fn all_strings(schema: &Schema) -> Schema {
    Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), DataType::Utf8, true))
            .collect::<Vec<_>>(),
    )
}

/// The JSON Schema of a schemaless stream: one `data` object plus the two file fields.
pub fn schemaless_json_schema() -> Value {
    let mut schema = stream_json_schema(&Schema::empty());
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        let mut with_data = serde_json::Map::new();
        with_data.insert("data".into(), serde_json::json!({"type": "object"}));
        with_data.extend(std::mem::take(props));
        *props = with_data;
    }
    schema
}

/// The JSON Schema of a stream whose schema is given by `input_schema`
/// (a JSON Schema object), normalised, plus the two file fields.
pub fn input_json_schema(input: &Value) -> Result<Value, ConnectorError> {
    let schema = json_schema_to_arrow(input).map_err(|e| {
        ConnectorError::config(format!(
            "input_schema: {e}. Write a JSON Schema object or a mapping like {{\"id\": \"integer\"}}."
        ))
    })?;
    Ok(stream_json_schema(&schema))
}

impl Engine<'_> {
    /// Infers the merged schema of the newest [`SAMPLE_FILES`] of `files`,
    /// reading `workers` objects at once.
    fn infer_schema(
        &self,
        plan: &StreamPlan,
        files: &[ObjectMeta],
        out: &mut Emitter,
    ) -> Result<Schema, ConnectorError> {
        let opts = &plan.options;
        let decoding = Decoding {
            format: plan.format,
            compression: plan.compression,
            schemaless: false,
            wait_for_discover: false,
        };
        let strings_only = !plan.csv_infer_types;
        let handle = Handle::current();
        let infer = |meta: &ObjectMeta| {
            let at = ObjectAt {
                handle: &handle,
                store: &self.store,
                meta,
            };
            let reader = open(at, &decoding, opts, None)?;
            let mut schema = reader.schema().as_ref().clone();
            if strings_only && decoding.format_of(&meta.key)? == FileFormat::Csv {
                schema = all_strings(&schema);
            }
            Ok(schema)
        };
        // The sample is read on threads that block; let the runtime move its
        // other tasks (the downloads feeding them) elsewhere.
        tokio::task::block_in_place(|| infer_merged_schema(files, self.plan.workers, infer, out))
    }

    /// Fails before the first GET when sampling `files` for their schema would
    /// take the operation over `cost_limit_usd` (one GET per sampled object),
    /// with the COST report of what was sent (a `read` without a catalog
    /// discovers first: it ends with its COST report either way).
    fn check_sample_cost(&self, files: &[ObjectMeta], listed: u64, out: &mut Emitter) -> Result<(), ConnectorError> {
        let sample = schema_sample(files);
        let estimate = estimate_read(Usage::from(self.meter.snapshot()), sample, &self.plan.pricing);
        check_cost_limit(&estimate, self.plan.limits.cost_limit_usd).map_err(|e| {
            let totals = ReadTotals {
                files_listed: listed,
                ..Default::default()
            };
            let _ = self.log_cost_report(out, &estimate, &totals);
            ConnectorError::config(e.to_string())
        })
    }

    /// Discovers every stream of the config.
    pub async fn discover(&self, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        let mut result = Vec::new();
        for plan in &self.plan.streams {
            let listing = list(&self.store, &self.plan, plan, None).await?;
            for w in &listing.warnings {
                out.warn(w)?;
            }
            self.listings.put(&plan.name, &listing);
            if listing.files.is_empty() {
                return Err(ConnectorError::config(format!(
                    "No object to read for stream '{}' under {}{}{} ({} listed). Check {}.",
                    plan.name,
                    self.location(&plan.prefix),
                    if plan.patterns.is_empty() { "" } else { " matching " },
                    plan.patterns.join(", "),
                    listing.listed,
                    self.plan.names.hint()
                )));
            }
            let mut json_schema = if plan.schemaless {
                schemaless_json_schema()
            } else if let Some(input) = &plan.input_schema {
                input_json_schema(input)?
            } else {
                self.check_sample_cost(&listing.files, listing.listed, out)?;
                let schema = self.infer_schema(plan, &listing.files, out)?;
                stream_json_schema(&schema)
            };
            if let Some(field) = &plan.cursor_field {
                check_cursor_field(&plan.name, field, &json_schema, &[])?;
            }
            if plan.hive_string_fields {
                add_hive_properties(&mut json_schema, listing.files.iter().map(|f| f.key.as_str()));
            } else if self.plan.partitions.columns {
                let columns = PartitionColumns::infer(&listing.scheme, listing.files.iter().map(|f| f.key.as_str()));
                add_partition_properties(&mut json_schema, &columns);
            }
            let mut stream = airbyte_stream(&plan.name, json_schema);
            if let Some(field) = &plan.cursor_field {
                // The configured record cursor is the stream's cursor.
                stream.default_cursor_field = Some(vec![field.clone()]);
            }
            result.push(stream);
        }
        Ok(AirbyteCatalog { streams: result })
    }
}
