//! Partition pruning and cost management in source-s3 against a real
//! S3-protocol server (s3s-fs), with generated datasets: pruned listings cut
//! LIST and GET requests, incremental runs on date paths list only from the
//! newest synced day, estimates match the metered cost, limits stop a run
//! before its first GET, and dev sampling reads a stable tenth.

use std::collections::BTreeSet;

use lakeport_core::formats::{self, FileFormat, ReadOptions, WriteOptions};
use lakeport_tests::{run, Run, S3Env};
use serde_json::{json, Value};

/// Writes `rows` (JSON lines) as a Parquet object at `key`.
fn put_parquet(env: &S3Env, key: &str, rows: &str) {
    put_parquet_with(env, key, rows, &WriteOptions::default());
}

/// Writes `rows` (JSON lines) as a Parquet object at `key` with `options`
/// (e.g. one row group per row).
fn put_parquet_with(env: &S3Env, key: &str, rows: &str, options: &WriteOptions) {
    let tmp = env.dir().join("rows.jsonl");
    std::fs::write(&tmp, rows).expect("write rows");
    let reader =
        formats::read_path(&tmp, Some(FileFormat::Jsonl), None, &ReadOptions::default(), None).expect("read rows");
    let schema = reader.schema();
    let batches = formats::collect(reader).expect("batches");
    let mut writer =
        formats::new_writer(FileFormat::Parquet, "snappy", schema, Vec::new(), options).expect("parquet writer");
    for b in &batches {
        writer.write(b).expect("write batch");
    }
    let bytes = writer.finish().expect("finish parquet");
    env.server.put_object(&env.bucket, key, &bytes);
}

fn ok(r: Run) -> Run {
    r.assert_success();
    r
}

/// The COST report of a run.
fn cost(r: &Run) -> Value {
    let line = r
        .logs()
        .into_iter()
        .find(|l| l.contains("COST {"))
        .unwrap_or_else(|| panic!("no COST report in {}\n{}", r.stdout, r.stderr));
    serde_json::from_str(line.split_once("COST ").expect("COST").1).expect("COST json")
}

fn n(report: &Value, key: &str) -> f64 {
    report[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} missing in {report}"))
}

fn assert_estimate_close(report: &Value) {
    let (est, act) = (n(report, "estimated_usd"), n(report, "actual_usd"));
    assert!(act > 0.0, "{report}");
    assert!(
        (est - act).abs() <= 0.1 * act,
        "estimate {est} vs actual {act}: {report}"
    );
}

/// Records as comparable strings (without the file modification time).
fn rows(r: &Run) -> Vec<String> {
    let mut out: Vec<String> = r
        .data()
        .into_iter()
        .map(|d| {
            let mut d = d.clone();
            if let Some(m) = d.as_object_mut() {
                m.remove("_ab_source_file_last_modified");
            }
            d.to_string()
        })
        .collect();
    out.sort();
    out
}

fn hive_env() -> S3Env {
    let env = S3Env::new("lake");
    for y in 2023..=2024 {
        for m in 1..=12 {
            for d in 1..=5 {
                let rows: String = (0..2)
                    .map(|i| {
                        format!(
                            "{{\"id\": {i}, \"y\": {y}, \"m\": {m}, \"d\": {d}, \"event\": \"e-{y}-{m:02}-{d:02}-{i}\"}}\n"
                        )
                    })
                    .collect();
                put_parquet(
                    &env,
                    &format!("events/year={y}/month={m:02}/day={d:02}/part-0.parquet"),
                    &rows,
                );
            }
        }
    }
    env
}

fn base_config() -> Value {
    json!({"path_prefix": "events/", "file_format": "parquet", "list_page_size": 10})
}

fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

