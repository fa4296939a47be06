//! [`S3Target`]: the sink engine's [`Target`] on an S3 bucket.
//!
//! Each file is an [`S3Sink`], a blocking [`Write`] that buffers `part_size`
//! bytes and hands every full part to a task on the tokio runtime (at most
//! [`MAX_IN_FLIGHT`] parts uploading at once per file, so memory stays
//! bounded at about `(MAX_IN_FLIGHT + 1) × part_size` per open file). A file
//! smaller than one part is written with a single PUT on commit; a larger one
//! is a multipart upload that [`Target::commit`] completes, so the object only
//! appears whole. [`Target::abort_all`] waits for the parts in flight and
//! aborts every open upload: nothing is orphaned.
//!
//! Every object carries the user metadata `lakeport-sync-id` (this run's id),
//! so overwrite never deletes an object of the current sync, and, for a
//! stream with a refresh generation, `ab-generation-id` (as Airbyte's
//! destination-s3 writes it), which tells a refresh which objects to remove.
//!
//! The engine calls the target from a blocking context (the runtime's worker
//! in `block_in_place`), so async storage calls are driven with
//! [`tokio::runtime::Handle::block_on`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use lakeport_core::sink::generation::{Sweep, METADATA_KEY as GENERATION_KEY, WRITER_METADATA_KEY};
use lakeport_core::sink::key_layout::KeyLayout;
use lakeport_core::sink::target::Target;
use lakeport_core::storage::{ListOptions, MultipartId, PartId, S3Storage, Storage, StorageError, StorageExt};
use lakeport_protocol::stop::{on_stop, StopGuard};
use lakeport_protocol::{ConnectorError, FailureType};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Parts of one file uploading at the same time.
pub const MAX_IN_FLIGHT: usize = 4;

/// The user metadata key naming the sync that wrote an object.
pub const SYNC_ID_KEY: &str = "lakeport-sync-id";

type PartTask = JoinHandle<Result<PartId, StorageError>>;

/// One file being written: its key, its multipart upload (once the first
/// part is full) and the parts uploading or uploaded.
#[derive(Default)]
struct Upload {
    key: String,
    /// The object's user metadata.
    metadata: Vec<(String, String)>,
    upload: Option<MultipartId>,
    /// Aborts the multipart upload if the process is stopped before it is
    /// completed or aborted (S3 bills for the parts of an open upload).
    undo: Option<StopGuard>,
    tasks: VecDeque<PartTask>,
    parts: Vec<PartId>,
    next_part: u32,
}

/// What the target and its sinks share.
struct Shared {
    store: S3Storage,
    handle: Handle,
    metadata: Vec<(String, String)>,
    part_size: usize,
    /// The first storage error seen (kept to report it as it was).
    error: Mutex<Option<ConnectorError>>,
    /// Parts uploaded (for the summary).
    parts: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// Converts a storage error for the report, keeping the first one seen.
    fn remember(&self, e: StorageError) -> ConnectorError {
        let ce = ConnectorError::from(e);
        if let Ok(mut slot) = self.error.lock() {
            if slot.is_none() {
                *slot = Some(ce.clone());
            }
        }
        ce
    }
}

/// The engine's error for a storage failure (its meaning kept).
fn core_error(ce: ConnectorError) -> lakeport_core::Error {
    match ce.failure_type {
        FailureType::ConfigError => lakeport_core::Error::Config(ce.message),
        FailureType::TransientError => lakeport_core::Error::Transient(ce.message),
        FailureType::SystemError => lakeport_core::Error::Internal(ce.message),
    }
}

fn lock(m: &Mutex<Upload>) -> MutexGuard<'_, Upload> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Discards an upload: waits for its parts in flight (S3 may keep a part
/// that lands after the abort), then aborts the multipart upload, if one
/// was started.
fn discard(shared: &Shared, u: &mut Upload) {
    u.undo = None;
    while let Some(task) = u.tasks.pop_front() {
        let _ = shared.handle.block_on(task);
    }
    if let Some(id) = u.upload.take() {
        if let Err(e) = shared.handle.block_on(shared.store.abort_multipart(&u.key, &id)) {
            eprintln!(
                "destination-s3: could not abort the upload of s3://{}/{}: {e}",
                shared.store.bucket(),
                u.key
            );
        }
    }
}

/// A bucket receiving a destination's files.
pub struct S3Target {
    shared: Arc<Shared>,
    layout: KeyLayout,
    /// Relative path → key (fixed at first use: keys may hold a UUID).
    keys: HashMap<String, String>,
    /// Files created and not yet committed.
    open: HashMap<String, Arc<Mutex<Upload>>>,
    /// Keys committed by this sync.
    committed: HashSet<String>,
    sync_id: String,
}

