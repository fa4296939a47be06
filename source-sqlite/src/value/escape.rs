//! JSON strings: quotes, `\"`, `\\` and control characters escaped exactly
//! as `serde_json` does. TEXT read from SQLite is checked for UTF-8 in the
//! same pass: eight bytes at a time are tested for anything needing work
//! (a byte to escape or a non-ASCII one), and only such words are looked at
//! byte by byte.

/// Per byte: 0 = copy as is, [`NON_ASCII`], `u` = `\u00XX`, else the escape letter.
static ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    i = 0x80;
    while i < 0x100 {
        t[i] = NON_ASCII;
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// [`ESCAPE`]'s mark of a byte of a multi-byte UTF-8 sequence.
const NON_ASCII: u8 = 1;

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Non-zero when a byte of `v` is zero.
#[inline(always)]
fn zero_byte(v: u64) -> u64 {
    v.wrapping_sub(LOW_BITS) & !v & HIGH_BITS
}

/// True when one of the eight bytes of `w` is a control character, `"`,
/// `\` or not ASCII.
#[inline(always)]
fn needs_work(w: u64) -> bool {
    let control = w.wrapping_sub(LOW_BITS * 0x20) & !w & HIGH_BITS;
    let quote = zero_byte(w ^ (LOW_BITS * u64::from(b'"')));
    let backslash = zero_byte(w ^ (LOW_BITS * u64::from(b'\\')));
    (control | quote | backslash | (w & HIGH_BITS)) != 0
}

/// Writes `s` as a JSON string.
pub fn write_json_str(buf: &mut Vec<u8>, s: &str) {
    write_escaped(buf, s.as_bytes(), true);
}

/// Writes TEXT `bytes` as a JSON string if they are UTF-8; otherwise writes
/// nothing and returns false.
pub fn write_json_text(buf: &mut Vec<u8>, bytes: &[u8]) -> bool {
    write_escaped(buf, bytes, false)
}

/// The escaping pass; `valid` says `bytes` are known to be UTF-8.
#[inline(always)]
fn write_escaped(buf: &mut Vec<u8>, bytes: &[u8], valid: bool) -> bool {
    let open = buf.len();
    buf.reserve(bytes.len() + 2);
    buf.push(b'"');
    let mut pass = Pass {
        bytes,
        copied: 0,
        valid,
    };
    let words = bytes.chunks_exact(8);
    let tail = bytes.len() - words.remainder().len();
    for (n, word) in words.enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if !needs_work(u64::from_le_bytes(w)) {
            continue;
        }
        for (j, &b) in word.iter().enumerate() {
            if !pass.byte(buf, n * 8 + j, b) {
                buf.truncate(open);
                return false;
            }
        }
    }
    for (j, &b) in bytes[tail..].iter().enumerate() {
        if !pass.byte(buf, tail + j, b) {
            buf.truncate(open);
            return false;
        }
    }
    buf.extend_from_slice(&bytes[pass.copied..]);
    buf.push(b'"');
    true
}

/// The state of one escaping pass.
struct Pass<'a> {
    bytes: &'a [u8],
    /// Bytes before this index are in the output.
    copied: usize,
    /// The bytes are known to be UTF-8.
    valid: bool,
}

impl Pass<'_> {
    /// Handles byte `b` at `i`; false when the bytes turn out not to be UTF-8.
    #[inline(always)]
    fn byte(&mut self, buf: &mut Vec<u8>, i: usize, b: u8) -> bool {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        match ESCAPE[usize::from(b)] {
            0 => {}
            NON_ASCII => {
                if !self.valid {
                    if std::str::from_utf8(self.bytes).is_err() {
                        return false;
                    }
                    self.valid = true;
                }
            }
            esc => {
                buf.extend_from_slice(&self.bytes[self.copied..i]);
                if esc == b'u' {
                    buf.extend_from_slice(b"\\u00");
                    buf.push(HEX[usize::from(b >> 4)]);
                    buf.push(HEX[usize::from(b & 0xf)]);
                } else {
                    buf.push(b'\\');
                    buf.push(esc);
                }
                self.copied = i + 1;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut b = Vec::new();
        write_json_str(&mut b, s);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn escaping_matches_serde() {
        let mut samples: Vec<String> = [
            "",
            "plain",
            "exactly8",
            "sixteen bytes ok",
            "quote \" and backslash \\",
            "nl\ncr\rtab\tbs\u{8}ff\u{c}",
            "\u{0}\u{1}\u{1f}\u{7f}",
            "unicode é 日本 🎉 \u{2028}",
            "Robert'); DROP TABLE x;--",
            "long plain text that spans several words \" then a quote at byte 42",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every byte that needs work, at every offset of a word.
        for c in ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', ' ', '!', '~', '\u{7f}'] {
            for at in 0..17 {
                let mut s = "a".repeat(at);
                s.push(c);
                s.push_str("tail-bytes");
                samples.push(s);
            }
        }
        for s in &samples {
            let ours = esc(s);
            assert_eq!(ours, serde_json::to_string(s).unwrap(), "{s:?}");
            let mut b = Vec::new();
            assert!(write_json_text(&mut b, s.as_bytes()));
            assert_eq!(b, ours.as_bytes());
        }
    }

    #[test]
    fn text_that_is_not_utf8_writes_nothing() {
        for bad in [&b"\xff\xfe"[..], b"abcdefgh\xc3", b"abc\"defgh\x80xyz", b"\xed\xa0\x80"] {
            let mut b = b"keep".to_vec();
            assert!(!write_json_text(&mut b, bad), "{bad:?}");
            assert_eq!(b, b"keep");
        }
    }
}