#[test]
fn hive_filter_prunes_listing_and_reads() {
    let env = hive_env();
    let all_config = env.config("all.json", base_config());
    let catalog = env.catalog("source-s3", &all_config, "full_refresh");
    let all = ok(env.read("source-s3", &all_config, &catalog, None));
    assert_eq!(all.data().len(), 240);
    let all_cost = cost(&all);
    assert_estimate_close(&all_cost);

    let filter = json!({"partition_filter": {"year": "2024", "month": ["01", "02", "03"]}});
    let config = env.config("filtered.json", with(base_config(), filter));
    let filtered = ok(env.read("source-s3", &config, &catalog, None));
    let expected: Vec<String> = {
        let mut keep: Vec<String> = rows(&all)
            .into_iter()
            .filter(|r| {
                let v: Value = serde_json::from_str(r).expect("row");
                v["y"] == 2024 && (1..=3).contains(&v["m"].as_i64().expect("m"))
            })
            .collect();
        keep.sort();
        keep
    };
    assert_eq!(expected.len(), 30);
    assert_eq!(rows(&filtered), expected);

    let c = cost(&filtered);
    eprintln!("unfiltered: {all_cost}\nfiltered: {c}");
    assert_estimate_close(&c);
    assert!(
        n(&c, "bytes_scanned") <= 0.3 * n(&all_cost, "bytes_scanned"),
        "{c} vs {all_cost}"
    );
    assert!(
        n(&c, "get_requests") <= 0.3 * n(&all_cost, "get_requests"),
        "{c} vs {all_cost}"
    );
    assert!(
        n(&c, "list_requests") < n(&all_cost, "list_requests"),
        "{c} vs {all_cost}"
    );
    assert!(n(&c, "scan_reduction_pct") >= 70.0, "{c}");
    assert_eq!(c["files_selected"], 15);
    assert_eq!(c["files_read"], 15);
    assert_eq!(c["partitions_selected"], 15);
    assert!(n(&c, "partitions_total") >= 100.0, "{c}");
}

#[test]
fn range_filter_partition_columns_and_unknown_keys() {
    let env = hive_env();
    let config = env.config(
        "range.json",
        with(
            base_config(),
            json!({"partition_filter": {"day": {"gte": "03"}}, "partition_columns": true}),
        ),
    );
    let catalog = env.catalog("source-s3", &config, "full_refresh");
    let props = {
        let c: Value = serde_json::from_str(&std::fs::read_to_string(&catalog).expect("catalog")).expect("json");
        c["streams"][0]["stream"]["json_schema"]["properties"].clone()
    };
    assert!(props["year"]["type"].to_string().contains("integer"), "{props}");
    assert!(props["day"]["type"].to_string().contains("integer"), "{props}");
    let r = ok(env.read("source-s3", &config, &catalog, None));
    let data = r.data();
    assert_eq!(data.len(), 2 * 12 * 3 * 2);
    for d in &data {
        assert!(d["d"].as_i64().expect("d") >= 3, "{d}");
        assert_eq!(d["day"], d["d"], "{d}");
        assert_eq!(d["year"], d["y"], "{d}");
        assert!(d["month"].is_i64(), "{d}");
    }
    assert_estimate_close(&cost(&r));

    // A filter on a key the data does not have.
    let bad = env.config(
        "bad.json",
        with(base_config(), json!({"partition_filter": {"country": "fr"}})),
    );
    let r = env.read("source-s3", &bad, &catalog, None);
    assert!(!r.status.success());
    let errors = r.errors();
    let trace = errors.first().expect("TRACE ERROR");
    let msg = trace["message"].as_str().expect("message");
    assert!(msg.contains("Partition error:") && msg.contains("'country'"), "{msg}");
    assert!(msg.contains("year") && msg.contains("month"), "{msg}");
    assert_eq!(trace["failure_type"], "config_error");
    assert!(r.data().is_empty());
}

