"""Generates a hive-partitioned event layout for the scenarios and tests.

    python gen_events.py OUT_DIR [--years 2023,2024] [--days 28] [--parts 5]
                         [--rows 20] [--format parquet|csv|jsonl]

writes OUT_DIR/year=YYYY/month=MM/day=DD/part-N.<ext> (2 years x 12 months x
28 days x 5 parts = 3,360 files in 672 partitions by default). Every row is
unique and says where it lives: id (unique across the layout), event_date,
part, user_id, country, amount. Prints one JSON line: files, partitions,
rows, bytes. Needs pyarrow (the test venv of scripts/test-deps.sh has it).
"""

import argparse
import json
import os

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

COUNTRIES = ["fr", "de", "us", "jp", "br", "in"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--years", default="2023,2024")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--parts", type=int, default=5)
    ap.add_argument("--rows", type=int, default=20)
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv", "jsonl"])
    args = ap.parse_args()
    years = [int(y) for y in args.years.split(",")]
    files = partitions = rows = size = 0
    next_id = 0
    for y in years:
        for m in range(1, 13):
            for d in range(1, args.days + 1):
                folder = os.path.join(args.out, f"year={y}", f"month={m:02}", f"day={d:02}")
                os.makedirs(folder, exist_ok=True)
                partitions += 1
                for p in range(args.parts):
                    ids = list(range(next_id, next_id + args.rows))
                    next_id += args.rows
                    table = pa.table(
                        {
                            "id": pa.array(ids, pa.int64()),
                            "event_date": [f"{y}-{m:02}-{d:02}"] * args.rows,
                            "part": pa.array([p] * args.rows, pa.int64()),
                            "user_id": pa.array([(i * 7919) % 1000 for i in ids], pa.int64()),
                            "country": [COUNTRIES[i % len(COUNTRIES)] for i in ids],
                            "amount": pa.array([round((i % 997) * 1.25, 2) for i in ids], pa.float64()),
                        }
                    )
                    path = os.path.join(folder, f"part-{p}.{args.format}")
                    if args.format == "parquet":
                        pq.write_table(table, path)
                    elif args.format == "csv":
                        pacsv.write_csv(table, path)
                    else:
                        with open(path, "w") as f:
                            for r in table.to_pylist():
                                f.write(json.dumps(r) + "\n")
                    files += 1
                    rows += args.rows
                    size += os.path.getsize(path)
    print(json.dumps({"files": files, "partitions": partitions, "rows": rows, "bytes": size}))


if __name__ == "__main__":
    main()
