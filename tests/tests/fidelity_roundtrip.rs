//! Round trip: files written by pyarrow and fastavro (`tests/python/fidelity_files.py`) are
//! read by source-file, written by destination-file as Parquet, Avro, JSONL and CSV, and the
//! written files read back by pyarrow, fastavro, Python's json and csv hold, column by
//! column, the values of the files read — maps, nested lists and structs, null columns, naive
//! and zoned timestamps, years up to 9999 and dates outside it, decimals of up to 76 digits
//! (the catalog's `decimal_precision`/`decimal_scale` make them decimal columns, never
//! doubles) and nanosecond timestamps (`timestamp_precision: nanoseconds`).
//!
//! Not round-tripped here, and why: Avro output of years past 9999 (fastavro converts them
//! to Python datetimes, which stop at 9999; pyarrow reads them in the Parquet output).

use std::path::{Path, PathBuf};

use lakeport_tests::fidelity::{python_script, Verdict};
use lakeport_tests::{configured_catalog, python, run, workspace_root, write_json};
use serde_json::{json, Value};

const SOURCES: &[&str] = &[
    "pq_maps",
    "pq_nested",
    "pq_nulls",
    "pq_rt_timestamps",
    "av_types",
    "pq_rt_exact",
    "av_decimals",
];
const OUTPUTS: &[&str] = &["parquet", "avro", "jsonl", "csv"];

fn written_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one file expected in {}: {files:?}", dir.display());
    files.remove(0)
}

#[test]
fn values_read_from_parquet_and_avro_survive_a_destination_write() {
    let dir = tempfile::tempdir().unwrap();
    let made: Vec<Value> =
        serde_json::from_str(&python_script("fidelity_files.py", &[dir.path().to_str().unwrap()])).unwrap();
    let mut jobs = vec![];
    for source in SOURCES {
        let m = made.iter().find(|m| m["name"] == *source).expect("generated");
        let (file, format) = (m["file"].as_str().unwrap(), m["format"].as_str().unwrap());
        let src = write_json(
            dir.path(),
            &format!("src_{source}.json"),
            &json!({"file_path": file, "format": format, "stream_name": source}),
        );
        let discovered = run("source-file", &["discover", "--config", src.to_str().unwrap()], None);
        discovered.assert_success();
        let catalog = write_json(
            dir.path(),
            &format!("catalog_{source}.json"),
            &configured_catalog(discovered.catalog(), "full_refresh"),
        );
        let read = run(
            "source-file",
            &[
                "read",
                "--config",
                src.to_str().unwrap(),
                "--catalog",
                catalog.to_str().unwrap(),
            ],
            None,
        );
        read.assert_success();
        for output in OUTPUTS {
            let base = dir.path().join(format!("out_{output}"));
            let dst = write_json(
                dir.path(),
                &format!("dst_{output}.json"),
                &json!({"base_path": base, "format": output}),
            );
            let written = run(
                "destination-file",
                &[
                    "write",
                    "--config",
                    dst.to_str().unwrap(),
                    "--catalog",
                    catalog.to_str().unwrap(),
                ],
                Some(read.stdout.as_bytes()),
            );
            written.assert_success();
            jobs.push(json!({
                "file": file, "format": format,
                "output": written_file(&base.join(source)), "output_format": output,
            }));
        }
    }
    let jobs_path = write_json(dir.path(), "roundtrip.json", &Value::Array(jobs));
    let out = std::process::Command::new(python())
        .arg(workspace_root().join("tests/python/fidelity_reference.py"))
        .arg(&jobs_path)
        .output()
        .expect("run the reference reader");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let verdicts: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let bad: Vec<Verdict> = verdicts
        .iter()
        .filter(|v| v["status"] != "exact")
        .map(|v| Verdict {
            file: v["file"].as_str().unwrap_or("").to_string(),
            status: v["status"].as_str().unwrap_or("").to_string(),
            rows: v["rows"].as_u64(),
            detail: v["detail"].clone(),
        })
        .collect();
    assert_eq!(verdicts.len(), SOURCES.len() * OUTPUTS.len());
    assert!(bad.is_empty(), "written values differ from the values read:\n{bad:#?}");
}
