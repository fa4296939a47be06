//! Partition awareness: detect how keys are partitioned, filter partitions,
//! and list only the folders a filter leaves open.
//!
//! | module     | holds                                                                   |
//! |------------|-------------------------------------------------------------------------|
//! | [`value`]  | partition values typed as dates, integers or strings, and comparisons  |
//! | [`scheme`] | [`PartitionScheme::detect`]: hive `k=v/`, `YYYY/MM/DD[/HH]`, `dt=`, fixed folders; `partition_keys` |
//! | [`filter`] | [`PartitionFilter`]: equality, lists, ranges per key, and a date floor |
//! | [`plan`]   | [`plan_listing`]: the pruned listing plan over any [`Lister`]         |
//!
//! Everything here is free of I/O except through a [`Lister`], so the same
//! code serves S3 and local directories.
//!
//! # Example
//!
//! ```
//! use lakeport_core::partition::{PartitionFilter, PartitionScheme};
//! let keys = ["events/year=2024/month=01/a.parquet", "events/year=2023/month=12/b.parquet"];
//! let scheme = PartitionScheme::detect("events/", &keys);
//! assert_eq!(scheme.names(), ["year", "month"]);
//! let filter = PartitionFilter::from_json(serde_json::json!({"year": "2024"}).as_object().unwrap()).unwrap();
//! assert!(filter.accepts(&scheme.values(keys[0])));
//! assert!(!filter.accepts(&scheme.values(keys[1])));
//! ```

use serde_json::{Map, Value};

pub mod filter;
pub mod plan;
pub mod scheme;
pub mod value;

pub use filter::{Condition, PartitionFilter};
pub use plan::{
    build_optimized_prefix, estimate_scan_reduction, parse_date_time, parse_moment, plan_listing, ListCall, Lister,
    Listing, ListingPlan, PlanRequest, PlannedFile, StorageLister, Strategy,
};
pub use scheme::{DatePart, Level, LevelKind, PartValue, PartitionScheme};
pub use value::{compare_values, ColumnType, TypedValue};

/// A partition problem the user must fix: keys or filters the data does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Partition error: {0}")]
pub struct PartitionError(pub String);

impl PartitionError {
    /// A partition error saying `issue`.
    pub fn new(issue: impl Into<String>) -> Self {
        PartitionError(issue.into())
    }
}

impl From<PartitionError> for crate::Error {
    fn from(e: PartitionError) -> Self {
        crate::Error::Config(e.to_string())
    }
}

/// Partition values as typed record fields (`partition_columns: true`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionColumns {
    /// Column name and type, in the scheme's column order.
    pub columns: Vec<(String, ColumnType)>,
}

impl PartitionColumns {
    /// The columns of `scheme`, typed from the values the `keys` hold.
    pub fn infer<'a>(scheme: &PartitionScheme, keys: impl IntoIterator<Item = &'a str>) -> PartitionColumns {
        let names = scheme.columns();
        let mut values: Vec<Vec<String>> = vec![Vec::new(); names.len()];
        for key in keys {
            for v in scheme.values(key) {
                if let Some(i) = names.iter().position(|n| *n == v.name) {
                    values[i].push(v.raw);
                }
            }
        }
        let columns = names
            .into_iter()
            .zip(values)
            .map(|(name, vs)| {
                let ty = ColumnType::infer(vs.iter().map(String::as_str));
                (name, ty)
            })
            .collect();
        PartitionColumns { columns }
    }

    /// Whether there is no column.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The columns' JSON Schema properties.
    pub fn json_schema_properties(&self) -> Map<String, Value> {
        self.columns
            .iter()
            .map(|(name, ty)| (name.clone(), ty.json_schema()))
            .collect()
    }

    /// The typed values of `key`'s partitions (null where the key has none).
    pub fn record_fields(&self, scheme: &PartitionScheme, key: &str) -> Map<String, Value> {
        let values = scheme.value_map(key);
        self.columns
            .iter()
            .map(|(name, ty)| {
                let v = values.get(name).map(|raw| ty.to_json(raw)).unwrap_or(Value::Null);
                (name.clone(), v)
            })
            .collect()
    }

    /// Adds the partition fields of `key` to a record's `data` object
    /// (a field the record already has is left as it is).
    pub fn add_to_record(&self, scheme: &PartitionScheme, key: &str, data: &mut Map<String, Value>) {
        for (k, v) in self.record_fields(scheme, key) {
            data.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn partition_columns_are_typed() {
        let keys = [
            "t/year=2024/dt=2024-01-15/region=eu/a",
            "t/year=2023/dt=2023-12-31/region=us/b",
        ];
        let scheme = PartitionScheme::detect("t/", &keys);
        let cols = PartitionColumns::infer(&scheme, keys);
        assert_eq!(
            cols.columns,
            [
                ("year".to_string(), ColumnType::Integer),
                ("dt".to_string(), ColumnType::Date),
                ("region".to_string(), ColumnType::String)
            ]
        );
        let fields = cols.record_fields(&scheme, keys[0]);
        assert_eq!(
            Value::Object(fields),
            json!({"year": 2024, "dt": "2024-01-15", "region": "eu"})
        );
        let props = cols.json_schema_properties();
        assert_eq!(props["dt"]["format"], "date");
        let mut data = json!({"year": "kept"}).as_object().unwrap().clone();
        cols.add_to_record(&scheme, keys[1], &mut data);
        assert_eq!(
            Value::Object(data),
            json!({"year": "kept", "dt": "2023-12-31", "region": "us"})
        );
    }

    #[test]
    fn error_message_prefix() {
        let e: crate::Error = PartitionError::new("x").into();
        assert_eq!(e.to_string(), "Partition error: x");
        assert_eq!(e.failure_type(), lakeport_protocol::FailureType::ConfigError);
    }
}
