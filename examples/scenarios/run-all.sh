#!/usr/bin/env bash
# Runs the five demo scenarios of seed 000, one after the other, each against
# its own local S3 server (s3s-fs) started and stopped by the scenario:
#
#   1. a development environment with cost controls   01-development-cost-controls.sh
#   2. a production environment with partitioning     02-production-partitioning.sh
#   3. a multi-format pipeline                        03-multi-format-pipeline.sh
#   4. cost optimisation demonstrations               04-cost-optimisation.sh
#   5. migration from legacy configurations           05-legacy-migration.sh
#
# Usage: examples/scenarios/run-all.sh
#   LAKEPORT_BIN_DIR=DIR   use connectors already built in DIR (default:
#                          `cargo build --release`, then target/release)
#   SCENARIO_SCALE=small   a smaller layout (600 objects instead of 3,360)
# Expected output: examples/scenarios/expected/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "${LAKEPORT_BIN_DIR:-}" ]; then
    root="$(cd "$here/../.." && pwd)"
    echo "building the connectors (cargo build --release; set LAKEPORT_BIN_DIR to use built ones)..." >&2
    (cd "$root" && cargo build --release --quiet --bins)
    export LAKEPORT_BIN_DIR="${CARGO_TARGET_DIR:-$root/target}/release"
fi
for s in 01-development-cost-controls 02-production-partitioning 03-multi-format-pipeline \
    04-cost-optimisation 05-legacy-migration; do
    bash "$here/$s.sh"
done
echo
echo "All five scenarios passed."
