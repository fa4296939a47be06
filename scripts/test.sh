#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the test dependencies
# (Python venv with the official Airbyte protocol models, pyarrow, fastavro;
# the s3s-fs S3 server), builds every binary, checks formatting and lints,
# and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash scripts/test-deps.sh)"
export LAKEPORT_PYTHON LAKEPORT_S3S_FS

cargo fmt --all -- --check
cargo build --workspace --all-targets
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --no-fail-fast
