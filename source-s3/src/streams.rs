//! Which streams a config describes, and which objects belong to each:
//! a listing under the narrowest prefix the config allows, filtered by globs,
//! by format (for `auto`) and by `start_date`.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use chrono::{DateTime, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use lakeport_core::config::FormatOptions;
use lakeport_core::formats::options::{OnBadRecord, ReadOptions};
use lakeport_core::formats::{Compression, FileFormat};
use lakeport_core::partition::{plan_listing, PartitionScheme, StorageLister};
use lakeport_core::schema::json_schema_to_arrow;
use lakeport_core::source::cursor::{parse_timestamp, FileCursor, DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL};
use lakeport_core::source::cursor::{record_cursor_field, record_field};
use lakeport_core::storage::{ObjectMeta, Storage};
use lakeport_protocol::ConnectorError;
use regex::Regex;
use serde_json::{json, Map, Value};

use crate::config::{SourceS3Config, StreamOptions};
use crate::objects::Decoding;

/// One stream: its name, where its objects are, and how to decode them.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    /// The stream's name.
    pub name: String,
    /// The listing prefix.
    pub prefix: String,
    /// Glob patterns the keys must match (none: every key under the prefix).
    pub globs: Option<GlobSet>,
    /// The glob patterns as written (for messages).
    pub patterns: Vec<String>,
    /// The format; `None`: by extension.
    pub format: Option<FileFormat>,
    /// The compression; `None`: detected.
    pub compression: Option<Compression>,
    /// Format options.
    pub format_options: FormatOptions,
    /// A regular expression the keys must match (`key_pattern`).
    pub key_pattern: Option<Regex>,
    /// Whether CSV column types are inferred (`csv_infer_types`); `false`: strings.
    pub csv_infer_types: bool,
    /// Records are `{"data": {…}}` with no inferred schema (`schemaless`).
    pub schemaless: bool,
    /// The schema given by `input_schema` (a JSON Schema object), if any.
    pub input_schema: Option<Value>,
    /// What to do with records that do not fit the schema.
    pub validation_policy: ValidationPolicy,
    /// Whether `validation_policy` was written (else `on_error`, if set, decides).
    pub validation_policy_set: bool,
    /// The record-level cursor of the config (`cursor_field`), if it names a
    /// record field rather than the file cursor.
    pub cursor_field: Option<String>,
    /// Days of files older than a full history still read
    /// (`days_to_sync_if_history_is_full`).
    pub days_to_sync_if_history_is_full: u32,
    /// A Parquet stream whose `name=value` key folders are string fields
    /// (`hive_string_fields`, Airbyte's behaviour; see [`crate::hive`]).
    pub hive_string_fields: bool,
}

/// What a read does with records whose values do not fit the stream's schema
/// (`validation_policy`, Airbyte's "Emit Record" / "Skip Record" / "Wait for Discover").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum ValidationPolicy {
    /// Emit them; values that cannot be converted are null (left out of the
    /// record) with a WARN. Rows that cannot be parsed at all still fail.
    #[default]
    Emit,
    /// Drop them with a WARN.
    Skip,
    /// Stop the stream with a config_error asking for a new discover.
    Wait,
}

impl ValidationPolicy {
    fn parse(s: Option<&str>) -> Result<Self, ConnectorError> {
        match s
            .map(|s| s.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
            .as_deref()
        {
            None | Some("") | Some("emit") | Some("emit_record") => Ok(ValidationPolicy::Emit),
            Some("skip") | Some("skip_record") => Ok(ValidationPolicy::Skip),
            Some("wait") | Some("wait_for_discover") => Ok(ValidationPolicy::Wait),
            Some(other) => Err(ConnectorError::config(format!(
                "validation_policy: '{other}' is not a policy; use 'emit', 'skip' or 'wait'."
            ))),
        }
    }
}

impl StreamPlan {
    /// The reader options of this stream (`validation_policy: skip` drops bad records).
    pub fn read_options(&self) -> Result<ReadOptions, ConnectorError> {
        let opts = self.format_options.to_read_options()?;
        Ok(match self.validation_policy {
            ValidationPolicy::Skip => opts.with_on_bad_record(OnBadRecord::Skip),
            ValidationPolicy::Wait => opts.with_on_bad_record(OnBadRecord::Fail),
            // Without an explicit policy, `on_error` decides (default: fail with
            // an error naming file and line), as for every native config.
            ValidationPolicy::Emit if !self.validation_policy_set => opts,
            ValidationPolicy::Emit => opts.with_on_bad_record(OnBadRecord::Emit),
        })
    }

