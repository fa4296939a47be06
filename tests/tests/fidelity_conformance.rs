//! The format conformance files (`../shared/conformance`: the Parquet and Avro projects' own
//! test files, written by tools nobody on this project wrote): every file not `known_bad` is
//! read by source-file exactly as pyarrow (Parquet) or fastavro (Avro) reads it, value by
//! value; every `known_bad` file is refused with a clear error (a TRACE ERROR and a non-zero
//! exit), never a panic and never success with fewer rows.

use std::collections::BTreeMap;
use std::path::PathBuf;

use lakeport_tests::fidelity::{compare, read_files, FileRun};
use lakeport_tests::workspace_root;
use serde_json::{json, Value};

/// Files the reference reader itself cannot read, and why. source-file must not panic on
/// them; reading them or refusing them with a clear error are both accepted.
const REFERENCE_CANNOT_READ: &[(&str, &str)] = &[
    (
        "parquet-testing/data/incorrect_map_schema.parquet",
        "pyarrow: 'Map keys must be annotated as required' (the map key is optional)",
    ),
    (
        "parquet-testing/data/large_string_map.brotli.parquet",
        "pyarrow: 'Nested data conversions not implemented for chunked array outputs' (map keys of about 2^30 \
         bytes; pyarrow reads it only a row at a time)",
    ),
    (
        "avro/person-10.no-codec.avro",
        "fastavro: EOFError (the header has no avro.codec entry and the data ends early)",
    ),
    (
        "avro/syncInMeta.avro",
        "fastavro: UnicodeDecodeError (a metadata value that is not UTF-8)",
    ),
];

/// Files the manifest marks bad whose flaw is not in anything a reader decodes; source-file
/// reads them like pyarrow does (compared value by value), and says here why.
const KNOWN_BAD_BUT_READABLE: &[(&str, &str)] = &[
    (
        "parquet-testing/bad_data/ARROW-GH-43605.parquet",
        "made to crash an old Arrow C++ decoder; pyarrow and source-file both read its 21186 rows, equal",
    ),
    (
        "parquet-testing/shredded_variant/case-043-INVALID.parquet",
        "an invalid Variant shredding; source-file reads Variant columns as their physical struct of binary \
         values, as pyarrow does, without decoding Variant semantics",
    ),
    (
        "parquet-testing/shredded_variant/case-084-INVALID.parquet",
        "an invalid Variant shredding; read as its physical struct, as pyarrow does",
    ),
];

/// Files the reference reader reads that source-file still refuses — with a clear error,
/// never silently — and why. The test fails when one starts being read (then compare it and
/// take it off this list). None now: `dict-page-offset-zero` (a mistyped column metadata
/// field and a dictionary offset of 0) and `nation.dict-malformed` (chunk sizes without the
/// dictionary page header, parquet-mr before 1.2.9) are repaired before reading.
const REFUSED_GAPS: &[(&str, &str)] = &[];

/// Values the reference reader reads but source-file emits differently, and why.
const MISMATCH_GAPS: &[(&str, &str)] = &[];

/// Files the reference reader misreads, with the values their writers documented: source-file
/// must emit exactly these (every row of `column`), and the reference reader may differ only
/// in `rows_reference_misreads`.
struct DocumentedValues {
    file: &'static str,
    why: &'static str,
    column: &'static str,
    values: &'static [Option<&'static str>],
    rows_reference_misreads: &'static [usize],
}

const REFERENCE_MISREADS: &[DocumentedValues] = &[DocumentedValues {
    file: "parquet-testing/data/int96_from_spark.parquet",
    why: "Spark 3.4 wrote 290000-12-31T01:00:00+02:00 (the file's int96_from_spark.md lists the six values it was \
          made from); converting that to INT96 overflowed 64-bit microseconds in Spark, leaving a negative Julian \
          day and a negative nanos-of-day. Read signed in 64-bit microseconds (as Spark writes them; arrow-rs and \
          DataFusion expect 9089380393200000000 µs), the overflow undoes itself and the value comes back exactly; \
          pyarrow reads the day and the nanos unsigned and gets year 11,465,000",
    column: "a",
    values: &[
        Some("2024-01-01T20:34:56.123456"),
        Some("2024-01-01T01:00:00.000000"),
        Some("9999-12-31T03:00:00.000000"),
        Some("2024-12-30T23:00:00.000000"),
        None,
        Some("+290000-12-30T23:00:00.000000"),
    ],
    rows_reference_misreads: &[5],
}];

/// Whether `r` emitted exactly the documented values of `doc` (an error says what differs).
fn emits_documented_values(r: &FileRun, doc: &DocumentedValues) -> Result<(), String> {
    let got: Vec<Value> = r.records().iter().map(|rec| rec["data"][doc.column].clone()).collect();
    let want: Vec<Value> = doc.values.iter().map(|v| v.map_or(Value::Null, |s| json!(s))).collect();
    if got == want {
        Ok(())
    } else {
        Err(format!("column {} is {got:?}, documented {want:?}", doc.column))
    }
}

fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("LAKEPORT_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/conformance"));
    assert!(
        dir.join("manifest.json").exists(),
        "the conformance files are not at {} (set LAKEPORT_CONFORMANCE_DIR)",
        dir.display()
    );
    dir
}

