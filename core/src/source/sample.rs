//! Discovery of a file-based stream's schema, shared by source-file and
//! source-s3: a bounded sample of the stream's newest files, each file's
//! schema read on its own thread (at most `workers` at once), merged in
//! sample order into one schema (conflicts widened, with a WARN).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use arrow::datatypes::Schema;
use chrono::{DateTime, Utc};
use lakeport_protocol::{ConnectorError, Emitter};

use crate::cost::FileModel;
use crate::error::Result;
use crate::schema::merge;
use crate::storage::ObjectMeta;

/// Files sampled per stream for its schema.
pub const SAMPLE_FILES: usize = 10;

/// A file of a file-based stream as discovery sees it.
pub trait StreamFile {
    /// Its name (path, URL or key), in messages and to order ties.
    fn name(&self) -> &str;
    /// When it was last modified.
    fn last_modified(&self) -> DateTime<Utc>;
}

impl StreamFile for ObjectMeta {
    fn name(&self) -> &str {
        &self.key
    }

    fn last_modified(&self) -> DateTime<Utc> {
        self.last_modified
    }
}

/// The newest `n` of `files`, newest first (equal times by name).
pub fn newest<T: StreamFile>(files: &[T], n: usize) -> Vec<&T> {
    let mut newest: Vec<&T> = files.iter().collect();
    newest.sort_by(|a, b| {
        b.last_modified()
            .cmp(&a.last_modified())
            .then_with(|| a.name().cmp(b.name()))
    });
    newest.truncate(n);
    newest
}

/// The merged schema of the newest [`SAMPLE_FILES`] of `files`: `infer`
/// reads one file's schema, on up to `workers` threads at once; the schemas
/// are merged newest first, each conflict a WARN. No file: an empty schema.
/// The first file (in sample order) that cannot be read fails the whole.
///
/// Blocks: from an async task, call it within `tokio::task::block_in_place`.
pub fn infer_merged_schema<T, F>(
    files: &[T],
    workers: usize,
    infer: F,
    out: &mut Emitter,
) -> std::result::Result<Schema, ConnectorError>
where
    T: StreamFile + Sync,
    F: Fn(&T) -> Result<Schema> + Sync,
{
    let sample = newest(files, SAMPLE_FILES);
    let schemas = map_parallel(&sample, workers, |f| infer(f));
    let mut merged: Option<(Schema, &str)> = None;
    for (file, schema) in sample.iter().zip(schemas) {
        let schema = schema?;
        let name = file.name();
        merged = Some(match merged {
            None => (schema, name),
            Some((acc, acc_name)) => {
                let (m, warnings) = merge(&acc, acc_name, &schema, name);
                for w in warnings {
                    out.warn(w)?;
                }
                (m, acc_name)
            }
        });
    }
    Ok(merged.map(|(s, _)| s).unwrap_or_else(Schema::empty))
}

/// `f` of every item, on up to `workers` scoped threads, results in item order.
fn map_parallel<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = workers.max(1).min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return };
                let result = f(item);
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(result);
                }
            });
        }
    });
    slots
        .into_iter()
        .filter_map(|slot| slot.into_inner().ok().flatten())
        .collect()
}

/// Bytes a schema sample reads at most per object (a Parquet footer, a text file's first rows).
const FOOTER_BYTES: u64 = 64 * 1024;

/// The sizes and models of the reads that infer the schema of `files`: one
/// GET of at most `FOOTER_BYTES` (64 KiB) for each of the newest [`SAMPLE_FILES`].
pub fn schema_sample(files: &[ObjectMeta]) -> impl Iterator<Item = (u64, FileModel)> + '_ {
    newest(files, SAMPLE_FILES)
        .into_iter()
        .map(|f| (f.size.min(FOOTER_BYTES), FileModel::Whole))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};
    use chrono::TimeZone;

    struct F(&'static str, i64, Option<DataType>);

    impl StreamFile for F {
        fn name(&self) -> &str {
            self.0
        }
        fn last_modified(&self) -> DateTime<Utc> {
            Utc.timestamp_opt(self.1, 0).unwrap()
        }
    }

    #[test]
    fn samples_newest_first_with_ties_by_name() {
        let files = [F("a", 1, None), F("c", 3, None), F("b", 3, None), F("d", 2, None)];
        let names: Vec<&str> = newest(&files, 3).into_iter().map(|f| f.0).collect();
        assert_eq!(names, ["b", "c", "d"]);
    }

    #[test]
    fn merges_the_sample_in_order_and_fails_on_an_unreadable_file() {
        let files: Vec<F> = (0..25)
            .map(|i| F(if i % 2 == 0 { "even" } else { "odd" }, i, Some(DataType::Int64)))
            .collect();
        let mut out = Emitter::new(Box::new(Vec::new()));
        let seen = AtomicUsize::new(0);
        let schema = infer_merged_schema(
            &files,
            4,
            |f| {
                seen.fetch_add(1, Ordering::Relaxed);
                let dt = f.2.clone().unwrap_or(DataType::Utf8);
                Ok(Schema::new(vec![
                    Field::new("id", dt, true),
                    Field::new(format!("c{}", f.1), DataType::Utf8, true),
                ]))
            },
            &mut out,
        )
        .unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), SAMPLE_FILES);
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names[..3], ["id", "c24", "c23"]);
        assert_eq!(names.len(), 1 + SAMPLE_FILES);

        let err = infer_merged_schema(
            &files,
            4,
            |f| {
                if f.1 == 20 {
                    Err(crate::Error::format(f.0, "bad"))
                } else {
                    Ok(Schema::empty())
                }
            },
            &mut out,
        )
        .unwrap_err();
        assert!(err.to_string().contains("bad"), "{err}");
        assert!(infer_merged_schema(&[] as &[F], 4, |_| Ok(Schema::empty()), &mut out)
            .unwrap()
            .fields()
            .is_empty());
    }
}
