//! Metering as a wrapper: [`Metered`] puts any [`Storage`] behind a layer
//! that counts every request and byte into a [`Meter`], so no backend has to.
//!
//! What the wrapper counts, per call of the trait:
//!
//! - one request of the call's [`RequestKind`] as the call starts (a listing:
//!   one LIST per page it yields); a ranged GET of an empty range sends
//!   nothing and counts nothing;
//! - bytes sent: the body of a put or an uploaded part;
//! - bytes received: the object bytes a GET stream delivers, and the bytes a
//!   ranged GET returns (a whole-object read on the calling thread,
//!   [`Storage::read_now`], is a GET like the others; a local file opened
//!   for reads at any offset, [`Storage::open_file`], is one GET and every
//!   byte read from it).
//!
//! A call refused for want of credentials never left the process
//! ([`StorageError::NoCredentials`]) and is not counted. A backend whose
//! transport sends more than the trait shows (retries, resumed downloads,
//! listing and error bodies) counts that into the same meter below the
//! wrapper: [`crate::storage::S3Builder::build_metered`] builds S3 so.
//!
//! The cost limit is enforced from this meter by the layer that knows the
//! prices: the read loop checks it after each file (and before each GET it
//! fetches ahead), so a read over the limit stops after the current file
//! with its state saved rather than failing a request halfway through one.

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::error::Result;
use super::meter::{Meter, RequestKind};
use super::{
    GetResult, ListOptions, ListStream, LocalFile, MultipartId, ObjectMeta, PartId, PutResult, Storage, StorageError,
};

/// A store and the meter counting what goes through it.
///
/// It is a [`Storage`] (every call counted, then passed on to the inner
/// store), and it dereferences to the metered store as an `Arc<dyn Storage>`,
/// so `&metered` also goes where an `&Arc<dyn Storage>` does.
/// [`Metered::meter`] is what the cost report and the cost limit read.
///
/// ```
/// use std::sync::Arc;
/// use lakeport_core::storage::{LocalStorage, Metered, Storage};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = tempfile::tempdir().unwrap();
/// let store = Metered::new(Arc::new(LocalStorage::new(dir.path())));
/// store.put("a.csv", "id\n1\n".into()).await.unwrap();
/// assert_eq!(store.meter().snapshot().put_requests, 1);
/// assert_eq!(store.meter().snapshot().bytes_sent, 5);
/// # });
/// ```
#[derive(Clone)]
pub struct Metered {
    store: Arc<dyn Storage>,
    meter: Arc<Meter>,
}

impl fmt::Debug for Metered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metered")
            .field("store", &self.store)
            .field("meter", &self.meter)
            .finish()
    }
}

impl Metered {
    /// `inner` behind a wrapper counting into a new meter.
    pub fn new(inner: Arc<dyn Storage>) -> Self {
        Metered::with_meter(inner, Meter::new())
    }

    /// `inner` behind a wrapper counting into `meter` (shared with whatever
    /// else counts into it, such as the backend's own wire-level counting).
    pub fn with_meter(inner: Arc<dyn Storage>, meter: Arc<Meter>) -> Self {
        let store = Arc::new(Counting {
            inner,
            meter: meter.clone(),
        });
        Metered { store, meter }
    }

    /// The meter.
    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    /// The metered store.
    pub fn store(&self) -> &Arc<dyn Storage> {
        &self.store
    }
}

impl Deref for Metered {
    type Target = Arc<dyn Storage>;

    fn deref(&self) -> &Arc<dyn Storage> {
        &self.store
    }
}

impl fmt::Display for Metered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.store, f)
    }
}

