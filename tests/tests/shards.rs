//! Shards: one stream read by N workers, exactly once, against the rig's S3
//! server (s3s-fs), with the real binaries.
//!
//! - For N in 1, 3, 4, 7 over 2,000 CSV objects of mixed sizes (60 bytes to
//!   80 KB): in full refresh and in incremental mode (objects added between
//!   runs, each shard resuming from its own state), the union of the N
//!   shards' records equals the unsharded read exactly, with no duplicate;
//!   in full refresh the largest shard's bytes (summed from the objects its
//!   records came from) are at most 1.15 × the mean.
//! - A shard given another shard's state stops with a config_error; the
//!   estimate prices each shard and the whole.
//! - Four destination-s3 processes, each fed by its shard, write one stream
//!   with a refresh generation: one after another and then all at once
//!   (`source-s3 read | destination-s3 write` in one shell each, with
//!   `JOB_COMPLETION_INDEX` set as a Kubernetes Indexed Job sets it and
//!   nothing else differing), they leave exactly the new data; two
//!   destination-file writers (`writer_id`) of one local stream likewise.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use lakeport_tests::{bin, run, run_with, validate_messages, write_json, Run, RunOpts, S3Env};
use serde_json::{json, Value};

/// Objects of the first run, and objects added before the second.
const FILES: usize = 2000;
const ADDED: usize = 200;

/// The body of object `i`: a CSV of one to three rows with unique ids and a
/// padding column whose length spreads the sizes from tens of bytes to 80 KB.
fn body(i: usize) -> Vec<u8> {
    let rows = 1 + i % 3;
    let pad = match i % 100 {
        0 => 80_000,
        1..=9 => 4_000 + (i * 131) % 16_000,
        _ => 20 + (i * 37) % 600,
    } / rows;
    let mut text = String::from("id,pad\n");
    for r in 0..rows {
        text.push_str(&format!("{},{}\n", i * 10 + r, "x".repeat(pad)));
    }
    text.into_bytes()
}

fn key(i: usize) -> String {
    format!("events/part-{:03}/f{i:05}.csv", i % 50)
}

/// Stores objects `from..to`; returns their sizes by key.
fn put(env: &S3Env, from: usize, to: usize, sizes: &mut BTreeMap<String, u64>) {
    for i in from..to {
        let data = body(i);
        sizes.insert(key(i), data.len() as u64);
        env.server.put_object(&env.bucket, &key(i), &data);
    }
}

fn ok(r: Run) -> Run {
    r.assert_success();
    r
}

/// The ids of a read, sorted (duplicates kept).
fn ids(r: &Run) -> Vec<i64> {
    let mut ids: Vec<i64> = r.data().iter().map(|d| d["id"].as_i64().expect("id")).collect();
    ids.sort_unstable();
    ids
}

/// The union of shard reads: every id once, or a panic naming the duplicate.
fn union(reads: &[Run]) -> Vec<i64> {
    let mut all: Vec<i64> = reads.iter().flat_map(ids).collect();
    all.sort_unstable();
    for w in all.windows(2) {
        assert_ne!(w[0], w[1], "id {} was read by two shards", w[0]);
    }
    all
}

/// The bytes of the objects a read's records came from.
fn bytes_read(r: &Run, sizes: &BTreeMap<String, u64>) -> u64 {
    let urls: BTreeSet<&str> = r
        .data()
        .iter()
        .map(|d| d["_ab_source_file_url"].as_str().expect("url"))
        .collect();
    urls.iter().map(|u| sizes[*u]).sum()
}

/// The listing fingerprint a full-refresh shard logs.
fn fingerprint(r: &Run) -> String {
    r.logs()
        .iter()
        .find_map(|l| l.split_once("listing fingerprint ").map(|(_, f)| f[..16].to_string()))
        .unwrap_or_else(|| panic!("no listing fingerprint in {:?}", r.logs()))
}

fn last_state(r: &Run) -> Value {
    (*r.states().last().expect("a STATE")).clone()
}

