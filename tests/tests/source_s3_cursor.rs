//! source-s3 incremental cursors against a real S3-protocol server (s3s-fs):
//! a record-level `cursor_field` (from the config or the catalog), Airbyte's
//! `days_to_sync_if_history_is_full` window once the state history is full,
//! and CSV `csv_true_values` / `csv_false_values` (Airbyte's `true_values` /
//! `false_values`). Every line printed is validated against the official models.

use std::time::{Duration, SystemTime};

use lakeport_tests::{run, Run, S3Env};
use serde_json::{json, Map, Value};

/// Discovers, and writes an incremental catalog of the first stream with
/// this `cursor_field` (the discovered default when `None`).
fn incremental_catalog(env: &S3Env, config: &str, cursor_field: Option<Value>) -> (Value, String) {
    let r = ok(run("source-s3", &["discover", "--config", config], None));
    let stream = r.catalog()["streams"][0].clone();
    let cursor = cursor_field.unwrap_or_else(|| stream["default_cursor_field"].clone());
    let catalog = json!({"streams": [{"stream": stream, "sync_mode": "incremental",
        "destination_sync_mode": "append", "cursor_field": cursor}]});
    (stream, env.path("catalog.json", &catalog))
}

/// A successful read with `config`, `catalog` and `state`.
fn read(env: &S3Env, config: &str, catalog: &str, state: Option<&Value>) -> Run {
    ok(env.read("source-s3", config, catalog, state))
}

fn ok(r: Run) -> Run {
    r.assert_success();
    r
}

/// The last STATE message's `state` object (a STREAM state).
fn last_state(r: &Run) -> Value {
    (*r.states().last().expect("a STATE")).clone()
}

fn field<'a>(r: &'a Run, name: &str) -> Vec<&'a Value> {
    r.data().into_iter().map(|d| &d[name]).collect()
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn a_record_cursor_skips_records_at_or_before_the_saved_value() {
    let env = S3Env::new("rcur");
    env.put_aged("ev/a.csv", b"seq,what\n1,x\n2,y\n3,z\n", Duration::from_secs(60));
    let config = env.config("config.json", json!({"path_prefix": "ev/", "cursor_field": "seq"}));
    let (stream, catalog) = incremental_catalog(&env, &config, None);
    assert_eq!(stream["default_cursor_field"], json!(["seq"]), "{stream}");

    let first = read(&env, &config, &catalog, None);
    assert_eq!(field(&first, "seq"), vec![&json!(1), &json!(2), &json!(3)]);
    let state = last_state(&first);
    let stream_state = &state["stream"]["stream_state"];
    assert_eq!(
        stream_state["_lakeport_cursor"],
        json!({"field": "seq", "value": 3}),
        "{state}"
    );
    assert!(stream_state["history"]["ev/a.csv"].is_string(), "{state}");
    assert!(stream_state["_ab_source_file_last_modified"].is_string(), "{state}");

    // a.csv rewritten with two more rows; b.csv new, with an old and a new row.
    env.server
        .put_object("rcur", "ev/a.csv", b"seq,what\n1,x\n2,y\n3,z\n4,u\n5,v\n");
    env.server.put_object("rcur", "ev/b.csv", b"seq,what\n2,late\n6,w\n");
    let second = read(&env, &config, &catalog, Some(&state));
    let mut seqs: Vec<i64> = field(&second, "seq").iter().filter_map(|v| v.as_i64()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, vec![4, 5, 6], "{}", second.stdout);
    let state = last_state(&second);
    assert_eq!(
        state["stream"]["stream_state"]["_lakeport_cursor"]["value"], 6,
        "{state}"
    );
    assert!(
        second
            .logs()
            .iter()
            .any(|l| l.contains("skipped 4 record(s) whose seq")),
        "{:?}",
        second.logs()
    );

    // Nothing new: nothing read, the cursor kept.
    let third = read(&env, &config, &catalog, Some(&state));
    assert!(third.data().is_empty(), "{}", third.stdout);
    assert_eq!(
        last_state(&third)["stream"]["stream_state"]["_lakeport_cursor"]["value"],
        6
    );
}

