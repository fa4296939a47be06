use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;

/// An in-memory bucket with S3's listing semantics, counting requests.
struct Bucket {
    keys: BTreeMap<String, u64>,
    page: usize,
    calls: Mutex<Vec<ListCall>>,
    requests: Mutex<u64>,
}

impl Bucket {
    fn new(keys: impl IntoIterator<Item = String>, page: usize) -> Bucket {
        Bucket {
            keys: keys.into_iter().map(|k| (k, 100)).collect(),
            page,
            calls: Mutex::new(Vec::new()),
            requests: Mutex::new(0),
        }
    }

    fn requests(&self) -> u64 {
        *self.requests.lock().unwrap()
    }
}

impl Lister for Bucket {
    fn list(&self, call: ListCall) -> BoxFuture<'_, Result<Listing>> {
        self.calls.lock().unwrap().push(call.clone());
        // Entries in order: objects and folded prefixes.
        let mut entries: Vec<(String, bool)> = Vec::new();
        for k in self.keys.keys() {
            if !k.starts_with(&call.prefix) || call.start_after.as_ref().is_some_and(|s| k <= s) {
                continue;
            }
            let rest = &k[call.prefix.len()..];
            match call
                .delimiter
                .as_deref()
                .and_then(|d| rest.find(d).map(|i| i + d.len()))
            {
                Some(end) => {
                    let cp = format!("{}{}", call.prefix, &rest[..end]);
                    if entries.last().map(|e| &e.0) != Some(&cp) {
                        entries.push((cp, true));
                    }
                }
                None => entries.push((k.clone(), false)),
            }
        }
        let mut out = Listing::default();
        let chunks: Vec<&[(String, bool)]> = if entries.is_empty() {
            vec![&[]]
        } else {
            entries.chunks(self.page).collect()
        };
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            out.requests += 1;
            *self.requests.lock().unwrap() += 1;
            for (e, is_prefix) in chunk {
                if *is_prefix {
                    out.common_prefixes.push(e.clone());
                } else {
                    out.objects.push(ObjectMeta {
                        key: e.clone(),
                        size: self.keys[e],
                        last_modified: Utc.timestamp_opt(0, 0).unwrap(),
                        etag: None,
                    });
                }
            }
            if call.max_pages.is_some_and(|m| i + 1 >= m) {
                out.truncated = i + 1 < n;
                break;
            }
        }
        async move { Ok(out) }.boxed()
    }

    fn page_size(&self) -> usize {
        self.page
    }
}

fn hive() -> Vec<String> {
    let mut keys = Vec::new();
    for y in 2023..=2024 {
        for m in 1..=12 {
            for d in 1..=5 {
                keys.push(format!("events/year={y}/month={m:02}/day={d:02}/part-0.parquet"));
            }
        }
    }
    keys
}

fn date_paths(days: u32) -> Vec<String> {
    let mut keys = Vec::new();
    for d in 1..=days {
        for f in 0..2 {
            keys.push(format!("logs/2024/01/{d:02}/f{f}.jsonl"));
        }
    }
    keys
}

fn request(base: &str, filter: serde_json::Value) -> PlanRequest {
    PlanRequest {
        base: base.into(),
        filter: PartitionFilter::from_json(filter.as_object().unwrap()).unwrap(),
        ..Default::default()
    }
}

fn run(bucket: &Bucket, req: &PlanRequest) -> Result<ListingPlan> {
    futures::executor::block_on(plan_listing(bucket, req))
}

fn keys_of(plan: &ListingPlan) -> Vec<String> {
    plan.files.iter().map(|f| f.meta.key.clone()).collect()
}

fn expected(keys: &[String], filter: serde_json::Value) -> Vec<String> {
    let scheme = PartitionScheme::detect("events/", keys);
    let f = PartitionFilter::from_json(filter.as_object().unwrap()).unwrap();
    keys.iter().filter(|k| f.accepts(&scheme.values(k))).cloned().collect()
}

