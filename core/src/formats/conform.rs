//! Making batches conform to a target schema: columns matched by name, missing columns
//! null, values cast; values that cannot be cast are reported per row.

use std::sync::Arc;

use arrow::array::{new_null_array, Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray, StringBuilder};
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
            // Appended as slices of the JSON text: no string of its own per value.
            let mut unquoted = StringBuilder::with_capacity(json.len(), json.value_data().len());
            for v in json.iter() {
                match v {
                    None => unquoted.append_null(),
                    Some(s) if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') => {
                        if s.contains('\\') {
                            match serde_json::from_str::<String>(s) {
                                Ok(text) => unquoted.append_value(text),
                                Err(_) => unquoted.append_value(s),
                            }
                        } else {
                            unquoted.append_value(&s[1..s.len() - 1]);
                        }
                    }
                    Some(s) => unquoted.append_value(s),
                }
            }
            Ok(Arc::new(unquoted.finish()))
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

/// Whether a column of type `source` is written, unconverted, as a value its target's JSON
/// Schema accepts — the same Airbyte kind at every level — so that converting it could only
/// lose something: a decimal's digits (target `number` is a double), a naive timestamp's
/// missing offset, nanoseconds, a map's keys, a null column's nulls. A target comes from a
/// catalog's JSON Schema, which carries kinds, not widths or precisions; the file's own type
/// is the more exact of the two whenever the kinds agree.
pub(crate) fn keeps_source_type(source: &DataType, target: &DataType) -> bool {
    use DataType::*;
    if source == target {
        return true;
    }
    match (source, target) {
        // A null column is null under any (nullable) target.
        (Null, _) => true,
        (Dictionary(_, v), t) => keeps_source_type(v, t),
        (Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64, Int64) => true,
        (
            Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32 | Float64
            | Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..),
            Float64 | Decimal128(..) | Decimal256(..),
        ) => true,
        (Boolean, Boolean) => true,
        (Date32 | Date64, Date32) => true,
        // With and without a time zone are two Airbyte types; only the unit may differ.
        (Timestamp(_, a), Timestamp(_, b)) => a.is_some() == b.is_some(),
        (Utf8 | LargeUtf8 | Utf8View, Utf8) => true,
        // Written as base64 and time-of-day text: what a string target holds.
        (Binary | LargeBinary | BinaryView | FixedSizeBinary(_) | Time32(_) | Time64(_), Utf8) => true,
        (Binary | LargeBinary | BinaryView | FixedSizeBinary(_), Binary) => true,
        (List(a) | LargeList(a) | FixedSizeList(a, _), List(b)) => keeps_source_type(a.data_type(), b.data_type()),
        (Struct(a), Struct(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b.iter())
                    .all(|(x, y)| x.name() == y.name() && keeps_source_type(x.data_type(), y.data_type()))
        }
        (Map(a, _), Map(b, _)) => match (a.data_type(), b.data_type()) {
            (Struct(ka), Struct(kb)) if ka.len() == 2 && kb.len() == 2 => {
                keeps_source_type(ka[1].data_type(), kb[1].data_type())
            }
            _ => false,
        },
        _ => false,
    }
}