#[test]
fn date_paths_incremental_second_run_lists_only_from_the_last_day() {
    let env = S3Env::new("logs");
    let put_day = |d: u32| {
        for f in 0..2 {
            let body: String = (0..3)
                .map(|i| format!("{{\"day\": {d}, \"file\": {f}, \"i\": {i}}}\n"))
                .collect();
            env.server
                .put_object("logs", &format!("logs/2024/01/{d:02}/part-{f}.jsonl"), body.as_bytes());
        }
    };
    for d in 1..=5 {
        put_day(d);
    }
    let config = env.config(
        "config.json",
        json!({"path_prefix": "logs/", "file_format": "jsonl", "list_page_size": 5}),
    );
    let catalog = env.catalog("source-s3", &config, "incremental");
    let first = ok(env.read("source-s3", &config, &catalog, None));
    assert_eq!(first.data().len(), 30);
    let c1 = cost(&first);
    assert!(n(&c1, "list_requests") >= 2.0, "{c1}");
    let state = (*first.states().last().expect("a STATE")).clone();

    // `partition_keys` name the positional date folders; a range prunes them.
    let named = env.config(
        "named.json",
        json!({"path_prefix": "logs/", "file_format": "jsonl", "list_page_size": 5,
            "partition_keys": ["y", "m", "d"], "partition_filter": {"d": {"gte": 4}}, "partition_columns": true}),
    );
    let named_catalog = env.catalog("source-s3", &named, "full_refresh");
    let r = ok(env.read("source-s3", &named, &named_catalog, None));
    let days: BTreeSet<i64> = r.data().iter().map(|d| d["d"].as_i64().expect("integer d")).collect();
    assert_eq!(days, BTreeSet::from([4, 5]));
    assert!(
        r.data().iter().all(|d| d["day"] == d["d"] && d["y"] == 2024),
        "{}",
        r.stdout
    );

    put_day(6);
    let second = ok(env.read("source-s3", &config, &catalog, Some(&state)));
    let data = second.data();
    assert_eq!(data.len(), 6, "{}", second.stdout);
    assert!(data.iter().all(|d| d["day"] == 6), "{data:?}");
    let c2 = cost(&second);
    eprintln!("first: {c1}\nsecond: {c2}");
    // One LIST starting after the newest synced day's folder: day 5 and day 6 only.
    assert_eq!(c2["list_requests"], 1, "{c2}");
    assert_eq!(c2["files_listed"], 4, "{c2}");
    assert_eq!(c2["get_requests"], 2, "{c2}");
    assert_estimate_close(&c2);
}

#[test]
fn cost_limit_stops_before_the_first_get() {
    let env = S3Env::new("lim");
    for i in 0..20 {
        env.server
            .put_object("lim", &format!("rows/{i:03}.csv"), format!("n\n{i}\n").as_bytes());
    }
    let config = env.config("config.json", json!({"path_prefix": "rows/"}));
    let catalog = env.catalog("source-s3", &config, "full_refresh");
    let limited = env.config(
        "limited.json",
        json!({"path_prefix": "rows/", "cost_limit_usd": 0.000001}),
    );
    let r = env.read("source-s3", &limited, &catalog, None);
    assert!(!r.status.success());
    assert!(r.data().is_empty());
    let errors = r.errors();
    let trace = errors.first().expect("TRACE ERROR");
    let msg = trace["message"].as_str().expect("message");
    assert!(msg.starts_with("Operation cost $0.0000"), "{msg}");
    assert!(msg.contains(" exceeds limit $0.00000100 ("), "{msg}");
    assert!(msg.contains("cost_limit_usd"), "{msg}");
    assert_eq!(trace["failure_type"], "config_error");
    let c = cost(&r);
    assert_eq!(c["get_requests"], 0, "{c}");
    assert_eq!(c["files_read"], 0, "{c}");
    // Without a catalog the read discovers first; its schema sample is over
    // the limit: the same error, with its COST report.
    let r = run("source-s3", &["read", "--config", &limited], None);
    assert!(!r.status.success());
    let msg = r.errors().first().expect("TRACE ERROR")["message"].to_string();
    assert!(msg.contains("exceeds limit"), "{msg}");
    let c = cost(&r);
    assert_eq!(c["get_requests"], 0, "{c}");
    assert_eq!(c["files_listed"], 20, "{c}");

    // max_files_per_run: a full refresh fails up front, an incremental sync defers.
    let capped = env.config("capped.json", json!({"path_prefix": "rows/", "max_files_per_run": 5}));
    let r = env.read("source-s3", &capped, &catalog, None);
    assert!(!r.status.success());
    assert!(r.data().is_empty());
    assert_eq!(cost(&r)["get_requests"], 0);
    assert_eq!(cost(&r)["files_listed"], 20, "{}", cost(&r));
    // estimate says so, and prices what an incremental sync would read now.
    let r = ok(run(
        "source-s3",
        &["estimate", "--config", &capped, "--catalog", &catalog],
        None,
    ));
    assert!(r.logs().iter().any(|l| l.contains("would fail")), "{:?}", r.logs());
    assert_eq!(cost(&r)["files_selected"], 5);
    assert_eq!(cost(&r)["get_requests"], 0);
    let inc = env.catalog("source-s3", &config, "incremental");
    let r = ok(env.read("source-s3", &capped, &inc, None));
    assert_eq!(r.data().len(), 5);
    assert!(r.logs().iter().any(|l| l.contains("next run")), "{:?}", r.logs());
    let state = (*r.states().last().expect("STATE")).clone();
    let r = ok(env.read("source-s3", &capped, &inc, Some(&state)));
    assert_eq!(r.data().len(), 5);
}

