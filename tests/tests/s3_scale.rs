//! Pruning, sampling and pricing at scale, against the rig's S3 server: a
//! hive layout of 3,360 small Parquet objects in 672 partitions
//! (`events/year=2023..2024/month=01..12/day=01..28/part-0..4.parquet`, made
//! once by `examples/scenarios/gen_events.py`, kept in the target's temporary
//! directory).
//!
//! - A partition filter on leading keys lists only its prefixes, whatever the
//!   first page showed: fewer than a third of the unfiltered read's LISTs, at
//!   most twice the selected keys listed.
//! - `dev_sampling: 0.1` cuts the cost of the reads by at least 88%: a
//!   sampled file costs what it costs in a full read. The listing of every
//!   key stays (3% of a full read of objects this small), so the metered
//!   total falls by a little less (87.6% here); with `dev_max_files` as in
//!   seed 000's development example, by at least 90%.
//! - The estimate is within 10% of the metered cost, for a read and for a
//!   standalone `estimate`, with or without a catalog; the cost-limit
//!   message shows sums under a cent; a flat listing costs its pages.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lakeport_tests::{python, run, workspace_root, Run, S3Env};
use serde_json::{json, Value};

/// Objects and partitions of the layout.
const FILES: usize = 3360;
const PARTITIONS: usize = 672;
const ROWS_PER_FILE: usize = 20;

/// The layout, generated once into the target's temporary directory (and
/// kept for later runs: a stamp file marks it complete).
fn layout() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("s3_scale_layout");
        let stamp = dir.join("complete");
        if stamp.exists() {
            return dir;
        }
        let _ = std::fs::remove_dir_all(&dir);
        let script = workspace_root().join("examples/scenarios/gen_events.py");
        let out = std::process::Command::new(python())
            .arg(&script)
            .arg(dir.join("events"))
            .args(["--rows", &ROWS_PER_FILE.to_string()])
            .output()
            .expect("run gen_events.py");
        assert!(
            out.status.success(),
            "gen_events.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let summary: Value = serde_json::from_slice(&out.stdout).expect("summary");
        assert_eq!(summary["files"], FILES, "{summary}");
        assert_eq!(summary["partitions"], PARTITIONS, "{summary}");
        std::fs::write(&stamp, summary.to_string()).expect("stamp");
        dir
    })
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A server whose bucket `lake` holds the layout.
fn lake() -> S3Env {
    let env = S3Env::new("lake");
    copy_tree(&layout().join("events"), &env.server.dir().join("lake/events"));
    env
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

fn within_10pct(estimated: f64, actual: f64, what: &str) {
    assert!(actual > 0.0, "{what}: nothing metered");
    assert!(
        (estimated - actual).abs() <= 0.1 * actual,
        "{what}: estimate {estimated} vs actual {actual}"
    );
}

fn with(base: &Value, extra: Value) -> Value {
    let mut v = base.clone();
    if let (Some(b), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            b.insert(k.clone(), x.clone());
        }
    }
    v
}

/// The ids of a read's records.
fn ids(r: &Run) -> Vec<i64> {
    let mut ids: Vec<i64> = r.data().iter().map(|d| d["id"].as_i64().expect("id")).collect();
    ids.sort_unstable();
    ids
}

fn estimate(config: &str, catalog: Option<&str>) -> Value {
    let mut args = vec!["estimate", "--config", config];
    if let Some(c) = catalog {
        args.extend(["--catalog", c]);
    }
    cost(&ok(run("source-s3", &args, None)))
}

