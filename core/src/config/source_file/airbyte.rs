//! Airbyte source-file configs: `dataset_name`, `format`, `url`,
//! `provider{storage}`, and `reader_options` (a JSON string of pandas
//! `read_csv` options).

use lakeport_protocol::Flavour;
use serde_json::{json, Map, Value};

use super::legacy::NATIVE_KEYS;
use crate::config::mapping::{as_count, as_text, KeyNote, Mapped, Mapper};
use crate::error::{Error, Result};

/// Keys only Airbyte's source-file uses.
pub(super) const AIRBYTE_KEYS: &[&str] = &["dataset_name", "url", "provider", "reader_options"];

/// Maps an Airbyte source-file config.
pub(super) fn map(map: &Map<String, Value>) -> Result<Mapped> {
    let mut m = Mapper::new(map, "");
    m.keep_native(NATIVE_KEYS);
    m.rename("dataset_name", "stream_name");
    let format = m
        .take("format")
        .and_then(as_text)
        .unwrap_or_else(|| "csv".into())
        .to_ascii_lowercase();
    match format.as_str() {
        "csv" | "json" | "jsonl" | "parquet" => {
            if map.contains_key("format") {
                m.set("format", "format", json!(format));
            } else {
                m.out.insert("format".into(), json!("csv"));
            }
        }
        other => {
            return Err(Error::Config(format!(
                "format '{other}' of this Airbyte source-file config is not supported by Lakeport (csv, json, jsonl and parquet are). Convert the file, then set format."
            )))
        }
    }
    let storage = map
        .get("provider")
        .and_then(|p| p.get("storage"))
        .and_then(as_text)
        .unwrap_or_else(|| "local".into());
    if let Some(provider) = m.take("provider") {
        let empty = Map::new();
        let provider = provider.as_object().unwrap_or(&empty);
        let mut p = Mapper::new(provider, "provider.");
        match storage.to_ascii_lowercase().as_str() {
            "local" => p.ignore("storage", "local files are read from url"),
            "s3" => {
                p.ignore("storage", "an s3:// url is read with the S3 keys");
                p.rename("aws_access_key_id", "access_key_id");
                p.rename("aws_secret_access_key", "secret_access_key");
            }
            _ => {
                return Err(Error::Config(format!(
                    "provider.storage '{storage}' is not supported by source-file: only local files and S3 are read. Download the file, or use storage 'local' or 'S3'."
                )))
            }
        }
        p.ignore("user_agent", "only used for HTTPS downloads");
        m.merge_finished(p, "not a known option of Airbyte's provider");
    }
    if let Some(url) = m.take("url") {
        let url = as_text(url).unwrap_or_default();
        let path = url.strip_prefix("file://").unwrap_or(&url).to_string();
        if storage.eq_ignore_ascii_case("s3") && !path.starts_with("s3://") {
            return Err(Error::Config(format!(
                "url must be an s3://bucket/key URL with provider.storage 'S3', got '{path}'."
            )));
        }
        m.set("url", "file_path", json!(path));
    }
    if let Some(opts) = m.take("reader_options") {
        let parsed = match opts {
            Value::Object(o) => o.clone(),
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Object(o)) => o,
                Ok(_) | Err(_) => return Err(Error::Config(
                    "reader_options must be a JSON object written as a string, like {\"sep\": \";\", \"header\": 0}."
                        .into(),
                )),
            },
            _ => {
                return Err(Error::Config(
                    "reader_options must be a JSON object written as a string.".into(),
                ));
            }
        };
        reader_options(&mut m, &parsed)?;
    }
    m.out.entry("json_flatten").or_insert(Value::Bool(false));
    let (out, notes) = m.finish("not a known option of Airbyte source-file");
    Ok(Mapped {
        config: Value::Object(out),
        flavour: Flavour::Airbyte,
        notes,
    })
}

/// Maps pandas `read_csv` options (Airbyte's `reader_options`).
fn reader_options(m: &mut Mapper<'_>, opts: &Map<String, Value>) -> Result<()> {
    let mut o = Mapper::new(opts, "reader_options.");
    o.rename_first(&["sep", "delimiter"], "csv_delimiter", 2);
    o.rename("encoding", "csv_encoding");
    o.rename("quotechar", "csv_quote_char");
    o.rename("escapechar", "csv_escape_char");
    if let Some(v) = o.take("na_values") {
        let list = match v {
            Value::Array(_) => v.clone(),
            other => json!([as_text(other).unwrap_or_default()]),
        };
        o.set("na_values", "csv_null_values", list);
    }
    let mut before: u64 = 0;
    let mut header_row: Option<u64> = None;
    let header_given = opts.contains_key("header");
    match opts.get("header") {
        Some(Value::Null) => {
            o.consume("header");
            o.set("header", "csv_header", Value::Bool(false));
        }
        Some(v) if as_text(v).is_some_and(|s| s == "infer") => {
            o.ignore("header", "the first row is the header (the default)")
        }
        Some(v) => match as_count(v) {
            Some(n) => {
                o.consume("header");
                header_row = Some(n);
                if n > 0 {
                    before += n;
                    o.notes.push(KeyNote::Mapped {
                        from: "reader_options.header".into(),
                        to: "csv_skip_rows_before_header".into(),
                    });
                } else {
                    o.ignore("header", "the first row is the header (the default)");
                }
            }
            None => o.drop_key("header", "only a row number or null is supported"),
        },
        None => {}
    }
    if let Some(v) = o.take("skiprows") {
        match as_count(v) {
            Some(n) => {
                before += n;
                o.notes.push(KeyNote::Mapped {
                    from: "reader_options.skiprows".into(),
                    to: "csv_skip_rows_before_header".into(),
                });
            }
            None => o.drop_key(
                "skiprows",
                "only a number of rows is supported, not a list or a function",
            ),
        }
    }
    if let Some(names) = o.take("names") {
        // pandas: names without header means the first row is data; with a
        // header row, that row is read and replaced by names.
        if let Some(n) = header_row {
            before = before.max(n) + 1;
        }
        o.set("names", "csv_column_names", names.clone());
        o.out.insert("csv_header".into(), Value::Bool(false));
    } else if header_given && header_row.is_none() {
        // header: null already set csv_header false.
    }
    if before > 0 {
        o.out.insert("csv_skip_rows_before_header".into(), json!(before));
    }
    if let Some(v) = o.take("nrows") {
        match as_count(v) {
            Some(n) => o.set("nrows", "max_rows_per_file", json!(n)),
            None => o.drop_key("nrows", "only a number of rows is supported"),
        }
    }
    for k in ["lines", "orient"] {
        o.ignore(k, "the format key says how JSON is laid out");
    }
    m.merge_finished(o, "a pandas option with no equivalent");
    Ok(())
}
