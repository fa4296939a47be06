//! Object keys of object-store destinations: the engine names each file by a
//! relative path
//! `<stream>/[<k=v>/…]<stream>_<YYYYMMDD_HHMMSS>[_w<writer>][_<n>].<ext>`;
//! this module turns it into the object key (in Airbyte's layout, a writer
//! id goes before the extension: `…_0_w3.parquet`).
//!
//! - [`KeyLayout::Native`]: `<path_prefix>/<relative path>`.
//! - [`KeyLayout::Pattern`]: the layout of Airbyte's destination-s3 (and its
//!   object-store kin),
//!   `<path_prefix>/<path_format expanded><file_name_pattern expanded>`, with
//!   the `${…}` path variables and `{…}` file name placeholders Airbyte
//!   documents; the default is
//!   `${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_` +
//!   `{part_number}{format_extension}` → `raw/public/users/2024_01_05_1704412800000_0.parquet`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::layout::{writer_in_name, WRITER_MARK};
use crate::storage::join_key;
use chrono::{DateTime, Utc};

/// Airbyte's default `s3_path_format`.
pub const DEFAULT_PATH_FORMAT: &str = "${NAMESPACE}/${STREAM_NAME}/${YEAR}_${MONTH}_${DAY}_${EPOCH}_";
/// Airbyte's default file name.
pub const DEFAULT_FILE_NAME_PATTERN: &str = "{part_number}{format_extension}";

/// Stream folder name (as the engine writes it) → (stream name, namespace).
pub type StreamNames = Arc<Mutex<HashMap<String, (String, Option<String>)>>>;

/// How relative paths become keys.
#[derive(Debug, Clone)]
pub enum KeyLayout {
    /// `<prefix>/<relative path>`.
    Native {
        /// The key prefix (`path_prefix`).
        prefix: String,
    },
    /// Airbyte's `s3_path_format` + `file_name_pattern`.
    Pattern(Pattern),
}

/// The Airbyte layout's settings.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// `s3_bucket_path`.
    pub prefix: String,
    /// `s3_path_format`.
    pub path_format: String,
    /// `file_name_pattern`.
    pub file_name_pattern: String,
    /// The sync's time (every time variable).
    pub time: DateTime<Utc>,
    /// The engine's stamp in relative paths (`YYYYMMDD_HHMMSS`).
    pub stamp: String,
    /// The files' extension without the dot (`jsonl.gz`).
    pub extension: String,
    /// `{sync_id}`.
    pub sync_id: String,
    /// Real stream names and namespaces by folder name.
    pub streams: StreamNames,
}

impl KeyLayout {
    /// The key of the file at `rel_path`.
    pub fn key(&self, rel_path: &str) -> String {
        match self {
            KeyLayout::Native { prefix } => join_key(prefix, rel_path),
            KeyLayout::Pattern(p) => p.key(rel_path),
        }
    }

    /// Where a stream's older objects are: the prefix to list, and the file
    /// name prefix they have (`None`: every object under the prefix).
    pub fn stream_scope(&self, dir: &str, file_prefix: &str) -> (String, Option<String>) {
        match self {
            KeyLayout::Native { prefix } => (format!("{}/", join_key(prefix, dir)), Some(file_prefix.to_string())),
            KeyLayout::Pattern(p) => (p.stream_prefix(dir), None),
        }
    }
}

/// Collapses runs of `/` and drops a leading one.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '/' && (out.is_empty() || out.ends_with('/')) {
            continue;
        }
        out.push(c);
    }
    out
}

impl Pattern {
    fn names(&self, dir: &str) -> (String, Option<String>) {
        self.streams
            .lock()
            .ok()
            .and_then(|m| m.get(dir).cloned())
            .unwrap_or_else(|| (dir.to_string(), None))
    }

