//! The parsers a connector builds its [`super::plan::ReadPlan`] with: each
//! turns a config value as written into its typed form, or a config_error
//! that names the key and shows a valid value.

use chrono::{DateTime, Utc};
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use lakeport_protocol::ConnectorError;
use regex::Regex;
use serde_json::{json, Map, Value};

use super::plan::ValidationPolicy;
use crate::formats::{Compression, FileFormat};
use crate::time::parse_timestamp;

impl ValidationPolicy {
    /// Parses `validation_policy` (`emit`, `skip`, `wait`, or Airbyte's
    /// "Emit Record", "Skip Record", "Wait for Discover"); unset: emit.
    pub fn parse(s: Option<&str>) -> Result<Self, ConnectorError> {
        match s
            .map(|s| s.trim().to_ascii_lowercase().replace([' ', '-'], "_"))
            .as_deref()
        {
            None | Some("") | Some("emit") | Some("emit_record") => Ok(ValidationPolicy::Emit),
            Some("skip") | Some("skip_record") => Ok(ValidationPolicy::Skip),
            Some("wait") | Some("wait_for_discover") => Ok(ValidationPolicy::Wait),
            Some(other) => Err(ConnectorError::config(format!(
                "validation_policy: '{other}' is not a policy; use 'emit', 'skip' or 'wait'."
            ))),
        }
    }
}

/// Compiles `key_pattern`; an invalid one is a config_error naming the key.
pub fn key_regex(pattern: Option<&str>) -> Result<Option<Regex>, ConnectorError> {
    match pattern.map(str::trim) {
        None | Some("") => Ok(None),
        Some(p) => Regex::new(p).map(Some).map_err(|e| {
            ConnectorError::config(format!(
                "key_pattern: '{p}' is not a valid regular expression: {e}. Write it like 'landing/.*\\.csv$'."
            ))
        }),
    }
}

/// Parses `input_schema`: a JSON string holding a JSON Schema object
/// (`{"type": "object", "properties": …}`) or Airbyte's `{"column": "type"}`
/// mapping (types `string`, `integer`, `number`, `boolean`, `object`, `array`,
/// `null`). Returns a JSON Schema object; `None` for an empty one.
pub fn parse_input_schema(text: Option<&str>) -> Result<Option<Value>, ConnectorError> {
    let text = match text.map(str::trim) {
        None | Some("") => return Ok(None),
        Some(t) => t,
    };
    let bad = |why: String| {
        ConnectorError::config(format!(
            "input_schema: {why}. Write a JSON Schema object or a mapping like {{\"id\": \"integer\", \"name\": \"string\"}}."
        ))
    };
    let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
    let Value::Object(map) = value else {
        return Err(bad("not a JSON object".into()));
    };
    if map.is_empty() {
        return Ok(None);
    }
    if map.contains_key("properties") || map.get("type").and_then(Value::as_str) == Some("object") {
        return Ok(Some(Value::Object(map)));
    }
    let mut properties = Map::new();
    for (name, ty) in map {
        let t = match ty.as_str().map(|t| t.trim().to_ascii_lowercase()) {
            Some(t) if ["string", "integer", "number", "boolean", "object", "array", "null"].contains(&t.as_str()) => t,
            _ => return Err(bad(format!("column '{name}' has type {ty}, which is not one of string, integer, number, boolean, object, array, null"))),
        };
        let schema = if t == "null" {
            json!({"type": "null"})
        } else {
            json!({"type": ["null", t]})
        };
        properties.insert(name, schema);
    }
    Ok(Some(json!({"type": "object", "properties": properties})))
}

/// Parses `file_format`: `None` (unset, empty or `auto`) means by extension.
pub fn parse_format(s: Option<&str>) -> Result<Option<FileFormat>, ConnectorError> {
    match s.map(str::trim) {
        None | Some("") | Some("auto") => Ok(None),
        Some(f) => f
            .parse()
            .map(Some)
            .map_err(|e: crate::Error| ConnectorError::config(format!("file_format: {e}"))),
    }
}

