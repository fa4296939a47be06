#!/usr/bin/env bash
# Scenario 2 — a production environment with partitioning (seed 000's
# "Production Environment" config: partition_keys year/month/day,
# partition_filter year 2024 and months 01–03, cost_limit_usd 500,
# max_data_size_gb 1000).
#
# Shows: the listing pruned to the filter's prefixes (LISTs and objects
# listed), the GETs and bytes saved, the estimate against the metered cost,
# partition values as record fields, and a filter on a key the data does not
# have with the error it gives.
#
# Run: examples/scenarios/02-production-partitioning.sh
source "$(dirname "$0")/lib.sh"

section "Scenario 2: a production environment with partitioning"
start_server analytics-data
echo "generating hive-partitioned Parquet events..."
gen_events "$DATA/analytics-data/events"

# 100 keys per LIST page: this layout then lists in as many pages as a
# layout 10 times larger does at S3's 1,000, so the listing cost shows.
all=$(config all.json '{"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet",
    "list_page_size": 100, "cost_limit_usd": 500.0, "max_data_size_gb": 1000.0}')
prod=$(config prod.json '{"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet",
    "list_page_size": 100, "cost_limit_usd": 500.0, "max_data_size_gb": 1000.0,
    "partition_keys": ["year", "month", "day"],
    "partition_filter": {"year": "2024", "month": ["01", "02", "03"]},
    "partition_columns": true}')
echo
echo "The production config (seed 000's example):"
"$PY" -c 'import json,sys; c=json.load(open(sys.argv[1])); print("  partition_keys:", json.dumps(c["partition_keys"])); print("  partition_filter:", json.dumps(c["partition_filter"]))' "$prod"
cat=$(catalog catalog.json "$prod")

section "Before: estimate"
ok_run est_all source-s3 estimate --config "$all" --catalog "$cat"
ok_run est_prod source-s3 estimate --config "$prod" --catalog "$cat"
report cost "all partitions=est_all" "2024 Q1=est_prod"

section "After: read, metered"
ok_run read_all source-s3 read --config "$all" --catalog "$cat"
ok_run read_prod source-s3 read --config "$prod" --catalog "$cat"
report cost "all partitions=read_all" "2024 Q1=read_prod"
report saving "all partitions=read_all" "2024 Q1=read_prod"
echo "  records: all $(report records read_all), 2024 Q1 $(report records read_prod)"
echo "  a record of 2024 Q1, with its partition values as fields (partition_columns):"
grep -m1 '"type":"RECORD"' "$WORK/read_prod.out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin)["record"]["data"]; print("   ", json.dumps({k: d[k] for k in ("id", "event_date", "year", "month", "day", "_ab_source_file_url")}))'

section "Mistake: a filter on a key the data does not have"
bad=$(config bad.json '{"bucket": "analytics-data", "path_prefix": "events/", "file_format": "parquet",
    "partition_keys": ["year", "month", "day"], "partition_filter": {"country": "fr"}}')
if run_connector bad source-s3 read --config "$bad" --catalog "$cat"; then
    echo "error: the bad filter was accepted" >&2
    exit 1
fi
report error bad
echo
echo "Scenario 2 done: partition optimisation visibly reduces costs."
