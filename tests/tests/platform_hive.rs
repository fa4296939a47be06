//! The Airbyte source-s3 flavour on a hive-partitioned Parquet dataset
//! (`…/year=2023/month=01/day=01/part-0.parquet`) on the rig's s3s-fs
//! server: the `name=value` folders are string fields of every record and
//! of the discovered schema. The reference is Airbyte's own source-s3 4.16.1
//! (installed in the CDK venv by scripts/test-deps.sh) run with the same
//! Airbyte config against the same server: records must be equal, field by
//! field. The native flavour keeps `partition_columns` (typed values, only
//! when asked for).

mod platform_support;

use std::collections::BTreeMap;
use std::process::Command;

use lakeport_tests::{configured_catalog, python_eval, run, S3Env};
use serde_json::{json, Map, Value};

const KEYS: [&str; 3] = [
    "data/year=2023/month=01/day=01/part-0.parquet",
    "data/year=2023/month=01/day=02/part-0.parquet",
    "data/year=2024/month=12/day=31/part-0.parquet",
];

/// Writes the three Parquet objects (pyarrow); the second file has its own
/// integer `day` column, which the folder's value replaces in Airbyte.
fn dataset(env: &S3Env) {
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
    }
}

/// Runs Airbyte's source-s3 4.16.1 (`<cdk venv>/bin/source-s3`) with
/// `args`; returns its protocol messages.
fn airbyte_source_s3(env: &S3Env, args: &[&str]) -> Vec<Value> {
    let exe = platform_support::cdk_python().with_file_name("source-s3");
    let out = Command::new(&exe)
        .args(args)
        .current_dir(env.dir())
        .env("HOME", env.dir())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Airbyte source-s3 failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect()
}

/// Records by id (the file fields `_ab_source_file_url` and
/// `_ab_source_file_last_modified` included).
fn by_id(records: impl IntoIterator<Item = Value>) -> BTreeMap<i64, Map<String, Value>> {
    records
        .into_iter()
        .map(|r| {
            let m = r.as_object().cloned().expect("object");
            (m["id"].as_i64().expect("id"), m)
        })
        .collect()
}

#[test]
fn airbyte_flavour_hive_parquet_records_equal_airbytes() {
    let env = S3Env::new("lake");
    dataset(&env);
    let config = env.airbyte_v4(json!([{
        "name": "events", "globs": ["data/**/*.parquet"], "format": {"filetype": "parquet"}
    }]));
    let config = env.path("airbyte.json", &config);

    // Airbyte's source-s3: discover, then read every stream in full.
    let discovered = airbyte_source_s3(&env, &["discover", "--config", &config]);
    let catalog = discovered
        .iter()
        .find(|m| m["type"] == "CATALOG")
        .map(|m| m["catalog"].clone())
        .expect("Airbyte's CATALOG");
    let theirs_props = catalog["streams"][0]["json_schema"]["properties"].clone();
    let airbyte_catalog = env.path("airbyte_catalog.json", &configured_catalog(&catalog, "full_refresh"));
    let airbyte_records: Vec<Value> =
        airbyte_source_s3(&env, &["read", "--config", &config, "--catalog", &airbyte_catalog])
            .into_iter()
            .filter(|m| m["type"] == "RECORD")
            .map(|m| m["record"]["data"].clone())
            .collect();

    // Ours, with the same config.
    let d = run("source-s3", &["discover", "--config", &config], None);
    d.assert_success();
    let props = &d.catalog()["streams"][0]["json_schema"]["properties"];
    for field in ["year", "month", "day"] {
        assert_eq!(
            props[field], theirs_props[field],
            "{field}: ours {props}, Airbyte's {theirs_props}"
        );
        assert!(props[field]["type"].to_string().contains("string"), "{}", props[field]);
    }
    let ours_catalog = env.catalog("source-s3", &config, "full_refresh");
    let r = env.read("source-s3", &config, &ours_catalog, None);
    r.assert_success();

    let ours = by_id(r.data().into_iter().cloned());
    let airbyte = by_id(airbyte_records);
    assert_eq!(ours.len(), 6);
    assert_eq!(ours.keys().collect::<Vec<_>>(), airbyte.keys().collect::<Vec<_>>());
    // Field by field, nulls included (a null field may be left out).
    for (id, theirs) in &airbyte {
        let mine = &ours[id];
        for k in theirs.keys().chain(mine.keys()) {
            assert_eq!(
                mine.get(k).unwrap_or(&Value::Null),
                theirs.get(k).unwrap_or(&Value::Null),
                "id {id}, field {k}: ours {mine:?}, Airbyte's {theirs:?}"
            );
        }
    }
    assert_eq!(ours[&11]["day"], "02", "the folder's value replaces the file's column");
    assert_eq!(ours[&21]["year"], "2024");
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