/// Parses `compression`: `None` (unset, empty or `auto`) means detected.
pub fn parse_compression(s: Option<&str>) -> Result<Option<Compression>, ConnectorError> {
    match s.map(str::trim) {
        None | Some("") | Some("auto") => Ok(None),
        Some(c) => c
            .parse()
            .map(Some)
            .map_err(|e: crate::Error| ConnectorError::config(format!("compression: {e}"))),
    }
}

/// Compiles glob patterns matched against whole keys: `*` stays within one
/// folder, `**` crosses folders.
pub fn glob_set(patterns: &[String]) -> Result<Option<GlobSet>, ConnectorError> {
    if patterns.is_empty() {
        return Ok(None);
    }
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = GlobBuilder::new(p.trim_start_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| {
                ConnectorError::config(format!(
                    "globs: '{p}' is not a valid glob: {e}. Use patterns such as 'data/*.csv' or 'events/**/*.parquet'."
                ))
            })?;
        b.add(glob);
    }
    b.build()
        .map(Some)
        .map_err(|e| ConnectorError::config(format!("globs are not valid: {e}")))
}

/// Glob patterns written relative to `folder` (a prefix: `""` or ending in
/// `/`; a leading `./` or `/` ignored) as patterns on whole keys for
/// [`glob_set`]: `folder` + the pattern, and for a pattern without `/` also
/// `folder**/` + the pattern, so `*.csv` matches at any depth as `find
/// -name` does (`**/` matches no folder too). `key`: the config key, for
/// the error of an invalid pattern.
pub fn relative_globs(key: &str, patterns: &[String], folder: &str) -> Result<Vec<String>, ConnectorError> {
    let folder = globset::escape(folder);
    let mut out = Vec::new();
    for p in patterns {
        GlobBuilder::new(p).build().map_err(|e| {
            ConnectorError::config(format!(
                "{key} '{p}' is not a valid glob: {e}. Use patterns such as '*.csv' or '**/*.parquet'."
            ))
        })?;
        let relative = p.trim_start_matches("./").trim_start_matches('/');
        out.push(format!("{folder}{relative}"));
        if !p.contains('/') {
            out.push(format!("{folder}**/{relative}"));
        }
    }
    Ok(out)
}

/// The literal start of a glob pattern (before its first wildcard).
fn literal_prefix(pattern: &str) -> &str {
    let end = pattern.find(['*', '?', '[', '{', '\\']).unwrap_or(pattern.len());
    &pattern[..end]
}

/// The listing prefix: `path_prefix`, or else the longest prefix every glob
/// starts with (so `events/2024/**` lists only `events/2024/`).
pub fn listing_prefix(path_prefix: &str, patterns: &[String]) -> String {
    let path_prefix = path_prefix.trim_start_matches('/');
    if !path_prefix.is_empty() || patterns.is_empty() {
        return path_prefix.to_string();
    }
    let mut common: Option<&str> = None;
    for p in patterns {
        let lit = literal_prefix(p.trim_start_matches('/'));
        common = Some(match common {
            None => lit,
            Some(c) => {
                let n = c.bytes().zip(lit.bytes()).take_while(|(a, b)| a == b).count();
                &c[..n]
            }
        });
    }
    // Cut back to a char boundary (the common byte prefix may split a char).
    let mut s = common.unwrap_or("").to_string();
    while !s.is_empty() && std::str::from_utf8(s.as_bytes()).is_err() {
        s.pop();
    }
    s
}

