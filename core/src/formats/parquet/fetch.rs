//! The fetch scheduler of ranged reads: the decoder's scan plan cut into fetches of whole
//! row groups, nearby ranges coalesced, the next fetches read ahead on the runtime.

use std::collections::VecDeque;
use std::ops::Range;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::StreamExt;
use futures::FutureExt;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::arrow::push_decoder::{PlannedRange, ScanPlan};
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;

use crate::task::AbortOnDrop;

/// Bytes the Parquet reader fetches from the end of an object with the footer (the
/// cost model counts them too).
pub const PARQUET_FOOTER_PREFETCH: u64 = 64 * 1024;

/// Ranges closer than this are fetched by one request (as `object_store`'s `get_ranges`).
pub const COALESCE_GAP_BYTES: u64 = 1024 * 1024;

/// Row groups are fetched together until a fetch holds at least this many bytes.
pub const MIN_FETCH_BYTES: u64 = 4 * 1024 * 1024;

/// How [`read_parquet_ranged`](super::read_parquet_ranged) fetches an object: the footer, then the planned byte ranges
/// of the projected column chunks, coalesced and read ahead of the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangedReadOptions {
    /// Bytes fetched from the end of the object with the footer. Data that falls within them
    /// (all of a small file) is not fetched again.
    pub footer_prefetch: u64,
    /// Ranges separated by at most this many bytes are fetched by one request (the bytes
    /// in between are read and dropped), as `object_store`'s `get_ranges` does — unless
    /// the hole is larger than the bytes it joins (see [`coalesce_ranges`](super::coalesce_ranges)).
    pub coalesce_gap: u64,
    /// Consecutive row groups are fetched together until a fetch holds at least this many
    /// bytes, so files with many small row groups take few requests. A row group is never
    /// split between two fetches.
    pub min_fetch_bytes: u64,
    /// Fetches running or waiting ahead of the decoder (at least 1).
    pub prefetch_fetches: usize,
    /// Bytes of those fetches at most; one fetch ahead is always allowed, whatever its size.
    pub prefetch_bytes: u64,
    /// Ranged requests of one fetch in flight at once.
    pub concurrency: usize,
}

impl Default for RangedReadOptions {
    fn default() -> Self {
        RangedReadOptions {
            footer_prefetch: PARQUET_FOOTER_PREFETCH,
            coalesce_gap: COALESCE_GAP_BYTES,
            min_fetch_bytes: MIN_FETCH_BYTES,
            prefetch_fetches: 2,
            prefetch_bytes: 64 * 1024 * 1024,
            concurrency: 8,
        }
    }
}

/// Sorts `ranges` and merges those closer than `gap` bytes, as long as the bytes read in
/// between (fetched and dropped) are no more than the bytes wanted on both sides: a
/// projection skipping large column chunks still reads only the chunks it needs, while
/// nearby small ranges take one request.
pub fn coalesce_ranges(mut ranges: Vec<Range<u64>>, gap: u64) -> Vec<Range<u64>> {
    ranges.retain(|r| r.start < r.end);
    ranges.sort_unstable_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<u64>> = Vec::with_capacity(ranges.len());
    // Bytes wanted in the last merged range (without the holes).
    let mut wanted = 0u64;
    for r in ranges {
        let len = r.end - r.start;
        match out.last_mut() {
            Some(last) if r.start <= last.end => {
                wanted += r.end.saturating_sub(last.end);
                last.end = last.end.max(r.end);
            }
            Some(last) if r.start - last.end <= gap.min(wanted + len) => {
                wanted += len;
                last.end = r.end;
            }
            _ => {
                wanted = len;
                out.push(r);
            }
        }
    }
    out
}

/// Bytes fetched for some ranges: `(range, bytes)` pairs.
#[derive(Debug, Default)]
struct Chunks(Vec<(Range<u64>, Bytes)>);

/// The bytes of `r` within `data` (the bytes from `start` on), if it holds all of them: a
/// zero-copy slice.
fn slice_of(start: u64, data: &Bytes, r: &Range<u64>) -> Option<Bytes> {
    let end = start + data.len() as u64;
    (start <= r.start && r.end <= end).then(|| data.slice((r.start - start) as usize..(r.end - start) as usize))
}

impl Chunks {
    /// The bytes of `r`, if one chunk holds all of them (a zero-copy slice).
    fn slice(&self, r: &Range<u64>) -> Option<Bytes> {
        self.0.iter().find_map(|(c, data)| slice_of(c.start, data, r))
    }

    fn covers(spans: &[Range<u64>], r: &Range<u64>) -> bool {
        spans.iter().any(|s| s.start <= r.start && r.end <= s.end)
    }
}

/// One fetch: whole row groups' planned ranges, coalesced.
#[derive(Debug)]
struct FetchUnit {
    /// The coalesced ranges, in file order.
    spans: Vec<Range<u64>>,
    /// Their total length.
    bytes: u64,
    /// The last row group planned in this fetch.
    last_row_group: usize,
}

