//! The connector images, run with podman exactly as an orchestrator runs
//! them: `spec`; `check`, `discover` and `read` with the config, catalog and
//! state files mounted read-only in a job directory and passed by relative
//! and by absolute path; `write` with the records on stdin; the S3
//! connectors against the rig's S3 server on the host network; the file
//! connectors with a data volume; a source container piped into a destination
//! container with the echoed STATE fed back for an incremental second run;
//! SIGTERM to a running `write`; secrets kept out of `podman logs`; N
//! source containers started at once with `JOB_COMPLETION_INDEX`, as the pods
//! of a Kubernetes Indexed Job, reading one stream exactly once; and the
//! pods of `examples/kubernetes/indexed-job.yaml` (its two containers' scripts,
//! joined by a named pipe) writing one stream with four writers.
//! Every stdout line is validated against the official Airbyte models.
//!
//! The images come from `scripts/images.sh`; without podman or without the
//! images each test prints `SKIP` and why (it fails instead when
//! `LAKEPORT_REQUIRE_CONTAINERS` is set, as `scripts/test.sh` does).

#[path = "containers/podman.rs"]
mod podman;

#[path = "containers/cdk.rs"]
mod cdk;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lakeport_tests::{configured_catalog, python_eval, run, workspace_root, Run, S3Server};
use podman::{available, image, podman_out, relay, remove, shared_dir, unique_name, Ctr, JobDir, CONNECTORS, VERSION};
use serde_json::{json, Value};

/// The image's size budget (bytes, as `podman image inspect` reports them).
const MAX_IMAGE_BYTES: u64 = 60_000_000;

fn record(stream: &str, data: Value) -> String {
    json!({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1_700_000_000_000i64}})
        .to_string()
}

fn state(stream: &str, n: u64) -> String {
    json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
        "stream_descriptor": {"name": stream}, "stream_state": {"cursor": n}}}})
    .to_string()
}

fn lines(items: &[String]) -> Vec<u8> {
    let mut s = items.join("\n");
    s.push('\n');
    s.into_bytes()
}

/// The one SPEC of a run.
fn spec_of(r: &Run) -> Value {
    r.assert_success();
    let specs = r.of_type("SPEC");
    assert_eq!(specs.len(), 1, "{}", r.stdout);
    specs[0]["spec"].clone()
}

/// Records per stream.
fn counts(r: &Run) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for rec in r.records() {
        *out.entry(rec["stream"].as_str().expect("stream").to_string())
            .or_default() += 1;
    }
    out
}

/// The state array the platform persists from a destination's echoed STATEs.
fn echoed_state(destination: &Run) -> Value {
    let states: Vec<Value> = destination
        .states()
        .into_iter()
        .map(|s| json!({"type": "STREAM", "stream": s["stream"]}))
        .collect();
    assert!(
        !states.is_empty(),
        "the destination echoed no STATE:\n{}",
        destination.stdout
    );
    Value::Array(states)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    out
}

/// Rows of every Parquet file under `dir`, read back with pyarrow, sorted by `id`.
fn parquet_rows(dir: &Path) -> Vec<Value> {
    let code = r#"
import json, pathlib, sys
import pyarrow.parquet as pq
rows = []
for p in sorted(pathlib.Path(sys.argv[1]).rglob("*.parquet")):
    rows.extend(pq.read_table(p).to_pylist())
print(json.dumps(rows, default=str))
"#;
    let mut rows: Vec<Value> =
        serde_json::from_str(&python_eval(code, &[dir.to_str().expect("utf-8")])).expect("pyarrow rows");
    rows.sort_by_key(|r| r["id"].as_i64());
    rows
}

