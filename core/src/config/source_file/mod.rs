//! source-file configs in every flavour (CONTRACT §4) mapped to the native
//! config, one file per flavour:
//!
//! - `legacy.rs`: native and legacy names (the S3 key names of seed 004);
//! - `airbyte.rs`: Airbyte's source-file (`dataset_name`, `format`, `url`,
//!   `provider{storage}`, `reader_options` as a JSON string of pandas
//!   options).

mod airbyte;
pub mod legacy;

use lakeport_protocol::Flavour;
use serde_json::Value;

use crate::config::mapping::{object, unknown_flavour, Mapped};
use crate::error::{Error, Result};
use airbyte::AIRBYTE_KEYS;
use legacy::{NATIVE_KEYS, SOURCE_FILE_LEGACY_NAMES};

const EXPECTED: &[&str] = &[
    "native: {\"file_path\", \"format\", \"glob_pattern\", …}",
    "Airbyte source-file: {\"dataset_name\", \"format\", \"url\", \"provider\": {\"storage\": \"local\"|\"S3\"}, \"reader_options\"}",
];

/// Maps a source-file config written in any flavour (`from`, or detected
/// when [`Flavour::Auto`]) to the native config, with a note per key.
pub fn to_native_source_file(raw: &Value, from: Flavour) -> Result<Mapped> {
    let map = object(raw)?;
    let airbyte: Vec<&str> = AIRBYTE_KEYS.iter().copied().filter(|k| map.contains_key(*k)).collect();
    match from {
        Flavour::Fivetran => Err(Error::Config(
            "source-file does not read Fivetran configs: Fivetran has no local-file connector config to import. Write the config with native keys (see `spec`).".into(),
        )),
        Flavour::Airbyte => airbyte::map(map),
        Flavour::Native => Ok(legacy::native(map, false)),
        Flavour::Legacy => Ok(legacy::native(map, true)),
        Flavour::Auto if !airbyte.is_empty() => airbyte::map(map),
        Flavour::Auto => {
            let known = map.keys().any(|k| {
                k == "format"
                    || NATIVE_KEYS.contains(&k.as_str())
                    || SOURCE_FILE_LEGACY_NAMES.iter().any(|(old, _)| old == k)
            });
            if known {
                Ok(legacy::native(map, true))
            } else {
                Err(unknown_flavour("source-file", EXPECTED))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unsupported_storage_and_format_are_config_errors() {
        let e = to_native_source_file(
            &json!({"dataset_name": "d", "format": "csv", "url": "https://x/y.csv", "provider": {"storage": "HTTPS"}}),
            Flavour::Auto,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("'HTTPS'") && e.contains("only local files and S3"), "{e}");
        let e = to_native_source_file(
            &json!({"dataset_name": "d", "format": "excel", "url": "/x.xlsx", "provider": {"storage": "local"}}),
            Flavour::Auto,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("'excel'"), "{e}");
        assert!(to_native_source_file(&json!({"nothing": 1}), Flavour::Auto).is_err());
    }

    #[test]
    fn header_and_names() {
        let m = to_native_source_file(
            &json!({"dataset_name": "d", "format": "csv", "url": "/a.csv", "provider": {"storage": "local"},
                "reader_options": "{\"header\": 0, \"names\": [\"a\", \"b\"], \"skiprows\": 2}"}),
            Flavour::Auto,
        )
        .unwrap();
        assert_eq!(m.config["csv_skip_rows_before_header"], 3);
        assert_eq!(m.config["csv_header"], false);
        assert_eq!(m.config["csv_column_names"], json!(["a", "b"]));
    }
}
