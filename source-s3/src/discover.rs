//! Discovery: each stream's schema, inferred from a bounded sample of its
//! newest objects (read in parallel) and merged across them.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema};
use lakeport_core::cost::{check_cost_limit, estimate_read, FileModel, Usage};
use lakeport_core::formats::FileFormat;
use lakeport_core::partition::PartitionColumns;
use lakeport_core::schema::json_schema_to_arrow;
use lakeport_core::source::catalog::{airbyte_stream, stream_json_schema};
use lakeport_core::source::cursor::check_cursor_field;
use lakeport_core::source::sample::{infer_merged_schema, newest, SAMPLE_FILES};
use lakeport_core::storage::{ObjectMeta, Storage};
use lakeport_protocol::{AirbyteCatalog, ConnectorError, Emitter};
use serde_json::Value;
use tokio::runtime::Handle;

use crate::config::SourceS3Config;
use crate::objects::{self, Decoding};
use crate::streams::{self, StreamPlan};

/// Infers the merged schema of the newest [`SAMPLE_FILES`] of `files`,
/// reading `workers` objects at once.
pub(crate) fn infer_schema(
    store: &Arc<dyn Storage>,
    plan: &StreamPlan,
    files: &[ObjectMeta],
    workers: usize,
    out: &mut Emitter,
) -> Result<Schema, ConnectorError> {
    let opts = plan.format_options.to_read_options()?;
    let decoding = Decoding {
        format: plan.format,
        compression: plan.compression,
        schemaless: false,
        wait_for_discover: false,
    };
    let strings_only = !plan.csv_infer_types;
    let handle = Handle::current();
    let infer = |meta: &ObjectMeta| {
        let reader = objects::open(&handle, store, meta, &decoding, &opts, None)?;
        let mut schema = reader.schema().as_ref().clone();
        if strings_only && decoding.format_of(&meta.key)? == FileFormat::Csv {
            schema = all_strings(&schema);
        }
        Ok(schema)
    };
    // The sample is read on threads that block; let the runtime move its
    // other tasks (the downloads feeding them) elsewhere.
    tokio::task::block_in_place(|| infer_merged_schema(files, workers, infer, out))
}

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
pub(crate) fn schemaless_json_schema() -> Value {
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
pub(crate) fn input_json_schema(input: &Value) -> Result<Value, ConnectorError> {
    let schema = json_schema_to_arrow(input).map_err(|e| {
        ConnectorError::config(format!(
            "input_schema: {e}. Write a JSON Schema object or a mapping like {{\"id\": \"integer\"}}."
        ))
    })?;
    Ok(stream_json_schema(&schema))
}

/// Fails before the first GET when sampling `files` for their schema would
/// take the operation over `cost_limit_usd` (one GET per sampled object),
/// with the COST report of what was sent (a `read` without a catalog
/// discovers first: it ends with its COST report either way).
fn check_sample_cost(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    files: &[ObjectMeta],
    listed: u64,
    out: &mut Emitter,
) -> Result<(), ConnectorError> {
    let sample = schema_sample(files);
    let pricing = crate::pruning::pricing(config);
    let estimate = estimate_read(Usage::from(store.meter().snapshot()), sample, &pricing);
    check_cost_limit(&estimate, config.cost_limit_usd).map_err(|e| {
        let totals = crate::read::ReadTotals {
            files_listed: listed,
            ..Default::default()
        };
        let limits = crate::pruning::limits(config);
        let _ = out.info(crate::read::cost_report(store, &limits, &pricing, &estimate, &totals));
        ConnectorError::config(e.to_string())
    })
}

/// The sizes and models of the reads that infer the schema of `files`: one
/// GET of at most [`FOOTER_BYTES`] for each of the newest [`SAMPLE_FILES`].
pub(crate) fn schema_sample(files: &[ObjectMeta]) -> impl Iterator<Item = (u64, FileModel)> + '_ {
    newest(files, SAMPLE_FILES)
        .into_iter()
        .map(|f| (f.size.min(FOOTER_BYTES), FileModel::Whole))
}

/// Bytes a schema sample reads at most per object (a Parquet footer, a text file's first rows).
const FOOTER_BYTES: u64 = 64 * 1024;

/// Discovers every stream of the config.
pub(crate) async fn discover(
    config: &SourceS3Config,
    store: &Arc<dyn Storage>,
    listings: &streams::ListingCache,
    out: &mut Emitter,
) -> Result<AirbyteCatalog, ConnectorError> {
    let since = streams::start_date(config)?;
    let mut result = Vec::new();
    for plan in streams::plan(config)? {
        let listing = streams::list(store, config, &plan, since, None).await?;
        for w in &listing.warnings {
            out.warn(w)?;
        }
        listings.put(&plan.name, &listing);
        if listing.files.is_empty() {
            return Err(ConnectorError::config(format!(
                "No object to read for stream '{}' under {}/{}{}{} ({} listed). Check `path_prefix`, `globs`, `file_format` and `start_date`.",
                plan.name,
                store,
                plan.prefix,
                if plan.patterns.is_empty() { "" } else { " matching " },
                plan.patterns.join(", "),
                listing.listed
            )));
        }
        let mut json_schema = if plan.schemaless {
            schemaless_json_schema()
        } else if let Some(input) = &plan.input_schema {
            input_json_schema(input)?
        } else {
            check_sample_cost(config, store, &listing.files, listing.listed, out)?;
            let schema = infer_schema(store, &plan, &listing.files, config.parallel_workers, out)?;
            stream_json_schema(&schema)
        };
        if let Some(field) = &plan.cursor_field {
            check_cursor_field(&plan.name, field, &json_schema, &[])?;
        }
        if plan.hive_string_fields {
            crate::hive::add_hive_properties(&mut json_schema, listing.files.iter().map(|f| f.key.as_str()));
        } else if config.partition_columns {
            let columns = PartitionColumns::infer(&listing.scheme, listing.files.iter().map(|f| f.key.as_str()));
            crate::pruning::add_partition_properties(&mut json_schema, &columns);
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