/// A `Metered` is itself a store (the metered one), so `&metered` goes where
/// a `&dyn Storage` does and `Arc::new(metered)` where an `Arc<dyn Storage>` does.
impl Storage for Metered {
    fn list(&self, options: ListOptions) -> ListStream {
        self.store.list(options)
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        self.store.head(key)
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<GetResult>> {
        self.store.get(key)
    }

    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes>> {
        self.store.get_range(key, range)
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<PutResult>> {
        self.store.put(key, data)
    }

    fn create_multipart<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<MultipartId>> {
        self.store.create_multipart(key)
    }

    fn upload_part<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        part_number: u32,
        data: Bytes,
    ) -> BoxFuture<'a, Result<PartId>> {
        self.store.upload_part(key, upload, part_number, data)
    }

    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        parts: Vec<PartId>,
    ) -> BoxFuture<'a, Result<PutResult>> {
        self.store.complete_multipart(key, upload, parts)
    }

    fn abort_multipart<'a>(&'a self, key: &'a str, upload: &'a MultipartId) -> BoxFuture<'a, Result<()>> {
        self.store.abort_multipart(key, upload)
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        self.store.delete(key)
    }

    fn read_now(&self, key: &str) -> Option<Result<Bytes>> {
        self.store.read_now(key)
    }

    fn open_file(&self, key: &str) -> Option<Result<LocalFile>> {
        self.store.open_file(key)
    }
}

/// The wrapper itself: a [`Storage`] counting into its meter and passing
/// every call on to `inner`.
struct Counting {
    inner: Arc<dyn Storage>,
    meter: Arc<Meter>,
}

impl fmt::Debug for Counting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for Counting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl Counting {
    /// Counts a request of `kind` as it starts, `sent` bytes with it, and
    /// takes it back if it never left (no credentials to sign it with).
    async fn request<T>(&self, kind: RequestKind, sent: u64, call: BoxFuture<'_, Result<T>>) -> Result<T> {
        self.meter.record_request(kind);
        self.meter.record_sent(sent);
        let result = call.await;
        if let Err(StorageError::NoCredentials { .. }) = &result {
            self.meter.forget_request(kind, sent);
        }
        result
    }
}