#[test]
fn a_filter_on_leading_keys_lists_only_its_prefixes_at_scale() {
    let env = lake();
    // 100 keys a page: the whole layout is 34 pages, as 34,000 objects are at S3's 1,000.
    let base = json!({"path_prefix": "events/", "file_format": "parquet", "list_page_size": 100});
    let all_config = env.config("all.json", base.clone());
    let catalog = env.catalog("source-s3", &all_config, "full_refresh");
    let all = ok(env.read("source-s3", &all_config, &catalog, None));
    assert_eq!(all.data().len(), FILES * ROWS_PER_FILE);
    let a = cost(&all);
    within_10pct(n(&a, "estimated_usd"), n(&a, "actual_usd"), "unfiltered read");
    assert_eq!(a["files_listed"], FILES, "{a}");
    assert_eq!(a["partitions_total"], PARTITIONS, "{a}");
    // A flat listing: its pages and nothing more.
    assert_eq!(a["list_requests"], FILES.div_ceil(100), "{a}");

    let filter = json!({"partition_filter": {"year": "2024", "month": ["01", "02", "03"]}});
    let config = env.config("filtered.json", with(&base, filter));
    let filtered = ok(env.read("source-s3", &config, &catalog, None));
    let f = cost(&filtered);
    eprintln!("unfiltered: {a}\nfiltered:   {f}");
    // Exactly the rows of the 84 selected partitions (12.5% of 672).
    let expected: Vec<i64> = all
        .data()
        .iter()
        .filter(|d| {
            let date = d["event_date"].as_str().expect("event_date");
            ["2024-01", "2024-02", "2024-03"].iter().any(|m| date.starts_with(m))
        })
        .map(|d| d["id"].as_i64().expect("id"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(expected.len(), 84 * 5 * ROWS_PER_FILE);
    assert_eq!(ids(&filtered), expected);
    assert_eq!(f["partitions_selected"], 84, "{f}");
    assert_eq!(f["files_selected"], 420, "{f}");
    assert!(n(&f, "partitions_selected") <= 0.15 * n(&f, "partitions_total"), "{f}");
    assert!(
        3.0 * n(&f, "list_requests") < n(&a, "list_requests"),
        "LISTs: filtered {f} vs unfiltered {a}"
    );
    assert!(
        n(&f, "files_listed") <= 2.0 * n(&f, "files_selected"),
        "keys listed: {f}"
    );
    assert!(n(&f, "scan_reduction_pct") >= 70.0, "{f}");
    within_10pct(n(&f, "estimated_usd"), n(&f, "actual_usd"), "filtered read");
    // A standalone estimate prices the same run.
    let e = estimate(&config, Some(&catalog));
    assert_eq!(e["get_requests"], 0, "{e}");
    within_10pct(n(&e, "estimated_usd"), n(&f, "actual_usd"), "filtered estimate");
    assert_eq!(e["list_requests"], f["list_requests"], "{e} vs {f}");

    // At S3's page of 1,000 keys the listing is pruned too: the first page
    // and the three open prefixes, not the 3,360 keys.
    let wide = env.config(
        "wide.json",
        with(
            &json!({"path_prefix": "events/", "file_format": "parquet"}),
            json!({"partition_filter": {"year": "2024", "month": ["01", "02", "03"]}}),
        ),
    );
    let w = estimate(&wide, Some(&catalog));
    eprintln!("filtered, pages of 1000: {w}");
    assert_eq!(w["files_selected"], 420, "{w}");
    assert!(n(&w, "files_listed") <= 1000.0 + 420.0, "{w}");
    assert!(n(&w, "list_requests") <= 4.0, "{w}");
}

#[test]
fn dev_sampling_cuts_the_metered_cost_with_the_rate_at_scale() {
    let env = lake();
    let base = json!({"path_prefix": "events/", "file_format": "parquet"});
    let config = env.config("full.json", base.clone());
    let catalog = env.catalog("source-s3", &config, "full_refresh");
    let full = ok(env.read("source-s3", &config, &catalog, None));
    let full_cost = cost(&full);
    within_10pct(n(&full_cost, "estimated_usd"), n(&full_cost, "actual_usd"), "full read");

    let sampled_config = env.config("sampled.json", with(&base, json!({"dev_sampling": 0.1})));
    let sampled = ok(env.read("source-s3", &sampled_config, &catalog, None));
    let s = cost(&sampled);
    // The seed's development example: 10% of the files, at most 100.
    let dev_config = env.config(
        "dev.json",
        with(
            &base,
            json!({"cost_limit_usd": 5.0, "dev_sampling": 0.1, "dev_max_files": 100}),
        ),
    );
    let dev = ok(env.read("source-s3", &dev_config, &catalog, None));
    let d = cost(&dev);
    eprintln!("full:    {full_cost}\nsampled: {s}\ndev:     {d}");
    let cut = |r: &Value| 100.0 * (1.0 - n(r, "actual_usd") / n(&full_cost, "actual_usd"));
    // The listing (every key, whatever the rate) is what a standalone
    // estimate spends: its `actual_usd`.
    let listed = estimate(&config, Some(&catalog));
    let listing = n(&listed, "actual_usd");
    let reads_cut =
        |r: &Value| 100.0 * (1.0 - (n(r, "actual_usd") - listing) / (n(&full_cost, "actual_usd") - listing));
    eprintln!(
        "cut: sampled {:.1}% (reads {:.1}%), dev {:.1}%; listing ${listing} of ${}",
        cut(&s),
        reads_cut(&s),
        cut(&d),
        n(&full_cost, "actual_usd")
    );
    // What follows the listing falls with the rate: the reads cost 88% less.
    assert!(
        reads_cut(&s) >= 88.0,
        "reads cut {:.1}%: {s} vs {full_cost}",
        reads_cut(&s)
    );
    // In all: every key is still listed (0.5 MB of LIST responses and 4
    // LISTs, 3% of a full read of objects this small), so 10% of the files
    // cut the metered cost by a little less than 90%.
    assert!(
        cut(&s) >= 86.0,
        "dev_sampling 0.1 cut {:.1}%: {s} vs {full_cost}",
        cut(&s)
    );
    assert!(cut(&d) >= 90.0, "dev example cut {:.1}%: {d} vs {full_cost}", cut(&d));

    // A sampled file costs what it costs in a full read: one GET, and the
    // same bytes (those received past the listing's).
    let per_file = |r: &Value| (n(r, "bytes_scanned") - n(&listed, "bytes_scanned")) / n(r, "files_read");
    assert_eq!(s["get_requests"], s["files_read"], "{s}");
    let share = n(&s, "files_read") / FILES as f64;
    assert!((0.08..=0.12).contains(&share), "{share}: {s}");
    assert!(per_file(&s) <= 1.1 * per_file(&full_cost), "{s} vs {full_cost}");
    assert_eq!(d["files_read"], 100, "{d}");
    assert_eq!(dev.data().len(), 100 * ROWS_PER_FILE);
    // The records are those of the files read, whole.
    let files: std::collections::BTreeSet<&str> = sampled
        .data()
        .iter()
        .map(|r| r["_ab_source_file_url"].as_str().expect("url"))
        .collect();
    assert_eq!(files.len() as f64, n(&s, "files_read"));
    assert_eq!(sampled.data().len(), files.len() * ROWS_PER_FILE);

    for (name, report, config) in [("sampled", &s, &sampled_config), ("dev", &d, &dev_config)] {
        within_10pct(n(report, "estimated_usd"), n(report, "actual_usd"), name);
        let e = estimate(config, Some(&catalog));
        within_10pct(
            n(&e, "estimated_usd"),
            n(report, "actual_usd"),
            &format!("{name} estimate"),
        );
        assert_eq!(e["files_selected"], report["files_selected"], "{e} vs {report}");
    }
}

/// 18 CSV objects in 3 folders.
fn small_bucket() -> S3Env {
    let env = S3Env::new("small");
    for f in 0..3 {
        for i in 0..6 {
            env.server.put_object(
                "small",
                &format!("rows/f{f}/{i:02}.csv"),
                format!("n,f\n{i},{f}\n").as_bytes(),
            );
        }
    }
    env
}

#[test]
fn an_estimate_without_a_catalog_prices_the_schema_sample_of_a_read_without_one() {
    let env = small_bucket();
    let config = env.config("config.json", json!({"path_prefix": "rows/", "list_page_size": 5}));
    let read = ok(run("source-s3", &["read", "--config", &config], None));
    assert_eq!(read.data().len(), 18);
    let r = cost(&read);
    let e = estimate(&config, None);
    eprintln!("read without a catalog: {r}\nestimate without one:  {e}");
    // The read discovers first: 10 objects sampled for the schema, then 18 read.
    assert_eq!(r["get_requests"], 28, "{r}");
    assert_eq!(e["estimated_get_requests"], r["get_requests"], "{e} vs {r}");
    assert_eq!(e["get_requests"], 0, "{e}");
    within_10pct(
        n(&e, "estimated_usd"),
        n(&r, "actual_usd"),
        "estimate without a catalog",
    );
}

#[test]
fn a_flat_listing_costs_no_more_lists_than_its_pages() {
    // 18 keys in pages of 5: 4 LISTs.
    let env = small_bucket();
    let config = env.config("config.json", json!({"path_prefix": "rows/", "list_page_size": 5}));
    let e = estimate(&config, Some(&env.catalog("source-s3", &config, "full_refresh")));
    assert_eq!(e["list_requests"], 4, "{e}");
    assert_eq!(e["files_listed"], 18, "{e}");

    // 2,500 keys in 25 folders, pages of 1,000: 3 LISTs.
    let env = S3Env::new("many");
    for f in 0..25 {
        for i in 0..100 {
            env.server
                .put_object("many", &format!("k/f{f:02}/{i:03}.csv"), b"n\n1\n");
        }
    }
    let config = env.config("config.json", json!({"path_prefix": "k/", "file_format": "csv"}));
    let e = estimate(&config, None);
    assert_eq!(e["list_requests"], 3, "{e}");
    assert_eq!(e["files_listed"], 2500, "{e}");
}

#[test]
fn the_cost_limit_message_shows_sums_under_a_cent() {
    let env = small_bucket();
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
    let msg = errors.first().expect("TRACE ERROR")["message"]
        .as_str()
        .expect("message")
        .to_string();
    // Three significant digits of a sum under a cent: never "$0.00 exceeds limit $0.00".
    let shown = msg
        .strip_prefix("Operation cost $")
        .and_then(|rest| rest.split_once(" exceeds limit $0.00000100 ("))
        .map(|(cost, _)| cost)
        .unwrap_or_else(|| panic!("{msg}"));
    let digits = shown.trim_start_matches(['0', '.']);
    assert_eq!(digits.len(), 3, "{msg}");
    let shown: f64 = shown.parse().expect("a number");
    let metered = n(&cost(&r), "estimated_usd");
    assert!((shown - metered).abs() <= 0.01 * metered, "{shown} vs {metered}");
    assert!(msg.contains("cost_limit_usd"), "{msg}");
    assert_eq!(cost(&r)["get_requests"], 0);
}
