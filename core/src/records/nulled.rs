//! Values JSON cannot hold (NaN, infinities) and values that do not fit the schema,
//! emitted as null: the rows and fields concerned, for the RECORD's `meta.changes`.

use arrow::array::{Array, AsArray};
use arrow::datatypes::*;

/// The Airbyte `meta.changes` reason of a value nulled because JSON cannot hold it (or,
/// with `on_bad_record: emit`, because it does not fit the stream's schema).
pub const NULLED_REASON: &str = "SOURCE_SERIALIZATION_ERROR";

/// A batch column (a list of field names per row) a reader adds when it emitted values that
/// do not fit the schema as null: the RECORD writer turns it into `meta.changes` entries and
/// never writes it as data.
pub const NULLED_FIELDS_COLUMN: &str = "_lakeport_nulled_fields";

/// Whether a type can hold a value JSON cannot (a float, at any depth).
fn may_be_unrepresentable(dt: &DataType) -> bool {
    match dt {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => true,
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::Map(f, _) => {
            may_be_unrepresentable(f.data_type())
        }
        DataType::Struct(fs) => fs.iter().any(|f| may_be_unrepresentable(f.data_type())),
        _ => false,
    }
}

/// Rows of `array` holding a value — at any depth — that JSON cannot hold (NaN, infinities)
/// and that the encoder writes as `null`; `None` when there is none.
pub fn unrepresentable_rows(array: &dyn Array) -> Option<Vec<bool>> {
    if !may_be_unrepresentable(array.data_type()) {
        return None;
    }
    let n = array.len();
    let mark = |f: &dyn Fn(usize) -> bool| -> Option<Vec<bool>> {
        let rows: Vec<bool> = (0..n).map(|i| array.is_valid(i) && f(i)).collect();
        rows.contains(&true).then_some(rows)
    };
    match array.data_type() {
        DataType::Float16 => {
            let a = array.as_primitive::<Float16Type>();
            mark(&|i| !a.value(i).is_finite())
        }
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            if a.values().iter().all(|v| v.is_finite()) {
                return None;
            }
            mark(&|i| !a.value(i).is_finite())
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            if a.values().iter().all(|v| v.is_finite()) {
                return None;
            }
            mark(&|i| !a.value(i).is_finite())
        }
        DataType::List(_) => {
            let l = array.as_list::<i32>();
            let child = unrepresentable_rows(l.values().as_ref())?;
            let off = l.value_offsets();
            mark(&|i| child[off[i] as usize..off[i + 1] as usize].contains(&true))
        }
        DataType::LargeList(_) => {
            let l = array.as_list::<i64>();
            let child = unrepresentable_rows(l.values().as_ref())?;
            let off = l.value_offsets();
            mark(&|i| child[off[i] as usize..off[i + 1] as usize].contains(&true))
        }
        DataType::FixedSizeList(_, size) => {
            let l = array.as_fixed_size_list();
            let child = unrepresentable_rows(l.values().as_ref())?;
            let size = *size as usize;
            mark(&|i| child[i * size..(i + 1) * size].contains(&true))
        }
        DataType::Map(..) => {
            let m = array.as_map();
            let child = unrepresentable_rows(m.values().as_ref())?;
            let off = m.value_offsets();
            mark(&|i| child[off[i] as usize..off[i + 1] as usize].contains(&true))
        }
        DataType::Struct(_) => {
            let children: Vec<Vec<bool>> = array
                .as_struct()
                .columns()
                .iter()
                .filter_map(|c| unrepresentable_rows(c.as_ref()))
                .collect();
            if children.is_empty() {
                return None;
            }
            mark(&|i| children.iter().any(|c| c[i]))
        }
        _ => None,
    }
}

/// Values written as `null` because JSON cannot hold them, counted per column (for one
/// WARN per column and file).
#[derive(Debug, Default, Clone)]
pub struct NulledValues {
    counts: Vec<(String, u64)>,
}

impl NulledValues {
    /// Counts `n` more values of `column`.
    pub fn add(&mut self, column: &str, n: u64) {
        match self.counts.iter_mut().find(|(c, _)| c == column) {
            Some((_, count)) => *count += n,
            None => self.counts.push((column.to_string(), n)),
        }
    }

    /// Whether nothing was nulled.
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// One warning per column for `file`, with its count; the counts start again.
    pub fn take_warnings(&mut self, file: &str) -> Vec<String> {
        std::mem::take(&mut self.counts)
            .into_iter()
            .map(|(column, n)| {
                format!(
                    "{file}: {n} value(s) of column '{column}' are NaN or infinite, which JSON cannot hold; they \
                     were emitted as null, each record noting it in meta.changes"
                )
            })
            .collect()
    }
}
