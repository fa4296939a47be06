//! The read loop of file-based sources: files are decoded in parallel worker
//! threads, each worker serialises its batches into RECORD lines, and the
//! caller receives them strictly in file order — so a STATE after each file
//! always covers exactly the files before it.
//!
//! Memory is bounded: at most `workers` files are in flight and each holds at
//! most [`CHUNKS_PER_FILE`] serialised batches waiting for the writer. Fewer
//! files than workers: each file's reader may decode on the spare workers'
//! share of threads (`ReadOptions::decode_threads`, at most one per core).

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use chrono::{DateTime, Utc};
use lakeport_protocol::ConnectorError;
use serde_json::Value;

use super::cursor::RecordCursor;
use super::cursor::{format_timestamp, FILE_URL_FIELD, LAST_MODIFIED_FIELD};
use crate::error::{Error, Result};
use crate::formats::options::ReadOptions;
use crate::formats::BatchReader;
use crate::records::{NulledValues, RecordSerializer};

/// Serialised batches a worker may hold ahead of the writer, per file.
pub const CHUNKS_PER_FILE: usize = 2;

/// Opens a file's batch reader on a worker thread.
pub type Opener = Box<dyn FnOnce(&ReadOptions, Option<SchemaRef>) -> Result<Box<dyn BatchReader>> + Send>;

/// One file to read.
pub struct ScanFile {
    /// Its URL (object key or path), recorded in `_ab_source_file_url`.
    pub url: String,
    /// When it was last modified, recorded in `_ab_source_file_last_modified`.
    pub last_modified: DateTime<Utc>,
    /// Its size in bytes.
    pub size: u64,
    /// More constant fields for its records (e.g. partition values).
    pub extra_fields: Vec<(String, Value)>,
    /// Opens it.
    pub open: Opener,
}

/// How to scan.
#[derive(Clone)]
pub struct ScanConfig {
    /// Files decoded at once (at least 1).
    pub workers: usize,
    /// Reader options.
    pub read_options: ReadOptions,
    /// The schema records must follow (from the catalog), if any.
    pub target: Option<SchemaRef>,
    /// The stream's name.
    pub stream: String,
    /// The stream's namespace.
    pub namespace: Option<String>,
    /// `emitted_at` of every record.
    pub emitted_at: i64,
}

/// What the writer receives, in file order.
#[derive(Debug)]
pub enum ScanEvent {
    /// RECORD lines of the current file.
    Records {
        /// The lines, each ending in `\n`.
        bytes: Vec<u8>,
        /// How many lines.
        count: u64,
    },
    /// Warnings (skipped records…) from the current file.
    Warnings(Vec<String>),
    /// The file was read completely.
    FileDone(FileDone),
}

/// A file read completely.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDone {
    /// Its position in the list.
    pub index: usize,
    /// Its URL.
    pub url: String,
    /// Its modification time.
    pub last_modified: DateTime<Utc>,
    /// Records it produced.
    pub records: u64,
    /// The greatest record-cursor value of its records (with a record cursor).
    pub cursor_max: Option<Value>,
    /// Records skipped as at or before the saved record-cursor value.
    pub skipped: u64,
}

enum Chunk {
    Event(ScanEvent),
    Failed(Error),
}

type Job = (usize, ScanFile, SyncSender<Chunk>);

/// Reads `files` with `config.workers` threads and hands every event to
/// `sink`, in file order. Stops at the first error (from a file or from
/// `sink`); files after it are not reported done.
pub fn scan<E>(
    files: Vec<ScanFile>,
    config: &ScanConfig,
    sink: impl FnMut(ScanEvent) -> std::result::Result<(), E>,
) -> std::result::Result<(), ScanError<E>> {
    scan_with_cursor(files, config, None, sink)
}

/// [`scan`] with a record-level cursor: each file's records at or before
/// the cursor's saved value are skipped, and [`ScanEvent::FileDone`] carries
/// the greatest cursor value of the records kept.
pub fn scan_with_cursor<E>(
    files: Vec<ScanFile>,
    config: &ScanConfig,
    cursor: Option<&RecordCursor>,
    mut sink: impl FnMut(ScanEvent) -> std::result::Result<(), E>,
) -> std::result::Result<(), ScanError<E>> {
    let workers = config.workers.max(1).min(files.len().max(1));
    // Workers without a file of their own help decode the files read (JSON lines).
    let mut config = config.clone();
    config.read_options.decode_threads = decode_threads(config.workers.max(1) / workers);
    let config = &config;
    let (order_tx, order_rx) = sync_channel::<Receiver<Chunk>>(workers);
    let (job_tx, job_rx) = sync_channel::<Job>(workers);
    let job_rx = Arc::new(Mutex::new(job_rx));
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for (index, file) in files.into_iter().enumerate() {
                let (tx, rx) = sync_channel(CHUNKS_PER_FILE);
                if order_tx.send(rx).is_err() || job_tx.send((index, file, tx)).is_err() {
                    return;
                }
            }
        });
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok((index, file, tx)) = job else { return };
                if let Err(e) = read_file(index, file, config, cursor, &tx) {
                    let _ = tx.send(Chunk::Failed(e));
                }
            });
        }
        let result = (|| {
            for rx in order_rx.iter() {
                for chunk in rx.iter() {
                    match chunk {
                        Chunk::Event(ev) => sink(ev).map_err(ScanError::Sink)?,
                        Chunk::Failed(e) => return Err(ScanError::File(e)),
                    }
                }
            }
            Ok(())
        })();
        // Dropping the receivers stops the dispatcher and every worker.
        drop(order_rx);
        result
    })
}