#[test]
fn unfiltered_is_one_flat_listing() {
    let bucket = Bucket::new(hive(), 10);
    let plan = run(&bucket, &request("events/", json!({}))).unwrap();
    assert_eq!(plan.strategy, Strategy::Flat);
    assert_eq!(plan.files.len(), 120);
    assert_eq!(keys_of(&plan), hive());
    // The sample page, then the rest of the flat listing: 12 pages in all.
    assert_eq!(plan.list_requests, 12);
    assert_eq!(bucket.requests(), 12);
    assert_eq!(plan.files_listed, 120);
    assert_eq!(plan.scan_reduction_pct, 0.0);
    assert_eq!(plan.partitions_total, 120);
}

#[test]
fn equality_and_lists_on_leading_keys_become_exact_prefixes() {
    let filter = json!({"year": "2024", "month": ["01", "02", "03"]});
    let bucket = Bucket::new(hive(), 10);
    let plan = run(&bucket, &request("events/", filter.clone())).unwrap();
    assert_eq!(
        plan.strategy,
        Strategy::Pruned(vec![
            "events/year=2024/month=01/".into(),
            "events/year=2024/month=02/".into(),
            "events/year=2024/month=03/".into()
        ])
    );
    assert_eq!(keys_of(&plan), expected(&hive(), filter));
    assert_eq!(plan.files.len(), 15);
    // The sample page plus one page per month.
    assert_eq!(plan.list_requests, 4);
    assert!(plan.scan_reduction_pct >= 85.0, "{}", plan.scan_reduction_pct);
    assert_eq!(plan.partitions_selected, 15);
    assert!(plan.partitions_total >= 100, "{}", plan.partitions_total);
    // Same answer with numbers and unpadded values.
    let plan = run(&bucket, &request("events", json!({"year": 2024, "month": [1, 2, 3]}))).unwrap();
    assert_eq!(plan.files.len(), 15);
}

#[test]
fn small_listings_stay_flat() {
    let bucket = Bucket::new(hive(), 1000);
    let filter = json!({"year": "2024", "month": ["01", "02", "03"]});
    let plan = run(&bucket, &request("events/", filter.clone())).unwrap();
    assert_eq!(plan.strategy, Strategy::Flat);
    assert_eq!(plan.list_requests, 1);
    assert_eq!(keys_of(&plan), expected(&hive(), filter));
    assert!(
        (plan.scan_reduction_pct - 87.5).abs() < 0.01,
        "{}",
        plan.scan_reduction_pct
    );
    assert_eq!(plan.partitions_total, 120);
    assert_eq!(plan.partitions_selected, 15);
}

#[test]
fn deep_ranges_fall_back_to_a_flat_listing_when_cheaper() {
    let filter = json!({"day": {"gte": "03"}});
    let bucket = Bucket::new(hive(), 10);
    let plan = run(&bucket, &request("events/", filter.clone())).unwrap();
    assert_eq!(plan.strategy, Strategy::Flat);
    assert_eq!(plan.list_requests, 12);
    assert_eq!(keys_of(&plan), expected(&hive(), filter));
    assert_eq!(plan.files.len(), 72);
}

#[test]
fn ranges_list_level_by_level_skipping_pruned_folders() {
    // Many files per partition: listing the month level pays off.
    let mut keys = Vec::new();
    for m in 1..=12 {
        for f in 0..30 {
            keys.push(format!("t/region=eu/month={m:02}/f{f:02}.csv"));
        }
    }
    let filter = json!({"region": "eu", "month": {"gte": "11"}});
    let bucket = Bucket::new(keys.clone(), 10);
    let plan = run(&bucket, &request("t/", filter)).unwrap();
    assert_eq!(
        plan.strategy,
        Strategy::Pruned(vec!["t/region=eu/month=11/".into(), "t/region=eu/month=12/".into()])
    );
    assert_eq!(plan.files.len(), 60);
    // Sample + one delimiter listing of region=eu/ (2 pages of 12 folders? no: 12 < 10? 2 pages) + 3 pages × 2.
    let calls = bucket.calls.lock().unwrap();
    assert!(calls
        .iter()
        .any(|c| c.delimiter.is_some() && c.prefix == "t/region=eu/"));
    assert!(!calls.iter().any(|c| c.prefix.contains("month=01")));
    assert_eq!(plan.list_requests, 1 + 2 + 6);
}