    /// How this stream's objects are decoded.
    pub fn decoding(&self) -> Decoding {
        Decoding {
            format: self.format,
            compression: self.compression,
            schemaless: self.schemaless,
            wait_for_discover: self.validation_policy == ValidationPolicy::Wait,
        }
    }

    /// The schema records are conformed to, from the catalog's JSON Schema;
    /// none for a schemaless stream (its `data` object is kept as read).
    pub fn read_target(&self, json_schema: &Value) -> Result<Option<SchemaRef>, ConnectorError> {
        if self.schemaless {
            return Ok(None);
        }
        json_schema_to_arrow(json_schema)
            .map(|s| Some(Arc::new(s)))
            .map_err(ConnectorError::from)
    }
}

/// Compiles `key_pattern`; an invalid one is a config_error naming the key.
fn key_regex(pattern: Option<&str>) -> Result<Option<Regex>, ConnectorError> {
    match pattern.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Regex::new(p).map(Some).map_err(|e| {
            ConnectorError::config(format!(
                "key_pattern: '{p}' is not a valid regular expression: {e}. Write it like 'landing/.*\\.csv$'."
            ))
        }),
    }
}

/// Parses `input_schema`: a JSON string holding a JSON Schema object
/// (`{"type": "object", "properties": …}`) or Airbyte's `{"column": "type"}`
/// mapping (types `string`, `integer`, `number`, `boolean`, `object`, `array`,
/// `null`). Returns a JSON Schema object; `None` for an empty one.
pub(crate) fn parse_input_schema(text: Option<&str>) -> Result<Option<Value>, ConnectorError> {
    let text = match text.map(str::trim) {
        None | Some("") => return Ok(None),
        Some(t) => t,
    };
    let bad = |why: String| {
        ConnectorError::config(format!(
            "input_schema: {why}. Write a JSON Schema object or a mapping like {{\"id\": \"integer\", \"name\": \"string\"}}."
        ))
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(bad("not a JSON object".into()));
    };
    if map.is_empty() {
        return Ok(None);
    }
    if map.contains_key("properties") || map.get("type").and_then(Value::as_str) == Some("object") {
        return Ok(Some(Value::Object(map)));
    }
    let mut properties = Map::new();
    for (name, ty) in map {
        let t = match ty.as_str().map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if ["string", "integer", "number", "boolean", "object", "array", "null"].contains(&t.as_str()) => t,
            _ => return Err(bad(format!("column '{name}' has type {ty}, which is not one of string, integer, number, boolean, object, array, null"))),
        };
        let schema = if t == "null" {
            json!({"type": "null"})
        } else {
            json!({"type": ["null", t]})
        };
        properties.insert(name, schema);
    }
    Ok(Some(json!({"type": "object", "properties": properties})))
}

/// The objects a stream reads, and warnings about skipped ones.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    /// The selected objects, in key order.
    pub files: Vec<ObjectMeta>,
    /// Objects listed (before filtering).
    pub listed: u64,
    /// Warnings (objects skipped for an unknown format).
    pub warnings: Vec<String>,
    /// The partition scheme of the keys.
    pub scheme: PartitionScheme,
    /// Whether keys sort by date (`YYYY/MM/DD/`, `year=/month=/`, `dt=`): read in key order then.
    pub date_ordered: bool,
    /// Partitions in the data (counted, or estimated when pruned unlisted).
    pub partitions_total: u64,
    /// Partitions the filter keeps.
    pub partitions_selected: u64,
    /// The share of the data pruned, in percent.
    pub scan_reduction_pct: f64,
}

fn parse_format(s: Option<&str>) -> Result<Option<FileFormat>, ConnectorError> {
    match s.map(str::trim) {
        None | Some("") | Some("auto") => Ok(None),
        Some(f) => f
            .parse()
            .map(Some)
            .map_err(|e: lakeport_core::Error| ConnectorError::config(format!("file_format: {e}"))),
    }
}

fn parse_compression(s: Option<&str>) -> Result<Option<Compression>, ConnectorError> {
    match s.map(str::trim) {
        None | Some("") | Some("auto") => Ok(None),
        Some(c) => c
            .parse()
            .map(Some)
            .map_err(|e: lakeport_core::Error| ConnectorError::config(format!("compression: {e}"))),
    }
}

