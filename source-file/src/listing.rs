//! Which streams a config describes and which files belong to each, listed
//! through the store ([`Files`]): `file_path` names a file (an object), or a
//! directory (a prefix) whose files — filtered by glob patterns relative to
//! it, hidden ones skipped — are read in the order of their relative paths.
//! An S3 key that is no object is read as a prefix.
//!
//! `glob_pattern` is relative to the directory read, and a pattern without
//! `/` also matches in subdirectories (`find -name`); [`key_globs`] writes
//! it as patterns on whole keys, which [`glob_set`] compiles as source-s3
//! compiles its `globs` (`*` within one folder, `**` across folders).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use lakeport_core::formats::FileFormat;
use lakeport_core::source::sample::StreamFile;
use lakeport_core::storage::{ListOptions, ObjectMeta, StorageExt};
use lakeport_protocol::ConnectorError;

use crate::config::{Config, Layout};
use crate::store::{Base, Files, LocalKind};

/// One stream: its name and the key (a file) or prefix (a directory) of its files.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPlan {
    /// The stream's name.
    pub name: String,
    /// Its key or prefix in the store.
    pub root: String,
}

/// One file found.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// The URL recorded in `_ab_source_file_url` and the state: the local
    /// path (`file_path` joined with the relative path), or `s3://bucket/key`.
    pub url: String,
    /// Its path relative to the directory read (its own name for a single file).
    pub relative: String,
    /// The object: key, size, modification time.
    pub meta: ObjectMeta,
}

impl StreamFile for FileEntry {
    fn name(&self) -> &str {
        &self.url
    }

    fn last_modified(&self) -> DateTime<Utc> {
        self.meta.last_modified
    }
}

