"""Reads every data file under a corpus folder with source-file (discover, then read with the
discovered catalog, as Airbyte runs a source) and compares each value with an independent
reader: pyarrow (Parquet), fastavro (Avro), Python's csv module (CSV), through
tests/python/fidelity_reference.py. Prints one line per file and a summary:

  exact                    every value equal
  mismatch                 read with exit 0, but a value differs (a silent wrong answer)
  refused-but-readable     source-file refused it, the reference reader reads it
  refused-and-unreadable   both refuse it (a broken file: a clear error is right)
  read-reference-cannot    source-file read it, the reference reader cannot

Usage: python fidelity_corpus.py CORPUS_DIR SOURCE_FILE_BINARY REFERENCE_PY [--json OUT]
"""
import csv
import datetime
import decimal
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

FORMATS = {".parquet": "parquet", ".parq": "parquet", ".avro": "avro", ".csv": "csv"}
TIMEOUT = 300

corpus, binary, reference_py = sys.argv[1], sys.argv[2], sys.argv[3]
json_out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None

spec = importlib.util.spec_from_file_location("fidelity_reference", reference_py)
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def files():
    for root, _, names in os.walk(corpus):
        for n in sorted(names):
            ext = os.path.splitext(n)[1].lower()
            if ext in FORMATS:
                yield os.path.join(root, n), FORMATS[ext]


def run(args, cwd):
    try:
        p = subprocess.run([binary] + args, capture_output=True, text=True, timeout=TIMEOUT, cwd=cwd)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return "timeout", "", ""


def errors(stdout):
    out = []
    for line in stdout.splitlines():
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("type") == "TRACE" and m["trace"].get("type") == "ERROR":
            out.append(m["trace"]["error"]["message"])
    return out


def source_file(path, fmt, work):
    """Discover, then read with the discovered catalog: (exit code, stdout, error)."""
    cfg = os.path.join(work, "config.json")
    with open(cfg, "w") as fh:
        json.dump({"file_path": path, "format": fmt, "stream_name": "t", "json_flatten": False}, fh)
    code, out, err = run(["discover", "--config", cfg], work)
    if code != 0:
        return code, out, (errors(out) or [err.strip()[-300:]])[0]
    catalog = next(json.loads(l)["catalog"] for l in out.splitlines() if l.startswith('{"type":"CATALOG"'))
    configured = {"streams": [{"stream": s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
                              for s in catalog["streams"]]}
    cat = os.path.join(work, "catalog.json")
    with open(cat, "w") as fh:
        json.dump(configured, fh)
    code, out, err = run(["read", "--config", cfg, "--catalog", cat], work)
    return code, out, (errors(out) or [err.strip()[-300:]])[0] if code != 0 else None


def reference_reads(path, fmt):
    try:
        if fmt == "parquet":
            ref.parquet_rows(path)
        elif fmt == "avro":
            ref.avro_rows(path, ())
        else:
            csv_reference(path)
        return None
    except Exception as e:  # the reference reader refuses it
        return repr(e)[:200]


TRUE = {"true", "t", "yes", "y", "on", "1"}
FALSE = {"false", "f", "no", "n", "off", "0"}


def csv_same(text, got):
    """A CSV field (text) and the JSON value source-file emitted for it: equal as text, as
    numbers, as booleans, or as the same instant (types are inferred from the text)."""
    if text == "" or text is None:
        return got is None or got == ""
    if isinstance(got, str):
        if got == text:
            return True
        text = text.strip()
        # A date in a column that also holds date-times: that day at midnight.
        if len(text) == 10 and text[4] == "-" and text[7] == "-":
            text += "T00:00:00"
        a, b = ref.parse_ts(got), ref.parse_ts(text.replace(" ", "T", 1))
        return a is not None and b is not None and a[0] == b[0]
    if isinstance(got, bool):
        return text.strip().lower() in (TRUE if got else FALSE)
    if isinstance(got, (int, float, decimal.Decimal)):
        try:
            return decimal.Decimal(text.strip()) == decimal.Decimal(str(got))
        except decimal.InvalidOperation:
            return False
    if isinstance(got, (list, dict)):
        try:
            return json.loads(text) == got
        except ValueError:
            return False
    return False


def csv_reference(path):
    """Rows as Python's csv module reads them (a UTF-8 BOM is not data; blank lines are no
    rows): the header (first row) and the data rows, as lists of fields."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [r for r in csv.reader(fh) if r]
    return rows[:1], rows[1:]


def compare_csv(path, records):
    """Field by field, by position (source-file names empty or blank header fields itself)."""
    try:
        _, expected = csv_reference(path)
    except Exception as e:
        return "reference-cannot-read", repr(e)[:200]
    got = [[v for k, v in data.items()] for data, _ in ref.read_records(records)]
    problems = []
    if len(got) != len(expected):
        problems.append(f"{len(expected)} rows expected, {len(got)} emitted")
    for n, (exp, values) in enumerate(zip(expected, got)):
        for i, text in enumerate(exp):
            value = values[i] if i < len(values) else None
            if not csv_same(text, value):
                problems.append(f"row {n} field {i}: expected {text!r}, got {value!r}")
                break
        if len(problems) >= 3:
            break
    return ("mismatch" if problems else "exact"), problems


def main():
    results = []
    with tempfile.TemporaryDirectory() as work:
        for n, (path, fmt) in enumerate(files()):
            code, out, error = source_file(path, fmt, work)
            name = os.path.relpath(path, corpus)
            if code != 0:
                cannot = reference_reads(path, fmt)
                status = "refused-and-unreadable" if cannot else "refused-but-readable"
                detail = f"{'PANIC ' if code == 101 else ''}{error}" + (f" | reference: {cannot}" if cannot else "")
            else:
                records = os.path.join(work, f"records_{n}.jsonl")
                with open(records, "w") as fh:
                    fh.write(out)
                if fmt == "csv":
                    status, detail = compare_csv(path, records)
                else:
                    v = ref.check({"file": path, "format": fmt, "records": records})
                    status, detail = v["status"], v["detail"]
                if status == "reference-cannot-read":
                    status = "read-reference-cannot"
            results.append({"file": name, "format": fmt, "status": status, "detail": detail})
            print(f"{status:24} {fmt:8} {name}" + (f"\n    {str(detail)[:300]}" if status != "exact" else ""),
                  flush=True)
    summary = {}
    for r in results:
        summary[r["status"]] = summary.get(r["status"], 0) + 1
    by_format = {}
    for r in results:
        by_format.setdefault(r["format"], {}).setdefault(r["status"], 0)
        by_format[r["format"]][r["status"]] += 1
    print(f"\nsummary: {len(results)} files: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.items())))
    for f, s in sorted(by_format.items()):
        print(f"  {f}: " + ", ".join(f"{k} {v}" for k, v in sorted(s.items())))
    if json_out:
        with open(json_out, "w") as fh:
            json.dump({"summary": summary, "by_format": by_format, "files": results}, fh, indent=1, default=str)


main()