/// Compiles glob patterns matched against whole keys: `*` stays within one
/// folder, `**` crosses folders.
pub(crate) fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, ConnectorError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(p.trim_start_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| {
                ConnectorError::config(format!(
                    "globs: '{p}' is not a valid glob: {e}. Use patterns such as 'data/*.csv' or 'events/**/*.parquet'."
                ))
            })?;
        b.add(glob);
    }
    b.build()
        .map(Some)
        .map_err(|e| ConnectorError::config(format!("globs are not valid: {e}")))
}

/// The literal start of a glob pattern (before its first wildcard).
fn literal_prefix(pattern: &str) -> &str {
    let end = pattern.find(['*', '?', '[', '{', '\\']).unwrap_or(pattern.len());
    &pattern[..end]
}

/// The listing prefix: `path_prefix`, or else the longest prefix every glob
/// starts with (so `events/2024/**` lists only `events/2024/`).
fn listing_prefix(path_prefix: &str, patterns: &[String]) -> String {
    let path_prefix = path_prefix.trim_start_matches('/');
    if !path_prefix.is_empty() || patterns.is_empty() {
        return path_prefix.to_string();
    }
    let mut common: Option<&str> = None;
    for p in patterns {
        let lit = literal_prefix(p.trim_start_matches('/'));
        common = Some(match common {
            None => lit,
            Some(c) => {
                let n = c.bytes().zip(lit.bytes()).take_while(|(a, b)| a == b).count();
                &c[..n]
            }
        });
    }
    // Cut back to a char boundary (the common byte prefix may split a char).
    let mut s = common.unwrap_or("").to_string();
    while !s.is_empty() && std::str::from_utf8(s.as_bytes()).is_err() {
        s.pop();
    }
    s
}

/// The streams of a config.
pub(crate) fn plan(config: &SourceS3Config) -> Result<Vec<StreamPlan>, ConnectorError> {
    let top_format = parse_format(Some(&config.file_format))?;
    let top_compression = parse_compression(config.compression.as_deref())?;
    match &config.streams {
        Some(streams) if !streams.is_empty() => {
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
                    let format = match &s.file_format {
                        Some(f) => parse_format(Some(f))?,
                        None => top_format,
                    };
                    let compression = match &s.compression {
                        Some(c) => parse_compression(Some(c))?,
                        None => top_compression,
                    };
                    stream_plan(
                        name,
                        s.path_prefix.as_deref().unwrap_or(&config.path_prefix),
                        s.globs.clone().unwrap_or_default(),
                        (format, compression, s.format_options.clone()),
                        &s.options.or(&config.options),
                    )
                })
                .collect()
        }
        _ => Ok(vec![stream_plan(
            config.default_stream_name(),
            &config.path_prefix,
            config.globs.clone().unwrap_or_default(),
            (top_format, top_compression, config.format_options.clone()),
            &config.options,
        )?]),
    }
}

/// One stream's plan from its keys (already merged with the top level's).
fn stream_plan(
    name: String,
    path_prefix: &str,
    patterns: Vec<String>,
    (format, compression, format_options): (Option<FileFormat>, Option<Compression>, FormatOptions),
    options: &StreamOptions,
) -> Result<StreamPlan, ConnectorError> {
    Ok(StreamPlan {
        name,
        prefix: listing_prefix(path_prefix, &patterns),
        globs: glob_set(&patterns)?,
        patterns,
        format,
        compression,
        format_options,
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
        hive_string_fields: options.hive_string_fields.unwrap_or(false) && format == Some(FileFormat::Parquet),
    })
}

impl StreamPlan {
    /// The record-level cursor field of an incremental read: the catalog's
    /// `cursor_field` when it names another field than the file cursor, else
    /// the config's; `None`: the file cursor alone (see
    /// [`lakeport_core::source::cursor::record_cursor_field`]).
    pub fn record_cursor_field(&self, catalog_cursor: Option<&[String]>) -> Option<String> {
        record_cursor_field(catalog_cursor, self.cursor_field.as_deref())
    }
}

/// The `start_date` of a config, parsed.
pub(crate) fn start_date(config: &SourceS3Config) -> Result<Option<DateTime<Utc>>, ConnectorError> {
    match config.start_date.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_timestamp(s).map(Some).ok_or_else(|| {
            ConnectorError::config(format!(
                "start_date '{s}' is not a date-time: write it like \"2024-01-01T00:00:00Z\" or \"2024-01-01\"."
            ))
        }),
    }
}

