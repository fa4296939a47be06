//! Which streams a config describes and which files belong to each.

use std::path::{Path, PathBuf};

use lakeport_core::formats::FileFormat;
use lakeport_protocol::ConnectorError;

use crate::config::{Config, Layout};
use crate::listing::{self, FileEntry};

/// One stream: its name and where its files are.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamPlan {
    /// The stream's name.
    pub name: String,
    /// The file or directory read.
    pub root: PathBuf,
}

/// The stream name for a single file or directory: its name without extensions.
fn default_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    if path.is_file() {
        name.split('.')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(&name)
            .to_string()
    } else {
        name
    }
}

/// The streams of a config.
pub fn plan(config: &Config) -> Result<Vec<StreamPlan>, ConnectorError> {
    let root = &config.file_path;
    match config.layout {
        Layout::Single => {
            let path = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
            Ok(vec![StreamPlan {
                name: config.stream_name.clone().unwrap_or_else(|| default_name(&path)),
                root: root.clone(),
            }])
        }
        Layout::PerSubdirectory => {
            if !root.is_dir() {
                return Err(ConnectorError::config(format!(
                    "layout 'per_subdirectory' needs file_path to be a directory, and '{}' is not one.",
                    root.display()
                )));
            }
            Ok(listing::subdirectories(root)?
                .into_iter()
                .map(|(name, path)| StreamPlan { name, root: path })
                .collect())
        }
    }
}

/// The files of a stream that have a readable format, and warnings for those
/// skipped because their format is unknown.
pub fn files(config: &Config, stream: &StreamPlan) -> Result<(Vec<FileEntry>, Vec<String>), ConnectorError> {
    let globs = listing::glob_set(&config.globs())?;
    let all = listing::list(&stream.root, globs.as_ref())?;
    if config.file_format()?.is_some() {
        return Ok((all, vec![]));
    }
    let mut warnings = vec![];
    let files = all
        .into_iter()
        .filter(|f| {
            let known = FileFormat::from_extension(&f.relative).is_some();
            if !known {
                warnings.push(format!(
                    "Skipping '{}': its format is not known from its extension. Set 'format' to read it.",
                    f.path.display()
                ));
            }
            known
        })
        .collect();
    Ok((files, warnings))
}
