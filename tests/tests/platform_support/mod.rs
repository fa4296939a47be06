//! What the platform tests share: the Python interpreters of the venvs
//! `scripts/test-deps.sh` installs for Airbyte's own tools (PyAirbyte, the
//! Python CDK), found once per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use lakeport_tests::workspace_root;

/// The `NAME=...` path `scripts/test-deps.sh` prints (or `$NAME` when set).
fn from_test_deps(name: &str, skip_var: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(name) {
        return p.into();
    }
    let out = Command::new("bash")
        .arg(workspace_root().join("scripts/test-deps.sh"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run scripts/test-deps.sh");
    assert!(out.status.success(), "scripts/test-deps.sh failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")).map(PathBuf::from))
        .unwrap_or_else(|| panic!("scripts/test-deps.sh did not print {name} ({skip_var} set?)"))
}

/// PyAirbyte's venv Python (`LAKEPORT_PYAIRBYTE_PYTHON`).
pub fn pyairbyte_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| from_test_deps("LAKEPORT_PYAIRBYTE_PYTHON", "LAKEPORT_SKIP_PYAIRBYTE"))
        .clone()
}

/// The Airbyte CDK venv's Python (`LAKEPORT_CDK_PYTHON`).
pub fn cdk_python() -> PathBuf {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| from_test_deps("LAKEPORT_CDK_PYTHON", "LAKEPORT_SKIP_CDK"))
        .clone()
}

/// Environment for running PyAirbyte offline inside `work`.
pub fn pyairbyte_env(cmd: &mut Command, work: &std::path::Path) {
    cmd.env("AIRBYTE_OFFLINE_MODE", "1")
        .env("DO_NOT_TRACK", "1")
        .env("AIRBYTE_PROJECT_DIR", work)
        .env("AIRBYTE_CACHE_ROOT", work.join(".cache"))
        .env("AIRBYTE_LOGGING_ROOT", work.join("logs"))
        .env("AIRBYTE_TEMP_DIR", work)
        .env("NO_COLOR", "1")
        .env("PYTHONUNBUFFERED", "1");
}