fn wait_for(secs: u64, mut ready: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

// ---------------------------------------------------------------------------
// The images themselves
// ---------------------------------------------------------------------------

#[test]
fn images_carry_airbyte_labels_entrypoint_user_and_fit_the_size_budget() {
    if !available("images_carry_airbyte_labels_entrypoint_user_and_fit_the_size_budget") {
        return;
    }
    for c in CONNECTORS {
        let img = image(c);
        let inspect: Value = serde_json::from_str(&podman_out(&["image", "inspect", &img])).expect("inspect JSON");
        let i = &inspect[0];
        let config = &i["Config"];
        let labels = &config["Labels"];
        assert_eq!(labels["io.airbyte.name"], json!(format!("lakeport/{c}")), "{img}");
        assert_eq!(labels["io.airbyte.version"], json!(VERSION), "{img}");
        let entrypoint: Vec<&str> = config["Entrypoint"]
            .as_array()
            .expect("Entrypoint")
            .iter()
            .map(|v| v.as_str().expect("string"))
            .collect();
        let airbyte_entrypoint = config["Env"]
            .as_array()
            .expect("Env")
            .iter()
            .filter_map(|e| e.as_str()?.strip_prefix("AIRBYTE_ENTRYPOINT="))
            .next()
            .unwrap_or_else(|| panic!("{img}: no AIRBYTE_ENTRYPOINT"));
        assert_eq!(entrypoint.join(" "), airbyte_entrypoint, "{img}");
        assert_eq!(config["User"], "airbyte:airbyte", "{img}");
        assert_eq!(config["WorkingDir"], "/config", "{img}");
        assert_eq!(config["Cmd"], json!(["spec"]), "{img}");
        // :dev is the same image.
        let dev = podman_out(&[
            "image",
            "inspect",
            "-f",
            "{{.Id}}",
            &format!("{}/{c}:dev", podman::prefix()),
        ]);
        assert_eq!(dev, i["Id"].as_str().expect("Id"), "{c}:dev and {img} differ");
        let size = i["Size"].as_u64().expect("Size");
        eprintln!("{img}: {:.1} MB", size as f64 / 1e6);
        assert!(size <= MAX_IMAGE_BYTES, "{img} is {size} bytes, over {MAX_IMAGE_BYTES}");

        // The user really is uid 1000 and owns the working directory.
        let id = Ctr::new(c)
            .entrypoint("/bin/sh")
            .run_raw(&["-c", "id -u; id -g; ls -nd /config"]);
        let id: Vec<&str> = id.lines().collect();
        assert_eq!(&id[..2], ["1000", "1000"], "{img}: {id:?}");
        assert!(id[2].contains(" 1000 1000 "), "{img}: /config is {}", id[2]);
    }
}

#[test]
fn spec_in_every_image_is_the_binary_s_spec_also_through_the_platform_s_shell() {
    if !available("spec_in_every_image_is_the_binary_s_spec_also_through_the_platform_s_shell") {
        return;
    }
    for c in CONNECTORS {
        let host = spec_of(&run(c, &["spec"], None));
        let in_image = spec_of(&Ctr::new(c).run(&["spec"]));
        assert_eq!(in_image, host, "{c}: the image's SPEC differs from the binary's");
        // No arguments: the image's CMD is spec.
        assert_eq!(spec_of(&Ctr::new(c).run(&[])), host, "{c}: CMD");
        // Airbyte on Kubernetes replaces the entrypoint with a shell script that
        // runs `eval "$AIRBYTE_ENTRYPOINT spec"` and waits with `sleep`.
        let through_shell = Ctr::new(c).entrypoint("/bin/sh").run(&[
            "-c",
            r#"sleep 0; eval "$AIRBYTE_ENTRYPOINT spec" > /tmp/out; rc=$?; cat /tmp/out; exit $rc"#,
        ]);
        assert_eq!(
            spec_of(&through_shell),
            host,
            "{c}: through sh -c and AIRBYTE_ENTRYPOINT"
        );
        // The binary keeps its own name on the PATH.
        let version = Ctr::new(c).entrypoint(c).run_raw(&["--version"]);
        assert!(version.contains(VERSION), "{c} --version: {version}");
    }
}

// ---------------------------------------------------------------------------
// File and SQLite connectors with data volumes
// ---------------------------------------------------------------------------

#[test]
fn source_file_reads_a_data_volume_with_job_files_by_relative_and_absolute_path() {
    if !available("source_file_reads_a_data_volume_with_job_files_by_relative_and_absolute_path") {
        return;
    }
    let data = shared_dir(false);
    let incoming = data.path().join("incoming");
    std::fs::create_dir(&incoming).expect("mkdir");
    std::fs::write(incoming.join("day1.csv"), "id,amount\n1,1.5\n2,2.5\n3,3.5\n").expect("write csv");
    let job = JobDir::new();
    job.file(
        "source_config.json",
        &json!({"file_path": "/data/incoming", "stream_name": "events"}),
    );
    let src = Ctr::new("source-file").job(&job).volume(data.path(), "/data", true);

    let check = src.run(&["check", "--config", "source_config.json"]);
    check.assert_success();
    assert_eq!(check.connection_status()["status"], "SUCCEEDED", "{}", check.stderr);
    let discover = src.run(&["discover", "--config", "/config/source_config.json"]);
    discover.assert_success();
    let catalog = configured_catalog(discover.catalog(), "incremental");
    job.file("source_catalog.json", &catalog);

    // Sync 1, relative paths: every row, typed.
    let r1 = src.run(&[
        "read",
        "--config",
        "source_config.json",
        "--catalog",
        "source_catalog.json",
    ]);
    r1.assert_success();
    assert!(r1.errors().is_empty(), "{:?}", r1.errors());
    let mut ids: Vec<i64> = r1
        .data()
        .iter()
        .map(|d| d["id"].as_i64().expect("integer id"))
        .collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(r1.data()[0]["_ab_source_file_url"], "/data/incoming/day1.csv");
    let last_state = r1.states().last().cloned().cloned().expect("a STATE");
    job.file(
        "source_state.json",
        &json!([{"type": "STREAM", "stream": last_state["stream"]}]),
    );

    // Sync 2, absolute paths, with the state: only the new file.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(incoming.join("day2.csv"), "id,amount\n4,4.5\n5,5.5\n").expect("write csv");
    let r2 = src.run(&[
        "read",
        "--config",
        "/config/source_config.json",
        "--catalog",
        "/config/source_catalog.json",
        "--state",
        "/config/source_state.json",
    ]);
    r2.assert_success();
    let mut ids: Vec<i64> = r2
        .data()
        .iter()
        .map(|d| d["id"].as_i64().expect("integer id"))
        .collect();
    ids.sort();
    assert_eq!(ids, [4, 5], "only the new file is read:\n{}", r2.stdout);

    // A config file missing from the job directory is a config error naming it.
    let missing = src.run(&["check", "--config", "nope.json"]);
    let text = format!("{}{}", missing.stdout, missing.stderr);
    assert!(text.contains("nope.json") && !text.contains("panicked"), "{text}");
}

#[test]
fn source_sqlite_reads_a_read_only_database_volume_as_the_binary_does() {
    if !available("source_sqlite_reads_a_read_only_database_volume_as_the_binary_does") {
        return;
    }
    let data = shared_dir(false);
    let db = data.path().join("shop.db");
    std::fs::copy(workspace_root().join("examples/sample/shop.db"), &db).expect("copy shop.db");
    let job = JobDir::new();
    job.file("source_config.json", &json!({"database_path": "/data/shop.db"}));
    let src = Ctr::new("source-sqlite").job(&job).volume(data.path(), "/data", true);
    let check = src.run(&["check", "--config", "source_config.json"]);
    assert_eq!(check.connection_status()["status"], "SUCCEEDED", "{}", check.stderr);
    let discover = src.run(&["discover", "--config", "source_config.json"]);
    discover.assert_success();
    job.file(
        "source_catalog.json",
        &configured_catalog(discover.catalog(), "full_refresh"),
    );
    let r = src.run(&[
        "read",
        "--config",
        "source_config.json",
        "--catalog",
        "source_catalog.json",
    ]);
    r.assert_success();

    // The same read by the host binary, on the same file.
    let host_dir = tempfile::tempdir().expect("tempdir");
    let cfg = lakeport_tests::write_json(host_dir.path(), "c.json", &json!({"database_path": db}));
    let cat = lakeport_tests::write_json(
        host_dir.path(),
        "cat.json",
        &configured_catalog(discover.catalog(), "full_refresh"),
    );
    let host = run(
        "source-sqlite",
        &[
            "read",
            "--config",
            cfg.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        None,
    );
    host.assert_success();
    assert_eq!(counts(&r), counts(&host));
    assert_eq!(counts(&r).get("users"), Some(&50), "{:?}", counts(&r));
    let strip = |r: &Run| -> Vec<Value> { r.records().iter().map(|x| json!([x["stream"], x["data"]])).collect() };
    assert_eq!(strip(&r), strip(&host), "the image reads what the binary reads");
}

#[test]
fn destination_file_writes_records_from_stdin_into_a_data_volume() {
    if !available("destination_file_writes_records_from_stdin_into_a_data_volume") {
        return;
    }
    let data = shared_dir(true);
    let job = JobDir::new();
    job.file(
        "destination_config.json",
        &json!({"base_path": "/local/out", "format": "parquet"}),
    );
    let catalog = json!({"streams": [{
        "stream": {"name": "users", "json_schema": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "score": {"type": "number"}}},
            "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh", "destination_sync_mode": "append"}]});
    job.file("destination_catalog.json", &catalog);
    let dst = Ctr::new("destination-file")
        .job(&job)
        .volume(data.path(), "/local", false);
    let check = dst.run(&["check", "--config", "destination_config.json"]);
    assert_eq!(check.connection_status()["status"], "SUCCEEDED", "{}", check.stderr);

    let mut input = vec![];
    for i in 0..100u64 {
        input.push(record(
            "users",
            json!({"id": i, "name": format!("user-{i}"), "score": i as f64 / 4.0}),
        ));
    }
    input.push(state("users", 100));
    let w = dst.run_with_stdin(
        &[
            "write",
            "--config",
            "destination_config.json",
            "--catalog",
            "/config/destination_catalog.json",
        ],
        &lines(&input),
    );
    w.assert_success();
    assert_eq!(w.states().len(), 1, "{}", w.stdout);
    assert_eq!(w.states()[0]["stream"]["stream_state"], json!({"cursor": 100}));

    let out = data.path().join("out");
    let files = files_under(&out);
    assert!(!files.is_empty(), "nothing written under the volume");
    assert!(
        files.iter().all(|f| f.extension().is_some_and(|e| e == "parquet")),
        "{files:?}"
    );
    let rows = parquet_rows(&out);
    assert_eq!(rows.len(), 100);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], json!(i), "{row}");
        assert_eq!(row["name"], json!(format!("user-{i}")), "{row}");
        assert_eq!(row["score"], json!(i as f64 / 4.0), "{row}");
    }
}