/// Threads each file may decode on: `spare` (at least 1), at most one per core.
fn decode_threads(spare: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    spare.clamp(1, cores.max(1))
}

/// Why a scan stopped.
#[derive(Debug)]
pub enum ScanError<E> {
    /// A file could not be read.
    File(Error),
    /// The sink failed (e.g. stdout closed).
    Sink(E),
}

impl From<ScanError<ConnectorError>> for ConnectorError {
    fn from(e: ScanError<ConnectorError>) -> Self {
        match e {
            ScanError::File(e) => e.into(),
            ScanError::Sink(e) => e,
        }
    }
}

fn read_file(
    index: usize,
    file: ScanFile,
    config: &ScanConfig,
    cursor: Option<&RecordCursor>,
    tx: &SyncSender<Chunk>,
) -> Result<()> {
    let ScanFile {
        url,
        last_modified,
        extra_fields,
        open,
        ..
    } = file;
    let mut fields: Vec<(&str, Value)> = vec![
        (FILE_URL_FIELD, Value::String(url.clone())),
        (LAST_MODIFIED_FIELD, Value::String(format_timestamp(last_modified))),
    ];
    fields.extend(extra_fields.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let serializer = RecordSerializer::new(&config.stream, config.namespace.as_deref(), config.emitted_at)
        .with_extra_fields(&fields);
    let skip: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
    let target = config.target.as_ref().map(|t| without_fields(t, &skip));
    let mut reader = open(&config.read_options, target)?;
    let mut filter = cursor.map(RecordCursor::filter);
    let mut records = 0u64;
    let mut nulled = NulledValues::default();
    // Rows the file may still give (`max_rows_per_file`).
    let mut allowed = config.read_options.max_rows.unwrap_or(u64::MAX);
    // Bytes per RECORD line so far (each batch's buffer is sized from it: no regrowth).
    let mut line_bytes = 128;
    while allowed > 0 {
        let Some(batch) = reader.next() else { break };
        let mut batch = batch?;
        if batch.num_rows() as u64 > allowed {
            batch = batch.slice(0, allowed as usize);
        }
        allowed -= batch.num_rows() as u64;
        let warnings = reader.take_warnings();
        if !warnings.is_empty() && tx.send(Chunk::Event(ScanEvent::Warnings(warnings))).is_err() {
            return Ok(());
        }
        if let Some(f) = filter.as_mut() {
            batch = f.apply(batch, &url)?;
        }
        if batch.num_rows() == 0 {
            continue;
        }
        let mut bytes = Vec::with_capacity(batch.num_rows() * line_bytes);
        serializer.write_batch_noting(&batch, &mut bytes, &mut nulled)?;
        let count = batch.num_rows() as u64;
        let mean = bytes.len() / batch.num_rows();
        line_bytes = mean + mean / 8 + 16;
        records += count;
        if tx.send(Chunk::Event(ScanEvent::Records { bytes, count })).is_err() {
            return Ok(());
        }
    }
    let mut warnings = reader.take_warnings();
    warnings.extend(nulled.take_warnings(&url));
    if !warnings.is_empty() {
        let _ = tx.send(Chunk::Event(ScanEvent::Warnings(warnings)));
    }
    let (cursor_max, skipped) = filter.map(|f| f.finish()).unwrap_or((None, 0));
    let _ = tx.send(Chunk::Event(ScanEvent::FileDone(FileDone {
        index,
        url,
        last_modified,
        records,
        cursor_max,
        skipped,
    })));
    Ok(())
}

/// `schema` without the named fields (added per file, not read from it).
pub fn without_fields(schema: &SchemaRef, names: &[&str]) -> SchemaRef {
    if !schema.fields().iter().any(|f| names.contains(&f.name().as_str())) {
        return Arc::clone(schema);
    }
    let fields: Vec<_> = schema
        .fields()
        .iter()
        .filter(|f| !names.contains(&f.name().as_str()))
        .cloned()
        .collect();
    Arc::new(arrow::datatypes::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ))
}
