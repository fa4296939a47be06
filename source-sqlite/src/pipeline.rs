//! A stream is read by two threads: the caller's thread steps the SQLite
//! statement and copies each row into a [`RowChunk`] (a [`Sink`]); a writer
//! thread turns the chunks into RECORD lines and writes them, with the
//! stream's STATEs in their place among them, to the emitter. A chunk is
//! handed over when full or when a STATE follows its rows, so a STATE goes
//! out as soon as it is known, as it did when one thread did both. At most
//! [`CHANNEL_BATCHES`] batches wait between the two, and written chunks go
//! back to the reader for reuse, so memory stays flat whatever the table size.
//! The stream's row count runs on a third thread meanwhile; its ESTIMATE
//! goes out first, the writer holding rows (at most [`HOLD_BYTES`]) until it
//! is known.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};

use lakeport_protocol::progress::{Task, Terminal};
use lakeport_protocol::{AirbyteMessage, ConnectorError, Emitter, StateMessage, StreamDescriptor, TraceMessage};
use rusqlite::Row;

use crate::connect::Database;
use crate::count::Count;
use crate::state::Checkpoint;
use crate::value::rows::RowChunk;
use crate::value::serialize::RecordLayout;

/// Batches that may wait for the writer.
pub const CHANNEL_BATCHES: usize = 4;

/// Memory the writer may fill with rows it cannot write yet because the
/// stream's row count (whose ESTIMATE comes first) is still running.
pub const HOLD_BYTES: usize = 16 << 20;

/// Serialised records are handed to the emitter whenever this many bytes are
/// buffered (and before every STATE).
pub const FLUSH_BYTES: usize = 1 << 20;

/// What the reader hands the writer: rows, then maybe the STATE that
/// follows them.
#[derive(Debug)]
struct Batch {
    rows: RowChunk,
    state: Option<PendingState>,
}

/// A STATE to write once the rows before it are out.
#[derive(Debug)]
struct PendingState {
    /// The stream's checkpoint.
    checkpoint: Checkpoint,
    /// Records since the previous STATE.
    count: u64,
}

impl Batch {
    fn new(rows: RowChunk) -> Self {
        Batch { rows, state: None }
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.state.is_none()
    }

    /// Memory it takes.
    fn bytes(&self) -> usize {
        self.rows.bytes() + std::mem::size_of::<PendingState>()
    }
}

/// The reader's end: rows and states go in, in order.
pub struct Sink<'d> {
    db: &'d Database,
    width: usize,
    batch: Batch,
    batches: SyncSender<Batch>,
    free: Receiver<RowChunk>,
}

impl Sink<'_> {
    /// Copies the values `first ..` of `row` (its record is stamped
    /// `emitted_at`); returns true when this handed a full batch to the writer.
    pub fn push(&mut self, row: &Row<'_>, first: usize, emitted_at: i64) -> Result<bool, ConnectorError> {
        self.batch
            .rows
            .push_row(row, first, emitted_at)
            .map_err(|e| self.db.error(e, "reading rows"))?;
        if self.batch.rows.is_full() {
            self.send()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A STATE after every row pushed so far; `count` records since the last
    /// one. It is handed over at once, with the rows before it, so it goes
    /// out as soon as they do, however slowly the next rows come.
    pub fn state(&mut self, checkpoint: Checkpoint, count: u64) -> Result<(), ConnectorError> {
        self.batch.state = Some(PendingState { checkpoint, count });
        self.send()
    }

    /// Hands the batch being filled to the writer.
    fn send(&mut self) -> Result<(), ConnectorError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let rows = self.free.try_recv().unwrap_or_else(|_| RowChunk::new(self.width));
        let full = std::mem::replace(&mut self.batch, Batch::new(rows));
        // The writer only hangs up after failing; `run` reports its error.
        self.batches
            .send(full)
            .map_err(|_| ConnectorError::system("The record writer stopped."))
    }
}