// ---------------------------------------------------------------------------
// S3 connectors on the host network
// ---------------------------------------------------------------------------

#[test]
fn s3_connectors_reach_the_rig_s3_server_on_the_host_network() {
    if !available("s3_connectors_reach_the_rig_s3_server_on_the_host_network") {
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    s3.put_object("lake", "events/2025-01-01.csv", b"id,kind\n1,a\n2,b\n3,c\n");
    s3.put_object("lake", "events/2025-01-02.jsonl", b"{\"id\":4,\"kind\":\"d\"}\n");

    // source-s3: check, discover, read.
    let mut config = s3.connection("lake");
    config["path_prefix"] = json!("events/");
    config["file_format"] = json!("auto");
    config["stream_name"] = json!("events");
    let job = JobDir::new();
    job.file("source_config.json", &config);
    let src = Ctr::new("source-s3").job(&job).host_network();
    let check = src.run(&["check", "--config", "source_config.json"]);
    assert_eq!(check.connection_status()["status"], "SUCCEEDED", "{}", check.stderr);
    let discover = src.run(&["discover", "--config", "source_config.json"]);
    discover.assert_success();
    job.file(
        "source_catalog.json",
        &configured_catalog(discover.catalog(), "full_refresh"),
    );
    let r = src.run(&[
        "read",
        "--config",
        "source_config.json",
        "--catalog",
        "source_catalog.json",
    ]);
    r.assert_success();
    let mut ids: Vec<i64> = r.data().iter().map(|d| d["id"].as_i64().expect("id")).collect();
    ids.sort();
    assert_eq!(ids, [1, 2, 3, 4], "{}", r.stdout);

    // destination-s3: check, then records on stdin into the bucket.
    s3.create_bucket("out");
    let mut dconfig = s3.connection("out");
    dconfig["path_prefix"] = json!("lake");
    dconfig["file_format"] = json!("jsonl");
    let djob = JobDir::new();
    djob.file("destination_config.json", &dconfig);
    let dst = Ctr::new("destination-s3").job(&djob).host_network();
    let check = dst.run(&["check", "--config", "destination_config.json"]);
    assert_eq!(check.connection_status()["status"], "SUCCEEDED", "{}", check.stderr);
    let input: Vec<String> = (0..30)
        .map(|i| record("users", json!({"id": i, "name": format!("user-{i}")})))
        .chain([state("users", 30)])
        .collect();
    let w = dst.run_with_stdin(
        &["write", "--config", "/config/destination_config.json"],
        &lines(&input),
    );
    w.assert_success();
    assert_eq!(w.states().len(), 1, "{}", w.stdout);
    let keys: Vec<String> = s3
        .keys("out")
        .into_iter()
        .filter(|k| k.starts_with("lake/users/"))
        .collect();
    assert!(!keys.is_empty(), "no object written: {:?}", s3.keys("out"));
    let mut rows: Vec<Value> = keys
        .iter()
        .flat_map(|k| {
            String::from_utf8(s3.object("out", k))
                .expect("utf-8")
                .lines()
                .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
                .collect::<Vec<_>>()
        })
        .collect();
    rows.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(rows.len(), 30);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["id"], json!(i), "{row}");
        assert_eq!(row["name"], json!(format!("user-{i}")), "{row}");
    }
}

