//! The data blocks of a container, each checked before the Avro crate reads it: the Avro
//! crate allocates what a block's header declares (up to 512 MiB for a few bytes of file),
//! so [`CheckedBlocks`] reads each block itself — its buffer grows only with bytes that are
//! really there — and refuses, with an error saying what is wrong, a block that declares a
//! negative count or size, more bytes than the file holds, more records than its bytes can
//! hold (uncompressed blocks), or that does not end with the file's sync marker.

use std::io::{self, Read};

use serde_json::Value as JsonValue;

/// The most bytes one block may declare (the Avro crate's own allocation limit).
const MAX_BLOCK_BYTES: u64 = 512 << 20;

/// Nesting deeper than this adds nothing to a schema's smallest record.
const MAX_DEPTH: usize = 64;

/// The fewest bytes one value of the Avro schema `s` (JSON) takes; 0 when unknown (a named
/// type referred to by name), so that the check it serves never refuses a good file.
pub(super) fn min_value_bytes(s: &JsonValue, depth: usize) -> u64 {
    if depth > MAX_DEPTH {
        return 0;
    }
    match s {
        JsonValue::String(t) => match t.as_str() {
            "boolean" | "int" | "long" | "bytes" | "string" => 1,
            "float" => 4,
            "double" => 8,
            _ => 0,
        },
        // A union: its branch index, then the branch.
        JsonValue::Array(branches) => {
            1 + branches
                .iter()
                .map(|b| min_value_bytes(b, depth + 1))
                .min()
                .unwrap_or(0)
        }
        JsonValue::Object(o) => match o.get("type").and_then(JsonValue::as_str) {
            Some("fixed") => o.get("size").and_then(JsonValue::as_u64).unwrap_or(0),
            Some("enum" | "array" | "map") => 1,
            Some("record" | "error") => o.get("fields").and_then(JsonValue::as_array).map_or(0, |fs| {
                fs.iter()
                    .map(|f| f.get("type").map_or(0, |t| min_value_bytes(t, depth + 1)))
                    .fold(0u64, u64::saturating_add)
            }),
            _ => o.get("type").map_or(0, |t| min_value_bytes(t, depth + 1)),
        },
        _ => 0,
    }
}

/// The data blocks of a container (the stream after its header), passed on block by block
/// once checked.
pub(super) struct CheckedBlocks<'a> {
    inner: Box<dyn Read + Send + 'a>,
    sync: [u8; 16],
    /// The fewest bytes a record takes when blocks are uncompressed (`None`: compressed).
    min_record_bytes: Option<u64>,
    block: Vec<u8>,
    pos: usize,
    blocks: u64,
}

impl<'a> CheckedBlocks<'a> {
    /// The blocks of `inner`, which end with `sync`; `min_record_bytes` when they are not
    /// compressed.
    pub(super) fn new(inner: Box<dyn Read + Send + 'a>, sync: [u8; 16], min_record_bytes: Option<u64>) -> Self {
        CheckedBlocks {
            inner,
            sync,
            min_record_bytes,
            block: Vec::new(),
            pos: 0,
            blocks: 0,
        }
    }

    /// A zig-zag long; `Ok(None)` at a clean end of the stream (before its first byte).
    fn long(&mut self, first: bool) -> io::Result<Option<i64>> {
        let mut n: u64 = 0;
        for (i, shift) in (0..70).step_by(7).enumerate() {
            let mut b = [0u8; 1];
            if self.inner.read(&mut b)? == 0 {
                return if first && i == 0 {
                    Ok(None)
                } else {
                    Err(self.bad("its header is cut short".into()))
                };
            }
            n |= u64::from(b[0] & 0x7f) << shift.min(63);
            if b[0] & 0x80 == 0 {
                return Ok(Some((n >> 1) as i64 ^ -((n & 1) as i64)));
            }
        }
        Err(self.bad("a number in its header does not end".into()))
    }