/// Casts one column to `target`. Returns the column and the rows whose value could not be
/// converted (null in the result). A column whose own type is as exact as the target
/// ([`keeps_source_type`]) is returned unchanged.
pub(crate) fn cast_column(array: &ArrayRef, target: &DataType) -> Result<(ArrayRef, Vec<usize>)> {
    if array.data_type() == target {
        return Ok((array.clone(), vec![]));
    }
    if matches!(array.data_type(), DataType::Null) {
        return Ok((new_null_array(target, array.len()), vec![]));
    }
    if keeps_source_type(array.data_type(), target) {
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
    // Per column, the source field whose metadata a kept column carries (JSON values).
    let mut kept_meta: Vec<Option<std::collections::HashMap<String, String>>> =
        Vec::with_capacity(target.fields().len());
    let mut bad = vec![];
    for f in target.fields() {
        let idx = schema.index_of(f.name()).ok().or_else(|| {
            schema
                .fields()
                .iter()
                .position(|s| s.name().eq_ignore_ascii_case(f.name()))
        });
        // A column of JSON values (an Avro union of several branches) is its own most exact
        // form: its values already follow the JSON Schema discover gave it.
        let json_values = idx.map(|i| schema.field(i)).filter(|s| crate::schema::is_json_field(s));
        kept_meta.push(json_values.map(|s| s.metadata().clone().into_iter().collect()));
        match idx {
            None => columns.push(new_null_array(f.data_type(), batch.num_rows())),
            Some(i) if json_values.is_some() => columns.push(batch.column(i).clone()),
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
    // Columns kept in their own (more exact) type carry it in the batch's schema.
    let out_schema = if target.fields().iter().all(|f| f.is_nullable())
        && target
            .fields()
            .iter()
            .zip(&columns)
            .all(|(f, c)| f.data_type() == c.data_type())
        && kept_meta.iter().all(Option::is_none)
    {
        target.clone()
    } else {
        Arc::new(Schema::new_with_metadata(
            target
                .fields()
                .iter()
                .zip(&columns)
                .zip(kept_meta)
                .map(|((f, c), meta)| {
                    let field = f
                        .as_ref()
                        .clone()
                        .with_data_type(c.data_type().clone())
                        .with_nullable(true);
                    match meta {
                        Some(m) => field.with_metadata(m),
                        None => field,
                    }
                })
                .collect::<Vec<_>>(),
            target.metadata().clone(),
        ))
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

/// `batch` with, for rows whose values were emitted as null because they do not fit the
/// schema (`on_bad_record: emit`), the names of those fields in a
/// [`records::NULLED_FIELDS_COLUMN`] column: the RECORD writer turns them into Airbyte
/// `meta.changes` entries and leaves the column out of the data.
pub(crate) fn with_nulled<'a>(
    batch: &RecordBatch,
    nulled: impl IntoIterator<Item = (usize, &'a str)>,
) -> Result<RecordBatch> {
    let mut per_row: Vec<Vec<&str>> = vec![vec![]; batch.num_rows()];
    for (row, field) in nulled {
        if let Some(fields) = per_row.get_mut(row) {
            if !fields.contains(&field) {
                fields.push(field);
            }
        }
    }
    let mut b = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
    for fields in per_row {
        if fields.is_empty() {
            b.append_null();
        } else {
            for f in fields {
                b.values().append_value(f);
            }
            b.append(true);
        }
    }
    let column: ArrayRef = Arc::new(b.finish());
    let mut fields: Vec<Field> = batch.schema().fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(
        records::NULLED_FIELDS_COLUMN,
        column.data_type().clone(),
        true,
    ));
    let mut columns = batch.columns().to_vec();
    columns.push(column);
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new_with_metadata(fields, batch.schema().metadata().clone())),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| Error::Internal(format!("nulled fields column: {e}")))
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{BinaryArray, Int32Array, Int64Array, LargeStringArray, ListArray, StructArray};
    use arrow::datatypes::{Fields, Int32Type, Int64Type, TimeUnit};

    fn strings(a: &ArrayRef) -> Vec<Option<String>> {
        a.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect()
    }

    #[test]
    fn kept_source_types_are_the_same_airbyte_kind() {
        use DataType::*;
        let list = |t: DataType| List(Arc::new(Field::new_list_field(t, true)));
        let yes = [
            (Null, Boolean),
            (Dictionary(Box::new(Int32), Box::new(Utf8)), Utf8),
            (UInt32, Int64),
            (Decimal128(10, 2), Float64),
            (Decimal256(50, 2), Decimal128(10, 2)),
            (Float64, Decimal256(76, 10)),
            (Float32, Float64),
            (Date64, Date32),
            (
                Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
                Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
            ),
            (LargeUtf8, Utf8),
            (FixedSizeBinary(4), Utf8),
            (Time64(TimeUnit::Nanosecond), Utf8),
            (BinaryView, Binary),
            (LargeList(Arc::new(Field::new_list_field(Int32, true))), list(Int64)),
            (
                Struct(Fields::from(vec![Field::new("a", Int8, true)])),
                Struct(Fields::from(vec![Field::new("a", Int64, true)])),
            ),
            (crate::schema::map_type(Int32), crate::schema::map_type(Int64)),
        ];
        for (s, t) in &yes {
            assert!(keeps_source_type(s, t), "{s} as {t}");
        }
        let no = [
            (
                Timestamp(TimeUnit::Microsecond, None),
                Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            ),
            (Float64, Int64),
            (Utf8, Int64),
            (Boolean, Utf8),
            (list(Utf8), list(Int64)),
            (
                Struct(Fields::from(vec![Field::new("a", Int8, true)])),
                Struct(Fields::from(vec![Field::new("b", Int8, true)])),
            ),
            (
                Struct(Fields::from(vec![Field::new("a", Int8, true)])),
                Struct(Fields::from(vec![
                    Field::new("a", Int8, true),
                    Field::new("b", Int8, true),
                ])),
            ),
            (crate::schema::map_type(Utf8), crate::schema::map_type(Int64)),
            (Int64, Struct(Fields::empty())),
        ];
        for (s, t) in &no {
            assert!(!keeps_source_type(s, t), "{s} as {t}");
        }
    }

    #[test]
    fn columns_become_text_as_the_record_writer_writes_them() {
        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(-3), None]));
        let (t, bad) = cast_column(&ints, &DataType::Utf8).unwrap();
        assert!(bad.is_empty());
        // Int64 under a string target is a different kind: written as its JSON text.
        assert_eq!(strings(&t), vec![Some("-3".to_string()), None]);
        let large: ArrayRef = Arc::new(LargeStringArray::from(vec!["é"]));
        assert_eq!(strings(&to_text(&large).unwrap()), vec![Some("é".to_string())]);
        let structs: ArrayRef = Arc::new(StructArray::from(vec![(
            Arc::new(Field::new("q", DataType::Utf8, true)),
            Arc::new(StringArray::from(vec!["a\"b"])) as ArrayRef,
        )]));
        assert_eq!(
            strings(&to_text(&structs).unwrap()),
            vec![Some("{\"q\":\"a\\\"b\"}".to_string())]
        );
        let quoted: ArrayRef = Arc::new(arrow::array::Date32Array::from(vec![0]));
        assert_eq!(
            strings(&to_text(&quoted).unwrap()),
            vec![Some("1970-01-01".to_string())]
        );
        let escaped: ArrayRef = Arc::new(arrow::array::DurationSecondArray::from(vec![1]));
        assert_eq!(strings(&to_text(&escaped).unwrap()), vec![Some("PT1S".to_string())]);
        let bin: ArrayRef = Arc::new(BinaryArray::from(vec![b"\"\\".as_ref()]));
        // Binary is written as base64 text, what a string target holds: kept as it is.
        assert_eq!(
            cast_column(&bin, &DataType::Utf8).unwrap().0.data_type(),
            &DataType::Binary
        );
    }

    #[test]
    fn casts_report_the_rows_that_do_not_fit() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("12"),
            Some(" "),
            Some("x"),
            None,
            Some("7"),
        ]));
        let (ints, bad) = cast_column(&text, &DataType::Int32).unwrap();
        assert_eq!(bad, vec![2], "an empty string is no value, 'x' is a bad one");
        let ints = ints.as_primitive::<Int32Type>();
        assert_eq!(
            ints.iter().collect::<Vec<_>>(),
            vec![Some(12), None, None, None, Some(7)]
        );

        let b64: ArrayRef = Arc::new(StringArray::from(vec![Some("aGk="), Some("!!"), None]));
        let (bytes, bad) = cast_column(&b64, &DataType::Binary).unwrap();
        assert_eq!(bad, vec![1]);
        let bytes = bytes.as_binary::<i32>();
        assert_eq!(bytes.iter().collect::<Vec<_>>(), vec![Some(b"hi".as_ref()), None, None]);

        let list_t = DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)));
        let json: ArrayRef = Arc::new(StringArray::from(vec![Some("[1,2]"), Some("[1,"), Some(""), None]));
        let (lists, bad) = cast_column(&json, &list_t).unwrap();
        assert_eq!(bad, vec![1]);
        let lists = lists.as_list::<i32>();
        assert_eq!(lists.value(0).as_primitive::<Int64Type>().values().to_vec(), vec![1, 2]);
        assert!(lists.is_null(1) && lists.is_null(2) && lists.is_null(3));

        let empty: ArrayRef = Arc::new(StringArray::from(Vec::<&str>::new()));
        let (none, bad) = cast_column(&empty, &list_t).unwrap();
        assert_eq!((none.len(), bad.len()), (0, 0));

        let nulls: ArrayRef = Arc::new(arrow::array::NullArray::new(2));
        let (n, _) = cast_column(&nulls, &DataType::Int64).unwrap();
        assert_eq!((n.data_type(), n.null_count()), (&DataType::Int64, 2));

        let e = cast_column(&list_to_cast(), &DataType::Date32).unwrap_err();
        assert!(e.to_string().contains("no conversion from List"), "{e}");
    }

    fn list_to_cast() -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![Some(vec![
            Some(1),
        ])]))
    }

    #[test]
    fn equal_types_but_for_names_are_relabelled() {
        // A list under a list target of the same kind is kept in its own type.
        let element = DataType::List(Arc::new(Field::new("element", DataType::Int32, true)));
        let (col, bad) = cast_column(&list_to_cast(), &element).unwrap();
        assert!(bad.is_empty());
        assert_eq!(col.data_type(), list_to_cast().data_type());
        // A large list (not a kind a JSON Schema target names) is relabelled to the target.
        let large: ArrayRef = Arc::new(arrow::array::LargeListArray::from_iter_primitive::<Int32Type, _, _>(
            vec![Some(vec![Some(1), None])],
        ));
        let target = DataType::LargeList(Arc::new(Field::new("element", DataType::Int32, true)));
        let (col, bad) = cast_column(&large, &target).unwrap();
        assert!(bad.is_empty());
        assert_eq!(col.data_type(), &target);
        assert_eq!(
            col.as_list::<i64>()
                .value(0)
                .as_primitive::<Int32Type>()
                .iter()
                .collect::<Vec<_>>(),
            vec![Some(1), None]
        );
    }

    #[test]
    fn batches_conform_by_name_and_report_bad_values_in_row_order() {
        let src = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("ID", DataType::Utf8, true),
                Field::new("n", DataType::Utf8, true),
                Field::new("extra", DataType::Int32, true),
                crate::schema::json_field("j", &serde_json::json!({"type": ["string", "integer"]})),
            ])),
            vec![
                Arc::new(StringArray::from(vec!["1", "oops", "3"])),
                Arc::new(StringArray::from(vec!["bad", "2", &"é".repeat(40)])),
                Arc::new(Int32Array::from(vec![1, 2, 3])),
                Arc::new(StringArray::from(vec!["1", "\"a\"", "2"])),
            ],
        )
        .unwrap();
        let target = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("n", DataType::Int64, true),
            Field::new("missing", DataType::Boolean, true),
            Field::new("j", DataType::Utf8, true),
        ]));
        let c = conform(&src, &target).unwrap();
        assert_eq!(c.batch.num_columns(), 4);
        assert_eq!(
            c.batch.column(0).as_primitive::<Int64Type>().iter().collect::<Vec<_>>(),
            vec![Some(1), None, Some(3)]
        );
        assert_eq!(c.batch.column(2).null_count(), 3);
        assert!(
            crate::schema::is_json_field(c.batch.schema().field(3)),
            "the JSON column keeps its marker"
        );
        let bad: Vec<(usize, &str, &str)> = c
            .bad
            .iter()
            .map(|b| (b.row, b.column.as_str(), b.value.as_str()))
            .collect();
        let long = format!("{}…", "é".repeat(30));
        assert_eq!(bad, vec![(0, "n", "bad"), (1, "id", "oops"), (2, "n", long.as_str())]);
        assert_eq!(c.bad[0].target, DataType::Int64);

        // Already conforming: the same batch.
        let same = conform(&c.batch, &c.batch.schema()).unwrap();
        assert!(same.bad.is_empty());
        assert_eq!(same.batch, c.batch);
    }

    #[test]
    fn nulled_fields_and_dropped_rows() {
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("a", DataType::Int32, true)])),
            vec![Arc::new(Int32Array::from(vec![1, 2, 3]))],
        )
        .unwrap();
        let n = with_nulled(&batch, [(2, "a"), (2, "a"), (0, "b"), (9, "z")]).unwrap();
        assert_eq!(n.schema().field(1).name(), records::NULLED_FIELDS_COLUMN);
        let l = n.column(1).as_list::<i32>();
        assert_eq!(strings(&l.value(0)), vec![Some("b".to_string())]);
        assert!(l.is_null(1));
        assert_eq!(strings(&l.value(2)), vec![Some("a".to_string())]);

        let kept = drop_rows(&batch, &[0, 2, 7]).unwrap();
        assert_eq!(kept.column(0).as_primitive::<Int32Type>().values().to_vec(), vec![2]);
        assert_eq!(drop_rows(&batch, &[]).unwrap(), batch);
    }
}
