//! The demo scenarios of seed 000 (`examples/scenarios/run-all.sh`) run end
//! to end with the built binaries on a smaller layout (`SCENARIO_SCALE=small`),
//! each against its own s3s-fs server; their output shows each seed criterion.

use std::process::Command;

use lakeport_tests::{bin_dir, python, workspace_root};

/// The number after `label` in `line` (`-87.5%` → 87.5).
fn pct_after(text: &str, line_start: &str, label: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with(line_start))
        .unwrap_or_else(|| panic!("no line starting with {line_start:?} in:\n{text}"));
    let rest = line
        .split_once(label)
        .unwrap_or_else(|| panic!("no {label:?} in {line}"))
        .1;
    let num: String = rest
        .trim_start_matches(['-', ' '])
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse()
        .unwrap_or_else(|_| panic!("no number after {label:?} in {line}"))
}

#[test]
fn the_five_demo_scenarios_show_the_seed_criteria() {
    let script = workspace_root().join("examples/scenarios/run-all.sh");
    let out = Command::new("bash")
        .arg(&script)
        .env("LAKEPORT_BIN_DIR", bin_dir())
        .env("LAKEPORT_PYTHON", python())
        .env("SCENARIO_SCALE", "small")
        .output()
        .expect("run run-all.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "run-all.sh failed:\n{stdout}\n{stderr}");
    eprintln!("{stdout}");

    // 1. Cost controls prevent runaway operations.
    assert!(stdout.contains("config_error: Operation cost $0.00"), "{stdout}");
    assert!(stdout.contains(" exceeds limit $0.000"), "{stdout}");
    assert!(stdout.contains("config_error: Run too large"), "{stdout}");
    assert!(stdout.contains("WARN Development sampling: reading "), "{stdout}");
    assert!(
        stdout.contains(" of 600 file(s) (dev_sampling 0.1, dev_max_files 100)"),
        "{stdout}"
    );
    assert!(pct_after(&stdout, "development vs full:", "cost") >= 80.0, "{stdout}");
    // 2. Partition optimisation visibly reduces costs.
    assert!(
        pct_after(&stdout, "2024 Q1 vs all partitions:", "cost") >= 70.0,
        "{stdout}"
    );
    assert!(
        pct_after(&stdout, "2024 Q1 vs all partitions:", "LISTs") >= 30.0,
        "{stdout}"
    );
    assert!(stdout.contains("config_error: Partition error:"), "{stdout}");
    // 3. The multi-format pipeline works end to end.
    assert!(
        stdout.contains("Scenario 3 done: the multi-format pipeline works end to end (500 records"),
        "{stdout}"
    );
    for ext in [".jsonl.gz", ".avro", ".csv", "country=fr/"] {
        assert!(stdout.contains(ext), "no {ext} file listed:\n{stdout}");
    }
    assert!(stdout.contains("config_error:") && stdout.contains("xlsx"), "{stdout}");
    // 4. Cost optimisation: every way is cheaper than the full read.
    for way in ["pruned", "sampled", "capped", "incremental"] {
        let cut = pct_after(&stdout, &format!("{way} vs full:"), "cost");
        assert!(cut >= 50.0, "{way}: {cut}\n{stdout}");
    }
    // 5. Migration scenarios work seamlessly; secrets stay masked.
    for flavour in ["legacy", "airbyte", "fivetran"] {
        assert!(
            stdout.contains(&format!("== {flavour} config → native (import-config) ==")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("\"path_prefix\": \"data/\""), "{stdout}");
    assert!(stdout.contains("CONNECTION_STATUS FAILED"), "{stdout}");
    assert!(
        !stdout.contains("scenario-secret-Xk29"),
        "a secret was shown:\n{stdout}"
    );
    assert!(stdout.contains("All five scenarios passed."), "{stdout}");
}