impl Files {
    /// The streams of `config`.
    pub async fn plan(&self, config: &Config) -> Result<Vec<StreamPlan>, ConnectorError> {
        if config.layout == Layout::Single {
            let name = match &self.base {
                Base::Local { kind, .. } => {
                    let path = PathBuf::from(self.url(&self.key));
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
            return Ok(vec![StreamPlan {
                name,
                root: self.key.clone(),
            }]);
        }
        if let Base::Local { kind, .. } = &self.base {
            if !matches!(kind, LocalKind::Dir) {
                return Err(ConnectorError::config(format!(
                    "layout 'per_subdirectory' needs file_path to be a directory, and '{}' is not one.",
                    self.url(&self.key)
                )));
            }
        }
        // Each immediate subdirectory (common prefix) is a stream.
        let dir = dir_prefix(&self.key);
        let pages: Vec<_> = self
            .store
            .list(ListOptions::prefix(dir.clone()).with_delimiter("/"))
            .try_collect()
            .await
            .map_err(|e| self.error(&dir, e))?;
        let mut plans: Vec<StreamPlan> = pages
            .into_iter()
            .flat_map(|page| page.common_prefixes)
            .filter_map(|prefix| {
                let name = prefix.strip_prefix(&dir)?.trim_end_matches('/').to_string();
                (!name.is_empty() && !name.starts_with('.')).then_some(StreamPlan { name, root: prefix })
            })
            .collect();
        plans.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(plans)
    }

    /// The files of `root`, a key or prefix: the object itself when one has
    /// this key, else every object under `root/` matching `globs` (all
    /// without), skipping folder markers and hidden names (a segment
    /// starting with `.`), sorted by relative path; and warnings for what
    /// the local listing skipped. One listing finds both.
    async fn list(&self, root: &str, patterns: &[String]) -> Result<(Vec<FileEntry>, Vec<String>), ConnectorError> {
        let entry = |meta: ObjectMeta, relative: String| FileEntry {
            url: self.url(&meta.key),
            relative,
            meta,
        };
        let name = root.rsplit('/').next().unwrap_or(root).to_string();
        match &self.base {
            Base::Local {
                kind: LocalKind::Unreadable(e),
                ..
            } => return Err(e.clone()),
            Base::Local {
                kind: LocalKind::File, ..
            } => {
                let meta = self.store.head(root).await.map_err(|e| self.error(root, e))?;
                return Ok((vec![entry(meta, name)], vec![]));
            }
            _ => {}
        }
        let objects: Vec<ObjectMeta> = self
            .store
            .list_objects(ListOptions::prefix(root))
            .try_collect()
            .await
            .map_err(|e| self.error(root, e))?;
        if !root.is_empty() && !root.ends_with('/') {
            if let Some(meta) = objects.iter().find(|m| m.key == root) {
                return Ok((vec![entry(meta.clone(), name)], vec![]));
            }
        }
        let dir = dir_prefix(root);
        let globs = glob_set(&key_globs(patterns, &dir)?)?;
        let selected = |key: &str| -> Option<String> {
            let relative = key.strip_prefix(&dir)?;
            let hidden = relative.split('/').any(|segment| segment.starts_with('.'));
            let skip = relative.is_empty()
                || relative.ends_with('/')
                || hidden
                || globs.as_ref().is_some_and(|g| !g.is_match(key));
            (!skip).then(|| relative.to_string())
        };
        let mut files: Vec<FileEntry> = objects
            .into_iter()
            .filter_map(|meta| selected(&meta.key).map(|relative| entry(meta, relative)))
            .collect();
        files.sort_by(|a, b| a.relative.cmp(&b.relative));
        // What the local listing skipped: under the directory, and for a file, matching the globs.
        let warnings = match &self.base {
            Base::Local { store, .. } => store
                .take_skipped()
                .into_iter()
                .filter(|s| s.key.starts_with(&dir) && (s.key.ends_with('/') || selected(&s.key).is_some()))
                .map(|s| s.why)
                .collect(),
            Base::S3 { .. } => vec![],
        };
        Ok((files, warnings))
    }

    /// The files of a stream that have a readable format, and warnings for
    /// those skipped (their format is unknown, or they are no regular file).
    pub async fn files(
        &self,
        config: &Config,
        stream: &StreamPlan,
    ) -> Result<(Vec<FileEntry>, Vec<String>), ConnectorError> {
        let (mut files, mut warnings) = self.list(&stream.root, &config.globs()).await?;
        if config.file_format()?.is_none() {
            files.retain(|f| {
                let known = FileFormat::from_extension(&f.relative).is_some();
                if !known {
                    warnings.push(format!(
                        "Skipping '{}': its format is not known from its extension. Set 'format' to read it.",
                        f.url
                    ));
                }
                known
            });
        }
        Ok((files, warnings))
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

/// `glob_pattern` (relative to the directory read, a leading `./` or `/`
/// ignored) as patterns on the whole keys under `dir` (a prefix: `""` or
/// ending in `/`): `dir` + the pattern, and for a pattern written without
/// `/` also `dir**/` + the pattern, so `*.csv` matches at any depth as
/// `find -name` does (`**/` matches no folder too).
pub fn key_globs(patterns: &[String], dir: &str) -> Result<Vec<String>, ConnectorError> {
    let dir = globset::escape(dir);
    let mut out = Vec::new();
    for p in patterns {
        GlobBuilder::new(p).build().map_err(|e| {
            ConnectorError::config(format!(
                "glob_pattern '{p}' is not a valid glob: {e}. Use patterns such as '*.csv' or '**/*.parquet'."
            ))
        })?;
        let relative = p.trim_start_matches("./").trim_start_matches('/');
        out.push(format!("{dir}{relative}"));
        if !p.contains('/') {
            out.push(format!("{dir}**/{relative}"));
        }
    }
    Ok(out)
}

/// Compiles glob patterns matched against whole keys: `*` stays within one
/// folder, `**` crosses folders (source-s3's `globs`).
pub fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, ConnectorError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(p.trim_start_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| ConnectorError::config(format!("glob_pattern '{p}' is not a valid glob: {e}.")))?;
        b.add(glob);
    }
    b.build()
        .map(Some)
        .map_err(|e| ConnectorError::config(format!("glob_pattern is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use lakeport_core::storage::{LocalStorage, RetryConfig};
    use tokio::runtime::Handle;

    use super::*;

    fn config(value: serde_json::Value) -> Config {
        serde_json::from_value(value).unwrap()
    }

    /// The files of a local `path`: relative paths, URLs and warnings.
    fn list_local(
        rt: &tokio::runtime::Runtime,
        path: &Path,
        globs: &[&str],
    ) -> Result<(Vec<FileEntry>, Vec<String>), ConnectorError> {
        let config = config(serde_json::json!({"file_path": path}));
        let files = rt.block_on(Files::connect(&config, RetryConfig::default()))?;
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        rt.block_on(files.list(&files.key, &globs))
    }

    fn relatives(found: &[FileEntry]) -> Vec<&str> {
        found.iter().map(|e| e.relative.as_str()).collect()
    }

    #[test]
    fn walks_filters_and_sorts() {
        let rt = tokio::runtime::Runtime::new().unwrap();
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
        let (all, _) = list_local(&rt, root, &[]).unwrap();
        assert_eq!(relatives(&all), ["a/b/y.csv", "a/b/y.json", "a/x.csv", "z.csv"]);
        assert_eq!(all[0].url, root.join("a/b/y.csv").to_string_lossy());
        let (csv, _) = list_local(&rt, root, &["*.csv"]).unwrap();
        assert_eq!(relatives(&csv), ["a/b/y.csv", "a/x.csv", "z.csv"]);
        let (one, _) = list_local(&rt, root, &["a/*.csv"]).unwrap();
        assert_eq!(relatives(&one), ["a/x.csv"]);
        let (single, _) = list_local(&rt, &root.join("z.csv"), &[]).unwrap();
        assert_eq!(relatives(&single), ["z.csv"]);
        assert_eq!(single[0].url, root.join("z.csv").to_string_lossy());
        assert!(list_local(&rt, &root.join("missing"), &[])
            .unwrap_err()
            .message
            .contains("does not exist"));
        assert!(key_globs(&["[".into()], "").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn pipes_and_link_loops_are_skipped_with_a_warning() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("a.csv"), "x").unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        let fifo = root.join("pipe.csv");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        let (files, warnings) = list_local(&rt, root, &[]).unwrap();
        assert_eq!(relatives(&files), ["a.csv"], "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("symbolic link")), "{warnings:?}");
        if made.is_ok_and(|s| s.success()) {
            assert!(warnings
                .iter()
                .any(|w| w.contains("pipe.csv") && w.contains("not a regular file")));
        }
    }

    fn bucket(rt: &tokio::runtime::Runtime, dir: &Path, key: &str) -> Files {
        rt.block_on(async {
            Files {
                store: Arc::new(LocalStorage::new(dir)),
                handle: Handle::current(),
                base: Base::S3 { bucket: "b".into() },
                key: key.into(),
            }
        })
    }

    #[test]
    fn lists_an_object_or_a_prefix() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        for key in [
            "data/a.csv",
            "data/sub/b.csv",
            "data/.hidden/c.csv",
            "data2/x.csv",
            "top.csv",
        ] {
            let path = dir.path().join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "id\n1\n").unwrap();
        }
        let s3 = bucket(&rt, dir.path(), "");
        let list = |key: &str, globs: &[String]| rt.block_on(s3.list(key, globs)).unwrap().0;
        let one = list("top.csv", &[]);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].relative, "top.csv");
        assert_eq!(one[0].url, "s3://b/top.csv");
        for key in ["data", "data/"] {
            assert_eq!(relatives(&list(key, &[])), ["a.csv", "sub/b.csv"], "{key}");
        }
        let some = list("data", &["sub/*.csv".into()]);
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].url, "s3://b/data/sub/b.csv");
        assert!(list("missing", &[]).is_empty());
        let per_subdirectory = config(serde_json::json!({"file_path": "s3://b/", "layout": "per_subdirectory"}));
        let subdirs = |key: &str| {
            let plans = rt
                .block_on(bucket(&rt, dir.path(), key).plan(&per_subdirectory))
                .unwrap();
            plans.into_iter().map(|p| (p.name, p.root)).collect::<Vec<_>>()
        };
        assert_eq!(
            subdirs(""),
            [
                ("data".to_string(), "data/".to_string()),
                ("data2".into(), "data2/".into())
            ]
        );
        assert_eq!(subdirs("data")[0].0, "sub");
    }

    #[test]
    fn glob_pattern_is_relative_and_bare_names_match_at_any_depth() {
        let set = |patterns: &[&str], dir: &str| {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            glob_set(&key_globs(&patterns, dir).unwrap()).unwrap().unwrap()
        };
        let g = set(&["*.csv"], "data/");
        assert!(g.is_match("data/x.csv") && g.is_match("data/a/b/x.csv"));
        assert!(!g.is_match("other/x.csv") && !g.is_match("data/x.json"));
        for pattern in ["a/*.csv", "./a/*.csv", "/a/*.csv"] {
            let g = set(&[pattern], "data/");
            assert!(g.is_match("data/a/x.csv"), "{pattern}");
            assert!(!g.is_match("data/a/b/x.csv") && !g.is_match("data/x.csv"), "{pattern}");
        }
        let g = set(&["./*.csv"], "");
        assert!(g.is_match("x.csv") && !g.is_match("a/x.csv"));
        let g = set(&["*.csv"], "we[ir]d/");
        assert!(g.is_match("we[ir]d/x.csv") && !g.is_match("wed/x.csv"));
    }

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
