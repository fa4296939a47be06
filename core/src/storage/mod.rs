//! One storage interface over S3 and the local filesystem.
//!
//! [`Storage`] is the one trait every backend implements — modelled on the
//! `object_store` crate: a small required surface (list, head, get, ranged get,
//! put, multipart upload, delete) and helpers in [`StorageExt`], implemented
//! for every `Storage` by a blanket impl.
//!
//! | module      | holds                                                                  |
//! |-------------|------------------------------------------------------------------------|
//! | [`s3`]      | [`S3Storage`] over `aws-sdk-s3`, built by [`S3Builder`]                |
//! | [`local`]   | [`LocalStorage`]: a directory; puts go to a temporary name + rename    |
//! | [`local_file`] | [`LocalFile`]: a local object open for reads at any offset          |
//! | [`meter`]   | [`Meter`]: counts every request actually sent and every byte moved     |
//! | [`metered`] | [`Metered`]: any backend behind a wrapper counting into a [`Meter`]    |
//! | [`retry`]   | [`RetryConfig`]: attempts, backoff and timeouts, with documented defaults |
//! | `error`     | [`StorageError`]: one variant per meaning, messages saying what to do  |
//! | `reader`    | [`BlockingReader`]: a blocking `Read` over a GET's byte stream         |
//! | [`conformance`] | the behaviour every backend must show, as a test suite each backend's tests run |
//!
//! # Contract
//!
//! - Keys are `/`-separated strings without a leading `/`, as S3 keys are.
//! - [`Storage::list`] yields pages in ascending key order (by UTF-8 bytes),
//!   never more than one page in memory: listing millions of keys is flat in
//!   memory. With a delimiter, keys under a further delimiter are folded into
//!   [`ListPage::common_prefixes`].
//! - [`Storage::get`] streams: nothing reads a whole object unless asked to
//!   ([`GetResult::bytes`]). [`GetResult::into_reader`] adapts the stream to a
//!   blocking [`std::io::Read`] for decoders running in `spawn_blocking`.
//! - [`Storage::delete`] of a key that does not exist succeeds, as it does on S3.
//! - Errors are [`StorageError`]s whose messages say what is wrong and what to
//!   do; none ever contains a secret.
//!
//! # Example
//!
//! ```
//! use lakeport_core::storage::{LocalStorage, ListOptions, Storage, StorageExt};
//! use futures::TryStreamExt;
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let store = LocalStorage::new(dir.path());
//! store.put("data/a.csv", "id\n1\n".into()).await.unwrap();
//! let keys: Vec<String> = store
//!     .list_objects(ListOptions::prefix("data/"))
//!     .map_ok(|m| m.key)
//!     .try_collect()
//!     .await
//!     .unwrap();
//! assert_eq!(keys, ["data/a.csv"]);
//! assert_eq!(&store.get_range("data/a.csv", 3..4).await.unwrap()[..], b"1");
//! # });
//! ```

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt, TryStreamExt};

pub mod conformance;
mod error;
pub mod local;
pub mod local_file;
pub mod meter;
pub mod metered;
mod reader;
pub mod retry;
pub mod s3;

pub use error::{Result, StorageError};
pub use local::LocalStorage;
pub use local_file::LocalFile;
pub use meter::{Meter, MeterSnapshot, RequestKind};
pub use metered::Metered;
pub use reader::BlockingReader;
pub use retry::RetryConfig;
pub use s3::{S3Builder, S3Connection, S3Storage, Secret};

/// S3's largest page of a listing, and our default page size.
pub const MAX_LIST_PAGE: usize = 1000;

/// S3's smallest multipart part (except the last one): 5 MiB.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// How many chunks [`GetResult::into_reader`] fetches ahead of the reader by
/// default (S3 delivers chunks of up to a few hundred KiB).
pub const DEFAULT_READ_AHEAD_CHUNKS: usize = 8;

/// What an object is: its key, size, modification time and entity tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key (path relative to the storage root).
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub last_modified: DateTime<Utc>,
    /// The entity tag as the server returned it (S3 quotes it), if any.
    pub etag: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys starting with this string (not necessarily a "directory").
    pub prefix: String,
    /// Group keys with this delimiter after the prefix into common prefixes
    /// (usually `/`). The local backend supports `/` only.
    pub delimiter: Option<String>,
    /// Only keys strictly greater than this one.
    pub start_after: Option<String>,
    /// Keys per page (1..=1000); `None` means 1000.
    pub page_size: Option<usize>,
}

impl ListOptions {
    /// Every key under `prefix`, recursively.
    pub fn prefix(prefix: impl Into<String>) -> Self {
        ListOptions {
            prefix: prefix.into(),
            ..Default::default()
        }
    }

