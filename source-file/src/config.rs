//! The typed native config of source-file.

use std::path::PathBuf;

use lakeport_core::config::FormatOptions;
use lakeport_core::formats::compression::Compression;
use lakeport_core::formats::FileFormat;
use lakeport_protocol::ConnectorError;
use serde::Deserialize;

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

/// source-file's config (CONTRACT §4).
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// A file or a directory.
    pub file_path: PathBuf,
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
    /// Format options.
    #[serde(flatten)]
    pub format_options: FormatOptions,
}

impl Config {
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
