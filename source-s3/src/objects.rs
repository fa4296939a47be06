//! Opening an S3 object as a stream of record batches, on a blocking thread.
//!
//! - Parquet (uncompressed as a whole, the usual case) is read through ranged
//!   GETs: the footer first (one request with a 64 KiB prefetch), then only the
//!   column chunks the projection and filters need ([`ObjectFile`]).
//! - Every other format streams: one GET feeding a bounded read-ahead buffer,
//!   decompression, then the format's reader.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use lakeport_core::formats::{self, compression, BatchReader, Compression, FileFormat, ReadOptions};
use lakeport_core::storage::{ObjectMeta, Storage, DEFAULT_READ_AHEAD_CHUNKS};
use lakeport_core::{Error, Result};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use tokio::runtime::Handle;

/// Bytes fetched with the footer's length, so small footers take one GET.
const FOOTER_PREFETCH: usize = 64 * 1024;

/// How a stream's objects are decoded.
#[derive(Debug, Clone)]
pub(crate) struct Decoding {
    /// The format; `None`: by extension.
    pub format: Option<FileFormat>,
    /// The compression; `None`: by extension, then magic bytes.
    pub compression: Option<Compression>,
    /// Each batch's columns become one struct column `data` (`schemaless`).
    pub schemaless: bool,
    /// A record that does not fit the schema stops the read with a
    /// config_error asking for a new discover (`validation_policy: wait`).
    pub wait_for_discover: bool,
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
    let reader = open_plain(handle, store, meta, decoding, opts, target)
        .map_err(|e| wait_error(decoding.wait_for_discover, e))?;
    if !decoding.schemaless && !decoding.wait_for_discover {
        return Ok(reader);
    }
    let schema = if decoding.schemaless {
        Arc::new(Schema::new(vec![data_field(reader.schema().fields().clone())]))
    } else {
        reader.schema()
    };
    Ok(Box::new(Wrapped {
        inner: reader,
        schema,
        schemaless: decoding.schemaless,
        wait_for_discover: decoding.wait_for_discover,
    }))
}

/// The `data` column of a schemaless stream.
fn data_field(fields: Fields) -> Field {
    Field::new("data", DataType::Struct(fields), true)
}

/// With `validation_policy: wait`, a record that does not fit is a
/// config_error asking for a new discover.
fn wait_error(wait_for_discover: bool, e: Error) -> Error {
    match e {
        Error::Format { file, message } if wait_for_discover => Error::Config(format!(
            "'{file}' has a record that does not fit the stream's schema ({message}). The stream's \
             validation_policy is 'wait': run discover again, review the new schema, then read."
        )),
        other => other,
    }
}

/// A reader whose batches are wrapped into one `data` column and/or whose
/// errors become "run discover again" config errors.
struct Wrapped {
    inner: Box<dyn BatchReader>,
    schema: SchemaRef,
    schemaless: bool,
    wait_for_discover: bool,
}

impl Iterator for Wrapped {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        let batch = match self.inner.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(wait_error(self.wait_for_discover, e))),
        };
        if !self.schemaless {
            return Some(Ok(batch));
        }
        let rows = batch.num_rows();
        let fields = batch.schema().fields().clone();
        let data = StructArray::try_new(fields.clone(), batch.columns().to_vec(), None)
            .map_err(|e| Error::Internal(format!("schemaless data column: {e}")));
        Some(data.and_then(|data| {
            RecordBatch::try_new_with_options(
                Arc::new(Schema::new(vec![data_field(fields)])),
                vec![Arc::new(data) as ArrayRef],
                &RecordBatchOptions::new().with_row_count(Some(rows)),
            )
            .map_err(|e| Error::Internal(format!("schemaless batch: {e}")))
        }))
    }
}

impl BatchReader for Wrapped {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        self.inner.take_warnings()
    }
}

/// Opens `meta`'s object as batches of its own columns.
fn open_plain(
    handle: &Handle,
    store: &Arc<dyn Storage>,
    meta: &ObjectMeta,
    decoding: &Decoding,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    let key = meta.key.as_str();
    let format = decoding.format_of(key)?;
    let whole_file_compressed = match decoding.compression {
        Some(c) => c != Compression::None,
        None => Compression::from_extension(key).is_some(),
    };
    if format == FileFormat::Parquet && !whole_file_compressed {
        let file = ObjectFile {
            store: store.clone(),
            key: key.to_string(),
            size: meta.size,
        };
        let (schema, stream) = handle.block_on(formats::parquet::read_parquet_async(key, file, opts, target))?;
        return Ok(Box::new(BlockingBatches {
            handle: handle.clone(),
            schema,
            stream,
        }));
    }
    let reader = handle.block_on(async {
        store
            .get(key)
            .await
            .map(|got| got.into_reader(DEFAULT_READ_AHEAD_CHUNKS))
    })?;
    let (_, input) = compression::open_decompressed(key, decoding.compression, Box::new(reader))?;
    formats::read_stream(key, input, format, opts, target)
}

/// A stored object as Parquet's random-access input: every read is a ranged
/// GET (several ranges are fetched concurrently).
struct ObjectFile {
    store: Arc<dyn Storage>,
    key: String,
    size: u64,
}

fn external(e: lakeport_core::storage::StorageError) -> ParquetError {
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
            futures::future::try_join_all(ranges.into_iter().map(|r| store.get_range(key, r)))
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
    handle: Handle,
    schema: SchemaRef,
    stream: BoxStream<'static, Result<RecordBatch>>,
}

impl Iterator for BlockingBatches {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.handle.block_on(self.stream.next())
    }
}

impl BatchReader for BlockingBatches {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }
}
