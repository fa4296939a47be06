//! source-s3 configs in every flavour (CONTRACT §4) mapped to the native
//! config: native/legacy (seed 000/004 names), Airbyte source-s3 v4
//! (`streams[]` with `format.filetype`) and v3 (`dataset`, `path_pattern`,
//! `provider{}`, `format{}`, `schema`), and Fivetran's S3 connector (bare,
//! `{"service":"s3","config":{…}}` or a REST response `{"data":{…}}`).
//!
//! [`to_native_source_s3`] is pure: it returns the native JSON and the notes;
//! the connector logs [`Mapped::warnings`].

use lakeport_protocol::Flavour;
use serde_json::{json, Map, Value};

use super::mapping::{
    ambiguous_flavour, as_bool, as_count, as_text, object, rename_legacy, unknown_flavour, used_legacy, KeyNote,
    Mapped, Mapper,
};
use crate::error::{Error, Result};

/// Legacy name → native name (seed 000/004), in precedence order.
pub const SOURCE_S3_LEGACY_NAMES: &[(&str, &str)] = &[
    ("prefix", "path_prefix"),
    ("format", "file_format"),
    ("access_key", "access_key_id"),
    ("aws_access_key_id", "access_key_id"),
    ("secret_key", "secret_access_key"),
    ("aws_secret_access_key", "secret_access_key"),
    ("region_name", "region"),
    ("endpoint", "endpoint_url"),
];

/// Native keys that no other flavour uses at the top level; inside an
/// Airbyte or Fivetran config they are kept as written and win.
const NATIVE_ONLY: &[&str] = &[
    "region",
    "secret_access_key",
    "session_token",
    "endpoint_url",
    "anonymous",
    "path_prefix",
    "file_format",
    "stream_name",
    "key_pattern",
    "cost_limit_usd",
    "max_files_per_run",
    "max_data_size_gb",
    "dev_sampling",
    "dev_max_files",
    "dev_sampling_seed",
    "list_page_size",
    "pricing",
    "partition_keys",
    "partition_filter",
    "partition_columns",
    "cursor_field",
    "batch_size",
    "parallel_workers",
    "csv_delimiter",
    "csv_header",
    "csv_encoding",
    "csv_quote_char",
    "csv_escape_char",
    "csv_null_values",
    "csv_skip_rows_before_header",
    "csv_skip_rows_after_header",
    "csv_column_names",
    "csv_true_values",
    "csv_false_values",
    "csv_infer_types",
    "parquet_columns",
    "parquet_filters",
    "json_flatten",
    "json_max_depth",
    "max_rows_per_file",
    "schemaless",
    "input_schema",
    "validation_policy",
    "days_to_sync_if_history_is_full",
    "schema_sample_files",
];

/// Keys only Fivetran's S3 connector uses.
const FIVETRAN_KEYS: &[&str] = &[
    "file_type",
    "pattern",
    "auth_type",
    "null_sequence",
    "skip_before",
    "skip_after",
    "skip_header_lines",
    "skip_footer_lines",
    "empty_header",
    "access_key_secret",
    "is_public",
    "list_strategy",
    "json_delivery_mode",
    "files",
    "file_mapping_method",
    "extraction_pattern",
    "table",
    "table_group_name",
    "connection_type",
    "archive_pattern",
    "append_file_option",
    "line_separator",
    "quote_character_enabled",
    "non_standard_escape_char",
    "use_pgp_encryption_options",
    "pgp_secret_key",
    "pgp_pass_phrase",
    "signer_public_key",
    "escape_char",
    "quote_char",
    "delimiter",
];

/// Keys only Airbyte source-s3 v3 uses at the top level.
const AIRBYTE_V3_KEYS: &[&str] = &["dataset", "path_pattern", "provider"];

/// Keys only Airbyte source-s3 v4 uses at the top level.
const AIRBYTE_V4_KEYS: &[&str] = &["delivery_method", "credentials"];

/// Keys of a v4 `streams[]` item that a native stream item does not have
/// (`validation_policy`, `input_schema`, `schemaless` and
/// `days_to_sync_if_history_is_full` are native too, so they are no signal;
/// Airbyte's spelled-out policies such as "Emit Record" are).
const AIRBYTE_V4_STREAM_KEYS: &[&str] = &[
    "primary_key",
    "legacy_prefix",
    "recent_n_files_to_read_for_schema_discovery",
];

