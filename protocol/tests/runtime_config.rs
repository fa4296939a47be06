//! The runtime's config path, on a small connector declared here: a config
//! file is read, mapped from its flavour, validated, its secrets registered
//! with the emitter, the mapping announced (a CONTROL message, or a WARN when
//! the config holds secrets), and deserialised; and the defaults of the
//! `Connector` trait (native configs only, the `import-config` key table).

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use lakeport_protocol::message::{ConnectorSpecification, FailureType};
use lakeport_protocol::runtime::key_table_text;
use lakeport_protocol::{load_config, Connector, ConnectorError, Emitter, Flavour, MigratedConfig};
use serde::Deserialize;
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

fn spec() -> ConnectorSpecification {
    serde_json::from_value(json!({"connectionSpecification": {
        "type": "object", "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string"},
            "batch_size": {"type": "integer", "minimum": 1},
            "api_password": {"type": "string", "airbyte_secret": true}
        }
    }}))
    .unwrap()
}

/// Reads native configs only (the trait's default mapping).
struct NativeOnly;

impl Connector for NativeOnly {
    const NAME: &'static str = "native-only";
    const VERSION: &'static str = "0.0.1";
    fn spec(&self) -> ConnectorSpecification {
        spec()
    }
}

/// Renames the legacy key `bucket_name` to `bucket`.
struct Renaming;

impl Connector for Renaming {
    const NAME: &'static str = "renaming";
    const VERSION: &'static str = "0.0.1";
    fn spec(&self) -> ConnectorSpecification {
        spec()
    }
    fn migrate_config(&self, raw: Value, _from: Flavour, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
        let mut obj = raw.as_object().cloned().unwrap_or_default();
        let Some(bucket) = obj.remove("bucket_name") else {
            return Ok(MigratedConfig::new(Value::Object(obj), Flavour::Native));
        };
        out.warn("bucket_name is the legacy name of bucket")?;
        obj.insert("bucket".into(), bucket);
        let mut m = MigratedConfig::new(Value::Object(obj), Flavour::Legacy);
        m.key_names.push(("bucket".into(), "bucket_name".into()));
        Ok(m)
    }
}

#[derive(Debug, Deserialize, PartialEq)]
struct Config {
    bucket: String,
    #[serde(default)]
    batch_size: Option<u32>,
}

fn write(dir: &tempfile::TempDir, v: &Value) -> std::path::PathBuf {
    let p = dir.path().join("config.json");
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

#[test]
fn a_native_config_loads_and_announces_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, &json!({"bucket": "b", "batch_size": 5}));
    let sink = Shared::default();
    let mut out = Emitter::new(Box::new(sink.clone()));
    let c: Config = load_config(&Renaming, &p, &mut out, true).unwrap();
    assert_eq!(
        c,
        Config {
            bucket: "b".into(),
            batch_size: Some(5)
        }
    );
    assert!(sink.lines().is_empty());
}

#[test]
fn a_mapped_config_without_secrets_is_sent_back_as_control() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, &json!({"bucket_name": "b"}));
    let sink = Shared::default();
    let mut out = Emitter::new(Box::new(sink.clone()));
    let c: Config = load_config(&Renaming, &p, &mut out, true).unwrap();
    assert_eq!(c.bucket, "b");
    let lines = sink.lines();
    assert_eq!(lines[0]["log"]["level"], "WARN");
    assert_eq!(lines[1]["type"], "CONTROL");
    assert_eq!(lines[1]["control"]["connectorConfig"]["config"], json!({"bucket": "b"}));
    // Without the announcement (discover, write), only the mapping's WARN.
    let sink = Shared::default();
    let mut out = Emitter::new(Box::new(sink.clone()));
    let _: Config = load_config(&Renaming, &p, &mut out, false).unwrap();
    assert_eq!(sink.lines().len(), 1);
}

#[test]
fn a_mapped_config_with_secrets_is_not_sent_back() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, &json!({"bucket_name": "b", "api_password": "hunter2hunter2"}));
    let sink = Shared::default();
    let mut out = Emitter::new(Box::new(sink.clone()));
    let _: Config = load_config(&Renaming, &p, &mut out, true).unwrap();
    let lines = sink.lines();
    assert!(lines.iter().all(|l| l["type"] != "CONTROL"), "{lines:?}");
    let warn = lines[1]["log"]["message"].as_str().unwrap();
    assert_eq!(
        warn,
        "This legacy config was read as a native one. It holds secrets, so it is not sent back as a CONTROL message; run `renaming import-config FILE` to convert the file once."
    );
    // The secret is registered for masking from now on.
    assert!(out.secrets().appear_in("hunter2hunter2"));
}

