//! Which streams a config describes and which files belong to each, on the
//! local filesystem or in an S3 bucket.

use std::path::Path;

use lakeport_core::formats::{Compression, FileFormat};
use lakeport_core::storage::RetryConfig;
use lakeport_protocol::ConnectorError;

use crate::config::{Config, Layout};
use crate::listing::{self, FileEntry};
use crate::location::Location;
use crate::s3_files::S3Files;

/// One stream: its name and where its files are.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPlan {
    /// The stream's name.
    pub name: String,
    /// The file or directory (local, or an S3 key or prefix) read.
    pub root: Location,
}

/// The stream name for a single local file or directory: its name without extensions.
fn default_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    if path.is_file() {
        without_extensions(&name)
    } else {
        name
    }
}

/// `name` up to its first `.` (unless that leaves nothing).
fn without_extensions(name: &str) -> String {
    name.split('.')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or(name)
        .to_string()
}

/// The stream name for an S3 key or prefix: its last segment — without
/// extensions when it names a file of a known format — else the bucket.
fn default_s3_name(bucket: &str, key: &str) -> String {
    let last = key.trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    if last.is_empty() {
        bucket.to_string()
    } else if !key.ends_with('/') && FileFormat::from_extension(last).is_some() {
        without_extensions(last)
    } else {
        last.to_string()
    }
}

/// Where a config's files are read from: the local filesystem, or an S3
/// bucket (one store for the whole command).
#[derive(Debug)]
pub struct Files {
    location: Location,
    s3: Option<S3Files>,
}

impl Files {
    /// The files of `config`, connected to its bucket for an `s3://` path
    /// (requests retried as `retry` says).
    pub async fn connect(config: &Config, retry: RetryConfig) -> Result<Files, ConnectorError> {
        let location = config.location()?;
        let s3 = match &location {
            Location::Local(_) => None,
            Location::S3 { bucket, .. } => Some(S3Files::connect(config, bucket, retry).await?),
        };
        Ok(Files { location, s3 })
    }

    fn s3(&self) -> Result<&S3Files, ConnectorError> {
        self.s3
            .as_ref()
            .ok_or_else(|| ConnectorError::system("an s3:// path was read without an S3 connection"))
    }

    /// The streams of `config`.
    pub async fn plan(&self, config: &Config) -> Result<Vec<StreamPlan>, ConnectorError> {
        match (config.layout, &self.location) {
            (Layout::Single, Location::Local(root)) => {
                let path = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                Ok(vec![StreamPlan {
                    name: config.stream_name.clone().unwrap_or_else(|| default_name(&path)),
                    root: self.location.clone(),
                }])
            }
            (Layout::Single, Location::S3 { bucket, key }) => Ok(vec![StreamPlan {
                name: config
                    .stream_name
                    .clone()
                    .unwrap_or_else(|| default_s3_name(bucket, key)),
                root: self.location.clone(),
            }]),
            (Layout::PerSubdirectory, Location::Local(root)) => {
                if !root.is_dir() {
                    return Err(ConnectorError::config(format!(
                        "layout 'per_subdirectory' needs file_path to be a directory, and '{}' is not one.",
                        root.display()
                    )));
                }
                Ok(listing::subdirectories(root)?
                    .into_iter()
                    .map(|(name, path)| StreamPlan {
                        name,
                        root: Location::Local(path),
                    })
                    .collect())
            }
            (Layout::PerSubdirectory, Location::S3 { bucket, key }) => Ok(self
                .s3()?
                .subdirectories(key)
                .await?
                .into_iter()
                .map(|(name, prefix)| StreamPlan {
                    name,
                    root: Location::S3 {
                        bucket: bucket.clone(),
                        key: prefix,
                    },
                })
                .collect()),
        }
    }

    /// The files of a stream that have a readable format, and warnings for
    /// those skipped because their format is unknown.
    pub async fn files(
        &self,
        config: &Config,
        stream: &StreamPlan,
    ) -> Result<(Vec<FileEntry>, Vec<String>), ConnectorError> {
        let globs = listing::glob_set(&config.globs())?;
        let (all, mut warnings) = match &stream.root {
            Location::Local(root) => listing::list(root, globs.as_ref())?,
            Location::S3 { key, .. } => (self.s3()?.list(key, globs.as_ref()).await?, vec![]),
        };
        if config.file_format()?.is_some() {
            return Ok((all, warnings));
        }
        let files = all
            .into_iter()
            .filter(|f| {
                let known = FileFormat::from_extension(&f.relative).is_some();
                if !known {
                    warnings.push(format!(
                        "Skipping '{}': its format is not known from its extension. Set 'format' to read it.",
                        f.url
                    ));
                }
                known
            })
            .collect();
        Ok((files, warnings))
    }

    /// Checks that `file` can be opened (local) or fetched (a HEAD request).
    pub async fn probe(&self, file: &FileEntry) -> Result<(), ConnectorError> {
        match &file.file {
            listing::FileRef::Path(path) => std::fs::File::open(path)
                .map(drop)
                .map_err(|e| listing::io_error(path, e)),
            listing::FileRef::Object { .. } => self.s3()?.probe(file).await,
        }
    }
}

/// The format and compression of a config's files (`None`: per file).
pub fn decoding(config: &Config) -> Result<(Option<FileFormat>, Option<Compression>), ConnectorError> {
    Ok((config.file_format()?, config.compression()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_stream_names() {
        assert_eq!(default_s3_name("lake", ""), "lake");
        assert_eq!(default_s3_name("lake", "users/"), "users");
        assert_eq!(default_s3_name("lake", "a/users"), "users");
        assert_eq!(default_s3_name("lake", "a/users.csv.gz"), "users");
        assert_eq!(default_s3_name("lake", "a/data.v2"), "data.v2");
        assert_eq!(default_s3_name("lake", "a/users.csv/"), "users.csv");
    }
}