    /// Groups keys by `delimiter` after the prefix.
    pub fn with_delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }

    /// Starts after `key` (exclusive).
    pub fn with_start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }

    /// Sets the page size (clamped to 1..=1000).
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size);
        self
    }

    /// The page size to request.
    pub fn effective_page_size(&self) -> usize {
        self.page_size.unwrap_or(MAX_LIST_PAGE).clamp(1, MAX_LIST_PAGE)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPage {
    /// The objects of this page, in key order.
    pub objects: Vec<ObjectMeta>,
    /// With a delimiter: the "directories" of this page (each ends with the
    /// delimiter), in order.
    pub common_prefixes: Vec<String>,
}

/// A stream of listing pages.
pub type ListStream = BoxStream<'static, Result<ListPage>>;

/// A stream of an object's bytes, in order.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// The result of a streaming [`Storage::get`]: the object's metadata and its
/// bytes as a stream.
pub struct GetResult {
    /// The object (size, last modified, etag) as of the GET.
    pub meta: ObjectMeta,
    /// The bytes.
    pub stream: ByteStream,
}

impl fmt::Debug for GetResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetResult")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl GetResult {
    /// Collects the whole object into memory. Use only for small objects.
    pub async fn bytes(self) -> Result<Bytes> {
        let mut out = bytes::BytesMut::with_capacity(self.meta.size.min(64 << 20) as usize);
        let mut stream = self.stream;
        while let Some(chunk) = stream.try_next().await? {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }

    /// A blocking [`std::io::Read`] over the bytes, for decoders that run in
    /// `tokio::task::spawn_blocking`. A task on the current runtime fetches up
    /// to `read_ahead` chunks ahead of the reader (bounded memory).
    ///
    /// Must be called within a tokio runtime; the reader must not be read
    /// from an async task (it blocks).
    pub fn into_reader(self, read_ahead: usize) -> BlockingReader {
        BlockingReader::spawn(self.stream, read_ahead)
    }
}

/// The result of a put or a completed multipart upload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutResult {
    /// The new object's entity tag, if the backend has one.
    pub etag: Option<String>,
}

/// The id of a multipart upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultipartId(pub String);

/// A part uploaded by [`Storage::upload_part`], to pass to
/// [`Storage::complete_multipart`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartId {
    /// The part number, 1..=10000.
    pub number: u32,
    /// The part's entity tag.
    pub etag: String,
}

/// An object store: S3 or a local directory.
///
/// Methods return boxed futures so `dyn Storage` works
/// (`Arc<dyn Storage>` is how connectors hold one).
///
/// # Wrappers
///
/// A backend does its job and nothing else; concerns that apply to every
/// backend are wrappers implementing this trait around another `Storage`:
/// [`Metered`] counts every request and byte into a [`Meter`].
pub trait Storage: Send + Sync + fmt::Debug + fmt::Display + 'static {
    /// Lists keys as [`ListOptions`] says, one page at a time.
    fn list(&self, options: ListOptions) -> ListStream;

    /// The metadata of `key`; [`StorageError::NotFound`] if it does not exist.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>>;

    /// Streams the whole object.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<GetResult>>;

    /// The bytes `range` (end exclusive) of the object. A range past the end
    /// is cut at the end.
    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes>>;

    /// Writes `data` as `key` in one request (atomically: readers see the old
    /// object or the new one).
    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<PutResult>>;

    /// Starts a multipart upload to `key`.
    fn create_multipart<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<MultipartId>>;

    /// Uploads part `part_number` (1..=10000). Every part but the last must
    /// be at least [`MIN_PART_SIZE`] bytes on S3.
    fn upload_part<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        part_number: u32,
        data: Bytes,
    ) -> BoxFuture<'a, Result<PartId>>;

    /// Completes the upload: the object appears whole under `key`.
    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        parts: Vec<PartId>,
    ) -> BoxFuture<'a, Result<PutResult>>;

    /// Abandons the upload and frees its parts.
    fn abort_multipart<'a>(&'a self, key: &'a str, upload: &'a MultipartId) -> BoxFuture<'a, Result<()>>;

    /// Deletes `key`; succeeds if it does not exist.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Reads the whole object at once on the calling thread, for a backend
    /// whose reads wait on no network (a local directory): no task and no
    /// hop to a blocking pool, which is most of what a small file costs.
    /// `None`: the backend has no such path; use [`Storage::get`].
    ///
    /// Blocks: call it only from a blocking thread, and only for objects
    /// small enough to hold in memory.
    fn read_now(&self, key: &str) -> Option<Result<Bytes>> {
        let _ = key;
        None
    }

    /// The object as a file on this machine, open for reads at any offset,
    /// for a backend whose objects are local files: a reader that seeks
    /// (Parquet) reads it in place instead of through ranged GETs. `None`:
    /// the backend has none; use [`Storage::get_range`].
    ///
    /// Blocks: call it only from a blocking thread.
    fn open_file(&self, key: &str) -> Option<Result<LocalFile>> {
        let _ = key;
        None
    }
}

