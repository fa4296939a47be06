//! `source-file`: reads CSV, TSV, JSON, JSONL, Parquet and Avro files (any
//! compression) from a local file or directory, or from S3
//! (`s3://bucket/key` or `s3://bucket/prefix/`), as Airbyte streams: a thin
//! face over the file-source engine (`lakeport_core::source`).
//!
//! | file        | holds                                                            |
//! |-------------|------------------------------------------------------------------|
//! | `main.rs`   | the connector: each command the engine over the config's store   |
//! | `config.rs` | the typed config, `file_path`'s location, the engine's read plan |
//! | `store.rs`  | the store of `file_path` (local or S3), its URLs and streams     |

mod config;
mod store;
#[cfg(test)]
mod tests;

use std::process::ExitCode;

use lakeport_core::config::to_native_source_file;
use lakeport_core::source::engine::Engine;
use lakeport_core::source::listing::ListingCache;
use lakeport_core::storage::RetryConfig;
use lakeport_protocol::runtime::ImportedConfig;
use lakeport_protocol::{
    AirbyteCatalog, ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Emitter, Flavour, InputState, MigratedConfig, Source,
};
use serde_json::Value;

use config::Config;
use store::Files;

/// The connector: each command the file-source engine
/// (`lakeport_core::source`) over the store of `file_path`, with the read
/// plan of the config.
///
/// One process runs one command; its store (and so its meter) is made once
/// and shared by discover and read, as are discovery's listings.
#[derive(Default)]
struct SourceFile {
    files: tokio::sync::OnceCell<Files>,
    /// Discovery's listings, for the read that follows it.
    listings: ListingCache,
}

impl SourceFile {
    /// The engine of `config` over `files` (its streams possibly none: a
    /// directory without subdirectories), once a local `file_path` was found readable.
    async fn engine_over<'a>(&'a self, config: &Config, files: &Files) -> Result<Engine<'a>, ConnectorError> {
        let streams = files.streams(config).await?;
        files.unreadable()?;
        let mut plan = config.read_plan(&streams, files.url_prefix())?;
        plan.skipped = files.skip_notes();
        let (store, meter) = (files.store.store().clone(), files.store.meter().clone());
        Ok(Engine::new(plan, store, meter, &self.listings))
    }

    /// The engine of a discover or read, over the shared store (made once).
    async fn engine(&self, config: &Config) -> Result<Engine<'_>, ConnectorError> {
        let files = self
            .files
            .get_or_try_init(|| Files::connect(config, RetryConfig::default()))
            .await?;
        self.engine_over(config, files).await
    }
}

impl Connector for SourceFile {
    const NAME: &'static str = "source-file";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn spec(&self) -> ConnectorSpecification {
        ConnectorSpecification {
            documentation_url: Some("https://github.com/lakeport/lakeport#source-file".into()),
            changelog_url: None,
            connection_specification: serde_json::from_str(include_str!("spec.json"))
                .unwrap_or_else(|e| panic!("source-file spec.json is invalid JSON: {e}")),
            supports_incremental: Some(true),
            supported_destination_sync_modes: None,
            protocol_version: Some(lakeport_protocol::PROTOCOL_VERSION.into()),
        }
    }

    /// Native, legacy and Airbyte source-file configs (CONTRACT §4).
    fn migrate_config(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
        to_native_source_file(&raw, from)?.migrate(out)
    }

    fn import_mapping(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<ImportedConfig, ConnectorError> {
        let mapped = to_native_source_file(&raw, from)?;
        let table = mapped.table_rows();
        Ok(ImportedConfig {
            migrated: mapped.migrate(out)?,
            table,
        })
    }
}

impl Source for SourceFile {
    type Config = Config;

    async fn check(&self, config: &Config, out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError> {
        let files = Files::connect(config, RetryConfig::for_check()).await?;
        let engine = self.engine_over(config, &files).await?;
        if engine.plan.streams.is_empty() {
            return Ok(ConnectionStatus::failed(format!(
                "'{}' has no subdirectory to read as a stream (layout 'per_subdirectory').",
                config.file_path
            )));
        }
        engine.check_files(out).await
    }

    async fn discover(&self, config: &Config, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        self.engine(config).await?.discover(out).await
    }

    async fn read(
        &self,
        config: &Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        self.engine(config).await?.read(catalog, state, out).await
    }
}

fn main() -> ExitCode {
    lakeport_protocol::run_source(SourceFile::default())
}
