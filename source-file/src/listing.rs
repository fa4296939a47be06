//! Finding the files to read: a single file, or a directory walked
//! recursively and filtered by glob patterns, in a stable order; and opening
//! a file found, local or stored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use lakeport_core::formats::{self, BatchReader, Compression, FileFormat, ReadOptions};
use lakeport_core::source::object::open_object;
use lakeport_core::source::sample::StreamFile;
use lakeport_core::source::scan::Opener;
use lakeport_core::storage::{ObjectMeta, Storage};
use lakeport_protocol::ConnectorError;
use tokio::runtime::Handle;

/// Where a file found is.
#[derive(Debug, Clone)]
pub enum FileRef {
    /// A local file.
    Path(PathBuf),
    /// A stored object, read through `store` on the runtime of `handle`.
    Object {
        /// The store (an S3 bucket).
        store: Arc<dyn Storage>,
        /// The runtime its requests run on.
        handle: Handle,
        /// The object.
        meta: ObjectMeta,
    },
}

/// One file found.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Where it is.
    pub file: FileRef,
    /// The URL recorded in `_ab_source_file_url` and the state: the path as
    /// given, or `s3://bucket/key`.
    pub url: String,
    /// Its path relative to the directory read (its own name for a single file).
    pub relative: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last modified.
    pub last_modified: DateTime<Utc>,
}

impl FileEntry {
    /// Opens the file as batches in `format` (by extension when `None`),
    /// decompressed as `compression` says (detected when `None`). Blocks: call
    /// it from a blocking thread.
    pub fn open(
        &self,
        format: Option<FileFormat>,
        compression: Option<Compression>,
        opts: &ReadOptions,
        target: Option<SchemaRef>,
    ) -> lakeport_core::Result<Box<dyn BatchReader>> {
        match &self.file {
            FileRef::Path(path) => formats::read_path(path, format, compression, opts, target),
            FileRef::Object { store, handle, meta } => {
                let format = match format.or_else(|| FileFormat::from_extension(&meta.key)) {
                    Some(f) => f,
                    None => {
                        return Err(lakeport_core::Error::Config(format!(
                            "cannot tell the format of '{}' from its extension; set 'format'",
                            self.url
                        )))
                    }
                };
                open_object(handle, store, meta, format, compression, opts, target)
            }
        }
    }

    /// [`FileEntry::open`] later, on a scan worker.
    pub fn opener(&self, format: Option<FileFormat>, compression: Option<Compression>) -> Opener {
        let file = self.clone();
        Box::new(move |opts, target| file.open(format, compression, opts, target))
    }
}

impl StreamFile for FileEntry {
    fn name(&self) -> &str {
        &self.url
    }

    fn last_modified(&self) -> DateTime<Utc> {
        self.last_modified
    }
}

/// Compiles glob patterns (matched against paths relative to the directory).
pub fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, ConnectorError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // `*` stays within one folder; `**` crosses folders.
        let glob = GlobBuilder::new(p.trim_start_matches("./"))
            .literal_separator(true)
            .build()
            .map_err(|e| {
                ConnectorError::config(format!(
                    "glob_pattern '{p}' is not a valid glob: {e}. Use patterns such as '*.csv' or '**/*.parquet'."
                ))
            })?;
        b.add(glob);
        // `*.csv` in a directory also means files in its subdirectories when
        // the pattern has no separator, as `find -name` users expect.
        if !p.contains('/') {
            if let Ok(g) = GlobBuilder::new(&format!("**/{p}")).literal_separator(true).build() {
                b.add(g);
            }
        }
    }
    b.build()
        .map(Some)
        .map_err(|e| ConnectorError::config(format!("glob_pattern is not valid: {e}")))
}

fn entry(path: &Path, relative: String) -> Result<FileEntry, ConnectorError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    let modified = meta.modified().map_err(|e| io_error(path, e))?;
    Ok(FileEntry {
        file: FileRef::Path(path.to_path_buf()),
        url: path.to_string_lossy().into_owned(),
        relative,
        size: meta.len(),
        last_modified: DateTime::<Utc>::from(modified),
    })
}

