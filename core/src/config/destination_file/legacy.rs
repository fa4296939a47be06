//! Native and legacy destination-file configs: the keys are kept, legacy
//! names renamed to their native ones.

use lakeport_protocol::Flavour;
use serde_json::{Map, Value};

use crate::config::mapping::{rename_legacy, used_legacy, Mapped};

/// Legacy name → native name for destination-file, in precedence order.
pub const DESTINATION_FILE_LEGACY_NAMES: &[(&str, &str)] = &[("file_format", "format")];

/// Native keys of destination-file.
pub(super) const NATIVE_KEYS: &[&str] = &[
    "base_path",
    "format",
    "compression",
    "overwrite",
    "file_size_mb",
    "partition_by",
    "metadata_columns",
    "csv_delimiter",
    "airbyte_raw",
];

/// The native config of a native or (`legacy`: legacy names renamed) legacy
/// config.
pub(super) fn native(map: &Map<String, Value>, legacy: bool) -> Mapped {
    let mut config = map.clone();
    let names = if legacy { DESTINATION_FILE_LEGACY_NAMES } else { &[] };
    let notes = rename_legacy(&mut config, names);
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
