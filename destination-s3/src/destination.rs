//! The destination-s3 connector: spec, check and write.

use std::io::BufRead;

use bytes::Bytes;
use lakeport_core::storage::{join_key, RetryConfig, Storage, StorageError, StorageExt};
use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification,
    Destination, DestinationSyncMode, Emitter, Flavour, MigratedConfig,
};
use serde_json::Value;

use crate::config::{self, DestinationS3Config};

/// The connector.
pub(crate) struct DestinationS3;

/// The spec's `connectionSpecification`.
const SPEC: &str = include_str!("spec.json");

impl Connector for DestinationS3 {
    const NAME: &'static str = "destination-s3";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn spec(&self) -> ConnectorSpecification {
        let schema: Value = serde_json::from_str(SPEC)
            .unwrap_or_else(|e| panic!("destination-s3 spec.json is not JSON: {e}"));
        ConnectorSpecification {
            documentation_url: Some("https://github.com/lakeport/lakeport#destination-s3".into()),
            changelog_url: None,
            connection_specification: schema,
            supports_incremental: Some(true),
            supported_destination_sync_modes: Some(vec![
                DestinationSyncMode::Append,
                DestinationSyncMode::Overwrite,
            ]),
            protocol_version: Some(lakeport_protocol::PROTOCOL_VERSION.into()),
        }
    }

    fn migrate_config(
        &self,
        raw: Value,
        from: Flavour,
        out: &mut Emitter,
    ) -> Result<MigratedConfig, ConnectorError> {
        config::migrate(raw, from, out)
    }
}

impl Destination for DestinationS3 {
    type Config = DestinationS3Config;

    async fn check(
        &self,
        config: &DestinationS3Config,
        _out: &mut Emitter,
    ) -> Result<ConnectionStatus, ConnectorError> {
        let store = config
            .connection
            .builder()
            .with_retry(RetryConfig::for_check())
            .build()
            .await?;
        // A LIST first: it tells a missing bucket apart even on servers that
        // create buckets on PUT. Writers without s3:ListBucket still pass.
        match store.first_object(config.path_prefix.trim_start_matches('/')).await {
            Ok(_) | Err(StorageError::AccessDenied { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let probe = join_key(
            &config.path_prefix,
            &format!("_lakeport_check_{}.tmp", uuid::Uuid::new_v4().simple()),
        );
        store
            .put(&probe, Bytes::from_static(b"lakeport connection check\n"))
            .await?;
        store.delete(&probe).await?;
        Ok(ConnectionStatus::succeeded(format!(
            "Wrote and deleted a probe object s3://{}/{probe}: the connection works.",
            store.bucket()
        )))
    }

    async fn write(
        &self,
        _config: &DestinationS3Config,
        _catalog: Option<&ConfiguredAirbyteCatalog>,
        _input: &mut (dyn BufRead + Send),
        _out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::system(
            "destination-s3 write is not implemented yet.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses() {
        let spec = DestinationS3.spec();
        assert_eq!(
            spec.connection_specification["required"],
            serde_json::json!(["bucket"])
        );
    }
}
