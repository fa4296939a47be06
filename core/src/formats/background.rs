//! A [`FormatWriter`] that encodes on its own thread, so a destination
//! decodes the next batch while the previous one is encoded, compressed and
//! written. [`BackgroundWriter::spawn_with`] also moves the step that makes
//! a batch (decoding records) onto the thread: writers chain, one thread per
//! stage.
//!
//! The file is finished only when [`FormatWriter::finish`] asks for it; a
//! writer dropped without that (a failed sync) stops its thread and leaves
//! the sink unfinished, for the target to discard.
//!
//! At most two batches are in flight: [`FormatWriter::write`] hands a batch
//! over and then waits until the one before it is written, so the sizes it
//! reports lag by exactly one batch — deterministic, whatever the timing.

use std::io::Write;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;

use super::writer::FormatWriter;
use crate::error::{Error, Result};

enum Message<I> {
    Item(I),
    Finish,
}

#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    written: u64,
    buffered: u64,
}

/// Runs another writer on a thread of its own, fed with items of type `I`
/// that the thread turns into batches (record batches themselves, by default).
pub struct BackgroundWriter<W: Write + Send + 'static, I: Send + 'static = RecordBatch> {
    batches: Option<SyncSender<Message<I>>>,
    acks: Receiver<Progress>,
    in_flight: usize,
    progress: Progress,
    worker: Option<JoinHandle<Result<W>>>,
}

impl<W: Write + Send + 'static> BackgroundWriter<W> {
    /// Moves `inner` to a new thread.
    pub fn spawn(inner: Box<dyn FormatWriter<W>>) -> Result<Self> {
        Self::spawn_with(inner, Ok)
    }
}

impl<W: Write + Send + 'static, I: Send + 'static> BackgroundWriter<W, I> {
    /// Moves `inner` to a new thread, where `prepare` turns each item sent
    /// into the batch written.
    pub fn spawn_with(
        inner: Box<dyn FormatWriter<W>>,
        mut prepare: impl FnMut(I) -> Result<RecordBatch> + Send + 'static,
    ) -> Result<Self> {
        let (batches, rx) = sync_channel::<Message<I>>(1);
        let (ack, acks) = sync_channel::<Progress>(2);
        let worker = std::thread::Builder::new()
            .name("lakeport-writer".into())
            .spawn(move || {
                let mut inner = inner;
                for message in rx {
                    let batch = match message {
                        Message::Item(item) => prepare(item)?,
                        Message::Finish => return inner.finish(),
                    };
                    inner.write(&batch)?;
                    let progress = Progress {
                        written: inner.bytes_written(),
                        buffered: inner.buffered_bytes(),
                    };
                    if ack.send(progress).is_err() {
                        break;
                    }
                }
                Err(Error::Internal("the file was abandoned before it was finished".into()))
            })
            .map_err(|e| Error::Internal(format!("could not start a writer thread: {e}")))?;
        Ok(BackgroundWriter {
            batches: Some(batches),
            acks,
            in_flight: 0,
            progress: Progress::default(),
            worker: Some(worker),
        })
    }

    /// Hands `item` to the thread, then waits until the item before it is
    /// written (so at most two are in flight).
    pub fn send(&mut self, item: I) -> Result<()> {
        let sent = self.batches.as_ref().map(|tx| tx.send(Message::Item(item)));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.failure());
        }
        self.in_flight += 1;
        while self.in_flight > 1 {
            match self.acks.recv() {
                Ok(progress) => {
                    self.progress = progress;
                    self.in_flight -= 1;
                }
                Err(_) => return Err(self.failure()),
            }
        }
        Ok(())
    }

    /// Bytes the inner writer had handed to its sink, one item ago.
    pub fn bytes_written(&self) -> u64 {
        self.progress.written
    }

    /// Bytes the inner writer held in memory, one item ago.
    pub fn buffered_bytes(&self) -> u64 {
        self.progress.buffered
    }

    /// Writes everything sent, finishes the file and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        let sent = self.batches.as_ref().map(|tx| tx.send(Message::Finish));
        if !matches!(sent, Some(Ok(()))) {
            return Err(self.failure());
        }
        self.join()
    }

    /// The worker's result once it has stopped (its error, when it failed).
    fn join(&mut self) -> Result<W> {
        self.batches = None;
        match self.worker.take() {
            Some(worker) => worker
                .join()
                .map_err(|_| Error::Internal("the encoder thread panicked".into()))?,
            None => Err(Error::Internal("the encoder thread has already stopped".into())),
        }
    }

    /// The error that stopped the worker early.
    fn failure(&mut self) -> Error {
        match self.join() {
            Err(e) => e,
            Ok(_) => Error::Internal("the encoder thread stopped early".into()),
        }
    }
}

impl<W: Write + Send + 'static> FormatWriter<W> for BackgroundWriter<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.send(batch.clone())
    }

    fn bytes_written(&self) -> u64 {
        self.progress.written
    }

    fn buffered_bytes(&self) -> u64 {
        self.progress.buffered
    }

    fn finish(self: Box<Self>) -> Result<W> {
        BackgroundWriter::finish(*self)
    }
}

impl<W: Write + Send + 'static, I: Send + 'static> Drop for BackgroundWriter<W, I> {
    fn drop(&mut self) {
        // Abandoned (a failed sync): stop the worker without finishing the
        // file, and wait for it, so nothing writes after the target discards it.
        self.batches = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::formats::{new_writer, FileFormat, WriteOptions};

    #[test]
    fn writes_what_the_inner_writer_would() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
        let direct = {
            let mut w = new_writer(
                FileFormat::Jsonl,
                "",
                schema.clone(),
                Vec::new(),
                &WriteOptions::default(),
            )
            .unwrap();
            w.write(&batch).unwrap();
            w.write(&batch).unwrap();
            w.finish().unwrap()
        };
        let inner = new_writer(FileFormat::Jsonl, "", schema, Vec::new(), &WriteOptions::default()).unwrap();
        let mut w: Box<dyn FormatWriter<Vec<u8>>> = Box::new(BackgroundWriter::spawn(inner).unwrap());
        w.write(&batch).unwrap();
        assert_eq!(w.bytes_written(), 0, "sizes lag one batch");
        w.write(&batch).unwrap();
        assert!(w.bytes_written() > 0);
        assert_eq!(w.finish().unwrap(), direct);
    }

    /// A sink that records whether it was flushed (finishing a file flushes it).
    struct Flushed(Arc<std::sync::atomic::AtomicBool>);
    impl Write for Flushed {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn a_dropped_writer_does_not_finish_its_file() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1]))]).unwrap();
        let flushed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sink = Flushed(flushed.clone());
        let inner = new_writer(FileFormat::Jsonl, "", schema, sink, &WriteOptions::default()).unwrap();
        let mut w = BackgroundWriter::spawn(inner).unwrap();
        w.write(&batch).unwrap();
        drop(w);
        assert!(!flushed.load(std::sync::atomic::Ordering::SeqCst));
    }

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_inner_error_comes_back() {
        let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Int64, true)]));
        let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![1; 100_000]))]).unwrap();
        let inner = new_writer(FileFormat::Csv, "", schema, Broken, &WriteOptions::default()).unwrap();
        let mut w: Box<dyn FormatWriter<Broken>> = Box::new(BackgroundWriter::spawn(inner).unwrap());
        let result = (0..4)
            .try_for_each(|_| w.write(&batch))
            .and_then(|()| w.finish().map(|_| ()));
        let err = result.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("disk full"), "{err}");
    }
}
