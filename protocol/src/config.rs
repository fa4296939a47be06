//! Reading a config file and validating it against the connector's
//! `connectionSpecification`.

use std::path::Path;

use serde_json::Value;

use crate::error::ConnectorError;

/// Reads and parses a JSON file (config, catalog, state), with errors that
/// say which file, what is wrong and where.
pub fn read_json_file(path: &Path, what: &str) -> Result<Value, ConnectorError> {
    let text = read_text_file(path, what)?;
    serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
        ConnectorError::config(format!(
            "The {what} file '{}' is not valid JSON: {} at line {}, column {}. Fix the file and run again.",
            path.display(),
            describe_json_error(&e),
            e.line(),
            e.column()
        ))
    })
}

/// Reads a text file with errors that say which file and what to do.
pub fn read_text_file(path: &Path, what: &str) -> Result<String, ConnectorError> {
    std::fs::read_to_string(path).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist; check the path passed to the command".to_string(),
            std::io::ErrorKind::PermissionDenied => {
                "cannot be read (permission denied); check its permissions".to_string()
            }
            std::io::ErrorKind::InvalidData => "is not UTF-8 text; save it as UTF-8 JSON".to_string(),
            _ => format!("cannot be read: {e}"),
        };
        ConnectorError::config(format!("The {what} file '{}' {why}.", path.display()))
    })
}

fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde_json appends " at line L column C"; we report position separately.
    match text.find(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// Validates `config` against a draft-07 JSON Schema. The error names each
/// offending field and the rule it broke.
pub fn validate_config(schema: &Value, config: &Value) -> Result<(), ConnectorError> {
    validate_config_named(schema, config, &[])
}

/// [`validate_config`] for a config mapped from another flavour:
/// `key_names` holds (native key, key as the user wrote it) pairs, both as
/// paths from their config's root (`streams[0].csv_delimiter`,
/// `streams[0].format.delimiter`). An offending field that was renamed is
/// named as the user wrote it, with its native name: "field 'file_type'
/// (native 'file_format')".
pub fn validate_config_named(
    schema: &Value,
    config: &Value,
    key_names: &[(String, String)],
) -> Result<(), ConnectorError> {
    let validator = jsonschema::draft7::new(schema)
        .map_err(|e| ConnectorError::system(format!("The connector's own spec is not a valid JSON Schema: {e}")))?;
    let problems: Vec<String> = validator
        .iter_errors(config)
        .map(|err| {
            let path = pointer_to_field(&err.instance_path().to_string());
            if path.is_empty() {
                format!("{err}")
            } else {
                match user_key(&path, key_names) {
                    Some(user) => format!("field '{user}' (native '{path}'): {err}"),
                    None => format!("field '{path}': {err}"),
                }
            }
        })
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(ConnectorError::config(format!(
        "The config is invalid: {}. Fix these fields (run `spec` to see every field and its rules).",
        problems.join("; ")
    )))
}

/// The key as the user wrote it for native field `path` (`streams[0].globs[1]`):
/// the renamed key at `path` or at the nearest enclosing field, with the rest
/// of the path kept (`streams[0].format.globs[1]`); `None` when no enclosing
/// field was renamed.
fn user_key(path: &str, key_names: &[(String, String)]) -> Option<String> {
    let mut cut = path.len();
    loop {
        let head = &path[..cut];
        if let Some((_, user)) = key_names.iter().find(|(native, _)| native == head) {
            return Some(format!("{user}{}", &path[cut..]));
        }
        cut = head.rfind(['.', '['])?;
    }
}

/// `/streams/0/name` → `streams[0].name`.
fn pointer_to_field(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').filter(|s| !s.is_empty()) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_field_and_rule() {
        let schema = json!({"type":"object","required":["bucket"],
            "properties":{"bucket":{"type":"string"},"batch_size":{"type":"integer","minimum":1},
            "streams":{"type":"array","items":{"type":"object","properties":{"name":{"type":"string"}}}}}});
        let e = validate_config(&schema, &json!({"bucket":"b","batch_size":"ten"})).unwrap_err();
        assert!(e.message.contains("field 'batch_size'"), "{}", e.message);
        assert!(e.message.contains("integer"), "{}", e.message);
        let e = validate_config(&schema, &json!({})).unwrap_err();
        assert!(e.message.contains("\"bucket\" is a required property"), "{}", e.message);
        let e = validate_config(&schema, &json!({"bucket":"b","streams":[{"name":3}]})).unwrap_err();
        assert!(e.message.contains("streams[0].name"), "{}", e.message);
        assert!(validate_config(&schema, &json!({"bucket":"b"})).is_ok());
    }

    #[test]
    fn names_the_key_as_the_user_wrote_it() {
        let schema = json!({"type":"object",
            "properties":{"file_format":{"type":"string","enum":["csv","parquet"]},"bucket":{"type":"string"},
            "streams":{"type":"array","items":{"type":"object","properties":{
                "csv_delimiter":{"type":"string"},"globs":{"type":"array","items":{"type":"string"}}}}}}});
        let names = vec![
            ("file_format".to_string(), "config.file_type".to_string()),
            (
                "streams[0].csv_delimiter".to_string(),
                "streams[0].format.delimiter".to_string(),
            ),
            ("streams[1].globs".to_string(), "files[1].file_pattern".to_string()),
        ];
        let config = json!({"file_format":"xlsx","bucket":3,
            "streams":[{"csv_delimiter":5},{"globs":["a",7]}]});
        let e = validate_config_named(&schema, &config, &names).unwrap_err();
        let m = &e.message;
        assert!(
            m.contains("field 'config.file_type' (native 'file_format'): \"xlsx\" is not one of"),
            "{m}"
        );
        assert!(
            m.contains("field 'streams[0].format.delimiter' (native 'streams[0].csv_delimiter')"),
            "{m}"
        );
        assert!(
            m.contains("field 'files[1].file_pattern[1]' (native 'streams[1].globs[1]')"),
            "{m}"
        );
        assert!(m.contains("field 'bucket': 3 is not of type"), "{m}");
        // Without names, the native names only.
        let e = validate_config(&schema, &config).unwrap_err();
        assert!(e.message.contains("field 'file_format':"), "{}", e.message);
    }

    #[test]
    fn file_errors_are_specific() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.json");
        let e = read_json_file(&missing, "config").unwrap_err();
        assert!(e.message.contains("does not exist"), "{}", e.message);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\n  \"a\": 1,\n  oops\n}").unwrap();
        let e = read_json_file(&bad, "config").unwrap_err();
        assert!(e.message.contains("line 3"), "{}", e.message);
    }
}
