//! The local filesystem as a [`Storage`]: keys are paths under a root
//! directory.
//!
//! - Puts write a temporary file next to the target (`.<name>.lakeport-tmp-<uuid>`),
//!   fsync it, rename it into place and fsync the directory: readers see the
//!   old file or the new one, never a partial one.
//! - Multipart uploads keep their parts in `<root>/.lakeport-multipart/<id>/`
//!   and concatenate them into place (same temporary-name + rename) on
//!   completion.
//! - Listings walk the tree in S3 key order (by UTF-8 bytes, directories
//!   compared as `name/`), one directory's entries in memory per level, and
//!   skip temporary files and the multipart area. What is not a regular file
//!   (a named pipe, a socket, a device, a broken link) is not an object, and a
//!   directory reached again through a symbolic link (a link to a parent
//!   would loop) is not entered again: the walk keeps the real path of each
//!   directory it entered. [`LocalStorage::without_hidden`] also leaves out
//!   hidden names; [`LocalStorage::noting_skips`] keeps what was left out, and
//!   why, for [`LocalStorage::take_skipped`].
//!
//! It counts nothing: a [`crate::storage::Metered`] wrapper meters it.

use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use super::{
    GetResult, ListOptions, ListPage, ListStream, LocalFile, MultipartId, ObjectMeta, PartId, PutResult, Storage,
    StorageError,
};
use crate::storage::error::Result;

/// Marks temporary files; listings skip names containing it.
const TMP_MARK: &str = ".lakeport-tmp-";
/// The directory holding multipart parts; listings skip it.
const MULTIPART_DIR: &str = ".lakeport-multipart";
/// Chunk size of streaming reads (a reader fetches a few ahead).
const READ_CHUNK: usize = 256 << 10;

/// A directory as a [`Storage`]. Cheap to clone.
#[derive(Clone)]
pub struct LocalStorage {
    root: Arc<PathBuf>,
    /// Listings leave out names starting with `.` ([`LocalStorage::without_hidden`]).
    skip_hidden: bool,
    /// What listings left out, when kept ([`LocalStorage::noting_skips`]).
    skipped: Option<Arc<Mutex<Vec<Skipped>>>>,
}

/// An entry a listing left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its key (a directory's ends with `/`).
    pub key: String,
    /// Why, naming its path: `Skipping '<path>': <reason>.`
    pub why: String,
}

impl fmt::Debug for LocalStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalStorage").field("root", &self.root).finish()
    }
}

impl fmt::Display for LocalStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.root.display())
    }
}

