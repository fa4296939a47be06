#!/usr/bin/env bash
# Format benchmark: rows/s and peak RSS of every format → RECORD lines and RECORD lines →
# every format, on a generated 12-column mixed-type table; then Parquet → RECORD at a larger
# row count to show memory stays flat; then DuckDB doing Parquet → JSON for comparison.
#
# usage: scripts/bench-formats.sh [ROWS (1000000)] [BIG_ROWS (10000000), 0 to skip]
# env:   BENCH_DIR (/tmp/lakeport-bench), CARGO_TARGET_DIR (/root/.cache/lakeport/target),
#        VENV (/root/.cache/lakeport/venv), NO_DUCKDB=1 to skip DuckDB, SKIP_BUILD=1 to use
#        the binary already built.
set -euo pipefail

ROWS=${1:-1000000}
BIG_ROWS=${2:-10000000}
BENCH_DIR=${BENCH_DIR:-/tmp/lakeport-bench}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/lakeport/target}
VENV=${VENV:-/root/.cache/lakeport/venv}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -x /usr/bin/time ]; then
  echo "installing /usr/bin/time (package 'time')" >&2
  (apt-get install -y -qq time >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq time >/dev/null)) \
    || { echo "cannot install /usr/bin/time; peak RSS will not be measured" >&2; }
fi

if [ -z "${SKIP_BUILD:-}" ]; then
  echo "building the release bench binary (cargo build --release -p lakeport-core --example bench_formats) …" >&2
  (cd "$ROOT" && cargo build --release -q -p lakeport-core --example bench_formats)
fi
BIN="$CARGO_TARGET_DIR/release/examples/bench_formats"
mkdir -p "$BENCH_DIR"

# run NAME CMD... : runs CMD in a child process; records rows/s and peak RSS (MB).
declare -A RPS RSS
run() {
  local name=$1; shift
  local log="$BENCH_DIR/$name.log" rss="$BENCH_DIR/$name.rss"
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$rss" "$@" >/dev/null 2>"$log"
  else
    "$@" >/dev/null 2>"$log"; echo 0 >"$rss"
  fi
  local line; line=$(grep '^RESULT' "$log" | tail -1)
  [ -n "$line" ] || { echo "$name failed:" >&2; cat "$log" >&2; exit 1; }
  RPS[$name]=$(sed -E 's/.*rows_per_sec=([0-9]+).*/\1/' <<<"$line")
  RSS[$name]=$(( $(tail -1 "$rss") / 1024 ))
  printf '%-34s %12s rows/s   peak RSS %5s MB\n' "$name" "${RPS[$name]}" "${RSS[$name]}"
}

echo "generating $ROWS rows (12 columns) in $BENCH_DIR …" >&2
"$BIN" gen "$BENCH_DIR" "$ROWS" parquet,csv,jsonl,avro,records
ls -la "$BENCH_DIR" | grep -E 'x\.|records' >&2

echo
echo "== $ROWS rows, 12 columns =="
run parquet_to_records "$BIN" to-records parquet "$BENCH_DIR/x.parquet"
run csv_to_records     "$BIN" to-records csv     "$BENCH_DIR/x.csv"
run jsonl_to_records   "$BIN" to-records jsonl   "$BENCH_DIR/x.jsonl"
run avro_to_records    "$BIN" to-records avro    "$BENCH_DIR/x.avro"
run records_to_parquet "$BIN" from-records parquet snappy "$BENCH_DIR/records.jsonl" "$BENCH_DIR/out.parquet"
run records_to_csv     "$BIN" from-records csv none       "$BENCH_DIR/records.jsonl" "$BENCH_DIR/out.csv"
run records_to_jsonl   "$BIN" from-records jsonl none     "$BENCH_DIR/records.jsonl" "$BENCH_DIR/out.jsonl"
run records_to_avro    "$BIN" from-records avro snappy    "$BENCH_DIR/records.jsonl" "$BENCH_DIR/out.avro"
rm -f "$BENCH_DIR"/out.*