#[test]
fn the_catalog_cursor_field_is_honoured_and_timestamps_compare_in_time_order() {
    let env = S3Env::new("cat");
    env.put_aged(
        "t/a.csv",
        b"id,updated_at\n1,2024-01-01T10:00:00Z\n2,2024-01-02T09:00:00Z\n",
        Duration::from_secs(60),
    );
    // No cursor_field in the config: the catalog names it.
    let config = env.config("config.json", json!({"path_prefix": "t/"}));
    let (stream, catalog) = incremental_catalog(&env, &config, Some(json!(["updated_at"])));
    assert_eq!(stream["default_cursor_field"], json!(["_ab_source_file_last_modified"]));
    let first = read(&env, &config, &catalog, None);
    assert_eq!(field(&first, "id"), vec![&json!(1), &json!(2)]);
    let state = last_state(&first);
    let saved = &state["stream"]["stream_state"]["_lakeport_cursor"];
    assert_eq!(saved["field"], "updated_at", "{state}");
    assert_eq!(saved["value"], "2024-01-02T09:00:00.000000Z", "{state}");

    env.server.put_object(
        "cat",
        "t/b.csv",
        b"id,updated_at\n3,2024-01-02T08:59:59Z\n4,2024-01-02T09:00:00.000001Z\n5,2024-01-10T00:00:00Z\n",
    );
    let second = read(&env, &config, &catalog, Some(&state));
    assert_eq!(field(&second, "id"), vec![&json!(4), &json!(5)], "{}", second.stdout);
    let state = last_state(&second);
    assert_eq!(
        state["stream"]["stream_state"]["_lakeport_cursor"]["value"],
        "2024-01-10T00:00:00.000000Z"
    );

    // A cursor field the stream does not have fails before reading, naming it.
    let (_, bad) = incremental_catalog(&env, &config, Some(json!(["nope"])));
    let r = run("source-s3", &["read", "--config", &config, "--catalog", &bad], None);
    assert!(!r.status.success());
    let errors = r.errors();
    let msg = errors[0]["message"].as_str().expect("message");
    assert!(
        msg.contains("cursor_field 'nope'") && msg.contains("updated_at"),
        "{msg}"
    );
    assert_eq!(errors[0]["failure_type"], "config_error");
    assert!(r.data().is_empty());
}

/// A state written by Airbyte's source-s3 whose history is full: 10,000
/// entries (its `DEFAULT_MAX_HISTORY_SIZE`), the earliest one day old.
fn full_airbyte_history(stream: &str) -> Value {
    let earliest = chrono_like(SystemTime::now() - DAY);
    let history: Map<String, Value> = (0..10_000)
        .map(|i| (format!("gone/{i:05}.csv"), Value::String(earliest.clone())))
        .collect();
    json!({"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream},
        "stream_state": {"history": history,
                         "_ab_source_file_last_modified": format!("{earliest}_gone/09999.csv")}
    }})
}

/// A time in Airbyte's state format, `%Y-%m-%dT%H:%M:%S.%fZ` (UTC).
fn chrono_like(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs() as i64;
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.000000Z",
        sod / 3600,
        (sod / 60) % 60,
        sod % 60
    )
}

fn urls(r: &Run) -> Vec<String> {
    let mut urls: Vec<String> = field(r, "_ab_source_file_url")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    urls.sort();
    urls.dedup();
    urls
}

