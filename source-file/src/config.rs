//! The typed native config of source-file, where its `file_path` points (a
//! local file or directory, or `s3://bucket/key`: an object, or a prefix
//! whose objects are read as a directory's files), and the engine's read
//! plan of it ([`Config::read_plan`]).

use std::path::PathBuf;

use lakeport_core::config::FormatOptions;
use lakeport_core::cost::Limits;
use lakeport_core::formats::compression::Compression;
use lakeport_core::formats::FileFormat;
use lakeport_core::source::cursor::record_field;
use lakeport_core::source::parse::{glob_set, relative_globs};
use lakeport_core::source::plan::{KeyNames, PartitionPlan, ReadPlan, StreamPlan, ValidationPolicy};
use lakeport_core::source::shard::Shard;
use lakeport_core::storage::{S3Connection, Secret};
use lakeport_protocol::ConnectorError;
use serde::Deserialize;
use serde_json::{Map, Value};

/// One pattern or several.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single pattern.
    One(String),
    /// Several patterns.
    Many(Vec<String>),
}

/// How the files map to streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One stream.
    #[default]
    Single,
    /// One stream per immediate subdirectory.
    PerSubdirectory,
}

fn default_workers() -> usize {
    4
}

/// The S3 connection keys of an `s3://bucket/key` file_path (CONTRACT §4:
/// those of source-s3, the bucket coming from the URL). No keys: the
/// standard AWS credential chain.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct S3Keys {
    /// The region (default `us-east-1`).
    #[serde(default)]
    pub region: Option<String>,
    /// Access key id.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key.
    #[serde(default)]
    pub secret_access_key: Option<Secret>,
    /// Session token of temporary credentials.
    #[serde(default)]
    pub session_token: Option<Secret>,
    /// A role to assume with STS.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// A custom endpoint (MinIO and other S3-compatible servers).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// `false`: plain HTTP.
    #[serde(default)]
    pub use_ssl: Option<bool>,
    /// Unsigned requests (public buckets).
    #[serde(default)]
    pub anonymous: Option<bool>,
}

/// `Some(s)` unless blank.
fn given(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `Some(secret)` unless blank.
fn given_secret(s: &Option<Secret>) -> Option<Secret> {
    s.as_ref().filter(|s| !s.expose().trim().is_empty()).cloned()
}

impl S3Keys {
    /// The connection to `bucket` these keys describe.
    pub fn connection(&self, bucket: &str) -> S3Connection {
        let mut c = S3Connection::new(bucket);
        if let Some(region) = given(&self.region) {
            c.region = region;
        }
        c.access_key_id = given(&self.access_key_id);
        c.secret_access_key = given_secret(&self.secret_access_key);
        c.session_token = given_secret(&self.session_token);
        c.role_arn = given(&self.role_arn);
        c.endpoint_url = given(&self.endpoint_url);
        c.use_ssl = self.use_ssl.unwrap_or(true);
        c.anonymous = self.anonymous.unwrap_or(false);
        c
    }
}

/// source-file's config (CONTRACT §4).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// A file or a directory, local or `s3://bucket/key`.
    pub file_path: String,
    /// The format; by extension when absent or `auto`.
    #[serde(default)]
    pub format: Option<String>,
    /// Glob pattern(s) for directories.
    #[serde(default)]
    pub glob_pattern: Option<OneOrMany>,
    /// The stream's name.
    #[serde(default)]
    pub stream_name: Option<String>,
    /// Stream layout.
    #[serde(default)]
    pub layout: Layout,
    /// Compression; by extension then magic bytes when absent or `auto`.
    #[serde(default)]
    pub compression: Option<String>,
    /// Files decoded at once.
    #[serde(default = "default_workers")]
    pub parallel_workers: usize,
    /// A record field used as the incremental cursor (default: the file's
    /// modification time, `_ab_source_file_last_modified`).
    #[serde(default)]
    pub cursor_field: Option<String>,
    /// `true`: one `data` object per record, schema not inferred.
    #[serde(default)]
    pub schemaless: bool,
    /// `emit`, `skip` or `wait`: what to do with records that do not fit the
    /// schema (unset: `on_error` decides).
    #[serde(default)]
    pub validation_policy: Option<String>,
    /// The names of the partition levels of a directory's folders.
    #[serde(default)]
    pub partition_keys: Option<Vec<String>>,
    /// Only the partitions matching (pruned folders are not listed).
    #[serde(default)]
    pub partition_filter: Option<Map<String, Value>>,
    /// Partition values become record fields.
    #[serde(default)]
    pub partition_columns: bool,
    /// One part of every stream (`{"index", "count", "index_env"}`), so that N
    /// runs split the streams between them exactly once.
    #[serde(default)]
    pub shard: Option<Value>,
    /// The S3 connection keys (for an `s3://` file_path).
    #[serde(flatten)]
    pub s3: S3Keys,
    /// Format options.
    #[serde(flatten)]
    pub format_options: FormatOptions,
}

impl Config {
    /// Where `file_path` points.
    pub fn location(&self) -> Result<Location, ConnectorError> {
        Location::parse(&self.file_path)
    }

    /// The glob patterns, possibly none.
    pub fn globs(&self) -> Vec<String> {
        match &self.glob_pattern {
            None => vec![],
            Some(OneOrMany::One(p)) if p.is_empty() => vec![],
            Some(OneOrMany::One(p)) => vec![p.clone()],
            Some(OneOrMany::Many(v)) => v.clone(),
        }
    }

