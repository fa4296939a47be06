#!/usr/bin/env bash
# Ours and DuckDB side by side in one run, on the same generated 12-column
# table (bench/gen_table.py), printing records/s, peak RSS and the ratio:
#   - RECORD lines → Parquet, CSV, JSON lines and Avro (destination-file, with
#     and without a catalog) against DuckDB's COPY (SELECT * FROM read_json(…))
#     TO … of the same rows as plain JSON lines. DuckDB 2.0.1 writes no Avro
#     without an extension download: the Avro peer is DuckDB 1.4.4 with the
#     avro extension as PyPI ships it (duckdb-ext-avro), in a venv of its own;
#     its writer has no DATE, so the `day` column goes as text there;
#   - JSONL, Parquet and CSV → JSON lines (source-file read) against DuckDB's
#     COPY … TO (FORMAT json);
#   - `source-sqlite read | destination-file write` (no catalog) on a table of
#     the same rows, against destination-file alone with a catalog.
# usage: bench/vs-duckdb.sh [ROWS]   (default 1000000)
# env:   SKIP_BUILD=1 uses the binaries already in $CARGO_TARGET_DIR;
#        BENCH_PROFILE (release; `profiling` keeps symbols for perf);
#        BENCH_DIR (~/.cache/lakeport/bench); ROUNDS (3: best of);
#        CASES: only these rows (space-separated, of write-parquet write-csv
#        write-jsonl write-avro read-jsonl read-parquet read-csv pipe).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
ROUNDS="${ROUNDS:-3}"
eval "$(bash scripts/test-deps.sh)"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
"$LAKEPORT_PYTHON" -c 'import duckdb' 2>/dev/null || {
    echo "installing duckdb into the bench venv (PyPI)" >&2
    "$LAKEPORT_PYTHON" -m pip install -q duckdb >&2; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
PROFILE="${BENCH_PROFILE:-release}"
[ -n "${SKIP_BUILD:-}" ] ||
    cargo build --profile "$PROFILE" --quiet -p source-file -p destination-file -p source-sqlite
BIN="$CARGO_TARGET_DIR/$PROFILE"
# want CASE: whether CASES (all when empty) includes CASE.
want() { [ -z "${CASES:-}" ] || [[ " $CASES " == *" $1 "* ]]; }
WORK="${BENCH_DIR:-$HOME/.cache/lakeport/bench}/duck-$ROWS"
mkdir -p "$WORK"

if [ ! -f "$WORK/table.parquet" ]; then
    echo "generating $ROWS rows in $WORK …" >&2
    "$LAKEPORT_PYTHON" bench/gen_table.py "$WORK" "$ROWS"
fi
cfg() { echo "$2" > "$WORK/$1.json"; echo "$WORK/$1.json"; }
src=$(cfg src-parquet "{\"file_path\": \"$WORK/table.parquet\", \"stream_name\": \"t\"}")
if [ ! -f "$WORK/records.jsonl" ]; then
    "$BIN/source-file" discover --config "$src" | "$LAKEPORT_PYTHON" -c '
import json, sys
cat = [json.loads(l)["catalog"] for l in sys.stdin if "\"CATALOG\"" in l][0]
print(json.dumps({"streams": [{"stream": s, "sync_mode": "full_refresh",
    "destination_sync_mode": "append"} for s in cat["streams"]]}))' > "$WORK/catalog.json"
    "$BIN/source-file" read --config "$src" --catalog "$WORK/catalog.json" > "$WORK/records.jsonl"
    # The same rows as plain JSON lines (what DuckDB reads).
    "$LAKEPORT_PYTHON" -c '
import json, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for line in src:
        m = json.loads(line)
        if m.get("type") == "RECORD":
            out.write(json.dumps(m["record"]["data"], separators=(",", ":")) + "\n")' \
        "$WORK/records.jsonl" "$WORK/plain.jsonl"
    "$LAKEPORT_PYTHON" -c '
import sqlite3, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
db = sqlite3.connect(sys.argv[2])
cols = t.column_names
db.execute("CREATE TABLE t (" + ", ".join(f"\"{c}\"" for c in cols) + ")")
for batch in t.to_batches(100000):
    rows = zip(*[[None if v is None else (v.isoformat() if hasattr(v, "isoformat") else
            (float(v) if type(v).__name__ == "Decimal" else v)) for v in c.to_pylist()] for c in batch.columns])
    db.executemany("INSERT INTO t VALUES (" + ",".join("?" * len(cols)) + ")", rows)
db.commit()' "$WORK/table.parquet" "$WORK/table.db"
fi

# best NAME CMD…: runs CMD ROUNDS times (stdout to /dev/null), keeps the
# fastest run; sets SECS and RSS_MB.
best() {
    local name="$1"; shift
    SECS=""; RSS_MB=""
    for _ in $(seq "$ROUNDS"); do
        rm -rf "$WORK/out" "$WORK/duck-out"; mkdir -p "$WORK/duck-out"
        /usr/bin/time -o "$WORK/.time" -f "%e %M" "$@" > /dev/null 2> "$WORK/.stderr" || {
            echo "$name: failed" >&2; tail -5 "$WORK/.stderr" >&2; exit 1; }
        read -r s m < <(tail -1 "$WORK/.time")
        if [ -z "$SECS" ] || awk -v a="$s" -v b="$SECS" 'BEGIN { exit !(a < b) }'; then
            SECS="$s"; RSS_MB=$(awk -v m="$m" 'BEGIN { printf "%.0f", m / 1024 }')
        fi
    done
}
duck() { # SQL [PYTHON]: DuckDB in a Python process (its RSS includes the interpreter's ≈30 MB)
    best duckdb "${2:-$LAKEPORT_PYTHON}" -c '
import duckdb, glob, os, sys
c = duckdb.connect(config={"allow_unsigned_extensions": True})
c.execute("SET enable_progress_bar = false")
for ext in glob.glob(os.path.join(os.path.dirname(duckdb.__file__), "..", "duckdb_ext", "extensions", "*", "*", "*.duckdb_extension")):
    c.execute(f"LOAD \x27{ext}\x27")
c.execute(sys.argv[1])' "$1"
}
AVRO_VENV="${BENCH_DIR:-$HOME/.cache/lakeport/bench}/duck-avro-venv"
if [ ! -x "$AVRO_VENV/bin/python" ]; then
    echo "installing DuckDB 1.4.4 and its avro extension into $AVRO_VENV (PyPI)" >&2
    python3 -m venv "$AVRO_VENV"
    "$AVRO_VENV/bin/pip" install -q --disable-pip-version-check duckdb==1.4.4 duckdb-ext-avro==1.4.4.20260205 >&2
fi
# row NAME OURS_SECS OURS_RSS PEER_SECS PEER_RSS: one line of the table.
row() {
    awk -v n="$1" -v r="$ROWS" -v a="$2" -v am="$3" -v b="$4" -v bm="$5" 'BEGIN {
        printf "%-50s %11.0f %11.0f %7.2f×  %6d MB %6d MB\n", n, r / a, r / b, b / a, am, bm }'
}
printf '%-50s %11s %11s %8s  %9s %9s\n' "case ($ROWS rows)" "ours rec/s" "peer rec/s" "ratio" "ours RSS" "peer RSS"

