//! Opening a stored object (any [`Storage`]: S3 or a local directory) as a
//! stream of record batches, on a blocking thread.
//!
//! - Parquet (uncompressed as a whole, the usual case) is read through ranged
//!   GETs ([`ranged`]), or in place where the object is a local file
//!   ([`in_place`]).
//! - Every other format streams: one GET feeding a bounded read-ahead buffer
//!   (or the bytes [`prefetch`] fetched ahead of the workers), decompression,
//!   then the format's reader.
//!
//! | file         | holds                                                          |
//! |--------------|----------------------------------------------------------------|
//! | `mod.rs`     | [`open_object`], [`open`] with a stream's [`Decoding`] (schemaless, `validation_policy: wait`) |
//! | [`ranged`]   | Parquet through ranged GETs ([`ranged::ObjectFile`])           |
//! | [`in_place`] | Parquet read in place from a local file                        |
//! | [`prefetch`] | small objects fetched ahead of the workers ([`prefetch::Prefetch`]) |

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, StructArray};
use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef};
use bytes::Bytes;
use tokio::runtime::Handle;

use crate::error::{Error, Result};
use crate::formats::{self, compression, BatchReader, Compression, FileFormat, ReadOptions};
use crate::storage::{BlockingReader, ObjectMeta, Storage, DEFAULT_READ_AHEAD_CHUNKS};

pub mod in_place;
pub mod prefetch;
pub mod ranged;

pub use ranged::{open_ranged_parquet, ObjectFile};

/// Where an object is: its store, its metadata, and the runtime its requests run on.
#[derive(Clone, Copy)]
pub struct ObjectAt<'a> {
    /// The runtime the requests run on (the caller blocks on it).
    pub handle: &'a Handle,
    /// The store holding the object.
    pub store: &'a Arc<dyn Storage>,
    /// The object.
    pub meta: &'a ObjectMeta,
}

/// How a stream's objects are decoded.
#[derive(Debug, Clone)]
pub struct Decoding {
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

    /// Whether `key`, in `format`, is read through ranged GETs.
    fn is_ranged(&self, key: &str, format: FileFormat) -> bool {
        reads_ranged(format, self.compression, key)
    }
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
    let at = ObjectAt { handle, store, meta };
    open_plain(at, format, compression, opts, target, None)
}

/// Objects up to this size are read whole by their GET (as one chunk of a
/// streamed read would hold them) rather than through a read-ahead task.
const WHOLE_OBJECT_BYTES: u64 = 256 << 10;

/// Opens an object as batches of its own columns; `fetched`: its bytes, already fetched whole.
fn open_plain(
    at: ObjectAt<'_>,
    format: FileFormat,
    compression: Option<Compression>,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
    fetched: Option<Bytes>,
) -> Result<Box<dyn BatchReader>> {
    let key = at.meta.key.as_str();
    if reads_ranged(format, compression, key) {
        return match at.store.open_file(key) {
            Some(file) => in_place::open_parquet_in_place(key, file?, opts, target),
            None => open_ranged_parquet(at.handle, at.store, at.meta, opts, target),
        };
    }
    let reader = match fetched {
        Some(bytes) => BlockingReader::from_bytes(bytes),
        // A small object is read whole by its GET: no read-ahead task for
        // what one chunk holds (10,000 small files are 10,000 tasks fewer),
        // and on this thread where the backend can (a local directory).
        None if at.meta.size <= WHOLE_OBJECT_BYTES => BlockingReader::from_bytes(match at.store.read_now(key) {
            Some(read) => read?,
            None => at.handle.block_on(async { at.store.get(key).await?.bytes().await })?,
        }),
        None => at.handle.block_on(async {
            at.store
                .get(key)
                .await
                .map(|got| got.into_reader(DEFAULT_READ_AHEAD_CHUNKS))
        })?,
    };
    let (_, input) = compression::open_decompressed(key, compression, Box::new(reader))?;
    formats::read_stream(key, input, format, opts, target)
}

/// Opens an object of a stream decoded as `decoding` says. Blocks, as [`open_object`].
pub fn open(
    at: ObjectAt<'_>,
    decoding: &Decoding,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    open_fetched(at, decoding, opts, target, None)
}

/// [`open`], with the object's bytes when a [`prefetch::Prefetch`] fetched them.
fn open_fetched(
    at: ObjectAt<'_>,
    decoding: &Decoding,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
    fetched: Option<Bytes>,
) -> Result<Box<dyn BatchReader>> {
    let plain = decoding
        .format_of(&at.meta.key)
        .and_then(|format| open_plain(at, format, decoding.compression, opts, target, fetched));
    let reader = plain.map_err(|e| wait_error(decoding.wait_for_discover, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalStorage;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn opens_text_compressed_and_parquet_objects() {
        let rt = runtime();
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

    /// A local Parquet file is read in place: one open (one GET on the
    /// meter) and only the bytes the reader needs — not a footer GET, then
    /// GETs of the column chunks as through ranged requests.
    #[test]
    fn a_local_parquet_file_is_read_in_place() {
        use crate::storage::Metered;
        use arrow::array::{Int64Array, StringArray};

        let rt = runtime();
        let dir = tempfile::tempdir().unwrap();
        let n = 60_000i64;
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("name-{}", i * 7919 % n)),
                )),
            ],
        )
        .unwrap();
        let opts = formats::WriteOptions {
            row_group_rows: 20_000,
            ..Default::default()
        };
        let mut w = formats::new_writer(FileFormat::Parquet, "none", schema, Vec::new(), &opts).unwrap();
        w.write(&batch).unwrap();
        let bytes = Bytes::from(w.finish().unwrap());
        let size = bytes.len() as u64;
        assert!(
            size > 256 << 10,
            "the file should outgrow the footer's prefetch: {size}"
        );

        let store = Metered::new(Arc::new(LocalStorage::new(dir.path())));
        rt.block_on(store.put("t.parquet", bytes)).unwrap();
        let meta = rt.block_on(store.head("t.parquet")).unwrap();
        let before = store.meter().snapshot();
        let read_opts = ReadOptions {
            parquet_columns: Some(vec!["id".into()]),
            ..Default::default()
        };
        let reader = open_object(rt.handle(), &store, &meta, FileFormat::Parquet, None, &read_opts, None).unwrap();
        let ids: Vec<i64> = formats::collect(reader)
            .unwrap()
            .iter()
            .flat_map(|b| {
                let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                col.values().to_vec()
            })
            .collect();
        assert_eq!(ids, (0..n).collect::<Vec<_>>());
        let d = store.meter().snapshot() - before;
        assert_eq!(d.get_requests, 1, "{d:?}");
        // The projection holds: the `name` chunks were never read.
        assert!(d.bytes_received < size / 2, "{d:?} of {size}");
    }
}
