//! Airbyte destination-s3 configs, read verbatim and mapped to the native
//! config (CONTRACT §4): `s3_bucket_name`, `s3_bucket_path`,
//! `s3_bucket_region`, `s3_endpoint`, `access_key_id`, `secret_access_key`,
//! `role_arn`, `s3_path_format`, `file_name_pattern` and
//! `format{format_type, compression_codec | compression{compression_type},
//! flattening, part_size_mb}`.
//!
//! The native config keeps Airbyte's layout (`path_format`,
//! `file_name_pattern`, Airbyte's default when unset) and envelope
//! (`airbyte_envelope`). Options without an equivalent are named in one WARN.

use lakeport_protocol::{ConnectorError, Emitter, Flavour, MigratedConfig};
use serde_json::{Map, Value};

use crate::sink::key_layout::{DEFAULT_FILE_NAME_PATTERN, DEFAULT_PATH_FORMAT};

/// Format options Airbyte has and we do not (their effect is ours by default
/// or has no meaning here).
const IGNORED_FORMAT_KEYS: &[&str] = &[
    "block_size_mb",
    "max_padding_size_mb",
    "page_size_kb",
    "dictionary_page_size_kb",
    "dictionary_encoding",
    "compression_level",
    "include_checksum",
];

/// The trimmed text of `key`, unless absent, not a string or blank.
fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Maps an Airbyte destination-s3 config to the native one.
pub(super) fn map(raw: Value, out: &mut Emitter) -> Result<MigratedConfig, ConnectorError> {
    let Value::Object(src) = raw else {
        return Err(ConnectorError::config("The config must be a JSON object."));
    };
    let mut dst = Map::new();
    let mut dropped: Vec<String> = Vec::new();
    let bucket = text(&src, "s3_bucket_name")
        .ok_or_else(|| ConnectorError::config("field 's3_bucket_name' is required: set it to the bucket's name."))?;
    dst.insert("bucket".into(), Value::String(bucket));
    if let Some(path) = text(&src, "s3_bucket_path") {
        dst.insert("path_prefix".into(), Value::String(path));
    }
    if let Some(region) = text(&src, "s3_bucket_region") {
        dst.insert("region".into(), Value::String(region));
    }
    if let Some(endpoint) = text(&src, "s3_endpoint") {
        if endpoint.starts_with("http://") {
            dst.insert("use_ssl".into(), Value::Bool(false));
        }
        dst.insert("endpoint_url".into(), Value::String(endpoint));
    }
    for key in ["access_key_id", "secret_access_key", "role_arn"] {
        if let Some(v) = text(&src, key) {
            dst.insert(key.into(), Value::String(v));
        }
    }
    dst.insert(
        "path_format".into(),
        Value::String(text(&src, "s3_path_format").unwrap_or_else(|| DEFAULT_PATH_FORMAT.to_string())),
    );
    dst.insert(
        "file_name_pattern".into(),
        Value::String(text(&src, "file_name_pattern").unwrap_or_else(|| DEFAULT_FILE_NAME_PATTERN.to_string())),
    );
    for key in src.keys() {
        if ![
            "s3_bucket_name",
            "s3_bucket_path",
            "s3_bucket_region",
            "s3_endpoint",
            "access_key_id",
            "secret_access_key",
            "role_arn",
            "s3_path_format",
            "file_name_pattern",
            "format",
        ]
        .contains(&key.as_str())
        {
            dropped.push(key.clone());
        }
    }

    let format = match src.get("format") {
        Some(Value::Object(f)) => f.clone(),
        _ => return Err(ConnectorError::config(
            "field 'format' is required: an object like {\"format_type\": \"Parquet\"} (CSV, JSONL, Parquet or Avro).",
        )),
    };
    let format_type = text(&format, "format_type").unwrap_or_default().to_ascii_lowercase();
    let (file_format, codec, flattening) = match format_type.as_str() {
        "csv" | "jsonl" => {
            let codec = csv_codec(&format)?;
            let flat = match text(&format, "flattening").map(|f| f.to_ascii_lowercase()).as_deref() {
                Some("root level flattening") => "root_level",
                _ => "no_flattening",
            };
            (format_type.clone(), codec, flat)
        }
        "parquet" => {
            let codec = parquet_codec(&format, &mut dropped)?;
            ("parquet".to_string(), codec, "root_level")
        }
        "avro" => {
            let codec = avro_codec(&format)?;
            ("avro".to_string(), codec, "root_level")
        }
        _ => {
            return Err(ConnectorError::config(format!(
                "format.format_type '{format_type}' is not known; use CSV, JSONL, Parquet or Avro."
            )))
        }
    };
    dst.insert("file_format".into(), Value::String(file_format));
    dst.insert("compression".into(), Value::String(codec.to_string()));
    dst.insert("airbyte_envelope".into(), Value::String(flattening.to_string()));
    if let Some(part) = format.get("part_size_mb").and_then(Value::as_u64) {
        dst.insert("part_size_mb".into(), Value::from(part.max(5)));
    }
    for key in format.keys() {
        if IGNORED_FORMAT_KEYS.contains(&key.as_str()) {
            dropped.push(format!("format.{key}"));
        }
    }
    if !dropped.is_empty() {
        let _ = out.warn(format!(
            "These Airbyte destination-s3 options have no equivalent and are ignored: {}.",
            dropped.join(", ")
        ));
    }
    Ok(MigratedConfig::new(Value::Object(dst), Flavour::Airbyte))
}

