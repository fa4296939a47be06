//! The one buffered writer of protocol messages.
//!
//! Records are the bulk of the output and are written as they come, buffered;
//! every other message is masked for secrets and flushed at once, so a STATE or
//! an error reaches the platform without delay. Pre-serialised RECORD lines
//! (built by the engine's record serializer in worker tasks) take a fast path
//! that copies bytes without parsing them.
//!
//! Stream statuses: after a TRACE STREAM_STATUS `STARTED`, the emitter
//! writes `RUNNING` for that stream right after its first record, as the
//! Airbyte CDK does, so every source gets the STARTED → RUNNING → COMPLETE
//! sequence without tracking it.

use std::io::{self, BufWriter, Write};

use crate::catalog::StreamDescriptor;
use crate::message::{AirbyteMessage, LogLevel, LogMessage, StreamStatus, TraceMessage};
use crate::progress::Terminal;
use crate::secrets::Secrets;

/// Buffer size of the stdout writer.
pub const OUTPUT_BUFFER_BYTES: usize = 1 << 20;

/// Chunks of RECORD lines at least this long bypass the output buffer.
pub const DIRECT_BYTES: usize = 64 << 10;

/// Writes protocol messages, one JSON object per line.
pub struct Emitter {
    out: BufWriter<Box<dyn Write + Send>>,
    secrets: Secrets,
    logs_to_stderr: bool,
    records: u64,
    /// A stream reported STARTED whose first record is not out yet.
    started: Option<StreamDescriptor>,
    /// The progress line and tables for a person at a shell (stderr a terminal).
    terminal: Option<Terminal>,
}

impl Emitter {
    /// An emitter writing to this process's stdout; LOG messages are echoed to
    /// stderr for people watching a shell, and when stderr is a terminal a
    /// progress line and tables are shown there too ([`Terminal::from_env`]).
    pub fn stdout() -> Self {
        let mut e = Self::new(Box::new(io::stdout()));
        e.logs_to_stderr = true;
        e.terminal = Terminal::from_env();
        e
    }

    /// An emitter that writes no message: its LOG lines go to stderr as text
    /// (for commands whose stdout is not protocol messages, like `import-config`).
    pub fn logs_to_stderr_only() -> Self {
        let mut e = Self::new(Box::new(io::sink()));
        e.logs_to_stderr = true;
        e
    }

