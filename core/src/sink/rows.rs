//! The records of one open file, on their way to its writer thread as
//! [`Chunk`]s: held as JSON text until a batch is full and then decoded in
//! one pass there ([`RowChunk`]), or already decoded into columns as they
//! were read ([`DecodedRows`]: the flat fast path, one scan per record);
//! the metadata columns are built there as arrays (no per-record string
//! splicing).

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringBuilder, TimestampMicrosecondArray};
use arrow::datatypes::{Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::records::{FlatJsonDecoder, FlatRows, JsonRecordDecoder};
use crate::schema::timestamp_utc;

/// Records held as JSON text: one line of `text` per record.
#[derive(Debug, Default)]
pub struct RowChunk {
    text: String,
    /// Where each record's text ends in `text`.
    ends: Vec<usize>,
    emitted_at: Vec<i64>,
    lines: Vec<u64>,
}

impl RowChunk {
    /// Records held.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Adds a record's `data` object (JSON text on one line) read from input line `line`.
    pub fn push(&mut self, data: &str, emitted_at: i64, line: u64) {
        self.text.push_str(data);
        self.ends.push(self.text.len());
        self.text.push('\n');
        self.emitted_at.push(emitted_at);
        self.lines.push(line);
    }

    /// Each record's text.
    fn texts(&self) -> Vec<&str> {
        let mut start = 0;
        self.ends
            .iter()
            .map(|&end| {
                let text = &self.text[start..end];
                start = end + 1;
                text
            })
            .collect()
    }
}

/// Records decoded into the columns of a batch on the thread that read them.
pub struct DecodedRows {
    data: FlatRows,
    emitted_at: Vec<i64>,
}

impl DecodedRows {
    /// Room for `rows` records of `decoder`'s schema.
    pub fn new(decoder: Arc<FlatJsonDecoder>, rows: usize) -> Self {
        DecodedRows {
            data: FlatRows::new(decoder, rows, rows * 32),
            emitted_at: Vec::with_capacity(rows),
        }
    }

    /// Decodes a record's `data` object into the columns: `false`, with
    /// nothing added, when the fast path does not take it (see
    /// [`FlatRows::push`]).
    pub fn push(&mut self, data: &str, emitted_at: i64) -> bool {
        let taken = self.data.push(data);
        if taken {
            self.emitted_at.push(emitted_at);
        }
        taken
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.emitted_at.len()
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.emitted_at.is_empty()
    }
}

/// Records of one file handed to its writer thread.
pub enum Chunk {
    /// As JSON text, decoded there.
    Text(RowChunk),
    /// Already decoded.
    Decoded(DecodedRows),
}

/// The schema of a record's data in batches of `schema`: without its
/// metadata columns (`_airbyte_raw_id`, `_airbyte_extracted_at` and, with a
/// `generation`, `_airbyte_generation_id`).
pub fn data_schema(schema: &SchemaRef, metadata_columns: bool, generation: Option<i64>) -> SchemaRef {
    let skip = match (metadata_columns, generation) {
        (false, _) => return Arc::clone(schema),
        (true, None) => 2,
        (true, Some(_)) => 3,
    };
    Arc::new(Schema::new(
        schema.fields().iter().skip(skip).cloned().collect::<Vec<_>>(),
    ))
}

/// Turns chunks of records into batches of one schema: the flat fast path
/// while the records allow it, Arrow's JSON decoder otherwise.
pub struct ChunkDecoder {
    label: String,
    /// The fast path while every chunk so far took it.
    flat: Option<FlatJsonDecoder>,
    decoder: JsonRecordDecoder,
    data_schema: SchemaRef,
    schema: SchemaRef,
    metadata_columns: bool,
    /// `_airbyte_generation_id`'s value, when that column is written.
    generation: Option<i64>,
    batch_size: usize,
}

impl ChunkDecoder {
    /// A decoder for batches of `schema`; with `metadata_columns`, its first two
    /// fields are `_airbyte_raw_id` and `_airbyte_extracted_at`, generated here.
    /// `label` (the stream) names the records in errors; chunks hold at most
    /// `batch_size` records.
    pub fn new(label: &str, schema: SchemaRef, metadata_columns: bool, batch_size: usize) -> Result<Self> {
        let data_schema = data_schema(&schema, metadata_columns, None);
        let batch_size = batch_size.max(1);
        Ok(ChunkDecoder {
            label: label.to_string(),
            flat: FlatJsonDecoder::new(Arc::clone(&data_schema)),
            decoder: JsonRecordDecoder::new(Arc::clone(&data_schema), batch_size)?,
            data_schema,
            schema,
            metadata_columns,
            generation: None,
            batch_size,
        })
    }

    /// With `metadata_columns`, `schema`'s third field is
    /// `_airbyte_generation_id`, filled with `generation` (nothing changes
    /// for `None`).
    pub fn with_generation(mut self, generation: Option<i64>) -> Result<Self> {
        if self.metadata_columns && generation.is_some() {
            self.data_schema = data_schema(&self.schema, true, generation);
            self.flat = FlatJsonDecoder::new(Arc::clone(&self.data_schema));
            self.decoder = JsonRecordDecoder::new(Arc::clone(&self.data_schema), self.batch_size)?;
        }
        self.generation = generation;
        Ok(self)
    }

    /// The batch of a non-empty chunk (see [`ChunkDecoder::decode`]).
    pub fn batch(&mut self, chunk: Chunk) -> Result<RecordBatch> {
        match chunk {
            Chunk::Text(rows) => self.decode(&rows),
            Chunk::Decoded(DecodedRows { data, emitted_at }) => {
                let data = data
                    .finish()
                    .ok_or_else(|| Error::Internal("decoded columns of unequal lengths".into()))?;
                if data.schema() != self.data_schema {
                    return Err(Error::Internal("records decoded for another schema".into()));
                }
                self.finish(&emitted_at, data)
            }
        }
    }

    /// Decodes a non-empty chunk into one batch. A record that does not fit
    /// the schema is an error naming its input line.
    pub fn decode(&mut self, chunk: &RowChunk) -> Result<RecordBatch> {
        let rows = chunk.len();
        if let Some(flat) = &self.flat {
            match flat.decode(&chunk.texts(), chunk.text.len()) {
                Some(data) => return self.finish(&chunk.emitted_at, data),
                // Records the fast path does not take: Arrow's decoder from now on.
                None => self.flat = None,
            }
        }
        let decoded = self
            .decoder
            .push_rows(chunk.text.as_bytes(), rows)
            .and_then(|()| self.decoder.flush());
        let data = match decoded {
            Ok(Some(batch)) if batch.num_rows() == rows => batch,
            Ok(_) => return Err(Error::Internal(format!("decoded a batch of other than {rows} rows"))),
            Err(e) => {
                // Start afresh, and name the first record that fails on its own.
                self.decoder = JsonRecordDecoder::new(Arc::clone(&self.data_schema), self.batch_size)?;
                return Err(self.locate_error(chunk).unwrap_or(e));
            }
        };
        self.finish(&chunk.emitted_at, data)
    }

    /// The batch of `data` with the metadata columns; `emitted_at` holds
    /// each record's extraction time.
    fn finish(&self, emitted_at: &[i64], data: RecordBatch) -> Result<RecordBatch> {
        let rows = data.num_rows();
        if emitted_at.len() != rows {
            return Err(Error::Internal(format!(
                "{} extraction times for {rows} rows",
                emitted_at.len()
            )));
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        if self.metadata_columns {
            columns.push(Arc::new(raw_ids(rows)));
            let micros = emitted_at.iter().map(|ms| ms.saturating_mul(1000));
            columns.push(Arc::new(
                TimestampMicrosecondArray::from_iter_values(micros).with_data_type(timestamp_utc()),
            ));
            if let Some(generation) = self.generation {
                columns.push(Arc::new(Int64Array::from_value(generation, rows)));
            }
        }
        columns.extend(data.columns().iter().cloned());
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)
            .map_err(|e| Error::Internal(format!("record batch: {e}")))
    }

    fn locate_error(&self, chunk: &RowChunk) -> Option<Error> {
        for (text, line) in chunk.texts().into_iter().zip(&chunk.lines) {
            let mut one = JsonRecordDecoder::new(Arc::clone(&self.data_schema), 1).ok()?;
            if let Err(e) = one.push(text.as_bytes()).and_then(|()| one.flush()) {
                let message = match e {
                    Error::Format { message, .. } => message,
                    other => other.to_string(),
                };
                return Some(Error::format(
                    format!("stream '{}', input line {line}", self.label),
                    message,
                ));
            }
        }
        None
    }
}

/// A chunk being filled and the decoder for it: decoding on the caller's thread.
pub struct RowBuffer {
    chunk: RowChunk,
    decoder: ChunkDecoder,
    batch_size: usize,
}

impl RowBuffer {
    /// See [`ChunkDecoder::new`].
    pub fn new(label: &str, schema: SchemaRef, metadata_columns: bool, batch_size: usize) -> Result<Self> {
        Ok(RowBuffer {
            chunk: RowChunk::default(),
            decoder: ChunkDecoder::new(label, schema, metadata_columns, batch_size)?,
            batch_size: batch_size.max(1),
        })
    }

    /// Records buffered.
    pub fn len(&self) -> usize {
        self.chunk.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.chunk.is_empty()
    }

    /// Whether a full batch is buffered (call [`Self::flush`]).
    pub fn is_full(&self) -> bool {
        self.len() >= self.batch_size
    }

    /// Adds a record; see [`RowChunk::push`].
    pub fn push(&mut self, data: &str, emitted_at: i64, line: u64) {
        self.chunk.push(data, emitted_at, line);
    }

    /// Decodes the buffered records into one batch (`None` when empty).
    pub fn flush(&mut self) -> Result<Option<RecordBatch>> {
        if self.is_empty() {
            return Ok(None);
        }
        let chunk = std::mem::take(&mut self.chunk);
        self.decoder.decode(&chunk).map(Some)
    }

    /// Takes the buffered records, to be decoded elsewhere.
    pub fn take(&mut self) -> RowChunk {
        std::mem::take(&mut self.chunk)
    }
}

/// `rows` fresh UUIDs (v4), hyphenated.
fn raw_ids(rows: usize) -> arrow::array::StringArray {
    let mut ids = StringBuilder::with_capacity(rows, rows * 36);
    let mut buf = uuid::Uuid::encode_buffer();
    for _ in 0..rows {
        ids.append_value(uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf));
    }
    ids.finish()
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Field, Int64Type, TimestampMicrosecondType};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("_airbyte_raw_id", DataType::Utf8, true),
            Field::new("_airbyte_extracted_at", timestamp_utc(), true),
            Field::new("a", DataType::Int64, true),
        ]))
    }

    #[test]
    fn decodes_a_batch_with_metadata_columns() {
        let mut rows = RowBuffer::new("s", schema(), true, 2).unwrap();
        rows.push(r#"{"a":1}"#, 1_700_000_000_123, 3);
        assert!(!rows.is_full());
        rows.push(r#"{"a":null,"b":"ignored"}"#, 5, 4);
        assert!(rows.is_full());
        let batch = rows.flush().unwrap().unwrap();
        assert_eq!(batch.num_rows(), 2);
        let ids = batch.column(0).as_string::<i32>();
        assert_eq!(ids.value(0).len(), 36);
        assert_ne!(ids.value(0), ids.value(1));
        let at = batch.column(1).as_primitive::<TimestampMicrosecondType>();
        assert_eq!(at.value(0), 1_700_000_000_123_000);
        let a = batch.column(2).as_primitive::<Int64Type>();
        assert_eq!((a.value(0), a.is_null(1)), (1, true));
        assert!(rows.is_empty() && rows.flush().unwrap().is_none());
    }

    #[test]
    fn the_generation_column_follows_the_extraction_time() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("_airbyte_raw_id", DataType::Utf8, true),
            Field::new("_airbyte_extracted_at", timestamp_utc(), true),
            Field::new("_airbyte_generation_id", DataType::Int64, true),
            Field::new("a", DataType::Int64, true),
        ]));
        let mut decoder = ChunkDecoder::new("s", schema, true, 4)
            .unwrap()
            .with_generation(Some(7))
            .unwrap();
        let mut chunk = RowChunk::default();
        chunk.push(r#"{"a":1,"_airbyte_generation_id":99}"#, 1, 1);
        chunk.push(r#"{"a":2}"#, 2, 2);
        let batch = decoder.decode(&chunk).unwrap();
        let generation = batch.column(2).as_primitive::<Int64Type>();
        assert_eq!((generation.value(0), generation.value(1)), (7, 7));
        let a = batch.column(3).as_primitive::<Int64Type>();
        assert_eq!((a.value(0), a.value(1)), (1, 2));
    }

    #[test]
    fn records_off_the_fast_path_decode_as_arrow_does() {
        let mut rows = RowBuffer::new("s", schema(), false, 10).unwrap();
        rows.push(r#"{"a":1}"#, 0, 1);
        assert!(rows.flush().unwrap().is_some());
        assert!(rows.decoder.flat.is_some());
        // A string in an integer column: Arrow's decoder parses it.
        rows.push(r#"{"a":"42"}"#, 0, 2);
        let batch = rows.flush().unwrap().unwrap();
        assert_eq!(batch.column(2).as_primitive::<Int64Type>().value(0), 42);
        assert!(rows.decoder.flat.is_none());
    }

    #[test]
    fn a_record_that_does_not_fit_is_named_by_its_line() {
        let mut rows = RowBuffer::new("s", schema(), true, 10).unwrap();
        rows.push(r#"{"a":1}"#, 0, 7);
        rows.push(r#"{"a":{"nested":true}}"#, 0, 8);
        let err = rows.flush().unwrap_err().to_string();
        assert!(err.contains("input line 8"), "{err}");
    }
}