/// Runs `body` with a [`Sink`] whose rows and states a writer thread writes to
/// `out` as stream `desc`, laid out by `layout`, after the ESTIMATE of
/// `count` (run meanwhile on a thread and connection of its own). Every item
/// handed over is written before this returns. A failure to write (e.g. a
/// closed stdout) or to count is returned in preference to the reader's own
/// error, as it is the cause.
pub fn run<T>(
    db: &Database,
    out: &mut Emitter,
    layout: RecordLayout,
    desc: StreamDescriptor,
    count: Option<Count>,
    body: impl FnOnce(&mut Sink<'_>) -> Result<T, ConnectorError>,
) -> Result<T, ConnectorError> {
    let width = layout.width();
    std::thread::scope(|scope| {
        let estimate = match count {
            None => None,
            Some(count) => {
                let (tx, rx) = mpsc::sync_channel(1);
                let config = &db.config;
                std::thread::Builder::new()
                    .name("row-count".into())
                    .spawn_scoped(scope, move || {
                        // The writer may have stopped already; the count is then moot.
                        let _ = tx.send(count.run(config));
                    })
                    .map_err(|e| ConnectorError::system(format!("Could not start the row count thread: {e}")))?;
                Some(rx)
            }
        };
        let (batches_tx, batches_rx) = mpsc::sync_channel(CHANNEL_BATCHES);
        let (free_tx, free_rx) = mpsc::channel();
        let progress = out.terminal().cloned();
        if let Some(t) = &progress {
            t.start(Task {
                label: desc.name.clone(),
                files_word: "",
                records_word: "records",
                files_total: None,
                bytes_total: None,
                records_total: None,
            });
        }
        let writer = Writer {
            progress: progress.clone(),
            out,
            layout,
            desc,
            buf: Vec::with_capacity(FLUSH_BYTES + (FLUSH_BYTES >> 2)),
            lines: 0,
            free: free_tx,
        };
        let writer = std::thread::Builder::new()
            .name("record-writer".into())
            .spawn_scoped(scope, move || writer.run(batches_rx, estimate))
            .map_err(|e| ConnectorError::system(format!("Could not start the record writer thread: {e}")))?;
        let mut sink = Sink {
            db,
            width,
            batch: Batch::new(RowChunk::new(width)),
            batches: batches_tx,
            free: free_rx,
        };
        // Whatever was read before a failure is still written: it may end
        // with a STATE the next run can resume from.
        let result = body(&mut sink);
        let handed = sink.send();
        drop(sink);
        let result = result.and_then(|v| handed.map(|()| v));
        let result = match writer.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => result,
        };
        // The line is marked done only when the whole table was read.
        if let (Some(t), Ok(_)) = (&progress, &result) {
            t.finish();
        }
        result
    })
}

/// The ESTIMATE being counted, or why there is none.
type Estimate = Receiver<Result<TraceMessage, ConnectorError>>;

/// The writer thread's state.
struct Writer<'o> {
    /// The progress line of a person at a shell (stderr a terminal).
    progress: Option<Terminal>,
    out: &'o mut Emitter,
    layout: RecordLayout,
    desc: StreamDescriptor,
    /// RECORD lines not yet handed to the emitter.
    buf: Vec<u8>,
    /// How many lines `buf` holds.
    lines: u64,
    /// Where written chunks go back to the reader.
    free: Sender<RowChunk>,
}

