//! Reading the input messages: stdin split into numbered lines, with the
//! difference between a malformed line and input cut off mid-line (the
//! upstream process stopped).

use std::io::BufRead;

use lakeport_protocol::ConnectorError;

/// Calls `line` with each non-blank input line (without its line ending)
/// and its 1-based line number.
///
/// A last line without its line ending that is not a whole message (cut
/// anywhere: inside a string, right after a backslash, inside a multi-byte
/// character) means the process writing the input stopped mid-message: that
/// is the error of [`cut_off`], not a malformed message.
pub fn for_each_line(
    input: &mut (dyn BufRead + Send),
    mut line: impl FnMut(&str, u64) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    // A line is read in place from the input's buffer; only one that
    // straddles two fills of the buffer is copied (into `carry`).
    let mut carry = Vec::new();
    let mut n = 0u64;
    loop {
        let chunk = input
            .fill_buf()
            .map_err(|e| ConnectorError::system(format!("Could not read the input messages: {e}")))?;
        if chunk.is_empty() {
            // The end: what is carried is a last line without its line ending.
            if carry.is_empty() {
                return Ok(());
            }
            n += 1;
            return one_line(&carry, false, n, &mut line);
        }
        match memchr::memchr(b'\n', chunk) {
            Some(end) if carry.is_empty() => {
                n += 1;
                let result = one_line(&chunk[..=end], true, n, &mut line);
                input.consume(end + 1);
                result?;
            }
            Some(end) => {
                carry.extend_from_slice(&chunk[..=end]);
                input.consume(end + 1);
                n += 1;
                one_line(&carry, true, n, &mut line)?;
                carry.clear();
            }
            None => {
                let len = chunk.len();
                carry.extend_from_slice(chunk);
                input.consume(len);
            }
        }
    }
}

/// Input line `n` (its bytes, with its line ending when it is `ended`):
/// checked as text and, unless blank, handed to `line`.
fn one_line(
    bytes: &[u8],
    ended: bool,
    n: u64,
    line: &mut impl FnMut(&str, u64) -> Result<(), ConnectorError>,
) -> Result<(), ConnectorError> {
    // Checked with SIMD; std's check only tells what is wrong.
    let checked = simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes));
    let text = match checked {
        Ok(text) => text,
        // The input stopped inside a character: only its last bytes are incomplete.
        Err(e) if !ended && e.error_len().is_none() => return Err(cut_off(n)),
        Err(e) => {
            return Err(ConnectorError::config(format!(
                "Input line {n} is not UTF-8 text (a bad byte at column {}); Airbyte messages are UTF-8 JSON \
                 lines: check what the source sends.",
                e.valid_up_to() + 1
            )))
        }
    };
    let text = text.trim_end_matches(['\n', '\r']);
    if text.trim().is_empty() {
        return Ok(());
    }
    if !ended && is_cut(text) {
        return Err(cut_off(n));
    }
    line(text, n)
}

/// True when `text` is the beginning of a JSON value whose end is missing.
/// (A full parse: skipping a value reports some cuts, e.g. after a minus
/// sign, as syntax errors. It runs once, on the last line.)
fn is_cut(text: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(text).is_err_and(|e| e.is_eof())
}

/// The error for input that ends in the middle of message line `n`: the
/// upstream process (the source) stopped while writing it — killed, crashed,
/// or its machine went away. Neither the user's config nor this destination
/// is at fault, so it is a `system_error` (as the Airbyte platform reports a
/// source that died during a sync: a failure of the replication, retried from
/// the last checkpoint; only a `config_error` stops its retries).
pub fn cut_off(n: u64) -> ConnectorError {
    ConnectorError::system(format!(
        "The input ended in the middle of message line {n}: the process writing into this destination (the \
         source) stopped before finishing its output (it was killed, crashed or lost its machine). Files not yet \
         committed were discarded. Find why the source stopped (its exit status and log), then resume the sync \
         with the last STATE this destination echoed."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_character_is_a_cut_not_bad_text() {
        // "é" is 0xC3 0xA9: the input stops between them.
        let mut input: &[u8] = b"{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":\"\xc3";
        let e = for_each_line(&mut input, |_, _| Ok(())).unwrap_err();
        assert!(e.message.contains("ended in the middle"), "{}", e.message);
        // The same bytes with a line end after them are bad text.
        let mut input: &[u8] = b"{\"message\":\"\xc3\n";
        let e = for_each_line(&mut input, |_, _| Ok(())).unwrap_err();
        assert!(e.message.contains("not UTF-8"), "{}", e.message);
        // A last line that is whole but lacks its line end is read.
        let mut input: &[u8] = b"{}";
        assert!(for_each_line(&mut input, |t, _| {
            assert_eq!(t, "{}");
            Ok(())
        })
        .is_ok());
        // A last line that is not JSON at all is not a cut: the caller's error.
        let mut input: &[u8] = b"not json";
        let e = for_each_line(&mut input, |_, _| Err(ConnectorError::config("bad"))).unwrap_err();
        assert_eq!(e.message, "bad");
    }

    #[test]
    fn lines_are_numbered_and_bad_bytes_named() {
        let mut input: &[u8] = b"a\r\n\n  \nb\n\xffc\n";
        let mut seen = Vec::new();
        let e = for_each_line(&mut input, |text, n| {
            seen.push((text.to_string(), n));
            Ok(())
        })
        .unwrap_err();
        assert_eq!(seen, [("a".to_string(), 1), ("b".to_string(), 4)]);
        assert!(
            e.message.contains("Input line 5 is not UTF-8") && e.message.contains("column 1"),
            "{}",
            e.message
        );
    }

    /// Lines split across fills of a small buffer read as from one buffer.
    #[test]
    fn lines_across_buffer_fills() {
        let text = "{\"a\":1}\r\n\n  \n{\"é\":\"ü€😀\"}\n{\"long\":\"0123456789abcdef\"}\n{}";
        let read = |input: &mut (dyn BufRead + Send)| {
            let mut seen = vec![];
            for_each_line(input, |t, n| {
                seen.push((t.to_string(), n));
                Ok(())
            })
            .map(|()| seen)
        };
        let whole = read(&mut text.as_bytes()).unwrap();
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[3], ("{}".to_string(), 6));
        for capacity in 1..12 {
            let mut small = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            assert_eq!(read(&mut small).unwrap(), whole, "capacity {capacity}");
        }
        // A character cut by the end of input, read a byte at a time.
        let mut cut = std::io::BufReader::with_capacity(1, &b"{}\n{\"m\":\"\xc3"[..]);
        let e = read(&mut cut).unwrap_err();
        assert!(e.message.contains("middle of message line 2"), "{}", e.message);
    }
}
