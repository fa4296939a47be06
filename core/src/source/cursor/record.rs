//! The record-level incremental cursor of file-based sources (`cursor_field`):
//! records whose cursor value is at or before the saved one are skipped, and
//! the greatest value read is saved with the file history (see
//! [`super::FileCursor::advance_record_cursor`]).
//!
//! Values compare by type: numbers numerically, dates and timestamps in time
//! order, strings lexicographically. A record without a cursor value is kept
//! (as Airbyte's declarative cursors do: "the incremental sync will assume it
//! needs to be synced").

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, Scalar, StringArray};
use arrow::compute::kernels::cmp::gt;
use arrow::compute::SortOptions;
use arrow::compute::{cast_with_options, filter_record_batch, is_null, or_kleene, sort_to_indices, CastOptions};
use arrow::datatypes::{DataType, Schema};
use serde_json::Value;

use super::compare::max_value;
use super::fields::{format_timestamp, FILE_URL_FIELD, LAST_MODIFIED_FIELD};
use crate::error::{Error, Result};
use crate::records;
use crate::schema::json_schema_to_arrow;
use crate::time::parse_timestamp;

/// Why a record cursor cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RecordCursorError {
    /// The field is not in the stream's schema.
    #[error(
        "cursor_field '{field}' is not a field of the stream's data (fields: {fields}). Name one of them, or run discover again."
    )]
    UnknownField {
        /// The cursor field.
        field: String,
        /// The fields there are.
        fields: String,
    },
    /// The field's type cannot be ordered as a cursor.
    #[error(
        "cursor_field '{field}' holds {kind} values, which cannot be a cursor: use a number, string, date or timestamp field."
    )]
    UnsupportedType {
        /// The cursor field.
        field: String,
        /// Its type, in words.
        kind: String,
    },
    /// The saved value does not fit the field's type.
    #[error(
        "The saved cursor value {value} of '{field}' is not a valid {kind}. Reset the stream's state, or set it to a {kind}."
    )]
    BadSavedValue {
        /// The cursor field.
        field: String,
        /// The saved value.
        value: String,
        /// The field's type, in words.
        kind: String,
    },
}

impl From<RecordCursorError> for Error {
    fn from(e: RecordCursorError) -> Self {
        Error::Config(e.to_string())
    }
}

/// Whether values of `dt` can be a cursor (ordered scalars).
pub fn is_cursor_type(dt: &DataType) -> bool {
    dt.is_integer()
        || dt.is_floating()
        || matches!(
            dt,
            DataType::Decimal128(..)
                | DataType::Decimal256(..)
                | DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
        )
}

/// Checks that `field` is a column of `schema` whose type can be a cursor.
pub fn check_field(schema: &Schema, field: &str) -> std::result::Result<(), RecordCursorError> {
    let Ok(f) = schema.field_with_name(field) else {
        return Err(RecordCursorError::UnknownField {
            field: field.to_string(),
            fields: schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    if is_cursor_type(f.data_type()) {
        Ok(())
    } else {
        Err(RecordCursorError::UnsupportedType {
            field: field.to_string(),
            kind: crate::schema::kind_name(f.data_type()).to_string(),
        })
    }
}

/// A configured cursor field naming a record field: trimmed, not blank and
/// not the file cursor (`_ab_source_file_last_modified`); `None` otherwise.
pub fn record_field(field: Option<&str>) -> Option<String> {
    field
        .map(str::trim)
        .filter(|f| !f.is_empty() && *f != LAST_MODIFIED_FIELD)
        .map(str::to_string)
}

/// The record-level cursor field of an incremental read: the catalog's
/// `cursor_field` when it names another field than the file cursor (a
/// nested path joined with `.`, as flattened columns are named), else the
/// config's `configured` one; `None`: the file cursor alone.
pub fn record_cursor_field(catalog_cursor: Option<&[String]>, configured: Option<&str>) -> Option<String> {
    let from_catalog = catalog_cursor
        .filter(|path| !path.is_empty())
        .map(|path| path.join("."))
        .and_then(|f| record_field(Some(&f)));
    from_catalog.or_else(|| record_field(configured))
}

/// Checks that `field` can be the record cursor of stream `stream` whose
/// JSON Schema is `json_schema`: a data column (not a file field, not one of
/// `partition_columns`) of a type with an order. The error is a config error
/// naming the stream.
pub fn check_cursor_field(stream: &str, field: &str, json_schema: &Value, partition_columns: &[String]) -> Result<()> {
    let schema = json_schema_to_arrow(json_schema)?;
    let data = Schema::new(
        schema
            .fields()
            .iter()
            .filter(|f| {
                let n = f.name().as_str();
                n != FILE_URL_FIELD && n != LAST_MODIFIED_FIELD && !partition_columns.iter().any(|p| p == n)
            })
            .cloned()
            .collect::<Vec<_>>(),
    );
    check_field(&data, field).map_err(|e| Error::Config(format!("Stream '{stream}': {e}")))
}

/// A record cursor: the field, and the value records must be greater than.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordCursor {
    /// The record field (a column of the data).
    pub field: String,
    /// The saved value (none: every record is read).
    pub after: Option<Value>,
}

impl RecordCursor {
    /// A cursor on `field`, reading records after `after`.
    pub fn new(field: impl Into<String>, after: Option<Value>) -> Self {
        RecordCursor {
            field: field.into(),
            after: after.filter(|v| !v.is_null()),
        }
    }

    /// A filter for one file's batches.
    pub fn filter(&self) -> RecordFilter<'_> {
        RecordFilter {
            cursor: self,
            threshold: None,
            max: None,
            skipped: 0,
        }
    }
}

/// Filters one file's batches by a [`RecordCursor`] and tracks the greatest
/// cursor value kept.
#[derive(Debug)]
pub struct RecordFilter<'a> {
    cursor: &'a RecordCursor,
    /// The saved value as a one-element array of the column's type.
    threshold: Option<ArrayRef>,
    max: Option<Value>,
    skipped: u64,
}