impl Writer<'_> {
    /// Writes the ESTIMATE (once counted) and then every batch, in order.
    /// Until the ESTIMATE is out, batches are held (up to [`HOLD_BYTES`]) so
    /// the reader is not kept waiting for the count.
    fn run(mut self, batches: Receiver<Batch>, mut estimate: Option<Estimate>) -> Result<(), ConnectorError> {
        let mut held: Vec<Batch> = Vec::new();
        let mut held_bytes = 0usize;
        for batch in batches {
            if let Some(counting) = &estimate {
                let counted = match counting.try_recv() {
                    Ok(r) => Some(r),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => Some(Err(count_vanished())),
                };
                if counted.is_none() && held_bytes + batch.bytes() <= HOLD_BYTES {
                    held_bytes += batch.bytes();
                    held.push(batch);
                    continue;
                }
                let counted = counted.unwrap_or_else(|| counting.recv().unwrap_or_else(|_| Err(count_vanished())));
                self.estimated(counted?)?;
                estimate = None;
                for h in held.drain(..) {
                    // Held rows are dropped, not recycled: the reader keeps
                    // only the few chunks it needs in steady state.
                    self.batch(h, false)?;
                }
            }
            self.batch(batch, true)?;
        }
        if let Some(counting) = estimate {
            self.estimated(counting.recv().unwrap_or_else(|_| Err(count_vanished()))?)?;
            for h in held {
                self.batch(h, false)?;
            }
        }
        self.flush()
    }

    /// Writes the stream's ESTIMATE; its row count is the progress line's total.
    fn estimated(&mut self, trace: TraceMessage) -> Result<(), ConnectorError> {
        if let Some(t) = &self.progress {
            t.set_records_total(trace.estimate.as_ref().and_then(|e| e.row_estimate));
        }
        self.out.trace(trace)?;
        Ok(())
    }

    /// Writes a batch's rows, then its STATE; `recycle` hands its rows'
    /// chunk back to the reader.
    fn batch(&mut self, batch: Batch, recycle: bool) -> Result<(), ConnectorError> {
        let Batch { mut rows, state } = batch;
        for (values, emitted_at) in rows.rows() {
            self.layout.write_record(&mut self.buf, values, emitted_at);
            self.lines += 1;
            if self.buf.len() >= FLUSH_BYTES {
                self.flush()?;
            }
        }
        if let Some(s) = state {
            self.state(s)?;
        }
        if recycle {
            rows.clear();
            // The reader may be done and gone: the chunk is just dropped.
            let _ = self.free.send(rows);
        }
        Ok(())
    }

    fn state(&mut self, s: PendingState) -> Result<(), ConnectorError> {
        self.flush()?;
        self.out.emit(&AirbyteMessage::State {
            state: StateMessage::stream(self.desc.clone(), s.checkpoint.to_json(), s.count),
        })?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ConnectorError> {
        if self.lines > 0 {
            self.out.record_lines(&self.buf, self.lines)?;
            if let Some(t) = &self.progress {
                let (lines, bytes) = (self.lines, self.buf.len() as u64);
                t.update(|c| {
                    c.records += lines;
                    c.bytes += bytes;
                });
            }
        }
        self.buf.clear();
        self.lines = 0;
        Ok(())
    }
}

fn count_vanished() -> ConnectorError {
    ConnectorError::system("The row count thread stopped without an answer.")
}

#[cfg(test)]
mod tests {
    use std::io::{self, Write};
    use std::sync::{Arc, Mutex};

    use serde_json::Value;

    use super::*;
    use crate::config::SqliteConfig;
    use crate::discover::{describe, ObjectKind};
    use crate::types::ColumnKind;

