//! Where a config's files are: one [`Storage`] for the whole command —
//! core's `LocalStorage` over a local directory (hidden names left out, what
//! it skipped kept for warnings) or core's S3 storage over a bucket — and
//! `file_path`'s key in it; the URL of a key, errors that name local paths,
//! and opening an object as batches.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lakeport_core::formats::{Compression, FileFormat};
use lakeport_core::source::object::open_object;
use lakeport_core::source::scan::Opener;
use lakeport_core::storage::{LocalStorage, ObjectMeta, RetryConfig, Storage, StorageError};
use lakeport_protocol::ConnectorError;
use tokio::runtime::Handle;

use crate::config::{s3_url, Config, Location};

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
    /// The store: a local directory or an S3 bucket.
    pub(crate) store: Arc<dyn Storage>,
    /// The runtime its requests run on.
    pub(crate) handle: Handle,
    /// Where its keys are.
    pub(crate) base: Base,
    /// `file_path`'s key (a file, or for S3 possibly a prefix) or prefix.
    pub(crate) key: String,
}

impl Files {
    /// The files of `config`, connected to its bucket for an `s3://` path
    /// (requests retried as `retry` says). Call it within the runtime the
    /// reads will run on.
    pub async fn connect(config: &Config, retry: RetryConfig) -> Result<Files, ConnectorError> {
        let (store, base, key): (Arc<dyn Storage>, _, _) = match config.location()? {
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
                let base = Base::Local {
                    dir,
                    store: local.clone(),
                    kind,
                };
                (Arc::new(local), base, key)
            }
            Location::S3 { bucket, key } => {
                let store = config.s3.connection(&bucket).builder().with_retry(retry).build().await;
                let store = store.map_err(|e| {
                    let mut e = ConnectorError::from(e);
                    e.message = format!("file_path '{}': {}", config.file_path, e.message);
                    e
                })?;
                (Arc::new(store), Base::S3 { bucket }, key)
            }
        };
        Ok(Files {
            store,
            handle: Handle::current(),
            base,
            key,
        })
    }

    /// The URL of `key`: a local path, or `s3://bucket/key`.
    pub fn url(&self, key: &str) -> String {
        match &self.base {
            Base::Local { dir, .. } if key.is_empty() => dir.display().to_string(),
            Base::Local { dir, .. } => dir.join(key.trim_end_matches('/')).to_string_lossy().into_owned(),
            Base::S3 { bucket } => s3_url(bucket, key),
        }
    }

    /// The error of a store request about `key`: a local one says which
    /// path and what to do, as [`io_error`] does.
    pub(crate) fn error(&self, key: &str, e: StorageError) -> ConnectorError {
        match (&self.base, e) {
            (Base::Local { .. }, StorageError::Io { path, source }) => io_error(Path::new(&path), source),
            (Base::Local { .. }, e) if e.is_not_found() => {
                io_error(Path::new(&self.url(key)), std::io::ErrorKind::NotFound.into())
            }
            (_, e) => e.into(),
        }
    }

    /// Checks that `file` can be read: opened (local) or found (an S3 HEAD request).
    pub async fn probe(&self, key: &str) -> Result<(), ConnectorError> {
        let found = match self.base {
            Base::Local { .. } => self.store.get(key).await.map(drop),
            Base::S3 { .. } => self.store.head(key).await.map(drop),
        };
        found.map_err(|e| self.error(key, e))
    }

    /// Opens the object `meta` at `url` (on a scan worker, or called at
    /// once from a blocking thread) as batches in the format of `decoding`
    /// (by extension when `None`), decompressed as it says (detected when `None`).
    pub fn opener(&self, meta: &ObjectMeta, url: &str, decoding: Decoding) -> Opener {
        let (store, handle, meta, url) = (self.store.clone(), self.handle.clone(), meta.clone(), url.to_string());
        Box::new(move |opts, target| {
            let format = decoding
                .0
                .or_else(|| FileFormat::from_extension(&meta.key))
                .ok_or_else(|| {
                    lakeport_core::Error::Config(format!(
                        "cannot tell the format of '{url}' from its extension; set 'format'"
                    ))
                })?;
            open_object(&handle, &store, &meta, format, decoding.1, opts, target)
        })
    }
}

/// The format and compression of a config's files (`None`: per file).
pub type Decoding = (Option<FileFormat>, Option<Compression>);

/// An error about a local path, saying what to do.
pub fn io_error(path: &Path, e: std::io::Error) -> ConnectorError {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist; check file_path".to_string(),
        std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied); check its permissions".to_string(),
        _ => format!("cannot be read: {e}"),
    };
    ConnectorError::config(format!("'{}' {what}.", path.display()))
}
