#!/usr/bin/env bash
# Fuzzes the parsers with cargo-fuzz (libFuzzer; needs the nightly toolchain):
#   sink_line       the destinations' input line scanner and parser
#   state           the `--state` parser and the file sources' cursor
#   config_flavour  config flavour detection and mapping to native names
#   format_reader   every format reader on arbitrary bytes, plain and compressed
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]    (default 300 s, every target)
#
# Each target starts from the seed corpus in fuzz/corpus/<target>/ (kept in
# the repository); what it discovers, its build and any crash go to a cache
# outside the clone (LAKEPORT_CACHE, default ~/.cache/lakeport). Prints the
# executions and crashes of each target; exits 1 when any target crashed.
# cargo-fuzz is installed into the cache on first use.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${LAKEPORT_CACHE:-$HOME/.cache/lakeport}"
SECONDS_PER_TARGET="${1:-${LAKEPORT_FUZZ_SECONDS:-300}}"
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
    TARGETS=(sink_line state config_flavour format_reader)
fi

FUZZ_BIN="$CACHE/cargo-fuzz/bin"
export PATH="$FUZZ_BIN:$PATH"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz into $CACHE/cargo-fuzz (one-time compile)" >&2
    CARGO_TARGET_DIR="$CACHE/cargo-fuzz-build" cargo install cargo-fuzz --locked --root "$CACHE/cargo-fuzz" --quiet
    rm -rf "$CACHE/cargo-fuzz-build"
fi
if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
    exit 2
fi

TARGET_DIR="$CACHE/fuzz-target"
WORK="$CACHE/fuzz"
cd "$ROOT/fuzz"
# The fuzz crate resolves the workspace's dependency versions.
[ -f Cargo.lock ] || cp "$ROOT/Cargo.lock" Cargo.lock

echo "fuzz: building ${TARGETS[*]} (nightly, address sanitizer)" >&2
for t in "${TARGETS[@]}"; do
    nice -n 10 cargo +nightly fuzz build --target-dir "$TARGET_DIR" "$t" >&2
done

failed=0
printf '%-16s %12s %8s %8s  %s\n' target executions exec/s crashes artifacts
for t in "${TARGETS[@]}"; do
    corpus="$WORK/corpus/$t"
    artifacts="$WORK/artifacts/$t"
    log="$WORK/logs/$t.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    before=$(find "$artifacts" -type f | wc -l)
    set +e
    nice -n 10 cargo +nightly fuzz run --target-dir "$TARGET_DIR" "$t" "$corpus" "$ROOT/fuzz/corpus/$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=65536 -timeout=30 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
    status=$?
    set -e
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    rate=$(grep -m1 'stat::average_exec_per_sec' "$log" | awk '{print $2}')
    after=$(find "$artifacts" -type f | wc -l)
    crashes=$((after - before))
    printf '%-16s %12s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$crashes" "$artifacts"
    if [ "$status" -ne 0 ] || [ "$crashes" -gt 0 ]; then
        failed=1
        echo "fuzz: $t failed (exit $status); its log: $log" >&2
        grep -m5 -E 'panicked|ERROR: libFuzzer|SUMMARY' "$log" >&2 || true
    fi
done
exit "$failed"