const EXPECTED: &[&str] = &[
    "native: {\"bucket\", \"path_prefix\", \"file_format\", …} (legacy names prefix, format, aws_access_key_id … also read)",
    "Airbyte source-s3 v4: {\"bucket\", \"streams\": [{\"name\", \"globs\", \"format\": {\"filetype\": …}}]}",
    "Airbyte source-s3 v3: {\"dataset\", \"path_pattern\", \"provider\": {\"bucket\", …}, \"format\": {\"filetype\": …}}",
    "Fivetran S3: {\"bucket\", \"prefix\", \"pattern\", \"file_type\", …}, {\"service\": \"s3\", \"config\": {…}} or {\"data\": {…}}",
];

/// The flavour of a source-s3 config, finer than [`Flavour`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceS3Kind {
    /// Native or legacy names.
    Native,
    /// Airbyte source-s3 v4 (file-based CDK).
    AirbyteV4,
    /// Airbyte source-s3 v3.
    AirbyteV3,
    /// Fivetran's S3 connector.
    Fivetran,
}

fn present(map: &Map<String, Value>, keys: &[&str]) -> Vec<String> {
    keys.iter()
        .filter(|k| map.contains_key(**k))
        .map(|k| k.to_string())
        .collect()
}

fn v4_signals(map: &Map<String, Value>) -> Vec<String> {
    let mut found = present(map, AIRBYTE_V4_KEYS);
    if let Some(Value::Array(streams)) = map.get("streams") {
        for (i, s) in streams.iter().enumerate() {
            let Some(item) = s.as_object() else { continue };
            if item.get("format").is_some_and(Value::is_object) {
                found.push(format!("streams[{i}].format"));
            }
            for k in present(item, AIRBYTE_V4_STREAM_KEYS) {
                found.push(format!("streams[{i}].{k}"));
            }
            if item
                .get("validation_policy")
                .and_then(Value::as_str)
                .is_some_and(|p| p.contains(' '))
            {
                found.push(format!("streams[{i}].validation_policy"));
            }
        }
    }
    found.dedup();
    found
}

fn v3_signals(map: &Map<String, Value>) -> Vec<String> {
    let mut found = present(map, AIRBYTE_V3_KEYS);
    if map.get("format").and_then(|f| f.get("filetype")).is_some() {
        found.push("format.filetype".into());
    }
    if map.get("schema").is_some_and(Value::is_string) && !found.is_empty() {
        found.push("schema".into());
    }
    found
}

/// A Fivetran wrapper: `{"data": {"config": {…}}}`, `{"data": {…}}` or
/// `{"service": …, "config": {…}}`, as (inner config, its path, service).
fn fivetran_wrapper(map: &Map<String, Value>) -> Option<(&Map<String, Value>, &'static str, Option<&str>)> {
    if let Some(data) = map.get("data").and_then(Value::as_object) {
        let service = data.get("service").and_then(Value::as_str);
        if let Some(cfg) = data.get("config").and_then(Value::as_object) {
            return Some((cfg, "data.config.", service));
        }
        return Some((data, "data.", service));
    }
    let cfg = map.get("config").and_then(Value::as_object)?;
    if map.contains_key("service") || !map.contains_key("bucket") {
        return Some((cfg, "config.", map.get("service").and_then(Value::as_str)));
    }
    None
}

/// Tells the flavour of a source-s3 config by its distinctive keys; an
/// ambiguous or unknown config is a config error listing what is expected.
pub fn detect_source_s3(raw: &Value) -> Result<SourceS3Kind> {
    let map = object(raw)?;
    if fivetran_wrapper(map).is_some() {
        return Ok(SourceS3Kind::Fivetran);
    }
    let candidates: Vec<(&str, SourceS3Kind, Vec<String>)> = vec![
        ("Airbyte source-s3 v4", SourceS3Kind::AirbyteV4, v4_signals(map)),
        ("Airbyte source-s3 v3", SourceS3Kind::AirbyteV3, v3_signals(map)),
        ("Fivetran S3", SourceS3Kind::Fivetran, present(map, FIVETRAN_KEYS)),
    ];
    let hits: Vec<&(&str, SourceS3Kind, Vec<String>)> = candidates.iter().filter(|c| !c.2.is_empty()).collect();
    match hits.as_slice() {
        [] => {
            let known = map.keys().any(|k| {
                k == "bucket"
                    || k == "streams"
                    || k == "globs"
                    || k == "compression"
                    || k == "access_key_id"
                    || k == "role_arn"
                    || k == "start_date"
                    || k == "use_ssl"
                    || k == "on_error"
                    || NATIVE_ONLY.contains(&k.as_str())
                    || SOURCE_S3_LEGACY_NAMES.iter().any(|(old, _)| old == k)
            });
            if known {
                Ok(SourceS3Kind::Native)
            } else {
                Err(unknown_flavour("source-s3", EXPECTED))
            }
        }
        [one] => Ok(one.1),
        many => Err(ambiguous_flavour(
            "source-s3",
            &many.iter().map(|(n, _, keys)| (*n, keys.clone())).collect::<Vec<_>>(),
        )),
    }
}

