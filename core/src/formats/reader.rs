//! What every format's reader is: a [`BatchReader`] (record batches of a known schema, and
//! the warnings about records skipped or nulled), and the bounded [`Warnings`] list.

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

use crate::error::Result;

/// An iterator of record batches with a known schema and warnings about skipped records.
pub trait BatchReader: Iterator<Item = Result<RecordBatch>> + Send {
    /// The schema of every batch produced (the target schema when one was given).
    fn schema(&self) -> SchemaRef;
    /// Warnings collected so far (skipped records, widened types), for the caller to log.
    fn take_warnings(&mut self) -> Vec<String>;
}

/// A bounded list of warnings (the first 100 kept, the rest counted).
#[derive(Debug, Default, Clone)]
pub struct Warnings {
    list: Vec<String>,
    dropped: usize,
}

impl Warnings {
    /// Adds a warning.
    pub fn push(&mut self, w: String) {
        if self.list.len() < 100 {
            self.list.push(w);
        } else {
            self.dropped += 1;
        }
    }

    /// Takes the warnings collected so far.
    pub fn take(&mut self) -> Vec<String> {
        let mut out = std::mem::take(&mut self.list);
        if self.dropped > 0 {
            out.push(format!("… and {} more warnings", self.dropped));
            self.dropped = 0;
        }
        out
    }
}
