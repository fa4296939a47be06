//! The native config of source-sqlite (CONTRACT §4).

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Default rows per batch.
pub const DEFAULT_BATCH_SIZE: usize = 1000;
/// Default busy timeout in milliseconds.
pub const DEFAULT_BUSY_TIMEOUT_MS: u64 = 5000;

/// The config, as validated against `spec.json`. Unknown keys are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SqliteConfig {
    /// Path of the database file (must exist; opened read-only).
    pub database_path: PathBuf,
    /// Rows per batch (and per STATE checkpoint).
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Tables or views to expose; empty or absent means all.
    #[serde(default)]
    pub tables: Option<Vec<String>>,
    /// The default cursor column for incremental reads.
    #[serde(default)]
    pub incremental_field: Option<String>,
    /// How long to wait for a lock, in milliseconds.
    #[serde(default = "default_busy_timeout_ms")]
    pub busy_timeout_ms: u64,
}

fn default_batch_size() -> usize {
    DEFAULT_BATCH_SIZE
}

fn default_busy_timeout_ms() -> u64 {
    DEFAULT_BUSY_TIMEOUT_MS
}

impl SqliteConfig {
    /// A config for `database_path` with every other key at its default.
    pub fn new(database_path: impl Into<PathBuf>) -> Self {
        SqliteConfig {
            database_path: database_path.into(),
            batch_size: DEFAULT_BATCH_SIZE,
            tables: None,
            incremental_field: None,
            busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS,
        }
    }

    /// The busy timeout as a duration.
    pub fn busy_timeout(&self) -> Duration {
        Duration::from_millis(self.busy_timeout_ms)
    }

    /// Rows per batch, at least one.
    pub fn batch_size(&self) -> usize {
        self.batch_size.max(1)
    }

    /// The tables to restrict to, if a non-empty list was given.
    pub fn table_filter(&self) -> Option<&[String]> {
        self.tables.as_deref().filter(|t| !t.is_empty())
    }

    /// The default cursor column, if a non-empty one was given.
    pub fn incremental_field(&self) -> Option<&str> {
        self.incremental_field.as_deref().filter(|f| !f.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_apply() {
        let c: SqliteConfig = serde_json::from_value(json!({"database_path": "/x.db"})).unwrap();
        assert_eq!(c, SqliteConfig::new("/x.db"));
        assert_eq!(c.table_filter(), None);
    }

    #[test]
    fn seed_example_configs_deserialize() {
        let c: SqliteConfig = serde_json::from_value(json!({
            "tables": ["users", "orders"], "incremental_field": "updated_at",
            "database_path": "/d.db", "connector_type": "sqlite"
        }))
        .unwrap();
        assert_eq!(c.table_filter().map(<[String]>::len), Some(2));
        assert_eq!(c.incremental_field(), Some("updated_at"));
    }
}
