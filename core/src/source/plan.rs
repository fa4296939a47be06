//! The typed read plan: a connector's config validated once into what
//! `check`, `discover`, `estimate` and `read` need — the streams with their
//! listing prefixes, globs and decoding, the partition scheme and filter, the
//! limits, prices, workers and LIST page size, and how the connector's
//! objects are called (URL prefix), ordered and named in messages. Nothing below the plan sees a
//! connector's raw config; the connector builds its plan with the parsers of
//! [`super::parse`].

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use globset::GlobSet;
use lakeport_protocol::{ConnectorError, Emitter, InputState, StreamDescriptor};
use regex::Regex;
use serde_json::{Map, Value};

use super::cursor::{record_cursor_field, FileCursor, DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL, DEFAULT_MAX_HISTORY};
use super::object::Decoding;
use super::shard::Shard;
use super::steps::saved_cursor;
use crate::cost::{Limits, Pricing};
use crate::formats::options::{OnBadRecord, ReadOptions};
use crate::formats::{Compression, FileFormat};
use crate::partition::PartitionFilter;
use crate::schema::json_schema_to_arrow_keeping_values;
use crate::storage::local::Skipped;

/// Everything a file source reads, validated.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    /// The streams, in config order (at least one).
    pub streams: Vec<StreamPlan>,
    /// Only objects modified at or after this time (`start_date`).
    pub start_date: Option<DateTime<Utc>>,
    /// Partition awareness (`partition_keys`, `partition_filter`, `partition_columns`).
    pub partitions: PartitionPlan,
    /// Cost limit, file and size limits, development sampling.
    pub limits: Limits,
    /// The price table of the COST report and the cost limit.
    pub pricing: Pricing,
    /// Objects read (and schema samples inferred) in parallel (`parallel_workers`).
    pub workers: usize,
    /// Keys per LIST request (1..=[`crate::storage::MAX_LIST_PAGE`]).
    pub list_page_size: usize,
    /// What records' `_ab_source_file_url` and the state's history call an
    /// object: this prefix and its key (`""`: the key itself; a local
    /// directory's path, or `s3://bucket/`).
    pub url_prefix: String,
    /// Whether a read ends with the COST report (CONTRACT §6: requests to a
    /// priced service; a local directory has none).
    pub cost_report: bool,
    /// Objects are read in key order (else oldest first; see
    /// [`super::select`]).
    pub key_order: bool,
    /// Small objects are fetched ahead of the decoding workers (hides the
    /// latency of each GET; a local directory has none to hide).
    pub fetch_ahead: bool,
    /// The config keys messages name.
    pub names: KeyNames,
    /// What the store's listings left out, warned about (see [`SkipNotes`]).
    pub skipped: Option<SkipNotes>,
    /// The part of every stream this worker reads (`shard`; `None`: all of it).
    pub shard: Option<Shard>,
}

/// The config keys a connector's messages name (source-s3's by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyNames {
    /// Where the objects are (`path_prefix`).
    pub location: &'static str,
    /// The glob patterns (`globs`).
    pub globs: &'static str,
    /// The format (`file_format`).
    pub format: &'static str,
    /// The modification-time floor, if the connector has one (`start_date`).
    pub start_date: Option<&'static str>,
}

impl Default for KeyNames {
    fn default() -> Self {
        KeyNames {
            location: "path_prefix",
            globs: "globs",
            format: "file_format",
            start_date: Some("start_date"),
        }
    }
}

impl KeyNames {
    /// "`a`, `b`, `c` and `d`": the keys to check when a stream has no object.
    pub fn hint(&self) -> String {
        let mut keys = vec![self.location, self.globs, self.format];
        keys.extend(self.start_date);
        let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
        match quoted.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => quoted.join(""),
        }
    }
}

/// What a store's listings left out (not a regular file, a link loop, a name
/// that is not UTF-8: e.g. [`crate::storage::LocalStorage::take_skipped`]),
/// taken after each listing; those under the listed folder that the stream
/// would select are warned about.
#[derive(Clone)]
pub struct SkipNotes(pub Arc<dyn Fn() -> Vec<Skipped> + Send + Sync>);

impl std::fmt::Debug for SkipNotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SkipNotes")
    }
}

/// Objects read in parallel when a connector does not say (`parallel_workers`' default).
pub const DEFAULT_WORKERS: usize = 4;

