//! Streams, catalogs and sync modes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Names a stream: its name and optional namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamDescriptor {
    /// The stream's name.
    pub name: String,
    /// Its namespace, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl StreamDescriptor {
    /// A descriptor without namespace.
    pub fn new(name: impl Into<String>) -> Self {
        StreamDescriptor {
            name: name.into(),
            namespace: None,
        }
    }
}

/// How a source reads a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Everything, every time.
    FullRefresh,
    /// Only what is new since the saved state.
    Incremental,
}

/// How a destination writes a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestinationSyncMode {
    /// Add to what is there.
    Append,
    /// Replace what is there.
    Overwrite,
    /// Add, then deduplicate by primary key.
    AppendDedup,
}

/// A stream as `discover` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AirbyteStream {
    /// The stream's name.
    pub name: String,
    /// The JSON Schema of its records.
    pub json_schema: Value,
    /// Sync modes it can be read in.
    pub supported_sync_modes: Vec<SyncMode>,
    /// Whether the source chooses the cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_cursor: Option<bool>,
    /// The cursor used when the user picks none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_cursor_field: Option<Vec<String>>,
    /// The primary key as the source knows it (each key a path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_defined_primary_key: Option<Vec<Vec<String>>>,
    /// The stream's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Whether a full refresh can resume after a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_resumable: Option<bool>,
}

impl AirbyteStream {
    /// This stream's descriptor.
    pub fn descriptor(&self) -> StreamDescriptor {
        StreamDescriptor {
            name: self.name.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// The result of `discover`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AirbyteCatalog {
    /// Every stream.
    pub streams: Vec<AirbyteStream>,
}

/// A stream as the user configured it for a sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfiguredAirbyteStream {
    /// The stream.
    pub stream: AirbyteStream,
    /// How to read it.
    pub sync_mode: SyncMode,
    /// The cursor chosen by the user, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_field: Option<Vec<String>>,
    /// How to write it.
    #[serde(default = "default_destination_sync_mode")]
    pub destination_sync_mode: DestinationSyncMode,
    /// The primary key chosen by the user, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Vec<Vec<String>>>,
    /// The generation of this sync's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation_id: Option<i64>,
    /// The oldest generation to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_generation_id: Option<i64>,
    /// The sync's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<i64>,
}

fn default_destination_sync_mode() -> DestinationSyncMode {
    DestinationSyncMode::Append
}

impl ConfiguredAirbyteStream {
    /// A configured stream reading `stream` in full and appending it.
    pub fn full_refresh(stream: AirbyteStream) -> Self {
        ConfiguredAirbyteStream {
            stream,
            sync_mode: SyncMode::FullRefresh,
            cursor_field: None,
            destination_sync_mode: DestinationSyncMode::Append,
            primary_key: None,
            generation_id: None,
            minimum_generation_id: None,
            sync_id: None,
        }
    }

    /// The cursor in effect: the user's choice, else the stream's default.
    pub fn effective_cursor(&self) -> Option<&[String]> {
        self.cursor_field
            .as_deref()
            .filter(|c| !c.is_empty())
            .or(self.stream.default_cursor_field.as_deref())
            .filter(|c| !c.is_empty())
    }
}

/// The streams chosen for a sync.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConfiguredAirbyteCatalog {
    /// Every configured stream.
    pub streams: Vec<ConfiguredAirbyteStream>,
}

impl ConfiguredAirbyteCatalog {
    /// Fails, before anything is read, when the catalog names a stream twice
    /// (it would be read twice, its records duplicated).
    pub fn check_no_repeated_streams(&self) -> Result<(), crate::ConnectorError> {
        let mut seen = std::collections::HashSet::new();
        for configured in &self.streams {
            let d = configured.stream.descriptor();
            if !seen.insert(d.clone()) {
                return Err(crate::ConnectorError::config(format!(
                    "The catalog names stream '{}' twice; list each stream once.",
                    d.name
                )));
            }
        }
        Ok(())
    }

    /// Every stream of `catalog`, read in full and appended: what `read` without
    /// `--catalog` does.
    pub fn full_refresh_of(catalog: AirbyteCatalog) -> Self {
        ConfiguredAirbyteCatalog {
            streams: catalog
                .streams
                .into_iter()
                .map(ConfiguredAirbyteStream::full_refresh)
                .collect(),
        }
    }

    /// The configured stream with this name and namespace, if any.
    pub fn find(&self, name: &str, namespace: Option<&str>) -> Option<&ConfiguredAirbyteStream> {
        self.streams
            .iter()
            .find(|s| s.stream.name == name && s.stream.namespace.as_deref() == namespace)
    }
}
