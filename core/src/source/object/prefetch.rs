//! Fetching small objects ahead of the workers that decode them ([`Prefetch`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;

use super::{open_fetched, wait_error, Decoding, ObjectAt};
use crate::error::Result;
use crate::formats::{BatchReader, ReadOptions};
use crate::storage::{ObjectMeta, Storage};
use crate::task::AbortOnDrop;

/// Objects up to this size are fetched whole ahead of the workers ([`Prefetch`]).
pub const PREFETCH_MAX_OBJECT_BYTES: u64 = 8 * 1024 * 1024;
/// Objects fetched (or being fetched) ahead of the workers, per worker: GETs
/// in flight, as many small objects as a worker decodes while one GET's
/// latency passes (the byte budget below bounds the memory they take).
pub const PREFETCH_OBJECTS_PER_WORKER: usize = 64;
/// Bytes fetched ahead of the workers at most, per worker.
pub const PREFETCH_BYTES_PER_WORKER: u64 = 8 * 1024 * 1024;

/// Whether the read may send one more GET (the cost limit is not reached).
pub type MayFetch = Arc<dyn Fn() -> bool + Send + Sync>;

/// How far a [`Prefetch`] reads ahead: objects and bytes fetched and not yet taken.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// Objects.
    pub objects: usize,
    /// Bytes.
    pub bytes: u64,
}

/// A fetched object and the read-ahead budget it holds until a worker takes it.
struct Fetched {
    bytes: Bytes,
    _permits: (OwnedSemaphorePermit, OwnedSemaphorePermit),
}

type Slot = Mutex<Option<oneshot::Receiver<crate::storage::Result<Fetched>>>>;

/// Fetches the small objects of a read ahead of the workers that decode them.
///
/// A GET's latency (tens of milliseconds on S3; 40 ms on a kept-alive
/// connection to a server that delays small writes) dwarfs decoding a small
/// object, so `parallel_workers` threads waiting on one GET each read few
/// objects per second. A task on the runtime fetches the objects in reading
/// order — those read as one streaming GET (not ranged Parquet) of at most
/// [`PREFETCH_MAX_OBJECT_BYTES`] — with up to [`PREFETCH_OBJECTS_PER_WORKER`]
/// objects and [`PREFETCH_BYTES_PER_WORKER`] per worker fetched and not yet
/// taken, so `parallel_workers` sets how many GETs are in flight as well as
/// how many threads decode; [`Prefetch::open`] hands a worker its object's
/// bytes. No GET starts once `may_fetch` says no (the cost limit is
/// reached) or the last handle is dropped. Every GET goes through the
/// store, so the meter counts each.
pub struct Prefetch {
    slots: Vec<Slot>,
    /// Set when the last handle goes: the fetching task starts no further GET.
    stopped: Arc<AtomicBool>,
    driver: Option<AbortOnDrop<()>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Before the slots go (which frees the read-ahead budget the task waits for).
        self.stopped.store(true, Ordering::SeqCst);
        self.driver.take();
    }
}

/// Read-ahead permits for `bytes` (KiB, rounded up).
fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

impl Prefetch {
    /// Starts fetching `files` (in reading order) on `handle`'s runtime
    /// for `workers` decoding threads.
    pub fn start(
        handle: &Handle,
        store: &Arc<dyn Storage>,
        files: &[ObjectMeta],
        decoding: &Decoding,
        workers: usize,
        may_fetch: MayFetch,
    ) -> Arc<Prefetch> {
        let workers = workers.max(1);
        let budget = Budget {
            objects: PREFETCH_OBJECTS_PER_WORKER * workers,
            bytes: PREFETCH_BYTES_PER_WORKER * workers as u64,
        };
        Self::start_with(handle, store, files, decoding, budget, may_fetch)
    }

