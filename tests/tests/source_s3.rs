//! source-s3 discover and read against a real S3-protocol server (s3s-fs):
//! typed records with the file fields, pagination beyond 1,000 keys, globs,
//! several streams, compression, incremental runs, and the COST report.

use lakeport_tests::{gzip, run, Run, S3Env};
use serde_json::{json, Value};
use std::time::Duration;

fn ok(r: Run) -> Run {
    r.assert_success();
    r
}

#[test]
fn discover_and_read_csv_with_file_fields() {
    let env = S3Env::new("lake");
    env.server
        .put_object("lake", "users/part-1.csv", b"id,name,score\n1,ann,1.5\n2,bob,2.5\n");
    env.server
        .put_object("lake", "users/part-2.csv", b"id,name,score\n3,cid,3.5\n");
    env.server.put_object("lake", "other/x.csv", b"id\n9\n");
    let config = env.config("config.json", json!({"path_prefix": "users/", "file_format": "csv"}));

    let r = ok(run("source-s3", &["discover", "--config", &config], None));
    let stream = &r.catalog()["streams"][0];
    assert_eq!(stream["name"], "users");
    let props = &stream["json_schema"]["properties"];
    for f in [
        "id",
        "name",
        "score",
        "_ab_source_file_url",
        "_ab_source_file_last_modified",
    ] {
        assert!(props.get(f).is_some(), "{f} missing from {props}");
    }
    assert_eq!(stream["default_cursor_field"], json!(["_ab_source_file_last_modified"]));

    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let data = r.data();
    assert_eq!(data.len(), 3, "{}", r.stdout);
    let first = data.iter().find(|d| d["id"] == 1).expect("record id 1");
    assert_eq!(first["name"], "ann");
    assert_eq!(first["score"], 1.5);
    assert_eq!(first["_ab_source_file_url"], "users/part-1.csv");
    let lm = first["_ab_source_file_last_modified"].as_str().expect("last modified");
    assert!(
        lm.ends_with('Z') && lm.len() == "2024-01-01T00:00:00.000000Z".len(),
        "{lm}"
    );
    assert_eq!(r.states().len(), 2, "one STATE per object");
    let statuses: Vec<&Value> = r
        .of_type("TRACE")
        .into_iter()
        .filter(|m| m["trace"]["type"] == "STREAM_STATUS")
        .map(|m| &m["trace"]["stream_status"]["status"])
        .collect();
    assert_eq!(statuses, vec!["STARTED", "RUNNING", "COMPLETE"]);
    let cost = r.logs().into_iter().find(|l| l.contains("COST ")).expect("COST report");
    let report: Value = serde_json::from_str(cost.split_once("COST ").expect("COST").1).expect("COST json");
    assert_eq!(report["files_read"], 2);
    // Discovery's sample and the read, through one metered client; the read
    // reuses discovery's listing.
    assert_eq!(report["get_requests"], 4, "{report}");
    assert_eq!(report["list_requests"], 1, "{report}");
    assert!(report["actual_usd"].as_f64().is_some());
}

#[test]
fn an_object_whose_extension_names_another_format_is_warned_about() {
    // file_format csv (Airbyte's default too) over a .jsonl object: read as
    // configured, but a WARN says so, instead of junk columns in silence.
    let env = S3Env::new("lake");
    env.server.put_object("lake", "mixed/a.csv", b"id\n1\n");
    env.server.put_object("lake", "mixed/b.jsonl", b"{\"id\": 2}\n");
    let config = env.config("config.json", json!({"path_prefix": "mixed/", "file_format": "csv"}));
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let warned: Vec<String> = r
        .logs()
        .into_iter()
        .filter(|l| l.contains("from its extension"))
        .collect();
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("'mixed/b.jsonl' looks like jsonl") && warned[0].contains("read as csv"),
        "{warned:?}"
    );
}

#[test]
fn read_beyond_1000_objects_in_parallel() {
    let env = S3Env::new("many");
    for i in 0..1100 {
        env.server
            .put_object("many", &format!("rows/{i:05}.csv"), format!("n\n{i}\n").as_bytes());
    }
    let config = env.config("config.json", json!({"path_prefix": "rows/", "parallel_workers": 8}));
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let mut ns: Vec<i64> = r.data().iter().map(|d| d["n"].as_i64().expect("integer n")).collect();
    ns.sort_unstable();
    assert_eq!(ns, (0..1100).collect::<Vec<i64>>());
    // A STATE after each of the first 100 objects, then paced (each one
    // carries the whole history), and always one after the last object.
    let states = r.states();
    assert!((100..1100).contains(&states.len()), "{} states", states.len());
    let counted: f64 = states
        .iter()
        .map(|s| s["sourceStats"]["recordCount"].as_f64().expect("recordCount"))
        .sum();
    assert_eq!(counted, 1100.0, "every record counted in one STATE");
    let history = states.last().expect("a state")["stream"]["stream_state"]["history"]
        .as_object()
        .expect("history");
    assert_eq!(history.len(), 1100);
}