fn refused_cleanly(r: &FileRun) -> Result<(), String> {
    let code = r.code();
    if code == Some(0) {
        return Err(format!("exit 0 with {} record(s)", r.records().len()));
    }
    if code == Some(101) || r.run.stderr.contains("panicked") {
        return Err(format!(
            "panic: {}",
            r.run.stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
        ));
    }
    if r.errors().is_empty() {
        return Err(format!("exit {code:?} without a TRACE ERROR"));
    }
    Ok(())
}

#[test]
fn conformance_files_are_read_like_the_reference_readers_or_refused_cleanly() {
    let root = conformance_dir();
    let manifest: Vec<Value> =
        serde_json::from_slice(&std::fs::read(root.join("manifest.json")).expect("manifest")).expect("manifest JSON");
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(PathBuf, &str)> = manifest
        .iter()
        .map(|e| (root.join(e["file"].as_str().unwrap()), e["format"].as_str().unwrap()))
        .collect();
    let runs = read_files(dir.path(), &files, &json!({}));

    let mut tally: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut failures = vec![];
    let mut to_compare = vec![];
    for (entry, r) in manifest.iter().zip(&runs) {
        let name = entry["file"].as_str().unwrap().to_string();
        let unreadable = REFERENCE_CANNOT_READ.iter().find(|(f, _)| *f == name);
        let readable_bad = KNOWN_BAD_BUT_READABLE.iter().any(|(f, _)| *f == name);
        if entry["known_bad"] == true && !readable_bad {
            match refused_cleanly(r) {
                Ok(()) => tally.entry("known bad, refused").or_default().push(name),
                Err(e) => failures.push(format!("{name} (known bad): {e}")),
            }
            continue;
        }
        if r.code() == Some(101) || r.run.stderr.contains("panicked") {
            failures.push(format!("{name}: panic: {}", r.run.stderr));
            continue;
        }
        if let Some((_, why)) = unreadable {
            let outcome = if r.code() == Some(0) { "read" } else { "refused" };
            if r.code() != Some(0) {
                if let Err(e) = refused_cleanly(r) {
                    failures.push(format!("{name}: {e}"));
                }
            }
            tally
                .entry("reference cannot read")
                .or_default()
                .push(format!("{name} ({why}; source-file: {outcome})"));
            continue;
        }
        let gap = REFUSED_GAPS.iter().find(|(f, _)| *f == name);
        if r.code() != Some(0) {
            match (gap, refused_cleanly(r)) {
                (Some((_, why)), Ok(())) => tally
                    .entry("refused (known gap), reference reads")
                    .or_default()
                    .push(format!("{name} ({why})")),
                (_, Err(e)) => failures.push(format!("{name}: {e}")),
                (None, Ok(())) => {
                    failures.push(format!(
                        "{name}: refused although {} reads it: {:?}",
                        r.format,
                        r.errors()
                    ));
                    tally.entry("refused, reference reads").or_default().push(name);
                }
            }
            continue;
        }
        if gap.is_some() {
            failures.push(format!("{name}: now read; compare it and take it off REFUSED_GAPS"));
        }
        to_compare.push(r);
    }
    for v in compare(dir.path(), &to_compare) {
        let name = v
            .file
            .strip_prefix(&format!("{}/", root.display()))
            .unwrap_or(&v.file)
            .to_string();
        match v.status.as_str() {
            "exact" => tally.entry("read exactly").or_default().push(name),
            "reference-cannot-read" => failures.push(format!(
                "{name}: the reference reader cannot read it ({}); list it in REFERENCE_CANNOT_READ",
                v.detail
            )),
            _ if REFERENCE_MISREADS.iter().any(|d| d.file == name) => {
                let doc = REFERENCE_MISREADS.iter().find(|d| d.file == name).unwrap();
                let run = to_compare.iter().find(|r| r.file.to_string_lossy() == v.file).unwrap();
                let rows: Vec<String> = doc
                    .rows_reference_misreads
                    .iter()
                    .map(|n| format!("row {n}."))
                    .collect();
                let only_those = v.detail.as_array().is_some_and(|d| {
                    d.iter()
                        .all(|p| rows.iter().any(|r| p.as_str().unwrap_or("").starts_with(r)))
                });
                match emits_documented_values(run, doc) {
                    Ok(()) if only_those => tally
                        .entry("reference misreads, documented values emitted")
                        .or_default()
                        .push(format!("{name} ({})", doc.why)),
                    Ok(()) => failures.push(format!(
                        "{name}: differs from the reference in other rows: {}",
                        v.detail
                    )),
                    Err(e) => failures.push(format!("{name}: {e}")),
                }
            }
            _ => match MISMATCH_GAPS.iter().find(|(f, _)| *f == name) {
                Some((_, why)) => tally
                    .entry("mismatch (known gap)")
                    .or_default()
                    .push(format!("{name} ({why}): {}", v.detail)),
                None => {
                    failures.push(format!("{name}: {}", v.detail));
                    tally.entry("mismatch").or_default().push(name);
                }
            },
        }
    }
    let summary: Vec<String> = tally.iter().map(|(k, v)| format!("{k}: {}", v.len())).collect();
    eprintln!("conformance tally: {}", summary.join(", "));
    for (k, v) in &tally {
        eprintln!("  {k}:");
        for f in v {
            eprintln!("    {f}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} file(s) not right:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