#[test]
fn a_full_history_reads_older_files_modified_within_days_to_sync_if_history_is_full() {
    let env = S3Env::new("full");
    env.put_aged("d/new.csv", b"v\n1\n", Duration::from_secs(60));
    env.put_aged("d/recent.csv", b"v\n2\n", 2 * DAY);
    env.put_aged("d/old.csv", b"v\n3\n", 5 * DAY);
    let state = full_airbyte_history("d");

    // Airbyte's default window, 3 days: the file older than the history but
    // modified 2 days ago is read; the one 5 days old is taken as read.
    let config = env.config("config.json", json!({"path_prefix": "d/"}));
    let (_, catalog) = incremental_catalog(&env, &config, None);
    let r = read(&env, &config, &catalog, Some(&state));
    assert_eq!(urls(&r), vec!["d/new.csv", "d/recent.csv"]);
    assert!(
        r.logs().iter().any(|l| l.contains("the state history is full")),
        "{:?}",
        r.logs()
    );
    // The history stays capped at 10,000 files.
    let saved = last_state(&r);
    let history = saved["stream"]["stream_state"]["history"].as_object().expect("history");
    assert_eq!(history.len(), 10_000);
    assert!(history.contains_key("d/new.csv"), "the newest file is remembered");

    // A 7-day window reaches the 5-day-old file; 0 turns the window off.
    let config = env.config(
        "config.json",
        json!({"path_prefix": "d/", "days_to_sync_if_history_is_full": 7}),
    );
    let r = read(&env, &config, &catalog, Some(&state));
    assert_eq!(urls(&r), vec!["d/new.csv", "d/old.csv", "d/recent.csv"]);
    let config = env.config(
        "config.json",
        json!({"path_prefix": "d/", "days_to_sync_if_history_is_full": 0}),
    );
    let r = read(&env, &config, &catalog, Some(&state));
    assert_eq!(urls(&r), vec!["d/new.csv"]);

    // The Airbyte v4 stream option, verbatim.
    let airbyte = env.path(
        "airbyte.json",
        &env.airbyte_v4(
            json!([{"name": "d", "globs": ["d/*.csv"], "format": {"filetype": "csv"},
                "days_to_sync_if_history_is_full": 7}]),
        ),
    );
    let (_, catalog) = incremental_catalog(&env, &airbyte, None);
    let r = read(&env, &airbyte, &catalog, Some(&state));
    assert_eq!(urls(&r), vec!["d/new.csv", "d/old.csv", "d/recent.csv"]);

    // A history that is not full reads every file it has not seen.
    let mut small = state.clone();
    let history = small["stream"]["stream_state"]["history"]
        .as_object_mut()
        .expect("history");
    history.retain(|k, _| k.as_str() < "gone/00010.csv");
    let (_, catalog) = incremental_catalog(&env, &config, None);
    let r = read(&env, &config, &catalog, Some(&small));
    assert_eq!(urls(&r), vec!["d/new.csv", "d/old.csv", "d/recent.csv"]);
}

#[test]
fn csv_true_and_false_values_type_and_read_booleans() {
    let env = S3Env::new("bools");
    env.server.put_object(
        "bools",
        "b/x.csv",
        b"id,active,flag,word\n1,Ja,1,true\n2,Nein,0,false\n3,,1,true\n",
    );
    let config = env.config(
        "config.json",
        json!({"path_prefix": "b/", "csv_true_values": ["Ja", "1"], "csv_false_values": ["Nein", "0"]}),
    );
    let r = ok(run("source-s3", &["discover", "--config", &config], None));
    let props = &r.catalog()["streams"][0]["json_schema"]["properties"];
    let kind = |name: &str| props[name]["type"].clone();
    assert!(kind("active").to_string().contains("boolean"), "{props}");
    // 1/0 are listed: boolean before integer, as Airbyte infers.
    assert!(kind("flag").to_string().contains("boolean"), "{props}");
    // true/false are not listed: text.
    assert!(kind("word").to_string().contains("string"), "{props}");
    assert!(kind("id").to_string().contains("integer"), "{props}");
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    assert_eq!(field(&r, "active"), vec![&json!(true), &json!(false), &Value::Null]);
    assert_eq!(field(&r, "flag"), vec![&json!(true), &json!(false), &json!(true)]);
    assert_eq!(field(&r, "word"), vec![&json!("true"), &json!("false"), &json!("true")]);

    // Airbyte's format options, verbatim: Primitive Types Only, true_values / false_values.
    env.server
        .put_object("bools", "a/y.csv", b"id,ok\n1,oui\n2,non\n3,oui\n");
    let airbyte = env.path(
        "airbyte.json",
        &env.airbyte_v4(json!([{"name": "y", "globs": ["a/*.csv"], "format": {"filetype": "csv",
                "inference_type": "Primitive Types Only", "true_values": ["oui"], "false_values": ["non"]}}])),
    );
    let r = ok(run("source-s3", &["discover", "--config", &airbyte], None));
    let props = &r.catalog()["streams"][0]["json_schema"]["properties"];
    assert!(props["ok"]["type"].to_string().contains("boolean"), "{props}");
    let r = ok(run("source-s3", &["read", "--config", &airbyte], None));
    assert_eq!(field(&r, "ok"), vec![&json!(true), &json!(false), &json!(true)]);
}