/// Parses `start_date`; unset or empty: none.
pub fn parse_start_date(start_date: Option<&str>) -> Result<Option<DateTime<Utc>>, ConnectorError> {
    match start_date.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_timestamp(s).map(Some).ok_or_else(|| {
            ConnectorError::config(format!(
                "start_date '{s}' is not a date-time: write it like \"2024-01-01T00:00:00Z\" or \"2024-01-01\"."
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_come_from_globs() {
        assert_eq!(listing_prefix("data/", &["x/**".into()]), "data/");
        assert_eq!(listing_prefix("", &["events/2024/**/*.csv".into()]), "events/2024/");
        assert_eq!(
            listing_prefix("", &["events/2024/*.csv".into(), "events/2023/*.csv".into()]),
            "events/202"
        );
        assert_eq!(listing_prefix("", &["*.csv".into()]), "");
        assert_eq!(listing_prefix("", &[]), "");
    }

    #[test]
    fn globs_match_whole_keys() {
        let g = glob_set(&["data/*.csv".into(), "logs/**/*.jsonl".into()])
            .unwrap()
            .unwrap();
        assert!(g.is_match("data/a.csv"));
        assert!(!g.is_match("data/sub/a.csv"));
        assert!(g.is_match("logs/2024/01/x.jsonl"));
        assert!(g.is_match("logs/x.jsonl"));
        assert!(glob_set(&["[".into()]).is_err());
    }

    #[test]
    fn relative_globs_match_under_the_folder_and_bare_names_at_any_depth() {
        let set = |patterns: &[&str], dir: &str| {
            let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
            glob_set(&relative_globs("glob_pattern", &patterns, dir).unwrap())
                .unwrap()
                .unwrap()
        };
        let g = set(&["*.csv"], "data/");
        assert!(g.is_match("data/x.csv") && g.is_match("data/a/b/x.csv"));
        assert!(!g.is_match("other/x.csv") && !g.is_match("data/x.json"));
        for pattern in ["a/*.csv", "./a/*.csv", "/a/*.csv"] {
            let g = set(&[pattern], "data/");
            assert!(g.is_match("data/a/x.csv"), "{pattern}");
            assert!(!g.is_match("data/a/b/x.csv") && !g.is_match("data/x.csv"), "{pattern}");
        }
        let g = set(&["./*.csv"], "");
        assert!(g.is_match("x.csv") && !g.is_match("a/x.csv"));
        let g = set(&["*.csv"], "we[ir]d/");
        assert!(g.is_match("we[ir]d/x.csv") && !g.is_match("wed/x.csv"));
        let e = relative_globs("glob_pattern", &["[".into()], "").unwrap_err();
        assert!(e.to_string().contains("glob_pattern '['"), "{e}");
    }

    #[test]
    fn input_schema_accepts_json_schema_and_airbyte_mappings() {
        let s = parse_input_schema(Some(r#"{"id": "integer", "name": "STRING"}"#))
            .unwrap()
            .unwrap();
        assert_eq!(s["properties"]["id"]["type"], json!(["null", "integer"]));
        assert_eq!(s["properties"]["name"]["type"], json!(["null", "string"]));
        let full = r#"{"type": "object", "properties": {"a": {"type": "number"}}}"#;
        assert_eq!(
            parse_input_schema(Some(full)).unwrap().unwrap()["properties"]["a"]["type"],
            "number"
        );
        assert_eq!(parse_input_schema(Some("{}")).unwrap(), None);
        assert_eq!(parse_input_schema(Some(" ")).unwrap(), None);
        for bad in ["not json", "[1]", r#"{"id": "int64"}"#] {
            let e = parse_input_schema(Some(bad)).unwrap_err();
            assert!(e.to_string().contains("input_schema"), "{e}");
        }
    }

    #[test]
    fn validation_policies_and_key_patterns_parse() {
        assert_eq!(ValidationPolicy::parse(None).unwrap(), ValidationPolicy::Emit);
        assert_eq!(
            ValidationPolicy::parse(Some("Skip Record")).unwrap(),
            ValidationPolicy::Skip
        );
        assert_eq!(
            ValidationPolicy::parse(Some("Wait for Discover")).unwrap(),
            ValidationPolicy::Wait
        );
        assert!(ValidationPolicy::parse(Some("later")).is_err());
        assert!(key_regex(Some(r"landing/(?<table>\w+)/.*")).unwrap().is_some());
        assert!(key_regex(Some("")).unwrap().is_none());
        let e = key_regex(Some("a(")).unwrap_err();
        assert!(e.to_string().contains("key_pattern"), "{e}");
    }
}
