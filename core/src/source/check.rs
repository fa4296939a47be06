//! Checking a connection: one LIST of one key under the listing prefix of
//! the plan's first stream — the prefix a read of that stream lists.

use lakeport_protocol::{ConnectionStatus, ConnectorError};

use super::engine::Engine;
use crate::storage::StorageExt;

impl Engine<'_> {
    /// Lists the first object under the first stream's listing prefix
    /// ([`super::plan::ReadPlan::check_prefix`]); the plan was validated when
    /// it was made, so settings that cannot work failed before this request.
    pub async fn check(&self) -> Result<ConnectionStatus, ConnectorError> {
        let Some((stream, prefix)) = self.plan.check_prefix() else {
            return Err(ConnectorError::config("The config has no stream to read."));
        };
        let found = self.store.first_object(prefix).await?;
        let at = format!("{}/{}", self.store, prefix);
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
}