#[test]
fn dev_sampling_reads_a_stable_tenth_and_estimate_sends_no_get() {
    let env = S3Env::new("dev");
    // 300 objects of ~64 KB: the reads, not the one LIST, make the cost.
    let pad = "x".repeat(64 * 1024);
    for i in 0..300 {
        env.server.put_object(
            "dev",
            &format!("rows/{i:04}.csv"),
            format!("n,pad\n{i},{pad}\n").as_bytes(),
        );
    }
    let config = env.config("config.json", json!({"path_prefix": "rows/"}));
    let catalog = env.catalog("source-s3", &config, "full_refresh");
    let full = ok(env.read("source-s3", &config, &catalog, None));
    let full_cost = cost(&full);
    assert_estimate_close(&full_cost);

    let sampled = env.config("sampled.json", json!({"path_prefix": "rows/", "dev_sampling": 0.1}));
    let files = |r: &Run| -> BTreeSet<String> {
        r.data()
            .iter()
            .map(|d| d["_ab_source_file_url"].as_str().expect("url").to_string())
            .collect()
    };
    let a = ok(env.read("source-s3", &sampled, &catalog, None));
    let b = ok(env.read("source-s3", &sampled, &catalog, None));
    assert_eq!(files(&a), files(&b), "the same files every run");
    let share = files(&a).len() as f64 / 300.0;
    assert!((0.05..=0.15).contains(&share), "{share}");
    let c = cost(&a);
    eprintln!("full: {full_cost}\nsampled: {c}");
    assert_eq!(c["sampling_rate"], 0.1);
    assert!(
        n(&c, "actual_usd") <= 0.15 * n(&full_cost, "actual_usd"),
        "{c} vs {full_cost}"
    );
    assert_estimate_close(&c);

    // estimate: lists and prices, downloads nothing.
    let r = ok(run(
        "source-s3",
        &["estimate", "--config", &config, "--catalog", &catalog],
        None,
    ));
    let c = cost(&r);
    assert_eq!(c["get_requests"], 0, "{c}");
    assert_eq!(c["files_selected"], 300, "{c}");
    assert!(n(&c, "estimated_usd") > 0.0, "{c}");
    let estimates: Vec<&Value> = r
        .of_type("TRACE")
        .into_iter()
        .filter(|m| m["trace"]["type"] == "ESTIMATE")
        .collect();
    assert_eq!(estimates.len(), 1);
    assert!(r.data().is_empty());
    // Without a catalog (no discovery either) and with sampling: still no GET.
    let r = ok(run("source-s3", &["estimate", "--config", &sampled], None));
    let c = cost(&r);
    assert_eq!(c["get_requests"], 0, "{c}");
    assert_eq!(c["list_requests"], 1, "{c}");
    assert_eq!(c["files_selected"], files(&a).len(), "{c}");
}

