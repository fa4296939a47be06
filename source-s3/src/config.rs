//! The native config of source-s3 (CONTRACT §4), the mapping of the seed
//! documents' legacy key names onto it, and the config validated into the
//! engine's read plan ([`SourceS3Config::read_plan`]).

use lakeport_core::config::{to_native_source_s3, FormatOptions};
use lakeport_core::cost::{Limits, Pricing as PriceTable};
use lakeport_core::formats::{Compression, FileFormat};
use lakeport_core::source::cursor::{record_field, DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL};
use lakeport_core::source::parse::{
    glob_set, key_regex, listing_prefix, parse_compression, parse_format, parse_input_schema, parse_start_date,
};
use lakeport_core::source::plan::{list_page_size, PartitionPlan, ReadPlan, StreamPlan, ValidationPolicy};
use lakeport_core::source::shard::Shard;
use lakeport_core::storage::S3Connection;
use lakeport_protocol::{ConnectorError, Emitter, Flavour, MigratedConfig};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Removes keys whose value is null or an empty string, so optional keys
/// left blank in a UI mean "unset".
pub(crate) fn drop_blank(map: &mut Map<String, Value>) {
    map.retain(|_, v| !(v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty())));
}

fn default_file_format() -> String {
    "csv".into()
}
fn default_cost_limit() -> f64 {
    100.0
}
fn default_max_files() -> u64 {
    10_000
}
fn default_max_gb() -> f64 {
    1000.0
}
fn default_workers() -> usize {
    4
}
/// Price overrides (USD).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Pricing {
    /// Per 1,000 GET/HEAD requests.
    pub get_per_1000: Option<f64>,
    /// Per 1,000 LIST requests.
    pub list_per_1000: Option<f64>,
    /// Per 1,000 PUT/POST requests.
    pub put_per_1000: Option<f64>,
    /// Per GB transferred.
    pub transfer_per_gb: Option<f64>,
}

/// What a stream's own keys may override of the top level: which objects it
/// selects, how it types and checks their records, and its incremental
/// cursor. Set at the top level, in a `streams[]` item, or both (the item
/// wins; see [`StreamOptions::or`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct StreamOptions {
    /// A regular expression the object keys must match (anywhere in the key),
    /// besides `globs` and the prefix.
    #[serde(default)]
    pub key_pattern: Option<String>,
    /// `false`: every CSV column is a string (default: types inferred).
    #[serde(default)]
    pub csv_infer_types: Option<bool>,
    /// `true`: one `data` object per record, schema not inferred.
    #[serde(default)]
    pub schemaless: Option<bool>,
    /// A schema used instead of inference: a JSON string holding a JSON Schema
    /// object or a `{"column": "type"}` mapping. Not inherited: a schema
    /// describes one stream.
    #[serde(default)]
    pub input_schema: Option<String>,
    /// `emit` (default), `skip` or `wait`: what to do with records that do not
    /// fit the schema.
    #[serde(default)]
    pub validation_policy: Option<String>,
    /// A record field used as the incremental cursor: records whose value is
    /// at or before the saved one are skipped (default: the file cursor,
    /// `_ab_source_file_last_modified`).
    #[serde(default)]
    pub cursor_field: Option<String>,
    /// Once the state's file history is full (10,000 files), files older than
    /// it are still read when modified within this many days (Airbyte's
    /// `days_to_sync_if_history_is_full`; default 3; 0: never).
    #[serde(default)]
    pub days_to_sync_if_history_is_full: Option<u32>,
    /// Parquet streams: every `name=value` folder of an object's key becomes
    /// a string field `name` in each record and in the discovered schema, as
    /// Airbyte's source-s3 does (set when an Airbyte config is imported;
    /// native configs use the typed `partition_columns`).
    #[serde(default)]
    pub hive_string_fields: Option<bool>,
}

impl StreamOptions {
    /// These options, with each one unset taken from `top` (except
    /// `input_schema`, which belongs to one stream).
    pub fn or(&self, top: &StreamOptions) -> StreamOptions {
        StreamOptions {
            key_pattern: self.key_pattern.clone().or_else(|| top.key_pattern.clone()),
            csv_infer_types: self.csv_infer_types.or(top.csv_infer_types),
            schemaless: self.schemaless.or(top.schemaless),
            input_schema: self.input_schema.clone(),
            validation_policy: self.validation_policy.clone().or_else(|| top.validation_policy.clone()),
            cursor_field: self.cursor_field.clone().or_else(|| top.cursor_field.clone()),
            days_to_sync_if_history_is_full: self
                .days_to_sync_if_history_is_full
                .or(top.days_to_sync_if_history_is_full),
            hive_string_fields: self.hive_string_fields.or(top.hive_string_fields),
        }
    }
}

