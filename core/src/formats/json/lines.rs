//! JSON lines cut into blocks of whole lines with `memchr`, enforcing the size cap per line
//! and counting lines (to name the one over the cap). A raw newline cannot occur inside a
//! valid JSON string, so a newline is where one value ends in a JSON lines file: the blocks
//! can be decoded independently ([`super::blocks`]). [`SerialLines`] is the same stream as
//! one `BufRead` (for schema inference and for a file whose values span lines).

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

/// Bytes read from the input at a time.
const READ_CHUNK: u64 = 256 * 1024;

/// Where a block ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cut {
    /// Cut after a multiple of this many lines (`None`: only by size).
    pub every: Option<usize>,
    /// … once the block holds at least this many bytes.
    pub min_bytes: usize,
    /// A block that reaches this many bytes is cut at its last whole line, wherever that is.
    pub max_bytes: usize,
}

/// Whole lines of the input.
#[derive(Debug)]
pub(super) struct Block {
    /// The lines, each ending in `\n` except perhaps the file's last.
    pub bytes: Vec<u8>,
    /// Cut after a multiple of [`Cut::every`] lines, or at the end of the input.
    pub aligned: bool,
    /// The input's last block.
    pub last: bool,
}

/// Cuts an input into [`Block`]s at newlines; fails once a line grows past `max` bytes.
pub(super) struct LineBlocks<'a> {
    input: Box<dyn Read + Send + 'a>,
    /// Bytes read and not handed out yet (whole lines, then the start of one).
    buf: Vec<u8>,
    /// `buf[..scanned]` has been searched for newlines.
    scanned: usize,
    /// Whole lines in `buf[..line_start]`.
    lines: usize,
    /// Where the line being read starts in `buf`.
    line_start: usize,
    /// The 1-based number of `buf`'s first line.
    first_line: u64,
    max: usize,
    eof: bool,
    /// The size-cap error, once met (it ends the stream: every later call repeats it).
    failed: Option<String>,
}

impl<'a> LineBlocks<'a> {
    /// Cuts `input`, failing on a line longer than `max` bytes.
    pub fn new(input: Box<dyn Read + Send + 'a>, max: usize) -> Self {
        LineBlocks {
            input,
            buf: Vec::new(),
            scanned: 0,
            lines: 0,
            line_start: 0,
            first_line: 1,
            max,
            eof: false,
            failed: None,
        }
    }

    fn too_long(&mut self, line: u64) -> io::Error {
        let msg = format!(
            "record {line} is longer than {} bytes (the size limit); is the file format right?",
            self.max
        );
        self.failed = Some(msg.clone());
        io::Error::new(io::ErrorKind::InvalidData, msg)
    }

    /// The next block cut as `cut` says; `None` at the end of the input.
    pub fn next_block(&mut self, cut: Cut) -> io::Result<Option<Block>> {
        if let Some(msg) = &self.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, msg.clone()));
        }
        loop {
            let mut aligned = false;
            for p in memchr::memchr_iter(b'\n', &self.buf[self.scanned..]) {
                let p = self.scanned + p;
                if p - self.line_start > self.max {
                    let line = self.first_line + self.lines as u64;
                    return Err(self.too_long(line));
                }
                self.lines += 1;
                self.line_start = p + 1;
                if cut.every.is_some_and(|n| self.lines % n == 0) && self.line_start >= cut.min_bytes {
                    aligned = true;
                    break;
                }
            }
            self.scanned = if aligned { self.line_start } else { self.buf.len() };
            if !aligned && self.buf.len() - self.line_start > self.max {
                let line = self.first_line + self.lines as u64;
                return Err(self.too_long(line));
            }
            if aligned || (self.lines > 0 && self.buf.len() >= cut.max_bytes) {
                return Ok(Some(self.take(self.line_start, aligned, false)));
            }
            if self.eof {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Ok(Some(self.take(self.buf.len(), true, true)));
            }
            // Room for one more chunk (a small file takes no more than it holds); small
            // blocks are read in small chunks (a schema sample reads no more than it needs).
            let chunk = READ_CHUNK.min(cut.max_bytes as u64);
            self.buf.reserve(chunk as usize);
            let n = self.input.by_ref().take(chunk).read_to_end(&mut self.buf)?;
            self.eof = n == 0;
        }
    }

    /// Hands out `buf[..at]` (whole lines).
    fn take(&mut self, at: usize, aligned: bool, last: bool) -> Block {
        let mut rest = Vec::with_capacity((self.buf.capacity()).max(READ_CHUNK as usize));
        rest.extend_from_slice(&self.buf[at..]);
        let mut bytes = std::mem::replace(&mut self.buf, rest);
        bytes.truncate(at);
        self.first_line += std::mem::take(&mut self.lines) as u64;
        self.scanned -= at.min(self.scanned);
        self.line_start -= at.min(self.line_start);
        Block { bytes, aligned, last }
    }

    /// The bytes not handed out yet followed by the rest of the input, unchecked.
    pub fn into_rest(self) -> Box<dyn Read + Send + 'a> {
        Box::new(io::Cursor::new(self.buf).chain(self.input))
    }
}

/// Blocks in smaller pieces than a parallel decode wants: what a stream read serially holds.
pub(super) const SERIAL_CUT: Cut = Cut {
    every: None,
    min_bytes: 0,
    max_bytes: 64 * 1024,
};

