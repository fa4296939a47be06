//! [`LocalFile`]: an object that is a file on this machine, open for reads
//! at any offset, so a reader that seeks (Parquet: the footer, then column
//! chunks) reads it in place rather than through ranged requests.
//!
//! Reads are counted into a [`Meter`] when the file came through a metering
//! wrapper ([`super::Metered`]): the open is one GET, every byte read is a
//! byte received.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;

use super::error::{Result, StorageError};
use super::meter::Meter;

/// A local object open for reads at any offset (see the module docs).
#[derive(Debug)]
pub struct LocalFile {
    file: Arc<File>,
    /// The path, for errors.
    path: Arc<str>,
    len: u64,
    meter: Option<Arc<Meter>>,
}

impl LocalFile {
    /// `file`, found at `path`, `len` bytes long.
    pub fn new(file: File, path: impl Into<Arc<str>>, len: u64) -> Self {
        LocalFile {
            file: Arc::new(file),
            path: path.into(),
            len,
            meter: None,
        }
    }

    /// The same file, its reads counted into `meter`.
    pub fn metered(self, meter: Arc<Meter>) -> Self {
        LocalFile {
            meter: Some(meter),
            ..self
        }
    }

    /// The file's length in bytes (as of the open).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `length` bytes from `start`; fewer only where the file ends first.
    pub fn read_at(&self, start: u64, length: usize) -> Result<Bytes> {
        let mut buf = vec![0u8; length];
        let mut filled = 0;
        while filled < length {
            match self.file.read_at(&mut buf[filled..], start + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StorageError::io(self.path.to_string(), e)),
            }
        }
        buf.truncate(filled);
        self.count(filled);
        Ok(Bytes::from(buf))
    }

    /// A reader of the bytes from `start` to the end.
    pub fn reader_at(&self, start: u64) -> LocalFileReader {
        LocalFileReader {
            file: LocalFile {
                file: Arc::clone(&self.file),
                path: Arc::clone(&self.path),
                len: self.len,
                meter: self.meter.clone(),
            },
            offset: start,
        }
    }

    fn count(&self, bytes: usize) {
        if let Some(meter) = &self.meter {
            meter.record_received(bytes as u64);
        }
    }
}

/// A [`Read`] over a [`LocalFile`] from an offset on ([`LocalFile::reader_at`]).
#[derive(Debug)]
pub struct LocalFileReader {
    file: LocalFile,
    offset: u64,
}

impl Read for LocalFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.file.read_at(buf, self.offset)?;
        self.offset += n as u64;
        self.file.count(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn reads_at_offsets_and_counts_what_it_read() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"0123456789").unwrap();
        let meter = Meter::new();
        let file = LocalFile::new(f.reopen().unwrap(), "f", 10).metered(meter.clone());
        assert_eq!((file.len(), file.is_empty()), (10, false));
        assert_eq!(&file.read_at(2, 3).unwrap()[..], b"234");
        // Past the end: what there is.
        assert_eq!(&file.read_at(8, 5).unwrap()[..], b"89");
        assert!(file.read_at(20, 5).unwrap().is_empty());
        let mut rest = String::new();
        file.reader_at(6).read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "6789");
        assert_eq!(meter.snapshot().bytes_received, 3 + 2 + 4);
    }
}
