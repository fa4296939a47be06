//! The error model and catalog helpers: what a TRACE ERROR carries, how an
//! I/O error is classified, cursors and stream lookup in a catalog.

use lakeport_protocol::message::FailureType;
use lakeport_protocol::{
    AirbyteCatalog, AirbyteMessage, AirbyteStream, ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, ConnectorError,
    StreamDescriptor, SyncMode,
};
use serde_json::json;

fn stream(name: &str, namespace: Option<&str>, default_cursor: Option<Vec<String>>) -> AirbyteStream {
    AirbyteStream {
        name: name.into(),
        json_schema: json!({"type": "object"}),
        supported_sync_modes: vec![SyncMode::FullRefresh, SyncMode::Incremental],
        source_defined_cursor: None,
        default_cursor_field: default_cursor,
        source_defined_primary_key: None,
        namespace: namespace.map(str::to_string),
        is_resumable: None,
    }
}

#[test]
fn constructors_set_the_failure_type() {
    assert_eq!(ConnectorError::config("c").failure_type, FailureType::ConfigError);
    assert_eq!(ConnectorError::transient("t").failure_type, FailureType::TransientError);
    assert_eq!(ConnectorError::system("s").failure_type, FailureType::SystemError);
    assert_eq!(ConnectorError::system("shown").to_string(), "shown");
}

#[test]
fn the_trace_carries_message_internal_type_and_stream() {
    let e = ConnectorError::transient("S3 is slow; retry.")
        .with_internal("503 SlowDown")
        .with_stream(StreamDescriptor {
            name: "orders".into(),
            namespace: Some("shop".into()),
        });
    let line = serde_json::to_value(AirbyteMessage::Trace {
        trace: lakeport_protocol::TraceMessage::error(e.to_trace()),
    })
    .unwrap();
    let err = &line["trace"]["error"];
    assert_eq!(err["message"], "S3 is slow; retry.");
    assert_eq!(err["internal_message"], "503 SlowDown");
    assert_eq!(err["failure_type"], "transient_error");
    assert_eq!(err["stream_descriptor"], json!({"name": "orders", "namespace": "shop"}));
    assert_eq!(line["trace"]["type"], "ERROR");

    let cleared = e.clone().with_internal_opt(None);
    assert_eq!(cleared.internal, None);
    assert!(cleared.to_trace().internal_message.is_none());
    let set = ConnectorError::config("x").with_internal_opt(Some("why".into()));
    assert_eq!(set.to_trace().internal_message.as_deref(), Some("why"));
}

#[test]
fn io_errors_are_system_errors_and_a_broken_pipe_is_recognised() {
    let e: ConnectorError = std::io::Error::new(std::io::ErrorKind::BrokenPipe, "pipe").into();
    assert!(e.is_broken_pipe());
    assert_eq!(e.failure_type, FailureType::SystemError);
    assert_eq!(
        e.message,
        "The output was closed before the connector finished (broken pipe)."
    );
    let e: ConnectorError = std::io::Error::other("disk on fire").into();
    assert!(!e.is_broken_pipe());
    assert_eq!(e.message, "I/O error: disk on fire");
}

#[test]
fn the_effective_cursor_is_the_users_else_the_default() {
    let mut c = ConfiguredAirbyteStream::full_refresh(stream("a", None, Some(vec!["updated".into()])));
    assert_eq!(c.effective_cursor(), Some(&["updated".to_string()][..]));
    c.cursor_field = Some(vec!["mine".into()]);
    assert_eq!(c.effective_cursor(), Some(&["mine".to_string()][..]));
    // An empty choice falls back to the default; an empty default is none.
    c.cursor_field = Some(vec![]);
    assert_eq!(c.effective_cursor(), Some(&["updated".to_string()][..]));
    c.stream.default_cursor_field = Some(vec![]);
    assert_eq!(c.effective_cursor(), None);
}

#[test]
fn full_refresh_of_a_catalog_appends_every_stream_and_find_uses_the_namespace() {
    let catalog = AirbyteCatalog {
        streams: vec![
            stream("a", None, None),
            stream("a", Some("n"), None),
            stream("b", None, None),
        ],
    };
    let configured = ConfiguredAirbyteCatalog::full_refresh_of(catalog);
    assert_eq!(configured.streams.len(), 3);
    assert!(configured
        .streams
        .iter()
        .all(|s| s.sync_mode == SyncMode::FullRefresh && s.cursor_field.is_none()));
    assert_eq!(
        configured.find("a", Some("n")).unwrap().stream.namespace.as_deref(),
        Some("n")
    );
    assert!(configured.find("a", None).unwrap().stream.namespace.is_none());
    assert!(configured.find("b", Some("n")).is_none());
    // Same name, different namespaces: not a repetition.
    assert!(configured.check_no_repeated_streams().is_ok());
}

#[test]
fn a_stream_named_twice_is_refused_before_reading() {
    let configured = ConfiguredAirbyteCatalog::full_refresh_of(AirbyteCatalog {
        streams: vec![stream("users", None, None), stream("users", None, None)],
    });
    let e = configured.check_no_repeated_streams().unwrap_err();
    assert_eq!(e.failure_type, FailureType::ConfigError);
    assert_eq!(
        e.message,
        "The catalog names stream 'users' twice; list each stream once."
    );
}

#[test]
fn a_configured_stream_without_destination_sync_mode_appends() {
    let c: ConfiguredAirbyteStream = serde_json::from_value(json!({
        "stream": {"name": "s", "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "incremental"
    }))
    .unwrap();
    assert_eq!(c.destination_sync_mode, lakeport_protocol::DestinationSyncMode::Append);
    assert_eq!(c.sync_mode, SyncMode::Incremental);
    assert_eq!(c.stream.descriptor(), StreamDescriptor::new("s"));
}

#[test]
fn an_analytics_trace_serialises_as_the_models_spell_it() {
    let before = lakeport_protocol::now_millis() as f64;
    let t = lakeport_protocol::TraceMessage::analytics(lakeport_protocol::AnalyticsTrace {
        analytics_type: "cache_hit".into(),
        value: Some(json!(3)),
    });
    assert!(t.emitted_at >= before);
    let v = serde_json::to_value(AirbyteMessage::Trace { trace: t }).unwrap();
    assert_eq!(v["trace"]["type"], "ANALYTICS");
    assert_eq!(v["trace"]["analytics"], json!({"type": "cache_hit", "value": 3}));
    assert!(v["trace"].get("error").is_none());
}
