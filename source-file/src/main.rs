//! `source-file`: reads CSV, TSV, JSON, JSONL, Parquet and Avro files (any
//! compression) from a local file or directory, or from S3
//! (`s3://bucket/key` or `s3://bucket/prefix/`), as Airbyte streams.

mod config;
mod discover;
mod listing;
mod read;
mod store;

use std::process::ExitCode;

use lakeport_core::config::to_native_source_file;
use lakeport_core::storage::RetryConfig;
use lakeport_protocol::runtime::ImportedConfig;
use lakeport_protocol::{
    AirbyteCatalog, ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Emitter, Flavour, InputState, MigratedConfig, Source,
};
use serde_json::Value;

use config::Config;
use store::Files;

/// The connector.
struct SourceFile;

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
        config.format_options.to_read_options()?;
        let files = Files::connect(config, RetryConfig::for_check()).await?;
        let plans = files.plan(config).await?;
        if plans.is_empty() {
            return Ok(ConnectionStatus::failed(format!(
                "'{}' has no subdirectory to read as a stream (layout 'per_subdirectory').",
                config.file_path
            )));
        }
        let mut total = 0;
        for plan in &plans {
            let (found, warnings) = files.files(config, plan).await?;
            for w in warnings {
                out.warn(w)?;
            }
            let Some(first) = found.first() else {
                return Ok(ConnectionStatus::failed(format!(
                    "No file under '{}' matches glob_pattern {:?} with a readable format. Check file_path, glob_pattern and format.",
                    files.url(&plan.root),
                    config.globs()
                )));
            };
            // Readable: open (or, in S3, HEAD) the first file.
            files.probe(&first.meta.key).await?;
            total += found.len();
        }
        Ok(ConnectionStatus::succeeded(format!(
            "Found {total} readable file(s) in {} stream(s).",
            plans.len()
        )))
    }

    async fn discover(&self, config: &Config, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        let files = Files::connect(config, RetryConfig::default()).await?;
        let mut streams = Vec::new();
        for plan in files.plan(config).await? {
            streams.push(discover::discover_stream(config, &files, &plan, out).await?);
        }
        Ok(AirbyteCatalog { streams })
    }

    async fn read(
        &self,
        config: &Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        let files = Files::connect(config, RetryConfig::default()).await?;
        read::read(config, &files, catalog, state, out).await
    }
}

fn main() -> ExitCode {
    lakeport_protocol::run_source(SourceFile)
}
