//! PyAirbyte (PyPI `airbyte` 0.71.3) writing a Lakeport source into
//! destination-file and destination-s3 (the rig's s3s-fs server):
//! `get_destination(name, config, local_executable=…)`, then
//! `destination.write(source)` through its DuckDB cache and with the cache
//! off. Every record lands once with the right types (read back with
//! pyarrow), PyAirbyte's catalog carries generation 1 / minimum 1, and a
//! second write of the same generation leaves only the new data. Each run
//! first checks the destination ten times: PyAirbyte stops reading at
//! CONNECTION_STATUS and terminates a process still running, and accepts
//! only exit 0 or death by SIGTERM.

mod platform_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use lakeport_tests::{bin, python_eval, workspace_root, S3Server};
use serde_json::{json, Value};

/// Runs tests/python/pyairbyte_write.py; returns its result line.
fn pyairbyte_write(source_config: &Value, destination: &str, config: &Value, cache: bool) -> Value {
    let work = tempfile::tempdir().unwrap();
    let job = json!({
        "source": {"name": "source-file", "executable": bin("source-file"), "config": source_config},
        "destination": {"name": destination, "executable": bin(destination), "config": config},
        "cache": cache,
        "checks": 10,
    });
    let job_path = work.path().join("job.json");
    std::fs::write(&job_path, job.to_string()).unwrap();
    let mut cmd = Command::new(platform_support::pyairbyte_python());
    cmd.arg(workspace_root().join("tests/python/pyairbyte_write.py"))
        .arg(&job_path)
        .current_dir(work.path());
    platform_support::pyairbyte_env(&mut cmd, work.path());
    let out = cmd.output().expect("run PyAirbyte");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "PyAirbyte failed writing to {destination}:\n{stdout}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("LAKEPORT_RESULT "))
        .unwrap_or_else(|| panic!("no result from PyAirbyte:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

/// Every row of the Parquet files, with the column types, read by pyarrow.
fn read_parquet(files: &[PathBuf]) -> Value {
    let args: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let out = python_eval(
        r#"
import sys, json, pyarrow.parquet as pq
rows, types = [], {}
for path in sys.argv[1:]:
    t = pq.read_table(path)
    types.update({f.name: str(f.type) for f in t.schema})
    rows.extend(t.to_pylist())
print(json.dumps({"rows": rows, "types": types}, default=str))
"#,
        &args,
    );
    serde_json::from_str(&out).unwrap()
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "parquet") && !e.file_name().to_string_lossy().starts_with('.')
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn check_write(rows: &Value, ids: &[i64]) {
    let types = &rows["types"];
    assert_eq!(types["id"], "int64", "{types}");
    assert_eq!(types["amount"], "double", "{types}");
    assert_eq!(types["name"], "string", "{types}");
    assert_eq!(types["_airbyte_generation_id"], "int64", "{types}");
    assert!(
        types["_airbyte_extracted_at"]
            .as_str()
            .unwrap()
            .starts_with("timestamp[us"),
        "{types}"
    );
    let mut got: Vec<i64> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    got.sort();
    assert_eq!(got, ids, "every record once: {rows}");
    for r in rows["rows"].as_array().unwrap() {
        assert_eq!(r["_airbyte_generation_id"], 1, "{r}");
        let id = r["id"].as_i64().unwrap();
        assert_eq!(r["amount"].as_f64().unwrap(), id as f64 + 0.25, "{r}");
        assert_eq!(r["name"], format!("n{id}"), "{r}");
        assert_eq!(r["_airbyte_raw_id"].as_str().map(str::len), Some(36), "{r}");
        // The extraction time of the source's read (PyAirbyte's replayed
        // records carry it; their emitted_at is in seconds).
        assert!(r["_airbyte_extracted_at"].as_str().unwrap() > "2024", "{r}");
    }
}

fn write_csv(dir: &Path, ids: &[i64]) {
    let mut text = String::from("id,amount,name\n");
    for id in ids {
        text.push_str(&format!("{id},{}.25,n{id}\n", id));
    }
    std::fs::write(dir.join("things.csv"), text).unwrap();
}

#[test]
fn pyairbyte_writes_into_destination_file_and_a_second_write_replaces_the_first() {
    for cache in [true, false] {
        let data = tempfile::tempdir().unwrap();
        let src_dir = data.path().join("src");
        std::fs::create_dir_all(&src_dir).unwrap();
        let source = json!({"file_path": src_dir.join("things.csv"), "stream_name": "things"});
        let out = data.path().join("out");
        let config = json!({"base_path": out, "format": "parquet"});

        write_csv(&src_dir, &[1, 2, 3]);
        let r = pyairbyte_write(&source, "destination-file", &config, cache);
        assert_eq!(r["generations"][0]["generation_id"], 1, "{r}");
        assert_eq!(r["generations"][0]["minimum_generation_id"], 1, "{r}");
        check_write(&read_parquet(&parquet_files(&out)), &[1, 2, 3]);

        write_csv(&src_dir, &[4, 5]);
        pyairbyte_write(&source, "destination-file", &config, cache);
        check_write(&read_parquet(&parquet_files(&out)), &[4, 5]);
    }
}

#[test]
fn pyairbyte_writes_into_destination_s3_and_a_second_write_replaces_the_first() {
    for cache in [true, false] {
        let s3 = S3Server::start();
        s3.create_bucket("out");
        let data = tempfile::tempdir().unwrap();
        let src_dir = data.path().join("src");
        std::fs::create_dir_all(&src_dir).unwrap();
        let source = json!({"file_path": src_dir.join("things.csv"), "stream_name": "things"});
        let mut config = s3.connection("out");
        config["path_prefix"] = json!("lake");
        config["file_format"] = json!("parquet");

        write_csv(&src_dir, &[1, 2, 3]);
        pyairbyte_write(&source, "destination-s3", &config, cache);
        let objects = parquet_files(&s3.path("out", "lake"));
        assert_eq!(objects.len(), 1, "{objects:?}");
        check_write(&read_parquet(&objects), &[1, 2, 3]);

        write_csv(&src_dir, &[4, 5]);
        pyairbyte_write(&source, "destination-s3", &config, cache);
        check_write(&read_parquet(&parquet_files(&s3.path("out", "lake"))), &[4, 5]);
    }
}