if [ "$BIG_ROWS" -gt 0 ]; then
  echo
  echo "== $BIG_ROWS rows: Parquet → RECORD (memory must stay flat) =="
  mkdir -p "$BENCH_DIR/big"
  "$BIN" gen "$BENCH_DIR/big" "$BIG_ROWS" parquet
  run parquet_to_records_big "$BIN" to-records parquet "$BENCH_DIR/big/x.parquet"
  rm -rf "$BENCH_DIR/big"
fi

DUCK=""
if [ -z "${NO_DUCKDB:-}" ]; then
  PY="$VENV/bin/python"
  [ -x "$PY" ] || PY=$(command -v python3 || true)
  if [ -n "$PY" ] && ! "$PY" -c 'import duckdb' 2>/dev/null; then
    echo "installing duckdb into $(dirname "$(dirname "$PY")")" >&2
    "$PY" -m pip install -q duckdb >/dev/null 2>&1 || true
  fi
  if [ -n "$PY" ] && "$PY" -c 'import duckdb' 2>/dev/null; then
    cat >"$BENCH_DIR/duck.py" <<'EOF'
import sys, time, duckdb
src, dst, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
con = duckdb.connect()
con.execute("SET threads TO 2")
t = time.perf_counter()
con.execute(f"COPY (SELECT * FROM '{src}') TO '{dst}'")
secs = time.perf_counter() - t
print(f"RESULT duckdb rows={rows} secs={secs:.3f} rows_per_sec={rows/secs:.0f}", file=sys.stderr)
EOF
    echo
    echo "== DuckDB: COPY (SELECT * FROM 'x.parquet') TO 'y.json' =="
    run duckdb_parquet_to_json "$PY" "$BENCH_DIR/duck.py" "$BENCH_DIR/x.parquet" "$BENCH_DIR/y.json" "$ROWS"
    rm -f "$BENCH_DIR/y.json"
    DUCK=${RPS[duckdb_parquet_to_json]}
  else
    echo "(duckdb not available; skipped)" >&2
  fi
fi

echo
echo "== summary =="
check() { # name value op target unit
  local ok=FAIL
  if awk -v a="$2" -v b="$4" -v op="$3" 'BEGIN{exit !((op==">=" && a>=b) || (op=="<=" && a<=b))}'; then ok=PASS; fi
  printf '%-44s %12s %s %-10s %s\n' "$1" "$2" "$3" "$4 $5" "$ok"
}
check "Parquet→RECORD rows/s" "${RPS[parquet_to_records]}" ">=" 1000000 rows/s
check "CSV→RECORD rows/s" "${RPS[csv_to_records]}" ">=" 500000 rows/s
check "RECORD→Parquet(snappy) rows/s" "${RPS[records_to_parquet]}" ">=" 500000 rows/s
max=0
for k in parquet_to_records csv_to_records jsonl_to_records avro_to_records records_to_parquet records_to_csv records_to_jsonl records_to_avro; do
  [ "${RSS[$k]}" -gt "$max" ] && max=${RSS[$k]}
done
check "peak RSS at $ROWS rows (max of runs), MB" "$max" "<=" 150 MB
if [ -n "${RSS[parquet_to_records_big]:-}" ]; then
  limit=$(awk -v a="${RSS[parquet_to_records]}" 'BEGIN{printf "%d", a*1.2 + 0.5}')
  check "Parquet→RECORD RSS at $BIG_ROWS rows, MB" "${RSS[parquet_to_records_big]}" "<=" "$limit" "MB (1.2x)"
fi
if [ -n "$DUCK" ]; then
  ratio=$(awk -v a="${RPS[parquet_to_records]}" -v b="$DUCK" 'BEGIN{printf "%.2f", a/b}')
  echo "DuckDB Parquet→JSON: $DUCK rows/s; Lakeport Parquet→RECORD / DuckDB = ${ratio}x"
fi