/// Turns the decoder's scan plan into fetch units, lazily.
struct FetchPlanner {
    plan: std::iter::Peekable<ScanPlan>,
    /// Bytes already fetched with the footer.
    tail: Range<u64>,
    options: RangedReadOptions,
}

impl FetchPlanner {
    fn new(plan: ScanPlan, tail: Range<u64>, options: RangedReadOptions) -> Self {
        FetchPlanner {
            plan: plan.peekable(),
            tail,
            options,
        }
    }

    /// The next fetch: the ranges of whole row groups until `min_fetch_bytes`; `None` when
    /// the plan is done.
    fn next_unit(&mut self) -> Option<FetchUnit> {
        let mut ranges: Vec<Range<u64>> = Vec::new();
        let mut bytes = 0u64;
        let mut last_row_group = None;
        while let Some(first) = self.plan.next() {
            let row_group = first.row_group;
            let mut add = |p: PlannedRange| {
                let in_tail = self.tail.start <= p.range.start && p.range.end <= self.tail.end;
                if !in_tail && !p.is_empty() {
                    bytes += p.len();
                    ranges.push(p.range);
                }
            };
            add(first);
            while let Some(p) = self.plan.next_if(|p| p.row_group == row_group) {
                add(p);
            }
            last_row_group = Some(row_group);
            if !ranges.is_empty() && bytes >= self.options.min_fetch_bytes {
                break;
            }
        }
        let last_row_group = last_row_group?;
        if ranges.is_empty() {
            return None;
        }
        let spans = coalesce_ranges(ranges, self.options.coalesce_gap);
        let bytes = spans.iter().map(|s| s.end - s.start).sum();
        Some(FetchUnit {
            spans,
            bytes,
            last_row_group,
        })
    }
}

