//! `source-sqlite`: an Airbyte-protocol source reading a SQLite database.
//!
//! - `discover`: every table and view (minus `sqlite_*` internals) or only
//!   the configured `tables`, typed from declared affinities
//!   ([`types`]), with primary keys, foreign keys (`x-foreign-keys`) and the
//!   default cursor from `incremental_field` ([`discover`]).
//! - `read`: full refresh resumable by rowid / primary key, incremental by
//!   cursor with a tie-breaking key ([`read`], [`state`]); records are
//!   copied out of SQLite on the reading thread and serialised straight into
//!   bytes on a writer thread ([`pipeline`], [`value::serialize`]).
//! - The database is opened read-only and never created ([`connect`]).

pub mod config;
pub mod connect;
pub mod count;
pub mod discover;
pub mod error;
pub mod ident;
pub mod pipeline;
pub mod read;
pub mod state;
pub mod types;
pub mod value;

use lakeport_protocol::{
    AirbyteCatalog, ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Emitter, InputState, Source,
};

pub use config::SqliteConfig;
use connect::Database;
use discover::ObjectKind;

/// The connector's specification (`spec.json`).
pub const SPEC_JSON: &str = include_str!("spec.json");

/// The SQLite source.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteSource;

impl Connector for SqliteSource {
    const NAME: &'static str = "source-sqlite";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn spec(&self) -> ConnectorSpecification {
        // spec.json is part of the binary and covered by tests; a parse
        // failure cannot depend on input.
        serde_json::from_str(SPEC_JSON).unwrap_or_else(|e| ConnectorSpecification {
            documentation_url: None,
            changelog_url: None,
            connection_specification: serde_json::json!({"type": "object", "description": format!("invalid built-in spec: {e}")}),
            supports_incremental: Some(true),
            supported_destination_sync_modes: None,
            protocol_version: None,
        })
    }
}

impl Source for SqliteSource {
    type Config = SqliteConfig;

    async fn check(&self, config: &SqliteConfig, _out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError> {
        let db = Database::open(config)?;
        let all = discover::list_objects(&db)?;
        if let Some(wanted) = config.table_filter() {
            discover::select_objects(&all, wanted)?;
        }
        let views = all.iter().filter(|(_, k)| *k == ObjectKind::View).count();
        Ok(ConnectionStatus::succeeded(format!(
            "Opened '{}' read-only: {} tables and {} views.",
            config.database_path.display(),
            all.len() - views,
            views
        )))
    }

    async fn discover(&self, config: &SqliteConfig, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        let db = Database::open(config)?;
        let found = discover::discover(&db)?;
        for w in &found.warnings {
            out.warn(w)?;
        }
        Ok(found.catalog)
    }

    async fn read(
        &self,
        config: &SqliteConfig,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        let db = Database::open(config)?;
        read::read(&db, catalog, state, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses_and_is_complete() {
        let spec: serde_json::Value = serde_json::from_str(SPEC_JSON).unwrap();
        let props = spec["connectionSpecification"]["properties"].as_object().unwrap();
        for key in [
            "database_path",
            "batch_size",
            "tables",
            "incremental_field",
            "busy_timeout_ms",
        ] {
            let p = &props[key];
            for field in ["type", "description", "examples", "order", "title"] {
                assert!(p.get(field).is_some(), "{key} lacks {field}");
            }
        }
        let s = SqliteSource.spec();
        assert_eq!(s.supports_incremental, Some(true));
        assert_eq!(
            s.connection_specification["required"],
            serde_json::json!(["database_path"])
        );
    }
}