    /// [`Prefetch::start`] with its read-ahead budget given (not per worker).
    pub fn start_with(
        handle: &Handle,
        store: &Arc<dyn Storage>,
        files: &[ObjectMeta],
        decoding: &Decoding,
        Budget { objects, bytes }: Budget,
        may_fetch: MayFetch,
    ) -> Arc<Prefetch> {
        let mut jobs = Vec::new();
        let slots = files
            .iter()
            .map(|meta| {
                let wanted = meta.size <= PREFETCH_MAX_OBJECT_BYTES.min(bytes)
                    && decoding
                        .format_of(&meta.key)
                        .is_ok_and(|format| !decoding.is_ranged(&meta.key, format));
                if !wanted {
                    return Mutex::new(None);
                }
                let (tx, rx) = oneshot::channel();
                jobs.push((meta.key.clone(), meta.size, tx));
                Mutex::new(Some(rx))
            })
            .collect();
        let stopped = Arc::new(AtomicBool::new(false));
        let driver = (!jobs.is_empty()).then(|| {
            let store = Arc::clone(store);
            let stopped = Arc::clone(&stopped);
            AbortOnDrop::new(handle.spawn(async move {
                let count = Arc::new(Semaphore::new(objects.max(1)));
                let budget = Arc::new(Semaphore::new(kib(bytes) as usize));
                let mut running = JoinSet::new();
                for (key, size, tx) in jobs {
                    let Ok(one) = Arc::clone(&count).acquire_owned().await else {
                        return;
                    };
                    let Ok(room) = Arc::clone(&budget).acquire_many_owned(kib(size)).await else {
                        return;
                    };
                    if stopped.load(Ordering::SeqCst) || !may_fetch() {
                        return;
                    }
                    if tx.is_closed() {
                        continue;
                    }
                    let store = Arc::clone(&store);
                    running.spawn(async move {
                        let got = match store.get(&key).await {
                            Ok(got) => got.bytes().await,
                            Err(e) => Err(e),
                        };
                        let _ = tx.send(got.map(|bytes| Fetched {
                            bytes,
                            _permits: (one, room),
                        }));
                    });
                    while running.try_join_next().is_some() {}
                }
                while running.join_next().await.is_some() {}
            }))
        });
        Arc::new(Prefetch { slots, stopped, driver })
    }