/// One stream of a multi-stream config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StreamConfig {
    /// Stream name.
    pub name: String,
    /// Key prefix.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Glob patterns.
    #[serde(default)]
    pub globs: Option<Vec<String>>,
    /// File format (default: the top-level one).
    #[serde(default)]
    pub file_format: Option<String>,
    /// Compression (default: detected).
    #[serde(default)]
    pub compression: Option<String>,
    /// How the stream's objects are selected, typed and checked (default:
    /// the top-level options).
    #[serde(flatten)]
    pub options: StreamOptions,
    /// The stream's format options (top-level ones copied in by [`migrate`]
    /// where the stream sets none).
    #[serde(flatten)]
    pub format_options: FormatOptions,
}

/// source-s3's native config.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SourceS3Config {
    /// Bucket, region, credentials, endpoint.
    #[serde(flatten)]
    pub connection: S3Connection,
    /// Key prefix of the files.
    #[serde(default)]
    pub path_prefix: String,
    /// Glob patterns.
    #[serde(default)]
    pub globs: Option<Vec<String>>,
    /// File format.
    #[serde(default = "default_file_format")]
    pub file_format: String,
    /// Compression (default: detected).
    #[serde(default)]
    pub compression: Option<String>,
    /// Stream name.
    #[serde(default)]
    pub stream_name: Option<String>,
    /// Several streams.
    #[serde(default)]
    pub streams: Option<Vec<StreamConfig>>,
    /// Cost limit of a run.
    #[serde(default = "default_cost_limit")]
    pub cost_limit_usd: f64,
    /// Most files per run.
    #[serde(default = "default_max_files")]
    pub max_files_per_run: u64,
    /// Most GB scanned per run.
    #[serde(default = "default_max_gb")]
    pub max_data_size_gb: f64,
    /// Fraction of files read in development.
    #[serde(default)]
    pub dev_sampling: Option<f64>,
    /// Most files read in development.
    #[serde(default)]
    pub dev_max_files: Option<u64>,
    /// Seed of the `dev_sampling` sample (the same seed picks the same files).
    #[serde(default)]
    pub dev_sampling_seed: Option<u64>,
    /// Keys per LIST request (1..=1000; default 1000).
    #[serde(default)]
    pub list_page_size: Option<usize>,
    /// Price overrides.
    #[serde(default)]
    pub pricing: Option<Pricing>,
    /// Partition level names.
    #[serde(default)]
    pub partition_keys: Option<Vec<String>>,
    /// Partition filter.
    #[serde(default)]
    pub partition_filter: Option<Map<String, Value>>,
    /// Add partition values as fields.
    #[serde(default)]
    pub partition_columns: bool,
    /// Only files modified since.
    #[serde(default)]
    pub start_date: Option<String>,
    /// Files in parallel.
    #[serde(default = "default_workers")]
    pub parallel_workers: usize,
    /// This worker's part of every stream (`{"index", "count", "index_env"}`).
    #[serde(default)]
    pub shard: Option<Value>,
    /// Stream options; each `streams[]` item may set its own.
    #[serde(flatten)]
    pub options: StreamOptions,
    /// Format options (`csv_*`, `parquet_*`, `json_*`, `batch_size`).
    #[serde(flatten)]
    pub format_options: FormatOptions,
}

impl SourceS3Config {
    /// The default stream name: the last segment of `path_prefix`, else the bucket.
    pub fn default_stream_name(&self) -> String {
        if let Some(name) = self.stream_name.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            return name.to_string();
        }
        self.path_prefix
            .split('/')
            .rfind(|s| !s.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| {
                self.connection
                    .bucket
                    .trim()
                    .trim_start_matches("s3://")
                    .trim_matches('/')
                    .to_string()
            })
    }
}

/// Keys a `streams[]` item inherits from the top level when it does not set them.
const INHERITED_KEYS: &[&str] = &[
    "file_format",
    "compression",
    "batch_size",
    "csv_delimiter",
    "csv_header",
    "csv_encoding",
    "csv_quote_char",
    "csv_escape_char",
    "csv_null_values",
    "csv_true_values",
    "csv_false_values",
    "csv_skip_rows_before_header",
    "csv_skip_rows_after_header",
    "parquet_columns",
    "parquet_filters",
    "json_flatten",
    "json_max_depth",
    "on_error",
    "max_rows_per_file",
];