/// A fetch running on the runtime (or, without one, a future run when awaited).
enum Running {
    /// Aborted when dropped (the read stopped early).
    Task(AbortOnDrop<parquet::errors::Result<Vec<Bytes>>>),
    Inline(BoxFuture<'static, parquet::errors::Result<Vec<Bytes>>>),
}

struct Pending {
    unit: FetchUnit,
    running: Running,
}

impl Pending {
    async fn wait(self) -> parquet::errors::Result<(FetchUnit, Vec<Bytes>)> {
        let data = match self.running {
            Running::Task(task) => task
                .await
                .map_err(|e| ParquetError::General(format!("a read-ahead fetch stopped: {e}")))??,
            Running::Inline(fut) => fut.await?,
        };
        Ok((self.unit, data))
    }
}

/// Serves the decoder's requests from the footer bytes, the fetch in use and the fetches
/// read ahead; fetches what the plan did not foresee.
pub(super) struct Fetcher<T> {
    reader: T,
    options: RangedReadOptions,
    handle: Option<tokio::runtime::Handle>,
    planner: FetchPlanner,
    /// A planned fetch not started yet (over the read-ahead budget, or not needed yet).
    staged: Option<FetchUnit>,
    /// Fetches started, in plan order.
    ahead: VecDeque<Pending>,
    /// The fetch the decoder reads from now.
    current: Option<Chunks>,
    /// The footer request's bytes.
    tail: (Range<u64>, Bytes),
}

impl<T> Fetcher<T>
where
    T: AsyncFileReader + Clone + Unpin + Send + 'static,
{
    /// A fetcher of `reader` following the decoder's scan `plan`; `tail` holds the footer
    /// request's bytes. Fetches read ahead on the current runtime, if any.
    pub(super) fn new(reader: T, options: RangedReadOptions, plan: ScanPlan, tail: (Range<u64>, Bytes)) -> Self {
        Fetcher {
            reader,
            options,
            handle: tokio::runtime::Handle::try_current().ok(),
            planner: FetchPlanner::new(plan, tail.0.clone(), options),
            staged: None,
            ahead: VecDeque::new(),
            current: None,
            tail,
        }
    }

    /// Stops the read-ahead at once (the fetches running are aborted).
    pub(super) fn stop(&mut self) {
        self.ahead.clear();
    }

    fn next_planned(&mut self) -> Option<FetchUnit> {
        self.staged.take().or_else(|| self.planner.next_unit())
    }

    /// Fetches `spans` with at most `concurrency` requests in flight.
    fn fetch(&self, spans: Vec<Range<u64>>) -> BoxFuture<'static, parquet::errors::Result<Vec<Bytes>>> {
        let reader = self.reader.clone();
        let concurrency = self.options.concurrency.max(1);
        async move {
            if spans.len() <= 1 {
                let mut reader = reader;
                return reader.get_byte_ranges(spans).await;
            }
            // One request per span, `concurrency` at a time, results in order.
            let requests: Vec<(T, Range<u64>)> = spans.into_iter().map(|span| (reader.clone(), span)).collect();
            let results: Vec<Bytes> = futures::stream::iter(
                requests
                    .into_iter()
                    .map(|(mut reader, span)| async move { reader.get_bytes(span).await }),
            )
            .buffered(concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<parquet::errors::Result<_>>()?;
            Ok(results)
        }
        .boxed()
    }

    fn start(&self, unit: FetchUnit) -> Pending {
        let future = self.fetch(unit.spans.clone());
        let running = match &self.handle {
            Some(handle) => Running::Task(AbortOnDrop::new(handle.spawn(future))),
            None => Running::Inline(future),
        };
        Pending { unit, running }
    }

    /// Starts planned fetches until `prefetch_fetches` are ahead, or their bytes would
    /// exceed `prefetch_bytes` (one is always allowed).
    pub(super) fn top_up(&mut self) {
        while self.ahead.len() < self.options.prefetch_fetches.max(1) {
            let Some(unit) = self.next_planned() else { return };
            let ahead_bytes: u64 = self.ahead.iter().map(|p| p.unit.bytes).sum();
            if !self.ahead.is_empty() && ahead_bytes + unit.bytes > self.options.prefetch_bytes {
                self.staged = Some(unit);
                return;
            }
            let pending = self.start(unit);
            self.ahead.push_back(pending);
        }
    }

    /// Where the planned fetch holding `r` is among those started, starting planned fetches
    /// (and skipping those the decoder went past) until one holds it. `None`: the plan does
    /// not hold `r` before row group `row_group`'s fetch.
    fn locate(&mut self, r: &Range<u64>, row_group: Option<usize>) -> Option<usize> {
        if let Some(i) = self.ahead.iter().position(|p| Chunks::covers(&p.unit.spans, r)) {
            return Some(i);
        }
        let row_group = row_group?;
        while let Some(unit) = self.next_planned() {
            if Chunks::covers(&unit.spans, r) {
                let pending = self.start(unit);
                self.ahead.push_back(pending);
                return Some(self.ahead.len() - 1);
            }
            if unit.last_row_group >= row_group {
                // At or past the row group asked for: the plan does not hold `r`.
                self.staged = Some(unit);
                return None;
            }
            // A fetch of row groups the decoder skipped: never needed.
        }
        None
    }

    /// The bytes of `ranges`, in order.
    pub(super) async fn serve(
        &mut self,
        ranges: &[Range<u64>],
        metadata: &ParquetMetaData,
    ) -> parquet::errors::Result<Vec<Bytes>> {
        let mut out: Vec<Option<Bytes>> = vec![None; ranges.len()];
        let mut missing: Vec<usize> = Vec::new();
        for (i, r) in ranges.iter().enumerate() {
            if let Some(b) = slice_of(self.tail.0.start, &self.tail.1, r) {
                out[i] = Some(b);
                continue;
            }
            if let Some(b) = self.current.as_ref().and_then(|c| c.slice(r)) {
                out[i] = Some(b);
                continue;
            }
            match self.locate(r, row_group_of(metadata, r)) {
                Some(pos) => {
                    // Fetches before it hold row groups the decoder is past: drop them.
                    let mut taken = None;
                    for _ in 0..=pos {
                        taken = self.ahead.pop_front();
                    }
                    if let Some(pending) = taken {
                        let (unit, data) = pending.wait().await?;
                        let chunks = Chunks(unit.spans.into_iter().zip(data).collect());
                        out[i] = chunks.slice(r);
                        self.current = Some(chunks);
                    }
                    self.top_up();
                    if out[i].is_none() {
                        missing.push(i);
                    }
                }
                None => missing.push(i),
            }
        }
        if !missing.is_empty() {
            let wanted: Vec<Range<u64>> = missing.iter().map(|&i| ranges[i].clone()).collect();
            let spans = coalesce_ranges(wanted, self.options.coalesce_gap);
            let data = self.fetch(spans.clone()).await?;
            let chunks = Chunks(spans.into_iter().zip(data).collect());
            for i in missing {
                out[i] = chunks.slice(&ranges[i]);
            }
        }
        out.into_iter()
            .zip(ranges)
            .map(|(b, r)| {
                b.ok_or_else(|| {
                    ParquetError::General(format!(
                        "asked for bytes {}..{} and got fewer: the object is shorter than listed (was it replaced \
                         during the read?); run the sync again",
                        r.start, r.end
                    ))
                })
            })
            .collect()
    }
}

/// The row group whose column chunks hold the first byte of `r`, if any.
fn row_group_of(metadata: &ParquetMetaData, r: &Range<u64>) -> Option<usize> {
    metadata.row_groups().iter().position(|rg| {
        rg.columns().iter().any(|c| {
            let (start, len) = c.byte_range();
            start <= r.start && r.start < start + len
        })
    })
}
