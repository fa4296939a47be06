//! source-s3 configs in every flavour (CONTRACT §4) mapped to the native
//! config, one file per flavour:
//!
//! - `detect.rs`: [`detect::detect_source_s3`] tells the flavour by its
//!   distinctive keys;
//! - `legacy.rs`: native and legacy (seed 000/004) names, and the native-only
//!   keys;
//! - `airbyte_v4.rs`: Airbyte source-s3 v4 (`streams[]` with `format.filetype`);
//! - `airbyte_v3.rs`: Airbyte source-s3 v3 (`dataset`, `path_pattern`,
//!   `provider{}`, `format{}`, `schema`);
//! - `fivetran.rs`: Fivetran's S3 connector (bare,
//!   `{"service":"s3","config":{…}}` or a REST response `{"data":{…}}`);
//! - `common.rs`: the helpers they share.
//!
//! [`to_native_source_s3`] is pure: it returns the native JSON and the notes;
//! the connector logs [`Mapped::warnings`].

mod airbyte_v3;
mod airbyte_v4;
pub mod common;
pub mod detect;
mod fivetran;
mod legacy;

use lakeport_protocol::Flavour;
use serde_json::Value;

use crate::config::mapping::{object, Mapped};
use crate::error::Result;
use detect::{detect_source_s3, v3_signals, v4_signals, SourceS3Kind};

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
        SourceS3Kind::Native => Ok(legacy::native(map, from == Flavour::Native)),
        SourceS3Kind::AirbyteV4 => airbyte_v4::map(map),
        SourceS3Kind::AirbyteV3 => airbyte_v3::map(map),
        SourceS3Kind::Fivetran => fivetran::map(map),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
