#!/usr/bin/env bash
# destination-s3 benchmark: RECORD lines → a local s3s-fs server as Parquet (snappy) and
# JSONL.gz; prints records/s and peak RSS. Optionally a larger run to show memory stays flat.
#
# usage: scripts/bench-destination-s3.sh [RECORDS (1000000)] [BIG_RECORDS (0 = skip; e.g. 10000000)]
# env:   BENCH_DIR (/tmp/lakeport-bench-s3), CARGO_TARGET_DIR (/root/.cache/lakeport/target),
#        S3S_FS (/root/.cache/lakeport/s3s-fs/bin/s3s-fs, installed by scripts/test-deps.sh),
#        PART_SIZE_MB (10), NO_BUILD=1 to skip the release build, BIN to run another binary.
# targets (issue 8): parquet ≥ 400,000 rec/s, jsonl.gz ≥ 300,000 rec/s, peak RSS ≤ 200 MB.
set -euo pipefail

RECORDS=${1:-1000000}
BIG_RECORDS=${2:-0}
BENCH_DIR=${BENCH_DIR:-/tmp/lakeport-bench-s3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/root/.cache/lakeport/target}
S3S_FS=${S3S_FS:-/root/.cache/lakeport/s3s-fs/bin/s3s-fs}
PART_SIZE_MB=${PART_SIZE_MB:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ -x "$S3S_FS" ] || { echo "s3s-fs not found at $S3S_FS: run scripts/test-deps.sh" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "installing /usr/bin/time (package 'time')" >&2
  (apt-get install -y -qq time >/dev/null 2>&1 || (apt-get update -qq >/dev/null && apt-get install -y -qq time >/dev/null)) \
    || echo "cannot install /usr/bin/time; peak RSS will not be measured" >&2
fi
if [ -z "${NO_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p destination-s3)
fi
BIN=${BIN:-$CARGO_TARGET_DIR/release/destination-s3}

mkdir -p "$BENCH_DIR"
DATA="$BENCH_DIR/data"
rm -rf "$DATA"; mkdir -p "$DATA/bench"

# The server, on a free port; stopped on exit.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KEY=bench-key; SECRET=bench-secret-not-real
"$S3S_FS" --host 127.0.0.1 --port "$PORT" --access-key "$KEY" --secret-key "$SECRET" "$DATA" >/dev/null 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break; sleep 0.1; done

# gen N FILE: N RECORD lines of a 7-column stream, a STATE every 100,000 records.
gen() {
  awk -v n="$1" 'BEGIN {
    split("US FR DE JP BR IN GB", c, " ");
    for (i = 0; i < n; i++) {
      printf "{\"type\":\"RECORD\",\"record\":{\"stream\":\"events\",\"emitted_at\":1700000000000,\"data\":{\"id\":%d,\"user\":\"user-%d\",\"amount\":%.2f,\"country\":\"%s\",\"active\":%s,\"score\":%d,\"created_at\":\"2024-01-%02dT12:34:56Z\"}}}\n", i, i % 100000, (i % 10000) / 7.0, c[i % 7 + 1], (i % 2 ? "true" : "false"), i % 1000, i % 28 + 1;
      if ((i + 1) % 100000 == 0) printf "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"events\"},\"stream_state\":{\"id\":%d}}}}\n", i;
    }
  }' > "$2"
}

cat > "$BENCH_DIR/catalog.json" <<'EOF'
{"streams": [{"stream": {"name": "events", "supported_sync_modes": ["full_refresh"], "json_schema": {"type": "object", "properties": {
  "id": {"type": "integer"}, "user": {"type": "string"}, "amount": {"type": "number"}, "country": {"type": "string"},
  "active": {"type": "boolean"}, "score": {"type": "integer"}, "created_at": {"type": "string", "format": "date-time"}}}},
  "sync_mode": "full_refresh", "destination_sync_mode": "append"}]}
EOF

# run NAME INPUT FORMAT COMPRESSION: one write; prints records/s and peak RSS.
run() {
  local name=$1 input=$2 format=$3 compression=$4
  local n; n=$(grep -c '"RECORD"' "$input")
  cat > "$BENCH_DIR/$name.config.json" <<EOF
{"bucket": "bench", "endpoint_url": "http://127.0.0.1:$PORT", "use_ssl": false, "access_key_id": "$KEY",
 "secret_access_key": "$SECRET", "path_prefix": "$name", "file_format": "$format", "compression": "$compression",
 "part_size_mb": $PART_SIZE_MB}
EOF
  local start end rss=0
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$BENCH_DIR/$name.rss" "$BIN" write --config "$BENCH_DIR/$name.config.json" \
      --catalog "$BENCH_DIR/catalog.json" <"$input" >"$BENCH_DIR/$name.out" 2>"$BENCH_DIR/$name.err"
    rss=$(( $(tail -1 "$BENCH_DIR/$name.rss") / 1024 ))
  else
    "$BIN" write --config "$BENCH_DIR/$name.config.json" --catalog "$BENCH_DIR/catalog.json" \
      <"$input" >"$BENCH_DIR/$name.out" 2>"$BENCH_DIR/$name.err"
  fi
  end=$(date +%s.%N)
  grep -q '"TRACE"' "$BENCH_DIR/$name.out" && { echo "$name failed:" >&2; cat "$BENCH_DIR/$name.out" >&2; exit 1; }
  local secs rps bytes
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
  rps=$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%d", n / s }')
  bytes=$(du -sb "$DATA/bench/$name" | cut -f1)
  printf '%-28s %10d records  %7ss  %9d rec/s  peak RSS %4d MB  %6d KB on S3\n' \
    "$name" "$n" "$secs" "$rps" "$rss" $((bytes / 1024))
  grep -o 'Wrote [^"]*' "$BENCH_DIR/$name.out" | sed 's/^/    /'
}

echo "generating $RECORDS RECORD lines …" >&2
gen "$RECORDS" "$BENCH_DIR/records.jsonl"
echo "== $RECORDS records, part_size_mb $PART_SIZE_MB =="
run parquet-snappy "$BENCH_DIR/records.jsonl" parquet snappy
run jsonl-gzip "$BENCH_DIR/records.jsonl" jsonl gzip

if [ "$BIG_RECORDS" -gt 0 ]; then
  echo "generating $BIG_RECORDS RECORD lines …" >&2
  gen "$BIG_RECORDS" "$BENCH_DIR/big.jsonl"
  echo "== $BIG_RECORDS records (memory must stay flat) =="
  run big-parquet-snappy "$BENCH_DIR/big.jsonl" parquet snappy
  run big-jsonl-gzip "$BENCH_DIR/big.jsonl" jsonl gzip
  rm -f "$BENCH_DIR/big.jsonl"
fi