#[test]
fn source_container_piped_into_destination_container_resumes_from_the_echoed_state() {
    if !available("source_container_piped_into_destination_container_resumes_from_the_echoed_state") {
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    s3.put_object("lake", "events/2025-01-01.csv", b"id,kind\n1,a\n2,b\n3,c\n");
    s3.put_object("lake", "events/2025-01-02.csv", b"id,kind\n4,d\n");
    let mut config = s3.connection("lake");
    config["path_prefix"] = json!("events/");
    config["file_format"] = json!("csv");
    config["stream_name"] = json!("events");

    let src_job = JobDir::new();
    src_job.file("source_config.json", &config);
    let src = Ctr::new("source-s3").job(&src_job).host_network();
    let discover = src.run(&["discover", "--config", "source_config.json"]);
    discover.assert_success();
    let catalog = configured_catalog(discover.catalog(), "incremental");
    src_job.file("source_catalog.json", &catalog);

    let data = shared_dir(true);
    let dst_job = JobDir::new();
    dst_job.file(
        "destination_config.json",
        &json!({"base_path": "/local/out", "format": "parquet"}),
    );
    dst_job.file("destination_catalog.json", &catalog);
    let dst = Ctr::new("destination-file")
        .job(&dst_job)
        .volume(data.path(), "/local", false);
    let read = [
        "read",
        "--config",
        "source_config.json",
        "--catalog",
        "source_catalog.json",
    ];
    let read_with_state = [&read[..], &["--state", "source_state.json"]].concat();
    let write = [
        "write",
        "--config",
        "destination_config.json",
        "--catalog",
        "destination_catalog.json",
    ];

    // Sync 1: every file.
    let (r1, w1) = relay(&src, &read, &dst, &write);
    r1.assert_success();
    w1.assert_success();
    assert_eq!(counts(&r1).get("events"), Some(&4));
    assert_eq!(
        w1.states().len(),
        r1.states().len(),
        "every state echoed once its data is written"
    );
    src_job.file("source_state.json", &echoed_state(&w1));

    // Sync 2, from the echoed state: only the new object moves.
    std::thread::sleep(Duration::from_millis(1100));
    s3.put_object("lake", "events/2025-01-03.csv", b"id,kind\n5,e\n6,f\n");
    let (r2, w2) = relay(&src, &read_with_state, &dst, &write);
    r2.assert_success();
    w2.assert_success();
    let mut ids: Vec<i64> = r2.data().iter().map(|d| d["id"].as_i64().expect("id")).collect();
    ids.sort();
    assert_eq!(ids, [5, 6], "the second run reads only the new object:\n{}", r2.stdout);
    assert!(!w2.states().is_empty());

    let rows = parquet_rows(&data.path().join("out"));
    let ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().expect("id")).collect();
    assert_eq!(ids, [1, 2, 3, 4, 5, 6], "{rows:?}");
    assert_eq!(rows[4]["kind"], "e");
}

