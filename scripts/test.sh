#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the test dependencies
# (Python venv with the official Airbyte protocol models, pyarrow, fastavro;
# the s3s-fs S3 server), builds every binary, checks formatting and lints,
# builds the five container images (podman, a cached debootstrap base,
# release binaries: scripts/images.sh) and runs every test, the container
# tests included. LAKEPORT_SKIP_CONTAINERS=1 leaves the images out (the
# container tests then say SKIP).
set -euo pipefail
cd "$(dirname "$0")/.."

eval "$(bash scripts/test-deps.sh)"
export LAKEPORT_PYTHON LAKEPORT_S3S_FS

cargo fmt --all -- --check
cargo build --workspace --all-targets
cargo clippy --workspace --all-targets -- -D warnings
if [ -z "${LAKEPORT_SKIP_CONTAINERS:-}" ]; then
    # (an assignment, so that a failing images.sh stops the run)
    images_env="$(bash scripts/images.sh)"
    eval "$images_env"
    export CONTAINERS_CONF
    export LAKEPORT_REQUIRE_CONTAINERS=1
fi
cargo test --workspace --no-fail-fast