#[test]
fn metered_cost_over_the_limit_stops_after_the_current_file() {
    // Eleven small columns and a large one, discovered whole, then read with
    // `parquet_columns: ["blob"]`: the estimate (which cannot see column sizes
    // before reading a footer) takes the projected `blob` for a twelfth of each
    // file, where it is nearly all of it: the metered bytes pass the limit
    // mid-run.
    let env = S3Env::new("wide");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut random_hex = |n: usize| -> String {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b"0123456789abcdef"[(seed & 15) as usize])
            })
            .collect()
    };
    for f in 0..4 {
        let rows: String = (0..100)
            .map(|i| {
                let small: String = (0..10).map(|c| format!("\"c{c}\": {i}, ")).collect();
                format!("{{{small}\"f\": {f}, \"blob\": \"{}\"}}\n", random_hex(10_000))
            })
            .collect();
        put_parquet(&env, &format!("wide/part-{f}.parquet"), &rows);
    }
    let base = json!({"path_prefix": "wide/", "file_format": "parquet", "parallel_workers": 1});
    let config = env.config("config.json", base.clone());
    let catalog = env.catalog("source-s3", &config, "full_refresh");
    let limit = 0.00007;
    let limited = env.config(
        "limited.json",
        with(base, json!({"parquet_columns": ["blob"], "cost_limit_usd": limit})),
    );
    let r = env.read("source-s3", &limited, &catalog, None);
    assert!(!r.status.success(), "{}", r.stdout);
    let errors = r.errors();
    let msg = errors.first().expect("TRACE ERROR")["message"]
        .as_str()
        .expect("message");
    assert!(msg.starts_with("Operation cost $0.0000"), "{msg}");
    assert!(msg.contains(" exceeds limit $0.0000700 ("), "{msg}");
    assert!(msg.contains("stopped after the current file"), "{msg}");
    // The first file completely, with its STATE; nothing of the others.
    assert_eq!(r.data().len(), 100, "{}", r.stdout);
    assert_eq!(r.states().len(), 1);
    let c = cost(&r);
    eprintln!("stopped: {c}");
    assert_eq!(c["files_read"], 1, "{c}");
    assert!(n(&c, "estimated_usd") < limit && n(&c, "actual_usd") > limit, "{c}");
}

/// The COST report's counts are the requests the server really received: a
/// counting proxy in front of the server logs every request of each run.
#[test]
fn metered_counts_equal_the_requests_the_server_received() {
    let env = hive_env();
    let direct = env.config("direct.json", base_config());
    let catalog = env.catalog("source-s3", &direct, "full_refresh");
    let proxy = lakeport_tests::CountingProxy::start(&env.server);
    let through = |name: &str, extra: Value| {
        let mut cfg = with(base_config(), extra);
        cfg["endpoint_url"] = json!(proxy.endpoint);
        env.config(name, cfg)
    };
    let filtered = json!({"partition_filter": {"year": "2024", "month": ["01", "02", "03"]}});
    for (name, extra, command) in [
        ("p_all.json", json!({}), "read"),
        ("p_filtered.json", filtered.clone(), "read"),
        ("p_estimate.json", filtered, "estimate"),
    ] {
        let config = through(name, extra);
        let before = proxy.log.counts();
        let r = ok(run(
            "source-s3",
            &[command, "--config", &config, "--catalog", &catalog],
            None,
        ));
        let after = proxy.log.counts();
        let c = cost(&r);
        let seen = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
        assert_eq!(
            (
                n(&c, "list_requests") as usize,
                n(&c, "get_requests") as usize,
                n(&c, "head_requests") as usize
            ),
            seen,
            "{command} {name}: meter {c} vs server (list, get, head) {seen:?}"
        );
        assert!(seen.0 > 0, "{name}: no LIST reached the server");
        if command == "estimate" {
            assert_eq!(seen.1, 0, "estimate sent a GET");
        }
    }
}
