//! The ranged Parquet reader (`read_parquet_ranged`): what it reads equals the local
//! reader's output, and the requests it makes are few, coalesced, pruned by projection
//! and filters, and read ahead only so far.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use arrow::array::*;
use arrow::compute::concat_batches;
use arrow::datatypes::*;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::StreamExt;
use lakeport_core::formats::parquet::{coalesce_ranges, read_parquet, read_parquet_ranged, RangedReadOptions};
use lakeport_core::formats::{new_writer, ColumnFilter, FileFormat, ReadOptions, WriteOptions};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use serde_json::json;

const ROWS: i64 = 100_000;
const ROW_GROUP_ROWS: usize = 10_000;

fn parquet_bytes(rows: i64, row_group_rows: usize) -> Bytes {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("cat", DataType::Utf8, true),
        Field::new("v", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..rows)),
            Arc::new(StringArray::from_iter_values(
                (0..rows).map(|i| format!("category-{}", i % 1000)),
            )),
            Arc::new(Float64Array::from_iter_values((0..rows).map(|i| i as f64 / 2.0))),
        ],
    )
    .unwrap();
    let opts = WriteOptions {
        row_group_rows,
        ..Default::default()
    };
    let mut w = new_writer(FileFormat::Parquet, "snappy", schema, Vec::new(), &opts).unwrap();
    w.write(&batch).unwrap();
    Bytes::from(w.finish().unwrap())
}

/// An object in memory, read through ranged requests that are logged.
#[derive(Clone)]
struct Object {
    data: Bytes,
    /// Requests starting before this offset get half the bytes asked for.
    short_before: u64,
    log: Arc<Mutex<Vec<Range<u64>>>>,
}

impl Object {
    fn new(data: Bytes) -> Self {
        Object {
            short_before: 0,
            data,
            log: Arc::default(),
        }
    }

    fn requests(&self) -> Vec<Range<u64>> {
        self.log.lock().unwrap().clone()
    }
}

impl AsyncFileReader for Object {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.log.lock().unwrap().push(range.clone());
        let mut end = (range.end as usize).min(self.data.len());
        if range.start < self.short_before {
            end = (range.start + (range.end - range.start) / 2) as usize;
        }
        let data = self.data.slice((range.start as usize).min(end)..end);
        Box::pin(async move {
            tokio::task::yield_now().await;
            Ok(data)
        })
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        Box::pin(async { Err(parquet::errors::ParquetError::General("not used".into())) })
    }
}

fn metadata(data: &Bytes) -> ParquetMetaData {
    ParquetMetaDataReader::new().parse_and_finish(data).unwrap()
}

/// Where the footer metadata starts: requests before it read column data.
fn metadata_start(data: &Bytes) -> u64 {
    let n = data.len();
    let len = u32::from_le_bytes(data[n - 8..n - 4].try_into().unwrap()) as u64;
    n as u64 - 8 - len
}

fn data_requests(object: &Object) -> Vec<Range<u64>> {
    let start = metadata_start(&object.data);
    object.requests().into_iter().filter(|r| r.start < start).collect()
}

/// Fetches of one row group each; the footer request holds no column data.
fn per_row_group() -> RangedReadOptions {
    RangedReadOptions {
        footer_prefetch: 8,
        min_fetch_bytes: 1,
        ..Default::default()
    }
}

fn filters(v: serde_json::Value) -> Vec<ColumnFilter> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| ColumnFilter::from_json(f).unwrap())
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Reads `object` through the ranged reader: all batches as one.
fn read_ranged(object: &Object, opts: &ReadOptions, ranged: RangedReadOptions) -> lakeport_core::Result<RecordBatch> {
    runtime().block_on(async {
        let size = object.data.len() as u64;
        let mut stream = read_parquet_ranged("t.parquet", object.clone(), size, opts, None, ranged).await?;
        let schema = stream.schema();
        let mut batches = vec![];
        while let Some(b) = stream.next().await {
            batches.push(b?);
        }
        Ok(concat_batches(&schema, &batches).unwrap())
    })
}

