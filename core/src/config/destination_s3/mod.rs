//! destination-s3 configs in every flavour (CONTRACT §4) mapped to the
//! native config, one file per flavour:
//!
//! - `legacy.rs`: native and legacy names (the seed documents' key names);
//! - `airbyte.rs`: Airbyte destination-s3 (`s3_bucket_name`, `format{…}`,
//!   `s3_path_format`, …), with Airbyte's key layout and record envelope.
//!
//! Unlike the source mappings, this one logs its WARNs as it goes and
//! returns the [`MigratedConfig`] itself.

pub mod airbyte;
pub mod legacy;

use lakeport_protocol::{ConnectorError, Emitter, Flavour, MigratedConfig};
use serde_json::Value;

/// Maps a destination-s3 config written in any flavour (`from`, or detected
/// when [`Flavour::Auto`]: Airbyte's by `s3_bucket_name`) to the native one.
pub fn to_native_destination_s3(
    raw: Value,
    from: Flavour,
    out: &mut Emitter,
) -> Result<MigratedConfig, ConnectorError> {
    let is_airbyte = raw.get("s3_bucket_name").is_some();
    match from {
        Flavour::Airbyte => return airbyte::map(raw, out),
        Flavour::Auto if is_airbyte => return airbyte::map(raw, out),
        Flavour::Auto | Flavour::Native | Flavour::Legacy => {}
        other => {
            return Err(ConnectorError::config(format!(
                "destination-s3 does not read {} configs yet; write the config with its native keys (see `destination-s3 spec`).",
                other.name()
            )))
        }
    }
    legacy::map(raw, from, out)
}
