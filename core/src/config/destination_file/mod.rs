//! destination-file configs in every flavour (CONTRACT §4) mapped to the
//! native config, one file per flavour:
//!
//! - `legacy.rs`: native and legacy names;
//! - `airbyte.rs`: Airbyte's destination-local-json and destination-csv
//!   (`destination_path`, plus `delimiter_type` for CSV), which map to
//!   `airbyte_raw: true` (Airbyte's raw-table file layout).
//!
//! `destination_path` keeps Airbyte's meaning: a directory inside the
//! `/local` mount (`/local/json_data`; `json_data` and `/json_data` mean the
//! same). destination-file resolves `/local` when it writes (see its
//! `raw` module).

mod airbyte;
pub mod legacy;

use lakeport_protocol::Flavour;
use serde_json::Value;

use crate::config::mapping::{object, unknown_flavour, Mapped};
use crate::error::{Error, Result};
use legacy::{DESTINATION_FILE_LEGACY_NAMES, NATIVE_KEYS};

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
        Flavour::Airbyte => airbyte::map(map),
        Flavour::Auto if map.contains_key("destination_path") => airbyte::map(map),
        Flavour::Native => Ok(legacy::native(map, false)),
        Flavour::Legacy => Ok(legacy::native(map, true)),
        Flavour::Auto => {
            let known = map.keys().any(|k| {
                NATIVE_KEYS.contains(&k.as_str()) || DESTINATION_FILE_LEGACY_NAMES.iter().any(|(old, _)| old == k)
            });
            if known {
                Ok(legacy::native(map, true))
            } else {
                Err(unknown_flavour("destination-file", EXPECTED))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn csv_delimiters() {
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
}