/// Maps a source-s3 config written in any flavour (`from`, or detected
/// when [`Flavour::Auto`]) to the native config, with a note per key.
pub fn to_native_source_s3(raw: &Value, from: Flavour) -> Result<Mapped> {
    let map = object(raw)?;
    let kind = match from {
        Flavour::Auto => detect_source_s3(raw)?,
        Flavour::Native | Flavour::Legacy => SourceS3Kind::Native,
        Flavour::Fivetran => SourceS3Kind::Fivetran,
        Flavour::Airbyte => {
            if !v3_signals(map).is_empty() && v4_signals(map).is_empty() {
                SourceS3Kind::AirbyteV3
            } else {
                SourceS3Kind::AirbyteV4
            }
        }
    };
    match kind {
        SourceS3Kind::Native => Ok(native(map, from == Flavour::Native)),
        SourceS3Kind::AirbyteV4 => airbyte_v4(map),
        SourceS3Kind::AirbyteV3 => airbyte_v3(map),
        SourceS3Kind::Fivetran => fivetran(map),
    }
}

fn native(map: &Map<String, Value>, strict: bool) -> Mapped {
    let mut config = map.clone();
    if strict {
        let notes = config
            .keys()
            .map(|k| KeyNote::Mapped {
                from: k.clone(),
                to: k.clone(),
            })
            .collect();
        return Mapped {
            config: Value::Object(config),
            flavour: Flavour::Native,
            notes,
        };
    }
    let notes = rename_legacy(&mut config, SOURCE_S3_LEGACY_NAMES);
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

/// An endpoint as written by Airbyte: `http://` means no TLS; a bare host
/// gets `https://` (`http://` when the same object says `use_ssl: false`).
fn set_endpoint(m: &mut Mapper<'_>, key: &str) {
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

fn finish(m: Mapper<'_>, flavour: Flavour, why: &str) -> Mapped {
    let (out, notes) = m.finish(why);
    Mapped {
        config: Value::Object(out),
        flavour,
        notes,
    }
}

// ---------------------------------------------------------------- Airbyte v4

fn validation_policy(v: &str) -> Option<&'static str> {
    match v.trim().to_ascii_lowercase().as_str() {
        "emit record" | "emit_record" | "emit" => Some("emit"),
        "skip record" | "skip_record" | "skip" => Some("skip"),
        "wait for discover" | "wait_for_discover" | "wait" => Some("wait"),
        _ => None,
    }
}

/// Maps an Airbyte file-based CDK `format` object (v4) into `m`.
fn v4_format(m: &mut Mapper<'_>, stream_path: &str) -> Result<()> {
    let Some(fmt) = m.take("format") else {
        // Airbyte requires a format; without one, read by extension.
        m.out.insert("file_format".into(), json!("auto"));
        return Ok(());
    };
    let Some(fmt) = fmt.as_object() else {
        m.drop_key("format", "not an object with a filetype");
        return Ok(());
    };
    let mut f = Mapper::within(fmt, format!("{stream_path}format."), stream_path);
    let filetype = f.take("filetype").and_then(as_text).unwrap_or_else(|| "csv".into());
    let file_format = airbyte_filetype(&filetype, stream_path, " Remove the stream or convert its files.")?;
    f.set("filetype", "file_format", json!(file_format));
    match file_format {
        "csv" => {
            f.rename("delimiter", "csv_delimiter");
            f.rename("quote_char", "csv_quote_char");
            f.rename("escape_char", "csv_escape_char");
            f.rename("encoding", "csv_encoding");
            f.rename("null_values", "csv_null_values");
            f.rename("true_values", "csv_true_values");
            f.rename("false_values", "csv_false_values");
            f.rename("skip_rows_before_header", "csv_skip_rows_before_header");
            f.rename("skip_rows_after_header", "csv_skip_rows_after_header");
            f.drop_unless(
                "double_quote",
                &["true"],
                "Lakeport always reads a doubled quote as a quote; set escape_char for another escape",
            );
            f.drop_unless(
                "strings_can_be_null",
                &["true"],
                "null_values also apply to string columns in Lakeport",
            );
            f.drop_unless(
                "ignore_errors_on_fields_mismatch",
                &["false"],
                "a row whose field count differs from the header is an error; on_error: skip drops such rows instead",
            );
            let infer = f
                .take("inference_type")
                .and_then(as_text)
                .is_some_and(|t| t.eq_ignore_ascii_case("Primitive Types Only"));
            if f.src().contains_key("inference_type") {
                f.set("inference_type", "csv_infer_types", Value::Bool(infer));
            } else {
                f.out.insert("csv_infer_types".into(), Value::Bool(false));
            }
            // Airbyte infers types with its default true/false strings (`1`/`0`, `t`/`f`,
            // `yes`/`no`, `on`/`off`, …) unless the config gives its own.
            if infer && !f.out.contains_key("csv_true_values") && !f.out.contains_key("csv_false_values") {
                use crate::formats::options::BoolValues;
                f.out.insert("csv_true_values".into(), json!(BoolValues::DEFAULT_TRUE));
                f.out
                    .insert("csv_false_values".into(), json!(BoolValues::DEFAULT_FALSE));
            }
            if let Some(h) = f.take("header_definition") {
                let hd = h.as_object().cloned().unwrap_or_default();
                let kind = hd
                    .get("header_definition_type")
                    .and_then(as_text)
                    .unwrap_or_else(|| "From CSV".into());
                match kind.to_ascii_lowercase().as_str() {
                    "autogenerated" => f.set("header_definition", "csv_header", Value::Bool(false)),
                    "user provided" => {
                        f.set("header_definition", "csv_header", Value::Bool(false));
                        if let Some(names) = hd.get("column_names") {
                            f.set("header_definition.column_names", "csv_column_names", names.clone());
                        }
                    }
                    _ => f.set("header_definition", "csv_header", Value::Bool(true)),
                }
            }
        }
        "parquet" => {
            f.drop_unless(
                "decimal_as_float",
                &["false"],
                "decimals keep Lakeport's decimal typing; they are not converted to floats",
            );
            // Airbyte's Parquet parser adds the key's `name=value` folders
            // as string fields.
            f.out.insert("hive_string_fields".into(), Value::Bool(true));
        }
        "avro" => f.drop_unless("double_as_string", &["false"], "doubles are read as JSON numbers"),
        _ => {}
    }
    let out = {
        let (out, notes) = f.finish("not a known option of Airbyte's format");
        m.notes.extend(notes);
        out
    };
    for (k, v) in out {
        m.out.entry(k).or_insert(v);
    }
    Ok(())
}

fn v4_stream(item: &Map<String, Value>, i: usize) -> Result<(Map<String, Value>, Vec<KeyNote>)> {
    let path = format!("streams[{i}].");
    let mut s = Mapper::within(item, path.clone(), path.clone());
    s.rename("name", "name");
    s.rename("globs", "globs");
    s.rename("legacy_prefix", "path_prefix");
    v4_format(&mut s, &path)?;
    s.rename("input_schema", "input_schema");
    if let Some(v) = s.take("schemaless") {
        s.set("schemaless", "schemaless", Value::Bool(as_bool(v).unwrap_or(false)));
    }
    if let Some(v) = s.take("validation_policy") {
        match as_text(v).as_deref().and_then(validation_policy) {
            Some(p) => s.set("validation_policy", "validation_policy", json!(p)),
            None => s.drop_key("validation_policy", "not Emit Record, Skip Record or Wait for Discover"),
        }
    }
    s.rename("days_to_sync_if_history_is_full", "days_to_sync_if_history_is_full");
    s.rename("recent_n_files_to_read_for_schema_discovery", "schema_sample_files");
    if s.peek("primary_key").is_some() {
        s.drop_key("primary_key", "Lakeport streams declare no primary key");
    }
    s.out.insert("json_flatten".into(), Value::Bool(false));
    Ok(s.finish("not a known option of an Airbyte stream"))
}

fn airbyte_v4(map: &Map<String, Value>) -> Result<Mapped> {
    let mut m = Mapper::new(map, "");
    m.keep_native(NATIVE_ONLY);
    m.rename("bucket", "bucket");
    if let Some(creds) = m.take("credentials") {
        let empty = Map::new();
        let creds = creds.as_object().unwrap_or(&empty);
        let mut c = Mapper::new(creds, "credentials.");
        c.rename("aws_access_key_id", "access_key_id");
        c.rename("aws_secret_access_key", "secret_access_key");
        c.rename("role_arn", "role_arn");
        c.ignore("auth_type", "the credentials given say it");
        let (out, notes) = c.finish("not a known credential of Airbyte source-s3");
        m.notes.extend(notes);
        for (k, v) in out {
            m.out.entry(k).or_insert(v);
        }
    }
    m.rename("aws_access_key_id", "access_key_id");
    m.rename("aws_secret_access_key", "secret_access_key");
    m.rename("role_arn", "role_arn");
    set_endpoint(&mut m, "endpoint");
    m.rename("region_name", "region");
    m.rename("start_date", "start_date");
    if let Some(d) = m.take("delivery_method") {
        let kind = d.get("delivery_type").and_then(as_text).unwrap_or_default();
        if kind.is_empty() || kind == "use_records_transfer" {
            m.ignore("delivery_method", "records are delivered (use_records_transfer)");
        } else {
            m.drop_key(
                "delivery_method",
                "only records are delivered; copying raw files is not supported",
            );
        }
    }
    let mut streams = Vec::new();
    if let Some(list) = m.take("streams") {
        for (i, item) in list.as_array().into_iter().flatten().enumerate() {
            let Some(item) = item.as_object() else {
                return Err(Error::Config(format!(
                    "streams[{i}] must be an object with name, globs and format."
                )));
            };
            let (out, notes) = v4_stream(item, i)?;
            m.notes.extend(notes);
            streams.push(Value::Object(out));
        }
        m.out.insert("streams".into(), Value::Array(streams));
    }
    m.out.entry("json_flatten").or_insert(Value::Bool(false));
    Ok(finish(
        m,
        Flavour::Airbyte,
        "not a known option of Airbyte source-s3 v4",
    ))
}

// ---------------------------------------------------------------- Airbyte v3

/// Parses an option holding a JSON object written as a string (v3
/// `additional_reader_options`, `advanced_options`).
fn json_object_text(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(m) => Some(m.clone()),
        Value::String(s) => serde_json::from_str::<Value>(s).ok()?.as_object().cloned(),
        _ => None,
    }
}

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
        "csv" => {
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
                        let (out, notes) = o.finish("a pyarrow ConvertOptions setting with no equivalent");
                        f.notes.extend(notes);
                        for (k, v) in out {
                            f.out.entry(k).or_insert(v);
                        }
                    }
                    None => f.drop_key("additional_reader_options", "not a JSON object"),
                }
            }
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
                        let (out, notes) = o.finish("a pyarrow ReadOptions setting with no equivalent");
                        f.notes.extend(notes);
                        for (k, v) in out {
                            f.out.entry(k).or_insert(v);
                        }
                    }
                    None => f.drop_key("advanced_options", "not a JSON object"),
                }
            }
        }
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
    let (out, notes) = f.finish("not a known option of Airbyte v3's format");
    m.notes.extend(notes);
    for (k, v) in out {
        m.out.entry(k).or_insert(v);
    }
    Ok(())
}

