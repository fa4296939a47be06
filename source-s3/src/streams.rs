//! Which streams a config describes, and which objects belong to each:
//! a listing under the narrowest prefix the config allows, filtered by globs,
//! by format (for `auto`) and by `start_date`.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use lakeport_core::config::FormatOptions;
use lakeport_core::cursor::parse_timestamp;
use lakeport_core::formats::{Compression, FileFormat};
use lakeport_core::storage::{ListOptions, ObjectMeta, Storage, StorageExt};
use lakeport_protocol::ConnectorError;

use crate::config::SourceS3Config;

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
}

/// The objects a stream reads, and warnings about skipped ones.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// The selected objects, in key order.
    pub files: Vec<ObjectMeta>,
    /// Objects listed (before filtering).
    pub listed: u64,
    /// Warnings (objects skipped for an unknown format).
    pub warnings: Vec<String>,
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
                    let patterns = s.globs.clone().unwrap_or_default();
                    let prefix = s.path_prefix.as_deref().unwrap_or(&config.path_prefix);
                    Ok(StreamPlan {
                        name,
                        prefix: listing_prefix(prefix, &patterns),
                        globs: glob_set(&patterns)?,
                        patterns,
                        format: match &s.file_format {
                            Some(f) => parse_format(Some(f))?,
                            None => top_format,
                        },
                        compression: match &s.compression {
                            Some(c) => parse_compression(Some(c))?,
                            None => top_compression,
                        },
                        format_options: s.format_options.clone(),
                    })
                })
                .collect()
        }
        _ => {
            let patterns = config.globs.clone().unwrap_or_default();
            Ok(vec![StreamPlan {
                name: config.default_stream_name(),
                prefix: listing_prefix(&config.path_prefix, &patterns),
                globs: glob_set(&patterns)?,
                patterns,
                format: top_format,
                compression: top_compression,
                format_options: config.format_options.clone(),
            }])
        }
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

/// Lists a stream's objects (page by page; only selected ones are kept).
pub(crate) async fn list(
    store: &Arc<dyn Storage>,
    plan: &StreamPlan,
    since: Option<DateTime<Utc>>,
) -> Result<Listing, ConnectorError> {
    let mut listing = Listing::default();
    let mut unknown = 0usize;
    let mut objects = store.list_objects(ListOptions::prefix(plan.prefix.clone()));
    while let Some(meta) = objects.try_next().await? {
        listing.listed += 1;
        if meta.key.ends_with('/') {
            continue; // a "folder" marker object
        }
        if plan.globs.as_ref().is_some_and(|g| !g.is_match(&meta.key)) {
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
        listing.files.push(meta);
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
}
