//! A blocking [`std::io::Read`] over an async byte stream, for decoders that
//! run in `spawn_blocking`.

use std::io::{self, Read};

use bytes::{Buf, Bytes};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::ByteStream;

/// Reads an object's byte stream from a blocking thread.
///
/// A task on the tokio runtime pulls the stream and hands chunks over a
/// bounded channel (`read_ahead` chunks), so the network keeps flowing while
/// the decoder works and memory stays bounded. Dropping the reader stops the
/// task and the download. Storage errors surface as [`io::Error`]s that
/// [`super::StorageError::from_io`] turns back into the original error.
///
/// Do not read from an async task: `read` blocks the thread.
#[derive(Debug)]
pub struct BlockingReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    done: bool,
}

impl BlockingReader {
    /// Spawns the fetching task on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(mut stream: ByteStream, read_ahead: usize) -> Self {
        let (tx, rx) = mpsc::channel(read_ahead.max(1));
        tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                let failed = item.is_err();
                if tx.send(item.map_err(io::Error::from)).await.is_err() || failed {
                    break;
                }
            }
        });
        BlockingReader {
            rx,
            current: Bytes::new(),
            done: false,
        }
    }

    /// A reader over bytes already in memory (no task).
    pub fn from_bytes(bytes: Bytes) -> Self {
        let (_tx, rx) = mpsc::channel(1);
        BlockingReader {
            rx,
            current: bytes,
            done: true,
        }
    }
}

impl Read for BlockingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                None => {
                    self.done = true;
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