impl RecordFilter<'_> {
    /// The records of `batch` after the saved value (and those without a
    /// cursor value); `file` names the file in errors.
    pub fn apply(&mut self, batch: RecordBatch, file: &str) -> Result<RecordBatch> {
        let field = &self.cursor.field;
        check_field(batch.schema().as_ref(), field).map_err(|e| Error::format(file, e.to_string()))?;
        let Ok(index) = batch.schema().index_of(field) else {
            return Ok(batch);
        };
        let kept = match &self.cursor.after {
            None => batch,
            Some(after) => {
                let column = batch.column(index).clone();
                let threshold = match &self.threshold {
                    Some(t) if t.data_type() == column.data_type() => t.clone(),
                    _ => {
                        let t = threshold(field, after, column.data_type())?;
                        self.threshold = Some(t.clone());
                        t
                    }
                };
                let after = gt(&column, &Scalar::new(threshold)).map_err(internal)?;
                let keep = or_kleene(&after, &is_null(&column).map_err(internal)?).map_err(internal)?;
                let keep = without_nulls(&keep);
                let kept = filter_record_batch(&batch, &keep).map_err(internal)?;
                self.skipped += (batch.num_rows() - kept.num_rows()) as u64;
                kept
            }
        };
        if kept.num_rows() > 0 {
            let column = kept.column(index);
            let options = SortOptions {
                descending: true,
                nulls_first: false,
            };
            let top = sort_to_indices(column.as_ref(), Some(options), Some(1)).map_err(internal)?;
            if let Some(row) = top.iter().flatten().next().map(|r| r as usize) {
                if column.is_valid(row) {
                    let value = json_value(column.as_ref(), row)?;
                    self.max = max_value(self.max.take(), Some(value));
                }
            }
        }
        Ok(kept)
    }

    /// The greatest cursor value kept (none if no record had one), and the
    /// number of records skipped.
    pub fn finish(self) -> (Option<Value>, u64) {
        (self.max, self.skipped)
    }
}

/// A mask with nulls read as false.
fn without_nulls(mask: &BooleanArray) -> BooleanArray {
    if mask.null_count() == 0 {
        return mask.clone();
    }
    mask.iter().map(|v| Some(v.unwrap_or(false))).collect()
}

fn internal(e: arrow::error::ArrowError) -> Error {
    Error::Internal(format!("record cursor: {e}"))
}

/// The saved value as a one-element array of type `dt`.
fn threshold(field: &str, after: &Value, dt: &DataType) -> Result<ArrayRef> {
    let bad = || RecordCursorError::BadSavedValue {
        field: field.to_string(),
        value: after.to_string(),
        kind: crate::schema::kind_name(dt).to_string(),
    };
    let text = match after {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(bad().into()),
    };
    // Timestamps in any of the accepted spellings, normalised for the cast.
    let text = match dt {
        DataType::Timestamp(..) => parse_timestamp(&text).map(format_timestamp).ok_or_else(bad)?,
        _ => text,
    };
    let array: ArrayRef = std::sync::Arc::new(StringArray::from(vec![text]));
    let cast = cast_with_options(&array, dt, &CastOptions::default()).map_err(|_| bad())?;
    if cast.is_null(0) {
        return Err(bad().into());
    }
    Ok(cast)
}

