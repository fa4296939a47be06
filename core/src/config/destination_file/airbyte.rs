//! Airbyte destination-local-json and destination-csv configs
//! (`destination_path`, plus `delimiter_type` for CSV), mapped to
//! `airbyte_raw: true`.

use lakeport_protocol::Flavour;
use serde_json::{json, Map, Value};

use super::legacy::NATIVE_KEYS;
use crate::config::mapping::{as_text, Mapped, Mapper};
use crate::error::{Error, Result};

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

/// Maps an Airbyte destination-local-json or destination-csv config.
pub(super) fn map(map: &Map<String, Value>) -> Result<Mapped> {
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
