"""Prints what the demo scenarios show, from the connectors' saved output.

    report.py WORK cost LABEL=RUN [LABEL=RUN ...]   COST reports side by side
    report.py WORK saving BASE=RUN OTHER=RUN        how much OTHER saves on BASE
    report.py WORK budget RUN SHARE                 SHARE of RUN's estimated cost
    report.py WORK error RUN                        the TRACE ERROR (or FAILED status)
    report.py WORK warnings RUN [WORDS]             WARN logs (containing WORDS)
    report.py WORK records RUN                      RECORD count
    report.py WORK files DIR                        files under DIR with row counts

RUN names a run of lib.sh's run_connector: WORK/RUN.out holds its stdout
(Airbyte messages). Every message line is parsed as JSON: a line that is not
one fails the scenario.
"""

import gzip
import json
import os
import sys

WORK = sys.argv[1]


def messages(run):
    out = []
    with open(os.path.join(WORK, run + ".out")) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def cost_report(run):
    for m in messages(run):
        if m.get("type") == "LOG" and m["log"]["message"].startswith("COST "):
            return json.loads(m["log"]["message"][5:])
    sys.exit(f"no COST report in {run}")


def usd(x):
    return f"${x:.6f}" if x < 0.01 else f"${x:.2f}"


ROWS = [
    ("estimated cost", lambda c: usd(c["estimated_usd"])),
    ("metered cost (sent so far)", lambda c: usd(c["actual_usd"])),
    ("LIST requests", lambda c: f'{c["list_requests"]:,}'),
    ("GET requests", lambda c: f'{c["get_requests"]:,}'),
    ("bytes received", lambda c: f'{c["bytes_scanned"]:,}'),
    ("objects listed", lambda c: f'{c["files_listed"]:,}'),
    ("objects read", lambda c: f'{c["files_read"]:,}'),
    ("partitions selected / total", lambda c: f'{c["partitions_selected"]:,} / {c["partitions_total"]:,}'),
    ("scan reduction (pruning)", lambda c: f'{c["scan_reduction_pct"]:.1f}%'),
    ("sampling rate", lambda c: f'{c["sampling_rate"]:g}'),
]


def cmd_cost(args):
    runs = [a.split("=", 1) for a in args]
    reports = [(label, cost_report(run)) for label, run in runs]
    width = max(12, *(len(label) for label, _ in reports))
    print(f'  {"":28}' + "".join(f"{label:>{width + 2}}" for label, _ in reports))
    for name, get in ROWS:
        print(f"  {name:28}" + "".join(f"{get(c):>{width + 2}}" for _, c in reports))
    for label, c in reports:
        est, act = c["estimated_usd"], c["actual_usd"]
        if act > 0 and c["files_read"] > 0:
            print(f"  {label}: estimate within {100 * abs(est - act) / act:.1f}% of the metered cost")


def cmd_saving(args):
    (bl, base), (ol, other) = [a.split("=", 1) for a in args]
    b, o = cost_report(base), cost_report(other)

    def cut(key):
        return 100 * (1 - o[key] / b[key]) if b[key] else 0.0

    print(
        f"  {ol} vs {bl}: cost -{cut('actual_usd'):.1f}%, GETs -{cut('get_requests'):.1f}%, "
        f"bytes -{cut('bytes_scanned'):.1f}%, LISTs -{cut('list_requests'):.1f}%, "
        f"objects listed -{cut('files_listed'):.1f}%"
    )


def cmd_budget(args):
    """A cost limit: the estimate of RUN times a share, with three significant digits."""
    print(f"{float(cost_report(args[0])['estimated_usd']) * float(args[1]):.3g}")


def cmd_error(args):
    for m in messages(args[0]):
        if m.get("type") == "TRACE" and m["trace"]["type"] == "ERROR":
            e = m["trace"]["error"]
            print(f'  {e["failure_type"]}: {e["message"]}')
            return
        if m.get("type") == "CONNECTION_STATUS":
            s = m["connectionStatus"]
            print(f'  CONNECTION_STATUS {s["status"]}: {s.get("message", "")}')
            return
    sys.exit(f"no error in {args[0]}")


def cmd_warnings(args):
    words = " ".join(args[1:])
    for m in messages(args[0]):
        if m.get("type") == "LOG" and m["log"]["level"] == "WARN" and words in m["log"]["message"]:
            print(f'  WARN {m["log"]["message"]}')


def cmd_records(args):
    print(sum(1 for m in messages(args[0]) if m.get("type") == "RECORD"))


def rows_of(path):
    name = path[:-3] if path.endswith(".gz") else path
    opener = gzip.open if path.endswith(".gz") else open
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    if name.endswith(".avro"):
        import fastavro

        with open(path, "rb") as f:
            return sum(1 for _ in fastavro.reader(f))
    with opener(path, "rt") as f:
        lines = sum(1 for line in f if line.strip())
    return lines - 1 if name.endswith(".csv") else lines


def cmd_files(args):
    root = args[0]
    total = 0
    for dirpath, _, names in sorted(os.walk(root)):
        for n in sorted(names):
            if n.startswith("."):
                continue
            p = os.path.join(dirpath, n)
            rows = rows_of(p)
            total += rows
            print(f"  {os.path.relpath(p, root):58} {os.path.getsize(p):>9,} bytes {rows:>8,} rows")
    print(f"  {'total':58} {'':>15} {total:>8,} rows")


COMMANDS = {
    "cost": cmd_cost,
    "saving": cmd_saving,
    "budget": cmd_budget,
    "error": cmd_error,
    "warnings": cmd_warnings,
    "records": cmd_records,
    "files": cmd_files,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[2]](sys.argv[3:])
