//! Opening an S3 object as a stream of record batches, on a blocking thread:
//! a streaming GET feeding a bounded read-ahead buffer, decompression, then
//! the format's reader.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use lakeport_core::formats::{
    self, compression, BatchReader, Compression, FileFormat, ReadOptions,
};
use lakeport_core::storage::{ObjectMeta, Storage, DEFAULT_READ_AHEAD_CHUNKS};
use lakeport_core::{Error, Result};
use tokio::runtime::Handle;

/// How a stream's objects are decoded.
#[derive(Debug, Clone)]
pub(crate) struct Decoding {
    /// The format; `None`: by extension.
    pub format: Option<FileFormat>,
    /// The compression; `None`: by extension, then magic bytes.
    pub compression: Option<Compression>,
}

impl Decoding {
    /// The format of `key`.
    pub fn format_of(&self, key: &str) -> Result<FileFormat> {
        match self.format {
            Some(f) => Ok(f),
            None => FileFormat::from_extension(key).ok_or_else(|| {
                Error::Config(format!(
                    "cannot tell the format of '{key}' from its extension; set `file_format`"
                ))
            }),
        }
    }
}

/// Opens `meta`'s object as batches. Blocks: call it from a blocking thread
/// (a scan worker or `spawn_blocking`), never from an async task.
pub(crate) fn open(
    handle: &Handle,
    store: &Arc<dyn Storage>,
    meta: &ObjectMeta,
    decoding: &Decoding,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    let key = meta.key.as_str();
    let format = decoding.format_of(key)?;
    let reader = handle.block_on(async {
        store
            .get(key)
            .await
            .map(|got| got.into_reader(DEFAULT_READ_AHEAD_CHUNKS))
    })?;
    let (_, input) = compression::open_decompressed(key, decoding.compression, Box::new(reader))?;
    formats::read_stream(key, input, format, opts, target)
}