fn sharded(env: &S3Env, name: &str, index: usize, count: usize) -> String {
    env.config(
        name,
        json!({"path_prefix": "events/", "file_format": "csv", "stream_name": "events",
               "shard": {"index": index, "count": count}}),
    )
}

#[test]
fn n_shards_read_a_stream_exactly_once_in_full_refresh_and_incremental() {
    let env = S3Env::new("lake");
    let mut sizes = BTreeMap::new();
    put(&env, 0, FILES, &mut sizes);
    let plain = env.config(
        "plain.json",
        json!({"path_prefix": "events/", "file_format": "csv", "stream_name": "events"}),
    );
    let full = env.catalog("source-s3", &plain, "full_refresh");
    let incremental = env.catalog("source-s3", &plain, "incremental");

    // Full refresh: the union of the shards is the unsharded read; bytes balanced.
    let whole = ids(&ok(env.read("source-s3", &plain, &full, None)));
    assert_eq!(whole.len(), (0..FILES).map(|i| 1 + i % 3).sum::<usize>());
    for count in [1, 3, 4, 7] {
        let reads: Vec<Run> = (0..count)
            .map(|i| {
                let config = sharded(&env, &format!("full_{count}_{i}.json"), i, count);
                ok(env.read("source-s3", &config, &full, None))
            })
            .collect();
        assert_eq!(union(&reads), whole, "{count} shards");
        let prints: BTreeSet<String> = reads.iter().map(fingerprint).collect();
        assert_eq!(prints.len(), 1, "{count} shards divided different listings: {prints:?}");
        let bytes: Vec<u64> = reads.iter().map(|r| bytes_read(r, &sizes)).collect();
        let mean = bytes.iter().sum::<u64>() as f64 / count as f64;
        let largest = *bytes.iter().max().expect("a shard") as f64;
        assert!(largest <= 1.15 * mean, "{count} shards: bytes {bytes:?}");
        eprintln!(
            "full refresh, {count} shards: bytes {bytes:?} (largest/mean {:.3})",
            largest / mean
        );
    }

    // The estimate prices each shard and the whole.
    let config = sharded(&env, "estimate.json", 1, 4);
    let estimate = ok(run(
        "source-s3",
        &["estimate", "--config", &config, "--catalog", &full],
        None,
    ));
    let report = estimate
        .logs()
        .into_iter()
        .find_map(|l| l.split_once("SHARDS ").map(|(_, j)| j.to_string()))
        .unwrap_or_else(|| panic!("no SHARDS report: {}", estimate.stdout));
    let report: Value = serde_json::from_str(&report).expect("SHARDS json");
    assert_eq!((report["shard"].as_u64(), report["count"].as_u64()), (Some(1), Some(4)));
    let shards = report["shards"].as_array().expect("shards");
    assert_eq!(shards.len(), 4);
    let total: u64 = sizes.values().sum();
    assert_eq!(report["whole"]["bytes"].as_u64(), Some(total), "{report}");
    assert_eq!(report["whole"]["files"].as_u64(), Some(FILES as u64), "{report}");
    let shard_usd: f64 = shards.iter().map(|s| s["estimated_usd"].as_f64().expect("usd")).sum();
    assert!((shard_usd - report["whole"]["estimated_usd"].as_f64().expect("usd")).abs() < 1e-6);
    assert!(
        shards.iter().all(|s| s["estimated_usd"].as_f64() > Some(0.0)),
        "{report}"
    );

    // Incremental: first runs from no state, then objects are added.
    let first = ok(env.read("source-s3", &plain, &incremental, None));
    assert_eq!(ids(&first), whole);
    let mut states: BTreeMap<(usize, usize), Value> = BTreeMap::new();
    for count in [1, 3, 4, 7] {
        let reads: Vec<Run> = (0..count)
            .map(|i| {
                let config = sharded(&env, &format!("inc_{count}_{i}.json"), i, count);
                let r = ok(env.read("source-s3", &config, &incremental, None));
                let state = last_state(&r);
                let recorded = &state["stream"]["stream_state"]["_lakeport_shard"];
                assert_eq!(recorded, &json!({"index": i, "count": count}), "{state}");
                states.insert((count, i), state);
                r
            })
            .collect();
        assert_eq!(union(&reads), whole, "{count} shards, first incremental run");
    }
    put(&env, FILES, FILES + ADDED, &mut sizes);
    let added = ids(&ok(env.read(
        "source-s3",
        &plain,
        &incremental,
        Some(&last_state(&first)),
    )));
    assert_eq!(added.len(), (FILES..FILES + ADDED).map(|i| 1 + i % 3).sum::<usize>());
    for count in [1, 3, 4, 7] {
        let reads: Vec<Run> = (0..count)
            .map(|i| {
                let config = sharded(&env, &format!("inc_{count}_{i}.json"), i, count);
                ok(env.read("source-s3", &config, &incremental, Some(&states[&(count, i)])))
            })
            .collect();
        assert_eq!(union(&reads), added, "{count} shards, after objects were added");
    }

    // A shard given another shard's state is refused before reading.
    let config = sharded(&env, "inc_4_2.json", 2, 4);
    let wrong = env.read("source-s3", &config, &incremental, Some(&states[&(4, 1)]));
    assert!(!wrong.status.success());
    let error = &wrong.errors()[0];
    assert_eq!(error["failure_type"], "config_error");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("belongs to shard 1 of 4") && message.contains("shard 2 of 4"),
        "{message}"
    );
    assert!(wrong.records().is_empty());
}

