//! CSV and TSV: a streaming reader (typed by a target schema or by inference from the
//! first rows, with encodings, skipped rows, null values, a line-length cap and a bad-row
//! policy) and a writer (`write.rs`: header, rows, codec; `fields.rs`: each column's
//! values written as CSV fields straight into the row buffer).

mod fields;
mod read;
mod write;

pub use read::CsvReader;

pub(super) use read::{open_csv, open_tsv};
pub(super) use write::{csv_writer, tsv_writer};