impl S3Target {
    /// A target writing through `store` with keys laid out by `layout`;
    /// `metadata` is added to every object (besides the sync id).
    pub fn new(
        store: S3Storage,
        handle: Handle,
        layout: KeyLayout,
        part_size: usize,
        sync_id: String,
        mut metadata: Vec<(String, String)>,
    ) -> Self {
        metadata.push((SYNC_ID_KEY.to_string(), sync_id.clone()));
        S3Target {
            shared: Arc::new(Shared {
                store,
                handle,
                metadata,
                part_size: part_size.max(lakeport_core::storage::MIN_PART_SIZE),
                error: Mutex::new(None),
                parts: Default::default(),
            }),
            layout,
            keys: HashMap::new(),
            open: HashMap::new(),
            committed: HashSet::new(),
            sync_id,
        }
    }

    /// The first storage error this target met, if any (its message says
    /// what to do; the engine's copy went through an `io::Error`).
    pub fn take_error(&self) -> Option<ConnectorError> {
        self.shared.error.lock().ok().and_then(|mut e| e.take())
    }

    /// Multipart parts uploaded so far.
    pub fn parts_uploaded(&self) -> u64 {
        self.shared.parts.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn key(&mut self, rel_path: &str) -> String {
        if let Some(k) = self.keys.get(rel_path) {
            return k.clone();
        }
        let key = self.layout.key(rel_path);
        self.keys.insert(rel_path.to_string(), key.clone());
        key
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.shared.handle.block_on(f)
    }

    fn storage_err(&self, e: StorageError) -> lakeport_core::Error {
        core_error(self.shared.remember(e))
    }
}

impl Target for S3Target {
    type Sink = S3Sink;

    fn exists(&mut self, rel_path: &str) -> lakeport_core::Result<bool> {
        let key = self.key(rel_path);
        if self.committed.contains(&key) {
            return Ok(true);
        }
        match self.block_on(self.shared.store.head(&key)) {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.storage_err(e)),
        }
    }

    fn create(&mut self, rel_path: &str, generation: Option<i64>) -> lakeport_core::Result<S3Sink> {
        let key = self.key(rel_path);
        let mut metadata = self.shared.metadata.clone();
        if let Some(generation) = generation {
            metadata.push((GENERATION_KEY.to_string(), generation.to_string()));
        }
        let upload = Arc::new(Mutex::new(Upload {
            key,
            metadata,
            next_part: 1,
            ..Default::default()
        }));
        self.open.insert(rel_path.to_string(), Arc::clone(&upload));
        Ok(S3Sink {
            shared: Arc::clone(&self.shared),
            upload,
            buffer: BytesMut::new(),
        })
    }

    fn commit(&mut self, rel_path: &str, sink: S3Sink) -> lakeport_core::Result<()> {
        self.open.remove(rel_path);
        let key = lock(&sink.upload).key.clone();
        sink.complete().map_err(|e| self.storage_err(e))?;
        self.committed.insert(key);
        Ok(())
    }

    fn abort_all(&mut self) {
        for (_, upload) in self.open.drain() {
            discard(&self.shared, &mut lock(&upload));
        }
    }