#[test]
fn a_read_that_fails_midway_saves_the_objects_it_completed() {
    // 150 objects (past the 100 after which STATEs are paced); the 131st is
    // not JSON. The read fails on it, and its last STATE holds the 130 before
    // it — so the next run, after the object is fixed, reads only the rest.
    let env = S3Env::new("halfway");
    let body = |i: usize| format!("{{\"n\": {i}}}\n");
    for i in 0..150 {
        let text = if i == 130 {
            "{\"n\": 130}\n{not json\n".to_string()
        } else {
            body(i)
        };
        env.put_aged(
            &format!("rows/{i:03}.jsonl"),
            text.as_bytes(),
            Duration::from_secs(3600 - i as u64),
        );
    }
    let config = env.config(
        "config.json",
        json!({"path_prefix": "rows/", "file_format": "jsonl", "parallel_workers": 4}),
    );
    let catalog = env.catalog("source-s3", &config, "incremental");
    let first = env.read("source-s3", &config, &catalog, None);
    assert!(!first.status.success(), "{}", first.stdout);
    let error = first.errors().first().expect("TRACE ERROR")["message"].to_string();
    assert!(error.contains("rows/130.jsonl"), "{error}");
    let saved = (*first.states().last().expect("a state")).clone();
    let history = saved["stream"]["stream_state"]["history"].as_object().expect("history");
    assert_eq!(history.len(), 130, "{saved}");
    assert!(history.contains_key("rows/129.jsonl") && !history.contains_key("rows/130.jsonl"));

    env.put_aged("rows/130.jsonl", body(130).as_bytes(), Duration::from_secs(3600 - 130));
    let second = ok(env.read("source-s3", &config, &catalog, Some(&saved)));
    let mut ns: Vec<i64> = second.data().iter().map(|d| d["n"].as_i64().expect("n")).collect();
    ns.sort_unstable();
    assert_eq!(ns, (130..150).collect::<Vec<i64>>());
}

#[test]
fn globs_streams_and_compression() {
    let env = S3Env::new("multi");
    env.server
        .put_object("multi", "orders/2024/a.csv", b"order_id,total\n1,10\n2,20\n");
    env.server
        .put_object("multi", "orders/2024/notes.txt.bak", b"ignore me");
    env.server.put_object(
        "multi",
        "events/e1.jsonl.gz",
        &gzip(b"{\"kind\":\"click\",\"n\":1}\n{\"kind\":\"view\",\"n\":2}\n"),
    );
    let config = env.config(
        "config.json",
        json!({"streams": [
            {"name": "orders", "globs": ["orders/**/*.csv"], "file_format": "csv"},
            {"name": "events", "path_prefix": "events/", "file_format": "jsonl"}
        ]}),
    );
    let r = ok(run("source-s3", &["discover", "--config", &config], None));
    let names: Vec<&str> = r.catalog()["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, vec!["orders", "events"]);
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let orders: Vec<&Value> = r.records().into_iter().filter(|x| x["stream"] == "orders").collect();
    let events: Vec<&Value> = r.records().into_iter().filter(|x| x["stream"] == "events").collect();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[1]["data"]["total"], 20);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["data"]["kind"], "click");
    assert_eq!(events[0]["data"]["_ab_source_file_url"], "events/e1.jsonl.gz");
}

#[test]
fn incremental_reads_only_new_or_changed_objects() {
    let env = S3Env::new("inc");
    env.server.put_object("inc", "d/a.csv", b"v\n1\n");
    env.server.put_object("inc", "d/b.csv", b"v\n2\n");
    let config = env.config("config.json", json!({"path_prefix": "d/"}));
    let r = ok(run("source-s3", &["discover", "--config", &config], None));
    let stream = r.catalog()["streams"][0].clone();
    let catalog = env.path(
        "catalog.json",
        &json!({"streams": [{"stream": stream, "sync_mode": "incremental", "destination_sync_mode": "append",
                             "cursor_field": ["_ab_source_file_last_modified"]}]}),
    );

    let first = ok(run(
        "source-s3",
        &["read", "--config", &config, "--catalog", &catalog],
        None,
    ));
    assert_eq!(first.data().len(), 2);
    let last_state = (*first.states().last().expect("a state")).clone();
    assert!(
        last_state["stream"]["stream_state"]["history"]["d/a.csv"].is_string(),
        "{last_state}"
    );
    let state = env.path("state.json", &json!([last_state]));

    let second = ok(run(
        "source-s3",
        &["read", "--config", &config, "--catalog", &catalog, "--state", &state],
        None,
    ));
    assert_eq!(second.data().len(), 0, "nothing new:\n{}", second.stdout);
    assert!(!second.states().is_empty(), "the state is repeated");

    // A changed object is read again (its mtime moves forward).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    env.server.put_object("inc", "d/b.csv", b"v\n2\n3\n");
    let third = ok(run(
        "source-s3",
        &["read", "--config", &config, "--catalog", &catalog, "--state", &state],
        None,
    ));
    let vs: Vec<&Value> = third.data().iter().map(|d| &d["v"]).collect();
    assert_eq!(vs, vec![&json!(2), &json!(3)]);
}

