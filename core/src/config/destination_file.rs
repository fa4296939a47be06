//! destination-file configs in every flavour (CONTRACT §4) mapped to the
//! native config: native/legacy names, and Airbyte's destination-local-json
//! and destination-csv (`destination_path`, plus `delimiter_type` for CSV),
//! which map to `airbyte_raw: true` (Airbyte's raw-table file layout).
//!
//! `destination_path` keeps Airbyte's meaning: a directory inside the
//! `/local` mount (`/local/json_data`; `json_data` and `/json_data` mean the
//! same). destination-file resolves `/local` when it writes (see its
//! `raw` module).

use lakeport_protocol::Flavour;
use serde_json::{json, Map, Value};

use super::mapping::{as_text, object, rename_legacy, unknown_flavour, used_legacy, Mapped, Mapper};
use crate::error::{Error, Result};

/// Legacy name → native name for destination-file, in precedence order.
pub const DESTINATION_FILE_LEGACY_NAMES: &[(&str, &str)] = &[("file_format", "format")];

/// Native keys of destination-file.
const NATIVE_KEYS: &[&str] = &[
    "base_path",
    "format",
    "compression",
    "overwrite",
    "file_size_mb",
    "partition_by",
    "metadata_columns",
    "csv_delimiter",
    "airbyte_raw",
];

const EXPECTED: &[&str] = &[
    "native: {\"base_path\", \"format\", \"compression\", …}",
    "Airbyte destination-local-json: {\"destination_path\"}",
    "Airbyte destination-csv: {\"destination_path\", \"delimiter_type\": {\"delimiter\": …}}",
];

/// Maps a destination-file config written in any flavour (`from`, or
/// detected when [`Flavour::Auto`]) to the native config, with a note per key.
pub fn to_native_destination_file(raw: &Value, from: Flavour) -> Result<Mapped> {
    let map = object(raw)?;
    match from {
        Flavour::Fivetran => Err(Error::Config(
            "destination-file does not read Fivetran configs: Fivetran destinations are warehouses, not files. Write the config with native keys (see `spec`).".into(),
        )),
        Flavour::Airbyte => airbyte(map),
        Flavour::Auto if map.contains_key("destination_path") => airbyte(map),
        Flavour::Native => Ok(native(map, false)),
        Flavour::Legacy => Ok(native(map, true)),
        Flavour::Auto => {
            let known = map.keys().any(|k| {
                NATIVE_KEYS.contains(&k.as_str()) || DESTINATION_FILE_LEGACY_NAMES.iter().any(|(old, _)| old == k)
            });
            if known {
                Ok(native(map, true))
            } else {
                Err(unknown_flavour("destination-file", EXPECTED))
            }
        }
    }
}

fn native(map: &Map<String, Value>, legacy: bool) -> Mapped {
    let mut config = map.clone();
    let names = if legacy { DESTINATION_FILE_LEGACY_NAMES } else { &[] };
    let notes = rename_legacy(&mut config, names);
    Mapped {
        config: Value::Object(config),
        flavour: if used_legacy(&notes) {
            Flavour::Legacy
        } else {
            Flavour::Native
        },
        notes,
    }
}

/// An Airbyte delimiter as written (`\u002c`, `\t`, or the character).
fn delimiter(text: &str) -> String {
    match text {
        "\\t" | "tab" => "\t".into(),
        t if t.len() == 6 && t.starts_with("\\u") => u32::from_str_radix(&t[2..], 16)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_else(|| t.to_string()),
        t => t.to_string(),
    }
}

/// Airbyte's reading of `destination_path`: a path inside the `/local`
/// mount. A path not under `/local` is put under it (`/data` and `data` both
/// mean `/local/data`), and a path that leaves `/local` once normalised is
/// refused, as Airbyte's destination-local-json / destination-csv do.
fn airbyte_local_path(text: &str) -> Result<String> {
    let under_local = text == "/local" || text.starts_with("/local/");
    let joined = if under_local {
        text.to_string()
    } else {
        format!("/local/{text}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    if parts.first() != Some(&"local") {
        return Err(Error::Config(format!(
            "destination_path '{text}' leaves the /local directory; Airbyte's local destinations write inside /local only. Remove the '..' segments."
        )));
    }
    Ok(format!("/{}", parts.join("/")))
}

fn airbyte(map: &Map<String, Value>) -> Result<Mapped> {
    let mut m = Mapper::new(map, "");
    m.keep_native(NATIVE_KEYS);
    match m.take("destination_path") {
        Some(v) => {
            let text = as_text(v).ok_or_else(|| {
                Error::Config(
                    "destination_path must be a string: the directory under /local the raw files go to.".into(),
                )
            })?;
            m.set("destination_path", "base_path", json!(airbyte_local_path(&text)?));
        }
        None if !m.out.contains_key("base_path") => {
            return Err(Error::Config(
                "destination_path is required: the directory Airbyte's raw files are written to.".into(),
            ))
        }
        None => {}
    }
    let csv = map.contains_key("delimiter_type");
    if let Some(d) = m.take("delimiter_type") {
        match d.get("delimiter").and_then(as_text) {
            Some(text) => m.set("delimiter_type.delimiter", "csv_delimiter", json!(delimiter(&text))),
            None => m.ignore("delimiter_type", "a comma (the default)"),
        }
    }
    m.out
        .entry("format")
        .or_insert(json!(if csv { "csv" } else { "jsonl" }));
    m.out.entry("airbyte_raw").or_insert(Value::Bool(true));
    let (out, notes) = m.finish("not a known option of Airbyte's destination-local-json / destination-csv");
    Ok(Mapped {
        config: Value::Object(out),
        flavour: Flavour::Airbyte,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_delimiters() {
        assert_eq!(delimiter("\\u002c"), ",");
        assert_eq!(delimiter("\\u003b"), ";");
        assert_eq!(delimiter("\\t"), "\t");
        let m = to_native_destination_file(
            &json!({"destination_path": "/local/x", "delimiter_type": {"delimiter": "\\u003b"}}),
            Flavour::Auto,
        )
        .unwrap();
        assert_eq!(
            m.config,
            json!({"base_path": "/local/x", "format": "csv", "csv_delimiter": ";", "airbyte_raw": true})
        );
        assert!(m.warnings().is_empty(), "{:?}", m.warnings());
        assert_eq!(
            m.native_key_names(),
            vec![
                ("base_path".to_string(), "destination_path".to_string()),
                ("csv_delimiter".to_string(), "delimiter_type.delimiter".to_string())
            ]
        );
    }

    #[test]
    fn destination_path_stays_inside_local() {
        assert_eq!(airbyte_local_path("/local/json_data").unwrap(), "/local/json_data");
        assert_eq!(airbyte_local_path("/local").unwrap(), "/local");
        assert_eq!(airbyte_local_path("json_data").unwrap(), "/local/json_data");
        assert_eq!(airbyte_local_path("/tmp/out/").unwrap(), "/local/tmp/out");
        assert_eq!(airbyte_local_path("/localx").unwrap(), "/local/localx");
        assert_eq!(airbyte_local_path("/local/a/../b/./c").unwrap(), "/local/b/c");
        assert!(airbyte_local_path("/local/../etc").is_err());
        assert!(airbyte_local_path("../../etc").is_err());
    }
}
