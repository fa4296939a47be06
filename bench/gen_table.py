"""Generates the benchmark table: N rows, 12 mixed-type columns, written as
CSV, JSONL and Parquet (pyarrow), plus many small CSV files on request.

usage: gen_table.py OUT_DIR ROWS [SMALL_FILES ROWS_PER_SMALL_FILE]
"""
import os
import sys

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pyarrow.compute as pc

out, rows = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)


def table(n, offset=0):
    idx = pa.array(range(offset, offset + n), pa.int64())
    return pa.table({
        "id": idx,
        "user_id": pc.multiply(pc.bit_wise_and(idx, 0xFFFF), 7),
        "amount": pc.divide(pc.cast(pc.bit_wise_and(idx, 0x3FFF), pa.float64()), 3.0),
        "quantity": pc.cast(pc.bit_wise_and(idx, 15), pa.int32()),
        "active": pc.equal(pc.bit_wise_and(idx, 1), 0),
        "name": pc.binary_join_element_wise("user-", pc.cast(idx, pa.string()), ""),
        "country": pc.choose(pc.cast(pc.bit_wise_and(idx, 3), pa.int8()),
                             pa.scalar("FR"), pa.scalar("DE"), pa.scalar("US"), pa.scalar("JP")),
        "comment": pc.if_else(pc.equal(pc.bit_wise_and(idx, 7), 0), pa.scalar(None, pa.string()),
                              pa.scalar("a moderately long free-text comment, with a comma")),
        "created": pc.cast(pc.add(pc.multiply(idx, 60_000_000), 1_700_000_000_000_000), pa.timestamp("us", tz="UTC")),
        "day": pc.cast(pc.cast(pc.add(pc.bit_wise_and(idx, 1023), 19000), pa.int32()), pa.date32()),
        "score": pc.multiply(pc.cast(idx, pa.float64()), 0.001),
        "code": pc.cast(pc.bit_wise_and(idx, 0xFFFFFF), pa.int64()),
    })


t = table(rows)
pq.write_table(t, os.path.join(out, "table.parquet"), compression="snappy", row_group_size=128 * 1024)
if os.environ.get("ONLY_PARQUET"):
    sys.exit(0)
pcsv.write_csv(t, os.path.join(out, "table.csv"))
with open(os.path.join(out, "table.jsonl"), "w") as f:
    batch = 100_000
    for start in range(0, rows, batch):
        import json
        for r in t.slice(start, batch).to_pylist():
            r["created"] = r["created"].isoformat().replace("+00:00", "Z")
            r["day"] = r["day"].isoformat()
            f.write(json.dumps(r))
            f.write("\n")

if len(sys.argv) > 3:
    files, per = int(sys.argv[3]), int(sys.argv[4])
    small = os.path.join(out, "small")
    os.makedirs(small, exist_ok=True)
    for i in range(files):
        pcsv.write_csv(table(per, i * per), os.path.join(small, f"part-{i:05d}.csv"))