#[test]
fn start_date_skips_old_objects_and_empty_discover_fails_clearly() {
    let env = S3Env::new("dates");
    env.server.put_object("dates", "x/a.csv", b"v\n1\n");
    let config = env.config(
        "config.json",
        json!({"path_prefix": "x/", "start_date": "2999-01-01T00:00:00Z"}),
    );
    let r = run("source-s3", &["discover", "--config", &config], None);
    assert!(!r.status.success());
    let err = r.errors();
    let msg = err[0]["message"].as_str().expect("message");
    assert!(msg.contains("No object to read for stream 'x'"), "{msg}");
    assert_eq!(err[0]["failure_type"], "config_error");
}

/// A TCP proxy in front of the S3 server that injects faults by connection
/// number: a `503 SlowDown`, a connection dropped before any response, or an
/// object download cut off mid-body. Every forwarded request is sent upstream
/// with `Connection: close`, so one connection carries one request.
mod fault_proxy {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Faults injected so far, by kind.
    #[derive(Default)]
    pub struct Counts {
        pub requests: AtomicUsize,
        pub slow_down: AtomicUsize,
        pub dropped: AtomicUsize,
        pub cut: AtomicUsize,
    }

    /// Starts the proxy; returns its endpoint and the fault counters.
    pub fn start(upstream: u16) -> (String, Arc<Counts>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        std::thread::spawn(move || {
            for (i, conn) in listener.incoming().enumerate() {
                let Ok(conn) = conn else { continue };
                let c = c.clone();
                std::thread::spawn(move || handle(conn, i, upstream, &c));
            }
        });
        (format!("http://127.0.0.1:{port}"), counts)
    }

    fn read_head(s: &mut TcpStream) -> Option<Vec<u8>> {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut b).ok()? == 0 {
                return None;
            }
            head.push(b[0]);
        }
        Some(head)
    }

    fn handle(mut client: TcpStream, i: usize, upstream: u16, counts: &Counts) {
        let Some(head) = read_head(&mut client) else {
            return;
        };
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let text = String::from_utf8_lossy(&head).into_owned();
        let object_get = text.starts_with("GET ") && !text.contains("list-type");
        match i % 7 {
            2 => {
                counts.slow_down.fetch_add(1, Ordering::SeqCst);
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                let _ = write!(
                    client,
                    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            5 => {
                counts.dropped.fetch_add(1, Ordering::SeqCst);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            _ => {}
        }
        let cut = i % 7 == 6 && object_get;
        let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream)) else {
            return;
        };
        let mut lines: Vec<&str> = text
            .trim_end()
            .split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .collect();
        lines.push("Connection: close");
        let new_head = format!("{}\r\n\r\n", lines.join("\r\n"));
        if up.write_all(new_head.as_bytes()).is_err() {
            return;
        }
        // Request bodies (PUT) flow client → upstream on their own thread.
        if let (Ok(mut from), Ok(mut to)) = (client.try_clone(), up.try_clone()) {
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from, &mut to);
            });
        }
        // The response head, with `Connection: close` so the client never
        // reuses this connection.
        let Some(resp_head) = read_head(&mut up) else {
            return;
        };
        let resp_text = String::from_utf8_lossy(&resp_head).into_owned();
        let mut resp_lines: Vec<&str> = resp_text
            .trim_end()
            .split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
            .collect();
        resp_lines.push("Connection: close");
        let resp_head = format!("{}\r\n\r\n", resp_lines.join("\r\n"));
        if client.write_all(resp_head.as_bytes()).is_err() {
            return;
        }
        if cut {
            // A few body bytes, then drop.
            let mut some = [0u8; 10];
            let n = up.read(&mut some).unwrap_or(0);
            let _ = client.write_all(&some[..n]);
            counts.cut.fetch_add(1, Ordering::SeqCst);
        } else {
            let _ = std::io::copy(&mut up, &mut client);
        }
        let _ = client.shutdown(Shutdown::Both);
        let _ = up.shutdown(Shutdown::Both);
    }
}

