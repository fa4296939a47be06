//! Helpers of the fidelity tests: run source-file over files and compare what it emits,
//! value by value, with an independent reader (`tests/python/fidelity_reference.py`:
//! pyarrow, fastavro, Python's csv).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::{python, run_with, validate_messages, workspace_root, write_json, Run, RunOpts};

/// One source-file run over one file.
#[derive(Debug)]
pub struct FileRun {
    /// The file read.
    pub file: PathBuf,
    /// Its format (`parquet`, `avro`, `csv`).
    pub format: String,
    /// The run.
    pub run: Run,
    /// Where its stdout was saved (for the reference comparison).
    pub records: PathBuf,
}

impl FileRun {
    /// The exit code (`None`: killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.run.status.code()
    }

    /// The TRACE ERROR messages' texts.
    pub fn errors(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
            .map(|m| m["trace"]["error"]["message"].as_str().unwrap_or("").to_string())
            .collect()
    }

    /// Every message printed, parsed.
    pub fn messages(&self) -> Vec<Value> {
        self.run
            .stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
            .collect()
    }

    /// The RECORD payloads.
    pub fn records(&self) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["type"] == "RECORD")
            .map(|m| m["record"].clone())
            .collect()
    }

    /// The WARN log lines.
    pub fn warnings(&self) -> Vec<String> {
        self.messages()
            .iter()
            .filter(|m| m["type"] == "LOG" && m["log"]["level"] == "WARN")
            .map(|m| m["log"]["message"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// Runs `source-file read` over each file (format given explicitly, extra config keys from
/// `extra`) and saves each stdout under `dir`. Every line printed is validated against the
/// Airbyte protocol models, in one pass for all runs.
pub fn read_files(dir: &Path, files: &[(PathBuf, &str)], extra: &Value) -> Vec<FileRun> {
    let mut out = Vec::with_capacity(files.len());
    let mut all_stdout = String::new();
    for (n, (file, format)) in files.iter().enumerate() {
        let mut config = json!({"file_path": file, "format": format, "stream_name": "t", "json_flatten": false});
        if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                c.insert(k.clone(), v.clone());
            }
        }
        let cfg = write_json(dir, &format!("config_{n}.json"), &config);
        let run = run_with(
            "source-file",
            &["read", "--config", cfg.to_str().expect("utf-8 path")],
            RunOpts {
                raw_stdout: true,
                ..Default::default()
            },
        );
        let records = dir.join(format!("records_{n}.jsonl"));
        std::fs::write(&records, &run.stdout).expect("save stdout");
        all_stdout.push_str(&run.stdout);
        out.push(FileRun {
            file: file.clone(),
            format: format.to_string(),
            run,
            records,
        });
    }
    validate_messages(&all_stdout);
    out
}

/// The reference reader's verdict on one file.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The file.
    pub file: String,
    /// `exact`, `mismatch` or `reference-cannot-read`.
    pub status: String,
    /// Rows the reference reader read.
    pub rows: Option<u64>,
    /// What differs (or why the reference cannot read the file).
    pub detail: Value,
}

/// Compares each run's records with the reference reader, in one Python process.
pub fn compare(dir: &Path, runs: &[&FileRun]) -> Vec<Verdict> {
    let jobs: Vec<Value> = runs
        .iter()
        .map(|r| json!({"file": r.file, "format": r.format, "records": r.records}))
        .collect();
    let jobs_path = write_json(dir, "jobs.json", &Value::Array(jobs));
    let script = workspace_root().join("tests/python/fidelity_reference.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(&jobs_path)
        .output()
        .expect("run the reference reader");
    assert!(
        out.status.success(),
        "the reference reader failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).expect("reference output is JSON");
    verdicts
        .into_iter()
        .map(|v| Verdict {
            file: v["file"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("").to_string(),
            rows: v["rows"].as_u64(),
            detail: v["detail"].clone(),
        })
        .collect()
}

/// Runs a Python script from `tests/python` with `args`; returns stdout, panics on failure.
pub fn python_script(name: &str, args: &[&str]) -> String {
    let script = workspace_root().join("tests/python").join(name);
    let out = Command::new(python())
        .arg(&script)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}
