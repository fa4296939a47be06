#!/usr/bin/env bash
# Benchmarks source-s3 (release build) against a local s3s-fs server and
# prints records/s, keys/s, files/s, peak RSS and CPU seconds (ours and the
# server's):
#   - a 1M-row Parquet object and a 1M-row CSV.gz object → RECORD lines;
#   - listing 100,000 keys (estimate: LIST only), with the client's and the
#     server's CPU time and the time per LIST page;
#   - 10,000 small CSV objects with parallel_workers 1, 4 and 8;
#   - flatness: the Parquet read at ROWS and at BIG_ROWS rows;
#   - against Airbyte's own source-s3 4.16.1 (the CDK venv of scripts/test-deps.sh),
#     same Airbyte config, same server, one run: a 200,000-row CSV object and
#     2,000 CSV objects of 3 rows, each side discovering its own catalog and
#     reading everything (ours best of 3; Airbyte's once: its run takes minutes).
# usage: bench/source-s3.sh [ROWS] [BIG_ROWS] [KEYS]   (defaults 1000000 10000000 100000)
#
# The objects read are uploaded through the server (PUT / multipart upload),
# as objects reach S3. BENCH_PLACE=link instead places the files in the
# server's directory: s3s-fs then has no stored ETag and hashes the WHOLE
# object (MD5) on every GET, ranged ones included — a cost of that server
# real S3 does not have, which makes a Parquet read O(requests × object size).
# The 100,000 keys of the listing test are placed directly (empty files, no
# GET reads them) in a bucket of their own: s3s-fs walks its whole bucket
# directory for every LIST page, so they would slow every other listing.
# BENCH_ONLY="parquet csv list small big airbyte" picks sections (default: all).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${1:-1000000}"
BIG_ROWS="${2:-10000000}"
KEYS="${3:-100000}"
ONLY="${BENCH_ONLY:-parquet csv list small big airbyte}"
PLACE="${BENCH_PLACE:-put}"
eval "$(bash scripts/test-deps.sh)"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p source-s3
BIN="${SOURCE_S3_BIN:-$CARGO_TARGET_DIR/release/source-s3}"
WORK="${BENCH_DIR:-$HOME/.cache/lakeport/bench}"
DATA="$WORK/s3data"
mkdir -p "$WORK"
want() { [[ " $ONLY " == *" $1 "* ]]; }

gen() { # dir rows [files per]
    if [ ! -f "$1/table.parquet" ] || [ "$(cat "$1/.rows" 2>/dev/null)" != "$2 ${3:-} ${4:-}" ]; then
        echo "generating $2 rows in $1 …" >&2
        rm -rf "$1"; "$LAKEPORT_PYTHON" bench/gen_table.py "$1" "$2" ${3:-} ${4:-}
        echo "$2 ${3:-} ${4:-}" > "$1/.rows"
    fi
}
gen "$WORK/t1" "$ROWS" 10000 100
[ -f "$WORK/t1/table.csv.gz" ] && [ "$WORK/t1/table.csv.gz" -nt "$WORK/t1/table.csv" ] \
    || gzip -c "$WORK/t1/table.csv" > "$WORK/t1/table.csv.gz"
if want big && [ "$BIG_ROWS" -gt 0 ]; then ONLY_PARQUET=1 gen "$WORK/t10" "$BIG_ROWS"; fi
if want airbyte; then
    if [ -z "${LAKEPORT_CDK_PYTHON:-}" ]; then
        echo "airbyte: skipped (no CDK venv: LAKEPORT_SKIP_CDK is set)" >&2
        ONLY="${ONLY//airbyte/}"
    else
        gen "$WORK/tab" 200000 2000 3
    fi
fi

# Buckets are directories under the server's root.
rm -rf "$DATA"; mkdir -p "$DATA/bench" "$DATA/bench-keys/keys"
if want list; then
    "$LAKEPORT_PYTHON" - "$DATA/bench-keys/keys" "$KEYS" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i // 1000:03d}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, f"k{i:06d}.csv"), "w").close()
PY
fi

