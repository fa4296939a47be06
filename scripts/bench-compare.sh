#!/usr/bin/env bash
# Runs the connector benchmarks for two builds side by side, in one run, and
# prints each figure of both with their ratio — the check that a change (a
# refactoring, say) keeps the speed of the build before it.
#
# usage: scripts/bench-compare.sh BASE_BIN_DIR NEW_BIN_DIR
#   each directory holds release binaries (source-file, destination-file,
#   source-s3, destination-s3, source-sqlite), e.g. a copy of target/release
#   made before the change and target/release after it.
# env:   ROWS (1000000), KEYS (20000: keys of the listing test),
#        BENCHES ("file s3 dests3 sqlite"), ROUNDS (2: base and new alternate
#        this many times; the best figure of each is kept, the machine being
#        shared and noisy).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -eq 2 ] || { sed -n 2,13p "$0" >&2; exit 2; }
BASE="$(cd "$1" && pwd)"
NEW="$(cd "$2" && pwd)"
ROWS="${ROWS:-1000000}"
KEYS="${KEYS:-20000}"
BENCHES="${BENCHES:-file s3 dests3 sqlite}"
ROUNDS="${ROUNDS:-2}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

# A target directory whose release/ is the given binaries, for the scripts'
# CARGO_TARGET_DIR convention.
shim() {
    mkdir -p "$OUT/$1/release"
    for b in "$2"/*; do ln -sf "$b" "$OUT/$1/release/"; done
    echo "$OUT/$1"
}
base_dir=$(shim base "$BASE")
new_dir=$(shim new "$NEW")

run() { # bench side round
    local dir; dir=$([ "$2" = base ] && echo "$base_dir" || echo "$new_dir")
    local log="$OUT/$1.$2.$3"
    case "$1" in
        file) SKIP_BUILD=1 CARGO_TARGET_DIR="$dir" bash "$ROOT/bench/file-connectors.sh" "$ROWS" 0 ;;
        s3) SKIP_BUILD=1 CARGO_TARGET_DIR="$dir" BENCH_ONLY="parquet csv list small" \
            bash "$ROOT/bench/source-s3.sh" "$ROWS" 0 "$KEYS" ;;
        dests3) NO_BUILD=1 BIN="$dir/release/destination-s3" bash "$ROOT/scripts/bench-destination-s3.sh" ;;
        sqlite) SKIP_BUILD=1 CARGO_TARGET_DIR="$dir" ROWS="$ROWS" bash "$ROOT/scripts/bench-sqlite.sh" ;;
    esac > "$log" 2> "$log.err" || { echo "bench $1 ($2) failed:" >&2; tail -20 "$log.err" >&2; exit 1; }
}

for bench in $BENCHES; do
    for round in $(seq "$ROUNDS"); do
        run "$bench" base "$round"
        run "$bench" new "$round"
    done
done

# Pairs the figures line by line: the first "<number> <unit>/s" of a line is
# its figure; the best of the rounds is kept for each side.
echo
printf '%-58s %16s %16s %7s\n' "benchmark" "base" "new" "new/base"
for bench in $BENCHES; do
    python3 - "$OUT" "$bench" "$ROUNDS" <<'EOF'
import re, sys
out, bench, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
rate = re.compile(r"([0-9][0-9,.]*)\s+([A-Za-z]+/s)")
def figures(side):
    best = {}
    order = []
    for r in range(1, rounds + 1):
        for i, line in enumerate(open(f"{out}/{bench}.{side}.{r}")):
            m = rate.search(line)
            cols = line.split()
            if m:
                # The case's words, without the run's own figures (its seconds).
                name = re.sub(r"\s+[0-9.]+s\b", "", line[: m.start()]).strip()
                name = (name or f"(line {i}: same case)")[:58]
                value, unit = float(m.group(1).replace(",", "")), m.group(2)
            elif bench == "sqlite" and len(cols) >= 4 and cols[0].isdigit():
                # scripts/bench-sqlite.sh prints a table: rows records seconds records/s …
                name, value, unit = f"source-sqlite read, {cols[0]} rows", float(cols[3].replace(",", "")), "rec/s"
            else:
                continue
            key = (i, name)
            if key not in best:
                order.append(key)
                best[key] = (value, unit)
            else:
                best[key] = (max(best[key][0], value), unit)
    return order, best
order, base = figures("base")
_, new = figures("new")
for key in order:
    if key not in new:
        continue
    (b, unit), (n, _) = base[key], new[key]
    ratio = n / b if b else float("nan")
    print(f"{key[1]:<58} {b:>10,.0f} {unit:<5} {n:>10,.0f} {unit:<5} {ratio:6.2f}×")
EOF
done
