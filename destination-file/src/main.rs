//! `destination-file`: writes Airbyte streams to local files in Parquet,
//! JSON, JSONL, CSV or Avro, each committed atomically.

mod config;
mod raw;
mod target;

use std::io::BufRead;
use std::process::ExitCode;

use lakeport_core::config::to_native_destination_file;
use lakeport_core::sink::engine::run_sink;
use lakeport_protocol::runtime::ImportedConfig;
use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification, Destination,
    DestinationSyncMode, Emitter, Flavour, MigratedConfig,
};
use serde_json::Value;

use config::Config;

/// The connector.
struct DestinationFile;

impl Connector for DestinationFile {
    const NAME: &'static str = "destination-file";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn spec(&self) -> ConnectorSpecification {
        ConnectorSpecification {
            documentation_url: Some("https://github.com/lakeport/lakeport#destination-file".into()),
            changelog_url: None,
            connection_specification: serde_json::from_str(include_str!("spec.json"))
                .unwrap_or_else(|e| panic!("destination-file spec.json is invalid JSON: {e}")),
            supports_incremental: Some(true),
            supported_destination_sync_modes: Some(vec![DestinationSyncMode::Append, DestinationSyncMode::Overwrite]),
            protocol_version: Some(lakeport_protocol::PROTOCOL_VERSION.into()),
        }
    }

    /// Native, legacy and Airbyte destination-local-json / destination-csv
    /// configs (CONTRACT §4).
    fn migrate_config(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
        to_native_destination_file(&raw, from)?.migrate(out)
    }

    fn import_mapping(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<ImportedConfig, ConnectorError> {
        let mapped = to_native_destination_file(&raw, from)?;
        let table = mapped.table_rows();
        Ok(ImportedConfig {
            migrated: mapped.migrate(out)?,
            table,
        })
    }
}

impl Destination for DestinationFile {
    type Config = Config;

    async fn check(&self, config: &Config, _out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError> {
        let dir = config.output_dir();
        if config.airbyte_raw {
            config.raw_settings()?;
        } else {
            config.sink_config()?;
        }
        let local = local_note(config, &dir);
        match target::probe(&dir) {
            Ok(()) => Ok(ConnectionStatus::succeeded(format!(
                "'{}' is writable{local}.",
                dir.display()
            ))),
            Err(e) => Ok(ConnectionStatus::failed(format!(
                "Cannot write to base_path{local}: {e}. Create the directory or fix its permissions{}.",
                if local.is_empty() {
                    String::new()
                } else {
                    format!(", or set {} to the directory /local stands for", raw::LOCAL_ROOT_ENV)
                }
            ))),
        }
    }

    async fn write(
        &self,
        config: &Config,
        catalog: Option<&ConfiguredAirbyteCatalog>,
        input: &mut (dyn BufRead + Send),
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        if config.airbyte_raw {
            let settings = config.raw_settings()?;
            report_stale_temps(&settings.dir, out)?;
            let summary = raw::write_raw(&settings, catalog, input, out)?;
            out.info(format!(
                "Wrote {} records in Airbyte's raw layout to {} file(s) in {}{}.",
                summary.records,
                summary.files.len(),
                settings.dir.display(),
                local_note(config, &settings.dir)
            ))?;
            return Ok(());
        }
        let sink_config = config.sink_config()?;
        let mut target = target::LocalTarget::new(&config.base_path)?;
        report_stale_temps(&config.base_path, out)?;
        let summary = run_sink(&mut target, &sink_config, catalog, input, out)?;
        out.info(format!(
            "Wrote {} records to {} file(s) under {}{}.",
            summary.records,
            summary.files.len(),
            config.base_path.display(),
            if summary.removed > 0 {
                format!(" and removed {} older file(s)", summary.removed)
            } else {
                String::new()
            }
        ))?;
        Ok(())
    }
}

/// Removes the temporary files that killed runs left under `dir`, saying so.
fn report_stale_temps(dir: &std::path::Path, out: &mut Emitter) -> Result<(), ConnectorError> {
    let removed = lakeport_core::sink::stale::remove_stale_temps(dir);
    if !removed.is_empty() {
        out.info(format!(
            "Removed {} temporary file(s) under {} left by an earlier run that was killed before it could clean up.",
            removed.len(),
            dir.display()
        ))?;
    }
    Ok(())
}

/// How an Airbyte `/local/…` base_path was resolved, for messages (empty
/// when it is used as it is).
fn local_note(config: &Config, dir: &std::path::Path) -> String {
    if dir == config.base_path {
        String::new()
    } else {
        format!(
            " ({} under Airbyte's /local; set {} to choose where /local is)",
            config.base_path.display(),
            raw::LOCAL_ROOT_ENV
        )
    }
}

fn main() -> ExitCode {
    lakeport_protocol::run_destination(DestinationFile)
}
