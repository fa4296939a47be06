//! The `--state` file: any text is a state or an error that says why, never a
//! panic; each stream state then goes through the file sources' cursor.
#![no_main]

use lakeport_core::source::cursor::FileCursor;
use lakeport_protocol::InputState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(_state) = InputState::parse(&text) else { return };
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = FileCursor::state_problem(&value);
        let _ = FileCursor::from_state(Some(&value), 1000);
    }
});
