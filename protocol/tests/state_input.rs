//! `--state` input: every accepted shape and every rejected one, with the
//! reason the user is given.

use lakeport_protocol::{InputState, StreamDescriptor};
use serde_json::json;

fn d(name: &str) -> StreamDescriptor {
    StreamDescriptor::new(name)
}

#[test]
fn a_bad_line_after_the_first_is_named_by_its_number() {
    let text = "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"a\"},\"stream_state\":{\"c\":1}}}}\n\n{\"type\":\"STATE\",\"state\":{oops}\n";
    let e = InputState::parse(text).unwrap_err();
    assert!(e.starts_with("line 3 is not valid JSON ("), "{e}");
}

#[test]
fn a_state_message_without_state_is_rejected() {
    let e = InputState::parse(r#"{"type":"STATE"}"#).unwrap_err();
    assert_eq!(e, "a STATE message has no \"state\" field");
}

#[test]
fn a_stream_state_that_breaks_the_protocol_is_rejected() {
    // Typed as a STREAM state, but its descriptor has no name.
    let e = InputState::parse(r#"{"type":"STREAM","stream":{"stream_descriptor":{"namespace":"n"}}}"#).unwrap_err();
    assert!(e.starts_with("a state object does not follow the protocol: "), "{e}");
    assert!(e.contains("name"), "{e}");
}

#[test]
fn scalars_are_rejected_with_what_was_found() {
    let e = InputState::parse("42").unwrap_err();
    assert_eq!(e, "expected a JSON object or an array of objects, found 42");
    let e = InputState::parse(r#"["x"]"#).unwrap_err();
    assert_eq!(e, "expected a JSON object or an array of objects, found \"x\"");
}

#[test]
fn other_message_types_are_ignored() {
    let text = r#"{"type":"RECORD","record":{"stream":"a","data":{},"emitted_at":1}}
{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"m"}}}
{"type":"SPEC","spec":{"connectionSpecification":{}}}
"#;
    let s = InputState::parse(text).unwrap();
    assert!(s.is_empty());
}

#[test]
fn a_null_stream_state_forgets_the_stream() {
    let s = InputState::parse(
        r#"[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":1}}},
            {"type":"STREAM","stream":{"stream_descriptor":{"name":"b"},"stream_state":{"c":2}}},
            {"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}}}]"#,
    )
    .unwrap();
    assert_eq!(s.stream(&d("a")), None);
    let all: Vec<_> = s.streams().map(|(k, v)| (k.name.clone(), v.clone())).collect();
    assert_eq!(all, vec![("b".to_string(), json!({"c": 2}))]);
    assert!(!s.is_empty());
}

#[test]
fn a_typed_legacy_state_holds_its_data() {
    let s = InputState::parse(r#"{"type":"LEGACY","data":{"users":{"cursor":5},"note":"x"}}"#).unwrap();
    assert_eq!(s.legacy(), Some(&json!({"users":{"cursor":5},"note":"x"})));
    assert_eq!(s.stream(&d("users")), Some(&json!({"cursor": 5})));
    // A legacy entry that is not an object is no stream's state.
    assert_eq!(s.stream(&d("note")), None);
    assert_eq!(s.shared(), None);
}

#[test]
fn a_global_state_recognised_by_shape_without_type() {
    let s = InputState::parse(
        r#"{"global":{"stream_states":[{"stream_descriptor":{"name":"a","namespace":"ns"},"stream_state":{"c":3}}]},"type":"GLOBAL"}"#,
    )
    .unwrap();
    assert_eq!(s.shared(), None);
    let desc = StreamDescriptor {
        name: "a".into(),
        namespace: Some("ns".into()),
    };
    assert_eq!(s.stream(&desc), Some(&json!({"c": 3})));
    // An untyped per-stream state, recognised by its stream_descriptor.
    let s = InputState::parse(r#"{"stream":{"stream_descriptor":{"name":"z"},"stream_state":{"k":1}}}"#).unwrap();
    assert_eq!(s.stream(&d("z")), Some(&json!({"k": 1})));
    assert_eq!(s.legacy(), None);
}

#[test]
fn a_byte_order_mark_is_ignored() {
    let s = InputState::parse(
        "\u{feff}[{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"a\"},\"stream_state\":{\"c\":1}}}]",
    )
    .unwrap();
    assert_eq!(s.stream(&d("a")), Some(&json!({"c": 1})));
}