// ---------------------------------------------------------------------------
// Cancellation and secrets
// ---------------------------------------------------------------------------

/// Files s3s-fs keeps for multipart uploads in progress.
fn stray_uploads(server: &S3Server) -> Vec<PathBuf> {
    files_under(server.dir())
        .into_iter()
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.starts_with(".upload") || name.starts_with(".tmp.") || name.contains(".upload-")
        })
        .collect()
}

/// `podman stop` (SIGTERM, as `docker stop` and the platform send), then
/// the run as the `podman run` client saw it, its stdout validated.
fn stop(name: &str, client: podman::Writer) -> Run {
    let stopped = podman::podman()
        .args(["stop", "--time", "30", name])
        .output()
        .expect("podman stop");
    assert!(
        stopped.status.success(),
        "podman stop: {}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    client.wait()
}

#[test]
fn sigterm_to_a_destination_s3_container_aborts_its_multipart_upload() {
    if !available("sigterm_to_a_destination_s3_container_aborts_its_multipart_upload") {
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket("out");
    let mut config = s3.connection("out");
    config["path_prefix"] = json!("cancel");
    config["file_format"] = json!("jsonl");
    config["part_size_mb"] = json!(5);
    let job = JobDir::new();
    job.file("destination_config.json", &config);
    let name = unique_name("cancel-s3");
    let mut client = Ctr::new("destination-s3")
        .job(&job)
        .host_network()
        .name(&name)
        .spawn_writer(&["write", "--config", "destination_config.json"]);
    let pad = "x".repeat(1024);
    let input: Vec<String> = (0..11_000)
        .map(|i| record("users", json!({"id": i, "pad": pad})))
        .collect();
    client.write(&lines(&input));
    // Stdin stays open: the sync is still running when the signal comes.
    let started = wait_for(120, || !stray_uploads(&s3).is_empty());
    if !started {
        remove(&name);
        panic!("no part was uploaded");
    }
    let r = stop(&name, client);
    assert_eq!(
        r.status.code(),
        Some(143),
        "the platform's exit status for SIGTERM: {}",
        r.stderr
    );
    assert!(stray_uploads(&s3).is_empty(), "{:?}", stray_uploads(&s3));
    assert!(
        s3.keys("out").iter().all(|k| !k.starts_with("cancel/")),
        "{:?}",
        s3.keys("out")
    );
}

#[test]
fn sigterm_to_a_destination_file_container_removes_its_temporary_files() {
    if !available("sigterm_to_a_destination_file_container_removes_its_temporary_files") {
        return;
    }
    let data = shared_dir(true);
    let out = data.path().join("out");
    let job = JobDir::new();
    job.file(
        "destination_config.json",
        &json!({"base_path": "/local/out", "format": "csv"}),
    );
    let name = unique_name("cancel-file");
    let mut client = Ctr::new("destination-file")
        .job(&job)
        .volume(data.path(), "/local", false)
        .name(&name)
        .spawn_writer(&["write", "--config", "destination_config.json"]);
    let temp_files = || -> Vec<PathBuf> {
        files_under(&out)
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("lakeport-tmp"))
            .collect()
    };
    // Records keep coming until the file is open; stdin stays open.
    let until = Instant::now() + Duration::from_secs(120);
    let mut i = 0u64;
    while temp_files().is_empty() {
        if Instant::now() > until {
            remove(&name);
            panic!("the output file never opened");
        }
        let batch: Vec<String> = (i..i + 1000).map(|n| record("s", json!({"id": n}))).collect();
        i += 1000;
        client.write(&lines(&batch));
        std::thread::sleep(Duration::from_millis(20));
    }
    let r = stop(&name, client);
    assert_eq!(
        r.status.code(),
        Some(143),
        "the platform's exit status for SIGTERM: {}",
        r.stderr
    );
    assert!(temp_files().is_empty(), "{:?}", temp_files());
}

#[test]
fn secrets_stay_out_of_podman_logs() {
    if !available("secrets_stay_out_of_podman_logs") {
        return;
    }
    let secret = "lakeport-container-secret-Vb71Qa";
    let s3 = S3Server::start_with_keys("container-key", secret);
    s3.create_bucket("lake");
    s3.put_object("lake", "a.csv", b"id\n1\n");
    let good = s3.connection("lake");
    let mut wrong = good.clone();
    wrong["secret_access_key"] = json!(format!("{secret}-but-wrong"));
    let mut dest = good.clone();
    dest["file_format"] = json!("jsonl");
    let mut dest_wrong = wrong.clone();
    dest_wrong["file_format"] = json!("jsonl");

    let cases: [(&str, &str, &Value, &[&str], &str); 4] = [
        (
            "source-s3",
            "source_config.json",
            &good,
            &["read", "--config", "source_config.json"],
            "RECORD",
        ),
        (
            "source-s3",
            "source_config.json",
            &wrong,
            &["check", "--config", "source_config.json"],
            "FAILED",
        ),
        (
            "destination-s3",
            "destination_config.json",
            &dest,
            &["check", "--config", "destination_config.json"],
            "SUCCEEDED",
        ),
        (
            "destination-s3",
            "destination_config.json",
            &dest_wrong,
            &["check", "--config", "destination_config.json"],
            "FAILED",
        ),
    ];
    for (connector, file, config, args, expect) in cases {
        let job = JobDir::new();
        job.file(file, config);
        let name = unique_name("logs");
        let ctr = Ctr::new(connector).job(&job).host_network().name(&name).keep();
        let r = ctr.run(args);
        let logs = podman::podman().args(["logs", &name]).output().expect("podman logs");
        remove(&name);
        assert!(logs.status.success(), "{}", String::from_utf8_lossy(&logs.stderr));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&logs.stdout),
            String::from_utf8_lossy(&logs.stderr)
        );
        assert!(r.status.success(), "{connector} {args:?}: {}", r.stderr);
        assert!(
            text.contains(expect),
            "{connector} {args:?}: the logs hold the run's output:\n{text}"
        );
        assert!(
            !text.contains(secret),
            "{connector} {args:?}: the secret is in `podman logs`:\n{text}"
        );
        assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    }
}