    /// A sink that keeps what it is given, failing once it holds `limit` bytes.
    #[derive(Clone)]
    struct Shared {
        bytes: Arc<Mutex<Vec<u8>>>,
        limit: usize,
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut bytes = self.bytes.lock().unwrap();
            if bytes.len() + buf.len() > self.limit {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            bytes.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct Fixture {
        dir: std::path::PathBuf,
        db: Database,
    }

    impl Fixture {
        fn new(name: &str, rows: i64) -> Fixture {
            let dir = std::env::temp_dir().join(format!("lakeport-sqlite-pipeline-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("t.db");
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            tx.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);")
                .unwrap();
            for i in 1..=rows {
                tx.execute("INSERT INTO t VALUES (?1, ?2)", rusqlite::params![i, format!("v{i}")])
                    .unwrap();
            }
            tx.commit().unwrap();
            drop(conn);
            let db = Database::open(&SqliteConfig::new(&path)).unwrap();
            Fixture { dir, db }
        }

        fn count(&self, table: &str) -> Option<Count> {
            let info = describe(&self.db, "t", ObjectKind::Table, false).unwrap();
            let info = crate::discover::TableInfo {
                name: table.to_string(),
                ..info
            };
            Count::new(&info, "t", None, "", &[])
        }

        /// Reads every row of `t`, a STATE after every `every` rows, into an
        /// emitter over `sink`; `fail_after` makes the reader fail after that
        /// many rows.
        fn read(
            &self,
            sink: &Shared,
            count: Option<Count>,
            every: u64,
            fail_after: Option<u64>,
        ) -> Result<u64, ConnectorError> {
            let mut out = Emitter::new(Box::new(sink.clone()));
            let layout = RecordLayout::new(
                None,
                "t",
                &[("id".into(), ColumnKind::Integer), ("v".into(), ColumnKind::String)],
            );
            let desc = StreamDescriptor {
                name: "t".into(),
                namespace: None,
            };
            let result = run(&self.db, &mut out, layout, desc, count, |sink| {
                let mut stmt = self.db.conn.prepare("SELECT id, v FROM t ORDER BY id").unwrap();
                let mut rows = stmt.query([]).unwrap();
                let mut n = 0u64;
                while let Some(row) = rows.next().unwrap() {
                    if fail_after == Some(n) {
                        return Err(ConnectorError::system("reader failed"));
                    }
                    sink.push(row, 0, 5)?;
                    n += 1;
                    if n % every == 0 {
                        let cp = Checkpoint::FullRefresh {
                            key_columns: vec!["rowid".into()],
                            key: Some(vec![rusqlite::types::Value::Integer(n as i64)]),
                        };
                        sink.state(cp, every)?;
                    }
                }
                Ok(n)
            });
            let _ = out.flush();
            result
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn shared(limit: usize) -> Shared {
        Shared {
            bytes: Arc::new(Mutex::new(Vec::new())),
            limit,
        }
    }

    /// Each line as `E` (estimate), `R<id>` or `S<key>`.
    fn shape(sink: &Shared) -> Vec<String> {
        let bytes = sink.bytes.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| {
                let m: Value = serde_json::from_str(l).unwrap();
                match m["type"].as_str().unwrap() {
                    "TRACE" => "E".to_string(),
                    "RECORD" => format!("R{}", m["record"]["data"]["id"]),
                    "STATE" => format!("S{}", m["state"]["stream"]["stream_state"]["key"][0]),
                    other => other.to_string(),
                }
            })
            .collect()
    }

    #[test]
    fn the_estimate_comes_first_and_states_follow_their_rows() {
        let fx = Fixture::new("order", 7000);
        let sink = shared(usize::MAX);
        assert_eq!(fx.read(&sink, fx.count("t"), 3, None).unwrap(), 7000);
        let mut want = vec!["E".to_string()];
        for i in 1..=7000 {
            want.push(format!("R{i}"));
            if i % 3 == 0 {
                want.push(format!("S{i}"));
            }
        }
        assert_eq!(shape(&sink), want);
    }

    #[test]
    fn what_was_read_before_a_reader_failure_is_written() {
        let fx = Fixture::new("reader", 10);
        let sink = shared(usize::MAX);
        let err = fx.read(&sink, None, 2, Some(5)).unwrap_err();
        assert_eq!(err.message, "reader failed");
        assert_eq!(shape(&sink), ["R1", "R2", "S2", "R3", "R4", "S4", "R5"]);
    }

    #[test]
    fn a_failed_write_is_the_error() {
        let fx = Fixture::new("writer", 20_000);
        let sink = shared(64 << 10);
        let err = fx.read(&sink, fx.count("t"), 1000, None).unwrap_err();
        assert!(err.is_broken_pipe(), "{}", err.message);
    }

    #[test]
    fn a_failed_count_is_the_error_and_nothing_is_written() {
        let fx = Fixture::new("count", 100);
        let sink = shared(usize::MAX);
        let err = fx.read(&sink, fx.count("missing"), 10, None).unwrap_err();
        assert!(err.message.contains("counting rows"), "{}", err.message);
        assert!(shape(&sink).is_empty());
    }
}
