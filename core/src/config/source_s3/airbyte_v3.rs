//! Airbyte source-s3 v3 configs (`dataset`, `path_pattern`, `provider{}`,
//! `format{}`, `schema`).

use lakeport_protocol::Flavour;
use serde_json::{json, Map, Value};

use super::common::{airbyte_filetype, finish, set_endpoint};
use super::legacy::NATIVE_ONLY;
use crate::config::mapping::{as_bool, as_text, Mapped, Mapper};
use crate::error::Result;

/// Parses an option holding a JSON object written as a string (v3
/// `additional_reader_options`, `advanced_options`).
fn json_object_text(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m.clone()),
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?.as_object().cloned(),
        _ => None,
    }
}

/// Maps the v3 `format` object into `m`.
fn v3_format(m: &mut Mapper<'_>) -> Result<()> {
    let Some(fmt) = m.take("format") else {
        m.out.insert("file_format".into(), json!("csv"));
        m.out.insert("csv_infer_types".into(), Value::Bool(true));
        return Ok(());
    };
    let empty = Map::new();
    let fmt = fmt.as_object().unwrap_or(&empty);
    let mut f = Mapper::new(fmt, "format.");
    let filetype = f.take("filetype").and_then(as_text).unwrap_or_else(|| "csv".into());
    let file_format = airbyte_filetype(&filetype, "", "")?;
    f.set("filetype", "file_format", json!(file_format));
    match file_format {
        "csv" => csv(&mut f),
        "parquet" => {
            f.rename("batch_size", "batch_size");
            f.rename("columns", "parquet_columns");
            f.ignore("buffer_size", "a reader buffer size; Lakeport sizes its own");
            f.out.insert("hive_string_fields".into(), Value::Bool(true));
        }
        "jsonl" => {
            f.ignore("newlines_in_values", "JSON Lines values never hold raw newlines");
            f.ignore("block_size", "a reader buffer size; Lakeport sizes its own");
            f.drop_unless(
                "unexpected_field_behavior",
                &["infer"],
                "fields not in the schema are always added (infer)",
            );
        }
        _ => {}
    }
    m.merge_finished(f, "not a known option of Airbyte v3's format");
    Ok(())
}

/// The CSV options of a v3 `format`.
fn csv(f: &mut Mapper<'_>) {
    f.rename("delimiter", "csv_delimiter");
    f.rename("quote_char", "csv_quote_char");
    f.rename("escape_char", "csv_escape_char");
    f.rename("encoding", "csv_encoding");
    match f.take("infer_datatypes").and_then(as_bool) {
        Some(b) => f.set("infer_datatypes", "csv_infer_types", Value::Bool(b)),
        None => {
            f.out.insert("csv_infer_types".into(), Value::Bool(true));
        }
    }
    f.drop_unless(
        "double_quote",
        &["true"],
        "Lakeport always reads a doubled quote as a quote; set escape_char for another escape",
    );
    f.ignore("newlines_in_values", "quoted values may always hold newlines");
    f.ignore("block_size", "a reader buffer size; Lakeport sizes its own");
    reader_options(f);
    advanced_options(f);
}

/// `additional_reader_options` (pyarrow ConvertOptions, a JSON object or
/// its text) of a v3 CSV format.
fn reader_options(f: &mut Mapper<'_>) {
    if let Some(v) = f.take("additional_reader_options") {
        match json_object_text(v) {
            Some(opts) => {
                let mut o = Mapper::new(&opts, "format.additional_reader_options.");
                o.rename("null_values", "csv_null_values");
                o.rename("true_values", "csv_true_values");
                o.rename("false_values", "csv_false_values");
                o.drop_unless(
                    "strings_can_be_null",
                    &["true"],
                    "null_values also apply to string columns in Lakeport",
                );
                f.merge_finished(o, "a pyarrow ConvertOptions setting with no equivalent");
            }
            None => f.drop_key("additional_reader_options", "not a JSON object"),
        }
    }
}

/// `advanced_options` (pyarrow ReadOptions, a JSON object or its text) of
/// a v3 CSV format.
fn advanced_options(f: &mut Mapper<'_>) {
    if let Some(v) = f.take("advanced_options") {
        match json_object_text(v) {
            Some(opts) => {
                let mut o = Mapper::new(&opts, "format.advanced_options.");
                o.rename("skip_rows", "csv_skip_rows_before_header");
                o.rename("skip_rows_after_names", "csv_skip_rows_after_header");
                if let Some(names) = o.take("column_names") {
                    o.set("column_names", "csv_column_names", names.clone());
                    o.out.insert("csv_header".into(), Value::Bool(false));
                }
                if o.take("autogenerate_column_names").and_then(as_bool) == Some(true) {
                    o.set("autogenerate_column_names", "csv_header", Value::Bool(false));
                }
                o.ignore("block_size", "a reader buffer size; Lakeport sizes its own");
                o.ignore("use_threads", "Lakeport decodes in parallel_workers");
                f.merge_finished(o, "a pyarrow ReadOptions setting with no equivalent");
            }
            None => f.drop_key("advanced_options", "not a JSON object"),
        }
    }
}

/// The v3 `provider{}`: bucket, credentials, endpoint, region, start date.
fn provider(m: &mut Mapper<'_>) {
    let Some(provider) = m.take("provider") else { return };
    let empty = Map::new();
    let provider = provider.as_object().unwrap_or(&empty);
    let mut p = Mapper::new(provider, "provider.");
    p.rename("bucket", "bucket");
    p.rename("aws_access_key_id", "access_key_id");
    p.rename("aws_secret_access_key", "secret_access_key");
    p.rename("role_arn", "role_arn");
    p.rename("path_prefix", "path_prefix");
    set_endpoint(&mut p, "endpoint");
    p.rename("region_name", "region");
    p.rename("start_date", "start_date");
    if let Some(v) = p.take("use_ssl") {
        p.set("use_ssl", "use_ssl", Value::Bool(as_bool(v).unwrap_or(true)));
    }
    p.drop_unless("verify_ssl_cert", &["true"], "TLS certificates are always verified");
    m.merge_finished(p, "not a known option of Airbyte v3's provider");
}

/// Maps an Airbyte source-s3 v3 config.
pub(super) fn map(map: &Map<String, Value>) -> Result<Mapped> {
    let mut m = Mapper::new(map, "");
    m.keep_native(NATIVE_ONLY);
    m.rename("dataset", "stream_name");
    if let Some(p) = m.take("path_pattern") {
        let globs: Vec<Value> = as_text(p)
            .unwrap_or_default()
            .split('|')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| json!(s))
            .collect();
        m.set("path_pattern", "globs", Value::Array(globs));
    }
    provider(&mut m);
    v3_format(&mut m)?;
    if let Some(s) = m.take("schema") {
        let text = match s {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        if text.trim() != "{}" {
            m.set("schema", "input_schema", Value::String(text));
        } else {
            m.ignore("schema", "empty: the schema is discovered");
        }
    }
    m.out.entry("json_flatten").or_insert(Value::Bool(false));
    Ok(finish(
        m,
        Flavour::Airbyte,
        "not a known option of Airbyte source-s3 v3",
    ))
}