/// A configured catalog of the `events` stream (`id`, `pad`) for a
/// destination, refreshing to `generation`.
fn refresh_catalog(dir: &Path, name: &str, generation: i64) -> String {
    let stream = json!({
        "name": "events",
        "json_schema": {"type": "object", "properties": {"id": {"type": "integer"}, "pad": {"type": "string"}}},
        "supported_sync_modes": ["full_refresh", "incremental"]
    });
    let catalog = json!({"streams": [{"stream": stream, "sync_mode": "full_refresh",
        "destination_sync_mode": "overwrite", "generation_id": generation, "minimum_generation_id": generation,
        "sync_id": 100 + generation}]});
    write_json(dir, name, &catalog).to_string_lossy().into_owned()
}

/// The ids in the destination's `events` stream (JSONL objects), sorted,
/// with the object keys.
fn written(env: &S3Env) -> (Vec<i64>, Vec<String>) {
    let keys: Vec<String> = env
        .server
        .keys(&env.bucket)
        .into_iter()
        .filter(|k| k.starts_with("out/events/"))
        .collect();
    let mut ids = Vec::new();
    for k in &keys {
        let text = String::from_utf8(env.server.object(&env.bucket, k)).expect("utf-8");
        for line in text.lines() {
            let row: Value = serde_json::from_str(line).expect("a JSON row");
            ids.push(row["id"].as_i64().expect("id"));
        }
    }
    ids.sort_unstable();
    (ids, keys)
}

