#!/usr/bin/env bash
# Benchmarks shards: one stream of FILES CSV objects of mixed sizes (a few
# hundred bytes to ~2 MB, a fixed seed) on a local s3s-fs server, read
#   - unsharded, by one source-s3 process;
#   - as 4 shards (`shard: {"index": i, "count": 4}`) run one after another,
#     printing each shard's wall time, bytes and records, their sum (this
#     machine doing the work of 4) and the largest (the wall time on 4
#     machines), so the speed-up on N machines reads off as
#     unsharded / largest shard (≈ N × when the shards are balanced).
# The shards' record counts must add up to the unsharded read's (checked).
# usage: bench/shards.sh [FILES] [SHARDS]   (defaults 4000 4)
#
# Environment: SKIP_BUILD=1 reuses the release binary (or SOURCE_S3_BIN names
# one), BENCH_DIR (default ~/.cache/lakeport/bench-shards) keeps the data
# between runs, CARGO_TARGET_DIR as for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
FILES="${1:-4000}"
SHARDS="${2:-4}"
eval "$(bash scripts/test-deps.sh)"
[ -x /usr/bin/time ] || { apt-get update -qq && apt-get install -y -qq time; }
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet -p source-s3
BIN="${SOURCE_S3_BIN:-$CARGO_TARGET_DIR/release/source-s3}"
WORK="${BENCH_DIR:-$HOME/.cache/lakeport/bench-shards}"
DATA="$WORK/s3data"
mkdir -p "$WORK"

# The objects, placed in the server's directory (bucket "bench", prefix events/).
if [ "$(cat "$DATA/.files" 2>/dev/null)" != "$FILES" ]; then
    echo "generating $FILES objects in $DATA …" >&2
    rm -rf "$DATA"; mkdir -p "$DATA/bench/events"
    "$LAKEPORT_PYTHON" - "$DATA/bench/events" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(20)
for i in range(n):
    d = os.path.join(root, f"day={i % 30:02d}")
    os.makedirs(d, exist_ok=True)
    # Mixed sizes: mostly small, some medium, a few large (lognormal rows).
    rows = max(1, min(20000, int(rnd.lognormvariate(4.5, 1.6))))
    with open(os.path.join(d, f"part-{i:06d}.csv"), "w") as f:
        f.write("id,user,amount,note\n")
        for r in range(rows):
            f.write(f"{i * 100000 + r},user{rnd.randrange(10000)},{rnd.random() * 1000:.2f},note-{rnd.randrange(10**9)}\n")
PY
    echo "$FILES" > "$DATA/.files"
fi
echo "objects: $FILES, $(du -sh "$DATA/bench" | cut -f1)" >&2

PORT=$("$LAKEPORT_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$LAKEPORT_S3S_FS" --host 127.0.0.1 --port "$PORT" --access-key bench --secret-key bench-secret "$DATA" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

plain="$WORK/plain.json"
cat > "$plain" <<JSON
{"bucket": "bench", "endpoint_url": "http://127.0.0.1:$PORT", "access_key_id": "bench",
 "secret_access_key": "bench-secret", "use_ssl": false, "path_prefix": "events/",
 "file_format": "csv", "stream_name": "events", "max_files_per_run": 1000000}
JSON
"$BIN" discover --config "$plain" | "$LAKEPORT_PYTHON" -c '
import json,sys
cat=[json.loads(l)["catalog"] for l in sys.stdin if "\"CATALOG\"" in l][0]
print(json.dumps({"streams":[{"stream":s,"sync_mode":"full_refresh","destination_sync_mode":"append"} for s in cat["streams"]]}))' > "$WORK/catalog.json"

# run NAME CONFIG: one read (its records counted as they stream by); prints
# "<seconds> <records> <bytes scanned>".
run() {
    { /usr/bin/time -o "$WORK/.time" -f "%e" "$BIN" read --config "$2" --catalog "$WORK/catalog.json" 2>"$WORK/.stderr" \
        || echo "FAILED"; } | awk '/"type":"RECORD"/ { n++; next } /bytes_scanned/ { cost = $0 } /^FAILED$/ { failed = 1 }
            END { if (failed) exit 1; match(cost, /bytes_scanned[^0-9]*[0-9]+/); b = substr(cost, RSTART, RLENGTH);
                  sub(/^[^0-9]*/, "", b); print n + 0, b + 0 }' > "$WORK/.counts" || {
        echo "$1: failed" >&2; tail -5 "$WORK/.stderr" >&2; exit 1; }
    echo "$(tail -1 "$WORK/.time") $(cat "$WORK/.counts")"
}

uptime >&2
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
read -r base_s base_n base_b <<<"$(run unsharded "$plain")"
printf "%-28s %8.2f s  %9d records  %8s MB\n" "unsharded (1 process)" "$base_s" "$base_n" "$(mb "$base_b")"
: > "$WORK/.shards"
for i in $(seq 0 $((SHARDS - 1))); do
    c="$WORK/shard$i.json"
    sed "s/}\$/, \"shard\": {\"index\": $i, \"count\": $SHARDS}}/" "$plain" | tr -d '\n' > "$c"
    read -r s n b <<<"$(run "shard $i" "$c")"
    printf "%-28s %8.2f s  %9d records  %8s MB\n" "shard $i of $SHARDS" "$s" "$n" "$(mb "$b")"
    echo "$s $n $b" >> "$WORK/.shards"
done
awk -v base_s="$base_s" -v base_n="$base_n" -v n="$SHARDS" '
    { sum_s += $1; sum_n += $2; sum_b += $3; if ($1 > max_s) max_s = $1; if ($3 > max_b) max_b = $3 }
    END {
        if (sum_n != base_n) { printf "the shards read %d records, the unsharded read %d\n", sum_n, base_n > "/dev/stderr"; exit 1 }
        printf "%-28s %8.2f s  (one machine running the %d shards one after another)\n", "sum of shards", sum_s, n
        printf "%-28s %8.2f s  (the wall time on %d machines)\n", "largest shard", max_s, n
        printf "speed-up on %d machines: %.2fx (unsharded / largest shard); largest shard bytes / mean: %.3f\n",
            n, (max_s > 0 ? base_s / max_s : 0), (sum_b > 0 ? max_b / (sum_b / n) : 0)
    }' "$WORK/.shards"
