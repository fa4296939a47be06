//! What a destination's input says of the source's read: the TRACE
//! STREAM_STATUS messages the platform forwards, and any TRACE ERROR. A
//! refresh removes a stream's older data only when nothing says the stream
//! failed or did not finish.

use std::collections::HashMap;

use lakeport_protocol::StreamDescriptor;
use serde::Deserialize;

/// What the input said of a stream's read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    /// STARTED or RUNNING: the read was under way.
    Reading,
    /// COMPLETE.
    Complete,
    /// INCOMPLETE.
    Incomplete,
}

/// The stream statuses and errors of the input so far.
#[derive(Debug, Default)]
pub struct SourceStatuses {
    /// The last status per stream.
    statuses: HashMap<StreamDescriptor, Status>,
    /// Whether a TRACE ERROR came (the source failed).
    failed: bool,
}

/// The parts of an input TRACE line looked at.
#[derive(Deserialize)]
struct InputTrace {
    trace: TraceBody,
}

#[derive(Deserialize)]
struct TraceBody {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    stream_status: Option<InputStreamStatus>,
}

#[derive(Deserialize)]
struct InputStreamStatus {
    stream_descriptor: StreamDescriptor,
    status: String,
}

impl SourceStatuses {
    /// Notes what a TRACE line of the input says (other lines, and TRACE
    /// lines of other kinds, change nothing).
    pub fn note(&mut self, line: &str) {
        let Ok(t) = serde_json::from_str::<InputTrace>(line) else {
            return;
        };
        match (t.trace.kind.as_str(), t.trace.stream_status) {
            ("ERROR", _) => self.failed = true,
            ("STREAM_STATUS", Some(s)) => {
                let status = match s.status.as_str() {
                    "COMPLETE" => Status::Complete,
                    "INCOMPLETE" => Status::Incomplete,
                    _ => Status::Reading,
                };
                self.statuses.insert(s.stream_descriptor, status);
            }
            _ => {}
        }
    }

    /// Why the stream's read cannot count as complete, if the input said
    /// so; `None` when it said COMPLETE, or nothing (a shell pipe, or a
    /// client that forwards no statuses).
    pub fn not_complete(&self, stream: &StreamDescriptor) -> Option<&'static str> {
        if self.failed {
            return Some("the input carried a TRACE ERROR (the source failed)");
        }
        match self.statuses.get(stream) {
            Some(Status::Incomplete) => Some("the source reported the stream INCOMPLETE"),
            Some(Status::Reading) => Some("the input ended before the source reported the stream COMPLETE"),
            Some(Status::Complete) | None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(name: &str, s: &str) -> String {
        format!(
            r#"{{"type":"TRACE","trace":{{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{{"stream_descriptor":{{"name":"{name}"}},"status":"{s}"}}}}}}"#
        )
    }

    #[test]
    fn only_a_stream_the_input_left_unfinished_is_not_complete() {
        let mut s = SourceStatuses::default();
        let (a, b, c) = (
            StreamDescriptor::new("a"),
            StreamDescriptor::new("b"),
            StreamDescriptor::new("c"),
        );
        for line in [status("a", "STARTED"), status("a", "RUNNING"), status("a", "COMPLETE")] {
            s.note(&line);
        }
        s.note(&status("b", "STARTED"));
        assert_eq!(s.not_complete(&a), None);
        assert!(s.not_complete(&b).is_some());
        assert_eq!(s.not_complete(&c), None, "no status at all: as a shell pipe");
        s.note(&status("b", "INCOMPLETE"));
        assert!(s.not_complete(&b).unwrap().contains("INCOMPLETE"));
        s.note(r#"{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"x"}}}"#);
        assert!(s.not_complete(&a).is_some());
    }
}
