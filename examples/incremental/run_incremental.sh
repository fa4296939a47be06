#!/usr/bin/env bash
# Incremental sync from a shell, with the state carried between runs in a file:
#
#   source read --config S --catalog C --state state.jsonl \
#       | destination-file write --config D | grep '"type":"STATE"' > new-state.jsonl
#   cat new-state.jsonl >> state.jsonl          # the last state per stream wins
#
# The destination echoes a STATE only once every record before it is committed,
# so state.jsonl never runs ahead of the data. Each pipeline runs twice, with new
# data in between; the second run must move exactly the new data.
#   1. source-file  (CSV files in incoming/)          -> destination-file (JSONL)
#   2. source-sqlite (orders, users of a shop.db copy) -> destination-file (Parquet)
#
#   examples/incremental/run_incremental.sh [WORK_DIR]     (default: demo-output/incremental)
# Binaries: $LAKEPORT_BIN, else the workspace's debug build (built when missing).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${1:-$ROOT/demo-output/incremental}"

if [ -n "${LAKEPORT_BIN:-}" ]; then
    BIN="$LAKEPORT_BIN"
else
    (cd "$ROOT" && cargo build --quiet --bins)
    target="${CARGO_TARGET_DIR:-target}"
    case "$target" in /*) ;; *) target="$ROOT/$target" ;; esac
    BIN="$target/debug"
fi
for b in source-file source-sqlite destination-file; do
    [ -x "$BIN/$b" ] || { echo "run_incremental: $BIN/$b is missing (cargo build --workspace)" >&2; exit 1; }
done

mkdir -p "$WORK"
cd "$WORK"          # the configs use paths relative to here
rm -rf incoming lake state runs shop.db     # only what this script creates
mkdir -p incoming state runs

# sync NAME SOURCE SOURCE_CONFIG CATALOG DESTINATION_CONFIG RUN
# One run of `source read | destination-file write`, state in state/NAME.jsonl.
sync() {
    local name="$1" source="$2" src_cfg="$3" catalog="$4" dst_cfg="$5" run="$6"
    local state="state/$name.jsonl"
    touch "$state"     # an empty state file means "from the beginning"
    "$BIN/$source" read --config "$HERE/$src_cfg" --catalog "$HERE/$catalog" --state "$state" \
        | tee "runs/$name-$run-source.jsonl" \
        | "$BIN/destination-file" write --config "$HERE/$dst_cfg" \
        | { grep '"type":"STATE"' || true; } > "runs/$name-$run-state.jsonl"
    cat "runs/$name-$run-state.jsonl" >> "$state"
}

records() { grep -c '"type":"RECORD"' "$1" || true; }

# expect WHAT GOT WANTED
failures=0
expect() {
    if [ "$2" = "$3" ]; then
        echo "   ok   $1: $2"
    else
        echo "   FAIL $1: $2, expected $3"
        failures=$((failures + 1))
    fi
}

echo "1. source-file | destination-file (JSONL), state in state/files.jsonl"
printf 'id,amount,at\n1,10.5,2025-01-01T10:00:00Z\n2,20.0,2025-01-01T11:00:00Z\n3,7.25,2025-01-01T12:00:00Z\n' > incoming/2025-01-01.csv
sync files source-file file-source.json file-catalog.json lake-jsonl.json 1
expect "run 1 records moved" "$(records runs/files-1-source.jsonl)" 3
printf 'id,amount,at\n4,1.0,2025-01-02T09:00:00Z\n5,2.0,2025-01-02T10:00:00Z\n' > incoming/2025-01-02.csv
sync files source-file file-source.json file-catalog.json lake-jsonl.json 2
expect "run 2 records moved (only the new file)" "$(records runs/files-2-source.jsonl)" 2
expect "run 2 states echoed by the destination" "$(grep -c . runs/files-2-state.jsonl || true)" 1
expect "rows in lake/files/events" "$(cat lake/files/events/*.jsonl | grep -c .)" 5
sync files source-file file-source.json file-catalog.json lake-jsonl.json 3
expect "run 3 records moved (nothing new)" "$(records runs/files-3-source.jsonl)" 0

echo "2. source-sqlite | destination-file (Parquet), state in state/shop.jsonl"
cp "$ROOT/examples/sample/shop.db" shop.db
chmod u+w shop.db
sync shop source-sqlite sqlite-source.json sqlite-catalog.json lake-parquet.json 1
expect "run 1 records moved" "$(records runs/shop-1-source.jsonl)" 250
# New orders and one changed user, with later updated_at values.
sql="INSERT INTO orders VALUES (201, 1, 'SKU-001', 1, 9.5, 'new', '2025-02-01 08:00:00');
INSERT INTO orders VALUES (202, 2, 'SKU-002', 2, 19.0, NULL, '2025-02-01 09:00:00');
INSERT INTO orders VALUES (203, 3, 'SKU-003', 3, 28.5, 'gift', '2025-02-01 10:00:00');
UPDATE users SET country = 'NL', updated_at = '2025-02-01 11:00:00' WHERE id = 7;"
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 shop.db "$sql"
else
    python3 -c 'import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.executescript(sys.argv[2]); db.commit()' shop.db "$sql"
fi
sync shop source-sqlite sqlite-source.json sqlite-catalog.json lake-parquet.json 2
expect "run 2 records moved (3 new orders, 1 changed user)" "$(records runs/shop-2-source.jsonl)" 4
expect "run 2 orders" "$(grep '"type":"RECORD"' runs/shop-2-source.jsonl | grep -c '"stream":"orders"' || true)" 3
expect "run 2 users" "$(grep '"type":"RECORD"' runs/shop-2-source.jsonl | grep -c '"stream":"users"' || true)" 1
sync shop source-sqlite sqlite-source.json sqlite-catalog.json lake-parquet.json 3
expect "run 3 records moved (nothing new)" "$(records runs/shop-3-source.jsonl)" 0

echo
echo "State files: $WORK/state/   Output: $WORK/lake/   Messages of each run: $WORK/runs/"
if [ "$failures" -gt 0 ]; then
    echo "run_incremental: $failures check(s) failed"
    exit 1
fi
echo "run_incremental: all checks passed"
