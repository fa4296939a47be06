//! The destinations' input: the messages a source's `read` prints, one JSON
//! line each, parsed by one parser.
//!
//! - [`lines`]: stdin split into numbered lines; a last line cut off
//!   mid-message is the upstream stopping, not a malformed message.
//! - [`message`]: the borrowed shape of a line ([`InputLine`]): a record's
//!   `data` stays raw JSON text.
//! - [`scan`]: the fast path for RECORD lines in the usual shape.
//! - here: [`parse_line`] (the fast path, serde as its fallback),
//!   [`parse_line_deferred`] (the same, leaving the check of `data` to its
//!   reader where it can), [`parse_line_full`] (serde only, for writers that
//!   copy `data` as it is) and [`invalid_line`] (the error each gives a user).

pub mod lines;
pub mod message;
pub mod scan;

use lakeport_protocol::ConnectorError;
use message::InputLine;
use scan::{scan_record, scan_record_deferred};

/// The error for input line `n`, which [`parse_line`] or [`parse_line_full`]
/// refused with `why`.
pub fn invalid_line(n: u64, why: &str) -> ConnectorError {
    ConnectorError::config(format!(
        "Input line {n} is not a valid Airbyte message: {why}. Pipe a source's `read` output into `write`."
    ))
}

/// Parses one line; the error says what is wrong in words a user can act on.
///
/// RECORD lines in the usual shape take the fast path of [`scan_record`]
/// (their `data` is delimited, not checked: the decoder that reads it checks
/// it); anything else is parsed and checked by [`parse_line_full`].
pub fn parse_line(line: &str) -> Result<InputLine<'_>, String> {
    if let Some(parsed) = scan_record(line) {
        return Ok(parsed);
    }
    parse_line_full(line)
}

/// [`parse_line`], but a RECORD's `data` may be left unchecked
/// ([`scan_record_deferred`]; its `data_checked` says so): for the engine,
/// whose decoders read `data` to its end, or check it otherwise.
pub fn parse_line_deferred(line: &str) -> Result<InputLine<'_>, String> {
    if let Some(parsed) = scan_record_deferred(line) {
        return Ok(parsed);
    }
    parse_line_full(line)
}

/// Parses and checks one line in full with serde, a RECORD's `data` and
/// `meta` included (each must be valid JSON): for writers that copy `data`
/// into their output as it is, without decoding it.
pub fn parse_line_full(line: &str) -> Result<InputLine<'_>, String> {
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
    use lakeport_protocol::ConnectorError;

    use super::lines::for_each_line;
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
        for sample in scan::tests::SAMPLES {
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
    fn the_full_parse_checks_data() {
        // Data the fast path only delimits (its decoder checks it).
        let bad = r#"{"type":"RECORD","record":{"stream":"s","data":{"a":},"emitted_at":1}}"#;
        assert!(parse_line_full(bad).is_err());
        assert!(parse_line_full(r#"{"type":"RECORD","record":{"stream":"s","data":[1],"emitted_at":1}}"#).is_err());
        assert!(parse_line_full(r#"{"type":"STATE"}"#).is_err());
        assert!(parse_line_full(r#"{"type":"LOG","log":{"level":"INFO","message":"m"}}"#).is_ok());
        let good = r#"{"type":"RECORD","record":{"stream":"s","data":{"a":[1]},"emitted_at":1}}"#;
        assert_eq!(parse_line_full(good).unwrap().record.unwrap().data, r#"{"a":[1]}"#);
    }
}