/// `folders` folders of `per` keys under `base`.
fn folders(base: &str, folders: usize, per: usize) -> Vec<String> {
    (0..folders)
        .flat_map(|f| (0..per).map(move |k| format!("{base}f{f:03}/k{k:03}.csv")))
        .collect()
}

fn calls_of(bucket: &Bucket) -> Vec<(String, Option<String>, Option<String>)> {
    bucket
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| (c.prefix.clone(), c.delimiter.clone(), c.start_after.clone()))
        .collect()
}

fn call(prefix: &str, delimiter: bool, start_after: Option<&str>) -> (String, Option<String>, Option<String>) {
    (
        prefix.to_string(),
        delimiter.then(|| "/".to_string()),
        start_after.map(str::to_string),
    )
}

/// The layout: 2 years × 12 months × 28 days × 5 parts (3,360 keys, 672 partitions).
fn big_hive() -> Vec<String> {
    let mut keys = Vec::new();
    for y in 2023..=2024 {
        for m in 1..=12 {
            for d in 1..=28 {
                for p in 0..5 {
                    keys.push(format!("events/year={y}/month={m:02}/day={d:02}/part-{p}.parquet"));
                }
            }
        }
    }
    keys
}

#[test]
fn leading_values_are_pruned_whatever_the_sample_page_shows() {
    // The first page holds 2023 only; the filter asks for 2024.
    let keys = big_hive();
    let filter = json!({"year": "2024", "month": ["01", "02", "03"]});
    for (page, requests, listed) in [(1000, 1 + 3, 1000 + 420), (100, 1 + 3 * 2, 100 + 420)] {
        let bucket = Bucket::new(keys.clone(), page);
        let plan = run(&bucket, &request("events/", filter.clone())).unwrap();
        assert!(
            matches!(&plan.strategy, Strategy::Pruned(p) if p.len() == 3),
            "{:?}",
            plan.strategy
        );
        assert_eq!(keys_of(&plan), expected(&keys, filter.clone()));
        assert_eq!(plan.files.len(), 420);
        assert_eq!(plan.list_requests, requests, "page {page}");
        assert_eq!(bucket.requests(), requests);
        // Honest: the sample page's keys were listed too.
        assert_eq!(plan.files_listed, listed, "page {page}");
        assert_eq!(plan.partitions_selected, 84);
    }
    // An open prefix the sample page reaches into is listed after its last key.
    let bucket = Bucket::new(keys.clone(), 100);
    let filter = json!({"year": "2023", "month": "01"});
    let plan = run(&bucket, &request("events/", filter.clone())).unwrap();
    assert_eq!(keys_of(&plan), expected(&keys, filter));
    assert_eq!(
        calls_of(&bucket)[1],
        call(
            "events/year=2023/month=01/",
            false,
            Some("events/year=2023/month=01/day=20/part-4.parquet")
        )
    );
    assert_eq!(plan.list_requests, 2);
    assert_eq!(plan.files_listed, 140);
}

#[test]
fn a_flat_listing_of_small_folders_costs_its_pages_and_no_more() {
    // (folders, keys each, page): folders smaller than a page would each end
    // on a partial page, so no split is made, and none is looked into: 18
    // keys in pages of 5 take 4 LISTs (a split took 6), 2,500 in folders of
    // 100 at 1,000 take 3 (a split took 4).
    for (n, each, page) in [(3, 6, 5), (25, 100, 1000), (40, 2, 50), (200, 1, 10), (12, 15, 20)] {
        let keys = folders("t/", n, each);
        let bucket = Bucket::new(keys.clone(), page);
        let plan = run(&bucket, &request("t/", json!({}))).unwrap();
        assert_eq!(plan.strategy, Strategy::Flat);
        assert_eq!(keys_of(&plan), keys);
        assert_eq!(plan.files_listed, keys.len() as u64);
        let pages = keys.len().div_ceil(page) as u64;
        assert_eq!(plan.list_requests, pages, "{} keys, page {page}", keys.len());
        assert_eq!(bucket.requests(), plan.list_requests);
        let calls = calls_of(&bucket);
        assert_eq!(calls[0], call("t/", false, None));
        assert!(calls.iter().all(|c| c.0 == "t/" && c.1.is_none()), "{calls:?}");
    }
}

