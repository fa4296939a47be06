//! Per-stream state as a source receives it through `--state`.
//!
//! The input is read liberally; each of these works, and the last state per
//! stream wins:
//!
//! - a JSON array of state objects as Airbyte passes them
//!   (`[{"type":"STREAM","stream":{…}}, …]`);
//! - the same wrapped as full messages (`{"type":"STATE","state":{…}}`), as an
//!   array or as JSON lines — e.g. a destination's output saved as it is
//!   (other message types on those lines are ignored);
//! - a single state object;
//! - a legacy state object (anything else that is a JSON object), usually keyed
//!   by stream name.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalog::StreamDescriptor;
use crate::message::{StateMessage, StateType};

/// The state a source starts from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputState {
    streams: BTreeMap<StreamDescriptor, Value>,
    shared: Option<Value>,
    legacy: Option<Value>,
}

impl InputState {
    /// Parses any of the accepted shapes. An empty text is an empty state.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim_start_matches('\u{feff}').trim();
        let mut state = InputState::default();
        if text.is_empty() {
            return Ok(state);
        }
        let items: Vec<Value> = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items,
            Ok(v) => vec![v],
            Err(whole_err) => {
                // JSON lines: one message or state per line.
                let mut items = Vec::new();
                for (n, line) in text.lines().enumerate() {
                    let line = line.trim();
                    if line.is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Value>(line) {
                        Ok(v) => items.push(v),
                        Err(e) => {
                            return Err(if n == 0 {
                                format!("it is not valid JSON ({whole_err})")
                            } else {
                                format!("line {} is not valid JSON ({e})", n + 1)
                            })
                        }
                    }
                }
                items
            }
        };
        for item in items {
            state.absorb(item)?;
        }
        Ok(state)
    }

    fn absorb(&mut self, item: Value) -> Result<(), String> {
        let Value::Object(ref obj) = item else {
            return Err(format!("expected a JSON object or an array of objects, found {item}"));
        };
        match obj.get("type").and_then(Value::as_str) {
            Some("STATE") => match obj.get("state") {
                Some(inner) => return self.absorb(inner.clone()),
                None => return Err("a STATE message has no \"state\" field".into()),
            },
            Some("RECORD" | "LOG" | "TRACE" | "CONTROL" | "SPEC" | "CATALOG" | "CONNECTION_STATUS") => return Ok(()),
            _ => {}
        }
        let looks_like_state = matches!(
            obj.get("type").and_then(Value::as_str),
            Some("STREAM" | "GLOBAL" | "LEGACY")
        ) || obj.contains_key("stream")
            && obj.get("stream").is_some_and(|s| s.get("stream_descriptor").is_some())
            || obj.contains_key("global") && obj.get("global").is_some_and(|g| g.get("stream_states").is_some());
        if !looks_like_state {
            self.legacy = Some(item);
            return Ok(());
        }
        let msg: StateMessage =
            serde_json::from_value(item).map_err(|e| format!("a state object does not follow the protocol: {e}"))?;
        match msg.state_type {
            Some(StateType::Global) => {
                if let Some(global) = msg.global {
                    self.shared = global.shared_state;
                    for s in global.stream_states {
                        self.put(s.stream_descriptor, s.stream_state);
                    }
                }
            }
            Some(StateType::Legacy) | None if msg.stream.is_none() => {
                self.legacy = msg.data;
            }
            _ => {
                if let Some(s) = msg.stream {
                    self.put(s.stream_descriptor, s.stream_state);
                }
            }
        }
        Ok(())
    }

    fn put(&mut self, descriptor: StreamDescriptor, state: Option<Value>) {
        match state {
            Some(v) => {
                self.streams.insert(descriptor, v);
            }
            None => {
                self.streams.remove(&descriptor);
            }
        }
    }

    /// The saved state of a stream: its per-stream state, else its entry in a
    /// legacy state object keyed by stream name.
    pub fn stream(&self, descriptor: &StreamDescriptor) -> Option<&Value> {
        self.streams.get(descriptor).or_else(|| {
            self.legacy
                .as_ref()
                .and_then(|l| l.get(&descriptor.name))
                .filter(|v| v.is_object())
        })
    }

    /// The shared part of a GLOBAL state.
    pub fn shared(&self) -> Option<&Value> {
        self.shared.as_ref()
    }

    /// The legacy state object, if one was given.
    pub fn legacy(&self) -> Option<&Value> {
        self.legacy.as_ref()
    }

    /// Every stream with a per-stream state.
    pub fn streams(&self) -> impl Iterator<Item = (&StreamDescriptor, &Value)> {
        self.streams.iter()
    }

    /// True when nothing was given.
    pub fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.shared.is_none() && self.legacy.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(name: &str) -> StreamDescriptor {
        StreamDescriptor::new(name)
    }

    #[test]
    fn array_of_stream_states() {
        let s = InputState::parse(
            r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1}}},
                {"type":"STREAM","stream":{"stream_descriptor":{"name":"b"},"stream_state":{"c":2}}}]"#,
        )
        .unwrap();
        assert_eq!(s.stream(&d("a")), Some(&json!({"c":1})));
        assert_eq!(s.stream(&d("b")), Some(&json!({"c":2})));
    }

    #[test]
    fn destination_output_lines_last_wins() {
        let text = r#"{"type":"LOG","log":{"level":"INFO","message":"x"}}
{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1}},"destinationStats":{"recordCount":3}}}
{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":5}}}}
"#;
        let s = InputState::parse(text).unwrap();
        assert_eq!(s.stream(&d("a")), Some(&json!({"c":5})));
    }

    #[test]
    fn wrapped_messages_in_an_array() {
        let s = InputState::parse(
            r#"[{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a","namespace":"n"},"stream_state":{"c":1}}}}]"#,
        )
        .unwrap();
        let desc = StreamDescriptor {
            name: "a".into(),
            namespace: Some("n".into()),
        };
        assert_eq!(s.stream(&desc), Some(&json!({"c":1})));
        assert_eq!(s.stream(&d("a")), None);
    }

    #[test]
    fn single_state_and_global() {
        let s = InputState::parse(
            r#"{"type":"GLOBAL","global":{"shared_state":{"x":1},"stream_states":[{"stream_descriptor":{"name":"a"},"stream_state":{"c":9}}]}}"#,
        )
        .unwrap();
        assert_eq!(s.shared(), Some(&json!({"x":1})));
        assert_eq!(s.stream(&d("a")), Some(&json!({"c":9})));
    }

    #[test]
    fn legacy_object_keyed_by_stream() {
        let s = InputState::parse(r#"{"users":{"history":{"k":"2024-01-01T00:00:00.000000Z"}}}"#).unwrap();
        assert!(s.legacy().is_some());
        assert_eq!(
            s.stream(&d("users")),
            Some(&json!({"history":{"k":"2024-01-01T00:00:00.000000Z"}}))
        );
    }

    #[test]
    fn empty_and_invalid() {
        assert!(InputState::parse("  \n").unwrap().is_empty());
        assert!(InputState::parse("{nope").unwrap_err().contains("not valid JSON"));
        assert!(InputState::parse("[1]").is_err());
    }
}