/// Copies the top-level format keys into each `streams[]` item that lacks them.
fn inherit_stream_options(map: &mut Map<String, Value>) {
    let inherited: Vec<(&str, Value)> = INHERITED_KEYS
        .iter()
        .filter_map(|k| map.get(*k).map(|v| (*k, v.clone())))
        .collect();
    if let Some(Value::Array(streams)) = map.get_mut("streams") {
        for item in streams.iter_mut() {
            if let Value::Object(item) = item {
                drop_blank(item);
                for (k, v) in &inherited {
                    item.entry((*k).to_string()).or_insert_with(|| v.clone());
                }
            }
        }
    }
}

/// Maps a raw config in any flavour (native, legacy names, Airbyte v3/v4,
/// Fivetran — see `lakeport_core::config::to_native_source_s3`) to the native
/// one, logging a WARN per legacy name and per option without equivalent;
/// then drops blank values and copies the top-level format options into each
/// `streams[]` item that lacks them.
pub(crate) fn migrate(raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
    if !raw.is_object() {
        return Err(ConnectorError::config(
            "The config must be a JSON object, like {\"bucket\": \"my-bucket\"}.",
        ));
    }
    let mut migrated = to_native_source_s3(&raw, from)
        .map_err(ConnectorError::from)?
        .migrate(out)?;
    if let Value::Object(map) = &mut migrated.config {
        drop_blank(map);
        inherit_stream_options(map);
    }
    Ok(migrated)
}

impl SourceS3Config {
    /// The config validated into the engine's read plan: every setting that
    /// cannot work is a config_error here, before any request.
    pub fn read_plan(&self) -> Result<ReadPlan, ConnectorError> {
        let p = self.pricing.clone().unwrap_or_default();
        Ok(ReadPlan {
            streams: self.stream_plans()?,
            start_date: parse_start_date(self.start_date.as_deref())?,
            partitions: PartitionPlan::new(
                self.partition_keys.as_deref(),
                self.partition_filter.as_ref(),
                self.partition_columns,
            )?,
            limits: Limits {
                cost_limit_usd: self.cost_limit_usd,
                max_files_per_run: self.max_files_per_run,
                max_data_size_gb: self.max_data_size_gb,
                dev_sampling: self.dev_sampling,
                dev_max_files: self.dev_max_files,
                sampling_seed: self.dev_sampling_seed.unwrap_or(0),
            },
            // S3 Standard us-east-1 with the config's `pricing` overrides.
            pricing: PriceTable::with_overrides(p.get_per_1000, p.list_per_1000, p.put_per_1000, p.transfer_per_gb),
            workers: self.parallel_workers,
            list_page_size: list_page_size(self.list_page_size),
            shard: Shard::parse(self.shard.as_ref(), |var| std::env::var(var).ok())?,
            // Keys as URLs, the COST report, oldest first, source-s3's key names.
            ..ReadPlan::new(Vec::new())
        })
    }

    /// The streams of the config: its `streams[]`, or one stream of the top-level keys.
    fn stream_plans(&self) -> Result<Vec<StreamPlan>, ConnectorError> {
        let top_format = parse_format(Some(&self.file_format))?;
        let top_compression = parse_compression(self.compression.as_deref())?;
        let Some(streams) = self.streams.as_ref().filter(|s| !s.is_empty()) else {
            let top = StreamKeys {
                path_prefix: &self.path_prefix,
                patterns: self.globs.clone().unwrap_or_default(),
                format: top_format,
                compression: top_compression,
                format_options: &self.format_options,
                options: self.options.clone(),
            };
            return Ok(vec![top.plan(self.default_stream_name())?]);
        };
        let mut seen = std::collections::HashSet::new();
        streams
            .iter()
            .map(|s| {
                let name = s.name.trim().to_string();
                if name.is_empty() || !seen.insert(name.clone()) {
                    return Err(ConnectorError::config(format!(
                        "streams: every stream needs a distinct, non-empty name ('{name}' is empty or repeated)."
                    )));
                }
                let keys = StreamKeys {
                    path_prefix: s.path_prefix.as_deref().unwrap_or(&self.path_prefix),
                    patterns: s.globs.clone().unwrap_or_default(),
                    format: match &s.file_format {
                        Some(f) => parse_format(Some(f))?,
                        None => top_format,
                    },
                    compression: match &s.compression {
                        Some(c) => parse_compression(Some(c))?,
                        None => top_compression,
                    },
                    format_options: &s.format_options,
                    options: s.options.or(&self.options),
                };
                keys.plan(name)
            })
            .collect()
    }
}

