#!/usr/bin/env bash
# Benchmarks source-s3 (release build) against a local s3s-fs server and
# prints records/s, keys/s, files/s and peak RSS:
#   - a 1M-row Parquet object and a 1M-row CSV.gz object → RECORD lines;
#   - listing 100,000 keys (estimate: LIST only);
#   - 10,000 small CSV objects with parallel_workers 1, 4 and 8;
#   - flatness: the Parquet read at ROWS and at BIG_ROWS rows.
# usage: bench/source-s3.sh [ROWS] [BIG_ROWS] [KEYS]   (defaults 1000000 10000000 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
BIG_ROWS="${2:-10000000}"
KEYS="${3:-100000}"
eval "$(bash scripts/test-deps.sh)"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p source-s3
BIN="$CARGO_TARGET_DIR/release"
WORK="${BENCH_DIR:-$HOME/.cache/lakeport/bench}"
DATA="$WORK/s3data"
mkdir -p "$WORK"

gen() { # dir rows [files per]
    if [ ! -f "$1/table.parquet" ] || [ "$(cat "$1/.rows" 2>/dev/null)" != "$2 ${3:-} ${4:-}" ]; then
        echo "generating $2 rows in $1 …" >&2
        rm -rf "$1"; "$LAKEPORT_PYTHON" bench/gen_table.py "$1" "$2" ${3:-} ${4:-}
        echo "$2 ${3:-} ${4:-}" > "$1/.rows"
    fi
}
gen "$WORK/t1" "$ROWS" 10000 100

# The bucket: objects are files under the server's root directory.
rm -rf "$DATA"; mkdir -p "$DATA/bench/table" "$DATA/bench/small" "$DATA/bench/keys"
ln "$WORK/t1/table.parquet" "$DATA/bench/table/table.parquet" 2>/dev/null || cp "$WORK/t1/table.parquet" "$DATA/bench/table/"
gzip -c "$WORK/t1/table.csv" > "$DATA/bench/table/table.csv.gz"
cp "$WORK/t1/small/"*.csv "$DATA/bench/small/"
"$LAKEPORT_PYTHON" - "$DATA/bench/keys" "$KEYS" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"k{i:06d}.csv"), "w").close()
PY

PORT=$("$LAKEPORT_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$LAKEPORT_S3S_FS" --host 127.0.0.1 --port "$PORT" --access-key bench --secret-key bench-secret "$DATA" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

cfg() { # name extra-json
    cat > "$WORK/$1.json" <<JSON
{"bucket": "bench", "endpoint_url": "http://127.0.0.1:$PORT", "access_key_id": "bench",
 "secret_access_key": "bench-secret", "use_ssl": false, $2}
JSON
    echo "$WORK/$1.json"
}

measure() { # NAME COUNT UNIT CMD…
    local name="$1" count="$2" unit="$3"; shift 3
    /usr/bin/time -o "$WORK/.time" -f "%e %M" "$@" > /dev/null 2>"$WORK/.stderr" || {
        echo "$name: failed" >&2; tail -5 "$WORK/.stderr" >&2; return 1; }
    awk -v n="$name" -v c="$count" -v u="$unit" '{ printf "%-52s %12.0f %s/s  %8.2f s  peak RSS %7.1f MB\n", n, ($1 > 0 ? c / $1 : 0), u, $1, $2 / 1024 }' "$WORK/.time"
}

catalog() { # config out
    "$BIN/source-s3" discover --config "$1" | "$LAKEPORT_PYTHON" -c '
import json,sys
cat=[json.loads(l)["catalog"] for l in sys.stdin if "\"CATALOG\"" in l][0]
print(json.dumps({"streams":[{"stream":s,"sync_mode":"full_refresh","destination_sync_mode":"append"} for s in cat["streams"]]}))' > "$2"
}

c=$(cfg pq '"path_prefix": "table/", "globs": ["table/*.parquet"], "file_format": "parquet", "stream_name": "t"')
catalog "$c" "$WORK/s3cat-pq.json"
measure "source-s3 parquet object ($ROWS rows) → stdout" "$ROWS" records "$BIN/source-s3" read --config "$c" --catalog "$WORK/s3cat-pq.json"

c=$(cfg csvgz '"path_prefix": "table/", "globs": ["table/*.csv.gz"], "file_format": "csv", "stream_name": "t"')
catalog "$c" "$WORK/s3cat-csv.json"
measure "source-s3 csv.gz object ($ROWS rows) → stdout" "$ROWS" records "$BIN/source-s3" read --config "$c" --catalog "$WORK/s3cat-csv.json"

c=$(cfg keys '"path_prefix": "keys/", "file_format": "csv", "stream_name": "k", "max_files_per_run": 1000000, "cost_limit_usd": 1000')
measure "source-s3 estimate: list $KEYS keys" "$KEYS" keys "$BIN/source-s3" estimate --config "$c"

for w in 1 4 8; do
    c=$(cfg "small$w" "\"path_prefix\": \"small/\", \"file_format\": \"csv\", \"stream_name\": \"s\", \"parallel_workers\": $w")
    [ -f "$WORK/s3cat-small.json" ] || catalog "$c" "$WORK/s3cat-small.json"
    measure "source-s3 10,000 small CSV objects, workers=$w" 10000 files "$BIN/source-s3" read --config "$c" --catalog "$WORK/s3cat-small.json"
done

if [ "$BIG_ROWS" -gt 0 ]; then
    ONLY_PARQUET=1 gen "$WORK/t10" "$BIG_ROWS"
    ln "$WORK/t10/table.parquet" "$DATA/bench/table/big.parquet" 2>/dev/null || cp "$WORK/t10/table.parquet" "$DATA/bench/table/big.parquet"
    c=$(cfg pqbig '"path_prefix": "table/", "globs": ["table/big.parquet"], "file_format": "parquet", "stream_name": "t"')
    measure "source-s3 parquet object ($BIG_ROWS rows) → stdout" "$BIG_ROWS" records "$BIN/source-s3" read --config "$c" --catalog "$WORK/s3cat-pq.json"
fi