fn read_local(data: &Bytes, opts: &ReadOptions) -> RecordBatch {
    let r = read_parquet("t.parquet", data.clone(), opts, None).unwrap();
    let schema = lakeport_core::formats::BatchReader::schema(&r);
    let batches: Vec<RecordBatch> = r.map(|b| b.unwrap()).collect();
    concat_batches(&schema, &batches).unwrap()
}

#[test]
fn ranges_are_coalesced() {
    let ranges = vec![10..20, 0..5, 25..30, 100..110, 5..6, 7..7];
    assert_eq!(coalesce_ranges(ranges.clone(), 5), vec![0..30, 100..110]);
    assert_eq!(coalesce_ranges(ranges, 3), vec![0..6, 10..20, 25..30, 100..110]);
    assert_eq!(coalesce_ranges(vec![0..10, 2..4], 0), vec![0..10]);
    // A hole larger than the bytes it joins is not read.
    assert_eq!(coalesce_ranges(vec![0..2, 10..12], 100), vec![0..2, 10..12]);
    assert_eq!(coalesce_ranges(vec![0..2, 6..8], 100), vec![0..8]);
    assert_eq!(coalesce_ranges(vec![0..4, 6..8, 13..14], 100), vec![0..14]);
    assert_eq!(coalesce_ranges(vec![0..4, 6..8, 20..21], 100), vec![0..8, 20..21]);
    assert_eq!(coalesce_ranges(vec![0..10, 10..12, 13..14], 0), vec![0..12, 13..14]);
    assert!(coalesce_ranges(vec![], 1).is_empty());
}

#[test]
fn reads_what_the_local_reader_reads_with_one_request_per_row_group() {
    let object = Object::new(parquet_bytes(ROWS, ROW_GROUP_ROWS));
    let opts = ReadOptions::default();
    let got = read_ranged(&object, &opts, per_row_group()).unwrap();
    assert_eq!(got, read_local(&object.data, &opts));
    assert_eq!(got.num_rows(), ROWS as usize);
    // The three column chunks of a row group are adjacent: one request each.
    assert_eq!(data_requests(&object).len(), ROWS as usize / ROW_GROUP_ROWS);
}

#[test]
fn small_row_groups_are_fetched_together() {
    let object = Object::new(parquet_bytes(ROWS, ROW_GROUP_ROWS));
    assert!(object.data.len() < 4 * 1024 * 1024);
    let ranged = RangedReadOptions {
        footer_prefetch: 8,
        ..Default::default()
    };
    let got = read_ranged(&object, &ReadOptions::default(), ranged).unwrap();
    assert_eq!(got.num_rows(), ROWS as usize);
    // Less than `min_fetch_bytes` in all: one request for every row group.
    assert_eq!(data_requests(&object).len(), 1);
}

#[test]
fn a_small_file_takes_one_request() {
    let object = Object::new(parquet_bytes(2_000, 500));
    assert!(object.data.len() < 64 * 1024, "{}", object.data.len());
    let got = read_ranged(&object, &ReadOptions::default(), RangedReadOptions::default()).unwrap();
    assert_eq!(got.num_rows(), 2_000);
    assert_eq!(object.requests().len(), 1, "{:?}", object.requests());
}

