//! Parquet read in place from a local file ([`Storage::open_file`]): the
//! footer, then the column chunks the projection and filters need, each a
//! read at its offset on the scan worker's thread — no ranged requests, no
//! runtime hops, no row groups held ahead.
//!
//! [`Storage::open_file`]: crate::storage::Storage::open_file

use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::reader::{ChunkReader, Length};

use crate::error::Result;
use crate::formats::parquet::read_parquet;
use crate::formats::{BatchReader, ReadOptions};
use crate::storage::local_file::LocalFileReader;
use crate::storage::LocalFile;

/// Opens `file` (the object `key`) as Parquet batches.
pub fn open_parquet_in_place(
    key: &str,
    file: LocalFile,
    opts: &ReadOptions,
    target: Option<SchemaRef>,
) -> Result<Box<dyn BatchReader>> {
    Ok(Box::new(read_parquet(key, Chunks(file), opts, target)?))
}

/// A [`LocalFile`] as the Parquet reader's random-access input.
struct Chunks(LocalFile);

impl Length for Chunks {
    fn len(&self) -> u64 {
        self.0.len()
    }
}

impl ChunkReader for Chunks {
    type T = LocalFileReader;

    fn get_read(&self, start: u64) -> parquet::errors::Result<LocalFileReader> {
        Ok(self.0.reader_at(start))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let bytes = self
            .0
            .read_at(start, length)
            .map_err(|e| ParquetError::External(Box::new(e)))?;
        if bytes.len() < length {
            return Err(ParquetError::EOF(format!(
                "expected {length} bytes at offset {start}, the file holds {}",
                bytes.len()
            )));
        }
        Ok(bytes)
    }
}
