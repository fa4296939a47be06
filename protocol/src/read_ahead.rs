//! A destination's input read ahead on a thread of its own: the `read`
//! calls (and the kernel's copies out of the pipe or the page cache) run
//! while the caller parses what came before, instead of between its lines.
//!
//! A few fixed buffers go round between the two threads, so memory stays
//! flat; the bytes come out exactly as read, in order; a read error is
//! handed over in its place, after the bytes before it.

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Bytes of one buffer (one `read` fills at most this much).
pub const BLOCK_BYTES: usize = 1 << 20;

/// Buffers filled ahead of the reader, besides the one it reads.
pub const BLOCKS_AHEAD: usize = 2;

/// What the reading thread hands over: a filled buffer, or the error that
/// ended its reading.
type Filled = io::Result<Vec<u8>>;

/// A [`BufRead`] over input read on another thread.
pub struct ReadAhead {
    filled: Receiver<Filled>,
    free: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
    /// The end was reached (or an error handed out): nothing more comes.
    done: bool,
}

impl ReadAhead {
    /// Starts reading `input` on a new thread (named `input-reader`). The
    /// thread ends at the end of the input, at an error, or when this
    /// reader is dropped (after the `read` it is in returns).
    pub fn spawn<R: Read + Send + 'static>(input: R) -> io::Result<Self> {
        let (filled_tx, filled) = sync_channel::<Filled>(BLOCKS_AHEAD);
        let (free, free_rx) = sync_channel::<Vec<u8>>(BLOCKS_AHEAD + 1);
        std::thread::Builder::new()
            .name("input-reader".into())
            .spawn(move || read_blocks(input, &filled_tx, &free_rx))?;
        Ok(ReadAhead {
            filled,
            free,
            current: Vec::new(),
            pos: 0,
            done: false,
        })
    }
}

/// The reading thread: fills buffers (recycled from `free` when the reader
/// gave one back) until the end, an error, or the reader hangs up.
fn read_blocks<R: Read>(mut input: R, filled: &SyncSender<Filled>, free: &Receiver<Vec<u8>>) {
    loop {
        let mut block = free.try_recv().unwrap_or_default();
        block.resize(BLOCK_BYTES, 0);
        let n = loop {
            match input.read(&mut block) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let end = matches!(n, Ok(0) | Err(_));
        let item = n.map(|n| {
            block.truncate(n);
            block
        });
        // The reader is gone (it stopped early): stop too.
        if filled.send(item).is_err() || end {
            return;
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for ReadAhead {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.current.len() && !self.done {
            let next = self.filled.recv().unwrap_or_else(|_| Ok(Vec::new()));
            match next {
                Ok(block) => {
                    self.done = block.is_empty();
                    // The reading thread may be gone already: the buffer is just dropped.
                    let _ = self.free.try_send(std::mem::replace(&mut self.current, block));
                    self.pos = 0;
                }
                Err(e) => {
                    self.done = true;
                    return Err(e);
                }
            }
        }
        Ok(&self.current[self.pos..])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.current.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gives its bytes in pieces of `step`, then maybe an error.
    struct Pieces {
        data: Vec<u8>,
        at: usize,
        step: usize,
        fail_at_end: bool,
    }

    impl Read for Pieces {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            if self.at == self.data.len() {
                if self.fail_at_end {
                    return Err(io::Error::other("the pipe broke"));
                }
                return Ok(0);
            }
            let n = self.step.min(out.len()).min(self.data.len() - self.at);
            out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    fn pieces(len: usize, step: usize, fail_at_end: bool) -> (Vec<u8>, Pieces) {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let source = Pieces {
            data: data.clone(),
            at: 0,
            step,
            fail_at_end,
        };
        (data, source)
    }

    #[test]
    fn the_bytes_come_out_as_read_in_order() {
        for (len, step) in [
            (0, 1),
            (1, 1),
            (10, 3),
            (3 * BLOCK_BYTES + 17, BLOCK_BYTES),
            (BLOCK_BYTES, 4096),
        ] {
            let (data, source) = pieces(len, step, false);
            let mut reader = ReadAhead::spawn(source).unwrap();
            let mut got = Vec::new();
            reader.read_to_end(&mut got).unwrap();
            assert_eq!(got.len(), data.len());
            assert!(got == data, "len {len} step {step}");
            // The end stays the end.
            assert!(reader.fill_buf().unwrap().is_empty());
        }
    }

    #[test]
    fn lines_read_through_buf_read_are_the_input_lines() {
        let text: String = (0..50_000).map(|i| format!("{{\"n\":{i}}}\n")).collect();
        let mut reader = ReadAhead::spawn(io::Cursor::new(text.clone().into_bytes())).unwrap();
        let lines: Vec<String> = (&mut reader).lines().map(|l| l.unwrap()).collect();
        assert_eq!(lines.len(), 50_000);
        assert_eq!(lines.join("\n") + "\n", text);
    }

    #[test]
    fn an_error_comes_after_the_bytes_before_it() {
        let (data, source) = pieces(5000, 700, true);
        let mut reader = ReadAhead::spawn(source).unwrap();
        let mut got = Vec::new();
        let e = reader.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.to_string(), "the pipe broke");
        assert_eq!(got, data);
    }

    /// Says when it is dropped (the reading thread that owns it ended).
    struct Watched(Pieces, SyncSender<()>);

    impl Read for Watched {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.0.read(out)
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            let _ = self.1.send(());
        }
    }

    #[test]
    fn a_reader_dropped_early_stops_the_thread() {
        let (_, source) = pieces(10 * BLOCK_BYTES, BLOCK_BYTES, false);
        let (ended, thread_ended) = sync_channel(1);
        let mut reader = ReadAhead::spawn(Watched(source, ended)).unwrap();
        assert!(!reader.fill_buf().unwrap().is_empty());
        // The thread waits on a full channel: dropping the reader ends it.
        assert!(
            thread_ended.try_recv().is_err(),
            "the thread ended before the input did"
        );
        drop(reader);
        thread_ended
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("the reading thread ended");
    }
}