fn airbyte_v3(map: &Map<String, Value>) -> Result<Mapped> {
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
    if let Some(provider) = m.take("provider") {
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
        let (out, notes) = p.finish("not a known option of Airbyte v3's provider");
        m.notes.extend(notes);
        for (k, v) in out {
            m.out.entry(k).or_insert(v);
        }
    }
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

// ---------------------------------------------------------------- Fivetran

/// What a Fivetran `file_type` means here.
enum FivetranFileType {
    /// A format Lakeport reads.
    Read(&'static str),
    /// A Fivetran file type Lakeport does not read (why).
    Unread(String),
    /// Not a Fivetran file type at all (a typo, a number): kept as written,
    /// so validation reports it under the user's key.
    Unknown,
}

fn fivetran_file_type(v: &str) -> FivetranFileType {
    match v.trim().to_ascii_lowercase().as_str() {
        "infer" | "" => FivetranFileType::Read("auto"),
        "csv" => FivetranFileType::Read("csv"),
        "tsv" => FivetranFileType::Read("tsv"),
        "json" => FivetranFileType::Read("json"),
        "jsonl" => FivetranFileType::Read("jsonl"),
        "avro" => FivetranFileType::Read("avro"),
        "parquet" => FivetranFileType::Read("parquet"),
        other @ ("xml" | "excel" | "log") => FivetranFileType::Unread(format!(
            "file type '{other}' is not read by Lakeport (csv, tsv, json, jsonl, avro, parquet are); files are read by extension (file_format auto) instead"
        )),
        _ => FivetranFileType::Unknown,
    }
}

fn fivetran_compression(v: &str) -> std::result::Result<&'static str, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "infer" | "" => Ok("auto"),
        "uncompressed" | "none" => Ok("none"),
        "gzip" | "gz" => Ok("gzip"),
        "zip" => Ok("zip"),
        "bz2" | "bzip2" => Ok("bz2"),
        "zstd" => Ok("zstd"),
        "snappy" => Ok("snappy"),
        "lz4" => Ok("lz4"),
        "brotli" => Ok("brotli"),
        other => Err(format!(
            "'{other}' archives are not read; compression is detected from each file instead"
        )),
    }
}