    /// The configured format, `None` meaning "by extension".
    pub fn file_format(&self) -> Result<Option<FileFormat>, ConnectorError> {
        match self.format.as_deref() {
            None | Some("") | Some("auto") => Ok(None),
            Some(f) => f
                .parse()
                .map(Some)
                .map_err(|e: lakeport_core::Error| ConnectorError::config(e.to_string())),
        }
    }

    /// The format and compression of the files (`None`: per file).
    pub fn decoding(&self) -> Result<(Option<FileFormat>, Option<Compression>), ConnectorError> {
        Ok((self.file_format()?, self.compression()?))
    }

    /// The configured compression, `None` meaning "detect".
    pub fn compression(&self) -> Result<Option<Compression>, ConnectorError> {
        match self.compression.as_deref() {
            None | Some("") | Some("auto") => Ok(None),
            Some(c) => c
                .parse()
                .map(Some)
                .map_err(|e: lakeport_core::Error| ConnectorError::config(e.to_string())),
        }
    }
}

impl Config {
    /// The read plan of `streams` (each a name and the key of a file or the
    /// prefix of a directory, in a store whose keys' URLs start with
    /// `url_prefix`): globs relative to each stream's directory (a bare name
    /// at any depth), hidden names left out, an object named by its key read
    /// alone, files read in the order of their paths, no cost limit nor file
    /// limits; the COST report for S3, whose requests are priced.
    pub fn read_plan(&self, streams: &[(String, String)], url_prefix: String) -> Result<ReadPlan, ConnectorError> {
        let (format, compression) = self.decoding()?;
        let options = self.format_options.to_read_options()?;
        let patterns = self.globs();
        let streams = streams
            .iter()
            .map(|(name, key)| {
                let mut stream = StreamPlan::new(name, key, format, options.clone());
                stream.object_or_folder = true;
                stream.skip_hidden = true;
                stream.globs = glob_set(&relative_globs("glob_pattern", &patterns, &stream.folder())?)?;
                stream.patterns = patterns.clone();
                stream.compression = compression;
                stream.cursor_field = record_field(self.cursor_field.as_deref());
                stream.schemaless = self.schemaless;
                stream.validation_policy = ValidationPolicy::parse(self.validation_policy.as_deref())?;
                stream.validation_policy_set = self.validation_policy.is_some();
                Ok(stream)
            })
            .collect::<Result<Vec<_>, ConnectorError>>()?;
        let mut plan = ReadPlan::new(streams);
        plan.workers = self.parallel_workers;
        plan.partitions = PartitionPlan::new(
            self.partition_keys.as_deref(),
            self.partition_filter.as_ref(),
            self.partition_columns,
        )?;
        plan.limits = Limits {
            cost_limit_usd: f64::INFINITY,
            max_files_per_run: u64::MAX,
            max_data_size_gb: f64::INFINITY,
            ..Limits::default()
        };
        plan.url_prefix = url_prefix;
        plan.key_order = true;
        // A bucket is priced and has a latency per GET to hide; a local directory neither.
        let remote = matches!(self.location()?, Location::S3 { .. });
        plan.cost_report = remote;
        plan.fetch_ahead = remote;
        plan.names = KeyNames {
            location: "file_path",
            globs: "glob_pattern",
            format: "format",
            start_date: None,
        };
        plan.shard = Shard::parse(self.shard.as_ref(), |var| std::env::var(var).ok())?;
        Ok(plan)
    }
}

/// The scheme of S3 paths.
const S3_SCHEME: &str = "s3://";

/// A parsed `file_path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file or directory.
    Local(PathBuf),
    /// An S3 object or prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// The object key, or a prefix (`""`: the whole bucket).
        key: String,
    },
}

impl Location {
    /// Parses `file_path`: `s3://bucket/key` (scheme in any case), else a local path.
    pub fn parse(file_path: &str) -> Result<Location, ConnectorError> {
        let is_s3 = file_path
            .get(..S3_SCHEME.len())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(S3_SCHEME));
        if !is_s3 {
            return Ok(Location::Local(PathBuf::from(file_path)));
        }
        let rest = &file_path[S3_SCHEME.len()..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(ConnectorError::config(format!(
                "file_path '{file_path}' names no bucket: write it as s3://bucket/key or s3://bucket/prefix/."
            )));
        }
        Ok(Location::S3 {
            bucket: bucket.to_string(),
            key: key.trim_start_matches('/').to_string(),
        })
    }
}

/// An object's URL, as records and the state name it.
pub fn s3_url(bucket: &str, key: &str) -> String {
    format!("{S3_SCHEME}{bucket}/{key}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_and_s3_paths() {
        assert_eq!(
            Location::parse("./data/x.csv").unwrap(),
            Location::Local("./data/x.csv".into())
        );
        assert_eq!(
            Location::parse("s3://lake/users/part-1.csv").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                key: "users/part-1.csv".into()
            }
        );
        let dir = Location::parse("S3://lake/users/").unwrap();
        assert_eq!(
            dir,
            Location::S3 {
                bucket: "lake".into(),
                key: "users/".into()
            }
        );
        assert_eq!(
            Location::parse("s3://lake").unwrap(),
            Location::S3 {
                bucket: "lake".into(),
                key: String::new()
            }
        );
        let e = Location::parse("s3:///key").unwrap_err();
        assert!(e.message.contains("names no bucket"), "{}", e.message);
    }
}
