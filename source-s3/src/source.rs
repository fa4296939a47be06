//! The source-s3 connector: spec, check, discover, estimate and read — each
//! the file-source engine (`lakeport_core::source`) over an S3 storage, with
//! the read plan of the config.

use lakeport_core::source::engine::Engine;
use lakeport_core::source::listing::ListingCache;
use lakeport_core::source::plan::ReadPlan;
use lakeport_core::storage::{Metered, RetryConfig};
use lakeport_protocol::{
    AirbyteCatalog, ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Emitter, Flavour, InputState, MigratedConfig, Source,
};
use serde_json::Value;

use crate::config::{self, SourceS3Config};

/// The connector.
///
/// One process runs one command; its storage client (and so its meter) is
/// made once and shared by discover and read, so the COST report counts every
/// request of the run.
#[derive(Default)]
pub(crate) struct SourceS3 {
    store: tokio::sync::OnceCell<Metered>,
    /// Discovery's listings, for the read that follows it.
    listings: ListingCache,
}

impl SourceS3 {
    /// The storage of a config, with the default retry policy (made once).
    async fn store(&self, config: &SourceS3Config) -> Result<Metered, ConnectorError> {
        let store = self
            .store
            .get_or_try_init(|| async { Ok::<_, ConnectorError>(config.connection.builder().build_metered().await?) })
            .await?;
        Ok(store.clone())
    }

    /// The engine of a command: the config's read plan over the shared storage.
    async fn engine(&self, config: &SourceS3Config) -> Result<Engine<'_>, ConnectorError> {
        let plan = config.read_plan()?;
        Ok(self.engine_over(plan, self.store(config).await?))
    }

    /// The engine of `plan` over `store`, counted by the store's meter (the one
    /// place the meter is taken).
    fn engine_over(&self, plan: ReadPlan, store: Metered) -> Engine<'_> {
        Engine::new(plan, store.store().clone(), store.meter().clone(), &self.listings)
    }
}

/// The spec's `connectionSpecification`.
const SPEC: &str = include_str!("spec.json");

impl Connector for SourceS3 {
    const NAME: &'static str = "source-s3";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn spec(&self) -> ConnectorSpecification {
        let schema: Value =
            serde_json::from_str(SPEC).unwrap_or_else(|e| panic!("source-s3 spec.json is not JSON: {e}"));
        ConnectorSpecification {
            documentation_url: Some("https://github.com/lakeport/lakeport#source-s3".into()),
            changelog_url: None,
            connection_specification: schema,
            supports_incremental: Some(true),
            supported_destination_sync_modes: None,
            protocol_version: Some(lakeport_protocol::PROTOCOL_VERSION.into()),
        }
    }

    fn migrate_config(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
        config::migrate(raw, from, out)
    }
}

impl Source for SourceS3 {
    type Config = SourceS3Config;
    const SUPPORTS_ESTIMATE: bool = true;

    async fn check(&self, config: &SourceS3Config, _out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError> {
        // Settings that cannot work fail here, before any request.
        let plan = config.read_plan()?;
        let store = config
            .connection
            .builder()
            .with_retry(RetryConfig::for_check())
            .build_metered()
            .await?;
        self.engine_over(plan, store).check().await
    }

    async fn discover(&self, config: &SourceS3Config, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        self.engine(config).await?.discover(out).await
    }

    async fn read(
        &self,
        config: &SourceS3Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        self.engine(config).await?.read(catalog, state, out).await
    }

    async fn estimate(
        &self,
        config: &SourceS3Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        self.engine(config).await?.estimate(catalog, state, out).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses() {
        let spec = SourceS3::default().spec();
        assert_eq!(spec.connection_specification["required"], serde_json::json!(["bucket"]));
    }
}
