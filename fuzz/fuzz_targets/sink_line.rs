//! The destinations' input: arbitrary bytes as the lines a source prints.
//! Never a panic; a line the fast scanner accepts as a RECORD is one serde
//! reads as the same RECORD when its `data` is valid JSON.
#![no_main]

use lakeport_core::sink::input::lines::for_each_line;
use lakeport_core::sink::input::parse_line;
use lakeport_core::sink::input::scan::scan_record;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input: &[u8] = data;
    let _ = for_each_line(&mut input, |text, _| {
        if let Some(fast) = scan_record(text) {
            let record = fast.record.expect("a scanned RECORD has a record");
            assert!(record.data.starts_with('{') && record.data.ends_with('}'), "{text}");
            if serde_json::from_str::<serde_json::Value>(record.data).is_ok() {
                let full: serde_json::Value = serde_json::from_str(text).expect("a scanned line is JSON");
                assert_eq!(full["type"], "RECORD", "{text}");
                assert_eq!(
                    full["record"]["stream"].as_str(),
                    Some(record.stream.as_ref()),
                    "{text}"
                );
            }
        }
        let _ = parse_line(text);
        Ok(())
    });
});