impl Storage for Counting {
    fn list(&self, options: ListOptions) -> ListStream {
        let meter = self.meter.clone();
        self.inner
            .list(options)
            .inspect(move |page| {
                if !matches!(page, Err(StorageError::NoCredentials { .. })) {
                    meter.record_request(RequestKind::List);
                }
            })
            .boxed()
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        self.request(RequestKind::Head, 0, self.inner.head(key)).boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<GetResult>> {
        async move {
            let got = self.request(RequestKind::Get, 0, self.inner.get(key)).await?;
            let meter = self.meter.clone();
            let stream = got
                .stream
                .inspect(move |chunk| {
                    if let Ok(chunk) = chunk {
                        meter.record_received(chunk.len() as u64);
                    }
                })
                .boxed();
            Ok(GetResult { meta: got.meta, stream })
        }
        .boxed()
    }

    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes>> {
        async move {
            if range.start >= range.end {
                return self.inner.get_range(key, range).await;
            }
            let bytes = self
                .request(RequestKind::Get, 0, self.inner.get_range(key, range))
                .await?;
            self.meter.record_received(bytes.len() as u64);
            Ok(bytes)
        }
        .boxed()
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<PutResult>> {
        let sent = data.len() as u64;
        self.request(RequestKind::Put, sent, self.inner.put(key, data)).boxed()
    }

    fn create_multipart<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<MultipartId>> {
        self.request(RequestKind::CreateMultipart, 0, self.inner.create_multipart(key))
            .boxed()
    }

    fn upload_part<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        part_number: u32,
        data: Bytes,
    ) -> BoxFuture<'a, Result<PartId>> {
        let sent = data.len() as u64;
        let call = self.inner.upload_part(key, upload, part_number, data);
        self.request(RequestKind::UploadPart, sent, call).boxed()
    }

    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        parts: Vec<PartId>,
    ) -> BoxFuture<'a, Result<PutResult>> {
        let call = self.inner.complete_multipart(key, upload, parts);
        self.request(RequestKind::CompleteMultipart, 0, call).boxed()
    }

    fn abort_multipart<'a>(&'a self, key: &'a str, upload: &'a MultipartId) -> BoxFuture<'a, Result<()>> {
        let call = self.inner.abort_multipart(key, upload);
        self.request(RequestKind::AbortMultipart, 0, call).boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        self.request(RequestKind::Delete, 0, self.inner.delete(key)).boxed()
    }

    /// One GET and the bytes it returned, as [`Storage::get`] counts them.
    fn read_now(&self, key: &str) -> Option<Result<Bytes>> {
        let read = self.inner.read_now(key)?;
        self.meter.record_request(RequestKind::Get);
        if let Ok(bytes) = &read {
            self.meter.record_received(bytes.len() as u64);
        }
        Some(read)
    }

    /// One GET as it opens; every byte read from the file, received.
    fn open_file(&self, key: &str) -> Option<Result<LocalFile>> {
        let file = self.inner.open_file(key)?;
        self.meter.record_request(RequestKind::Get);
        Some(file.map(|f| f.metered(self.meter.clone())))
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;
    use crate::storage::{ListPage, LocalStorage};

    /// A `Metered` used as a `Storage` itself counts every kind of request
    /// and the bytes each moved, and passes each call through.
    #[test]
    fn every_request_through_the_metered_store_is_counted_and_passed_on() {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let metered = Metered::new(Arc::new(LocalStorage::new(dir.path())));
        let store: &dyn Storage = &metered;
        runtime.block_on(async {
            store.put("a/one.txt", Bytes::from_static(b"hello")).await.unwrap();
            assert_eq!(store.head("a/one.txt").await.unwrap().size, 5);
            let got = store.get("a/one.txt").await.unwrap();
            let body: Vec<Bytes> = got.stream.try_collect().await.unwrap();
            assert_eq!(body.concat(), b"hello");
            assert_eq!(&store.get_range("a/one.txt", 1..3).await.unwrap()[..], b"el");
            // An empty range asks nothing of the backend's meter.
            assert!(store.get_range("a/one.txt", 2..2).await.unwrap().is_empty());
            let pages: Vec<ListPage> = store.list(ListOptions::prefix("a/")).try_collect().await.unwrap();
            let keys: Vec<&str> = pages.iter().flat_map(|p| &p.objects).map(|o| o.key.as_str()).collect();
            assert_eq!(keys, ["a/one.txt"]);

            let upload = store.create_multipart("a/big.bin").await.unwrap();
            let part = store
                .upload_part("a/big.bin", &upload, 1, Bytes::from_static(b"0123456789"))
                .await
                .unwrap();
            store
                .complete_multipart("a/big.bin", &upload, vec![part])
                .await
                .unwrap();
            assert_eq!(store.head("a/big.bin").await.unwrap().size, 10);
            let dropped = store.create_multipart("a/dropped.bin").await.unwrap();
            store.abort_multipart("a/dropped.bin", &dropped).await.unwrap();
            store.delete("a/one.txt").await.unwrap();
            assert!(store.head("a/one.txt").await.is_err());
        });
        let used = metered.meter().snapshot();
        assert_eq!(used.put_requests, 1);
        assert_eq!(used.head_requests, 3);
        assert_eq!(used.get_requests, 2, "the empty range is not a request");
        assert_eq!(used.list_requests, 1);
        assert_eq!(used.create_multipart_requests, 2);
        assert_eq!(used.upload_part_requests, 1);
        assert_eq!(used.complete_multipart_requests, 1);
        assert_eq!(used.abort_multipart_requests, 1);
        assert_eq!(used.delete_requests, 1);
        assert_eq!(used.bytes_sent, 5 + 10);
        assert_eq!(used.bytes_received, 5 + 2);
        // It shows as the backend it wraps.
        let shown = dir.path().display().to_string();
        assert!(metered.to_string().contains(&shown), "{metered}");
        assert!(format!("{metered:?}").contains("Metered"), "{metered:?}");
        assert!(
            format!("{:?}", metered.store()).contains(&shown),
            "{:?}",
            metered.store()
        );
        assert_eq!(metered.store().to_string(), metered.to_string());
        // Deref: the metered store's own methods.
        assert_eq!(metered.to_string(), (*metered).to_string());
    }
}