#[test]
fn n_source_containers_with_job_completion_index_read_one_stream_exactly_once() {
    let test = "n_source_containers_with_job_completion_index_read_one_stream_exactly_once";
    if !available(test) {
        return;
    }
    let spec = spec_of(&Ctr::new("source-s3").run(&["spec"]));
    if spec["connectionSpecification"]["properties"].get("shard").is_none() {
        let why = format!(
            "the image {} predates shards: rebuild it with scripts/images.sh",
            image("source-s3")
        );
        assert!(std::env::var_os("LAKEPORT_REQUIRE_CONTAINERS").is_none(), "{why}");
        eprintln!("SKIP {test}: {why}");
        return;
    }
    let s3 = S3Server::start();
    s3.create_bucket("lake");
    for i in 0..120 {
        let body = format!("id,pad\n{i},{}\n", "x".repeat(10 + (i * 97) % 3000));
        s3.put_object("lake", &format!("events/f{i:03}.csv"), body.as_bytes());
    }
    let mut config = s3.connection("lake");
    config["path_prefix"] = json!("events/");
    config["file_format"] = json!("csv");
    config["stream_name"] = json!("events");
    let job = JobDir::new();
    job.file("plain.json", &config);
    let discover = run(
        "source-s3",
        &["discover", "--config", &job.path().join("plain.json").to_string_lossy()],
        None,
    );
    discover.assert_success();
    job.file("catalog.json", &configured_catalog(discover.catalog(), "full_refresh"));
    config["shard"] = json!({"count": 3});
    job.file("config.json", &config);
    // Three pods of an Indexed Job: one config, the index from the environment.
    let children: Vec<_> = (0..3)
        .map(|i| {
            Ctr::new("source-s3")
                .job(&job)
                .host_network()
                .env("JOB_COMPLETION_INDEX", &i.to_string())
                .command(&["read", "--config", "config.json", "--catalog", "catalog.json"])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a source container")
        })
        .collect();
    let mut ids: Vec<i64> = Vec::new();
    for child in children {
        let out = child.wait_with_output().expect("a source container");
        let r = podman::finish(out.status, out.stdout, out.stderr);
        r.assert_success();
        let mine: Vec<i64> = r.data().iter().map(|d| d["id"].as_i64().expect("id")).collect();
        assert!(!mine.is_empty(), "a shard read nothing:\n{}", r.stdout);
        ids.extend(mine);
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        (0..120).collect::<Vec<i64>>(),
        "each object once, across the three containers"
    );
}

