//! [`read_parquet_ranged`], the reader for object stores: the footer in one request, then
//! the decoder fed by the [`super::fetch`] scheduler.

use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::push_decoder::{ParquetPushDecoder, ParquetPushDecoderBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataPushDecoder};
use parquet::DecodeResult;

use super::fetch::{Fetcher, RangedReadOptions};
use super::footer::{chunk_walks, decode_repaired, footer_in_tail, with_measured_sizes};
use super::metadata::{arrow_metadata, perr};
use super::projection::configure;
use super::read::{check_row_count, expected_rows, finish_batch};
use crate::error::{Error, Result};
use crate::formats::options::{OnBadRecord, ReadOptions};
use crate::formats::reader::Warnings;

/// A stream of Parquet batches read through ranged requests ([`read_parquet_ranged`]).
pub struct ParquetStream {
    schema: SchemaRef,
    inner: BoxStream<'static, Result<RecordBatch>>,
    warnings: Arc<Mutex<Warnings>>,
}

impl ParquetStream {
    /// The schema of the batches (the target's, when one was given).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Warnings collected so far (rows emitted as null or skipped per `on_bad_record`).
    pub fn take_warnings(&mut self) -> Vec<String> {
        match self.warnings.lock() {
            Ok(mut w) => w.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }
}

impl Stream for ParquetStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl std::fmt::Debug for ParquetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStream")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

/// Opens a `size`-byte Parquet object through ranged reads, for object stores:
///
/// 1. the footer: one request for the last `footer_prefetch` bytes (a second one only when
///    the metadata is larger);
/// 2. the byte ranges the decoder will read — only the projected column chunks of the row
///    groups `parquet_filters` does not prune — in decoding order, grouped into fetches of
///    whole row groups, nearby ranges coalesced into one request and the requests of a
///    fetch issued concurrently;
/// 3. while a row group decodes, the next fetches (at most `prefetch_fetches` and
///    `prefetch_bytes`) run on the tokio runtime, so memory stays flat however large the
///    object is.
///
/// A range the plan did not foresee is fetched when the decoder asks for it, so the result
/// never depends on the plan. Must be polled within a tokio runtime for the read-ahead to
/// run concurrently (without one, fetches run when polled). `reader` is cloned for every
/// fetch: it should be cheap to clone (a handle on a shared client).
pub async fn read_parquet_ranged<T>(
    file: &str,
    mut reader: T,
    size: u64,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
    ranged: RangedReadOptions,
) -> Result<ParquetStream>
where
    T: AsyncFileReader + Clone + Unpin + Send + 'static,
{
    let (metadata, tail) = load_metadata(file, &mut reader, size, ranged.footer_prefetch).await?;
    let metadata = measure_old_chunks(metadata, &mut reader, size).await;
    let reader_metadata = arrow_metadata(file, Arc::clone(&metadata))?;
    let builder = ParquetPushDecoderBuilder::new_with_metadata(reader_metadata);
    let (builder, schema) = configure(file, builder, opts, target.as_ref())?;
    let decoder = builder.build().map_err(|e| perr(file, e))?;
    let plan = decoder.scan_plan();
    let warnings = Arc::new(Mutex::new(Warnings::default()));
    let expected_rows = expected_rows(&metadata, opts);
    let mut state = RangedDecoder {
        file: file.to_string(),
        decoder,
        metadata,
        fetcher: Fetcher::new(reader, ranged, plan, tail),
        target: target.clone(),
        on_bad: opts.on_bad_record,
        warnings: Arc::clone(&warnings),
        done: false,
        expected_rows,
        decoded_rows: 0,
    };
    // Start fetching at once: the first row groups download while the caller sets up.
    state.fetcher.top_up();
    let inner = futures::stream::unfold(state, |mut state| async move {
        let item = state.next_batch().await?;
        Some((item, state))
    })
    .boxed();
    Ok(ParquetStream {
        schema: target.unwrap_or(schema),
        inner,
        warnings,
    })
}

/// Reads the footer and metadata of a `size`-byte object: one request for the last
/// `prefetch` bytes, another only if the metadata is longer. Returns the metadata and the
/// bytes of the first request (which may hold data of a small file).
async fn load_metadata<T: AsyncFileReader>(
    file: &str,
    reader: &mut T,
    size: u64,
    prefetch: u64,
) -> Result<(Arc<ParquetMetaData>, (Range<u64>, Bytes))> {
    let mut decoder = ParquetMetaDataPushDecoder::try_new(size)
        .map_err(|e| perr(file, format!("invalid footer: {e}")))?
        .with_page_index_policy(PageIndexPolicy::Skip);
    let tail_range = size.saturating_sub(prefetch.max(8))..size;
    let tail = reader
        .get_bytes(tail_range.clone())
        .await
        .map_err(|e| fetch_error(file, e))?;
    if tail.len() as u64 != tail_range.end - tail_range.start {
        return Err(short_read(file, &tail_range, tail.len()));
    }
    decoder
        .push_range(tail_range.clone(), tail.clone())
        .map_err(|e| perr(file, e))?;
    loop {
        let decoded = match decoder.try_decode() {
            Ok(d) => d,
            // A footer the crate refuses, repaired when the tail holds it all.
            Err(e) => match footer_in_tail(&tail).and_then(decode_repaired) {
                Some(metadata) => return Ok((Arc::new(metadata), (tail_range, tail))),
                None => return Err(perr(file, e)),
            },
        };
        match decoded {
            DecodeResult::Data(metadata) => return Ok((Arc::new(metadata), (tail_range, tail))),
            DecodeResult::NeedsData(ranges) => {
                let data = reader
                    .get_byte_ranges(ranges.clone())
                    .await
                    .map_err(|e| fetch_error(file, e))?;
                decoder.push_ranges(ranges, data).map_err(|e| perr(file, e))?;
            }
            DecodeResult::Finished => return Err(perr(file, "the footer metadata could not be decoded")),
        }
    }
}

/// `metadata` with the chunk sizes an old parquet-mr understated measured from the chunks'
/// page headers ([`chunk_walks`]); unchanged for other writers or if a read fails (the
/// decoder then reports the file's own error).
async fn measure_old_chunks<T: AsyncFileReader>(
    metadata: Arc<ParquetMetaData>,
    reader: &mut T,
    size: u64,
) -> Arc<ParquetMetaData> {
    let Some(mut walks) = chunk_walks(&metadata, size) else {
        return metadata;
    };
    for walk in walks.iter_mut().flatten() {
        while let Some((at, len)) = walk.next_read() {
            let Ok(bytes) = reader.get_bytes(at..at + len as u64).await else {
                break;
            };
            if walk.feed(&bytes).is_none() {
                break;
            }
        }
    }
    with_measured_sizes(metadata, &walks)
}

/// A failed request: a storage error (with its own advice) keeps its message.
fn fetch_error(file: &str, e: ParquetError) -> Error {
    match e {
        ParquetError::External(inner) => Error::format(file, inner.to_string()),
        other => perr(file, other),
    }
}

fn short_read(file: &str, range: &Range<u64>, got: usize) -> Error {
    Error::format(
        file,
        format!(
            "asked for bytes {}..{} and got {got} bytes: the object is shorter than listed (was it replaced \
             during the read?); run the sync again",
            range.start, range.end
        ),
    )
}

/// The state of a [`read_parquet_ranged`] stream.
struct RangedDecoder<T> {
    file: String,
    decoder: ParquetPushDecoder,
    metadata: Arc<ParquetMetaData>,
    fetcher: Fetcher<T>,
    target: Option<SchemaRef>,
    on_bad: OnBadRecord,
    warnings: Arc<Mutex<Warnings>>,
    done: bool,
    /// Rows the file holds (without filters), checked against the rows decoded.
    expected_rows: Option<u64>,
    decoded_rows: u64,
}

impl<T> RangedDecoder<T>
where
    T: AsyncFileReader + Clone + Unpin + Send + 'static,
{
    async fn next_batch(&mut self) -> Option<Result<RecordBatch>> {
        if self.done {
            return None;
        }
        let r = self.try_next_batch().await;
        match r {
            Ok(Some(batch)) => Some(Ok(batch)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                self.fetcher.stop();
                Some(Err(e))
            }
        }
    }

    async fn try_next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            match self.decoder.try_decode().map_err(|e| perr(&self.file, e))? {
                DecodeResult::Data(batch) => {
                    self.decoded_rows += batch.num_rows() as u64;
                    let mut warnings = Warnings::default();
                    let batch = finish_batch(&self.file, batch, self.target.as_ref(), self.on_bad, &mut warnings)?;
                    let taken = warnings.take();
                    if !taken.is_empty() {
                        let mut shared = match self.warnings.lock() {
                            Ok(w) => w,
                            Err(poisoned) => poisoned.into_inner(),
                        };
                        for w in taken {
                            shared.push(w);
                        }
                    }
                    return Ok(Some(batch));
                }
                DecodeResult::NeedsData(ranges) => {
                    let data = self
                        .fetcher
                        .serve(&ranges, &self.metadata)
                        .await
                        .map_err(|e| fetch_error(&self.file, e))?;
                    self.decoder
                        .push_ranges(ranges, data)
                        .map_err(|e| perr(&self.file, e))?;
                }
                DecodeResult::Finished => {
                    check_row_count(&self.file, self.expected_rows, self.decoded_rows)?;
                    return Ok(None);
                }
            }
        }
    }
}
