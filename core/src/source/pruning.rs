//! Partition pruning and the cost model of a stream's objects: the glue
//! between the read plan and [`crate::partition`] / [`crate::cost`].

use serde_json::{Map, Value};

use super::cursor::{FileCursor, FILE_URL_FIELD, LAST_MODIFIED_FIELD};
use super::plan::{ReadPlan, StreamPlan};
use crate::cost::FileModel;
use crate::formats::{Compression, FileFormat};
use crate::partition::{ColumnType, PartitionColumns, PartitionScheme, PlanRequest};

/// Parquet leaf columns assumed when no catalog tells them (`estimate` without one).
const DEFAULT_PARQUET_COLUMNS: usize = 8;

/// What to plan for a stream listed under `prefix`: `partition_keys`,
/// `partition_filter`, `start_date` as a date floor on date partitions (when
/// partitions are configured), and — in incremental mode — the keys already
/// synced (the history's URLs as keys, [`ReadPlan::key_of`]), so a
/// date-ordered layout is listed from the newest synced folder on.
pub fn plan_request(read: &ReadPlan, prefix: &str, synced: Option<&FileCursor>) -> PlanRequest {
    let (partitions, since) = (&read.partitions, read.start_date);
    let mut filter = partitions.filter.clone();
    if partitions.aware {
        filter = filter.with_since(since.map(|s| s.naive_utc()));
    }
    let synced_keys: Vec<String> = synced
        .map(|c| {
            c.to_state()
                .get("history")
                .and_then(Value::as_object)
                .map(|h| {
                    h.keys()
                        .filter_map(|url| read.key_of(url))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    PlanRequest {
        base: prefix.to_string(),
        partition_keys: partitions.keys.clone(),
        filter,
        resume_from_synced: !synced_keys.is_empty(),
        synced_keys,
    }
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
pub fn file_model(plan: &StreamPlan, key: &str, json_schema: Option<&Value>, partition: &[String]) -> FileModel {
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
        .options
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
pub fn catalog_columns<'a>(
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
pub fn add_partition_properties(json_schema: &mut Value, columns: &PartitionColumns) {
    if let Some(props) = json_schema.get_mut("properties").and_then(Value::as_object_mut) {
        let extra: Map<String, Value> = columns.json_schema_properties();
        for (k, v) in extra {
            props.entry(k).or_insert(v);
        }
    }
}
