//! Making batches conform to a target schema: columns matched by name, missing columns
//! null, values cast; values that cannot be cast are reported per row.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::error::{Error, Result};
use crate::records;

/// A value that could not be converted.
#[derive(Debug, Clone)]
pub struct BadValue {
    /// Row index in the batch.
    pub row: usize,
    /// Column name.
    pub column: String,
    /// The value as text (truncated).
    pub value: String,
    /// The target type.
    pub target: DataType,
}

/// The result of conforming a batch: the batch (bad values null) and the bad values.
pub(crate) struct Conformed {
    pub batch: RecordBatch,
    pub bad: Vec<BadValue>,
}

/// Whether `a` can stand for `b` without conversion.
fn same_type(a: &DataType, b: &DataType) -> bool {
    a == b || a.equals_datatype(b)
}

/// Text of each value: strings as is, everything else as the JSON the RECORD serializer
/// writes (quoted scalars unquoted).
pub(crate) fn to_text(array: &ArrayRef) -> Result<ArrayRef> {
    match array.data_type() {
        DataType::Utf8 => Ok(array.clone()),
        DataType::LargeUtf8 | DataType::Utf8View => cast_with_options(array, &DataType::Utf8, &CastOptions::default())
            .map_err(|e| Error::Internal(format!("cast to text: {e}"))),
        _ => {
            let json = records::array_to_json_strings(array.as_ref())?;
            let unquoted: StringArray = json
                .iter()
                .map(|v| {
                    v.map(|s| {
                        if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
                            if s.contains('\\') {
                                serde_json::from_str::<String>(s).unwrap_or_else(|_| s.to_string())
                            } else {
                                s[1..s.len() - 1].to_string()
                            }
                        } else {
                            s.to_string()
                        }
                    })
                })
                .collect();
            Ok(Arc::new(unquoted))
        }
    }
}

fn is_nested(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Struct(_) | DataType::List(_) | DataType::LargeList(_) | DataType::Map(..)
    )
}

/// Parses JSON text values into a nested type. Values that fail become null and are
/// reported.
fn parse_json_column(text: &StringArray, target: &DataType) -> Result<(ArrayRef, Vec<usize>)> {
    let field = Arc::new(Field::new("v", target.clone(), true));
    let mut bad = vec![];
    let mut decoder = arrow::json::ReaderBuilder::new_with_field(field.clone())
        .with_batch_size(text.len().max(1))
        .with_coerce_primitive(true)
        .with_decoder_factory(Arc::new(records::LenientDecoderFactory))
        .build_decoder()
        .map_err(|e| Error::Internal(format!("JSON decoder: {e}")))?;
    for i in 0..text.len() {
        let ok = if text.is_null(i) {
            false
        } else {
            let s = text.value(i).trim();
            !s.is_empty() && serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
        };
        if ok {
            decoder
                .decode(text.value(i).as_bytes())
                .map_err(|e| Error::Internal(format!("JSON decode: {e}")))?;
            decoder
                .decode(b"\n")
                .map_err(|e| Error::Internal(format!("JSON decode: {e}")))?;
        } else {
            if text.is_valid(i) && !text.value(i).trim().is_empty() {
                bad.push(i);
            }
            decoder
                .decode(b"null\n")
                .map_err(|e| Error::Internal(format!("JSON decode: {e}")))?;
        }
    }
    let batch = decoder
        .flush()
        .map_err(|e| Error::Internal(format!("JSON decode: {e}")))?;
    let array = match batch {
        Some(b) => b.column(0).clone(),
        None => new_null_array(target, 0),
    };
    Ok((array, bad))
}

/// Decodes base64 text into bytes; undecodable values are reported.
fn base64_column(text: &StringArray) -> Result<(ArrayRef, Vec<usize>)> {
    use base64::Engine;
    let mut b = arrow::array::BinaryBuilder::with_capacity(text.len(), text.len() * 8);
    let mut bad = vec![];
    for i in 0..text.len() {
        if text.is_null(i) {
            b.append_null();
            continue;
        }
        match base64::engine::general_purpose::STANDARD.decode(text.value(i).trim()) {
            Ok(v) => b.append_value(v),
            Err(_) => {
                bad.push(i);
                b.append_null();
            }
        }
    }
    Ok((Arc::new(b.finish()), bad))
}