    fn remove_older(
        &mut self,
        dir: &str,
        prefix: &str,
        keep: &[String],
        sweep: &Sweep,
    ) -> lakeport_core::Result<usize> {
        let mut keep: HashSet<String> = keep.iter().map(|rel| self.key(rel)).collect();
        keep.extend(self.committed.iter().cloned());
        let (list_prefix, name_prefix) = self.layout.stream_scope(dir, prefix);
        let store = self.shared.store.clone();
        let candidates: Vec<String> = self
            .block_on(
                store
                    .list_objects(ListOptions::prefix(list_prefix.clone()))
                    .try_filter(|m| {
                        let name = m.key.rsplit('/').next().unwrap_or_default();
                        let ok = name_prefix.as_deref().is_none_or(|p| name.starts_with(p)) && !keep.contains(&m.key);
                        futures::future::ready(ok)
                    })
                    .map_ok(|m| m.key)
                    .try_collect(),
            )
            .map_err(|e| self.storage_err(e))?;
        let mut removed = 0;
        for key in candidates {
            // Never delete an object of this sync, even one the engine did
            // not name; else its recorded generation decides.
            let meta = match self.block_on(store.head_metadata(&key)) {
                Ok(meta) => meta,
                Err(StorageError::NotFound { .. }) => continue,
                Err(e) => return Err(self.storage_err(e)),
            };
            if meta.get(SYNC_ID_KEY).is_some_and(|id| *id == self.sync_id) {
                continue;
            }
            let generation = meta.get(GENERATION_KEY).and_then(|g| g.trim().parse::<i64>().ok());
            if !sweep.removes(meta.get(WRITER_METADATA_KEY).map(String::as_str), generation) {
                continue;
            }
            self.block_on(store.delete(&key)).map_err(|e| self.storage_err(e))?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// One object being written: a blocking writer streaming full parts to S3
/// in the background.
pub struct S3Sink {
    shared: Arc<Shared>,
    upload: Arc<Mutex<Upload>>,
    buffer: BytesMut,
}

impl S3Sink {
    fn fail(&self, e: StorageError) -> io::Error {
        io::Error::other(self.shared.remember(e).message)
    }

    /// Starts uploading the buffered part in the background (starting the
    /// multipart upload first when needed), after waiting for the oldest
    /// part when [`MAX_IN_FLIGHT`] are already uploading.
    fn send_part(&mut self) -> io::Result<()> {
        let data = self.buffer.split().freeze();
        let shared = Arc::clone(&self.shared);
        let mut u = lock(&self.upload);
        // Checked under the lock: an undo that held it has run, and nothing
        // it discarded may start again.
        if lakeport_protocol::stop::is_stopping() {
            return Err(io::Error::other("the sync is being stopped"));
        }
        let id = match &u.upload {
            Some(id) => id.clone(),
            None => {
                let id = shared
                    .handle
                    .block_on(shared.store.create_multipart_with_metadata(&u.key, &u.metadata))
                    .map_err(|e| self.fail(e))?;
                u.upload = Some(id.clone());
                u.undo = Some(on_stop({
                    let (shared, upload) = (Arc::clone(&shared), Arc::downgrade(&self.upload));
                    move || {
                        if let Some(upload) = upload.upgrade() {
                            discard(&shared, &mut lock(&upload));
                        }
                    }
                }));
                id
            }
        };
        while u.tasks.len() >= MAX_IN_FLIGHT {
            let Some(task) = u.tasks.pop_front() else {
                break;
            };
            let part = join(&shared.handle, task).map_err(|e| self.fail(e))?;
            u.parts.push(part);
        }
        let number = u.next_part;
        u.next_part += 1;
        let key = u.key.clone();
        let store = shared.store.clone();
        let counter = Arc::clone(&shared);
        u.tasks.push_back(shared.handle.spawn(async move {
            let part = store.upload_part(&key, &id, number, data).await?;
            counter.parts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(part)
        }));
        Ok(())
    }

    /// Uploads what is left and makes the object visible: one PUT for a
    /// small object, else the last part and CompleteMultipartUpload. On error
    /// the multipart upload is aborted.
    fn complete(mut self) -> Result<(), StorageError> {
        let shared = Arc::clone(&self.shared);
        let data: Bytes = self.buffer.split().freeze();
        let mut u = lock(&self.upload);
        let key = u.key.clone();
        let Some(id) = u.upload.clone() else {
            shared
                .handle
                .block_on(shared.store.put_with_metadata(&key, data, &u.metadata))?;
            return Ok(());
        };
        let result = (|| {
            let mut parts = std::mem::take(&mut u.parts);
            while let Some(task) = u.tasks.pop_front() {
                parts.push(join(&shared.handle, task)?);
            }
            if !data.is_empty() {
                let number = u.next_part;
                parts.push(
                    shared
                        .handle
                        .block_on(shared.store.upload_part(&key, &id, number, data))?,
                );
                shared.parts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            parts.sort_by_key(|p| p.number);
            shared
                .handle
                .block_on(shared.store.complete_multipart(&key, &id, parts))?;
            Ok(())
        })();
        if result.is_err() {
            discard(&shared, &mut u);
        }
        u.upload = None;
        u.undo = None;
        result
    }
}

fn join(handle: &Handle, task: PartTask) -> Result<PartId, StorageError> {
    match handle.block_on(task) {
        Ok(r) => r,
        Err(e) => Err(StorageError::Config(format!("a part upload task failed: {e}"))),
    }
}

impl Write for S3Sink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let part_size = self.shared.part_size;
        if self.buffer.capacity() == 0 {
            // Untouched capacity costs no resident memory.
            self.buffer.reserve(part_size);
        }
        let mut rest = data;
        while !rest.is_empty() {
            let room = part_size - self.buffer.len();
            let take = room.min(rest.len());
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buffer.len() >= part_size {
                self.send_part()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