#[test]
fn long_flat_listings_of_large_folders_are_split_by_folder() {
    let keys = folders("t/", 10, 30);
    let bucket = Bucket::new(keys.clone(), 10);
    let plan = run(&bucket, &request("t/", json!({}))).unwrap();
    assert_eq!(plan.strategy, Strategy::Flat);
    // The same keys as a flat listing, in order, each once.
    assert_eq!(keys_of(&plan), keys);
    assert_eq!(plan.files_listed, 300);
    let mut expected = vec![
        call("t/", false, None),
        // The sample shows one folder: one more flat page before deciding.
        call("t/", false, Some("t/f000/k009.csv")),
        call("t/", true, None),
        // The keys so far end in f000/k019: its folder is listed after
        // them. They show leaf folders: listed with the delimiter.
        call("t/f000/", true, Some("t/f000/k019.csv")),
    ];
    expected.extend((1..10).map(|f| call(&format!("t/f{f:03}/"), true, None)));
    assert_eq!(calls_of(&bucket), expected);
    // 2 flat pages + delimiter listing + 1 page of f000 + 3 pages × 9
    // folders: one more than the 30 pages of a sequential flat listing.
    assert_eq!(plan.list_requests, 2 + 1 + 1 + 27);
    assert_eq!(bucket.requests(), plan.list_requests);
}

#[test]
fn split_descends_a_single_folder_chain() {
    let keys: Vec<String> = (1..=9)
        .flat_map(|m| (0..20).map(move |f| format!("events/year=2024/month={m:02}/f{f:02}.csv")))
        .collect();
    let bucket = Bucket::new(keys.clone(), 10);
    let plan = run(&bucket, &request("events/", json!({}))).unwrap();
    assert_eq!(keys_of(&plan), keys);
    let calls = calls_of(&bucket);
    assert_eq!(
        calls[..5],
        [
            call("events/", false, None),
            call("events/", false, Some("events/year=2024/month=01/f09.csv")),
            call("events/", true, None),
            call("events/year=2024/", true, None),
            call(
                "events/year=2024/month=01/",
                true,
                Some("events/year=2024/month=01/f19.csv")
            ),
        ]
    );
    assert_eq!(calls.len(), 5 + 8);
    // 2 flat pages + 2 delimiter listings + month=01 after them (an empty
    // page) + 2 pages × 8 months.
    assert_eq!(plan.list_requests, 2 + 2 + 1 + 16);
}

/// A lister whose listings are pending once, recording how many run at once.
struct Concurrent {
    bucket: Bucket,
    running: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl Lister for Concurrent {
    fn list(&self, call: ListCall) -> BoxFuture<'_, Result<Listing>> {
        use std::sync::atomic::Ordering::SeqCst;
        async move {
            let now = self.running.fetch_add(1, SeqCst) + 1;
            self.peak.fetch_max(now, SeqCst);
            let mut yielded = false;
            futures::future::poll_fn(|cx| {
                if yielded {
                    std::task::Poll::Ready(())
                } else {
                    yielded = true;
                    cx.waker().wake_by_ref();
                    std::task::Poll::Pending
                }
            })
            .await;
            let out = self.bucket.list(call).await;
            self.running.fetch_sub(1, SeqCst);
            out
        }
        .boxed()
    }

    fn page_size(&self) -> usize {
        self.bucket.page_size()
    }
}