dst() { cfg "dst-$1" "{\"base_path\": \"$WORK/out\", \"format\": \"$1\"}"; }
for fmt in parquet csv jsonl avro; do
    want "write-$fmt" || continue
    d=$(dst "$fmt")
    case "$fmt" in
        jsonl) duck "COPY (SELECT * FROM read_json('$WORK/plain.jsonl')) TO '$WORK/duck-out/x.json' (FORMAT json)" ;;
        avro) duck "COPY (SELECT * REPLACE (CAST(day AS VARCHAR) AS day) FROM read_json('$WORK/plain.jsonl'))
                    TO '$WORK/duck-out/x.avro' (FORMAT avro)" "$AVRO_VENV/bin/python" ;;
        *) duck "COPY (SELECT * FROM read_json('$WORK/plain.jsonl')) TO '$WORK/duck-out/x.$fmt' (FORMAT $fmt)" ;;
    esac
    ds="$SECS"; dm="$RSS_MB"
    best "cat" sh -c "'$BIN/destination-file' write --config '$d' --catalog '$WORK/catalog.json' < '$WORK/records.jsonl'"
    row "RECORD lines → $fmt, with catalog (DuckDB)" "$SECS" "$RSS_MB" "$ds" "$dm"
    best "nocat" sh -c "'$BIN/destination-file' write --config '$d' < '$WORK/records.jsonl'"
    row "RECORD lines → $fmt, no catalog (DuckDB)" "$SECS" "$RSS_MB" "$ds" "$dm"
done

for fmt in jsonl parquet csv; do
    want "read-$fmt" || continue
    c=$(cfg "src-$fmt" "{\"file_path\": \"$WORK/table.$fmt\", \"stream_name\": \"t\"}")
    reader=$([ "$fmt" = jsonl ] && echo "read_json('$WORK/table.jsonl')" ||
        ([ "$fmt" = csv ] && echo "read_csv('$WORK/table.csv')" || echo "'$WORK/table.parquet'"))
    duck "COPY (SELECT * FROM $reader) TO '$WORK/duck-out/y.json' (FORMAT json)"
    ds="$SECS"; dm="$RSS_MB"
    best "read" "$BIN/source-file" read --config "$c" --catalog "$WORK/catalog.json"
    row "$fmt → JSON lines (DuckDB)" "$SECS" "$RSS_MB" "$ds" "$dm"
done

want pipe || exit 0
sq=$(cfg src-sqlite "{\"database_path\": \"$WORK/table.db\"}")
d=$(dst parquet)
best "alone" sh -c "'$BIN/destination-file' write --config '$d' --catalog '$WORK/catalog.json' < '$WORK/records.jsonl'"
as="$SECS"; am="$RSS_MB"
best "pipe" bash -c "set -o pipefail; '$BIN/source-sqlite' read --config '$sq' | '$BIN/destination-file' write --config '$d'"
row "sqlite | destination-file → parquet (dest. alone)" "$SECS" "$RSS_MB" "$as" "$am"