    /// An emitter writing to any sink (tests, files).
    pub fn new(sink: Box<dyn Write + Send>) -> Self {
        Emitter {
            out: BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, sink),
            secrets: Secrets::none(),
            logs_to_stderr: false,
            records: 0,
            started: None,
            terminal: None,
        }
    }

    /// Shows the progress line and tables on `terminal` (tests; the stdout
    /// emitter finds its own).
    pub fn with_terminal(mut self, terminal: Terminal) -> Self {
        self.logs_to_stderr = true;
        self.terminal = Some(terminal);
        self
    }

    /// The display of a person at a shell, when stderr is a terminal: `None`
    /// for an orchestrator, a pipe or a file (then nothing is shown).
    pub fn terminal(&self) -> Option<&Terminal> {
        self.terminal.as_ref()
    }

    /// Shows `text` (a table, a summary) on the terminal, above the progress
    /// line; nothing when stderr is not a terminal. Never on stdout.
    pub fn show(&self, text: &str) {
        if let Some(t) = &self.terminal {
            t.note(&self.secrets.mask(text));
        }
    }

    /// The secrets to mask from now on.
    pub fn set_secrets(&mut self, secrets: Secrets) {
        self.secrets = secrets;
    }

    /// The secrets being masked.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// Writes one message. RECORDs are buffered; anything else is flushed.
    /// The text of LOG, TRACE and CONNECTION_STATUS messages is masked for
    /// secrets (string values only: a message's keys stay valid). RECORD,
    /// STATE, CATALOG, SPEC and CONTROL messages carry data, schemas and
    /// configs, which are passed as they are.
    pub fn emit(&mut self, message: &AirbyteMessage) -> io::Result<()> {
        let mut line = serde_json::to_string(message).map_err(io::Error::other)?;
        if let AirbyteMessage::Record { .. } = message {
            self.records += 1;
            self.out.write_all(line.as_bytes())?;
            self.out.write_all(b"\n")?;
            return self.running_after_first_record();
        }
        if let AirbyteMessage::Trace { trace } = message {
            if let Some(s) = &trace.stream_status {
                self.started = (s.status == StreamStatus::Started).then(|| s.stream_descriptor.clone());
            }
        }
        let masked = matches!(
            message,
            AirbyteMessage::Log { .. } | AirbyteMessage::Trace { .. } | AirbyteMessage::ConnectionStatus { .. }
        );
        if masked && self.secrets.appear_in(&line) {
            let mut value = serde_json::to_value(message).map_err(io::Error::other)?;
            self.secrets.mask_value(&mut value);
            line = serde_json::to_string(&value).map_err(io::Error::other)?;
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    /// Writes pre-serialised RECORD lines (each ending in `\n`) as they are.
    /// `count` is how many lines the bytes hold.
    pub fn record_lines(&mut self, bytes: &[u8], count: u64) -> io::Result<()> {
        self.records += count;
        if count > 0 && self.started.is_some() {
            let first = bytes.iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| i + 1);
            self.out.write_all(&bytes[..first])?;
            self.running_after_first_record()?;
            return self.write_lines(&bytes[first..]);
        }
        self.write_lines(bytes)
    }

    /// Writes lines already gathered by the caller: a chunk of at least
    /// [`DIRECT_BYTES`] goes straight to the sink, after what is buffered,
    /// rather than through the buffer (a copy of every byte less).
    fn write_lines(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.len() < DIRECT_BYTES {
            return self.out.write_all(bytes);
        }
        self.out.flush()?;
        self.out.get_mut().write_all(bytes)
    }

    /// TRACE STREAM_STATUS `RUNNING` once the first record of a stream
    /// reported STARTED is out.
    fn running_after_first_record(&mut self) -> io::Result<()> {
        match self.started.take() {
            Some(stream) => self.trace(TraceMessage::stream_status(stream, StreamStatus::Running)),
            None => Ok(()),
        }
    }

    /// How many records were written.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Writes a LOG message (and a line on stderr when writing to stdout).
    pub fn log(&mut self, level: LogLevel, message: impl AsRef<str>) -> io::Result<()> {
        let text = self.secrets.mask(message.as_ref()).into_owned();
        if self.logs_to_stderr {
            match &self.terminal {
                Some(t) => t.note(&format!("{}: {text}", level_name(level))),
                None => eprintln!("{}: {text}", level_name(level)),
            }
        }
        self.emit(&AirbyteMessage::Log {
            log: LogMessage {
                level,
                message: text,
                stack_trace: None,
            },
        })
    }

    /// A LOG at INFO.
    pub fn info(&mut self, message: impl AsRef<str>) -> io::Result<()> {
        self.log(LogLevel::Info, message)
    }

    /// A LOG at WARN.
    pub fn warn(&mut self, message: impl AsRef<str>) -> io::Result<()> {
        self.log(LogLevel::Warn, message)
    }

    /// Writes a TRACE message.
    pub fn trace(&mut self, trace: TraceMessage) -> io::Result<()> {
        self.emit(&AirbyteMessage::Trace { trace })
    }

    /// Flushes buffered records.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn level_name(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Fatal => "FATAL",
        LogLevel::Error => "ERROR",
        LogLevel::Warn => "WARN",
        LogLevel::Info => "INFO",
        LogLevel::Debug => "DEBUG",
        LogLevel::Trace => "TRACE",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn logs_are_masked_and_one_per_line() {
        let sink = Shared::default();
        let mut e = Emitter::new(Box::new(sink.clone()));
        let mut s = Secrets::none();
        s.add("TOPSECRET");
        e.set_secrets(s);
        e.warn("key TOPSECRET rejected").unwrap();
        e.record_lines(b"{\"type\":\"RECORD\"}\n", 1).unwrap();
        e.flush().unwrap();
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains("key ********** rejected"), "{}", lines[0]);
        assert_eq!(e.records_written(), 1);
    }

    /// Chunks of every size, buffered or written straight through, come
    /// out in the order they were given, with the messages between them.
    #[test]
    fn small_and_large_chunks_keep_their_order() {
        let sink = Shared::default();
        let mut e = Emitter::new(Box::new(sink.clone()));
        let line = |n: usize| format!("{{\"n\":{n}}}\n");
        let chunk = |from: usize, bytes: usize| {
            let mut text = String::new();
            let mut n = from;
            while text.len() < bytes {
                text.push_str(&line(n));
                n += 1;
            }
            text
        };
        let mut expected = String::new();
        e.trace(TraceMessage::stream_status(
            StreamDescriptor::new("s"),
            StreamStatus::Started,
        ))
        .unwrap();
        for (i, size) in [10, DIRECT_BYTES + 7, 100, 3 * DIRECT_BYTES, DIRECT_BYTES - 1, 5]
            .into_iter()
            .enumerate()
        {
            let text = chunk(i * 1_000_000, size);
            e.record_lines(text.as_bytes(), text.lines().count() as u64).unwrap();
            expected.push_str(&text);
        }
        e.flush().unwrap();
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let records: String = out
            .lines()
            .filter(|l| !l.contains("STREAM_STATUS"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(records, expected);
        // STARTED, the first record, RUNNING, then the rest.
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].contains("STARTED") && lines[2].contains("RUNNING"),
            "{:?}",
            &lines[..3]
        );
        assert_eq!(lines[1], line(0).trim_end());
        assert_eq!(e.records_written(), expected.lines().count() as u64);
    }

    #[test]
    fn running_follows_a_started_streams_first_record_once() {
        let sink = Shared::default();
        let mut e = Emitter::new(Box::new(sink.clone()));
        let s = StreamDescriptor::new("s");
        e.trace(TraceMessage::stream_status(s.clone(), StreamStatus::Started))
            .unwrap();
        e.record_lines(b"{\"n\":1}\n{\"n\":2}\n", 2).unwrap();
        e.record_lines(b"{\"n\":3}\n", 1).unwrap();
        e.trace(TraceMessage::stream_status(s.clone(), StreamStatus::Complete))
            .unwrap();
        // A stream without records: no RUNNING.
        e.trace(TraceMessage::stream_status(
            StreamDescriptor::new("t"),
            StreamStatus::Started,
        ))
        .unwrap();
        e.trace(TraceMessage::stream_status(
            StreamDescriptor::new("t"),
            StreamStatus::Complete,
        ))
        .unwrap();
        e.flush().unwrap();
        let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let kinds: Vec<String> = out
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                match v["trace"]["stream_status"]["status"].as_str() {
                    Some(st) => format!(
                        "{}:{st}",
                        v["trace"]["stream_status"]["stream_descriptor"]["name"]
                            .as_str()
                            .unwrap()
                    ),
                    None => format!("n{}", v["n"]),
                }
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "s:STARTED",
                "n1",
                "s:RUNNING",
                "n2",
                "n3",
                "s:COMPLETE",
                "t:STARTED",
                "t:COMPLETE"
            ]
        );
    }
}