#[test]
fn read_survives_throttling_and_dropped_connections() {
    let env = S3Env::new("flaky");
    let mut expected = Vec::new();
    for i in 0..30 {
        let mut body = String::from("id,padding\n");
        for j in 0..5 {
            let id = i * 5 + j;
            expected.push(id);
            body.push_str(&format!("{id},{}\n", "x".repeat(40)));
        }
        env.server
            .put_object("flaky", &format!("f/{i:03}.csv"), body.as_bytes());
    }
    let (endpoint, counts) = fault_proxy::start(env.server.port);
    let config = env.config(
        "config.json",
        json!({"path_prefix": "f/", "endpoint_url": endpoint, "parallel_workers": 4}),
    );
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let mut ids: Vec<i64> = r.data().iter().map(|d| d["id"].as_i64().expect("id")).collect();
    ids.sort_unstable();
    assert_eq!(ids, expected, "every record, once");
    use std::sync::atomic::Ordering::SeqCst;
    let (slow, dropped, cut) = (
        counts.slow_down.load(SeqCst),
        counts.dropped.load(SeqCst),
        counts.cut.load(SeqCst),
    );
    assert!(
        slow > 0 && dropped > 0 && cut > 0,
        "faults injected: {slow} {dropped} {cut}"
    );
    let cost = r.logs().into_iter().find(|l| l.contains("COST ")).expect("COST report");
    let report: Value = serde_json::from_str(cost.split_once("COST ").expect("COST").1).expect("COST json");
    let gets = report["get_requests"].as_u64().expect("get_requests");
    let lists = report["list_requests"].as_u64().expect("list_requests");
    let retries = report["retries"].as_u64().expect("retries");
    // The meter saw exactly the requests that reached the wire (discovery's
    // sample included), and every injected fault cost one more.
    let sent = counts.requests.load(SeqCst) as u64;
    assert_eq!(gets + lists, sent, "{report} faults: {slow} {dropped} {cut}");
    assert!(gets > 30 + cut as u64, "{report}");
    assert!(retries >= (slow + dropped) as u64, "{report}");
}

#[test]
fn parquet_is_read_with_ranged_gets_and_projection() {
    let env = S3Env::new("pqt");
    let path = env.server.path("pqt", "tables/t.parquet");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    lakeport_tests::python_eval(
        "import os, sys, pyarrow as pa, pyarrow.parquet as pq\n\
         n = 20000\n\
         t = pa.table({'id': list(range(n)), 'name': ['name-%d' % i for i in range(n)],\n\
                       'blob': [os.urandom(96).hex() for i in range(n)]})\n\
         pq.write_table(t, sys.argv[1], row_group_size=5000, compression='snappy')\n",
        &[path.to_str().expect("utf-8 path")],
    );
    let size = std::fs::metadata(&path).expect("parquet file").len();

    // All columns.
    let config = env.config(
        "config.json",
        json!({"path_prefix": "tables/", "file_format": "parquet"}),
    );
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let data = r.data();
    assert_eq!(data.len(), 20000);
    assert_eq!(data[12345]["id"], 12345);
    assert_eq!(data[12345]["name"], "name-12345");

    // Only `id`: the blob column chunks are never fetched.
    let config = env.config(
        "config.json",
        json!({"path_prefix": "tables/", "file_format": "parquet", "parquet_columns": ["id"]}),
    );
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    assert_eq!(r.data().len(), 20000);
    assert!(r.data()[7].get("blob").is_none(), "{}", r.data()[7]);
    let cost = r.logs().into_iter().find(|l| l.contains("COST ")).expect("COST report");
    let report: Value = serde_json::from_str(cost.split_once("COST ").expect("COST").1).expect("COST json");
    let scanned = report["bytes_scanned"].as_u64().expect("bytes_scanned");
    assert!(
        scanned * 3 < size,
        "projection read {scanned} of {size} bytes: {report}"
    );
}