/// An error about a path, saying what to do.
pub fn io_error(path: &Path, e: std::io::Error) -> ConnectorError {
    let what = match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist; check file_path".to_string(),
        std::io::ErrorKind::PermissionDenied => "cannot be read (permission denied); check its permissions".to_string(),
        _ => format!("cannot be read: {e}"),
    };
    ConnectorError::config(format!("'{}' {what}.", path.display()))
}

/// Lists `root`: itself when it is a file, else every file below it matching
/// `globs` (all files when there are none), sorted by relative path, with
/// warnings. Hidden files and our temporary files are skipped; so are, with
/// a warning, what is not a regular file (a named pipe or a device would
/// block or never end) and a directory reached again through a symbolic
/// link (a link to a parent would loop).
pub fn list(root: &Path, globs: Option<&GlobSet>) -> Result<(Vec<FileEntry>, Vec<String>), ConnectorError> {
    let meta = std::fs::metadata(root).map_err(|e| io_error(root, e))?;
    if meta.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((vec![entry(root, name)?], vec![]));
    }
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    let mut visited = std::collections::HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if let Ok(real) = std::fs::canonicalize(&dir) {
            if !visited.insert(real.clone()) {
                warnings.push(format!(
                    "Skipping '{}': it is '{}' again, reached through a symbolic link.",
                    dir.display(),
                    real.display()
                ));
                continue;
            }
        }
        let rd = std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))?;
        for item in rd {
            let item = item.map_err(|e| io_error(&dir, e))?;
            let name = item.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = item.path();
            let ft = item.file_type().map_err(|e| io_error(&path, e))?;
            let is_dir = ft.is_dir() || (ft.is_symlink() && path.is_dir());
            if is_dir {
                stack.push(path);
                continue;
            }
            let relative = path
                .strip_prefix(root)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_else(|_| name.clone());
            if globs.is_some_and(|g| !g.is_match(&relative)) {
                continue;
            }
            if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
                warnings.push(format!(
                    "Skipping '{}': it is not a regular file (a named pipe, a socket, a device or a broken link).",
                    path.display()
                ));
                continue;
            }
            out.push(entry(&path, relative)?);
        }
    }
    out.sort_by(|a, b| a.relative.cmp(&b.relative));
    Ok((out, warnings))
}

/// The immediate subdirectories of `root`, sorted (layout `per_subdirectory`).
pub fn subdirectories(root: &Path) -> Result<Vec<(String, PathBuf)>, ConnectorError> {
    let mut out = Vec::new();
    for item in std::fs::read_dir(root).map_err(|e| io_error(root, e))? {
        let item = item.map_err(|e| io_error(root, e))?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && item.path().is_dir() {
            out.push((name, item.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_filters_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in [
            "z.csv",
            "a/x.csv",
            "a/b/y.csv",
            "a/b/y.json",
            ".hidden.csv",
            "a/.t.lakeport-tmp",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let (all, _) = list(root, None).unwrap();
        let names: Vec<_> = all.iter().map(|e| e.relative.as_str()).collect();
        assert_eq!(names, ["a/b/y.csv", "a/b/y.json", "a/x.csv", "z.csv"]);
        let g = glob_set(&["*.csv".into()]).unwrap();
        let csv: Vec<_> = list(root, g.as_ref())
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.relative)
            .collect();
        assert_eq!(csv, ["a/b/y.csv", "a/x.csv", "z.csv"]);
        let g = glob_set(&["a/*.csv".into()]).unwrap();
        let one: Vec<_> = list(root, g.as_ref())
            .unwrap()
            .0
            .into_iter()
            .map(|e| e.relative)
            .collect();
        assert_eq!(one, ["a/x.csv"]);
        let (single, _) = list(&root.join("z.csv"), None).unwrap();
        assert_eq!(single[0].relative, "z.csv");
        assert!(list(&root.join("missing"), None)
            .unwrap_err()
            .message
            .contains("does not exist"));
        assert!(glob_set(&["[".into()]).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_link_loops_are_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.csv"), "x").unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        let fifo = root.join("pipe.csv");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let (files, warnings) = list(root, None).unwrap();
        let names: Vec<_> = files.iter().map(|e| e.relative.as_str()).collect();
        assert_eq!(names, ["a.csv"], "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("symbolic link")), "{warnings:?}");
        if made.is_ok_and(|s| s.success()) {
            assert!(warnings
                .iter()
                .any(|w| w.contains("pipe.csv") && w.contains("not a regular file")));
        }
    }
}