impl ReadPlan {
    /// A plan of `streams` with the defaults: no `start_date`, no partition
    /// settings, the default limits and S3 Standard prices,
    /// [`DEFAULT_WORKERS`], full LIST pages.
    pub fn new(streams: Vec<StreamPlan>) -> ReadPlan {
        ReadPlan {
            streams,
            start_date: None,
            partitions: PartitionPlan::default(),
            limits: Limits::default(),
            pricing: Pricing::default(),
            workers: DEFAULT_WORKERS,
            list_page_size: list_page_size(None),
            url_prefix: String::new(),
            cost_report: true,
            key_order: false,
            fetch_ahead: true,
            names: KeyNames::default(),
            skipped: None,
            shard: None,
        }
    }

    /// What records and the state call the object `key` ([`ReadPlan::url_prefix`]).
    pub fn url(&self, key: &str) -> String {
        format!("{}{key}", self.url_prefix)
    }

    /// The key of an object the state calls `url` (`None`: not of this store).
    pub fn key_of<'u>(&self, url: &'u str) -> Option<&'u str> {
        url.strip_prefix(self.url_prefix.as_str())
    }

    /// The stream named `name`.
    pub fn stream(&self, name: &str) -> Option<&StreamPlan> {
        self.streams.iter().find(|s| s.name == name)
    }

    /// The prefixes `check` lists (the first stream's): the same a read of that stream lists.
    pub fn check_prefix(&self) -> Option<(&str, &str)> {
        self.streams.first().map(|s| (s.name.as_str(), s.prefix.as_str()))
    }
}

/// Keys per LIST page: `requested`, clamped to 1..=[`crate::storage::MAX_LIST_PAGE`]
/// (the largest page when unset).
pub fn list_page_size(requested: Option<usize>) -> usize {
    requested
        .unwrap_or(crate::storage::MAX_LIST_PAGE)
        .clamp(1, crate::storage::MAX_LIST_PAGE)
}

/// Partition awareness of a read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionPlan {
    /// `partition_keys`: the names of the partition levels (none: detected).
    pub keys: Option<Vec<String>>,
    /// `partition_filter` (without the `start_date` floor, added per listing).
    pub filter: PartitionFilter,
    /// Whether the config asks for partition awareness (`partition_keys` or
    /// `partition_filter` set): `start_date` then also prunes date partitions.
    pub aware: bool,
    /// `partition_columns`: partition values become typed record fields.
    pub columns: bool,
}

impl PartitionPlan {
    /// Validates `partition_keys`, `partition_filter` and `partition_columns`;
    /// a filter that cannot be parsed is a config_error.
    pub fn new(
        keys: Option<&[String]>,
        filter: Option<&Map<String, Value>>,
        columns: bool,
    ) -> Result<PartitionPlan, ConnectorError> {
        let keys = keys.filter(|k| !k.is_empty()).map(<[String]>::to_vec);
        let aware = keys.is_some() || filter.is_some_and(|f| !f.is_empty());
        let filter = match filter {
            Some(map) => PartitionFilter::from_json(map).map_err(|e| ConnectorError::config(e.to_string()))?,
            None => PartitionFilter::default(),
        };
        Ok(PartitionPlan {
            keys,
            filter,
            aware,
            columns,
        })
    }

    /// The partition columns added to records (`partition_columns`): `partition_keys`, or none.
    pub fn record_columns(&self) -> Vec<String> {
        if self.columns {
            self.keys.clone().unwrap_or_default()
        } else {
            Vec::new()
        }
    }
}

/// One stream: its name, where its objects are, and how to decode them.
#[derive(Debug, Clone)]
pub struct StreamPlan {
    /// The stream's name.
    pub name: String,
    /// The listing prefix (see [`super::parse::listing_prefix`]).
    pub prefix: String,
    /// Glob patterns the keys must match (none: every key under the prefix).
    pub globs: Option<GlobSet>,
    /// The glob patterns as written (for messages).
    pub patterns: Vec<String>,
    /// The format; `None`: by extension.
    pub format: Option<FileFormat>,
    /// The compression; `None`: detected.
    pub compression: Option<Compression>,
    /// The reader options of the stream's format options (before the validation policy).
    pub options: ReadOptions,
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
    /// (`hive_string_fields`, Airbyte's behaviour; see [`super::hive`]).
    pub hive_string_fields: bool,
    /// The prefix names one object or a folder: the object with that very
    /// key alone, else the keys under `prefix/` (not every key starting with it).
    pub object_or_folder: bool,
    /// Keys with a folder or name below the prefix starting with `.` are left out.
    pub skip_hidden: bool,
}

