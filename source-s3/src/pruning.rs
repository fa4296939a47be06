//! Partition pruning, limits, sampling and pricing for source-s3: the glue
//! between the stream plans and `lakeport_core::partition` /
//! `lakeport_core::cost`.

use chrono::{DateTime, Utc};
use lakeport_core::cost::{FileModel, Limits, Pricing};
use lakeport_core::formats::{Compression, FileFormat};
use lakeport_core::partition::{ColumnType, PartitionColumns, PartitionFilter, PartitionScheme, PlanRequest};
use lakeport_core::source::cursor::{FileCursor, FILE_URL_FIELD, LAST_MODIFIED_FIELD};
use lakeport_protocol::ConnectorError;
use serde_json::{Map, Value};

use crate::config::SourceS3Config;
use crate::streams::StreamPlan;

/// Parquet leaf columns assumed when no catalog tells them (`estimate` without one).
const DEFAULT_PARQUET_COLUMNS: usize = 8;

/// Keys per LIST page (`list_page_size`, 1..=1000).
pub(crate) fn page_size(config: &SourceS3Config) -> usize {
    config
        .list_page_size
        .unwrap_or(lakeport_core::storage::MAX_LIST_PAGE)
        .clamp(1, lakeport_core::storage::MAX_LIST_PAGE)
}

/// Whether the config asks for partition awareness (`partition_keys` or `partition_filter`).
fn partitioned(config: &SourceS3Config) -> bool {
    config.partition_keys.as_ref().is_some_and(|k| !k.is_empty())
        || config.partition_filter.as_ref().is_some_and(|f| !f.is_empty())
}

/// What to plan for a stream listed under `prefix`: `partition_keys`,
/// `partition_filter`, `start_date` as a date floor on date partitions (when
/// partitions are configured), and — in incremental mode — the keys already
/// synced, so a date-ordered layout is listed from the newest synced folder on.
pub(crate) fn plan_request(
    config: &SourceS3Config,
    prefix: &str,
    since: Option<DateTime<Utc>>,
    synced: Option<&FileCursor>,
) -> Result<PlanRequest, ConnectorError> {
    let mut filter = match &config.partition_filter {
        Some(map) => PartitionFilter::from_json(map).map_err(|e| ConnectorError::config(e.to_string()))?,
        None => PartitionFilter::default(),
    };
    if partitioned(config) {
        filter = filter.with_since(since.map(|s| s.naive_utc()));
    }
    let synced_keys: Vec<String> = synced
        .map(|c| {
            c.to_state()
                .get("history")
                .and_then(Value::as_object)
                .map(|h| h.keys().cloned().collect())
                .unwrap_or_default()
        })
        .unwrap_or_default();
    Ok(PlanRequest {
        base: prefix.to_string(),
        partition_keys: config.partition_keys.clone().filter(|k| !k.is_empty()),
        filter,
        resume_from_synced: !synced_keys.is_empty(),
        synced_keys,
    })
}

/// The limits and sampling of the config.
pub(crate) fn limits(config: &SourceS3Config) -> Limits {
    Limits {
        cost_limit_usd: config.cost_limit_usd,
        max_files_per_run: config.max_files_per_run,
        max_data_size_gb: config.max_data_size_gb,
        dev_sampling: config.dev_sampling,
        dev_max_files: config.dev_max_files,
        sampling_seed: config.dev_sampling_seed.unwrap_or(0),
    }
}

/// The price table: S3 Standard us-east-1 with the config's `pricing` overrides.
pub(crate) fn pricing(config: &SourceS3Config) -> Pricing {
    let p = config.pricing.clone().unwrap_or_default();
    Pricing::with_overrides(p.get_per_1000, p.list_per_1000, p.put_per_1000, p.transfer_per_gb)
}

/// The data columns of a stream's JSON Schema (file fields and partition columns left out).
fn data_columns(json_schema: &Value, partition: &[String]) -> Option<usize> {
    let props = json_schema.get("properties")?.as_object()?;
    Some(
        props
            .iter()
            .filter(|(k, _)| k.as_str() != FILE_URL_FIELD && k.as_str() != LAST_MODIFIED_FIELD)
            .filter(|(k, _)| !partition.contains(k))
            .map(|(_, v)| leaves(v))
            .sum(),
    )
}

/// Parquet leaf columns of a JSON Schema property (a struct has one per leaf).
fn leaves(schema: &Value) -> usize {
    match schema.get("properties").and_then(Value::as_object) {
        Some(props) if !props.is_empty() => props.values().map(leaves).sum(),
        _ => 1,
    }
}

/// How reading `key` of `plan` costs: Parquet (not compressed as a whole)
/// through ranged reads of the projected columns, everything else one GET.
pub(crate) fn file_model(plan: &StreamPlan, key: &str, json_schema: Option<&Value>, partition: &[String]) -> FileModel {
    let format = plan.format.or_else(|| FileFormat::from_extension(key));
    let compressed = match plan.compression {
        Some(c) => c != Compression::None,
        None => Compression::from_extension(key).is_some(),
    };
    if format != Some(FileFormat::Parquet) || compressed {
        return FileModel::Whole;
    }
    let total = json_schema
        .and_then(|s| data_columns(s, partition))
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PARQUET_COLUMNS);
    let read = plan
        .format_options
        .parquet_columns
        .as_ref()
        .filter(|c| !c.is_empty())
        .map(|c| c.len().min(total))
        .unwrap_or(total);
    FileModel::Parquet {
        columns_read: read,
        columns_total: total,
    }
}

/// The partition columns with the types the catalog's JSON Schema gives them
/// (`partition_columns: true`); types inferred from `keys` where it has none.
pub(crate) fn catalog_columns<'a>(
    scheme: &PartitionScheme,
    json_schema: &Value,
    keys: impl IntoIterator<Item = &'a str>,
) -> PartitionColumns {
    let inferred = PartitionColumns::infer(scheme, keys);
    let props = json_schema.get("properties").and_then(Value::as_object);
    let columns = inferred
        .columns
        .into_iter()
        .map(|(name, ty)| {
            let declared = props.and_then(|p| p.get(&name)).map(|p| {
                let t = p.get("type").map(Value::to_string).unwrap_or_default();
                if t.contains("integer") {
                    ColumnType::Integer
                } else if p.get("format").and_then(Value::as_str) == Some("date") {
                    ColumnType::Date
                } else {
                    ColumnType::String
                }
            });
            (name, declared.unwrap_or(ty))
        })
        .collect();
    PartitionColumns { columns }
}

/// Adds the partition columns to a stream's JSON Schema properties.
pub(crate) fn add_partition_properties(json_schema: &mut Value, columns: &PartitionColumns) {
    if let Some(props) = json_schema.get_mut("properties").and_then(Value::as_object_mut) {
        let extra: Map<String, Value> = columns.json_schema_properties();
        for (k, v) in extra {
            props.entry(k).or_insert(v);
        }
    }
}
