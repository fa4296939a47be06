#!/usr/bin/env bash
# Line coverage of the workspace, per crate, with cargo-llvm-cov.
#
#   scripts/coverage.sh [--html]
#
# Builds every workspace crate instrumented (`-C instrument-coverage`; the
# dependencies are built as usual), runs the whole test suite once as
# scripts/test.sh does — the integration tests in tests/ run the instrumented
# connector binaries from the same target directory, so what the binaries do
# under the tests counts, even when they die by a signal — and prints, for
# protocol, core and each connector, the lines covered out of the total, the
# overall figure, and each crate against its target (>= 90% for core and
# protocol, >= 85% for a connector).
# The tests/ crate, every tests/ folder and fuzz/ are not counted.
#
# --html also writes the annotated sources to $TARGET/llvm-cov/html (open
# index.html) to find the lines no test reaches. After a run, the lines one
# crate's tests miss (package names: lakeport-protocol, lakeport-core, ...):
#   CARGO_LLVM_COV_TARGET_DIR=$TARGET cargo llvm-cov report --package <package> --show-missing-lines
#
# Environment:
#   LAKEPORT_COVERAGE_TARGET_DIR  the instrumented build's target directory
#                                 (default ~/.cache/lakeport/target-coverage;
#                                 kept apart from the normal target: every
#                                 workspace crate is compiled differently)
#
# No container image is built (as with LAKEPORT_SKIP_CONTAINERS=1 for
# scripts/test.sh): the images hold release binaries, which are not
# instrumented. The container tests say SKIP, or run without counting when
# images of an earlier scripts/images.sh are present.
#
# The run compiles the doc tests last: edits to the tree while it runs give
# mixed builds and failures. To keep working meanwhile, run it from a clone of
# the commit (`git clone -b <branch> . ../cov && ../cov/scripts/coverage.sh`;
# tests that read ../shared then read the clone's sibling of that name).
#
# Exit status: 0 when every test passed and every crate met its target, 1 when
# a test failed, 2 when only targets were missed. Not part of .ci/run (it runs
# the suite a second time, instrumented); run it by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

html=0
for arg in "$@"; do
    case "$arg" in
        --html) html=1 ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "coverage: unknown argument '$arg' (usage: scripts/coverage.sh [--html])" >&2
            exit 64
            ;;
    esac
done

LLVM_COV_VERSION=0.9.1

# 1. The tools: the toolchain's LLVM tools (llvm-profdata and llvm-cov built
#    with rustc's own LLVM) and cargo-llvm-cov.
installed="$(rustup component list --installed 2>/dev/null || true)"
if ! grep -q '^llvm-tools' <<<"$installed"; then
    echo "coverage: installing the rustup component llvm-tools" >&2
    if ! rustup component add llvm-tools >&2; then
        cat >&2 <<'EOF'