#[test]
fn estimate_prices_without_fetching() {
    let env = S3Env::new("est");
    env.server.put_object("est", "e/a.csv", b"v\n1\n");
    env.server.put_object("est", "e/b.csv", b"v\n2\n3\n");
    let config = env.config("config.json", json!({"path_prefix": "e/"}));
    let r = ok(run("source-s3", &["discover", "--config", &config], None));
    let stream = r.catalog()["streams"][0].clone();
    let catalog = env.path(
        "catalog.json",
        &json!({"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}),
    );
    let r = ok(run(
        "source-s3",
        &["estimate", "--config", &config, "--catalog", &catalog],
        None,
    ));
    assert!(r.records().is_empty());
    let estimates: Vec<&Value> = r
        .of_type("TRACE")
        .into_iter()
        .filter(|m| m["trace"]["type"] == "ESTIMATE")
        .collect();
    assert_eq!(estimates.len(), 1);
    assert_eq!(estimates[0]["trace"]["estimate"]["byte_estimate"], 4 + 6);
    let cost = r.logs().into_iter().find(|l| l.contains("COST ")).expect("COST report");
    let report: Value = serde_json::from_str(cost.split_once("COST ").expect("COST").1).expect("COST json");
    assert_eq!(report["get_requests"], 0, "{report}");
    assert_eq!(report["list_requests"], 1, "{report}");
    assert_eq!(report["files_selected"], 2, "{report}");
    assert_eq!(report["files_read"], 0, "{report}");
    assert!(report["estimated_usd"].as_f64().expect("estimated_usd") > 0.0);
}

#[test]
fn estimate_without_a_catalog_discovers_nothing_and_fetches_nothing() {
    let env = S3Env::new("est2");
    env.server
        .put_object("est2", "e/a.parquet", b"not really parquet, never fetched");
    env.server.put_object("est2", "e/b.parquet", b"neither");
    let config = env.config("config.json", json!({"path_prefix": "e/", "file_format": "parquet"}));
    let r = ok(run("source-s3", &["estimate", "--config", &config], None));
    assert!(r.records().is_empty());
    let cost = r.logs().into_iter().find(|l| l.contains("COST ")).expect("COST report");
    let report: Value = serde_json::from_str(cost.split_once("COST ").expect("COST").1).expect("COST json");
    assert_eq!(report["get_requests"], 0, "{report}");
    assert_eq!(report["head_requests"], 0, "{report}");
    assert_eq!(report["files_selected"], 2, "{report}");
}

#[test]
fn a_state_written_by_airbytes_source_s3_is_accepted() {
    let env = S3Env::new("abstate");
    env.server.put_object("abstate", "d/a.csv", b"v\n1\n");
    env.server.put_object("abstate", "d/b.csv", b"v\n2\n");
    let config = env.config("config.json", json!({"path_prefix": "d/"}));
    let r = ok(run("source-s3", &["read", "--config", &config], None));
    let a = r
        .data()
        .into_iter()
        .find(|d| d["_ab_source_file_url"] == "d/a.csv")
        .expect("a.csv read")
        .clone();
    let a_modified = a["_ab_source_file_last_modified"].as_str().expect("time").to_string();
    let r = ok(run("source-s3", &["discover", "--config", &config], None));
    let stream = r.catalog()["streams"][0].clone();
    let catalog = env.path(
        "catalog.json",
        &json!({"streams": [{"stream": stream, "sync_mode": "incremental", "destination_sync_mode": "append"}]}),
    );
    // Exactly what Airbyte's file-based source-s3 checkpoints.
    let state = env.path(
        "state.json",
        &json!([{"type": "STREAM", "stream": {
            "stream_descriptor": {"name": "d"},
            "stream_state": {
                "history": {"d/a.csv": a_modified},
                "_ab_source_file_last_modified": format!("{a_modified}_d/a.csv")
            }
        }}]),
    );
    let r = ok(run(
        "source-s3",
        &["read", "--config", &config, "--catalog", &catalog, "--state", &state],
        None,
    ));
    let urls: Vec<&Value> = r.data().iter().map(|d| &d["_ab_source_file_url"]).collect();
    assert_eq!(urls, vec!["d/b.csv"], "only the object not in the history");
    let last = *r.states().last().expect("state");
    let history = &last["stream"]["stream_state"]["history"];
    assert!(
        history["d/a.csv"].is_string() && history["d/b.csv"].is_string(),
        "{last}"
    );
    // The stream state alone, as copied out of Airbyte, is accepted too.
    let bare = env.path(
        "bare.json",
        &json!({"history": {"d/a.csv": a_modified}, "_ab_source_file_last_modified": format!("{a_modified}_d/a.csv")}),
    );
    let r = ok(run(
        "source-s3",
        &["read", "--config", &config, "--catalog", &catalog, "--state", &bare],
        None,
    ));
    let urls: Vec<&Value> = r.data().iter().map(|d| &d["_ab_source_file_url"]).collect();
    assert_eq!(
        urls,
        vec!["d/b.csv"],
        "a bare state: only the object not in its history"
    );
}
