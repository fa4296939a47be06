//! Parquet objects read through ranged GETs
//! ([`formats::parquet::read_parquet_ranged`] over [`ObjectFile`]): the
//! footer first (one request with a 64 KiB prefetch, which also serves the
//! data of a small file), then only the column chunks the projection and
//! filters need — nearby chunks coalesced into one GET, the GETs of a fetch
//! concurrent, the next row groups fetched while the current one decodes.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use lakeport_protocol::panics::catch_panic;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use tokio::runtime::Handle;

use crate::error::Result;
use crate::formats::parquet::{ParquetStream, RangedReadOptions};
use crate::formats::{self, BatchReader, ReadOptions};
use crate::storage::{ObjectMeta, Storage, StorageError};

/// Bytes fetched with the footer's length, so small footers take one GET.
const FOOTER_PREFETCH: usize = crate::formats::parquet::PARQUET_FOOTER_PREFETCH as usize;

/// Ranged GETs of one `get_byte_ranges` call in flight at once.
const RANGE_CONCURRENCY: usize = 8;

/// Opens `meta`'s Parquet object through ranged GETs (see the module docs).
/// Blocks, as [`super::open_object`].
pub fn open_ranged_parquet(
    handle: &Handle,
    store: &Arc<dyn Storage>,
    meta: &ObjectMeta,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    let file = ObjectFile::new(store.clone(), meta.key.as_str(), meta.size);
    // The Parquet crate asserts on some malformed files (the decoder runs on
    // this thread, inside `block_on`): a panic is the object's error.
    let stream = catch_panic(|| {
        handle.block_on(formats::parquet::read_parquet_ranged(
            &meta.key,
            file,
            meta.size,
            opts,
            target,
            RangedReadOptions::default(),
        ))
    })
    .map_err(|p| malformed(&meta.key, &p))??;
    Ok(Box::new(BlockingBatches {
        key: meta.key.clone(),
        handle: handle.clone(),
        stream,
    }))
}

/// The error for a Parquet object the Parquet crate panicked on.
fn malformed(key: &str, panic: &str) -> crate::Error {
    crate::Error::format(
        key,
        format!("the file is not valid Parquet: the reader rejects it ({panic})"),
    )
}

/// A stored object as Parquet's random-access input: every read is a ranged
/// GET. Cheap to clone (the store is shared), so the reader can fetch ahead
/// on the runtime while a row group decodes.
#[derive(Clone)]
pub struct ObjectFile {
    store: Arc<dyn Storage>,
    key: String,
    size: u64,
}

impl ObjectFile {
    /// The object `key` of `store`, `size` bytes long.
    pub fn new(store: Arc<dyn Storage>, key: impl Into<String>, size: u64) -> Self {
        ObjectFile {
            store,
            key: key.into(),
            size,
        }
    }
}

fn external(e: StorageError) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ObjectFile {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.store.get_range(&self.key, range).await.map_err(external) }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let store = &self.store;
            let key = &self.key;
            // Concurrent, at most RANGE_CONCURRENCY at once, results in order.
            futures::stream::iter(ranges.into_iter().map(|r| store.get_range(key, r)))
                .buffered(RANGE_CONCURRENCY)
                .try_collect()
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// An async batch stream read from a blocking thread.
struct BlockingBatches {
    /// The object's key, for errors.
    key: String,
    handle: Handle,
    stream: ParquetStream,
}

impl Iterator for BlockingBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let (handle, stream) = (&self.handle, &mut self.stream);
        catch_panic(|| handle.block_on(stream.next())).unwrap_or_else(|p| Some(Err(malformed(&self.key, &p))))
    }
}

impl BatchReader for BlockingBatches {
    fn schema(&self) -> SchemaRef {
        self.stream.schema()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.stream.take_warnings()
    }
}