    /// `${…}` variables of the path format, expanded. `stop_at_time` stops
    /// at the first variable that is not the namespace or stream (for the
    /// stream's listing prefix).
    fn expand_path(&self, dir: &str, stop_at_time: bool) -> String {
        let (name, namespace) = self.names(dir);
        let t = self.time;
        let mut out = String::new();
        let mut rest = self.path_format.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            let value = match var {
                "NAMESPACE" => namespace.clone().unwrap_or_default(),
                "STREAM_NAME" => name.clone(),
                _ if stop_at_time => return out,
                "YEAR" => t.format("%Y").to_string(),
                "MONTH" => t.format("%m").to_string(),
                "DAY" => t.format("%d").to_string(),
                "HOUR" => t.format("%H").to_string(),
                "MINUTE" => t.format("%M").to_string(),
                "SECOND" => t.format("%S").to_string(),
                "MILLISECOND" => format!("{:02}", t.timestamp_subsec_millis()),
                "EPOCH" => t.timestamp_millis().to_string(),
                "UUID" => uuid::Uuid::new_v4().to_string(),
                other => format!("${{{other}}}"),
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// The listing prefix of a stream's objects.
    fn stream_prefix(&self, dir: &str) -> String {
        let path = self.expand_path(dir, true);
        let path = match path.rfind('/') {
            Some(i) => &path[..=i],
            None => "",
        };
        let full = collapse(&format!("{}/{}", self.prefix, path));
        if full.is_empty() || full.ends_with('/') {
            full
        } else {
            format!("{full}/")
        }
    }

    /// The `{…}` placeholders of the file name, expanded.
    fn file_name(&self, part: usize) -> String {
        let t = self.time;
        let pattern = self.file_name_pattern.trim().replace(' ', "_");
        let mut out = String::new();
        let mut rest = pattern.as_str();
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let var = &after[..end];
            let value = match var {
                "date" => t.format("%Y_%m_%d").to_string(),
                "timestamp" | "timestamp:millis" => t.timestamp_millis().to_string(),
                "timestamp:micros" | "timestamp:micro" => t.timestamp_micros().to_string(),
                "part_number" => part.to_string(),
                "sync_id" => self.sync_id.clone(),
                "format_extension" => format!(".{}", self.extension),
                v if v.starts_with("date:") => t.format(&java_date_format(&v[5..])).to_string(),
                other => format!("{{{other}}}"),
            };
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn key(&self, rel_path: &str) -> String {
        let mut segments: Vec<&str> = rel_path.split('/').collect();
        let file_in_path = segments.pop().unwrap_or_default();
        let dir = segments.first().copied().unwrap_or_default();
        let partitions = segments.get(1..).unwrap_or_default().join("/");
        let part = part_number(file_in_path, dir, &self.stamp);
        let mut path = self.expand_path(dir, false);
        if !partitions.is_empty() {
            if !path.is_empty() && !path.ends_with('/') {
                path.push('/');
            }
            path.push_str(&partitions);
            path.push('/');
        }
        let mut file = self.file_name(part);
        let ext = format!(".{}", self.extension);
        if part > 0 && !self.file_name_pattern.contains("{part_number}") {
            // Without {part_number} the rollover files of a stream would
            // share one key: number them before the extension.
            match file.strip_suffix(&ext) {
                Some(stem) => file = format!("{stem}_{part}{ext}"),
                None => file = format!("{file}_{part}"),
            }
        }
        if let Some(writer) = writer_in_name(file_in_path, &format!("{dir}_")) {
            // Several writers of one stream: their keys differ by the writer id.
            match file.strip_suffix(&ext) {
                Some(stem) => file = format!("{stem}{WRITER_MARK}{writer}{ext}"),
                None => file = format!("{file}{WRITER_MARK}{writer}"),
            }
        }
        collapse(&format!("{}/{}{}", self.prefix, path, file))
    }
}

/// The rollover number `n` of `<dir>_<stamp>[_w<writer>][_<n>].<ext>` (0 without one).
fn part_number(file: &str, dir: &str, stamp: &str) -> usize {
    let writer = writer_in_name(file, &format!("{dir}_"));
    let head = match writer {
        Some(w) => format!("{dir}_{stamp}{WRITER_MARK}{w}"),
        None => format!("{dir}_{stamp}"),
    };
    file.strip_prefix(&head)
        .and_then(|rest| rest.strip_prefix('_'))
        .and_then(|rest| rest.split('.').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A Java `SimpleDateFormat` pattern (`yyyy_MM`, `yyyy-MM-dd'T'HH`) as a
/// chrono format.
fn java_date_format(p: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                out.push(chars[i]);
                i += 1;
            }
            i += 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let spec = match (c, n) {
            ('y', 2) => "%y",
            ('y', _) => "%Y",
            ('M', 1 | 2) => "%m",
            ('M', 3) => "%b",
            ('M', _) => "%B",
            ('d', _) => "%d",
            ('H', _) => "%H",
            ('h', _) => "%I",
            ('m', _) => "%M",
            ('s', _) => "%S",
            ('S', _) => "%3f",
            ('a', _) => "%p",
            ('%', _) => "%%",
            _ => {
                for _ in 0..n {
                    out.push(c);
                }
                i += n;
                continue;
            }
        };
        out.push_str(spec);
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(path_format: &str, file: &str) -> Pattern {
        let streams: StreamNames = Default::default();
        streams
            .lock()
            .unwrap()
            .insert("users".into(), ("users".into(), Some("public".into())));
        Pattern {
            prefix: "data_output_path".into(),
            path_format: path_format.into(),
            file_name_pattern: file.into(),
            time: DateTime::from_timestamp_millis(1_609_459_200_123).unwrap(),
            stamp: "20210101_000000".into(),
            extension: "csv.gz".into(),
            sync_id: "42".into(),
            streams,
        }
    }

    #[test]
    fn airbyte_default_layout() {
        let p = pattern(DEFAULT_PATH_FORMAT, DEFAULT_FILE_NAME_PATTERN);
        assert_eq!(
            p.key("users/users_20210101_000000.csv.gz"),
            "data_output_path/public/users/2021_01_01_1609459200123_0.csv.gz"
        );
        assert_eq!(
            p.key("users/users_20210101_000000_3.csv.gz"),
            "data_output_path/public/users/2021_01_01_1609459200123_3.csv.gz"
        );
        assert_eq!(p.stream_prefix("users"), "data_output_path/public/users/");
        // No namespace: the empty segment collapses.
        let p = Pattern {
            streams: Default::default(),
            ..p
        };
        assert_eq!(
            p.key("orders/orders_20210101_000000.csv.gz"),
            "data_output_path/orders/2021_01_01_1609459200123_0.csv.gz"
        );
    }

    #[test]
    fn every_variable_and_placeholder() {
        let p = pattern(
            "${STREAM_NAME}/${YEAR}/${MONTH}/${DAY}/${HOUR}${MINUTE}${SECOND}_${MILLISECOND}/",
            "{date}-{date:yyyy_MM}-{timestamp}-{timestamp:millis}-{timestamp:micros}-{sync_id}-{part_number}{format_extension}",
        );
        assert_eq!(
            p.key("users/users_20210101_000000_1.csv.gz"),
            "data_output_path/users/2021/01/01/000000_123/2021_01_01-2021_01-1609459200123-1609459200123-1609459200123000-42-1.csv.gz"
        );
        let p = pattern("${STREAM_NAME}/${UUID}/", "x{format_extension}");
        let k = p.key("users/users_20210101_000000.csv.gz");
        assert_eq!(k.len(), "data_output_path/users/".len() + 36 + "/x.csv.gz".len(), "{k}");
        assert_eq!(p.stream_prefix("users"), "data_output_path/users/");
        // Rollover files stay distinct without {part_number}.
        let p = pattern("${STREAM_NAME}/", "{date}{format_extension}");
        assert_eq!(
            p.key("users/users_20210101_000000.csv.gz"),
            "data_output_path/users/2021_01_01.csv.gz"
        );
        assert_eq!(
            p.key("users/users_20210101_000000_2.csv.gz"),
            "data_output_path/users/2021_01_01_2.csv.gz"
        );
    }

    #[test]
    fn native_keys() {
        let l = KeyLayout::Native { prefix: "raw/".into() };
        assert_eq!(
            l.key("users/users_20240101_000000.json"),
            "raw/users/users_20240101_000000.json"
        );
        assert_eq!(
            l.stream_scope("users", "users_"),
            ("raw/users/".to_string(), Some("users_".to_string()))
        );
        let l = KeyLayout::Native { prefix: String::new() };
        assert_eq!(l.stream_scope("users", "users_").0, "users/");
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    fn pattern(path_format: &str, file: &str) -> Pattern {
        Pattern {
            prefix: "out".into(),
            path_format: path_format.into(),
            file_name_pattern: file.into(),
            time: DateTime::from_timestamp_millis(1_609_502_400_000).unwrap(), // 2021-01-01 12:00:00
            stamp: "20210101_120000".into(),
            extension: "jsonl".into(),
            sync_id: "7".into(),
            streams: Default::default(),
        }
    }

    #[test]
    fn unknown_and_unclosed_variables_stay_as_written() {
        let p = pattern("${STREAM_NAME}/${FOO}/${YEAR", "{bar}-{part_number}{format_extension}");
        assert_eq!(
            p.key("users/users_20210101_120000.jsonl"),
            "out/users/${FOO}/${YEAR{bar}-0.jsonl"
        );
        let p = pattern("${STREAM_NAME}/", "name{part_number");
        assert_eq!(p.key("users/users_20210101_120000.jsonl"), "out/users/name{part_number");
        // A rollover file of a pattern without the extension is numbered at the end.
        let p = pattern("${STREAM_NAME}/", "name");
        assert_eq!(p.key("users/users_20210101_120000_4.jsonl"), "out/users/name_4");
    }

    #[test]
    fn partitions_and_writer_ids_are_kept_in_the_key() {
        let p = pattern("${STREAM_NAME}", "{part_number}{format_extension}");
        assert_eq!(
            p.key("users/day=2021-01-01/users_20210101_120000_2.jsonl"),
            "out/users/day=2021-01-01/2.jsonl"
        );
        // Several writers: the writer id before the extension, or at the end.
        // (Without partitions the path format is the file name's prefix, as in Airbyte.)
        assert_eq!(
            p.key(&format!("users/users_20210101_120000{WRITER_MARK}3_1.jsonl")),
            format!("out/users1{WRITER_MARK}3.jsonl")
        );
        let p = pattern("${STREAM_NAME}/", "name");
        assert_eq!(
            p.key(&format!("users/users_20210101_120000{WRITER_MARK}3.jsonl")),
            format!("out/users/name{WRITER_MARK}3")
        );
        // The listing scope of a pattern is the stream's folder, every file in it.
        let layout = KeyLayout::Pattern(pattern("${STREAM_NAME}/${YEAR}/", "x"));
        assert_eq!(layout.stream_scope("users", "users_"), ("out/users/".to_string(), None));
        // A path format with no folder lists under the prefix alone.
        let bare = Pattern {
            prefix: String::new(),
            ..pattern("${YEAR}_", "x")
        };
        assert_eq!(bare.stream_prefix("users"), "");
    }

    #[test]
    fn java_date_patterns_become_chrono_formats() {
        assert_eq!(java_date_format("yyyy-MM-dd'T'HH:mm:ss.SSS"), "%Y-%m-%dT%H:%M:%S.%3f");
        assert_eq!(java_date_format("yy MMM MMMM hh a"), "%y %b %B %I %p");
        assert_eq!(java_date_format("'quoted' % x"), "quoted %% x");
        let p = pattern("${STREAM_NAME}/", "{date:yyyy_MMM_dd'h'hh_a}");
        assert_eq!(
            p.key("users/users_20210101_120000.jsonl"),
            "out/users/2021_Jan_01h12_PM"
        );
    }
}