/// One stream's keys, already merged with the top level's.
struct StreamKeys<'a> {
    path_prefix: &'a str,
    patterns: Vec<String>,
    format: Option<FileFormat>,
    compression: Option<Compression>,
    format_options: &'a FormatOptions,
    options: StreamOptions,
}

impl StreamKeys<'_> {
    /// The stream's plan, validated.
    fn plan(self, name: String) -> Result<StreamPlan, ConnectorError> {
        let options = self.options;
        Ok(StreamPlan {
            name,
            prefix: listing_prefix(self.path_prefix, &self.patterns),
            globs: glob_set(&self.patterns)?,
            patterns: self.patterns,
            format: self.format,
            compression: self.compression,
            options: self.format_options.to_read_options()?,
            key_pattern: key_regex(options.key_pattern.as_deref())?,
            csv_infer_types: options.csv_infer_types.unwrap_or(true),
            schemaless: options.schemaless.unwrap_or(false),
            input_schema: parse_input_schema(options.input_schema.as_deref())?,
            validation_policy: ValidationPolicy::parse(options.validation_policy.as_deref())?,
            validation_policy_set: options.validation_policy.is_some(),
            cursor_field: record_field(options.cursor_field.as_deref()),
            days_to_sync_if_history_is_full: options
                .days_to_sync_if_history_is_full
                .unwrap_or(DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL),
            hive_string_fields: options.hive_string_fields.unwrap_or(false) && self.format == Some(FileFormat::Parquet),
            object_or_folder: false,
            skip_hidden: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakeport_core::source::cursor::LAST_MODIFIED_FIELD;
    use serde_json::json;

    fn quiet() -> Emitter {
        Emitter::new(Box::new(std::io::sink()))
    }

    #[test]
    fn legacy_names_are_mapped_and_native_wins() {
        let raw = json!({"bucket": "b", "prefix": "data/", "format": "csv", "access_key": "AK",
            "secret_key": "SK", "path_prefix": "native/", "region_name": "eu-west-1"});
        let m = migrate(raw, Flavour::Auto, &mut quiet()).unwrap();
        assert_eq!(m.flavour, Flavour::Legacy);
        assert_eq!(
            m.config,
            json!({"bucket": "b", "path_prefix": "native/", "file_format": "csv", "access_key_id": "AK",
                "secret_access_key": "SK", "region": "eu-west-1"})
        );
        let cfg: SourceS3Config = serde_json::from_value(m.config).unwrap();
        assert_eq!(cfg.connection.region, "eu-west-1");
        assert_eq!(cfg.default_stream_name(), "native");
    }

    #[test]
    fn defaults_apply() {
        let m = migrate(json!({"bucket": "b", "endpoint_url": ""}), Flavour::Auto, &mut quiet()).unwrap();
        assert_eq!(m.flavour, Flavour::Native);
        let cfg: SourceS3Config = serde_json::from_value(m.config).unwrap();
        assert_eq!(cfg.file_format, "csv");
        assert_eq!(cfg.connection.region, "us-east-1");
        assert!(cfg.connection.use_ssl);
        assert_eq!(cfg.connection.endpoint_url, None);
        assert_eq!(cfg.format_options.batch_size, 10_000);
        assert_eq!(cfg.parallel_workers, 4);
        assert_eq!(cfg.format_options.csv_delimiter, ",");
        assert!(cfg.format_options.json_flatten);
        assert_eq!(cfg.default_stream_name(), "b");
    }

    #[test]
    fn streams_inherit_top_level_options() {
        let raw = json!({"bucket": "b", "file_format": "jsonl", "csv_delimiter": ";",
            "streams": [{"name": "a", "globs": ["a/*.csv"], "file_format": "csv"}, {"name": "b", "csv_delimiter": "|"}]});
        let m = migrate(raw, Flavour::Auto, &mut quiet()).unwrap();
        let cfg: SourceS3Config = serde_json::from_value(m.config).unwrap();
        let streams = cfg.streams.unwrap();
        assert_eq!(streams[0].file_format.as_deref(), Some("csv"));
        assert_eq!(streams[0].format_options.csv_delimiter, ";");
        assert_eq!(streams[1].file_format.as_deref(), Some("jsonl"));
        assert_eq!(streams[1].format_options.csv_delimiter, "|");
    }

    #[test]
    fn airbyte_v4_configs_map_to_native_streams() {
        let raw = json!({"bucket": "b", "region_name": "eu-west-1",
            "streams": [{"name": "orders", "globs": ["orders/*.csv"], "format": {"filetype": "csv"}}]});
        let m = migrate(raw, Flavour::Auto, &mut quiet()).unwrap();
        assert_eq!(m.flavour, Flavour::Airbyte);
        let cfg: SourceS3Config = serde_json::from_value(m.config).unwrap();
        let streams = cfg.streams.unwrap();
        assert_eq!(streams[0].name, "orders");
        assert_eq!(streams[0].file_format.as_deref(), Some("csv"));
        assert_eq!(cfg.connection.region, "eu-west-1");
    }

    #[test]
    fn spec_is_valid_and_seed_examples_pass() {
        let spec: Value = serde_json::from_str(include_str!("spec.json")).unwrap();
        let props = spec["properties"].as_object().unwrap();
        for (name, secret) in [
            ("secret_access_key", true),
            ("session_token", true),
            ("secret_key", true),
            ("aws_secret_access_key", true),
            ("access_key_id", false),
        ] {
            assert_eq!(
                props[name]
                    .get("airbyte_secret")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                secret,
                "{name}"
            );
        }
        for key in [
            "bucket",
            "region",
            "endpoint_url",
            "use_ssl",
            "path_prefix",
            "globs",
            "file_format",
            "compression",
            "stream_name",
            "streams",
            "cost_limit_usd",
            "max_files_per_run",
            "max_data_size_gb",
            "dev_sampling",
            "dev_max_files",
            "pricing",
            "partition_keys",
            "partition_filter",
            "partition_columns",
            "start_date",
            "cursor_field",
            "days_to_sync_if_history_is_full",
            "csv_true_values",
            "csv_false_values",
            "batch_size",
            "parallel_workers",
            "shard",
            "csv_delimiter",
            "csv_header",
            "csv_encoding",
            "csv_quote_char",
            "csv_escape_char",
            "csv_null_values",
            "parquet_columns",
            "parquet_filters",
            "json_flatten",
            "json_max_depth",
            "key_pattern",
            "csv_infer_types",
            "schemaless",
            "input_schema",
            "validation_policy",
            "anonymous",
            "role_arn",
            "prefix",
            "format",
            "access_key",
            "region_name",
            "endpoint",
        ] {
            let p = &props[key];
            assert!(
                p.get("description").is_some() && p.get("order").is_some() && p.get("group").is_some(),
                "{key}"
            );
        }
    }

    #[test]
    fn cursor_fields_come_from_the_catalog_then_the_config() {
        let config: SourceS3Config = serde_json::from_value(json!({"bucket": "b", "cursor_field": "seq",
            "days_to_sync_if_history_is_full": 7,
            "streams": [{"name": "a"}, {"name": "b", "cursor_field": "_ab_source_file_last_modified",
                         "days_to_sync_if_history_is_full": 0}]}))
        .unwrap();
        let plans = config.read_plan().unwrap().streams;
        assert_eq!(plans[0].cursor_field.as_deref(), Some("seq"));
        assert_eq!(plans[0].days_to_sync_if_history_is_full, 7);
        assert_eq!(plans[1].cursor_field, None);
        assert_eq!(plans[1].days_to_sync_if_history_is_full, 0);
        // Options inherit one by one; a schema describes one stream only.
        let mixed: SourceS3Config = serde_json::from_value(json!({"bucket": "b", "key_pattern": "x",
            "schemaless": true, "input_schema": "{\"id\": \"integer\"}",
            "streams": [{"name": "a", "schemaless": false}]}))
        .unwrap();
        let a = &mixed.read_plan().unwrap().streams[0];
        assert_eq!(a.key_pattern.as_ref().map(regex::Regex::as_str), Some("x"));
        assert!(!a.schemaless && a.input_schema.is_none() && a.csv_infer_types);
        let default: SourceS3Config = serde_json::from_value(json!({"bucket": "b"})).unwrap();
        assert_eq!(
            default.read_plan().unwrap().streams[0].days_to_sync_if_history_is_full,
            3
        );
        let a = &plans[0];
        assert_eq!(a.record_cursor_field(None).as_deref(), Some("seq"));
        assert_eq!(
            a.record_cursor_field(Some(&["updated_at".into()])).as_deref(),
            Some("updated_at")
        );
        assert_eq!(
            a.record_cursor_field(Some(&["user".into(), "at".into()])).as_deref(),
            Some("user.at")
        );
        let file_cursor = [LAST_MODIFIED_FIELD.to_string()];
        assert_eq!(a.record_cursor_field(Some(&file_cursor)).as_deref(), Some("seq"));
        assert_eq!(plans[1].record_cursor_field(Some(&file_cursor)), None);
    }
}
