//! Byte-stream helpers shared by the text readers: a line-length cap and text decoding.

use std::io::{self, Read};

use super::options::TextEncoding;

/// Passes bytes through, failing once a line grows past `max` bytes (so a 50 MB line is an
/// error, not an allocation). Counts lines to name the offending one.
pub(crate) struct LineCap<R> {
    inner: R,
    max: usize,
    current: usize,
    line: u64,
    /// The last byte seen was a `\r` (a line end unless a `\n` follows: CRLF is one).
    after_cr: bool,
}

impl<R: Read> LineCap<R> {
    pub(crate) fn new(inner: R, max: usize) -> Self {
        LineCap {
            inner,
            max,
            current: 0,
            line: 1,
            after_cr: false,
        }
    }
}

impl<R: Read> Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let data = &buf[..n];
        let mut start = 0;
        // Lines end in LF, CRLF or a lone CR (classic Mac files).
        for pos in memchr::memchr2_iter(b'\n', b'\r', data) {
            if self.current + (pos - start) > self.max {
                return Err(self.too_long());
            }
            let crlf = data[pos] == b'\n' && pos == start && self.after_cr;
            if !crlf {
                self.line += 1;
            }
            self.after_cr = data[pos] == b'\r';
            self.current = 0;
            start = pos + 1;
        }
        if start < n {
            self.after_cr = false;
        }
        self.current += n - start;
        if self.current > self.max {
            return Err(self.too_long());
        }
        Ok(n)
    }
}

impl<R> LineCap<R> {
    fn too_long(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "line {} is longer than {} bytes (the line-length limit); is the delimiter or the file format right?",
                self.line, self.max
            ),
        )
    }
}

/// Wraps `inner` so it yields UTF-8: transcodes from `encoding`, or for UTF-8 strips a BOM
/// (validation happens in the reader, which knows the line numbers).
pub(crate) fn utf8_reader<'a>(inner: Box<dyn Read + Send + 'a>, encoding: TextEncoding) -> Box<dyn Read + Send + 'a> {
    let enc = match encoding {
        TextEncoding::Utf8 | TextEncoding::Utf8Sig => {
            return Box::new(BomStripper {
                inner,
                checked: false,
                head: Vec::new(),
            })
        }
        TextEncoding::Utf16 | TextEncoding::Utf16Le => encoding_rs::UTF_16LE,
        TextEncoding::Utf16Be => encoding_rs::UTF_16BE,
        TextEncoding::Latin1 | TextEncoding::Windows1252 => encoding_rs::WINDOWS_1252,
    };
    Box::new(
        encoding_rs_io::DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_override(true)
            .build(inner),
    )
}

/// Drops a leading UTF-8 byte-order mark.
struct BomStripper<R> {
    inner: R,
    checked: bool,
    head: Vec<u8>,
}

impl<R: Read> Read for BomStripper<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.checked {
            self.checked = true;
            let mut h = [0u8; 3];
            let mut got = 0;
            while got < 3 {
                let n = self.inner.read(&mut h[got..])?;
                if n == 0 {
                    break;
                }
                got += n;
            }
            if got == 3 && h == [0xEF, 0xBB, 0xBF] {
                self.head.clear();
            } else {
                self.head.extend_from_slice(&h[..got]);
            }
        }
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.len());
            buf[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_trips_on_long_line() {
        let data = format!("short\n{}\n", "x".repeat(5000));
        let mut r = LineCap::new(data.as_bytes(), 1024);
        let mut out = Vec::new();
        let err = r.read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn bom_is_stripped() {
        let data: &[u8] = b"\xEF\xBB\xBFa,b\n";
        let mut r = utf8_reader(Box::new(data), TextEncoding::Utf8);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "a,b\n");
    }
}
