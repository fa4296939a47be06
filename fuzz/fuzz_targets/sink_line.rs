//! The destinations' input: arbitrary bytes as the lines a source prints.
//! Never a panic; a line the fast scanner accepts as a RECORD is one serde
//! reads as the same RECORD when its `data` is valid JSON; the deferred scan,
//! where its `data` passes the engine's check, reads what the full scan reads.
#![no_main]

use lakeport_core::sink::input::lines::for_each_line;
use lakeport_core::sink::input::parse_line;
use lakeport_core::sink::input::scan::{is_one_value, scan_record, scan_record_deferred};
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
        let shown = |l: Option<lakeport_core::sink::input::message::InputLine<'_>>| {
            l.and_then(|l| l.record)
                .filter(|r| r.data_checked || is_one_value(r.data))
                .map(|r| format!("{}|{:?}|{}|{}|{:?}", r.stream, r.namespace, r.data, r.emitted_at, r.meta))
        };
        // Where the check fails, the engine reads the line in full.
        let deferred = shown(scan_record_deferred(text));
        assert!(deferred.is_none() || deferred == shown(scan_record(text)), "{text}");
        let _ = parse_line(text);
        Ok(())
    });
});
