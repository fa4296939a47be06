#!/usr/bin/env bash
# Benchmarks source-file and destination-file (release build) on this machine
# and prints records/s and peak RSS for each case:
#   - source-file: 1M-row CSV, JSONL and Parquet → RECORD lines on stdout;
#   - destination-file: 1M RECORD lines → Parquet (snappy), with a catalog;
#   - 10,000 small CSV files (100 rows each) with parallel_workers 1 and 4;
#   - flatness: peak RSS of Parquet → stdout at 1M and 10M rows.
# usage: bench/file-connectors.sh [ROWS] [BIG_ROWS]   (defaults 1000000 10000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
BIG_ROWS="${2:-10000000}"
eval "$(bash scripts/test-deps.sh)"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p source-file -p destination-file
BIN="$CARGO_TARGET_DIR/release"
WORK="${BENCH_DIR:-$HOME/.cache/lakeport/bench}"
mkdir -p "$WORK"

gen() { # dir rows [files per]
    if [ ! -f "$1/table.parquet" ] || [ "$(cat "$1/.rows" 2>/dev/null)" != "$2 ${3:-} ${4:-}" ]; then
        echo "generating $2 rows in $1 …" >&2
        rm -rf "$1"; "$LAKEPORT_PYTHON" bench/gen_table.py "$1" "$2" ${3:-} ${4:-}
        echo "$2 ${3:-} ${4:-}" > "$1/.rows"
    fi
}
gen "$WORK/t1" "$ROWS" 10000 100

# measure NAME RECORDS CMD… : runs CMD with stdout to /dev/null, prints rate and RSS.
measure() {
    local name="$1" records="$2"; shift 2
    local out
    /usr/bin/time -o "$WORK/.time" -f "%e %M" "$@" > /dev/null 2>"$WORK/.stderr" || {
        echo "$name: failed" >&2; tail -5 "$WORK/.stderr" >&2; return 1; }
    out=$(tail -1 "$WORK/.time")
    local secs rss
    secs=$(echo "$out" | awk '{print $1}'); rss=$(echo "$out" | awk '{print $2}')
    awk -v n="$name" -v r="$records" -v s="$secs" -v m="$rss" \
        'BEGIN { printf "%-48s %12.0f records/s  %8.1f s  peak RSS %7.1f MB\n", n, (s > 0 ? r / s : 0), s, m / 1024 }'
}

cfg() { echo "$2" > "$WORK/$1.json"; echo "$WORK/$1.json"; }

for fmt in csv jsonl parquet; do
    c=$(cfg "src-$fmt" "{\"file_path\": \"$WORK/t1/table.$fmt\", \"stream_name\": \"t\"}")
    "$BIN/source-file" discover --config "$c" | "$LAKEPORT_PYTHON" -c '
import json,sys
cat=[json.loads(l)["catalog"] for l in sys.stdin if "\"CATALOG\"" in l][0]
print(json.dumps({"streams":[{"stream":s,"sync_mode":"full_refresh","destination_sync_mode":"append"} for s in cat["streams"]]}))' > "$WORK/cat-$fmt.json"
    measure "source-file $fmt ($ROWS rows) → stdout" "$ROWS" "$BIN/source-file" read --config "$c" --catalog "$WORK/cat-$fmt.json"
done

# RECORD lines for the destination, made once.
if [ ! -f "$WORK/t1/records.jsonl" ]; then
    "$BIN/source-file" read --config "$WORK/src-parquet.json" --catalog "$WORK/cat-parquet.json" > "$WORK/t1/records.jsonl"
fi
rm -rf "$WORK/out"
d=$(cfg dst-parquet "{\"base_path\": \"$WORK/out\", \"format\": \"parquet\"}")
measure "destination-file $ROWS records → parquet/snappy" "$ROWS" sh -c "'$BIN/destination-file' write --config '$d' --catalog '$WORK/cat-parquet.json' < '$WORK/t1/records.jsonl'"
rm -rf "$WORK/out"
d=$(cfg dst-csv "{\"base_path\": \"$WORK/out\", \"format\": \"csv\"}")
measure "destination-file $ROWS records → csv" "$ROWS" sh -c "'$BIN/destination-file' write --config '$d' --catalog '$WORK/cat-parquet.json' < '$WORK/t1/records.jsonl'"
rm -rf "$WORK/out"

for w in 1 4; do
    c=$(cfg "small-$w" "{\"file_path\": \"$WORK/t1/small\", \"stream_name\": \"s\", \"parallel_workers\": $w}")
    start=$(date +%s.%N)
    measure "source-file 10,000 small CSV files, workers=$w" 1000000 "$BIN/source-file" read --config "$c"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%-48s %12.0f files/s (incl. discover)\n", "", 10000 / (e - s) }'
done

if [ "$BIG_ROWS" -gt 0 ]; then
    ONLY_PARQUET=1 gen "$WORK/t10" "$BIG_ROWS"
    c=$(cfg src-big "{\"file_path\": \"$WORK/t10/table.parquet\", \"stream_name\": \"t\"}")
    measure "source-file parquet ($BIG_ROWS rows) → stdout" "$BIG_ROWS" "$BIN/source-file" read --config "$c" --catalog "$WORK/cat-parquet.json"
fi
