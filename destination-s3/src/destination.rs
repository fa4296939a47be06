//! The destination-s3 connector: spec, check and write.

use std::io::BufRead;

use bytes::Bytes;
use lakeport_core::storage::{join_key, RetryConfig, Storage, StorageError, StorageExt};
use lakeport_protocol::{
    ConfiguredAirbyteCatalog, ConnectionStatus, Connector, ConnectorError, ConnectorSpecification, Destination,
    DestinationSyncMode, Emitter, Flavour, MigratedConfig,
};
use serde_json::Value;

use lakeport_core::config::to_native_destination_s3;
use lakeport_core::formats::FileFormat;
use lakeport_core::sink::engine::run_sink;
use lakeport_core::sink::envelope::{envelope_catalog, Envelope, EnvelopeReader};
use lakeport_core::sink::generation::WRITER_METADATA_KEY;
use lakeport_core::sink::key_layout::{KeyLayout, Pattern, StreamNames, DEFAULT_FILE_NAME_PATTERN};

use crate::config::DestinationS3Config;
use crate::target::S3Target;

/// The connector.
pub(crate) struct DestinationS3;

/// The spec's `connectionSpecification`.
const SPEC: &str = include_str!("spec.json");

impl Connector for DestinationS3 {
    const NAME: &'static str = "destination-s3";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    fn spec(&self) -> ConnectorSpecification {
        let schema: Value =
            serde_json::from_str(SPEC).unwrap_or_else(|e| panic!("destination-s3 spec.json is not JSON: {e}"));
        ConnectorSpecification {
            documentation_url: Some("https://github.com/lakeport/lakeport#destination-s3".into()),
            changelog_url: None,
            connection_specification: schema,
            supports_incremental: Some(true),
            supported_destination_sync_modes: Some(vec![DestinationSyncMode::Append, DestinationSyncMode::Overwrite]),
            protocol_version: Some(lakeport_protocol::PROTOCOL_VERSION.into()),
        }
    }

    fn migrate_config(&self, raw: Value, from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
        to_native_destination_s3(raw, from, out)
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
        config: &DestinationS3Config,
        catalog: Option<&ConfiguredAirbyteCatalog>,
        input: &mut (dyn BufRead + Send),
        out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        let sink_config = config.sink_config()?;
        let flattening = config.envelope()?;
        let store = config.connection.builder().build().await?;
        // Fail before reading any input when the bucket is missing or the
        // credentials are refused (some servers create buckets on PUT).
        match store.first_object(config.path_prefix.trim_start_matches('/')).await {
            Ok(_) | Err(StorageError::AccessDenied { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let bucket = store.bucket().to_string();
        let sync_id = uuid::Uuid::new_v4().simple().to_string();
        let streams: StreamNames = Default::default();
        let layout = match config.path_format.as_deref() {
            Some(path_format) => KeyLayout::Pattern(Pattern {
                prefix: config.path_prefix.clone(),
                path_format: path_format.to_string(),
                file_name_pattern: config
                    .file_name_pattern
                    .clone()
                    .unwrap_or_else(|| DEFAULT_FILE_NAME_PATTERN.to_string()),
                time: chrono::Utc::now(),
                stamp: sink_config.stamp.clone(),
                extension: sink_config.extension(),
                sync_id: airbyte_sync_id(catalog).unwrap_or_else(|| sync_id.clone()),
                streams: streams.clone(),
            }),
            None => KeyLayout::Native {
                prefix: config.path_prefix.clone(),
            },
        };
        // Each object's generation is added per stream by the target; the
        // writer id (several writers of one stream) to every object.
        let metadata: Vec<(String, String)> = sink_config
            .writer
            .iter()
            .map(|w| (WRITER_METADATA_KEY.to_string(), w.clone()))
            .collect();
        let handle = tokio::runtime::Handle::current();
        // The engine is blocking: run it off the async context; the target
        // drives its uploads with the runtime's handle.
        tokio::task::block_in_place(|| {
            let mut target = S3Target::new(store, handle, layout, config.part_size_bytes(), sync_id, metadata);
            let result = match (flattening, config.path_format.is_some()) {
                (Some(flattening), _) => {
                    let millis = !matches!(sink_config.format, FileFormat::Parquet | FileFormat::Avro);
                    let envelope = Envelope::new(flattening, millis, catalog);
                    let wrapped = catalog.map(|c| envelope_catalog(c, &envelope));
                    let mut reader = EnvelopeReader::new(input, Some(envelope), streams);
                    run_sink(&mut target, &sink_config, wrapped.as_ref(), &mut reader, out)
                }
                // The path format needs each stream's name and namespace.
                (None, true) => {
                    let mut reader = EnvelopeReader::new(input, None, streams);
                    run_sink(&mut target, &sink_config, catalog, &mut reader, out)
                }
                (None, false) => run_sink(&mut target, &sink_config, catalog, input, out),
            };
            let summary = match result {
                Ok(summary) => summary,
                // A storage failure reached the engine as an I/O error: report
                // the storage error itself (its type and advice).
                Err(e) => return Err(target.take_error().unwrap_or(e)),
            };
            out.info(format!(
                "Wrote {} records to {} object(s) in s3://{bucket}/ ({} multipart part(s) uploaded){}.",
                summary.records,
                summary.files.len(),
                target.parts_uploaded(),
                if summary.removed > 0 {
                    format!("; removed {} older object(s)", summary.removed)
                } else {
                    String::new()
                }
            ))?;
            Ok(())
        })
    }
}

/// Airbyte's `{sync_id}`: the catalog's `sync_id`, else the platform's job id.
fn airbyte_sync_id(catalog: Option<&ConfiguredAirbyteCatalog>) -> Option<String> {
    catalog
        .and_then(|c| c.streams.iter().find_map(|s| s.sync_id))
        .map(|id| id.to_string())
        .or_else(|| std::env::var("WORKER_JOB_ID").ok().filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_parses() {
        let spec = DestinationS3.spec();
        assert_eq!(spec.connection_specification["required"], serde_json::json!(["bucket"]));
    }
}
