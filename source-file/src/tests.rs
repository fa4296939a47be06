//! Which files the engine selects for source-file's configs: local
//! directories and files, S3 objects and prefixes, per-subdirectory streams.

use std::path::Path;
use std::sync::Arc;

use lakeport_core::source::listing::list;
use lakeport_core::storage::{LocalStorage, Metered, RetryConfig};
use lakeport_protocol::ConnectorError;

use crate::config::Config;
use crate::store::{Base, Files};
use crate::SourceFile;

fn config(value: serde_json::Value) -> Config {
    serde_json::from_value(value).unwrap()
}

/// What the engine lists for the first stream of `config` over `files`: the
/// keys relative to the stream's folder and their URLs, sorted, and the warnings.
type Found = (Vec<String>, Vec<String>, Vec<String>);

fn listed(rt: &tokio::runtime::Runtime, files: &Files, config: &Config) -> Result<Found, ConnectorError> {
    let source = SourceFile::default();
    rt.block_on(async {
        let engine = source.engine_over(config, files).await?;
        let stream = &engine.plan.streams[0];
        let listing = list(&engine.store, &engine.plan, stream, None).await?;
        let folder = stream.folder();
        let mut keys: Vec<String> = listing.files.iter().map(|m| m.key.clone()).collect();
        keys.sort();
        let relative = keys.iter().map(|k| k.strip_prefix(&folder).unwrap_or(k).to_string());
        let urls = keys.iter().map(|k| engine.plan.url(k)).collect();
        Ok((relative.collect(), urls, listing.warnings))
    })
}

/// The files of a local `path` matching `globs`.
fn list_local(rt: &tokio::runtime::Runtime, path: &Path, globs: &[&str]) -> Result<Found, ConnectorError> {
    let config = config(serde_json::json!({"file_path": path, "glob_pattern": globs}));
    let files = rt.block_on(Files::connect(&config, RetryConfig::default()))?;
    listed(rt, &files, &config)
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
    let (all, urls, _) = list_local(&rt, root, &[]).unwrap();
    assert_eq!(all, ["a/b/y.csv", "a/b/y.json", "a/x.csv", "z.csv"]);
    assert_eq!(urls[0], root.join("a/b/y.csv").to_string_lossy());
    let (csv, _, _) = list_local(&rt, root, &["*.csv"]).unwrap();
    assert_eq!(csv, ["a/b/y.csv", "a/x.csv", "z.csv"]);
    let (one, _, _) = list_local(&rt, root, &["a/*.csv"]).unwrap();
    assert_eq!(one, ["a/x.csv"]);
    let (single, urls, _) = list_local(&rt, &root.join("z.csv"), &[]).unwrap();
    assert_eq!(single, ["z.csv"]);
    assert_eq!(urls[0], root.join("z.csv").to_string_lossy());
    assert!(list_local(&rt, &root.join("missing"), &[])
        .unwrap_err()
        .message
        .contains("does not exist"));
    let e = list_local(&rt, root, &["["]).unwrap_err();
    assert!(e.message.contains("glob_pattern '['"), "{}", e.message);
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
    let (files, _, warnings) = list_local(&rt, root, &[]).unwrap();
    assert_eq!(files, ["a.csv"], "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("symbolic link")), "{warnings:?}");
    if made.is_ok_and(|s| s.success()) {
        assert!(warnings
            .iter()
            .any(|w| w.contains("pipe.csv") && w.contains("not a regular file")));
    }
}

/// An S3 store (bucket `b`) over the local directory `dir`, `key` its `file_path`'s key.
fn bucket(dir: &Path, key: &str) -> Files {
    Files {
        store: Metered::new(Arc::new(LocalStorage::new(dir))),
        base: Base::S3 { bucket: "b".into() },
        key: key.into(),
    }
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
    let list = |key: &str, globs: &[&str]| {
        let config = config(serde_json::json!({"file_path": format!("s3://b/{key}"), "glob_pattern": globs}));
        listed(&rt, &bucket(dir.path(), key), &config).unwrap()
    };
    let (one, urls, _) = list("top.csv", &[]);
    assert_eq!(one, ["top.csv"]);
    assert_eq!(urls, ["s3://b/top.csv"]);
    for key in ["data", "data/"] {
        assert_eq!(list(key, &[]).0, ["a.csv", "sub/b.csv"], "{key}");
    }
    let (some, urls, _) = list("data", &["sub/*.csv"]);
    assert_eq!(some.len(), 1);
    assert_eq!(urls, ["s3://b/data/sub/b.csv"]);
    assert!(list("missing", &[]).0.is_empty());
    let per_subdirectory = config(serde_json::json!({"file_path": "s3://b/", "layout": "per_subdirectory"}));
    let subdirs = |key: &str| rt.block_on(bucket(dir.path(), key).streams(&per_subdirectory)).unwrap();
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
fn s3_stream_names() {
    let name = |key: &str| {
        let config = config(serde_json::json!({"file_path": format!("s3://lake/{key}")}));
        let files = Files {
            base: Base::S3 { bucket: "lake".into() },
            ..bucket(Path::new("."), key)
        };
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(files.streams(&config)).unwrap().remove(0).0
    };
    assert_eq!(name(""), "lake");
    assert_eq!(name("users/"), "users");
    assert_eq!(name("a/users"), "users");
    assert_eq!(name("a/users.csv.gz"), "users");
    assert_eq!(name("a/data.v2"), "data.v2");
    assert_eq!(name("a/users.csv/"), "users.csv");
}
