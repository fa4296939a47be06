//! The source-s3 connector: spec, check, discover and read.

use lakeport_core::storage::{Metered, RetryConfig, StorageExt};
use lakeport_protocol::{
    AirbyteCatalog, ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Emitter, Flavour, InputState, MigratedConfig, Source,
};
use serde_json::Value;

use crate::config::{self, SourceS3Config};
use crate::{discover, read, streams};

/// The connector.
///
/// One process runs one command; its storage client (and so its meter) is
/// made once and shared by discover and read, so the COST report counts every
/// request of the run.
#[derive(Default)]
pub(crate) struct SourceS3 {
    store: tokio::sync::OnceCell<Metered>,
    /// Discovery's listings, for the read that follows it.
    listings: streams::ListingCache,
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
        for plan in streams::plan(config)? {
            plan.format_options.to_read_options()?;
        }
        streams::start_date(config)?;
        let store = config
            .connection
            .builder()
            .with_retry(RetryConfig::for_check())
            .build()
            .await?;
        let prefix = config.path_prefix.trim_start_matches('/');
        let found = store.first_object(prefix).await?;
        let at = format!("s3://{}/{}", store.bucket(), prefix);
        let stream = config.default_stream_name();
        Ok(ConnectionStatus::succeeded(match found {
            Some(meta) => format!(
                "Listed {at} (stream '{stream}'): found {} ({} bytes).",
                meta.key, meta.size
            ),
            None => format!(
                "Listed {at} (stream '{stream}'): the connection works, but there are no objects under this prefix yet."
            ),
        }))
    }

    async fn discover(&self, config: &SourceS3Config, out: &mut Emitter) -> Result<AirbyteCatalog, ConnectorError> {
        discover::discover(config, &self.store(config).await?, &self.listings, out).await
    }

    async fn read(
        &self,
        config: &SourceS3Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        read::read(config, &self.store(config).await?, &self.listings, catalog, state, out).await
    }

    async fn estimate(
        &self,
        config: &SourceS3Config,
        catalog: &ConfiguredAirbyteCatalog,
        state: &InputState,
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        read::estimate(config, &self.store(config).await?, catalog, state, out).await
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