PORT=$("$LAKEPORT_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$LAKEPORT_S3S_FS" --host 127.0.0.1 --port "$PORT" --access-key bench --secret-key bench-secret "$DATA" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

# put SRC KEY: one object (PUT or multipart upload through the server, or a hard link).
# put_dir SRC_DIR PREFIX: every file of a directory.
upload() { # (src key)…
    "$LAKEPORT_PYTHON" - "$PORT" "$@" <<'PY'
import sys
from concurrent.futures import ThreadPoolExecutor
import pyarrow.fs as pafs
port, args = sys.argv[1], sys.argv[2:]
s3 = pafs.S3FileSystem(access_key="bench", secret_key="bench-secret", endpoint_override=f"127.0.0.1:{port}",
                       scheme="http", region="us-east-1", allow_bucket_creation=False)
local = pafs.LocalFileSystem()
def one(pair):
    pafs.copy_files(pair[0], "bench/" + pair[1], source_filesystem=local, destination_filesystem=s3)
with ThreadPoolExecutor(8) as ex:
    list(ex.map(one, zip(args[0::2], args[1::2])))
PY
}
put() { # src key
    if [ "$PLACE" = link ]; then
        mkdir -p "$(dirname "$DATA/bench/$2")"
        ln "$1" "$DATA/bench/$2" 2>/dev/null || cp "$1" "$DATA/bench/$2"
    else
        upload "$1" "$2"
    fi
}
put_dir() { # dir prefix
    if [ "$PLACE" = link ]; then
        mkdir -p "$DATA/bench/$2"; cp "$1"/* "$DATA/bench/$2/"
    else
        upload "$1" "$2"
    fi
}
echo "objects: $PLACE ($( [ "$PLACE" = link ] && echo 'files placed in the server directory' || echo 'uploaded through the server'))" >&2
want parquet && put "$WORK/t1/table.parquet" table/table.parquet
want csv && put "$WORK/t1/table.csv.gz" table/table.csv.gz
want small && put_dir "$WORK/t1/small" small
if want big && [ "$BIG_ROWS" -gt 0 ]; then put "$WORK/t10/table.parquet" big/big.parquet; fi
if want airbyte; then put "$WORK/tab/table.csv" ab-wide/table.csv; put_dir "$WORK/tab/small" ab-small; fi

cfg() { # name extra-json [bucket]
    cat > "$WORK/$1.json" <<JSON
{"bucket": "${3:-bench}", "endpoint_url": "http://127.0.0.1:$PORT", "access_key_id": "bench",
 "secret_access_key": "bench-secret", "use_ssl": false, $2}
JSON
    echo "$WORK/$1.json"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TICK=$(getconf CLK_TCK)

measure() { # NAME COUNT UNIT CMD…
    local name="$1" count="$2" unit="$3"; shift 3
    local before after
    before=$(cpu_ticks $SERVER)
    /usr/bin/time -o "$WORK/.time" -f "%e %M %U %S" "$@" > /dev/null 2>"$WORK/.stderr" || {
        echo "$name: failed" >&2; tail -5 "$WORK/.stderr" >&2; return 0; }
    after=$(cpu_ticks $SERVER)
    awk -v n="$name" -v c="$count" -v u="$unit" -v srv="$(( after - before ))" -v tck="$TICK" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        '{ printf "%-50s %10.0f %s/s  %7.2f s  RSS %6.1f MB  cpu: ours %6.2f s, server %6.2f s  (load %s)\n",
                  n, ($1 > 0 ? c / $1 : 0), u, $1, $2 / 1024, $3 + $4, srv / tck, load }' "$WORK/.time"
}

catalog() { # config out
    "$BIN" discover --config "$1" | "$LAKEPORT_PYTHON" -c '
import json,sys
cat=[json.loads(l)["catalog"] for l in sys.stdin if "\"CATALOG\"" in l][0]
print(json.dumps({"streams":[{"stream":s,"sync_mode":"full_refresh","destination_sync_mode":"append"} for s in cat["streams"]]}))' > "$2"
}

# The COST report's request counts of the last run.
requests() { grep -o '"list_requests":[0-9]*\|"get_requests":[0-9]*\|"head_requests":[0-9]*' "$WORK/.stderr" | tr '\n' ' ' || true; }

uptime >&2
if want parquet; then
    c=$(cfg pq '"path_prefix": "table/", "globs": ["table/*.parquet"], "file_format": "parquet", "stream_name": "t"')
    catalog "$c" "$WORK/s3cat-pq.json"
    for _ in 1 2; do
        measure "source-s3 parquet object ($ROWS rows) → stdout" "$ROWS" records "$BIN" read --config "$c" --catalog "$WORK/s3cat-pq.json"
    done
    echo "    requests: $(requests)"
fi

if want csv; then
    c=$(cfg csvgz '"path_prefix": "table/", "globs": ["table/*.csv.gz"], "file_format": "csv", "stream_name": "t"')
    catalog "$c" "$WORK/s3cat-csv.json"
    measure "source-s3 csv.gz object ($ROWS rows) → stdout" "$ROWS" records "$BIN" read --config "$c" --catalog "$WORK/s3cat-csv.json"
fi

if want list; then
    c=$(cfg keys '"path_prefix": "keys/", "file_format": "csv", "stream_name": "k", "max_files_per_run": 1000000, "cost_limit_usd": 1000' bench-keys)
    measure "source-s3 estimate: list $KEYS keys" "$KEYS" keys "$BIN" estimate --config "$c"
    # Listings of folders run concurrently: the wall time per LIST request, not a round trip.
    lists=$(grep -o '"list_requests":[0-9]*' "$WORK/.stderr" | tail -1 | cut -d: -f2)
    echo "    requests: $(requests); wall time per LIST request: $(awk -v n="${lists:-0}" '{ printf "%.1f ms", (n > 0 ? 1000 * $1 / n : 0) }' "$WORK/.time")"
fi

if want small; then
    for w in 1 4 8; do
        c=$(cfg "small$w" "\"path_prefix\": \"small/\", \"file_format\": \"csv\", \"stream_name\": \"s\", \"parallel_workers\": $w")
        [ "$w" != 1 ] || catalog "$c" "$WORK/s3cat-small.json"
        measure "source-s3 10,000 small CSV objects, workers=$w" 10000 files "$BIN" read --config "$c" --catalog "$WORK/s3cat-small.json"
        secs[$w]=$(cut -d' ' -f1 "$WORK/.time")
    done
    awk -v a="${secs[1]}" -v b="${secs[4]}" -v c="${secs[8]}" 'BEGIN {
        printf "    workers=4 / workers=1: %.1fx (target >= 1.7x); workers=8: %.0f files/s (target >= 1,000)\n", (b > 0 ? a / b : 0), (c > 0 ? 10000 / c : 0) }'
fi

if want big && [ "$BIG_ROWS" -gt 0 ]; then
    c=$(cfg pqbig '"path_prefix": "big/", "file_format": "parquet", "stream_name": "t"')
    [ -f "$WORK/s3cat-pq.json" ] || catalog "$c" "$WORK/s3cat-pq.json"
    measure "source-s3 parquet object ($BIG_ROWS rows) → stdout" "$BIG_ROWS" records "$BIN" read --config "$c" --catalog "$WORK/s3cat-pq.json"
    echo "    requests: $(requests)"
fi

if want airbyte; then
    AIRBYTE="$(dirname "$LAKEPORT_CDK_PYTHON")/source-s3"
    # ab_cfg NAME GLOB: the Airbyte v4 config both connectors read.
    ab_cfg() {
        cat > "$WORK/$1.json" <<JSON
{"bucket": "bench", "aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret",
 "endpoint": "http://127.0.0.1:$PORT", "region_name": "us-east-1",
 "delivery_method": {"delivery_type": "use_records_transfer"},
 "streams": [{"name": "t", "globs": ["$2"], "format": {"filetype": "csv"}}]}
JSON
        echo "$WORK/$1.json"
    }
    # ab_catalog EXE CONFIG OUT: EXE's own discovered catalog, every stream in full.
    ab_catalog() {
        HOME="$WORK" "$1" discover --config "$2" | "$LAKEPORT_PYTHON" -c '
import json,sys
cat=[json.loads(l)["catalog"] for l in sys.stdin if "\"CATALOG\"" in l][0]
print(json.dumps({"streams":[{"stream":s,"sync_mode":"full_refresh","destination_sync_mode":"overwrite"} for s in cat["streams"]]}))' > "$3"
    }
    # ab_time NAME COUNT ROUNDS EXE CONFIG CATALOG: the best wall time of ROUNDS reads
    # (every record counted: a read that returned fewer fails the benchmark).
    ab_time() {
        local name="$1" count="$2" rounds="$3" exe="$4" best=""
        for _ in $(seq "$rounds"); do
            HOME="$WORK" /usr/bin/time -o "$WORK/.time" -f "%e %M" "$exe" read --config "$5" --catalog "$6" \
                > "$WORK/.out" 2> "$WORK/.stderr" || { echo "$name: failed" >&2; tail -5 "$WORK/.stderr" >&2; exit 1; }
            local got; got=$(grep -c '"type": *"RECORD"' "$WORK/.out" || true)
            [ "$got" = "$count" ] || { echo "$name: $got records, expected $count" >&2; exit 1; }
            read -r s m < "$WORK/.time"
            if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$s"; RSS="$m"; fi
        done
        SECS="$best"
        awk -v n="$name" -v c="$count" -v s="$best" -v m="$RSS" 'BEGIN {
            printf "%-50s %10.0f records/s  %7.2f s  RSS %6.1f MB\n", n, c / s, s, m / 1024 }'
    }
    for case in "wide:ab-wide/*.csv:200000:the 200,000-row CSV object:30" "small:ab-small/*.csv:6000:2,000 CSV objects of 3 rows:10"; do
        IFS=: read -r tag glob count label target <<< "$case"
        c=$(ab_cfg "ab-$tag" "$glob")
        ab_catalog "$BIN" "$c" "$WORK/ab-ours-$tag.json"
        ab_catalog "$AIRBYTE" "$c" "$WORK/ab-theirs-$tag.json"
        ab_time "ours: $label" "$count" 3 "$BIN" "$c" "$WORK/ab-ours-$tag.json"; ours="$SECS"
        ab_time "Airbyte source-s3 4.16.1: $label" "$count" 1 "$AIRBYTE" "$c" "$WORK/ab-theirs-$tag.json"
        awk -v a="$ours" -v b="$SECS" -v t="$target" 'BEGIN { printf "    ours / Airbyte: %.1fx faster (target >= %dx)\n", b / a, t }'
    done
fi