#[test]
fn projection_fetches_only_the_projected_column_chunks() {
    let object = Object::new(parquet_bytes(ROWS, ROW_GROUP_ROWS));
    let meta = metadata(&object.data);
    let opts = ReadOptions::default().with_parquet_columns(vec!["id".into()]);
    let ranged = RangedReadOptions {
        coalesce_gap: 0,
        ..per_row_group()
    };
    let got = read_ranged(&object, &opts, ranged).unwrap();
    assert_eq!(got, read_local(&object.data, &opts));
    assert_eq!(got.num_columns(), 1);
    let expected: Vec<Range<u64>> = meta
        .row_groups()
        .iter()
        .map(|rg| {
            let (start, len) = rg.column(0).byte_range();
            start..start + len
        })
        .collect();
    // In any order: the next row groups are fetched while one decodes.
    let mut requested = data_requests(&object);
    requested.sort_by_key(|r| r.start);
    assert_eq!(requested, expected);

    // `id` and `v`: `cat` lies between them. Coalesced over the gap: one request per row
    // group; without coalescing, two.
    let opts = ReadOptions::default().with_parquet_columns(vec!["id".into(), "v".into()]);
    let object = Object::new(object.data.clone());
    read_ranged(&object, &opts, per_row_group()).unwrap();
    assert_eq!(data_requests(&object).len(), meta.num_row_groups());
    let object = Object::new(object.data.clone());
    read_ranged(&object, &opts, ranged).unwrap();
    assert_eq!(data_requests(&object).len(), 2 * meta.num_row_groups());
}

#[test]
fn filters_prune_row_groups_before_fetching() {
    let object = Object::new(parquet_bytes(ROWS, ROW_GROUP_ROWS));
    let opts = ReadOptions::default().with_parquet_filters(filters(json!([["id", "<", 25_000]])));
    let got = read_ranged(&object, &opts, per_row_group()).unwrap();
    assert_eq!(got, read_local(&object.data, &opts));
    assert_eq!(got.num_rows(), 25_000);
    // Row groups 0, 1 and 2 only.
    assert_eq!(data_requests(&object).len(), 3, "{:?}", data_requests(&object));

    // Every row group pruned: the footer only.
    let object = Object::new(object.data.clone());
    let opts = ReadOptions::default().with_parquet_filters(filters(json!([["id", "<", 0]])));
    assert_eq!(read_ranged(&object, &opts, per_row_group()).unwrap().num_rows(), 0);
    assert!(data_requests(&object).is_empty(), "{:?}", object.requests());
}

#[test]
fn read_ahead_is_bounded() {
    let object = Object::new(parquet_bytes(ROWS, ROW_GROUP_ROWS));
    let ranged = RangedReadOptions {
        prefetch_fetches: 2,
        ..per_row_group()
    };
    runtime().block_on(async {
        let size = object.data.len() as u64;
        let opts = ReadOptions::default().with_batch_size(1_000);
        let mut stream = read_parquet_ranged("t.parquet", object.clone(), size, &opts, None, ranged)
            .await
            .unwrap();
        stream.next().await.unwrap().unwrap();
        // Time for the read-ahead to run as far as it may.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        // The row group in use and two ahead, no more.
        assert_eq!(data_requests(&object).len(), 3);
        let mut rows = 1_000;
        while let Some(b) = stream.next().await {
            rows += b.unwrap().num_rows();
        }
        assert_eq!(rows, ROWS as usize);
        assert_eq!(data_requests(&object).len(), 10);
    });
}

#[test]
fn a_short_response_is_an_error_not_a_panic() {
    let mut object = Object::new(parquet_bytes(ROWS, ROW_GROUP_ROWS));
    // The footer reads as listed; the column data comes back cut short (the object was
    // replaced during the read).
    object.short_before = metadata_start(&object.data);
    let e = read_ranged(&object, &ReadOptions::default(), per_row_group()).unwrap_err();
    assert!(
        e.to_string().contains("t.parquet") && e.to_string().contains("shorter"),
        "{e}"
    );
    // A size larger than the object: the footer request comes back short.
    let object = Object::new(object.data.clone());
    let e = runtime()
        .block_on(read_parquet_ranged(
            "t.parquet",
            object.clone(),
            object.data.len() as u64 + 10,
            &ReadOptions::default(),
            None,
            RangedReadOptions::default(),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("shorter"), "{e}");
}
