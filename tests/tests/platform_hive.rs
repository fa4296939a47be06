//! The Airbyte source-s3 flavour on a hive-partitioned Parquet dataset
//! (`…/year=2023/month=01/day=01/part-0.parquet`) on the rig's s3s-fs
//! server: the `name=value` folders are string fields of every record and
//! of the discovered schema, as Airbyte's source-s3 gives them. The
//! reference is the Airbyte Python CDK's own file-based Parquet parser (the
//! code Airbyte's source-s3 runs), run on the same objects by
//! tests/python/cdk_parquet_records.py. The native flavour keeps
//! `partition_columns` (typed values, only when asked for).

mod platform_support;

use std::collections::BTreeMap;
use std::process::Command;

use lakeport_tests::{python_eval, run, workspace_root, S3Env};
use serde_json::{json, Map, Value};

const KEYS: [&str; 3] = [
    "data/year=2023/month=01/day=01/part-0.parquet",
    "data/year=2023/month=01/day=02/part-0.parquet",
    "data/year=2024/month=12/day=31/part-0.parquet",
];

/// Writes the three Parquet objects (pyarrow); the second file has its own
/// integer `day` column, which the folder's value replaces in Airbyte.
fn dataset(env: &S3Env) -> Vec<(String, std::path::PathBuf)> {
    let mut files = vec![];
    for (i, key) in KEYS.iter().enumerate() {
        let path = env.dir().join(format!("part{i}.parquet"));
        python_eval(
            r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
i = int(sys.argv[2])
cols = {"id": pa.array([i * 10 + 1, i * 10 + 2], pa.int64()),
        "name": pa.array([f"n{i}a", None], pa.string()),
        "amount": pa.array([1.5 * i + 0.25, 2.25], pa.float64())}
if i == 1:
    cols["day"] = pa.array([99, 98], pa.int64())
pq.write_table(pa.table(cols), sys.argv[1])
"#,
            &[path.to_str().unwrap(), &i.to_string()],
        );
        env.server
            .put_object(&env.bucket, key, &std::fs::read(&path).expect("parquet written"));
        files.push((key.to_string(), path));
    }
    files
}

/// Airbyte's records and schema for the objects, from the CDK's parser.
fn airbyte_reference(env: &S3Env, files: &[(String, std::path::PathBuf)]) -> Value {
    let job = json!({"files": files.iter().map(|(k, p)| json!({"uri": k, "path": p})).collect::<Vec<_>>()});
    let job_path = env.path("cdk_job.json", &job);
    let out = Command::new(platform_support::cdk_python())
        .arg(workspace_root().join("tests/python/cdk_parquet_records.py"))
        .arg(job_path)
        .output()
        .expect("run the CDK parser");
    assert!(
        out.status.success(),
        "CDK parser failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("CDK output is JSON")
}

/// Records by id, without the file fields Airbyte's stream adds apart
/// from the parser (both have them; compared separately).
fn by_id(records: impl IntoIterator<Item = Value>) -> BTreeMap<i64, Map<String, Value>> {
    records
        .into_iter()
        .map(|r| {
            let mut m = r.as_object().cloned().expect("object");
            m.remove("_ab_source_file_url");
            m.remove("_ab_source_file_last_modified");
            (m["id"].as_i64().expect("id"), m)
        })
        .collect()
}

#[test]
fn airbyte_flavour_hive_parquet_records_equal_airbytes() {
    let env = S3Env::new("lake");
    let files = dataset(&env);
    let reference = airbyte_reference(&env, &files);

    let config = env.airbyte_v4(json!([{
        "name": "events", "globs": ["data/**/*.parquet"], "format": {"filetype": "parquet"}
    }]));
    let config = env.path("airbyte.json", &config);
    let d = run("source-s3", &["discover", "--config", &config], None);
    d.assert_success();
    let props = &d.catalog()["streams"][0]["json_schema"]["properties"];
    for field in ["year", "month", "day"] {
        let ty = props[field]["type"].to_string();
        assert!(
            ty.contains("string") && !ty.contains("integer"),
            "{field}: {}",
            props[field]
        );
        assert_eq!(reference["schema"][field], json!({"type": "string"}));
    }

    let catalog = env.catalog("source-s3", &config, "full_refresh");
    let r = env.read("source-s3", &config, &catalog, None);
    r.assert_success();
    let ours = by_id(r.data().into_iter().cloned());
    let airbyte = by_id(reference["records"].as_array().unwrap().iter().cloned());
    assert_eq!(ours.len(), 6);
    // Airbyte leaves out no field and adds none: compare value by value,
    // nulls included (our records omit a null field; Airbyte's carry it).
    for (id, theirs) in &airbyte {
        let mine = &ours[id];
        for (k, v) in theirs {
            assert_eq!(
                mine.get(k).unwrap_or(&Value::Null),
                v,
                "id {id}, field {k}: ours {mine:?}"
            );
        }
        for k in mine.keys() {
            assert!(
                theirs.contains_key(k),
                "id {id}: field {k} is not in Airbyte's record {theirs:?}"
            );
        }
    }
    assert_eq!(ours[&11]["day"], "02", "the folder's value replaces the file's column");
    assert_eq!(ours[&21]["year"], "2024");
    // Every record still names its object.
    for rec in r.data() {
        assert!(rec["_ab_source_file_url"].as_str().unwrap().starts_with("data/year="));
    }
}

#[test]
fn native_flavour_keeps_typed_partition_columns_only_when_asked() {
    let env = S3Env::new("lake");
    dataset(&env);
    // Without partition_columns: no partition field.
    let plain = env.config("plain.json", json!({"path_prefix": "data/", "file_format": "parquet"}));
    let catalog = env.catalog("source-s3", &plain, "full_refresh");
    let r = env.read("source-s3", &plain, &catalog, None);
    r.assert_success();
    assert_eq!(r.data().len(), 6);
    assert!(r
        .data()
        .iter()
        .all(|d| d.get("year").is_none() && d.get("month").is_none()));

    // partition_columns: typed values (integers here), not Airbyte's strings.
    let typed = env.config(
        "typed.json",
        json!({"path_prefix": "data/", "file_format": "parquet", "partition_columns": true}),
    );
    let catalog = env.catalog("source-s3", &typed, "full_refresh");
    let r = env.read("source-s3", &typed, &catalog, None);
    r.assert_success();
    assert!(r.data().iter().all(|d| d["year"].is_i64()), "{:?}", r.data());
}