impl LocalStorage {
    /// Storage rooted at `root` (which need not exist yet: puts create it).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalStorage {
            root: Arc::new(root.into()),
            skip_hidden: false,
            skipped: None,
        }
    }

    /// Listings leave out hidden entries (names starting with `.`) and do
    /// not enter hidden directories, as `ls` does. Heads and gets still
    /// reach them.
    pub fn without_hidden(mut self) -> Self {
        self.skip_hidden = true;
        self
    }

    /// Listings keep what they leave out besides hidden and temporary names
    /// (what is not a regular file, a directory reached again through a
    /// symbolic link, a name that is not UTF-8), for
    /// [`LocalStorage::take_skipped`]. Clones share what was kept.
    pub fn noting_skips(mut self) -> Self {
        self.skipped = Some(Arc::default());
        self
    }

    /// What listings left out since the last call (nothing unless
    /// [`LocalStorage::noting_skips`]).
    pub fn take_skipped(&self) -> Vec<Skipped> {
        self.skipped
            .as_ref()
            .and_then(|s| s.lock().ok().map(|mut s| std::mem::take(&mut *s)))
            .unwrap_or_default()
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key`; rejects keys that would leave the root.
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        let mut path = (*self.root).clone();
        for seg in key.split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    return Err(StorageError::Config(format!(
                        "The key '{key}' leaves the storage root: '..' is not allowed in keys."
                    )))
                }
                s => path.push(s),
            }
        }
        Ok(path)
    }

    fn not_found_or_io(&self, key: &str, path: &Path, e: std::io::Error) -> StorageError {
        if e.kind() == std::io::ErrorKind::NotFound {
            StorageError::NotFound {
                store: self.to_string(),
                key: key.to_string(),
            }
        } else {
            StorageError::io(path.display().to_string(), e)
        }
    }

    /// Opens `key`'s file for reading: the file, its path and its metadata.
    /// A folder is no object ([`StorageError::NotFound`]).
    fn open_object(&self, key: &str) -> Result<(fs::File, PathBuf, fs::Metadata)> {
        let path = self.path_of(key)?;
        let file = fs::File::open(&path).map_err(|e| self.not_found_or_io(key, &path, e))?;
        let md = file
            .metadata()
            .map_err(|e| StorageError::io(path.display().to_string(), e))?;
        if md.is_dir() {
            return Err(StorageError::NotFound {
                store: self.to_string(),
                key: key.to_string(),
            });
        }
        Ok((file, path, md))
    }

    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| StorageError::Config(format!("a filesystem task failed: {e}")))?
    }

    fn multipart_dir(&self, upload: &MultipartId) -> Result<PathBuf> {
        if upload.0.is_empty() || !upload.0.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(StorageError::Config(format!(
                "'{}' is not a multipart upload id.",
                upload.0
            )));
        }
        Ok(self.root.join(MULTIPART_DIR).join(&upload.0))
    }
}

fn meta_of(key: String, md: &fs::Metadata) -> ObjectMeta {
    let modified: DateTime<Utc> = md.modified().map(DateTime::from).unwrap_or(DateTime::UNIX_EPOCH);
    let size = md.len();
    let etag = format!("{:x}-{:x}", modified.timestamp_micros(), size);
    ObjectMeta {
        key,
        size,
        last_modified: modified,
        etag: Some(etag),
    }
}

/// The next [`READ_CHUNK`] bytes of `file` (fewer only at its end), the
/// buffer sized for `expected` bytes.
fn read_chunk(file: &mut fs::File, path: &Path, expected: u64) -> Result<Bytes> {
    let mut buf = Vec::with_capacity(usize::try_from(expected).unwrap_or(READ_CHUNK).min(READ_CHUNK));
    file.take(READ_CHUNK as u64)
        .read_to_end(&mut buf)
        .map_err(|e| StorageError::io(path.display().to_string(), e))?;
    Ok(Bytes::from(buf))
}

/// Writes `data` to `path` via a temporary file, fsync and rename.
fn write_atomic(path: &Path, write: impl FnOnce(&mut fs::File) -> std::io::Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let io = |e| StorageError::io(path.display().to_string(), e);
    fs::create_dir_all(dir).map_err(|e| StorageError::io(dir.display().to_string(), e))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("object");
    let tmp = dir.join(format!(".{name}{TMP_MARK}{}", uuid::Uuid::new_v4().simple()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        write(&mut f)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(io)
}

/// One directory level of a listing walk: its entries, sorted, and where we are.
struct Level {
    /// The directory's key prefix (`""` or `a/b/`).
    prefix: String,
    /// Entries as (name, is_dir), sorted by `name` (+ `/` for directories).
    entries: Vec<(String, bool)>,
    next: usize,
}

/// A depth-first walk in key order.
struct Walk {
    root: PathBuf,
    prefix: String,
    delimiter: bool,
    start_after: Option<String>,
    stack: Vec<Level>,
    started: bool,
    done: bool,
    skip_hidden: bool,
    /// The real path of every directory entered.
    entered: HashSet<PathBuf>,
    skipped: Option<Arc<Mutex<Vec<Skipped>>>>,
}

impl Walk {
    fn skip(&self, key: String, why: String) {
        if let Some(mut s) = self.skipped.as_ref().and_then(|s| s.lock().ok()) {
            s.push(Skipped { key, why });
        }
    }

    fn read_level(&mut self, dir_key: &str) -> Result<Level> {
        let dir = if dir_key.is_empty() {
            self.root.clone()
        } else {
            self.root.join(dir_key.trim_end_matches('/'))
        };
        let io = |e| StorageError::io(dir.display().to_string(), e);
        let mut entries = Vec::new();
        if let Ok(real) = fs::canonicalize(&dir) {
            if !self.entered.insert(real.clone()) {
                let why = format!(
                    "Skipping '{}': it is '{}' again, reached through a symbolic link.",
                    dir.display(),
                    real.display()
                );
                self.skip(dir_key.to_string(), why);
                return Ok(Level {
                    prefix: dir_key.to_string(),
                    entries,
                    next: 0,
                });
            }
        }
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Level {
                    prefix: dir_key.to_string(),
                    entries,
                    next: 0,
                })
            }
            Err(e) => return Err(io(e)),
        };
        for entry in rd {
            let entry = entry.map_err(io)?;
            let name = match entry.file_name().into_string() {
                Ok(name) => name,
                Err(raw) => {
                    let why = format!(
                        "Skipping '{}': its name is not UTF-8, so no key can name it.",
                        entry.path().display()
                    );
                    self.skip(format!("{dir_key}{}", raw.to_string_lossy()), why);
                    continue;
                }
            };
            if name.contains(TMP_MARK)
                || (dir_key.is_empty() && name == MULTIPART_DIR)
                || (self.skip_hidden && name.starts_with('.'))
            {
                continue;
            }
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false)
                || (entry.file_type().map(|t| t.is_symlink()).unwrap_or(false) && entry.path().is_dir());
            entries.push((name, is_dir));
        }
        entries.sort_by_cached_key(sort_name);
        Ok(Level {
            prefix: dir_key.to_string(),
            entries,
            next: 0,
        })
    }

    /// Up to `n` objects and common prefixes, in order.
    fn page(&mut self, n: usize) -> Result<ListPage> {
        let mut page = ListPage::default();
        if self.done {
            return Ok(page);
        }
        if !self.started {
            self.started = true;
            // Start at the deepest directory the prefix names.
            let dir_key = match self.prefix.rfind('/') {
                Some(i) => self.prefix[..=i].to_string(),
                None => String::new(),
            };
            let level = self.read_level(&dir_key)?;
            self.stack.push(level);
        }
        while page.objects.len() + page.common_prefixes.len() < n {
            let Some(top) = self.stack.last_mut() else {
                self.done = true;
                break;
            };
            let Some((name, is_dir)) = top.entries.get(top.next).cloned() else {
                self.stack.pop();
                continue;
            };
            top.next += 1;
            let key = format!("{}{}", top.prefix, name);
            if is_dir {
                let dir_key = format!("{key}/");
                // Only directories that can hold keys under the prefix.
                if !(dir_key.starts_with(&self.prefix) || self.prefix.starts_with(&dir_key)) {
                    continue;
                }
                // Skip subtrees wholly before start_after.
                if let Some(sa) = &self.start_after {
                    if dir_key.as_str() < sa.as_str() && !sa.starts_with(&dir_key) {
                        continue;
                    }
                }
                if self.delimiter && dir_key.starts_with(&self.prefix) {
                    if self
                        .start_after
                        .as_ref()
                        .is_some_and(|sa| dir_key.as_str() <= sa.as_str())
                    {
                        continue;
                    }
                    page.common_prefixes.push(dir_key);
                    continue;
                }
                let level = self.read_level(&dir_key)?;
                self.stack.push(level);
            } else {
                if !key.starts_with(&self.prefix) {
                    continue;
                }
                if self.start_after.as_ref().is_some_and(|sa| key.as_str() <= sa.as_str()) {
                    continue;
                }
                let path = self.root.join(&key);
                let md = match fs::metadata(&path) {
                    Ok(md) if md.is_file() => md,
                    // Not a link that cannot be followed (those are skipped below).
                    Err(e) if fs::symlink_metadata(&path).is_err() => {
                        if e.kind() == std::io::ErrorKind::NotFound {
                            continue; // deleted meanwhile
                        }
                        return Err(StorageError::io(path.display().to_string(), e));
                    }
                    _ => {
                        let why = format!(
                            "Skipping '{}': it is not a regular file (a named pipe, a socket, a device or a broken link).",
                            path.display()
                        );
                        self.skip(key, why);
                        continue;
                    }
                };
                page.objects.push(meta_of(key, &md));
            }
        }
        Ok(page)
    }
}

fn sort_name((name, is_dir): &(String, bool)) -> String {
    if *is_dir {
        format!("{name}/")
    } else {
        name.clone()
    }
}

impl Storage for LocalStorage {
    fn list(&self, options: ListOptions) -> ListStream {
        let delimiter = match options.delimiter.as_deref() {
            None => false,
            Some("/") => true,
            Some(other) => {
                let err = StorageError::Config(format!(
                    "The local filesystem lists with the delimiter '/' only, not '{other}'."
                ));
                return futures::stream::once(async move { Err(err) }).boxed();
            }
        };
        let n = options.effective_page_size();
        let walk = Walk {
            root: (*self.root).clone(),
            prefix: options.prefix.trim_start_matches('/').to_string(),
            delimiter,
            start_after: options.start_after,
            stack: Vec::new(),
            started: false,
            done: false,
            skip_hidden: self.skip_hidden,
            entered: HashSet::new(),
            skipped: self.skipped.clone(),
        };
        futures::stream::try_unfold((Some(walk), true), move |(walk, first)| {
            async move {
                let Some(mut walk) = walk else {
                    return Ok::<_, StorageError>(None);
                };
                let (page, walk) = LocalStorage::blocking(move || {
                    let page = walk.page(n)?;
                    Ok((page, walk))
                })
                .await?;
                // Like S3: an empty listing is one empty page; a listing that
                // ends exactly on a page boundary has no empty trailing page.
                if !first && page.objects.is_empty() && page.common_prefixes.is_empty() {
                    return Ok(None);
                }
                let next = if walk.done { None } else { Some(walk) };
                Ok(Some((page, (next, false))))
            }
        })
        .boxed()
    }

    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta>> {
        async move {
            let path = self.path_of(key)?;
            let md = tokio::fs::metadata(&path)
                .await
                .map_err(|e| self.not_found_or_io(key, &path, e))?;
            if md.is_dir() {
                return Err(StorageError::NotFound {
                    store: self.to_string(),
                    key: key.to_string(),
                });
            }
            Ok(meta_of(key.to_string(), &md))
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<GetResult>> {
        async move {
            let (store, key) = (self.clone(), key.to_string());
            // Open, stat and read the first chunk in one blocking call: a
            // small file takes one.
            let (meta, first, rest) = LocalStorage::blocking(move || {
                let (mut file, path, md) = store.open_object(&key)?;
                let first = read_chunk(&mut file, &path, md.len())?;
                let more = first.len() == READ_CHUNK;
                Ok((meta_of(key, &md), first, more.then_some((file, path))))
            })
            .await?;
            let first = futures::stream::iter((!first.is_empty()).then_some(Ok(first)));
            let rest = futures::stream::try_unfold(rest, move |rest| async move {
                let Some((mut file, path)) = rest else {
                    return Ok(None);
                };
                let (chunk, file, path) = LocalStorage::blocking(move || {
                    let chunk = read_chunk(&mut file, &path, READ_CHUNK as u64)?;
                    Ok((chunk, file, path))
                })
                .await?;
                if chunk.is_empty() {
                    return Ok(None);
                }
                let more = chunk.len() == READ_CHUNK;
                Ok(Some((chunk, more.then_some((file, path)))))
            });
            Ok(GetResult {
                meta,
                stream: first.chain(rest).boxed(),
            })
        }
        .boxed()
    }

    fn read_now(&self, key: &str) -> Option<Result<Bytes>> {
        Some(self.open_object(key).and_then(|(mut file, path, md)| {
            let mut buf = Vec::with_capacity(usize::try_from(md.len()).unwrap_or(READ_CHUNK).min(64 << 20));
            file.read_to_end(&mut buf)
                .map_err(|e| StorageError::io(path.display().to_string(), e))?;
            Ok(Bytes::from(buf))
        }))
    }

    fn open_file(&self, key: &str) -> Option<Result<LocalFile>> {
        Some(
            self.open_object(key)
                .map(|(file, path, md)| LocalFile::new(file, path.display().to_string(), md.len())),
        )
    }

    fn get_range<'a>(&'a self, key: &'a str, range: Range<u64>) -> BoxFuture<'a, Result<Bytes>> {
        async move {
            if range.start >= range.end {
                return Ok(Bytes::new());
            }
            let path = self.path_of(key)?;
            let store = self.clone();
            let key = key.to_string();
            let bytes = LocalStorage::blocking(move || {
                let mut f = fs::File::open(&path).map_err(|e| store.not_found_or_io(&key, &path, e))?;
                let io = |e| StorageError::io(path.display().to_string(), e);
                let len = f.metadata().map_err(io)?.len();
                let end = range.end.min(len);
                if range.start >= end {
                    return Ok(Bytes::new());
                }
                f.seek(SeekFrom::Start(range.start)).map_err(io)?;
                let want = usize::try_from(end - range.start).unwrap_or(usize::MAX);
                let mut buf = Vec::with_capacity(want);
                f.take(end - range.start).read_to_end(&mut buf).map_err(io)?;
                Ok(Bytes::from(buf))
            })
            .await?;
            Ok(bytes)
        }
        .boxed()
    }

    fn put<'a>(&'a self, key: &'a str, data: Bytes) -> BoxFuture<'a, Result<PutResult>> {
        async move {
            let path = self.path_of(key)?;
            let p = path.clone();
            LocalStorage::blocking(move || write_atomic(&p, |f| f.write_all(&data))).await?;
            let md = tokio::fs::metadata(&path)
                .await
                .map_err(|e| StorageError::io(path.display().to_string(), e))?;
            Ok(PutResult {
                etag: meta_of(key.to_string(), &md).etag,
            })
        }
        .boxed()
    }

    fn create_multipart<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<MultipartId>> {
        async move {
            self.path_of(key)?;
            let id = MultipartId(uuid::Uuid::new_v4().simple().to_string());
            let dir = self.multipart_dir(&id)?;
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| StorageError::io(dir.display().to_string(), e))?;
            Ok(id)
        }
        .boxed()
    }

    fn upload_part<'a>(
        &'a self,
        _key: &'a str,
        upload: &'a MultipartId,
        part_number: u32,
        data: Bytes,
    ) -> BoxFuture<'a, Result<PartId>> {
        async move {
            let dir = self.multipart_dir(upload)?;
            if !dir.is_dir() {
                return Err(StorageError::NotFound {
                    store: self.to_string(),
                    key: format!("{MULTIPART_DIR}/{}", upload.0),
                });
            }
            let path = dir.join(format!("{part_number:05}"));
            let len = data.len();
            LocalStorage::blocking(move || write_atomic(&path, |f| f.write_all(&data))).await?;
            Ok(PartId {
                number: part_number,
                etag: format!("{part_number}-{len}"),
            })
        }
        .boxed()
    }

    fn complete_multipart<'a>(
        &'a self,
        key: &'a str,
        upload: &'a MultipartId,
        parts: Vec<PartId>,
    ) -> BoxFuture<'a, Result<PutResult>> {
        async move {
            let dir = self.multipart_dir(upload)?;
            let path = self.path_of(key)?;
            let target = path.clone();
            let parts_dir = dir.clone();
            LocalStorage::blocking(move || {
                write_atomic(&target, |out| {
                    for part in &parts {
                        let mut f = fs::File::open(parts_dir.join(format!("{:05}", part.number)))?;
                        std::io::copy(&mut f, out)?;
                    }
                    Ok(())
                })?;
                let _ = fs::remove_dir_all(&parts_dir);
                Ok(())
            })
            .await?;
            let md = tokio::fs::metadata(&path)
                .await
                .map_err(|e| StorageError::io(path.display().to_string(), e))?;
            Ok(PutResult {
                etag: meta_of(key.to_string(), &md).etag,
            })
        }
        .boxed()
    }

    fn abort_multipart<'a>(&'a self, _key: &'a str, upload: &'a MultipartId) -> BoxFuture<'a, Result<()>> {
        async move {
            let dir = self.multipart_dir(upload)?;
            match tokio::fs::remove_dir_all(&dir).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::io(dir.display().to_string(), e)),
            }
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        async move {
            let path = self.path_of(key)?;
            match tokio::fs::remove_file(&path).await {
                Ok(()) => {
                    // No empty "folders" left behind: S3 has none.
                    let mut dir = path.parent();
                    while let Some(d) = dir.filter(|d| *d != self.root.as_path()) {
                        if tokio::fs::remove_dir(d).await.is_err() {
                            break;
                        }
                        dir = d.parent();
                    }
                    Ok(())
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(StorageError::io(path.display().to_string(), e)),
            }
        }
        .boxed()
    }
}