/// The JSON value of `array[row]`, as the RECORD serializer writes it.
fn json_value(array: &dyn Array, row: usize) -> Result<Value> {
    let mut buf = Vec::with_capacity(32);
    records::write_value(array, row, &mut buf)?;
    serde_json::from_slice(&buf).map_err(|e| Error::Internal(format!("record cursor value: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array, TimestampMicrosecondArray};
    use arrow::datatypes::{Field, TimeUnit};
    use serde_json::json;

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    fn ints(b: &RecordBatch, col: usize) -> Vec<Option<i64>> {
        let a = b.column(col).as_any().downcast_ref::<Int64Array>().unwrap();
        a.iter().collect()
    }

    #[test]
    fn integers_compare_numerically_and_nulls_are_kept() {
        let cursor = RecordCursor::new("seq", Some(json!(9)));
        let mut f = cursor.filter();
        let b = batch(vec![(
            "seq",
            Arc::new(Int64Array::from(vec![Some(8), Some(9), Some(10), None, Some(100)])),
        )]);
        let kept = f.apply(b, "f.csv").unwrap();
        assert_eq!(ints(&kept, 0), vec![Some(10), None, Some(100)]);
        let b = batch(vec![("seq", Arc::new(Int64Array::from(vec![Some(12)])))]);
        f.apply(b, "f.csv").unwrap();
        assert_eq!(f.finish(), (Some(json!(100)), 2));
    }

    #[test]
    fn without_a_saved_value_everything_is_kept_and_the_max_tracked() {
        let cursor = RecordCursor::new("x", None);
        let mut f = cursor.filter();
        let b = batch(vec![("x", Arc::new(Float64Array::from(vec![1.5, 0.5])))]);
        assert_eq!(f.apply(b, "f").unwrap().num_rows(), 2);
        assert_eq!(f.finish(), (Some(json!(1.5)), 0));
    }

    #[test]
    fn timestamps_compare_in_time_order_and_save_as_records_show_them() {
        let day = 86_400_000_000i64;
        let ts = TimestampMicrosecondArray::from(vec![day, 2 * day, 3 * day]).with_timezone("UTC");
        let cursor = RecordCursor::new("at", Some(json!("1970-01-02T00:00:00Z")));
        let mut f = cursor.filter();
        let kept = f.apply(batch(vec![("at", Arc::new(ts))]), "f").unwrap();
        assert_eq!(kept.num_rows(), 2);
        let (max, skipped) = f.finish();
        assert_eq!(max, Some(json!("1970-01-04T00:00:00.000000Z")));
        assert_eq!(skipped, 1);
        let t = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert!(threshold("at", &json!("not a time"), &t).is_err());
    }

    #[test]
    fn strings_compare_lexicographically() {
        let cursor = RecordCursor::new("k", Some(json!("b")));
        let mut f = cursor.filter();
        let kept = f
            .apply(
                batch(vec![("k", Arc::new(StringArray::from(vec!["a", "b", "ba", "c"])))]),
                "f",
            )
            .unwrap();
        assert_eq!(kept.num_rows(), 2);
        assert_eq!(f.finish().0, Some(json!("c")));
    }

    #[test]
    fn bad_fields_and_values_are_config_errors() {
        let cursor = RecordCursor::new("missing", Some(json!(1)));
        let b = batch(vec![("seq", Arc::new(Int64Array::from(vec![1])))]);
        let e = cursor.filter().apply(b.clone(), "f.csv").unwrap_err();
        assert!(e.to_string().contains("cursor_field 'missing'"), "{e}");
        let cursor = RecordCursor::new("seq", Some(json!("abc")));
        let e = cursor.filter().apply(b, "f.csv").unwrap_err();
        assert!(e.to_string().contains("saved cursor value"), "{e}");
        let schema = Schema::new(vec![Field::new("flag", DataType::Boolean, true)]);
        assert!(matches!(
            check_field(&schema, "flag"),
            Err(RecordCursorError::UnsupportedType { .. })
        ));
    }

    #[test]
    fn the_catalog_cursor_wins_unless_it_is_the_file_cursor() {
        let file_cursor = [LAST_MODIFIED_FIELD.to_string()];
        assert_eq!(record_cursor_field(None, Some("seq")).as_deref(), Some("seq"));
        assert_eq!(
            record_cursor_field(Some(&["updated_at".into()]), Some("seq")).as_deref(),
            Some("updated_at")
        );
        assert_eq!(
            record_cursor_field(Some(&["user".into(), "at".into()]), None).as_deref(),
            Some("user.at")
        );
        assert_eq!(
            record_cursor_field(Some(&file_cursor), Some("seq")).as_deref(),
            Some("seq")
        );
        assert_eq!(record_cursor_field(Some(&file_cursor), None), None);
        assert_eq!(record_cursor_field(Some(&[]), Some(" ")), None);
        assert_eq!(record_field(Some(LAST_MODIFIED_FIELD)), None);
    }

    #[test]
    fn cursor_fields_must_be_ordered_data_columns() {
        let schema = json!({"type": "object", "properties": {
            "seq": {"type": ["null", "integer"]}, "flag": {"type": ["null", "boolean"]},
            "dt": {"type": ["null", "string"]}, "_ab_source_file_url": {"type": ["null", "string"]}}});
        assert!(check_cursor_field("s", "seq", &schema, &[]).is_ok());
        for (field, says) in [
            ("nope", "is not a field"),
            ("flag", "cannot be a cursor"),
            ("_ab_source_file_url", "is not a field"),
            ("dt", "is not a field"),
        ] {
            let e = check_cursor_field("s", field, &schema, &["dt".into()]).unwrap_err();
            assert!(
                e.to_string().contains(says) && e.to_string().contains("Stream 's'"),
                "{e}"
            );
        }
    }
}