/// Runs shard `index` of 4 (from `prefix`) piped into destination-s3 with
/// `JOB_COMPLETION_INDEX` set: the source's index and the writer id both
/// come from it.
fn shard_pipeline(env: &S3Env, source: &str, destination: &str, catalog: &str, index: usize) -> Command {
    let script = format!(
        "'{}' read --config '{source}' --catalog '{catalog}' | '{}' write --config '{destination}' --catalog '{catalog}'",
        bin("source-s3").display(),
        bin("destination-s3").display()
    );
    let mut cmd = Command::new("bash");
    cmd.args(["-o", "pipefail", "-c", &script])
        .env("JOB_COMPLETION_INDEX", index.to_string())
        .current_dir(env.dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

#[test]
fn four_writers_of_one_stream_with_a_refresh_generation_leave_exactly_the_new_data() {
    let env = S3Env::new("lake");
    let mut sizes = BTreeMap::new();
    put(&env, 0, 400, &mut sizes);
    let source = |name: &str, prefix: &str| {
        env.config(
            name,
            json!({"path_prefix": prefix, "file_format": "csv", "stream_name": "events",
                   "shard": {"count": 4}}),
        )
    };
    let destination = env.config(
        "destination.json",
        json!({"path_prefix": "out", "file_format": "jsonl", "compression": "none"}),
    );
    let generation = |g: i64| refresh_catalog(env.dir(), &format!("catalog_{g}.json"), g);
    let write = |source: &str, catalog: &str, index: usize| {
        let src = ok(run_with(
            "source-s3",
            &["read", "--config", source, "--catalog", catalog],
            RunOpts {
                env: vec![("JOB_COMPLETION_INDEX".into(), index.to_string())],
                ..Default::default()
            },
        ));
        ok(run_with(
            "destination-s3",
            &["write", "--config", &destination, "--catalog", catalog],
            RunOpts {
                env: vec![("JOB_COMPLETION_INDEX".into(), index.to_string())],
                stdin: Some(src.stdout.into_bytes()),
                ..Default::default()
            },
        ))
    };

    // Generation 1: the first 200 objects, by four writers one after another.
    let old = source("old.json", "events/part-0");
    let g1 = generation(1);
    for i in 0..4 {
        write(&old, &g1, i);
    }
    let (old_ids, old_keys) = written(&env);
    let expected_old: Vec<i64> = {
        let mut v: Vec<i64> = (0..400)
            .filter(|i| key(*i).starts_with("events/part-0"))
            .flat_map(|i| (0..1 + i % 3).map(move |r| (i * 10 + r) as i64))
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(old_ids, expected_old);
    for w in 0..4 {
        assert!(
            old_keys.iter().any(|k| k.contains(&format!("_w{w}.jsonl"))),
            "writer {w}: {old_keys:?}"
        );
    }

    // Generation 2: every object, four writers one after another — the last
    // ones' cleanup must not remove the first ones' new files.
    let new = source("new.json", "events/");
    let g2 = generation(2);
    let expected_new: Vec<i64> = {
        let mut v: Vec<i64> = (0..400)
            .flat_map(|i| (0..1 + i % 3).map(move |r| (i * 10 + r) as i64))
            .collect();
        v.sort_unstable();
        v
    };
    for i in 0..4 {
        write(&new, &g2, i);
    }
    let (ids, keys) = written(&env);
    assert_eq!(ids, expected_new, "after generation 2: {keys:?}");
    assert!(keys.iter().all(|k| !old_keys.contains(k)), "{keys:?}");

    // Generation 3: four pipelines started at once, as the pods of an Indexed Job.
    let g3 = generation(3);
    let children: Vec<_> = (0..4)
        .map(|i| {
            shard_pipeline(&env, &new, &destination, &g3, i)
                .spawn()
                .expect("start a pipeline")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("pipeline");
        let stdout = String::from_utf8(out.stdout).expect("utf-8");
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        validate_messages(&stdout);
        assert!(stdout.contains("\"STATE\""), "{stdout}");
    }
    let (ids3, keys3) = written(&env);
    assert_eq!(ids3, expected_new, "after generation 3: {keys3:?}");
    assert!(keys3.iter().all(|k| !keys.contains(k)), "{keys3:?}");
    let writers: BTreeSet<&str> = keys3
        .iter()
        .filter_map(|k| k.rsplit_once("_w").and_then(|(_, w)| w.split(['_', '.']).next()))
        .collect();
    assert_eq!(writers, BTreeSet::from(["0", "1", "2", "3"]), "{keys3:?}");
}

#[test]
fn n_sources_started_at_once_with_job_completion_index_read_the_stream_once() {
    let env = S3Env::new("lake");
    let mut sizes = BTreeMap::new();
    put(&env, 0, 600, &mut sizes);
    let plain = env.config(
        "plain.json",
        json!({"path_prefix": "events/", "file_format": "csv", "stream_name": "events"}),
    );
    let catalog = env.catalog("source-s3", &plain, "full_refresh");
    let whole = ids(&ok(env.read("source-s3", &plain, &catalog, None)));
    let config = env.config(
        "indexed.json",
        json!({"path_prefix": "events/", "file_format": "csv", "stream_name": "events", "shard": {"count": 3}}),
    );
    let children: Vec<_> = (0..3)
        .map(|i| {
            Command::new(bin("source-s3"))
                .args(["read", "--config", &config, "--catalog", &catalog])
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start source-s3")
        })
        .collect();
    let reads: Vec<Run> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("source-s3");
            let stdout = String::from_utf8(out.stdout).expect("utf-8");
            validate_messages(&stdout);
            ok(Run {
                status: out.status,
                messages: stdout.lines().map(|l| serde_json::from_str(l).expect("json")).collect(),
                stdout,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            })
        })
        .collect();
    assert!(reads.iter().all(|r| !r.records().is_empty()));
    assert_eq!(union(&reads), whole);

    // Without the variable (and without shard.index) the config is refused, naming both.
    let missing = run("source-s3", &["read", "--config", &config, "--catalog", &catalog], None);
    assert!(!missing.status.success());
    let message = missing.errors()[0]["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.contains("JOB_COMPLETION_INDEX") && message.contains("shard.index"),
        "{message}"
    );
}

/// RECORD lines of `events` with these ids, a STREAM_STATUS COMPLETE and a STATE.
fn events_input(ids: std::ops::Range<i64>) -> Vec<u8> {
    let mut lines: Vec<String> = ids
        .map(|id| {
            json!({"type": "RECORD", "record": {"stream": "events", "data": {"id": id, "pad": "p"},
                "emitted_at": 1_700_000_000_000i64}})
            .to_string()
        })
        .collect();
    lines.push(
        json!({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0, "stream_status": {
            "stream_descriptor": {"name": "events"}, "status": "COMPLETE"}}})
        .to_string(),
    );
    lines.push(
        json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
            "stream_descriptor": {"name": "events"}, "stream_state": {"n": 1}}}})
        .to_string(),
    );
    (lines.join("\n") + "\n").into_bytes()
}