    /// Opens file `index` of the list given to [`Prefetch::start`] (`at.meta`) as
    /// [`super::open`] does, with its bytes when they were fetched ahead (waiting for
    /// them if they are on their way). Blocks: call it from a blocking thread.
    pub fn open(
        &self,
        index: usize,
        at: ObjectAt<'_>,
        decoding: &Decoding,
        opts: &ReadOptions,
        target: Option<SchemaRef>,
    ) -> Result<Box<dyn BatchReader>> {
        let rx = self
            .slots
            .get(index)
            .and_then(|slot| slot.lock().ok().and_then(|mut rx| rx.take()));
        let fetched = match rx.map(|rx| at.handle.block_on(rx)) {
            // The worker takes the bytes; the read-ahead budget is free again.
            Some(Ok(Ok(fetched))) => Some(fetched.bytes),
            Some(Ok(Err(e))) => return Err(wait_error(decoding.wait_for_discover, e.into())),
            // Not fetched ahead, or the fetching stopped: a GET of its own.
            Some(Err(_)) | None => None,
        };
        open_fetched(at, decoding, opts, target, fetched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::FileFormat;
    use crate::storage::{LocalStorage, Meter, Metered, RequestKind};
    use arrow::datatypes::DataType;
    use std::time::Duration;

    /// A directory of `n` small CSV objects `o/NN.csv` (row `i`: `id = 100 * NN + i`),
    /// as a store, and their metadata in key order.
    struct Objects {
        dir: std::path::PathBuf,
        runtime: tokio::runtime::Runtime,
        store: Arc<dyn Storage>,
        /// The store's meter, taken once.
        meter: Arc<Meter>,
        files: Vec<ObjectMeta>,
    }

    impl Objects {
        fn new(name: &str, n: usize) -> Objects {
            let dir = std::env::temp_dir().join(format!("lakeport-objects-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            let metered = Metered::new(Arc::new(LocalStorage::new(&dir)));
            let store = metered.store().clone();
            let files = runtime.block_on(async {
                let mut files = Vec::new();
                for f in 0..n {
                    let key = format!("o/{f:02}.csv");
                    let body: String = std::iter::once("id,name\n".to_string())
                        .chain((0..10).map(|i| format!("{},n{i}\n", 100 * f + i)))
                        .collect();
                    store.put(&key, body.into()).await.unwrap();
                    files.push(store.head(&key).await.unwrap());
                }
                files
            });
            let meter = metered.meter().clone();
            Objects {
                dir,
                runtime,
                store,
                meter,
                files,
            }
        }

        fn gets(&self) -> u64 {
            self.meter.requests(RequestKind::Get)
        }

        /// Where object `i` is.
        fn at(&self, i: usize) -> ObjectAt<'_> {
            ObjectAt {
                handle: self.runtime.handle(),
                store: &self.store,
                meta: &self.files[i],
            }
        }

        /// Reads object `i` through `prefetch`: its ids.
        fn read(&self, prefetch: &Prefetch, i: usize) -> Vec<i64> {
            let opts = ReadOptions::default();
            let reader = prefetch.open(i, self.at(i), &csv(), &opts, None).unwrap();
            let mut ids = Vec::new();
            for batch in reader {
                let batch = batch.unwrap();
                let col = arrow::compute::cast(batch.column(0), &DataType::Int64).unwrap();
                let col = col.as_any().downcast_ref::<arrow::array::Int64Array>().unwrap();
                ids.extend(col.values().iter().copied());
            }
            ids
        }

        /// Waits until the read-ahead has settled: no GET for 300 ms.
        fn settle(&self) {
            for _ in 0..30 {
                let before = self.gets();
                std::thread::sleep(Duration::from_millis(300));
                if self.gets() == before {
                    return;
                }
            }
        }
    }

    impl Drop for Objects {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn budget(objects: usize, bytes: u64) -> Budget {
        Budget { objects, bytes }
    }

    fn always() -> MayFetch {
        Arc::new(|| true)
    }

    fn csv() -> Decoding {
        Decoding {
            format: Some(FileFormat::Csv),
            compression: None,
            schemaless: false,
            wait_for_discover: false,
        }
    }

    #[test]
    fn prefetched_objects_read_as_fetched_ones_with_one_get_each() {
        let o = Objects::new("same", 12);
        let gets_before = o.gets();
        let prefetch = Prefetch::start_with(
            o.runtime.handle(),
            &o.store,
            &o.files,
            &csv(),
            budget(4, 1 << 20),
            always(),
        );
        // Two workers, each its share in order.
        let all: Vec<(usize, Vec<i64>)> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|w| {
                    let (o, prefetch) = (&o, &prefetch);
                    s.spawn(move || {
                        (0..12)
                            .filter(|i| i % 2 == w)
                            .map(|i| (i, o.read(prefetch, i)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
        });
        for (i, ids) in all {
            assert_eq!(ids, (0..10).map(|r| (100 * i + r) as i64).collect::<Vec<_>>());
        }
        assert_eq!(o.gets() - gets_before, 12);
        // Opening without the read-ahead reads the same.
        let plain = super::super::open(o.at(3), &csv(), &ReadOptions::default(), None).unwrap();
        assert_eq!(plain.map(|b| b.unwrap().num_rows()).sum::<usize>(), 10);
    }

    #[test]
    fn the_read_ahead_is_bounded_and_stops_when_dropped() {
        let o = Objects::new("bounded", 12);
        let prefetch = Prefetch::start_with(
            o.runtime.handle(),
            &o.store,
            &o.files,
            &csv(),
            budget(3, 1 << 20),
            always(),
        );
        o.settle();
        // Three objects fetched, none taken: no more.
        assert_eq!(o.gets(), 3);
        assert_eq!(o.read(&prefetch, 0)[0], 0);
        o.settle();
        assert_eq!(o.gets(), 4);
        drop(prefetch);
        o.settle();
        assert_eq!(o.gets(), 4);

        // The byte budget bounds it too: objects larger than it are not fetched ahead.
        let o = Objects::new("bytes", 4);
        let prefetch = Prefetch::start_with(o.runtime.handle(), &o.store, &o.files, &csv(), budget(8, 10), always());
        o.settle();
        assert_eq!(o.gets(), 0);
        assert_eq!(o.read(&prefetch, 2)[0], 200);
        assert_eq!(o.gets(), 1);
    }

    #[test]
    fn no_get_starts_once_the_cost_limit_says_no() {
        let o = Objects::new("limit", 12);
        // Allows the first five GETs (as a cost limit reached after five would).
        let meter = Arc::clone(&o.meter);
        let may_fetch: MayFetch = Arc::new(move || meter.requests(RequestKind::Get) < 5);
        let prefetch = Prefetch::start_with(
            o.runtime.handle(),
            &o.store,
            &o.files,
            &csv(),
            budget(1, 1 << 20),
            may_fetch,
        );
        for i in 0..5 {
            assert_eq!(o.read(&prefetch, i)[0], 100 * i as i64);
        }
        o.settle();
        assert_eq!(o.gets(), 5);
        // What the workers still open gets its own GET, as without read-ahead.
        assert_eq!(o.read(&prefetch, 5)[0], 500);
        assert_eq!(o.gets(), 6);
    }

    #[test]
    fn the_read_ahead_grows_with_the_workers() {
        let o = Objects::new("workers", 3 * PREFETCH_OBJECTS_PER_WORKER);
        let prefetch = Prefetch::start(o.runtime.handle(), &o.store, &o.files, &csv(), 2, always());
        o.settle();
        assert_eq!(o.gets(), 2 * PREFETCH_OBJECTS_PER_WORKER as u64);
        drop(prefetch);
    }

    #[test]
    fn a_missing_object_fails_its_open_only() {
        let o = Objects::new("missing", 3);
        o.runtime.block_on(o.store.delete("o/01.csv")).unwrap();
        let prefetch = Prefetch::start(o.runtime.handle(), &o.store, &o.files, &csv(), 2, always());
        assert_eq!(o.read(&prefetch, 0)[0], 0);
        let e = prefetch
            .open(1, o.at(1), &csv(), &ReadOptions::default(), None)
            .err()
            .unwrap();
        assert!(e.to_string().contains("o/01.csv"), "{e}");
        assert_eq!(o.read(&prefetch, 2)[0], 200);
    }
}
