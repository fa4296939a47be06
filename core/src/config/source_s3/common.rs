//! Helpers the flavour mappings of source-s3 share: endpoints, Airbyte file
//! types, the finished mapping.

use lakeport_protocol::Flavour;
use serde_json::Value;

use crate::config::mapping::{as_bool, as_text, Mapped, Mapper};
use crate::error::{Error, Result};

/// An endpoint as written by Airbyte: `http://` means no TLS; a bare host
/// gets `https://` (`http://` when the same object says `use_ssl: false`).
pub(super) fn set_endpoint(m: &mut Mapper<'_>, key: &str) {
    let Some(v) = m.take(key) else { return };
    let Some(text) = as_text(v) else {
        m.drop_key(key, "not a string");
        return;
    };
    let plain = m.src().get("use_ssl").and_then(as_bool) == Some(false);
    let url = if text.contains("://") {
        text
    } else if plain {
        format!("http://{text}")
    } else {
        format!("https://{text}")
    };
    if url.starts_with("http://") && !m.out.contains_key("use_ssl") {
        m.out.insert("use_ssl".into(), Value::Bool(false));
    }
    m.set(key, "endpoint_url", Value::String(url));
}

/// The mapping done: the native config, read as `flavour`; every key not
/// handled is dropped with `why`.
pub(super) fn finish(m: Mapper<'_>, flavour: Flavour, why: &str) -> Mapped {
    let (out, notes) = m.finish(why);
    Mapped {
        config: Value::Object(out),
        flavour,
        notes,
    }
}

/// The native `file_format` of an Airbyte `format.filetype`; an
/// unsupported one is a config error naming the key at `path` (with `hint`
/// appended).
pub(super) fn airbyte_filetype(filetype: &str, path: &str, hint: &str) -> Result<&'static str> {
    match filetype.to_ascii_lowercase().as_str() {
        "csv" => Ok("csv"),
        "jsonl" => Ok("jsonl"),
        "parquet" => Ok("parquet"),
        "avro" => Ok("avro"),
        other => Err(Error::Config(format!(
            "{path}format.filetype '{other}' is not supported by Lakeport (csv, jsonl, parquet and avro are).{hint}"
        ))),
    }
}
