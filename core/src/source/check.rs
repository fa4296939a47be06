//! Checking a connection: one LIST of one key under the listing prefix of
//! the plan's first stream — the prefix a read of that stream lists; or
//! ([`Engine::check_files`]) every stream listed as a read lists it and its
//! first object opened.

use lakeport_protocol::{ConnectionStatus, ConnectorError, Emitter};

use super::engine::Engine;
use super::listing::list;
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

    /// Lists every stream as a read does (warning about what the listing
    /// skipped) and opens the first object of each: FAILED when a stream has
    /// no object to read; else how many objects the streams read.
    pub async fn check_files(&self, out: &mut Emitter) -> Result<ConnectionStatus, ConnectorError> {
        let mut total = 0;
        for stream in &self.plan.streams {
            let listing = list(&self.store, &self.plan, stream, None).await?;
            for w in &listing.warnings {
                out.warn(w)?;
            }
            let Some(first) = listing.files.first() else {
                let names = &self.plan.names;
                return Ok(ConnectionStatus::failed(format!(
                    "No file under '{}' matches {} {:?} with a readable format. Check {}.",
                    self.location(&stream.prefix),
                    names.globs,
                    stream.patterns,
                    names.hint()
                )));
            };
            // Readable: opened (a GET, its body left unread).
            self.store.get(&first.key).await.map(drop)?;
            total += listing.files.len();
        }
        Ok(ConnectionStatus::succeeded(format!(
            "Found {total} readable file(s) in {} stream(s).",
            self.plan.streams.len()
        )))
    }
}
