//! Refresh generations (Airbyte protocol "refreshes") in both destinations:
//! the configured catalog's `generation_id` / `minimum_generation_id` /
//! `sync_id` decide what a *successful* sync removes of a stream's older
//! data; every row carries `_airbyte_generation_id`; each file (a hidden
//! sidecar) or object (S3 user metadata `ab-generation-id`, read back over
//! the S3 protocol from the rig's s3s-fs server) records its generation.
//! Rows are read back with the standard library (JSONL) and pyarrow
//! (Parquet).

use std::path::{Path, PathBuf};

use lakeport_core::storage::{RetryConfig, S3Builder};
use lakeport_tests::{python_eval, run, write_json, Run, S3Server};
use serde_json::{json, Value};

const BUCKET: &str = "lake";

/// A destination under test, and how to look at what it wrote.
enum Dest {
    File { dir: tempfile::TempDir },
    S3 { server: S3Server, dir: tempfile::TempDir },
}

impl Dest {
    fn file() -> Dest {
        Dest::File {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn s3() -> Dest {
        let server = S3Server::start();
        server.create_bucket(BUCKET);
        Dest::S3 {
            server,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn work(&self) -> &Path {
        match self {
            Dest::File { dir } | Dest::S3 { dir, .. } => dir.path(),
        }
    }

    fn out(&self) -> PathBuf {
        self.work().join("out")
    }

    fn name(&self) -> &'static str {
        match self {
            Dest::File { .. } => "destination-file",
            Dest::S3 { .. } => "destination-s3",
        }
    }

    fn config(&self, format: &str) -> Value {
        match self {
            Dest::File { .. } => json!({"base_path": self.out(), "format": format}),
            Dest::S3 { server, .. } => {
                let mut c = server.connection(BUCKET);
                c["path_prefix"] = json!("out");
                c["file_format"] = json!(format);
                c
            }
        }
    }

    /// Runs `write` with `input`, the catalog when given.
    fn write(&self, format: &str, catalog: Option<&Value>, input: &str) -> Run {
        let cfg = write_json(self.work(), "config.json", &self.config(format));
        let mut args = vec!["write".to_string(), "--config".into(), cfg.display().to_string()];
        if let Some(c) = catalog {
            let path = write_json(self.work(), "catalog.json", c);
            args.extend(["--catalog".into(), path.display().to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(self.name(), &args, Some(input.as_bytes()))
    }

    /// The data files of stream `users`, as paths readable here (sorted).
    fn files(&self) -> Vec<PathBuf> {
        match self {
            Dest::File { .. } => {
                let mut out: Vec<PathBuf> = std::fs::read_dir(self.out().join("users"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                    .collect();
                out.sort();
                out
            }
            Dest::S3 { server, .. } => server
                .keys(BUCKET)
                .into_iter()
                .filter(|k| k.starts_with("out/users/"))
                .map(|k| server.path(BUCKET, &k))
                .collect(),
        }
    }

    /// Hidden files left beside the data (sidecars of removed files must go).
    fn hidden(&self) -> Vec<String> {
        match self {
            Dest::File { .. } => std::fs::read_dir(self.out().join("users"))
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect(),
            Dest::S3 { .. } => vec![],
        }
    }

    /// The generation recorded for a data file: its sidecar, or its
    /// object's user metadata read with a HEAD over the S3 protocol.
    fn recorded_generation(&self, file: &Path) -> Option<i64> {
        match self {
            Dest::File { .. } => {
                let name = file.file_name().unwrap().to_string_lossy().into_owned();
                let sidecar = file.with_file_name(format!(".{name}.generation.json"));
                let text = std::fs::read_to_string(sidecar).ok()?;
                let v: Value = serde_json::from_str(&text).expect("sidecar is JSON");
                v["generation_id"].as_i64()
            }
            Dest::S3 { server, .. } => {
                let key = file
                    .strip_prefix(server.dir().join(BUCKET))
                    .expect("object path")
                    .to_string_lossy()
                    .into_owned();
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                let meta = rt.block_on(async {
                    let store = S3Builder::new(BUCKET)
                        .with_endpoint_url(&server.endpoint)
                        .with_use_ssl(false)
                        .with_credentials(&server.access_key, server.secret_key.as_str())
                        .with_retry(RetryConfig::none())
                        .build()
                        .await
                        .expect("S3 client");
                    store.head_metadata(&key).await.expect("HEAD")
                });
                meta.get("ab-generation-id").map(|g| g.parse().expect("a number"))
            }
        }
    }

    /// Every row of every JSONL data file, sorted by id.
    fn rows(&self) -> Vec<Value> {
        let mut rows: Vec<Value> = self
            .files()
            .iter()
            .flat_map(|f| {
                std::fs::read_to_string(f)
                    .expect("read")
                    .lines()
                    .map(|l| serde_json::from_str::<Value>(l).expect("JSON line"))
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort_by_key(|r| r["id"].as_i64());
        rows
    }

    fn ids(&self) -> Vec<i64> {
        self.rows().iter().map(|r| r["id"].as_i64().expect("id")).collect()
    }
}

fn record(id: i64) -> String {
    json!({"type": "RECORD", "record": {"stream": "users", "data": {"id": id, "name": format!("u{id}")},
        "emitted_at": 1_700_000_000_000i64}})
    .to_string()
}

fn status(s: &str) -> String {
    json!({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1.0,
        "stream_status": {"stream_descriptor": {"name": "users"}, "status": s}}})
    .to_string()
}

fn input(ids: std::ops::Range<i64>) -> String {
    let mut lines: Vec<String> = ids.map(record).collect();
    lines.push(
        json!({"type": "STATE", "state": {"type": "STREAM", "stream": {
            "stream_descriptor": {"name": "users"}, "stream_state": {"n": 1}}}})
        .to_string(),
    );
    lines.join("\n") + "\n"
}

/// A catalog for `users`; `generation`: (generation_id, minimum_generation_id, sync_id).
fn catalog(mode: &str, generation: Option<(i64, i64, i64)>) -> Value {
    let mut c = json!({
        "stream": {"name": "users", "json_schema": {"type": "object", "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}}},
            "supported_sync_modes": ["full_refresh"]},
        "sync_mode": "full_refresh",
        "destination_sync_mode": mode,
    });
    if let Some((g, m, s)) = generation {
        c["generation_id"] = json!(g);
        c["minimum_generation_id"] = json!(m);
        c["sync_id"] = json!(s);
    }
    json!({ "streams": [c] })
}

fn each_destination(test: impl Fn(&Dest)) {
    for dest in [Dest::file(), Dest::s3()] {
        test(&dest);
    }
}

#[test]
fn min_equal_to_generation_keeps_only_the_new_generation() {
    each_destination(|d| {
        // An older catalog without generations, then generation 1 (append).
        d.write("jsonl", Some(&catalog("append", None)), &input(0..3))
            .assert_success();
        d.write("jsonl", Some(&catalog("append", Some((1, 0, 11)))), &input(3..5))
            .assert_success();
        assert_eq!(d.ids(), [0, 1, 2, 3, 4], "{}", d.name());
        // Generation 2 with minimum 2: after it succeeds only its rows remain.
        let r = d.write("jsonl", Some(&catalog("overwrite", Some((2, 2, 12)))), &input(5..7));
        r.assert_success();
        assert_eq!(d.ids(), [5, 6], "{}: {:?}", d.name(), d.files());
        let files = d.files();
        assert_eq!(files.len(), 1, "{files:?}");
        assert_eq!(d.recorded_generation(&files[0]), Some(2), "{}", d.name());
        for row in d.rows() {
            assert_eq!(row["_airbyte_generation_id"], 2, "{row}");
            assert_eq!(row["_airbyte_raw_id"].as_str().map(str::len), Some(36), "{row}");
            assert!(row["_airbyte_extracted_at"].is_string(), "{row}");
        }
        // The sidecars of removed files went with them.
        if let Dest::File { .. } = d {
            assert_eq!(d.hidden().len(), 1, "{:?}", d.hidden());
        }
        assert!(
            r.logs().iter().any(|l| l.contains("removed 2 older")),
            "{}: {:?}",
            d.name(),
            r.logs()
        );
    });
}

#[test]
fn min_below_generation_keeps_the_generations_at_or_above_it() {
    each_destination(|d| {
        d.write("jsonl", Some(&catalog("append", Some((1, 0, 1)))), &input(0..2))
            .assert_success();
        d.write("jsonl", Some(&catalog("append", Some((2, 0, 2)))), &input(2..4))
            .assert_success();
        // Minimum 2 < generation 3: generation 1 goes, 2 and 3 stay.
        d.write("jsonl", Some(&catalog("append", Some((3, 2, 3)))), &input(4..6))
            .assert_success();
        assert_eq!(d.ids(), [2, 3, 4, 5], "{}", d.name());
        let mut generations: Vec<Option<i64>> = d.files().iter().map(|f| d.recorded_generation(f)).collect();
        generations.sort();
        assert_eq!(generations, [Some(2), Some(3)], "{}", d.name());
        let by_id: Vec<(i64, i64)> = d
            .rows()
            .iter()
            .map(|r| (r["id"].as_i64().unwrap(), r["_airbyte_generation_id"].as_i64().unwrap()))
            .collect();
        assert_eq!(by_id, [(2, 2), (3, 2), (4, 3), (5, 3)]);
    });
}

#[test]
fn a_catalog_without_generations_appends_as_before() {
    each_destination(|d| {
        d.write("jsonl", Some(&catalog("append", None)), &input(0..2))
            .assert_success();
        d.write("jsonl", Some(&catalog("append", None)), &input(2..4))
            .assert_success();
        d.write("jsonl", None, &input(4..5)).assert_success();
        assert_eq!(d.ids(), [0, 1, 2, 3, 4], "{}", d.name());
        for f in d.files() {
            assert_eq!(d.recorded_generation(&f), None, "{}: {f:?}", d.name());
        }
        for row in d.rows() {
            assert!(row.get("_airbyte_generation_id").is_none(), "{row}");
        }
        assert!(d.hidden().is_empty(), "{:?}", d.hidden());
    });
}

#[test]
fn a_failed_sync_removes_nothing() {
    each_destination(|d| {
        d.write("jsonl", Some(&catalog("append", Some((1, 0, 1)))), &input(0..3))
            .assert_success();
        let refresh = catalog("overwrite", Some((2, 2, 2)));

        // The input ends in the middle of a message: an error, nothing removed.
        let mut truncated = input(3..5);
        truncated.push_str(r#"{"type":"RECORD","record":{"stream":"users","data":{"id":"#);
        let r = d.write("jsonl", Some(&refresh), &truncated);
        assert!(!r.status.success(), "{}: {}", d.name(), r.stdout);
        assert!(!r.errors().is_empty());
        assert!(d.ids().starts_with(&[0, 1, 2]), "{}: {:?}", d.name(), d.ids());

        // A record that does not fit the catalog: an error, nothing removed.
        let bad = format!(
            "{}\n{}\n",
            record(5),
            json!({"type": "RECORD", "record": {"stream": "users", "data": {"id": {"not": "an integer"}},
                "emitted_at": 1}})
        );
        let r = d.write("jsonl", Some(&refresh), &bad);
        assert!(!r.status.success(), "{}: {}", d.name(), r.stdout);
        assert!(d.ids().starts_with(&[0, 1, 2]), "{}: {:?}", d.name(), d.ids());

        // The source said the stream did not complete, or never said it
        // did, or failed: the rows are written, nothing older removed.
        for (i, tail) in [
            vec![status("STARTED"), status("INCOMPLETE")],
            vec![status("STARTED"), status("RUNNING")],
            vec![
                status("STARTED"),
                json!({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1.0,
                    "error": {"message": "source failed", "failure_type": "system_error"}}})
                .to_string(),
                status("COMPLETE"),
            ],
        ]
        .into_iter()
        .enumerate()
        {
            let id = 10 + i as i64;
            let text = format!("{}\n{}\n", record(id), tail.join("\n"));
            let r = d.write("jsonl", Some(&refresh), &text);
            r.assert_success();
            assert!(
                r.logs()
                    .iter()
                    .any(|l| l.starts_with("WARN") && l.contains("older data was kept")),
                "{}: {:?}",
                d.name(),
                r.logs()
            );
            let ids = d.ids();
            assert!(
                ids.starts_with(&[0, 1, 2]) && ids.contains(&id),
                "{}: {ids:?}",
                d.name()
            );
        }

        // A complete truncate sync then leaves only its own rows.
        let text = format!("{}\n{}\n{}\n", status("STARTED"), record(20), status("COMPLETE"));
        d.write("jsonl", Some(&refresh), &text).assert_success();
        assert_eq!(d.ids(), [20], "{}", d.name());
        assert!(d.rows().iter().all(|r| r["_airbyte_generation_id"] == 2));
    });
}

#[test]
fn parquet_rows_carry_the_generation_as_int64() {
    each_destination(|d| {
        d.write("parquet", Some(&catalog("append", Some((7, 0, 70)))), &input(0..3))
            .assert_success();
        let files = d.files();
        assert_eq!(files.len(), 1);
        assert_eq!(d.recorded_generation(&files[0]), Some(7));
        let out = python_eval(
            r#"
import sys, json, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"names": t.schema.names, "type": str(t.schema.field("_airbyte_generation_id").type),
                  "values": t.column("_airbyte_generation_id").to_pylist()}))
"#,
            &[files[0].to_str().unwrap()],
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(
            v["names"],
            json!([
                "_airbyte_raw_id",
                "_airbyte_extracted_at",
                "_airbyte_generation_id",
                "id",
                "name"
            ]),
            "{}",
            d.name()
        );
        assert_eq!(v["type"], "int64");
        assert_eq!(v["values"], json!([7, 7, 7]));
    });
}

#[test]
fn overwrite_without_generations_still_replaces_everything_older() {
    each_destination(|d| {
        // An overwrite catalog of an older platform (no generation fields).
        d.write("jsonl", Some(&catalog("append", Some((5, 0, 1)))), &input(0..2))
            .assert_success();
        d.write("jsonl", Some(&catalog("overwrite", None)), &input(2..3))
            .assert_success();
        assert_eq!(d.ids(), [2], "{}", d.name());
    });
    // destination-file's own `overwrite: true`, whatever the catalog says.
    let d = Dest::file();
    d.write("jsonl", Some(&catalog("append", Some((5, 0, 1)))), &input(0..2))
        .assert_success();
    let mut cfg = d.config("jsonl");
    cfg["overwrite"] = json!(true);
    let path = write_json(d.work(), "config.json", &cfg);
    let cat = write_json(d.work(), "catalog.json", &catalog("append", None));
    run(
        d.name(),
        &[
            "write",
            "--config",
            path.to_str().unwrap(),
            "--catalog",
            cat.to_str().unwrap(),
        ],
        Some(input(2..3).as_bytes()),
    )
    .assert_success();
    assert_eq!(d.ids(), [2]);
    assert!(d.hidden().is_empty(), "{:?}", d.hidden());
}

#[test]
fn the_airbyte_raw_layout_replaces_its_file_on_a_truncate_refresh() {
    // One file per stream, without generations: a truncate refresh
    // replaces it; a refresh that keeps older generations appends.
    let d = Dest::file();
    let cfg = json!({"base_path": d.out(), "format": "jsonl", "airbyte_raw": true});
    let cfg = write_json(d.work(), "raw.json", &cfg);
    let raw_ids = || -> Vec<i64> {
        std::fs::read_to_string(d.out().join("_airbyte_raw_users.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["_airbyte_data"]["id"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    };
    for (generation, ids, expected) in [
        ((1, 0, 1), 0..2, vec![0, 1]),
        ((2, 1, 2), 2..3, vec![0, 1, 2]),
        ((3, 3, 3), 3..5, vec![3, 4]),
    ] {
        let cat = write_json(d.work(), "catalog.json", &catalog("append", Some(generation)));
        run(
            "destination-file",
            &[
                "write",
                "--config",
                cfg.to_str().unwrap(),
                "--catalog",
                cat.to_str().unwrap(),
            ],
            Some(input(ids).as_bytes()),
        )
        .assert_success();
        assert_eq!(raw_ids(), expected, "after generation {generation:?}");
    }
}
