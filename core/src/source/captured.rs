//! Test support: an [`Emitter`] sink whose output a test reads back as JSON
//! messages (shared by the engine's and the read steps' tests).

use std::sync::{Arc, Mutex};

use lakeport_protocol::Emitter;
use serde_json::Value;

/// Everything an [`Emitter`] wrote.
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Every message written so far (kept for the next call).
    pub(crate) fn lines(&self, out: &mut Emitter) -> Vec<Value> {
        out.flush().unwrap();
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The messages written since the last `take`.
    pub(crate) fn take(&self, out: &mut Emitter) -> Vec<Value> {
        let lines = self.lines(out);
        self.0.lock().unwrap().clear();
        lines
    }
}