/// Casts one column to `target`. Returns the column and the rows whose value could not be
/// converted (null in the result).
pub(crate) fn cast_column(array: &ArrayRef, target: &DataType) -> Result<(ArrayRef, Vec<usize>)> {
    if array.data_type() == target {
        return Ok((array.clone(), vec![]));
    }
    if same_type(array.data_type(), target) {
        // Equal but for nested field names or nullability (e.g. a list's
        // `element` vs `item`): relabel, so the batch matches the schema.
        let data = array
            .to_data()
            .into_builder()
            .data_type(target.clone())
            .build()
            .map_err(|e| Error::Internal(format!("relabel {}: {e}", array.data_type())))?;
        return Ok((arrow::array::make_array(data), vec![]));
    }
    if matches!(target, DataType::Utf8) {
        return Ok((to_text(array)?, vec![]));
    }
    if matches!(target, DataType::Binary) && matches!(array.data_type(), DataType::Utf8) {
        return base64_column(array.as_string::<i32>());
    }
    if is_nested(target) {
        let text = to_text(array)?;
        return parse_json_column(text.as_string::<i32>(), target);
    }
    // Empty strings carry no value for non-string types.
    let source: ArrayRef = if matches!(array.data_type(), DataType::Utf8) {
        let s = array.as_string::<i32>();
        if s.iter().any(|v| v.is_some_and(|v| v.trim().is_empty())) {
            let mask: BooleanArray = s.iter().map(|v| Some(v.is_some_and(|v| v.trim().is_empty()))).collect();
            arrow::compute::nullif(array, &mask).map_err(|e| Error::Internal(format!("nullif: {e}")))?
        } else {
            array.clone()
        }
    } else {
        array.clone()
    };
    let casted = cast_with_options(&source, target, &CastOptions::default())
        .map_err(|e| Error::Internal(format!("no conversion from {} to {target}: {e}", array.data_type())))?;
    let mut bad = vec![];
    if casted.null_count() > source.null_count() {
        for i in 0..source.len() {
            if source.is_valid(i) && casted.is_null(i) {
                bad.push(i);
            }
        }
    }
    Ok((casted, bad))
}

fn value_text(array: &ArrayRef, row: usize) -> String {
    let mut s = match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(row).to_string(),
        _ => {
            let mut buf = vec![];
            let _ = records::write_value(array.as_ref(), row, &mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    if s.len() > 60 {
        let mut end = 60;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Conforms `batch` to `target`: columns matched by name (exactly, then ignoring case),
/// missing ones null, others cast. Extra columns are dropped.
pub(crate) fn conform(batch: &RecordBatch, target: &SchemaRef) -> Result<Conformed> {
    if batch.schema_ref() == target {
        return Ok(Conformed {
            batch: batch.clone(),
            bad: vec![],
        });
    }
    let schema = batch.schema();
    let mut columns = Vec::with_capacity(target.fields().len());
    let mut bad = vec![];
    for f in target.fields() {
        let idx = schema.index_of(f.name()).ok().or_else(|| {
            schema
                .fields()
                .iter()
                .position(|s| s.name().eq_ignore_ascii_case(f.name()))
        });
        match idx {
            None => columns.push(new_null_array(f.data_type(), batch.num_rows())),
            Some(i) => {
                let src = batch.column(i);
                let (col, rows) = cast_column(src, f.data_type())?;
                for row in rows {
                    bad.push(BadValue {
                        row,
                        column: f.name().clone(),
                        value: value_text(src, row),
                        target: f.data_type().clone(),
                    });
                }
                columns.push(col);
            }
        }
    }
    let nullable_target = Arc::new(Schema::new_with_metadata(
        target
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
        target.metadata().clone(),
    ));
    let out_schema = if target.fields().iter().all(|f| f.is_nullable()) {
        target.clone()
    } else {
        nullable_target
    };
    let batch = RecordBatch::try_new_with_options(
        out_schema,
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| Error::Internal(format!("conformed batch: {e}")))?;
    bad.sort_by_key(|b| b.row);
    Ok(Conformed { batch, bad })
}

/// Removes `rows` (sorted) from `batch`.
pub(crate) fn drop_rows(batch: &RecordBatch, rows: &[usize]) -> Result<RecordBatch> {
    if rows.is_empty() {
        return Ok(batch.clone());
    }
    let mut keep = vec![true; batch.num_rows()];
    for &r in rows {
        if r < keep.len() {
            keep[r] = false;
        }
    }
    arrow::compute::filter_record_batch(batch, &BooleanArray::from(keep))
        .map_err(|e| Error::Internal(format!("filter: {e}")))
}
