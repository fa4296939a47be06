#!/usr/bin/env bash
# Scenario 1 — a development environment with cost controls (seed 000's
# "Development Environment" config: cost_limit_usd, dev_sampling 0.1,
# dev_max_files 100).
#
# Shows: the COST report before (estimate) and after (metered) a full read
# and a development read; a runaway read stopped by `cost_limit_usd` before
# its first GET, and a full refresh over `max_files_per_run`, with the
# message each gives.
#
# Run: examples/scenarios/01-development-cost-controls.sh
# (LAKEPORT_BIN_DIR=target/debug to use built binaries; see lib.sh.)
source "$(dirname "$0")/lib.sh"

section "Scenario 1: a development environment with cost controls"
start_server analytics-data
echo "generating hive-partitioned Parquet events..."
gen_events "$DATA/analytics-data/events"

full=$(config full.json '{"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet"}')
dev=$(config dev.json '{"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet",
    "cost_limit_usd": 5.0, "dev_sampling": 0.1, "dev_max_files": 100}')
echo
echo "The development config (seed 000's example):"
grep -E '"(cost_limit_usd|dev_sampling|dev_max_files)"' "$dev" | sed 's/^/  /'
cat=$(catalog catalog.json "$full")

section "Before: estimate (lists and prices, downloads nothing)"
ok_run est_full source-s3 estimate --config "$full" --catalog "$cat"
ok_run est_dev source-s3 estimate --config "$dev" --catalog "$cat"
report cost "full=est_full" "development=est_dev"

section "After: read, metered"
ok_run read_full source-s3 read --config "$full" --catalog "$cat"
ok_run read_dev source-s3 read --config "$dev" --catalog "$cat"
report cost "full=read_full" "development=read_dev"
report saving "full=read_full" "development=read_dev"
report warnings read_dev "Development sampling"
echo "  records: full $(report records read_full), development $(report records read_dev)"

section "A runaway read stopped by cost_limit_usd (before its first GET)"
# The data here is small: the budget is half of what the full read costs.
budget=$(report budget est_full 0.5)
echo "  cost_limit_usd $budget: half of what reading every object costs"
runaway=$(config runaway.json "{\"bucket\": \"analytics-data\", \"path_prefix\": \"events/\", \"file_format\": \"parquet\",
    \"cost_limit_usd\": $budget}")
if run_connector runaway source-s3 read --config "$runaway" --catalog "$cat"; then
    echo "error: the runaway read was not stopped" >&2
    exit 1
fi
echo "  exit status: non-zero; records read: $(report records runaway)"
report error runaway
report cost "refused=runaway"

section "A full refresh over max_files_per_run fails up front"
capped=$(config capped.json '{"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet",
    "max_files_per_run": 500}')
if run_connector capped source-s3 read --config "$capped" --catalog "$cat"; then
    echo "error: the capped read was not stopped" >&2
    exit 1
fi
report error capped
echo
echo "Scenario 1 done: cost controls prevent runaway operations."