#[test]
fn a_validation_error_names_the_key_as_written_and_masks_nothing_it_should_not() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, &json!({"bucket_name": 7}));
    let mut out = Emitter::new(Box::new(Shared::default()));
    let e = load_config::<_, Config>(&Renaming, &p, &mut out, true).unwrap_err();
    assert_eq!(e.failure_type, FailureType::ConfigError);
    assert!(
        e.message
            .contains("field 'bucket_name' (native 'bucket'): 7 is not of type \"string\""),
        "{}",
        e.message
    );
}

#[test]
fn a_config_the_schema_accepts_but_the_type_does_not_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    // batch_size fits the schema (an integer >= 1) but not a u32.
    let p = write(&dir, &json!({"bucket": "b", "batch_size": 5_000_000_000u64}));
    let mut out = Emitter::new(Box::new(Shared::default()));
    let e = load_config::<_, Config>(&NativeOnly, &p, &mut out, false).unwrap_err();
    assert!(e.message.starts_with("The config is invalid: "), "{}", e.message);
    assert!(
        e.message
            .ends_with("Fix the field and run again (run `spec` to see every field)."),
        "{}",
        e.message
    );
}

#[test]
fn the_default_mapping_reads_native_configs_only() {
    let mut out = Emitter::new(Box::new(Shared::default()));
    let m = NativeOnly
        .migrate_config(json!({"bucket": "b"}), Flavour::Auto, &mut out)
        .unwrap();
    assert_eq!(m.flavour, Flavour::Native);
    assert!(m.key_names.is_empty());
    let e = NativeOnly
        .migrate_config(json!({"bucket": "b"}), Flavour::Fivetran, &mut out)
        .unwrap_err();
    assert_eq!(
        e.message,
        "native-only does not read fivetran configs; write the config with its native keys (see `native-only spec`)."
    );
}

#[test]
fn the_default_import_table_marks_renamed_keys() {
    let mut out = Emitter::new(Box::new(Shared::default()));
    let imported = Renaming
        .import_mapping(json!({"bucket_name": "b", "batch_size": 2}), Flavour::Auto, &mut out)
        .unwrap();
    assert_eq!(imported.migrated.config, json!({"batch_size": 2, "bucket": "b"}));
    assert_eq!(
        imported.table,
        vec![
            (
                "bucket_name".to_string(),
                "renamed or dropped (see the WARN lines)".to_string()
            ),
            ("batch_size".to_string(), "batch_size".to_string()),
        ]
    );
    let text = key_table_text(&imported.table);
    assert_eq!(
        text,
        "source key   native key\n\
         -----------  ----------\n\
         bucket_name  renamed or dropped (see the WARN lines)\n\
         batch_size   batch_size\n"
    );
    // No rows: the header alone, as wide as its title.
    assert_eq!(key_table_text(&[]), "source key  native key\n----------  ----------\n");
}

impl lakeport_protocol::Source for NativeOnly {
    type Config = Config;

    async fn check(
        &self,
        _config: &Config,
        _out: &mut Emitter,
    ) -> Result<lakeport_protocol::ConnectionStatus, ConnectorError> {
        Err(ConnectorError::system("check is not part of this test"))
    }

    async fn discover(
        &self,
        _config: &Config,
        _out: &mut Emitter,
    ) -> Result<lakeport_protocol::AirbyteCatalog, ConnectorError> {
        Err(ConnectorError::system("discover is not part of this test"))
    }

    async fn read(
        &self,
        _config: &Config,
        _catalog: &lakeport_protocol::ConfiguredAirbyteCatalog,
        _state: &lakeport_protocol::InputState,
        _out: &mut Emitter,
    ) -> Result<(), ConnectorError> {
        Err(ConnectorError::system("read is not part of this test"))
    }
}

#[test]
fn a_source_without_estimate_says_so() {
    use lakeport_protocol::Source;
    const { assert!(!<NativeOnly as Source>::SUPPORTS_ESTIMATE) };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut out = Emitter::new(Box::new(Shared::default()));
    let config = Config {
        bucket: "b".into(),
        batch_size: None,
    };
    let e = rt
        .block_on(NativeOnly.estimate(&config, &Default::default(), &Default::default(), &mut out))
        .unwrap_err();
    assert_eq!(e.failure_type, FailureType::ConfigError);
    assert_eq!(e.message, "native-only has no estimate command.");
}