coverage: `rustup component add llvm-tools` failed (no access to static.rust-lang.org?).
  Install the component on a machine that has access, or point cargo-llvm-cov at
  llvm-cov and llvm-profdata of the SAME LLVM major version as `rustc -vV` prints
  (e.g. Debian's llvm-NN package):
    LLVM_COV=/usr/bin/llvm-cov-NN LLVM_PROFDATA=/usr/bin/llvm-profdata-NN scripts/coverage.sh
EOF
        if [ -z "${LLVM_COV:-}" ] || [ -z "${LLVM_PROFDATA:-}" ]; then
            exit 1
        fi
        export LLVM_COV LLVM_PROFDATA
    fi
fi
have="$(cargo llvm-cov --version 2>/dev/null || true)"
if [ "$have" != "cargo-llvm-cov $LLVM_COV_VERSION" ]; then
    echo "coverage: installing cargo-llvm-cov $LLVM_COV_VERSION from crates.io (one-time compile)" >&2
    cargo install cargo-llvm-cov --version "$LLVM_COV_VERSION" --locked >&2
fi

# 2. The test dependencies, as scripts/test.sh sets them up.
eval "$(bash scripts/test-deps.sh)"
export LAKEPORT_PYTHON LAKEPORT_S3S_FS
unset LAKEPORT_REQUIRE_CONTAINERS

# 3. Instrumented build and test run, in a target directory of its own. The
#    environment from show-env makes plain `cargo build`/`cargo test` build the
#    workspace crates instrumented and has every process (test executables and
#    the connector binaries they start) write its counters next to them.
export CARGO_TARGET_DIR="${LAKEPORT_COVERAGE_TARGET_DIR:-$HOME/.cache/lakeport/target-coverage}"
mkdir -p "$CARGO_TARGET_DIR"
cov_env="$(cargo llvm-cov show-env --sh 2>/dev/null)"
eval "$cov_env"
# Continuous mode (`%c`): the counters live in the .profraw file, mapped into
# memory, from the process's start, so a binary that dies by a signal —
# SIGPIPE when its reader goes, SIGTERM/SIGINT after its clean-up, SIGKILL in
# the crash campaign — still counts (without it, a process writes its
# counters only when it exits normally). On Linux this needs the counters to
# be relocatable, a code-generation flag of the instrumented crates; cargo
# does not see that flag change, so a build made without it is rebuilt.
# The file name keeps show-env's `%p-%Nm`: a file per process, merged into
# should a later process get the same pid.
export __CARGO_LLVM_COV_RUSTC_WRAPPER_RUSTFLAGS="${__CARGO_LLVM_COV_RUSTC_WRAPPER_RUSTFLAGS}"$'\x1f'"-Cllvm-args=-runtime-counter-relocation"
export LLVM_PROFILE_FILE="${LLVM_PROFILE_FILE%.profraw}%c.profraw"
stamp="$CARGO_TARGET_DIR/.lakeport-coverage-flags"
if [ "$(cat "$stamp" 2>/dev/null)" != "$__CARGO_LLVM_COV_RUSTC_WRAPPER_RUSTFLAGS" ]; then
    cargo llvm-cov clean --workspace >&2
    printf '%s' "$__CARGO_LLVM_COV_RUSTC_WRAPPER_RUSTFLAGS" > "$stamp"
fi
# Counters of an earlier run would be added to this one's.
cargo llvm-cov clean --profraw-only >&2

cargo build --workspace --all-targets
tests_status=0
cargo test --workspace --no-fail-fast || tests_status=$?

# 4. The report: per-file summaries grouped by the crate folder they sit in.
summary="$CARGO_TARGET_DIR/llvm-cov-summary.json"
cargo llvm-cov report --json --summary-only --output-path "$summary"
if [ "$html" = 1 ]; then
    cargo llvm-cov report --html --output-dir "$CARGO_TARGET_DIR/llvm-cov"
    echo "coverage: annotated sources in $CARGO_TARGET_DIR/llvm-cov/html/index.html" >&2
fi

targets_status=0
python3 - "$summary" "$root" <<'EOF' || targets_status=$?
import json, os, sys

summary, root = sys.argv[1], sys.argv[2]
# (crate folder, target %): the core libraries, then the connectors.
CRATES = [("protocol", 90), ("core", 90), ("source-s3", 85), ("source-file", 85),
          ("source-sqlite", 85), ("destination-s3", 85), ("destination-file", 85)]
EXCLUDED = {"tests", "fuzz"}

per = {name: [0, 0] for name, _ in CRATES}
other = {}
with open(summary) as f:
    data = json.load(f)
for file in data["data"][0]["files"]:
    rel = os.path.relpath(file["filename"], root)
    top = rel.split(os.sep)[0]
    if rel.startswith("..") or top in EXCLUDED:
        continue
    lines = file["summary"]["lines"]
    bucket = per.get(top)
    if bucket is None:
        bucket = other.setdefault(top, [0, 0])
    bucket[0] += lines["covered"]
    bucket[1] += lines["count"]

def pct(c, t):
    return 100.0 * c / t if t else 0.0

print(f"{'crate':<18} {'lines covered':>14} {'total':>7} {'%':>7}  target")
missed = []
for name, target in CRATES:
    c, t = per[name]
    ok = t > 0 and pct(c, t) >= target
    if not ok:
        missed.append(name)
    print(f"{name:<18} {c:>14} {t:>7} {pct(c, t):>6.1f}%  >= {target}% {'pass' if ok else 'FAIL'}")
for name, (c, t) in sorted(other.items()):
    print(f"{name:<18} {c:>14} {t:>7} {pct(c, t):>6.1f}%  (no target)")
tc = sum(c for c, _ in per.values()) + sum(c for c, _ in other.values())
tt = sum(t for _, t in per.values()) + sum(t for _, t in other.values())
print(f"{'overall':<18} {tc:>14} {tt:>7} {pct(tc, tt):>6.1f}%")
if missed:
    print(f"below target: {', '.join(missed)}")
    sys.exit(2)
EOF

if [ "$tests_status" != 0 ]; then
    echo "coverage: some tests failed (cargo test exit status $tests_status): the figures above miss what they would have run" >&2
    exit 1
fi
exit "$targets_status"
