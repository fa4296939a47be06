//! The emitter (masking per message type, flushing, record counts) and the
//! shared command line (every command of each role, usage errors).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use lakeport_protocol::cli::{self, Invocation, Role};
use lakeport_protocol::message::{ControlMessage, LogLevel};
use lakeport_protocol::{
    AirbyteCatalog, AirbyteMessage, ConnectionStatus, Emitter, Flavour, Secrets, StateMessage, StreamDescriptor,
};
use serde_json::{json, Value};

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

impl Shared {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn emitter_with_secret(secret: &str) -> (Emitter, Shared) {
    let sink = Shared::default();
    let mut e = Emitter::new(Box::new(sink.clone()));
    let mut s = Secrets::none();
    s.add(secret);
    e.set_secrets(s);
    (e, sink)
}

#[test]
fn status_and_log_texts_are_masked_but_data_and_configs_are_not() {
    let (mut e, sink) = emitter_with_secret("AKIASECRETVALUE");
    assert!(e.secrets().appear_in("AKIASECRETVALUE"));
    e.emit(&AirbyteMessage::ConnectionStatus {
        connection_status: ConnectionStatus::failed("key AKIASECRETVALUE was refused"),
    })
    .unwrap();
    e.log(LogLevel::Error, "AKIASECRETVALUE").unwrap();
    // A STATE or CONTROL carries data the platform stores: passed as it is.
    e.emit(&AirbyteMessage::State {
        state: StateMessage::stream(StreamDescriptor::new("s"), json!({"cursor": "AKIASECRETVALUE"}), 3),
    })
    .unwrap();
    e.emit(&AirbyteMessage::Control {
        control: ControlMessage::connector_config(json!({"secret_key": "AKIASECRETVALUE"})),
    })
    .unwrap();
    e.emit(&AirbyteMessage::Catalog {
        catalog: AirbyteCatalog::default(),
    })
    .unwrap();
    let lines = sink.lines();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["connectionStatus"]["status"], "FAILED");
    assert_eq!(lines[0]["connectionStatus"]["message"], "key ********** was refused");
    assert_eq!(lines[1]["log"], json!({"level": "ERROR", "message": "**********"}));
    assert_eq!(lines[2]["state"]["stream"]["stream_state"]["cursor"], "AKIASECRETVALUE");
    assert_eq!(lines[2]["state"]["sourceStats"]["recordCount"], 3.0);
    assert_eq!(
        lines[3]["control"]["connectorConfig"]["config"]["secret_key"],
        "AKIASECRETVALUE"
    );
    assert_eq!(lines[3]["control"]["type"], "CONNECTOR_CONFIG");
    assert_eq!(lines[4], json!({"type": "CATALOG", "catalog": {"streams": []}}));
}

#[test]
fn records_are_counted_and_only_flushed_on_demand() {
    let sink = Shared::default();
    let mut e = Emitter::new(Box::new(sink.clone()));
    let record = AirbyteMessage::Record {
        record: serde_json::from_value(json!({"stream": "s", "data": {"n": 1}, "emitted_at": 5})).unwrap(),
    };
    e.emit(&record).unwrap();
    e.emit(&record).unwrap();
    assert_eq!(e.records_written(), 2);
    assert!(sink.0.lock().unwrap().is_empty(), "records wait in the buffer");
    e.info("flushes").unwrap();
    let lines = sink.lines();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["record"]["data"], json!({"n": 1}));
    assert_eq!(lines[2]["log"]["level"], "INFO");
}

#[test]
fn every_log_level_is_written() {
    let sink = Shared::default();
    let mut e = Emitter::new(Box::new(sink.clone()));
    for level in [
        LogLevel::Fatal,
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ] {
        e.log(level, "m").unwrap();
    }
    let levels: Vec<Value> = sink.lines().iter().map(|l| l["log"]["level"].clone()).collect();
    assert_eq!(
        levels,
        json!(["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"])
            .as_array()
            .unwrap()
            .clone()
    );
}

#[test]
fn a_stderr_only_emitter_writes_no_message() {
    let mut e = Emitter::logs_to_stderr_only();
    e.warn("to stderr").unwrap();
    e.record_lines(b"{}\n", 1).unwrap();
    e.flush().unwrap();
    assert_eq!(e.records_written(), 1);
}

#[test]
fn flavour_names_are_the_command_line_spellings() {
    let names: Vec<&str> = [
        Flavour::Auto,
        Flavour::Native,
        Flavour::Legacy,
        Flavour::Airbyte,
        Flavour::Fivetran,
    ]
    .iter()
    .map(|f| f.name())
    .collect();
    assert_eq!(names, ["auto", "native", "legacy", "airbyte", "fivetran"]);
}

#[test]
fn every_command_of_each_role_parses() {
    let src = Role::Source { estimate: false };
    assert_eq!(
        cli::parse("s", "1", src, ["s", "check", "--config", "c.json"]).unwrap(),
        Invocation::Check {
            config: "c.json".into()
        }
    );
    assert_eq!(
        cli::parse("s", "1", src, ["s", "discover", "--config", "c.json"]).unwrap(),
        Invocation::Discover {
            config: "c.json".into()
        }
    );
    assert_eq!(
        cli::parse(
            "s",
            "1",
            Role::Source { estimate: true },
            [
                "s",
                "estimate",
                "--config",
                "c",
                "--catalog",
                "k",
                "--state",
                "st",
                "--debug"
            ]
        )
        .unwrap(),
        Invocation::Estimate {
            config: "c".into(),
            catalog: Some("k".into()),
            state: Some("st".into())
        }
    );
    assert_eq!(
        cli::parse(
            "d",
            "1",
            Role::Destination,
            ["d", "write", "--config", "c", "--catalog", "k"]
        )
        .unwrap(),
        Invocation::Write {
            config: "c".into(),
            catalog: Some("k".into())
        }
    );
    // import-config without --from detects the flavour.
    assert_eq!(
        cli::parse("s", "1", src, ["s", "import-config", "old.json"]).unwrap(),
        Invocation::ImportConfig {
            from: Flavour::Auto,
            file: "old.json".into()
        }
    );
    for flavour in ["native", "legacy", "airbyte"] {
        let inv = cli::parse("s", "1", src, ["s", "import-config", "--from", flavour, "f"]).unwrap();
        assert!(matches!(inv, Invocation::ImportConfig { from, .. } if from.name() == flavour));
    }
}

#[test]
fn usage_errors_and_help() {
    let src = Role::Source { estimate: false };
    // A destination has no read, a source no write.
    assert!(cli::parse("d", "1", Role::Destination, ["d", "read", "--config", "c"]).is_err());
    // An unknown flavour is refused by name.
    let e = cli::parse("s", "1", src, ["s", "import-config", "--from", "dbt", "f"]).unwrap_err();
    assert!(e.to_string().contains("dbt"), "{e}");
    assert!(e.use_stderr());
    // No command: the help, on stderr (a usage error).
    let e = cli::parse("s", "1", src, ["s"]).unwrap_err();
    assert!(e.to_string().contains("Usage"), "{e}");
    // --version prints on stdout and succeeds.
    let e = cli::parse("s", "9.9", src, ["s", "--version"]).unwrap_err();
    assert!(!e.use_stderr());
    assert_eq!(e.to_string(), "s 9.9\n");
    // The command lists the hidden --debug nowhere.
    let help = cli::command("s", "1", src).render_long_help().to_string();
    assert!(!help.contains("--debug"), "{help}");
    assert!(help.contains("stdout carries protocol messages only"), "{help}");
}