fn fivetran(outer: &Map<String, Value>) -> Result<Mapped> {
    let (map, path) = match fivetran_wrapper(outer) {
        Some((cfg, path, service)) => {
            if let Some(service) = service {
                if !service.eq_ignore_ascii_case("s3") {
                    return Err(Error::Config(format!(
                        "This Fivetran connector is '{service}', not 's3': source-s3 imports Fivetran S3 connectors only."
                    )));
                }
            }
            (cfg, path)
        }
        None => (outer, ""),
    };
    let mut m = Mapper::new(map, path);
    m.keep_native(NATIVE_ONLY);
    m.rename("bucket", "bucket");
    m.rename("prefix", "path_prefix");
    m.rename("pattern", "key_pattern");
    if let Some(v) = m.take("file_type") {
        match fivetran_file_type(&as_text(v).unwrap_or_default()) {
            FivetranFileType::Read(f) => m.set("file_type", "file_format", json!(f)),
            FivetranFileType::Unread(why) => {
                m.drop_key("file_type", why);
                m.out.entry("file_format").or_insert(json!("auto"));
            }
            FivetranFileType::Unknown => m.set("file_type", "file_format", v.clone()),
        }
    }
    if let Some(v) = m.take("compression") {
        match fivetran_compression(&as_text(v).unwrap_or_default()) {
            Ok(c) => m.set("compression", "compression", json!(c)),
            Err(why) => m.drop_key("compression", why),
        }
    }
    if let Some(v) = m.take("on_error") {
        match as_text(v).map(|s| s.to_ascii_lowercase()).as_deref() {
            Some(p @ ("fail" | "skip")) => m.set("on_error", "on_error", json!(p)),
            _ => m.drop_key("on_error", "not fail or skip"),
        }
    }
    m.rename("delimiter", "csv_delimiter");
    if m.peek("quote_character_enabled").and_then(as_bool) == Some(false) {
        m.drop_key(
            "quote_character_enabled",
            "Lakeport always honours a quote character (csv_quote_char)",
        );
    } else {
        m.ignore("quote_character_enabled", "the default behaviour");
    }
    m.rename("quote_char", "csv_quote_char");
    m.rename("escape_char", "csv_escape_char");
    m.ignore("non_standard_escape_char", "escape_char says it");
    if let Some(v) = m.take("null_sequence") {
        m.set(
            "null_sequence",
            "csv_null_values",
            json!([as_text(v).unwrap_or_default()]),
        );
    }
    for (names, to) in [
        (["skip_before", "skip_header_lines"], "csv_skip_rows_before_header"),
        (["skip_after", "skip_footer_lines"], ""),
    ] {
        for (i, name) in names.iter().enumerate() {
            let Some(v) = m.take(name) else { continue };
            let n = as_count(v);
            if to.is_empty() {
                if n == Some(0) {
                    m.ignore(name, "0 rows: nothing to skip");
                } else {
                    m.drop_key(
                        name,
                        "skipping rows at the end of each file is not supported; those rows are read as records",
                    );
                }
                continue;
            }
            let Some(n) = n else {
                m.drop_key(name, "not a row count");
                continue;
            };
            if i == 0 {
                m.set(name, to, json!(n));
            } else {
                m.set_legacy(name, to, json!(n));
            }
        }
    }
    if let Some(v) = m.take("empty_header") {
        if as_bool(v) == Some(true) {
            m.set("empty_header", "csv_header", Value::Bool(false));
        } else {
            m.ignore("empty_header", "files have a header row (the default)");
        }
    }
    // Credentials and authentication.
    let auth = m.take("auth_type").and_then(as_text).map(|s| s.to_ascii_uppercase());
    let public = auth.as_deref() == Some("PUBLIC_BUCKET");
    match auth.as_deref() {
        Some("PUBLIC_BUCKET") => m.set("auth_type", "anonymous", Value::Bool(true)),
        Some("IAM_ROLE") => m.ignore("auth_type", "role_arn says it"),
        Some("ACCESS_KEY") => m.ignore("auth_type", "access_key_id says it"),
        Some(_) => m.drop_key("auth_type", "not ACCESS_KEY, IAM_ROLE or PUBLIC_BUCKET"),
        None => {}
    }
    if let Some(v) = m.take("is_public") {
        if as_bool(v) == Some(true) {
            m.set("is_public", "anonymous", Value::Bool(true));
        } else {
            m.ignore("is_public", "a private bucket (the default)");
        }
    }
    m.rename("role_arn", "role_arn");
    m.ignore(
        "external_id",
        "the role's trust policy names Fivetran's external id; Lakeport assumes role_arn directly",
    );
    m.rename("access_key_id", "access_key_id");
    for (i, name) in ["access_key_secret", "secret_key"].iter().enumerate() {
        let Some(v) = m.take(name) else { continue };
        if v.as_str().is_some_and(|s| !s.is_empty() && s.chars().all(|c| c == '*')) {
            m.drop_key(
                name,
                "masked by Fivetran's API; set secret_access_key to the real secret",
            );
        } else if i == 0 {
            m.set(name, "secret_access_key", v.clone());
        } else {
            m.set_legacy(name, "secret_access_key", v.clone());
        }
    }
    if public {
        for k in ["access_key_id", "secret_access_key", "role_arn"] {
            m.out.remove(k);
        }
    }
    if let Some(v) = m.take("list_strategy") {
        if as_text(v).is_some_and(|s| s == "complete_listing") {
            m.ignore(
                "list_strategy",
                "Lakeport lists every key under the prefix (complete_listing)",
            );
        } else {
            m.drop_key(
                "list_strategy",
                "Lakeport lists every key under the prefix; time-based listing is not supported",
            );
        }
    }
    if let Some(v) = m.take("json_delivery_mode") {
        let mode = as_text(v).unwrap_or_default();
        if mode.eq_ignore_ascii_case("packed") {
            m.set_approx(
                "json_delivery_mode",
                "json_flatten",
                Value::Bool(false),
                "nested JSON is kept unflattened, but top-level keys still become columns rather than one packed column",
            );
        } else {
            m.set("json_delivery_mode", "json_flatten", Value::Bool(false));
        }
    }
    // Streams: files[] (DEFINE_PER_TABLE), extraction_pattern (EXTRACT_TABLES), or one table.
    m.ignore("file_mapping_method", "files or extraction_pattern say it");
    let prefix = m.out.get("path_prefix").cloned();
    if let Some(files) = m.take("files") {
        let mut streams = Vec::new();
        for (i, f) in files.as_array().into_iter().flatten().enumerate() {
            let Some(f) = f.as_object() else {
                m.notes.push(KeyNote::Dropped {
                    from: format!("{path}files[{i}]"),
                    why: "not an object with table_name and file_pattern".into(),
                });
                continue;
            };
            let mut s = Mapper::within(f, format!("{path}files[{i}]."), format!("streams[{}].", streams.len()));
            s.rename("table_name", "name");
            s.rename("file_pattern", "key_pattern");
            if s.peek("archive_pattern").is_some() {
                s.drop_key("archive_pattern", "files inside archives are not read");
            }
            if let Some(p) = &prefix {
                s.out.insert("path_prefix".into(), p.clone());
            }
            let (out, notes) = s.finish("not a known option of a Fivetran file mapping");
            m.notes.extend(notes);
            streams.push(Value::Object(out));
        }
        m.set("files", "streams", Value::Array(streams));
    }
    m.rename_first(&["table", "table_group_name"], "stream_name", 2);
    if m.peek("extraction_pattern").is_some() {
        let v = m.take("extraction_pattern").cloned().unwrap_or(Value::Null);
        m.set_approx(
            "extraction_pattern",
            "key_pattern",
            v,
            "matching files are read into one stream; splitting them into a table per captured name is not supported (list them in streams instead)",
        );
    }
    if m.peek("schema").is_some() {
        m.drop_key(
            "schema",
            "the destination schema name is set in the destination, not the source",
        );
    }
    if let Some(v) = m.take("connection_type") {
        if as_text(v).is_some_and(|s| s.eq_ignore_ascii_case("Directly")) {
            m.ignore("connection_type", "a direct connection (the default)");
        } else {
            m.drop_key("connection_type", "SSH tunnels, PrivateLink and proxy agents are not supported; Lakeport connects directly (set endpoint_url for a private endpoint)");
        }
    }
    for k in [
        "tunnel_host",
        "tunnel_port",
        "tunnel_user",
        "proxy_agent_id",
        "private_link_id",
    ] {
        if m.peek(k).is_some() {
            m.drop_key(k, "SSH tunnels, PrivateLink and proxy agents are not supported");
        }
    }
    if m.peek("use_pgp_encryption_options").and_then(as_bool) == Some(false) {
        m.ignore("use_pgp_encryption_options", "files are not PGP-encrypted");
    }
    let pgp: Vec<String> = map
        .keys()
        .filter(|k| k.starts_with("pgp_") || *k == "signer_public_key" || *k == "use_pgp_encryption_options")
        .cloned()
        .collect();
    for k in pgp {
        if m.peek(&k).is_some() {
            m.drop_key(&k, "PGP-encrypted files are not decrypted; decrypt them before reading");
        }
    }
    if m.peek("archive_pattern").is_some() {
        m.drop_key("archive_pattern", "files inside archives are not read");
    }
    if m.peek("line_separator").is_some() {
        m.drop_key("line_separator", "lines end with \\n or \\r\\n");
    }
    if m.peek("append_file_option").is_some() {
        m.drop_key(
            "append_file_option",
            "upserts are the destination's job; records are appended per file",
        );
    }
    Ok(finish(
        m,
        Flavour::Fivetran,
        "not a known option of Fivetran's S3 connector",
    ))
}

