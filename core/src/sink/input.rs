//! Parsing the messages a destination reads on stdin, without building a
//! `serde_json::Value` per record: the record's `data` stays raw JSON text.

use std::borrow::Cow;

use std::io::BufRead;

use lakeport_protocol::ConnectorError;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::scan::scan_record;

/// One input line, borrowed from the line's text.
#[derive(Debug, Deserialize)]
pub struct InputLine<'a> {
    /// The message type (`RECORD`, `STATE`, …).
    #[serde(rename = "type", borrow)]
    pub kind: Cow<'a, str>,
    /// The record, for RECORD.
    #[serde(borrow, default)]
    pub record: Option<InputRecord<'a>>,
    /// The state, for STATE, as raw JSON.
    #[serde(borrow, default)]
    pub state: Option<&'a RawValue>,
}

/// A RECORD's payload.
#[derive(Debug, Deserialize)]
pub struct InputRecord<'a> {
    /// The stream.
    #[serde(borrow)]
    pub stream: Cow<'a, str>,
    /// Its namespace.
    #[serde(borrow, default)]
    pub namespace: Option<Cow<'a, str>>,
    /// The record's fields, as raw JSON text.
    #[serde(borrow, deserialize_with = "raw_json")]
    pub data: &'a str,
    /// When it was extracted (ms since the epoch).
    #[serde(default)]
    pub emitted_at: i64,
    /// The record's `meta` (changes the source made to it), as raw JSON text.
    #[serde(borrow, default, deserialize_with = "raw_json_opt")]
    pub meta: Option<&'a str>,
}

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
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        let read = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| ConnectorError::system(format!("Could not read the input messages: {e}")))?;
        if read == 0 {
            return Ok(());
        }
        n += 1;
        let ended = buf.last() == Some(&b'\n');
        let text = match std::str::from_utf8(&buf) {
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
            continue;
        }
        if !ended && is_cut(text) {
            return Err(cut_off(n));
        }
        line(text, n)?;
    }
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

fn raw_json<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'de str, D::Error> {
    <&RawValue>::deserialize(d).map(RawValue::get)
}

fn raw_json_opt<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de str>, D::Error> {
    raw_json(d).map(Some)
}

/// Parses one line; the error says what is wrong in words a user can act on.
///
/// RECORD lines in the usual shape take the fast path of [`scan_record`]
/// (their `data` is checked by the decoder that reads it); anything else is
/// parsed and checked by serde.
pub fn parse_line(line: &str) -> Result<InputLine<'_>, String> {
    if let Some(parsed) = scan_record(line) {
        return Ok(parsed);
    }
    let parsed: InputLine = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if parsed.kind == "RECORD" && parsed.record.is_none() {
        return Err("a RECORD message has no \"record\" field".into());
    }
    if parsed.kind == "STATE" && parsed.state.is_none() {
        return Err("a STATE message has no \"state\" field".into());
    }
    if let Some(r) = &parsed.record {
        if !r.data.trim_start().starts_with('{') {
            return Err("a RECORD's \"data\" is not a JSON object".into());
        }
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_states_and_errors() {
        let l =
            parse_line(r#"{"type":"RECORD","record":{"stream":"s\"x","data":{"a":[1,2]},"emitted_at":5}}"#).unwrap();
        let r = l.record.unwrap();
        assert_eq!(r.stream, "s\"x");
        assert_eq!(r.data, r#"{"a":[1,2]}"#);
        assert_eq!(r.emitted_at, 5);
        let l = parse_line(r#"{"type":"STATE","state":{"type":"STREAM"}}"#).unwrap();
        assert_eq!(l.state.unwrap().get(), r#"{"type":"STREAM"}"#);
        assert!(parse_line(r#"{"type":"LOG","log":{"level":"INFO","message":"m"}}"#).is_ok());
        assert!(parse_line("{\"type\":\"RECORD\"}").is_err());
        assert!(parse_line(r#"{"type":"RECORD","record":{"stream":"s","data":3,"emitted_at":1}}"#).is_err());
        assert!(parse_line("not json").is_err());
    }

    /// Every byte prefix of each sample line, as the last input line after a
    /// whole one: never a panic; the whole prefix is nothing, a cut one is
    /// the upstream stopping (a system error), the whole line is read.
    #[test]
    fn input_cut_at_every_byte_says_the_upstream_stopped() {
        use lakeport_protocol::FailureType;
        for sample in crate::sink::scan::tests::SAMPLES {
            for cut in 0..=sample.len() {
                let mut input = format!("{sample}\n").into_bytes();
                input.extend_from_slice(&sample.as_bytes()[..cut]);
                let mut reader: &[u8] = &input;
                let mut seen = 0;
                let result = for_each_line(&mut reader, |text, n| {
                    parse_line(text).map_err(|e| ConnectorError::config(format!("line {n}: {e}")))?;
                    seen += 1;
                    Ok(())
                });
                match cut {
                    0 => assert_eq!((result, seen), (Ok(()), 1)),
                    c if c == sample.len() => assert_eq!((result, seen), (Ok(()), 2)),
                    _ => {
                        let e = result.expect_err("a cut line is an error");
                        assert_eq!(e.failure_type, FailureType::SystemError, "{}", e.message);
                        assert!(
                            e.message.contains("ended in the middle of message line 2")
                                && e.message.contains("stopped before finishing"),
                            "cut at {cut} of {sample}: {}",
                            e.message
                        );
                        assert_eq!(seen, 1);
                    }
                }
            }
        }
    }

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
}