/// The `args` scripts (`- |` blocks) of a Kubernetes manifest, in order.
fn manifest_scripts(yaml: &str) -> Vec<String> {
    let lines: Vec<&str> = yaml.lines().collect();
    let mut scripts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim() != "- |" {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let body: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|l| l.trim())
            .collect();
        scripts.push(body.join("\n"));
    }
    scripts
}

#[test]
fn the_indexed_job_example_writes_one_stream_with_four_pods() {
    let test = "the_indexed_job_example_writes_one_stream_with_four_pods";
    if !available(test) {
        return;
    }
    let spec = spec_of(&Ctr::new("source-s3").run(&["spec"]));
    if spec["connectionSpecification"]["properties"].get("shard").is_none() {
        let why = format!(
            "the image {} predates shards: rebuild it with scripts/images.sh",
            image("source-s3")
        );
        assert!(std::env::var_os("LAKEPORT_REQUIRE_CONTAINERS").is_none(), "{why}");
        eprintln!("SKIP {test}: {why}");
        return;
    }
    let manifest = std::fs::read_to_string(workspace_root().join("examples/kubernetes/indexed-job.yaml"))
        .expect("examples/kubernetes/indexed-job.yaml");
    assert!(manifest.contains("completionMode: Indexed") && manifest.contains("completions: 4"));
    assert!(manifest.contains("image: lakeport/source-s3:") && manifest.contains("image: lakeport/destination-s3:"));
    let scripts = manifest_scripts(&manifest);
    assert_eq!(scripts.len(), 2, "{scripts:?}");
    let (source_script, destination_script) = (&scripts[0], &scripts[1]);
    assert!(source_script.contains(" read ") && destination_script.contains(" write "));

    let s3 = S3Server::start();
    s3.create_bucket("lake");
    for i in 0..80 {
        let body = format!("id,user\n{i},u{}\n", i % 7);
        s3.put_object("lake", &format!("events/f{i:03}.csv"), body.as_bytes());
    }
    // The Secret's three files, for the rig's server.
    let mut source = s3.connection("lake");
    source["path_prefix"] = json!("events/");
    source["file_format"] = json!("csv");
    source["stream_name"] = json!("events");
    source["shard"] = json!({"count": 4});
    let mut destination = s3.connection("lake");
    destination["path_prefix"] = json!("lake");
    destination["file_format"] = json!("jsonl");
    destination["compression"] = json!("none");
    let stream = json!({"name": "events", "json_schema": {"type": "object", "properties": {
        "id": {"type": ["null", "integer"]}, "user": {"type": ["null", "string"]}}},
        "supported_sync_modes": ["full_refresh", "incremental"]});
    let catalog = json!({"streams": [{"stream": stream, "sync_mode": "full_refresh",
        "destination_sync_mode": "overwrite", "generation_id": 1, "minimum_generation_id": 1, "sync_id": 1}]});
    let job = JobDir::new();
    job.file("source.json", &source)
        .file("destination.json", &destination)
        .file("catalog.json", &catalog);

    // Four pods at once: each a source and a destination container sharing /pipe.
    let pipes: Vec<_> = (0..4).map(|_| shared_dir(true)).collect();
    let mut children = Vec::new();
    for (i, pipe) in pipes.iter().enumerate() {
        for (connector, script) in [("source-s3", source_script), ("destination-s3", destination_script)] {
            let child = Ctr::new(connector)
                .job(&job)
                .volume(pipe.path(), "/pipe", false)
                .host_network()
                .env("JOB_COMPLETION_INDEX", &i.to_string())
                .entrypoint("/bin/sh")
                .command(&["-c", script])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("start a pod's container");
            children.push((connector, child));
        }
    }
    for (connector, child) in children {
        let out = child.wait_with_output().expect("a pod's container");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{connector}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if connector == "destination-s3" {
            let r = podman::finish(out.status, out.stdout, out.stderr);
            assert!(!r.states().is_empty(), "the destination echoed no STATE: {}", r.stdout);
        }
    }
    let keys: Vec<String> = s3
        .keys("lake")
        .into_iter()
        .filter(|k| k.starts_with("lake/events/"))
        .collect();
    let mut ids: Vec<i64> = Vec::new();
    for k in &keys {
        let text = String::from_utf8(s3.object("lake", k)).expect("utf-8");
        ids.extend(text.lines().map(|l| {
            serde_json::from_str::<Value>(l).expect("row")["id"]
                .as_i64()
                .expect("id")
        }));
    }
    ids.sort_unstable();
    assert_eq!(ids, (0..80).collect::<Vec<i64>>(), "{keys:?}");
    for w in 0..4 {
        assert!(
            keys.iter().any(|k| k.contains(&format!("_w{w}"))),
            "writer {w}: {keys:?}"
        );
    }
}
