//! CSV and TSV: a streaming reader (typed by a target schema or by inference from the
//! first rows, with encodings, skipped rows, null values, a line-length cap and a bad-row
//! policy) and a writer.

mod read;
mod write;

pub use read::CsvReader;

pub(super) use read::{open_csv, open_tsv};
pub(super) use write::{csv_writer, tsv_writer};