/// The native `file_format` of an Airbyte `format.filetype`; an
/// unsupported one is a config error naming the key at `path` (with `hint`
/// appended).
fn airbyte_filetype(filetype: &str, path: &str, hint: &str) -> Result<&'static str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_flavour() {
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "prefix": "p"})).unwrap(),
            SourceS3Kind::Native
        );
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "streams": [{"name": "a", "format": {"filetype": "csv"}}]}))
                .unwrap(),
            SourceS3Kind::AirbyteV4
        );
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "streams": [{"name": "a", "file_format": "csv"}]})).unwrap(),
            SourceS3Kind::Native
        );
        assert_eq!(
            detect_source_s3(&json!({"dataset": "d", "provider": {}})).unwrap(),
            SourceS3Kind::AirbyteV3
        );
        assert_eq!(
            detect_source_s3(&json!({"bucket": "b", "file_type": "csv"})).unwrap(),
            SourceS3Kind::Fivetran
        );
        assert_eq!(
            detect_source_s3(&json!({"data": {"config": {}}})).unwrap(),
            SourceS3Kind::Fivetran
        );
        let e = detect_source_s3(&json!({"dataset": "d", "file_type": "csv"}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("v3 (dataset)") && e.contains("Fivetran S3 (file_type)"),
            "{e}"
        );
        let e = detect_source_s3(&json!({"hello": 1})).unwrap_err().to_string();
        assert!(e.contains("Expected one of"), "{e}");
    }

    #[test]
    fn airbyte_type_inference_reads_airbytes_default_booleans() {
        let stream = |format: Value| json!({"bucket": "b", "streams": [{"name": "a", "format": format}]});
        let csv = |format: Value| {
            let m = to_native_source_s3(&stream(format), Flavour::Auto).unwrap();
            m.config["streams"][0].clone()
        };
        let inferred = csv(json!({"filetype": "csv", "inference_type": "Primitive Types Only"}));
        assert_eq!(
            inferred["csv_true_values"],
            json!(crate::formats::options::BoolValues::DEFAULT_TRUE)
        );
        assert_eq!(
            inferred["csv_false_values"],
            json!(crate::formats::options::BoolValues::DEFAULT_FALSE)
        );
        // Lists given: kept as given; no inference: every column a string, no lists added.
        let given = csv(json!({"filetype": "csv", "inference_type": "Primitive Types Only", "true_values": ["oui"]}));
        assert_eq!(given["csv_true_values"], json!(["oui"]));
        assert!(given.get("csv_false_values").is_none(), "{given}");
        let plain = csv(json!({"filetype": "csv"}));
        assert!(plain.get("csv_true_values").is_none(), "{plain}");
    }

    #[test]
    fn wrong_fivetran_service_is_refused() {
        let e = to_native_source_s3(&json!({"service": "sftp", "config": {"host": "h"}}), Flavour::Auto)
            .unwrap_err()
            .to_string();
        assert!(e.contains("'sftp'"), "{e}");
    }
}
