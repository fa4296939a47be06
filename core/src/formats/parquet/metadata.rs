//! The footer as the Arrow reader sees it: error mapping, INT96 timestamps read as
//! microseconds, a footer row count taken at its row groups' word, impossible dictionary
//! page offsets dropped.

use std::sync::Arc;

use arrow::datatypes::{DataType, Fields, Schema, TimeUnit};
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::{FileMetaData, ParquetMetaData, ParquetMetaDataBuilder};
use parquet::schema::types::TypePtr;

use super::footer::without_impossible_dictionary_offsets;
use crate::error::{Error, Result};

pub(super) fn perr(file: &str, e: impl std::fmt::Display) -> Error {
    let msg = e.to_string();
    if msg.contains("magic") || msg.contains("footer") || msg.contains("metadata") {
        Error::format(
            file,
            format!("the file is not valid Parquet ({msg}); check the file format and that the upload is complete"),
        )
    } else {
        Error::format(file, msg)
    }
}

/// Arrow reader metadata for a file: its schema as the parquet crate maps it, except INT96
/// timestamps, which are read at microsecond resolution. INT96 (Impala, Hive, Spark) holds
/// nanoseconds within a day plus a Julian day; as an `i64` of nanoseconds it overflows past
/// 2262 (Spark writes `9999-12-31`), while microseconds cover every year a reader meets —
/// as pyarrow's `coerce_int96_timestamp_unit="us"` and Spark itself do.
///
/// A footer whose row count disagrees with its row groups' (old writers left 0 there) is
/// taken at its row groups' word: the decoder reads no more rows than the footer says. A
/// dictionary page offset before the first page is dropped
/// ([`without_impossible_dictionary_offsets`]).
pub(super) fn arrow_metadata(file: &str, metadata: Arc<ParquetMetaData>) -> Result<ArrowReaderMetadata> {
    let metadata = without_impossible_dictionary_offsets(with_row_count_of_row_groups(metadata));
    let plain =
        ArrowReaderMetadata::try_new(Arc::clone(&metadata), ArrowReaderOptions::new()).map_err(|e| perr(file, e))?;
    let descr = metadata.file_metadata().schema_descr_ptr();
    if !descr.columns().iter().any(|c| c.physical_type() == PhysicalType::INT96) {
        return Ok(plain);
    }
    let fields = int96_as_micros(plain.schema().fields(), descr.root_schema().get_fields());
    let hinted = Arc::new(Schema::new_with_metadata(fields, plain.schema().metadata().clone()));
    ArrowReaderMetadata::try_new(metadata, ArrowReaderOptions::new().with_schema(hinted)).map_err(|e| perr(file, e))
}

/// `metadata` with the file's row count set to the sum of its row groups' when they differ.
pub(super) fn with_row_count_of_row_groups(metadata: Arc<ParquetMetaData>) -> Arc<ParquetMetaData> {
    let rows: i64 = metadata.row_groups().iter().map(|rg| rg.num_rows()).sum();
    let fm = metadata.file_metadata();
    if fm.num_rows() == rows {
        return metadata;
    }
    let fixed = FileMetaData::new(
        fm.version(),
        rows,
        fm.created_by().map(str::to_string),
        fm.key_value_metadata().cloned(),
        fm.schema_descr_ptr(),
        fm.column_orders().cloned(),
    );
    Arc::new(
        ParquetMetaDataBuilder::new(fixed)
            .set_row_groups(metadata.row_groups().to_vec())
            .build(),
    )
}

/// `fields` with the timestamps of INT96 columns (top level or in structs) in microseconds.
fn int96_as_micros(fields: &Fields, parquet: &[TypePtr]) -> Fields {
    fields
        .iter()
        .map(|f| {
            let leaf = parquet.iter().find(|p| p.name() == f.name());
            let dt = match (f.data_type(), leaf) {
                (DataType::Timestamp(TimeUnit::Nanosecond, tz), Some(p))
                    if p.is_primitive() && p.get_physical_type() == PhysicalType::INT96 =>
                {
                    DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
                }
                (DataType::Struct(children), Some(p)) if p.is_group() => {
                    DataType::Struct(int96_as_micros(children, p.get_fields()))
                }
                (dt, _) => dt.clone(),
            };
            Arc::new(f.as_ref().clone().with_data_type(dt))
        })
        .collect()
}
