//! Where a config's files are: one metered store
//! ([`lakeport_core::storage::Storage`]) for the whole command — core's
//! `LocalStorage` over a local directory (hidden names left out, what it
//! skipped kept for warnings) or core's S3 storage over a bucket —
//! `file_path`'s key in it, the URL prefix of its keys, the streams it
//! holds, and errors that name local paths.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lakeport_core::formats::FileFormat;
use lakeport_core::source::listing::subfolders;
use lakeport_core::source::plan::SkipNotes;
use lakeport_core::storage::{LocalStorage, Metered, RetryConfig};
use lakeport_protocol::ConnectorError;

use crate::config::{s3_url, Config, Layout, Location};

/// What a local `file_path` is.
#[derive(Debug)]
pub(crate) enum LocalKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// It cannot be read (missing, permission denied, a pipe…): the error.
    Unreadable(ConnectorError),
}

/// Where the store's keys are.
#[derive(Debug)]
pub(crate) enum Base {
    /// Under a local directory (as written in `file_path`).
    Local {
        /// The directory: `file_path`, or the one holding that file.
        dir: PathBuf,
        /// The store, for what its listings skipped.
        store: LocalStorage,
        /// What `file_path` is.
        kind: LocalKind,
    },
    /// In an S3 bucket.
    S3 {
        /// The bucket.
        bucket: String,
    },
}

/// Where a config's files are read from: one store for the whole command.
#[derive(Debug)]
pub struct Files {
    /// The store (a local directory or an S3 bucket), its requests counted.
    pub(crate) store: Metered,
    /// Where its keys are.
    pub(crate) base: Base,
    /// `file_path`'s key (a file, or for S3 possibly a prefix) or prefix.
    pub(crate) key: String,
}

impl Files {
    /// The files of `config`, connected to its bucket for an `s3://` path
    /// (requests retried as `retry` says).
    pub async fn connect(config: &Config, retry: RetryConfig) -> Result<Files, ConnectorError> {
        let (store, base, key) = match config.location()? {
            Location::Local(path) => {
                let kind = match std::fs::metadata(&path) {
                    Ok(m) if m.is_dir() => LocalKind::Dir,
                    Ok(m) if m.is_file() => LocalKind::File,
                    Ok(_) => LocalKind::Unreadable(ConnectorError::config(format!(
                        "'{}' is not a regular file (a named pipe, a socket or a device); point file_path at a file or a directory.",
                        path.display()
                    ))),
                    Err(e) => LocalKind::Unreadable(io_error(&path, e)),
                };
                // A file is a key of the directory holding it.
                let (dir, key) = match (&kind, path.file_name(), path.parent()) {
                    (LocalKind::File, Some(name), Some(parent)) => {
                        (parent.to_path_buf(), name.to_string_lossy().into_owned())
                    }
                    _ => (path, String::new()),
                };
                let local = LocalStorage::new(&dir).without_hidden().noting_skips();
                let store = Metered::new(Arc::new(local.clone()));
                (
                    store,
                    Base::Local {
                        dir,
                        store: local,
                        kind,
                    },
                    key,
                )
            }
            Location::S3 { bucket, key } => {
                let built = config.s3.connection(&bucket).builder().with_retry(retry);
                let store = built.build_metered().await.map_err(|e| {
                    let mut e = ConnectorError::from(e);
                    e.message = format!("file_path '{}': {}", config.file_path, e.message);
                    e
                })?;
                (store, Base::S3 { bucket }, key)
            }
        };
        Ok(Files { store, base, key })
    }

    /// What records and the state call a key: this prefix and the key (the
    /// local directory as written in `file_path`, or `s3://bucket/`).
    pub fn url_prefix(&self) -> String {
        match &self.base {
            Base::Local { dir, .. } => {
                let dir = dir.to_string_lossy();
                if dir.is_empty() || dir.ends_with(std::path::MAIN_SEPARATOR) || dir.ends_with('/') {
                    dir.into_owned()
                } else {
                    format!("{dir}{}", std::path::MAIN_SEPARATOR)
                }
            }
            Base::S3 { bucket } => s3_url(bucket, ""),
        }
    }

    /// What the local listings skipped, for the engine's warnings.
    pub fn skip_notes(&self) -> Option<SkipNotes> {
        match &self.base {
            Base::Local { store, .. } => {
                let store = store.clone();
                Some(SkipNotes(Arc::new(move || store.take_skipped())))
            }
            Base::S3 { .. } => None,
        }
    }

    /// The error of a local `file_path` that cannot be read, if any.
    pub fn unreadable(&self) -> Result<(), ConnectorError> {
        match &self.base {
            Base::Local {
                kind: LocalKind::Unreadable(e),
                ..
            } => Err(e.clone()),
            _ => Ok(()),
        }
    }

    /// The streams of `config`: their names and keys (a file) or prefixes (a directory).
    pub async fn streams(&self, config: &Config) -> Result<Vec<(String, String)>, ConnectorError> {
        if config.layout == Layout::Single {
            let name = match &self.base {
                Base::Local { kind, dir, .. } => {
                    let path = if self.key.is_empty() {
                        dir.clone()
                    } else {
                        dir.join(&self.key)
                    };
                    let path = std::fs::canonicalize(&path).unwrap_or(path);
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    let name = name.unwrap_or_else(|| "data".into());
                    if matches!(kind, LocalKind::File) {
                        without_extensions(&name)
                    } else {
                        name
                    }
                }
                Base::S3 { bucket } => default_s3_name(bucket, &self.key),
            };
            let name = config.stream_name.clone().unwrap_or(name);
            return Ok(vec![(name, self.key.clone())]);
        }
        if let Base::Local { kind, dir, .. } = &self.base {
            if !matches!(kind, LocalKind::Dir) {
                return Err(ConnectorError::config(format!(
                    "layout 'per_subdirectory' needs file_path to be a directory, and '{}' is not one.",
                    dir.join(&self.key).display()
                )));
            }
        }
        // Each immediate subdirectory (common prefix) is a stream.
        let dir = dir_prefix(&self.key);
        let names = subfolders(self.store.store(), &dir).await?;
        Ok(names
            .into_iter()
            .map(|name| (name.clone(), format!("{dir}{name}/")))
            .collect())
    }
}

/// The directory prefix of `key` (`key/`, or itself when empty or ending in `/`).
fn dir_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_string()
    } else {
        format!("{key}/")
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

/// An error about a local path, saying what to do.
pub fn io_error(path: &Path, e: std::io::Error) -> ConnectorError {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist; check file_path".to_string(),
        std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied); check its permissions".to_string(),
        _ => format!("cannot be read: {e}"),
    };
    ConnectorError::config(format!("'{}' {what}.", path.display()))
}