/// Lines already cut (`pending`), then the rest of a [`LineBlocks`], as one stream.
pub(super) struct SerialLines<'a> {
    pending: VecDeque<Vec<u8>>,
    pos: usize,
    blocks: LineBlocks<'a>,
}

impl<'a> SerialLines<'a> {
    /// `pending`, then what `blocks` has left.
    pub fn new(pending: VecDeque<Vec<u8>>, blocks: LineBlocks<'a>) -> Self {
        SerialLines {
            pending,
            pos: 0,
            blocks,
        }
    }

    /// What was not read yet, unchecked.
    pub fn into_rest(mut self) -> Box<dyn Read + Send + 'a> {
        let mut head = Vec::new();
        for (i, b) in self.pending.iter().enumerate() {
            head.extend_from_slice(if i == 0 { &b[self.pos..] } else { b });
        }
        self.pending.clear();
        Box::new(io::Cursor::new(head).chain(self.blocks.into_rest()))
    }
}

impl Read for SerialLines<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for SerialLines<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.pending.front().is_some_and(|b| self.pos >= b.len()) {
            self.pending.pop_front();
            self.pos = 0;
        }
        if self.pending.is_empty() {
            if let Some(block) = self.blocks.next_block(SERIAL_CUT)? {
                self.pending.push_back(block.bytes);
            }
        }
        Ok(self.pending.front().map(|b| &b[self.pos..]).unwrap_or(&[]))
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(text: &'static str, cut: Cut, max: usize) -> Vec<io::Result<(String, bool, bool)>> {
        let mut b = LineBlocks::new(Box::new(text.as_bytes()), max);
        let mut out = vec![];
        loop {
            match b.next_block(cut) {
                Ok(Some(block)) => out.push(Ok((String::from_utf8(block.bytes).unwrap(), block.aligned, block.last))),
                Ok(None) => return out,
                Err(e) => {
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }

    #[test]
    fn blocks_end_after_a_multiple_of_the_lines_asked_and_the_last_takes_the_rest() {
        let cut = Cut {
            every: Some(2),
            min_bytes: 0,
            max_bytes: 1 << 20,
        };
        let got: Vec<_> = blocks("a\nb\nc\nd\ne", cut, 1024)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got,
            vec![
                ("a\nb\n".to_string(), true, false),
                ("c\nd\n".to_string(), true, false),
                ("e".to_string(), true, true),
            ]
        );
        // At least `min_bytes` per block: whole multiples of two lines.
        let cut = Cut {
            every: Some(2),
            min_bytes: 5,
            max_bytes: 1 << 20,
        };
        let got: Vec<_> = blocks("a\nb\nc\nd\ne\n", cut, 1024)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            got,
            vec![
                ("a\nb\nc\nd\n".to_string(), true, false),
                ("e\n".to_string(), true, true)
            ]
        );
    }

    #[test]
    fn a_block_over_max_bytes_is_cut_at_its_last_whole_line_and_not_aligned() {
        let cut = Cut {
            every: Some(1000),
            min_bytes: 0,
            max_bytes: 6,
        };
        let got: Vec<_> = blocks("aa\nbb\ncc", cut, 1024)
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(got[0], ("aa\nbb\n".to_string(), false, false));
        assert_eq!(got[1], ("cc".to_string(), true, true));
    }

    #[test]
    fn a_line_over_the_cap_names_its_record_number_and_the_error_stays() {
        let text: &'static str = Box::leak(format!("{{}}\n\n{}\n{{}}\n", "x".repeat(2000)).into_boxed_str());
        let mut b = LineBlocks::new(Box::new(text.as_bytes()), 1024);
        let e = b.next_block(SERIAL_CUT).unwrap_err().to_string();
        assert!(e.contains("record 3 is longer than 1024 bytes"), "{e}");
        let again = b.next_block(SERIAL_CUT).unwrap_err().to_string();
        assert_eq!(again, e);
        // Without a newline in sight (the line still growing).
        let mut b = LineBlocks::new(Box::new(io::repeat(b'x').take(10 << 20)), 1024);
        let e = b.next_block(SERIAL_CUT).unwrap_err().to_string();
        assert!(e.contains("record 1 is longer"), "{e}");
        // A line of exactly the cap is fine.
        let exact: &'static str = Box::leak(format!("{}\n{}\n", "x".repeat(1024), "y".repeat(1024)).into_boxed_str());
        assert!(blocks(exact, SERIAL_CUT, 1024).iter().all(|r| r.is_ok()));
    }

    #[test]
    fn serial_lines_replay_pending_blocks_then_the_rest() {
        let mut b = LineBlocks::new(Box::new(&b"1\n2\n3\n4\n"[..]), 1024);
        let first = b
            .next_block(Cut {
                every: Some(1),
                min_bytes: 0,
                max_bytes: 100,
            })
            .unwrap()
            .unwrap();
        let mut s = SerialLines::new(VecDeque::from([first.bytes]), b);
        let mut all = String::new();
        s.read_to_string(&mut all).unwrap();
        assert_eq!(all, "1\n2\n3\n4\n");
        // What a partial read leaves, unchecked.
        let b = LineBlocks::new(Box::new(&b"1\n2\n3\n"[..]), 1024);
        let mut s = SerialLines::new(VecDeque::new(), b);
        let mut two = [0u8; 2];
        s.read_exact(&mut two).unwrap();
        let mut rest = String::new();
        s.into_rest().read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "2\n3\n");
    }
}
