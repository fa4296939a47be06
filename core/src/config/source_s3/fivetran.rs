//! Fivetran's S3 connector configs: bare, `{"service":"s3","config":{…}}`
//! or a REST response `{"data":{…}}`.

use lakeport_protocol::Flavour;
use serde_json::{json, Map, Value};

use super::common::finish;
use super::detect::fivetran_wrapper;
use super::legacy::NATIVE_ONLY;
use crate::config::mapping::{as_bool, as_count, as_text, KeyNote, Mapped, Mapper};
use crate::error::{Error, Result};

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

/// Maps a Fivetran S3 connector config (bare or wrapped).
pub(super) fn map(outer: &Map<String, Value>) -> Result<Mapped> {
    let (map, path) = unwrap(outer)?;
    let mut m = Mapper::new(map, path);
    m.keep_native(NATIVE_ONLY);
    files(&mut m);
    csv(&mut m);
    credentials(&mut m);
    listing_and_json(&mut m);
    streams(&mut m, path);
    connection(&mut m);
    unsupported(&mut m);
    Ok(finish(
        m,
        Flavour::Fivetran,
        "not a known option of Fivetran's S3 connector",
    ))
}

/// The connector's config inside a Fivetran wrapper (and the path its keys
/// are named with), or `outer` itself; a wrapper of another service is refused.
fn unwrap(outer: &Map<String, Value>) -> Result<(&Map<String, Value>, &'static str)> {
    Ok(match fivetran_wrapper(outer) {
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
    })
}

/// Bucket, prefix, key pattern, file type, compression and error policy.
fn files(m: &mut Mapper<'_>) {
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
}

/// The CSV options: delimiter, quoting, nulls, rows skipped, header.
fn csv(m: &mut Mapper<'_>) {
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
}

/// Credentials and authentication (a public bucket drops the credentials).
fn credentials(m: &mut Mapper<'_>) {
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
}

/// The listing strategy and the JSON delivery mode.
fn listing_and_json(m: &mut Mapper<'_>) {
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
}

/// Streams: `files[]` (DEFINE_PER_TABLE), `extraction_pattern`
/// (EXTRACT_TABLES), or one table; `path` is where the config's keys are.
fn streams(m: &mut Mapper<'_>, path: &str) {
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
}

/// The destination schema and how Fivetran connects (tunnels, PrivateLink,
/// proxy agents): not carried over.
fn connection(m: &mut Mapper<'_>) {
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
}

/// PGP encryption, archives, line separators and upserts: not supported.
fn unsupported(m: &mut Mapper<'_>) {
    if m.peek("use_pgp_encryption_options").and_then(as_bool) == Some(false) {
        m.ignore("use_pgp_encryption_options", "files are not PGP-encrypted");
    }
    let pgp: Vec<String> = m
        .src()
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
}