#[test]
fn split_folders_and_open_prefixes_are_listed_concurrently() {
    let keys = folders("t/", 40, 50);
    let lister = Concurrent {
        bucket: Bucket::new(keys.clone(), 50),
        running: Default::default(),
        peak: Default::default(),
    };
    let plan = futures::executor::block_on(plan_listing(&lister, &request("t/", json!({})))).unwrap();
    assert_eq!(keys_of(&plan), keys);
    assert_eq!(lister.peak.into_inner(), LIST_CONCURRENCY);
    // 2 flat pages (f000, f001) + delimiter listing + f001 after them (an
    // empty page) + 1 page × 38: two more than the 40 flat pages.
    assert_eq!(plan.list_requests, 2 + 1 + 1 + 38);

    // The open prefixes of a pruned plan.
    let keys: Vec<String> = (1..=12)
        .flat_map(|m| (0..20).map(move |f| format!("t/month={m:02}/f{f:02}.csv")))
        .collect();
    let lister = Concurrent {
        bucket: Bucket::new(keys, 10),
        running: Default::default(),
        peak: Default::default(),
    };
    let filter = json!({"month": ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10"]});
    let plan = futures::executor::block_on(plan_listing(&lister, &request("t/", filter))).unwrap();
    assert!(
        matches!(&plan.strategy, Strategy::Pruned(p) if p.len() == 10),
        "{:?}",
        plan.strategy
    );
    assert_eq!(plan.files.len(), 200);
    assert_eq!(lister.peak.into_inner(), 10);
}

#[test]
fn a_base_without_trailing_slash_lists_its_keys() {
    // "data/2024" holds data/2024-01.csv, which no listing of data/2024/ finds.
    let mut keys: Vec<String> = (1..=12).map(|m| format!("data/2024-{m:02}.csv")).collect();
    keys.extend(folders("data/2024/", 3, 10));
    keys.push("data/2025-01.csv".into());
    let bucket = Bucket::new(keys.clone(), 10);
    let plan = run(&bucket, &request("data/2024", json!({}))).unwrap();
    assert_eq!(plan.strategy, Strategy::Flat);
    assert_eq!(keys_of(&plan), keys[..42]);
    assert_eq!(
        calls_of(&bucket),
        [
            call("data/2024", false, None),
            call("data/2024", false, Some("data/2024-10.csv")),
        ]
    );
    // 42 keys: 5 pages, as before.
    assert_eq!(plan.list_requests, 5);
}

#[test]
fn unknown_filter_key_is_a_partition_error() {
    let bucket = Bucket::new(hive(), 10);
    let err = run(&bucket, &request("events/", json!({"country": "fr"}))).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("Partition error:"), "{msg}");
    assert!(msg.contains("year, month, day"), "{msg}");
    assert_eq!(err.failure_type(), lakeport_protocol::FailureType::ConfigError);
    let mut req = request("events/", json!({}));
    req.partition_keys = Some(vec!["year".into(), "country".into()]);
    let msg = run(&bucket, &req).unwrap_err().to_string();
    assert!(msg.contains("'country'"), "{msg}");
}

#[test]
fn date_floor_starts_after_the_floor_folder() {
    let bucket = Bucket::new(date_paths(20), 5);
    let mut req = request("logs/", json!({}));
    req.filter = req.filter.with_since(parse_moment("2024-01-18T10:00:00Z"));
    let plan = run(&bucket, &req).unwrap();
    assert_eq!(plan.strategy, Strategy::StartAfter("logs/2024/01/18/".into()));
    assert_eq!(plan.files.len(), 6);
    // Sample + one page after the floor.
    assert_eq!(plan.list_requests, 1 + 2);
    let calls = bucket.calls.lock().unwrap();
    assert_eq!(calls[1].start_after.as_deref(), Some("logs/2024/01/18/"));
}

#[test]
fn incremental_resume_lists_only_from_the_newest_synced_folder() {
    let synced = date_paths(5);
    let bucket = Bucket::new(date_paths(6), 3);
    let req = PlanRequest {
        base: "logs/".into(),
        synced_keys: synced,
        resume_from_synced: true,
        ..Default::default()
    };
    let plan = run(&bucket, &req).unwrap();
    assert_eq!(plan.strategy, Strategy::StartAfter("logs/2024/01/05/".into()));
    // Day 5 again (its files may have changed) and day 6; no sample page.
    assert_eq!(
        keys_of(&plan),
        [
            "logs/2024/01/05/f0.jsonl",
            "logs/2024/01/05/f1.jsonl",
            "logs/2024/01/06/f0.jsonl",
            "logs/2024/01/06/f1.jsonl"
        ]
    );
    assert_eq!(plan.list_requests, 2);
    assert_eq!(bucket.calls.lock().unwrap().len(), 1);
    assert!(plan.scan_reduction_pct > 60.0, "{}", plan.scan_reduction_pct);
}

#[test]
fn leading_gte_on_a_date_uses_start_after() {
    let keys: Vec<String> = (1..=9)
        .flat_map(|d| (0..3).map(move |f| format!("t/dt=2024-01-0{d}/f{f}.csv")))
        .collect();
    let bucket = Bucket::new(keys, 4);
    let plan = run(&bucket, &request("t/", json!({"dt": {"gte": "2024-01-08"}}))).unwrap();
    assert_eq!(plan.strategy, Strategy::StartAfter("t/dt=2024-01-08/".into()));
    assert_eq!(plan.files.len(), 6);
    assert_eq!(plan.list_requests, 1 + 2);
}

#[test]
fn empty_prefix_plans_nothing() {
    let bucket = Bucket::new(Vec::new(), 10);
    let mut req = request("none/", json!({"year": "2024"}));
    req.partition_keys = Some(vec!["year".into()]);
    let plan = run(&bucket, &req).unwrap();
    assert!(plan.files.is_empty());
    assert_eq!(plan.list_requests, 1);
}

#[test]
fn optimized_prefix_for_cursors() {
    let scheme = PartitionScheme::detect("logs/", &date_paths(3));
    assert_eq!(
        build_optimized_prefix(&scheme, "2024-01-02T23:00:00.000000Z", "ts"),
        "logs/2024/01/02/"
    );
    assert_eq!(build_optimized_prefix(&scheme, "not a date", "ts"), "logs/");
    let scheme = PartitionScheme::detect("t", &["t/x/dt=2024-01-01/a", "t/x/dt=2024-01-02/a"]);
    assert_eq!(
        build_optimized_prefix(&scheme, "2024-01-02", "dt"),
        "t/x/dt=2024-01-02/"
    );
    let flat = PartitionScheme::detect("t/", &["t/a", "t/b"]);
    assert_eq!(build_optimized_prefix(&flat, "2024-01-02", "ts"), "t/");
}

#[test]
fn scan_reduction_estimates() {
    let scheme = PartitionScheme::detect("events/", &hive()[..10]);
    let f = |v: serde_json::Value| PartitionFilter::from_json(v.as_object().unwrap()).unwrap();
    let r = estimate_scan_reduction(&scheme, &f(json!({"year": "2024", "month": ["01", "02", "03"]})));
    assert!((r - 87.5).abs() < 0.01, "{r}");
    assert_eq!(estimate_scan_reduction(&scheme, &f(json!({}))), 0.0);
    let r = estimate_scan_reduction(&scheme, &f(json!({"month": {"gte": "07"}})));
    assert!((r - 50.0).abs() < 0.01, "{r}");
}

#[test]
fn runs_against_a_storage_backend() {
    use crate::storage::{LocalStorage, Metered, StorageExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Metered::new(Arc::new(LocalStorage::new(dir.path())));
        for key in hive() {
            store.put(&key, "id\n1\n".into()).await.unwrap();
        }
        let lister = StorageLister::new(store.store().clone(), 10);
        let before = store.meter().snapshot();
        let req = request("events/", json!({"year": "2024", "month": ["01", "02", "03"]}));
        let plan = plan_listing(&lister, &req).await.unwrap();
        assert_eq!(plan.files.len(), 15);
        assert!(matches!(plan.strategy, Strategy::Pruned(_)));
        let used = store.meter().snapshot() - before;
        assert_eq!(used.list_requests, plan.list_requests);
        assert_eq!(used.get_requests, 0);
        let flat = plan_listing(&lister, &request("events/", json!({}))).await.unwrap();
        assert_eq!(flat.files.len(), 120);
        assert!(
            plan.list_requests < flat.list_requests,
            "{} vs {}",
            plan.list_requests,
            flat.list_requests
        );
        // A range on a leading date level of real folders.
        let plan = plan_listing(&lister, &request("events/", json!({"year": {"gte": "2024"}})))
            .await
            .unwrap();
        assert_eq!(plan.files.len(), 60);
        assert!(plan.files.iter().all(|f| f.meta.key.starts_with("events/year=2024/")));
        let _ = store.first_object("events/").await.unwrap();
    });
}
