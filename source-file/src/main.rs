//! `source-file`: reads CSV, TSV, JSON, JSONL, Parquet and Avro files (any
//! compression) from a local file or directory as Airbyte streams.

mod config;
mod discover;
mod listing;
mod read;
mod streams;

use std::process::ExitCode;

use lakeport_core::config::to_native_source_file;
use lakeport_protocol::runtime::ImportedConfig;
use lakeport_protocol::{
    AirbyteCatalog, ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Emitter, Flavour, InputState, MigratedConfig, Source,
};
use serde_json::Value;

use config::Config;

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
        let plans = streams::plan(config)?;
        if plans.is_empty() {
            return Ok(ConnectionStatus::failed(format!(
                "'{}' has no subdirectory to read as a stream (layout 'per_subdirectory').",
                config.file_path.display()
            )));
        }
        let mut total = 0;
        for plan in &plans {
            let (files, warnings) = streams::files(config, plan)?;
            for w in warnings {
                out.warn(w)?;
            }
            if files.is_empty() {
                return Ok(ConnectionStatus::failed(format!(
                    "No file under '{}' matches glob_pattern {:?} with a readable format. Check file_path, glob_pattern and format.",
                    plan.root.display(),
                    config.globs()
                )));
            }
            // Readable: open the first file and read its schema.
            std::fs::File::open(&files[0].path).map_err(|e| listing::io_error(&files[0].path, e))?;
            total += files.len();
        }
        Ok(ConnectionStatus::succeeded(format!(
            "Found {total} readable file(s) in {} stream(s).",
            plans.len()
        )))
    }

    async fn discover(&self, config: &Config, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        let mut streams = Vec::new();
        for plan in streams::plan(config)? {
            streams.push(discover::discover_stream(config, &plan, out)?);
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
        read::read(config, catalog, state, out)
    }
}

fn main() -> ExitCode {
    lakeport_protocol::run_source(SourceFile)
}
