//! Files of an `s3://bucket/key` file_path, through the core S3 storage:
//! the key itself when it is an object, else the objects under `key/` as a
//! directory's files (filtered by glob patterns, hidden ones skipped, in key
//! order), and the immediate "subdirectories" (common prefixes) of a prefix.

use std::sync::Arc;

use futures::TryStreamExt;
use globset::GlobSet;
use lakeport_core::storage::{ListOptions, ObjectMeta, RetryConfig, Storage, StorageExt};
use lakeport_protocol::ConnectorError;
use tokio::runtime::Handle;

use crate::config::Config;
use crate::listing::{FileEntry, FileRef};
use crate::location::s3_url;

/// A bucket and the store reading it.
#[derive(Debug, Clone)]
pub struct S3Files {
    store: Arc<dyn Storage>,
    bucket: String,
    handle: Handle,
}

impl S3Files {
    /// Connects to `bucket` with the config's S3 keys and `retry`. Call it
    /// within the runtime the reads will run on.
    pub async fn connect(config: &Config, bucket: &str, retry: RetryConfig) -> Result<S3Files, ConnectorError> {
        let store = config
            .s3
            .connection(bucket)
            .builder()
            .with_retry(retry)
            .build()
            .await
            .map_err(|e| {
                let mut e = ConnectorError::from(e);
                e.message = format!("file_path '{}': {}", config.file_path, e.message);
                e
            })?;
        Ok(S3Files {
            store: Arc::new(store),
            bucket: bucket.to_string(),
            handle: Handle::current(),
        })
    }

    /// The directory prefix of `key` (`key/`, or itself when empty or ending in `/`).
    fn dir_prefix(key: &str) -> String {
        if key.is_empty() || key.ends_with('/') {
            key.to_string()
        } else {
            format!("{key}/")
        }
    }

    fn entry(&self, meta: ObjectMeta, relative: String) -> FileEntry {
        FileEntry {
            url: s3_url(&self.bucket, &meta.key),
            relative,
            size: meta.size,
            last_modified: meta.last_modified,
            file: FileRef::Object {
                store: self.store.clone(),
                handle: self.handle.clone(),
                meta,
            },
        }
    }

    /// The files of `key`: the object itself when one has this key, else
    /// every object under `key/` matching `globs` (all without), skipping
    /// folder markers and hidden names (a segment starting with `.`), sorted
    /// by relative path. One listing of `key` finds both.
    pub async fn list(&self, key: &str, globs: Option<&GlobSet>) -> Result<Vec<FileEntry>, ConnectorError> {
        let objects: Vec<ObjectMeta> = self.store.list_objects(ListOptions::prefix(key)).try_collect().await?;
        if !key.is_empty() && !key.ends_with('/') {
            if let Some(meta) = objects.iter().find(|m| m.key == key) {
                let name = key.rsplit('/').next().unwrap_or(key).to_string();
                return Ok(vec![self.entry(meta.clone(), name)]);
            }
        }
        let dir = Self::dir_prefix(key);
        let mut out: Vec<FileEntry> = objects
            .into_iter()
            .filter_map(|meta| {
                let relative = meta.key.strip_prefix(&dir)?.to_string();
                let hidden = relative.split('/').any(|segment| segment.starts_with('.'));
                let skip = relative.is_empty()
                    || relative.ends_with('/')
                    || hidden
                    || globs.is_some_and(|g| !g.is_match(&relative));
                (!skip).then(|| self.entry(meta, relative))
            })
            .collect();
        out.sort_by(|a, b| a.relative.cmp(&b.relative));
        Ok(out)
    }

    /// The immediate "subdirectories" of `key` as a prefix: `(name, prefix)`
    /// of each, sorted, hidden ones skipped.
    pub async fn subdirectories(&self, key: &str) -> Result<Vec<(String, String)>, ConnectorError> {
        let dir = Self::dir_prefix(key);
        let pages: Vec<_> = self
            .store
            .list(ListOptions::prefix(dir.clone()).with_delimiter("/"))
            .try_collect()
            .await?;
        let mut out: Vec<(String, String)> = pages
            .into_iter()
            .flat_map(|page| page.common_prefixes)
            .filter_map(|prefix| {
                let name = prefix.strip_prefix(&dir)?.trim_end_matches('/').to_string();
                (!name.is_empty() && !name.starts_with('.')).then_some((name, prefix))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Checks that `file` can be read (a HEAD request of its object).
    pub async fn probe(&self, file: &FileEntry) -> Result<(), ConnectorError> {
        if let FileRef::Object { meta, .. } = &file.file {
            self.store.head(&meta.key).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lakeport_core::storage::LocalStorage;

    fn files(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> S3Files {
        rt.block_on(async {
            S3Files {
                store: Arc::new(LocalStorage::new(dir)),
                bucket: "b".into(),
                handle: Handle::current(),
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
        let s3 = files(&rt, dir.path());
        let one = rt.block_on(s3.list("top.csv", None)).unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].relative, "top.csv");
        assert_eq!(one[0].url, "s3://b/top.csv");
        for key in ["data", "data/"] {
            let all = rt.block_on(s3.list(key, None)).unwrap();
            let names: Vec<&str> = all.iter().map(|f| f.relative.as_str()).collect();
            assert_eq!(names, ["a.csv", "sub/b.csv"], "{key}");
        }
        let g = crate::listing::glob_set(&["sub/*.csv".into()]).unwrap();
        let some = rt.block_on(s3.list("data", g.as_ref())).unwrap();
        assert_eq!(some.len(), 1);
        assert_eq!(some[0].url, "s3://b/data/sub/b.csv");
        assert!(rt.block_on(s3.list("missing", None)).unwrap().is_empty());
        let subdirs = rt.block_on(s3.subdirectories("")).unwrap();
        assert_eq!(
            subdirs,
            [
                ("data".to_string(), "data/".to_string()),
                ("data2".into(), "data2/".into())
            ]
        );
        assert_eq!(rt.block_on(s3.subdirectories("data")).unwrap()[0].0, "sub");
    }
}
