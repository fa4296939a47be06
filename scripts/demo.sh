#!/usr/bin/env bash
# The demo pipeline, on the bundled sample data (no cloud account needed):
#
#   source-sqlite (examples/sample/shop.db)
#     | destination-file (Parquet)  -> demo-output/parquet/<stream>/…
#   source-file (those Parquet files, one stream per directory)
#     | destination-file (CSV)      -> demo-output/csv/<stream>/…
#
# Prints where the files are and how many records each step moved.
set -euo pipefail
cd "$(dirname "$0")/.."

PROFILE="${LAKEPORT_PROFILE:-debug}"
if [ "$PROFILE" = release ]; then
    cargo build --release --quiet --bins
else
    cargo build --quiet --bins
fi
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"

rm -rf demo-output
mkdir -p demo-output
log="demo-output/messages"
mkdir -p "$log"

count() { grep -c '"type":"RECORD"' "$1" || true; }
states() { grep -c '"type":"STATE"' "$1" || true; }

echo "1. source-sqlite read | destination-file write (parquet)"
"$BIN/source-sqlite" read --config examples/configs/sqlite-shop.json > "$log/sqlite.jsonl"
"$BIN/destination-file" write --config examples/configs/parquet-out.json < "$log/sqlite.jsonl" > "$log/parquet-write.jsonl"
echo "   $(count "$log/sqlite.jsonl") records read from SQLite; destination echoed $(states "$log/parquet-write.jsonl") states"

echo "2. source-file read | destination-file write (csv)"
"$BIN/source-file" read --config examples/configs/parquet-in.json > "$log/parquet.jsonl"
"$BIN/destination-file" write --config examples/configs/csv-out.json < "$log/parquet.jsonl" > "$log/csv-write.jsonl"
echo "   $(count "$log/parquet.jsonl") records read back from Parquet; destination echoed $(states "$log/csv-write.jsonl") states"

echo
echo "Files written:"
find demo-output/parquet demo-output/csv -type f | sort | while read -r f; do
    printf '   %-70s %8s bytes\n' "$f" "$(wc -c < "$f" | tr -d ' ')"
done
echo
echo "Protocol messages of each step are in $log/."