/// Helpers over any [`Storage`].
pub trait StorageExt: Storage {
    /// Every object of the listing, one at a time (pages fetched as needed).
    /// Common prefixes are dropped; use [`Storage::list`] to see them.
    fn list_objects(&self, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>> {
        self.list(options)
            .map_ok(|page| futures::stream::iter(page.objects.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    /// The first object under `prefix`, if any: one LIST request of one key.
    /// This is what a connection check does.
    fn first_object<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Option<ObjectMeta>>> {
        async move {
            let mut pages = self.list(ListOptions::prefix(prefix).with_page_size(1));
            match pages.try_next().await? {
                Some(page) => Ok(page.objects.into_iter().next()),
                None => Ok(None),
            }
        }
        .boxed()
    }

    /// Reads the whole object into memory. Use only for small objects.
    fn get_bytes<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Bytes>> {
        async move { self.get(key).await?.bytes().await }.boxed()
    }
}

impl<T: Storage + ?Sized> StorageExt for T {}

/// Buffers bytes and uploads them as a multipart upload in parts of
/// `part_size`; [`MultipartWriter::finish`] completes it (a small object is
/// written with one PUT instead), [`MultipartWriter::abort`] abandons it.
///
/// Memory: at most one part is buffered.
pub struct MultipartWriter {
    store: Arc<dyn Storage>,
    key: String,
    part_size: usize,
    buffer: bytes::BytesMut,
    upload: Option<MultipartId>,
    parts: Vec<PartId>,
    written: u64,
}

impl fmt::Debug for MultipartWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultipartWriter")
            .field("store", &self.store.to_string())
            .field("key", &self.key)
            .field("part_size", &self.part_size)
            .field("parts", &self.parts.len())
            .field("written", &self.written)
            .finish()
    }
}

impl MultipartWriter {
    /// A writer to `key` of `store`; `part_size` is raised to
    /// [`MIN_PART_SIZE`] if smaller.
    pub fn new(store: Arc<dyn Storage>, key: String, part_size: usize) -> Self {
        let part_size = part_size.max(MIN_PART_SIZE);
        MultipartWriter {
            store,
            key,
            part_size,
            buffer: bytes::BytesMut::new(),
            upload: None,
            parts: Vec::new(),
            written: 0,
        }
    }

    /// The key being written.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Bytes accepted so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Appends `data`, uploading full parts as they fill.
    pub async fn write(&mut self, mut data: &[u8]) -> Result<()> {
        self.written += data.len() as u64;
        while !data.is_empty() {
            let room = self.part_size - self.buffer.len();
            let take = room.min(data.len());
            self.buffer.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.buffer.len() == self.part_size {
                self.flush_part().await?;
            }
        }
        Ok(())
    }

    async fn flush_part(&mut self) -> Result<()> {
        let upload = match &self.upload {
            Some(u) => u.clone(),
            None => {
                let u = self.store.create_multipart(&self.key).await?;
                self.upload = Some(u.clone());
                u
            }
        };
        let number = self.parts.len() as u32 + 1;
        let data = self.buffer.split().freeze();
        let part = self.store.upload_part(&self.key, &upload, number, data).await?;
        self.parts.push(part);
        Ok(())
    }

    /// Uploads what is buffered and completes the object. On error the
    /// upload is aborted (best effort).
    pub async fn finish(mut self) -> Result<PutResult> {
        let Some(upload) = self.upload.clone() else {
            let data = self.buffer.split().freeze();
            return self.store.put(&self.key, data).await;
        };
        let result = async {
            if !self.buffer.is_empty() {
                self.flush_part().await?;
            }
            let parts = std::mem::take(&mut self.parts);
            self.store.complete_multipart(&self.key, &upload, parts).await
        }
        .await;
        if result.is_err() {
            let _ = self.store.abort_multipart(&self.key, &upload).await;
        }
        result
    }

    /// Abandons the upload; nothing appears under the key.
    pub async fn abort(self) -> Result<()> {
        match &self.upload {
            Some(upload) => self.store.abort_multipart(&self.key, upload).await,
            None => Ok(()),
        }
    }
}

/// Joins a prefix and a name with exactly one `/` between them (an empty
/// prefix gives the name alone).
///
/// ```
/// use lakeport_core::storage::join_key;
/// assert_eq!(join_key("", "a.csv"), "a.csv");
/// assert_eq!(join_key("data", "a.csv"), "data/a.csv");
/// assert_eq!(join_key("data/", "/a.csv"), "data/a.csv");
/// ```
pub fn join_key(prefix: &str, name: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    let name = name.trim_start_matches('/');
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}

#[cfg(test)]
mod tests;
