//! Config flavour detection and mapping to native names: any JSON config, in
//! every flavour, maps or fails with an error, never a panic.
#![no_main]

use lakeport_core::config::{to_native_destination_file, to_native_source_file, to_native_source_s3};
use lakeport_protocol::{Emitter, Flavour};
use libfuzzer_sys::fuzz_target;

const FLAVOURS: [Flavour; 5] = [
    Flavour::Auto,
    Flavour::Native,
    Flavour::Legacy,
    Flavour::Airbyte,
    Flavour::Fivetran,
];

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = lakeport_core::config::source_s3::detect::detect_source_s3(&raw);
    for from in FLAVOURS {
        for mapped in [
            to_native_source_s3(&raw, from),
            to_native_source_file(&raw, from),
            to_native_destination_file(&raw, from),
        ]
        .into_iter()
        .flatten()
        {
            let _ = mapped.table_rows();
            let _ = mapped.warnings();
            let mut out = Emitter::new(Box::new(std::io::sink()));
            let _ = mapped.migrate(&mut out);
        }
    }
});