#[test]
fn writers_of_one_local_stream_keep_each_others_current_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let write = |writer: &str, generation: i64, ids: std::ops::Range<i64>| {
        let config = write_json(
            dir.path(),
            &format!("file_{writer}.json"),
            &json!({"base_path": out, "format": "jsonl", "writer_id": writer}),
        );
        let config = config.to_string_lossy().into_owned();
        let catalog = refresh_catalog(dir.path(), &format!("catalog_{generation}.json"), generation);
        ok(run(
            "destination-file",
            &["write", "--config", &config, "--catalog", &catalog],
            Some(&events_input(ids)),
        ))
    };
    let rows = || {
        let mut names = Vec::new();
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(out.join("events")).expect("the stream's directory") {
            let entry = entry.expect("entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue; // generation sidecars
            }
            let text = std::fs::read_to_string(entry.path()).expect("a file");
            ids.extend(text.lines().map(|l| {
                serde_json::from_str::<Value>(l).expect("row")["id"]
                    .as_i64()
                    .expect("id")
            }));
            names.push(name);
        }
        ids.sort_unstable();
        names.sort();
        (ids, names)
    };
    write("a", 1, 0..10);
    write("b", 1, 10..20);
    assert_eq!(rows().0, (0..20).collect::<Vec<i64>>());
    write("a", 2, 100..110);
    // Writer b's generation-1 file went with a's cleanup; a's new file stays after b's.
    assert_eq!(rows().0, (100..110).collect::<Vec<i64>>());
    write("b", 2, 110..120);
    let (ids, names) = rows();
    assert_eq!(ids, (100..120).collect::<Vec<i64>>(), "{names:?}");
    assert!(
        names.iter().any(|n| n.contains("_wa")) && names.iter().any(|n| n.contains("_wb")),
        "{names:?}"
    );
}