impl Default for Listing {
    fn default() -> Self {
        Listing {
            files: Vec::new(),
            listed: 0,
            warnings: Vec::new(),
            scheme: PartitionScheme::detect("", &[] as &[&str]),
            date_ordered: false,
            partitions_total: 0,
            partitions_selected: 0,
            scan_reduction_pct: 0.0,
        }
    }
}

/// Listings of one process kept from discovery for the read that follows it
/// (a `read` without a catalog discovers first): the read lists nothing again.
#[derive(Debug, Default)]
pub(crate) struct ListingCache(std::sync::Mutex<std::collections::HashMap<String, Listing>>);

impl ListingCache {
    /// Keeps `listing` of stream `name` (its warnings were already logged).
    pub fn put(&self, name: &str, listing: &Listing) {
        let mut kept = listing.clone();
        kept.warnings.clear();
        if let Ok(mut map) = self.0.lock() {
            map.insert(name.to_string(), kept);
        }
    }

    /// The listing of stream `name` discovery made, once.
    pub fn take(&self, name: &str) -> Option<Listing> {
        self.0.lock().ok().and_then(|mut map| map.remove(name))
    }
}

/// Lists a stream's objects through the pruned listing plan
/// (`lakeport_core::partition`): only the prefixes `partition_filter` (and,
/// in incremental mode, the newest synced date folder) leave open are
/// listed; then globs, `key_pattern`, `start_date` and the format select.
pub(crate) async fn list(
    store: &Arc<dyn Storage>,
    config: &SourceS3Config,
    plan: &StreamPlan,
    since: Option<DateTime<Utc>>,
    synced: Option<&FileCursor>,
) -> Result<Listing, ConnectorError> {
    let request = crate::pruning::plan_request(config, &plan.prefix, since, synced)?;
    let lister = StorageLister::new(store.clone(), crate::pruning::page_size(config));
    let planned = plan_listing(&lister, &request).await.map_err(ConnectorError::from)?;
    let mut listing = Listing {
        listed: planned.files_listed,
        scheme: planned.scheme.clone(),
        date_ordered: planned.scheme.date_ordered_depth().is_some(),
        partitions_total: planned.partitions_total,
        partitions_selected: planned.partitions_selected,
        scan_reduction_pct: planned.scan_reduction_pct,
        ..Listing::default()
    };
    let mut unknown = 0usize;
    let mut contradicted = 0usize;
    for meta in planned.files.into_iter().map(|f| f.meta) {
        if meta.key.ends_with('/') {
            continue; // a "folder" marker object
        }
        if plan.globs.as_ref().is_some_and(|g| !g.is_match(&meta.key)) {
            continue;
        }
        if plan.key_pattern.as_ref().is_some_and(|r| !r.is_match(&meta.key)) {
            continue;
        }
        if since.is_some_and(|s| meta.last_modified < s) {
            continue;
        }
        if plan.format.is_none() && FileFormat::from_extension(&meta.key).is_none() {
            unknown += 1;
            if unknown <= 5 {
                listing.warnings.push(format!(
                    "Skipping '{}': its format is not known from its extension. Set `file_format` to read it.",
                    meta.key
                ));
            }
            continue;
        }
        if let Some(named) = plan.format.and_then(|f| f.contradicted_by(&meta.key).map(|n| (f, n))) {
            contradicted += 1;
            if contradicted <= 5 {
                listing.warnings.push(format!(
                    "'{}' looks like {} from its extension but is read as {} (file_format): if that is not \
                     what you meant, set `file_format` or narrow `globs` to the files of one format.",
                    meta.key, named.1, named.0
                ));
            }
        }
        listing.files.push(meta);
    }
    if contradicted > 5 {
        listing.warnings.push(format!(
            "… and {} more objects whose extension names another format than file_format.",
            contradicted - 5
        ));
    }
    if unknown > 5 {
        listing.warnings.push(format!(
            "… and {} more objects skipped for an unknown format.",
            unknown - 5
        ));
    }
    Ok(listing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakeport_core::source::cursor::LAST_MODIFIED_FIELD;

    #[test]
    fn prefixes_come_from_globs() {
        assert_eq!(listing_prefix("data/", &["x/**".into()]), "data/");
        assert_eq!(listing_prefix("", &["events/2024/**/*.csv".into()]), "events/2024/");
        assert_eq!(
            listing_prefix("", &["events/2024/*.csv".into(), "events/2023/*.csv".into()]),
            "events/202"
        );
        assert_eq!(listing_prefix("", &["*.csv".into()]), "");
        assert_eq!(listing_prefix("", &[]), "");
    }

    #[test]
    fn globs_match_whole_keys() {
        let g = glob_set(&["data/*.csv".into(), "logs/**/*.jsonl".into()])
            .unwrap()
            .unwrap();
        assert!(g.is_match("data/a.csv"));
        assert!(!g.is_match("data/sub/a.csv"));
        assert!(g.is_match("logs/2024/01/x.jsonl"));
        assert!(g.is_match("logs/x.jsonl"));
        assert!(glob_set(&["[".into()]).is_err());
    }

    #[test]
    fn input_schema_accepts_json_schema_and_airbyte_mappings() {
        let s = parse_input_schema(Some(r#"{"id": "integer", "name": "STRING"}"#))
            .unwrap()
            .unwrap();
        assert_eq!(s["properties"]["id"]["type"], json!(["null", "integer"]));
        assert_eq!(s["properties"]["name"]["type"], json!(["null", "string"]));
        let full = r#"{"type": "object", "properties": {"a": {"type": "number"}}}"#;
        assert_eq!(
            parse_input_schema(Some(full)).unwrap().unwrap()["properties"]["a"]["type"],
            "number"
        );
        assert_eq!(parse_input_schema(Some("{}")).unwrap(), None);
        assert_eq!(parse_input_schema(Some(" ")).unwrap(), None);
        for bad in ["not json", "[1]", r#"{"id": "int64"}"#] {
            let e = parse_input_schema(Some(bad)).unwrap_err();
            assert!(e.to_string().contains("input_schema"), "{e}");
        }
    }

    #[test]
    fn validation_policies_and_key_patterns_parse() {
        assert_eq!(ValidationPolicy::parse(None).unwrap(), ValidationPolicy::Emit);
        assert_eq!(
            ValidationPolicy::parse(Some("Skip Record")).unwrap(),
            ValidationPolicy::Skip
        );
        assert_eq!(
            ValidationPolicy::parse(Some("Wait for Discover")).unwrap(),
            ValidationPolicy::Wait
        );
        assert!(ValidationPolicy::parse(Some("later")).is_err());
        assert!(key_regex(Some(r"landing/(?<table>\w+)/.*")).unwrap().is_some());
        assert!(key_regex(Some("")).unwrap().is_none());
        let e = key_regex(Some("a(")).unwrap_err();
        assert!(e.to_string().contains("key_pattern"), "{e}");
    }

    #[test]
    fn cursor_fields_come_from_the_catalog_then_the_config() {
        let config: SourceS3Config = serde_json::from_value(json!({"bucket": "b", "cursor_field": "seq",
            "days_to_sync_if_history_is_full": 7,
            "streams": [{"name": "a"}, {"name": "b", "cursor_field": "_ab_source_file_last_modified",
                         "days_to_sync_if_history_is_full": 0}]}))
        .unwrap();
        let plans = plan(&config).unwrap();
        assert_eq!(plans[0].cursor_field.as_deref(), Some("seq"));
        assert_eq!(plans[0].days_to_sync_if_history_is_full, 7);
        assert_eq!(plans[1].cursor_field, None);
        assert_eq!(plans[1].days_to_sync_if_history_is_full, 0);
        // Options inherit one by one; a schema describes one stream only.
        let mixed: SourceS3Config = serde_json::from_value(json!({"bucket": "b", "key_pattern": "x",
            "schemaless": true, "input_schema": "{\"id\": \"integer\"}",
            "streams": [{"name": "a", "schemaless": false}]}))
        .unwrap();
        let a = &plan(&mixed).unwrap()[0];
        assert_eq!(a.key_pattern.as_ref().map(Regex::as_str), Some("x"));
        assert!(!a.schemaless && a.input_schema.is_none() && a.csv_infer_types);
        let default: SourceS3Config = serde_json::from_value(json!({"bucket": "b"})).unwrap();
        assert_eq!(plan(&default).unwrap()[0].days_to_sync_if_history_is_full, 3);
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