/// The codec of a CSV or JSONL `format.compression` (GZIP unless it says
/// No Compression).
fn csv_codec(format: &Map<String, Value>) -> Result<&'static str, ConnectorError> {
    Ok(match format.get("compression") {
        Some(Value::Object(c)) => match text(c, "compression_type").map(|t| t.to_ascii_lowercase()).as_deref() {
            Some("gzip") | None => "gzip",
            Some("no compression") => "none",
            Some(other) => {
                return Err(ConnectorError::config(format!(
                    "format.compression.compression_type '{other}' is not known; use GZIP or No Compression."
                )))
            }
        },
        _ => "gzip",
    })
}

/// The codec of a Parquet `format.compression_codec` (LZO, which is not
/// written, becomes snappy and is named in `dropped`).
fn parquet_codec(format: &Map<String, Value>, dropped: &mut Vec<String>) -> Result<&'static str, ConnectorError> {
    Ok(
        match text(format, "compression_codec")
            .map(|c| c.to_ascii_uppercase())
            .as_deref()
        {
            None | Some("UNCOMPRESSED") => "none",
            Some("SNAPPY") => "snappy",
            Some("GZIP") => "gzip",
            Some("BROTLI") => "brotli",
            Some("LZ4") => "lz4",
            Some("ZSTD") => "zstd",
            Some("LZO") => {
                dropped.push("format.compression_codec LZO (written with snappy instead)".into());
                "snappy"
            }
            Some(other) => {
                return Err(ConnectorError::config(format!(
                "format.compression_codec '{other}' is not known; use UNCOMPRESSED, SNAPPY, GZIP, BROTLI, LZ4 or ZSTD."
            )))
            }
        },
    )
}

/// The codec of an Avro `format.compression_codec.codec`.
fn avro_codec(format: &Map<String, Value>) -> Result<&'static str, ConnectorError> {
    Ok(match format.get("compression_codec") {
        Some(Value::Object(c)) => {
            match text(c, "codec").map(|c| c.to_ascii_lowercase()).as_deref() {
                None | Some("no compression") => "none",
                Some("deflate") => "deflate",
                Some("bzip2") => "bzip2",
                Some("xz") => "xz",
                Some("zstandard") => "zstd",
                Some("snappy") => "snappy",
                Some(other) => {
                    return Err(ConnectorError::config(format!(
                        "format.compression_codec.codec '{other}' is not known; use no compression, Deflate, bzip2, xz, zstandard or snappy."
                    )))
                }
            }
        }
        _ => "none",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn airbyte_config_maps() {
        let raw = json!({
            "s3_bucket_name": "lake", "s3_bucket_path": "data_sync/test", "s3_bucket_region": "us-west-2",
            "s3_endpoint": "http://localhost:9000", "access_key_id": "A", "secret_access_key": "S",
            "format": {"format_type": "CSV", "flattening": "Root level flattening", "compression": {"compression_type": "No Compression"}},
            "s3_path_format": "${STREAM_NAME}/", "file_name_pattern": "{date}{format_extension}"
        });
        let mut quiet = Emitter::new(Box::new(std::io::sink()));
        let m = map(raw, &mut quiet).unwrap();
        assert_eq!(m.flavour, Flavour::Airbyte);
        assert_eq!(
            m.config,
            json!({"bucket": "lake", "path_prefix": "data_sync/test", "region": "us-west-2",
                "use_ssl": false, "endpoint_url": "http://localhost:9000", "access_key_id": "A",
                "secret_access_key": "S", "path_format": "${STREAM_NAME}/", "file_name_pattern": "{date}{format_extension}",
                "file_format": "csv", "compression": "none", "airbyte_envelope": "root_level"})
        );
        let raw = json!({"s3_bucket_name": "lake", "s3_bucket_path": "p", "s3_bucket_region": "",
            "format": {"format_type": "Parquet", "compression_codec": "SNAPPY", "block_size_mb": 128}});
        let m = map(raw, &mut quiet).unwrap();
        assert_eq!(m.config["compression"], json!("snappy"));
        assert_eq!(m.config["path_format"], json!(DEFAULT_PATH_FORMAT));
        assert_eq!(m.config["file_name_pattern"], json!(DEFAULT_FILE_NAME_PATTERN));
        let raw = json!({"s3_bucket_name": "lake", "format": {"format_type": "Avro", "compression_codec": {"codec": "zstandard"}}});
        assert_eq!(map(raw, &mut quiet).unwrap().config["compression"], json!("zstd"));
        let raw = json!({"s3_bucket_name": "lake", "format": {"format_type": "JSONL"}});
        let c = map(raw, &mut quiet).unwrap().config;
        assert_eq!(
            (c["compression"].clone(), c["airbyte_envelope"].clone()),
            (json!("gzip"), json!("no_flattening"))
        );
    }
}
