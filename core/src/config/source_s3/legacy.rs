//! Native and legacy (seed 000/004) source-s3 configs: the keys are kept,
//! legacy names renamed to their native ones.

use lakeport_protocol::Flavour;
use serde_json::{Map, Value};

use super::common::SOURCE_S3_LEGACY_NAMES;
use crate::config::mapping::{rename_legacy, used_legacy, KeyNote, Mapped};

/// The native config of a native (`strict`: every key kept as written) or
/// legacy config.
pub(super) fn native(map: &Map<String, Value>, strict: bool) -> Mapped {
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