    fn bad(&self, why: String) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "data block {} {why}; the file is damaged or was cut short",
                self.blocks + 1
            ),
        )
    }

    /// Reads and checks the next block into `self.block`; `false` at the end of the stream.
    fn next_block(&mut self) -> io::Result<bool> {
        let Some(count) = self.long(true)? else {
            return Ok(false);
        };
        let size = self.long(false)?.unwrap_or(0);
        if count < 0 || size < 0 {
            return Err(self.bad(format!("declares {count} records in {size} bytes")));
        }
        let (count, size) = (count as u64, size as u64);
        if size > MAX_BLOCK_BYTES {
            return Err(self.bad(format!("declares {size} bytes, more than {MAX_BLOCK_BYTES}")));
        }
        if let Some(min) = self.min_record_bytes.filter(|m| *m > 0) {
            if count > size / min {
                return Err(self.bad(format!(
                    "declares {count} records in {size} bytes, more than its bytes can hold ({min} bytes each at least)"
                )));
            }
        }
        self.block.clear();
        zigzag(&mut self.block, count as i64);
        zigzag(&mut self.block, size as i64);
        let head = self.block.len();
        // Grows with the bytes that are there, never by what the block declares.
        let got = (&mut self.inner).take(size).read_to_end(&mut self.block)? as u64;
        if got < size {
            return Err(self.bad(format!("declares {size} bytes but the file ends after {got}")));
        }
        let mut marker = [0u8; 16];
        self.inner
            .read_exact(&mut marker)
            .map_err(|_| self.bad("is not followed by the file's sync marker".into()))?;
        if marker != self.sync {
            return Err(self.bad("does not end with the file's sync marker".into()));
        }
        debug_assert_eq!(self.block.len() - head, size as usize);
        self.block.extend_from_slice(&marker);
        self.pos = 0;
        self.blocks += 1;
        Ok(true)
    }
}

fn zigzag(out: &mut Vec<u8>, v: i64) {
    let mut n = ((v << 1) ^ (v >> 63)) as u64;
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

impl Read for CheckedBlocks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.block.len() && !self.next_block()? {
            return Ok(0);
        }
        let n = buf.len().min(self.block.len() - self.pos);
        buf[..n].copy_from_slice(&self.block[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SYNC: [u8; 16] = [7; 16];

    fn block(count: i64, size: i64, data: &[u8], sync: &[u8]) -> Vec<u8> {
        let mut b = vec![];
        zigzag(&mut b, count);
        zigzag(&mut b, size);
        b.extend_from_slice(data);
        b.extend_from_slice(sync);
        b
    }

    fn read_all(bytes: Vec<u8>, min: Option<u64>) -> io::Result<Vec<u8>> {
        let mut out = vec![];
        CheckedBlocks::new(Box::new(io::Cursor::new(bytes)), SYNC, min).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn good_blocks_pass_unchanged() {
        let mut bytes = block(2, 4, &[2, 4, 6, 8], &SYNC);
        bytes.extend(block(1, 1, &[0], &SYNC));
        assert_eq!(read_all(bytes.clone(), Some(1)).unwrap(), bytes);
        assert_eq!(read_all(vec![], Some(1)).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn blocks_declaring_what_the_file_cannot_hold_are_errors() {
        let err = |bytes: Vec<u8>, min: Option<u64>| read_all(bytes, min).unwrap_err().to_string();
        // A block asking for a gigabyte with four bytes behind it.
        assert_eq!(
            err(block(1, 1 << 30, &[1, 2, 3, 4], &[]), None),
            "data block 1 declares 1073741824 bytes, more than 536870912; the file is damaged or was cut short"
        );
        assert_eq!(
            err(block(1, 100, &[1, 2, 3, 4], &[]), None),
            "data block 1 declares 100 bytes but the file ends after 4; the file is damaged or was cut short"
        );
        assert!(err(block(-1, 4, &[1, 2, 3, 4], &SYNC), None).contains("declares -1 records in 4 bytes"));
        // A billion records of at least 8 bytes each in 16 bytes.
        assert!(err(block(1 << 30, 16, &[0; 16], &SYNC), Some(8)).contains("more than its bytes can hold"));
        // Compressed: the count is not checked against the size.
        assert!(read_all(block(1 << 30, 16, &[0; 16], &SYNC), None).is_ok());
        assert!(err(block(1, 1, &[0], &[9; 16]), None).contains("does not end with the file's sync marker"));
        let mut cut = block(1, 1, &[0], &SYNC);
        cut.truncate(cut.len() - 3);
        assert!(err(cut, None).contains("is not followed by the file's sync marker"));
    }

    #[test]
    fn the_smallest_record_of_a_schema() {
        let s = json!({"type": "record", "name": "r", "fields": [
            {"name": "a", "type": "long"},
            {"name": "b", "type": ["null", "double"]},
            {"name": "c", "type": {"type": "fixed", "name": "f", "size": 16}},
            {"name": "d", "type": "null"},
            {"name": "e", "type": {"type": "array", "items": "double"}},
            {"name": "g", "type": "f"},
        ]});
        assert_eq!(min_value_bytes(&s, 0), 1 + 1 + 16 + 1);
        assert_eq!(min_value_bytes(&json!("null"), 0), 0);
        assert_eq!(min_value_bytes(&json!({"type": "double"}), 0), 8);
    }
}
