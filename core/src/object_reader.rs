//! Opening a stored object (any [`Storage`]: S3 or a local directory) as a
//! stream of record batches, on a blocking thread.
//!
//! - Parquet (uncompressed as a whole, the usual case) is read through ranged
//!   GETs ([`formats::parquet::read_parquet_ranged`] over [`ObjectFile`]): the
//!   footer first (one request with a 64 KiB prefetch, which also serves the
//!   data of a small file), then only the column chunks the projection and
//!   filters need — nearby chunks coalesced into one GET, the GETs of a fetch
//!   concurrent, the next row groups fetched while the current one decodes.
//! - Every other format streams: one GET feeding a bounded read-ahead buffer,
//!   decompression, then the format's reader.

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
use crate::formats::{self, compression, BatchReader, Compression, FileFormat, ReadOptions};
use crate::storage::{ObjectMeta, Storage, StorageError, DEFAULT_READ_AHEAD_CHUNKS};

/// Bytes fetched with the footer's length, so small footers take one GET.
const FOOTER_PREFETCH: usize = crate::formats::parquet::PARQUET_FOOTER_PREFETCH as usize;

/// Ranged GETs of one `get_byte_ranges` call in flight at once.
const RANGE_CONCURRENCY: usize = 8;

/// Opens `meta`'s object of `store`, in `format`, as batches of its own
/// columns (or conformed to `target`). `compression` `None` means: by the
/// key's extension, then by magic bytes.
///
/// Blocks: call it from a blocking thread (a scan worker, `spawn_blocking`
/// or `block_in_place`), never from an async task; `handle` is the runtime
/// the requests run on.
pub fn open_object(
    handle: &Handle,
    store: &Arc<dyn Storage>,
    meta: &ObjectMeta,
    format: FileFormat,
    compression: Option<Compression>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    let key = meta.key.as_str();
    if reads_ranged(format, compression, key) {
        return open_ranged_parquet(handle, store, meta, opts, target);
    }
    let reader = handle.block_on(async {
        store
            .get(key)
            .await
            .map(|got| got.into_reader(DEFAULT_READ_AHEAD_CHUNKS))
    })?;
    let (_, input) = compression::open_decompressed(key, compression, Box::new(reader))?;
    formats::read_stream(key, input, format, opts, target)
}

/// Whether an object in `format` with `compression` (`None`: by `key`'s
/// extension) is read through ranged GETs: Parquet not compressed as a whole.
pub fn reads_ranged(format: FileFormat, compression: Option<Compression>, key: &str) -> bool {
    let whole_file_compressed = match compression {
        Some(c) => c != Compression::None,
        None => Compression::from_extension(key).is_some(),
    };
    format == FileFormat::Parquet && !whole_file_compressed
}

/// Opens `meta`'s Parquet object through ranged GETs (see the module docs).
/// Blocks, as [`open_object`].
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalStorage;

    #[test]
    fn opens_text_compressed_and_parquet_objects() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStorage::new(dir.path());
        rt.block_on(local.put("a.csv", Bytes::from_static(b"id,name\n1,ann\n2,bob\n")))
            .unwrap();
        let mut gz = compression::Encoder::new(Compression::Gzip, Vec::new()).unwrap();
        std::io::Write::write_all(&mut gz, b"{\"id\": 3}\n").unwrap();
        rt.block_on(local.put("b.jsonl.gz", Bytes::from(gz.finish().unwrap())))
            .unwrap();
        // A Parquet object written from the CSV's batches.
        let csv = formats::read_path(&dir.path().join("a.csv"), None, None, &ReadOptions::default(), None).unwrap();
        let schema = csv.schema();
        let batches = formats::collect(csv).unwrap();
        let mut w = formats::new_writer(
            FileFormat::Parquet,
            "snappy",
            schema,
            Vec::new(),
            &formats::WriteOptions::default(),
        )
        .unwrap();
        for b in &batches {
            w.write(b).unwrap();
        }
        rt.block_on(local.put("c.parquet", Bytes::from(w.finish().unwrap())))
            .unwrap();

        let store: Arc<dyn Storage> = Arc::new(local);
        let opts = ReadOptions::default();
        for (key, format, rows) in [
            ("a.csv", FileFormat::Csv, 2),
            ("b.jsonl.gz", FileFormat::Jsonl, 1),
            ("c.parquet", FileFormat::Parquet, 2),
        ] {
            let meta = rt.block_on(store.head(key)).unwrap();
            let reader = open_object(rt.handle(), &store, &meta, format, None, &opts, None).unwrap();
            let read: usize = formats::collect(reader).unwrap().iter().map(|b| b.num_rows()).sum();
            assert_eq!(read, rows, "{key}");
        }
    }
}
