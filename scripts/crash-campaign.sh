#!/usr/bin/env bash
# The crash campaign: many SIGKILLs at random moments, then an exact accounting.
#
#   scripts/crash-campaign.sh [KILLS_PER_PIPELINE]      (default 50)
#
# For `source-file | destination-file` and `source-s3 | destination-s3` (the
# latter against a real s3s-fs server the test rig starts on 127.0.0.1):
# every sync attempt is killed with SIGKILL at a random moment — the source
# or the destination — and resumed with the last STATE the destination
# echoed, until a sync completes; rounds repeat until KILLS kills landed.
# Then it counts: every source record in the output (lost: 0, altered: 0),
# duplicates each explained by a kill (records committed after the last
# STATE echoed before it) and within the at-least-once bound, no partial
# file visible as final, no stale temporary outliving the next run, and the
# multipart uploads SIGKILLs left open on the S3 side.
#
# The S3 pipeline writes 6 MB objects in 5 MB parts, so kills also land in
# multipart uploads. LAKEPORT_CRASH_SEED=<n> replays a kill schedule (each
# pipeline prints its seed). The suite runs a short form of the same
# campaign (tests/tests/crash_campaign.rs, 8 kills per pipeline).
set -euo pipefail
cd "$(dirname "$0")/.."

KILLS="${1:-50}"
eval "$(bash scripts/test-deps.sh)"
export LAKEPORT_PYTHON LAKEPORT_S3S_FS

cargo build -p source-file -p destination-file -p source-s3 -p destination-s3 >&2

failed=0
run() {
    local name=$1 log
    shift
    log=$(mktemp)
    if ! env LAKEPORT_CRASH_KILLS="$KILLS" "$@" \
        cargo test -p lakeport-tests --test crash_campaign "$name" -- --exact --nocapture --test-threads=1 \
        >"$log" 2>&1; then
        failed=1
        cat "$log" >&2
    fi
    grep -E '^(crash campaign|  (file|s3) kill)' "$log" || true
    rm -f "$log"
}

echo "== source-file | destination-file: $KILLS kills" >&2
run crash_campaign_source_file_to_destination_file LAKEPORT_CRASH_FILES=30 LAKEPORT_CRASH_PER_FILE=400
echo "== source-s3 | destination-s3: $KILLS kills (6 MB objects in 5 MB parts)" >&2
run crash_campaign_source_s3_to_destination_s3 \
    LAKEPORT_CRASH_FILES=60 LAKEPORT_CRASH_PER_FILE=600 LAKEPORT_CRASH_S3_FILE_MB=6
if [ "$failed" -ne 0 ]; then
    echo "crash campaign: FAILED (see the test output above)" >&2
fi
exit "$failed"