/// What a read does with records whose values do not fit the stream's schema
/// (`validation_policy`, Airbyte's "Emit Record" / "Skip Record" / "Wait for Discover").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ValidationPolicy {
    /// Emit them; values that cannot be converted are null (left out of the
    /// record) with a WARN. Rows that cannot be parsed at all still fail.
    #[default]
    Emit,
    /// Drop them with a WARN.
    Skip,
    /// Stop the stream with a config_error asking for a new discover.
    Wait,
}

impl StreamPlan {
    /// A stream `name` of every object under `prefix`, in `format` (`None`:
    /// by extension), read with `options`; every other setting at its
    /// default (no globs, types inferred, schema inferred, `validation_policy`
    /// unset, the file cursor, 3 days of lookback).
    pub fn new(
        name: impl Into<String>,
        prefix: impl Into<String>,
        format: Option<FileFormat>,
        options: ReadOptions,
    ) -> Self {
        StreamPlan {
            name: name.into(),
            prefix: prefix.into(),
            globs: None,
            patterns: Vec::new(),
            format,
            compression: None,
            options,
            key_pattern: None,
            csv_infer_types: true,
            schemaless: false,
            input_schema: None,
            validation_policy: ValidationPolicy::Emit,
            validation_policy_set: false,
            cursor_field: None,
            days_to_sync_if_history_is_full: DEFAULT_DAYS_TO_SYNC_IF_HISTORY_IS_FULL,
            hive_string_fields: false,
            object_or_folder: false,
            skip_hidden: false,
        }
    }

    /// The folder the stream's keys are under: the prefix up to its last `/`,
    /// or — when it names an object or a folder — the prefix as a folder.
    pub fn folder(&self) -> String {
        let p = &self.prefix;
        if p.is_empty() || p.ends_with('/') {
            p.clone()
        } else if self.object_or_folder {
            format!("{p}/")
        } else {
            p[..p.rfind('/').map_or(0, |i| i + 1)].to_string()
        }
    }

    /// Whether the stream reads `key` (under `folder`, [`StreamPlan::folder`]):
    /// no folder marker, under the folder when the prefix names one, no hidden
    /// name when those are skipped, and matching the globs and `key_pattern`.
    pub fn selects(&self, folder: &str, key: &str) -> bool {
        let relative = key.strip_prefix(folder);
        let outside = self.object_or_folder && relative.is_none();
        let hidden = self.skip_hidden && relative.unwrap_or(key).split('/').any(|s| s.starts_with('.'));
        !(key.ends_with('/')
            || outside
            || hidden
            || self.globs.as_ref().is_some_and(|g| !g.is_match(key))
            || self.key_pattern.as_ref().is_some_and(|r| !r.is_match(key)))
    }

    /// The reader options of this stream (`validation_policy: skip` drops bad records).
    pub fn read_options(&self) -> ReadOptions {
        let opts = self.options.clone();
        match self.validation_policy {
            ValidationPolicy::Skip => opts.with_on_bad_record(OnBadRecord::Skip),
            ValidationPolicy::Wait => opts.with_on_bad_record(OnBadRecord::Fail),
            // Without an explicit policy, `on_error` decides (default: fail with
            // an error naming file and line), as for every native config.
            ValidationPolicy::Emit if !self.validation_policy_set => opts,
            ValidationPolicy::Emit => opts.with_on_bad_record(OnBadRecord::Emit),
        }
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
        json_schema_to_arrow_keeping_values(json_schema)
            .map(|s| Some(Arc::new(s)))
            .map_err(ConnectorError::from)
    }

    /// The record-level cursor field of an incremental read: the catalog's
    /// `cursor_field` when it names another field than the file cursor, else
    /// the config's; `None`: the file cursor alone (see
    /// [`super::cursor::record_cursor_field`]).
    pub fn record_cursor_field(&self, catalog_cursor: Option<&[String]>) -> Option<String> {
        record_cursor_field(catalog_cursor, self.cursor_field.as_deref())
    }

    /// The file cursor of an incremental read of this stream by `shard`
    /// (`None`: unsharded), from its saved state (a WARN when the state
    /// cannot be used; a config_error when it is another shard's).
    pub fn saved_cursor(
        &self,
        state: &InputState,
        descriptor: &StreamDescriptor,
        shard: Option<Shard>,
        out: &mut Emitter,
    ) -> Result<FileCursor, ConnectorError> {
        let cursor = saved_cursor(out, state, descriptor, DEFAULT_MAX_HISTORY)?;
        Shard::check_state(shard, cursor.shard(), &self.name).map_err(|e| e.with_stream(descriptor.clone()))?;
        Ok(cursor
            .with_shard(shard)
            .with_days_to_sync_if_history_is_full(self.days_to_sync_if_history_is_full))
    }
}
