"""The reference side of the fidelity tests.

Reads each file with an independent reader (pyarrow for Parquet, fastavro for Avro, Python's
csv module for CSV, Python's json module for JSON lines) and compares, value by value, with the RECORD lines source-file printed
for it. Values are compared as Airbyte JSON carries them:

- integers and booleans exactly; decimals as exact decimal numbers (every digit: the JSON
  number is parsed as a Decimal, never through a double); float64 exactly, float32 and
  float16 at their own precision;
- NaN and infinities (which JSON cannot hold) as null with a `meta.changes` entry
  `{"field": <column>, "change": "NULLED"}` on that record;
- strings exactly; binary as standard base64;
- dates as `YYYY-MM-DD`; timestamps as ISO-8601 instants compared to the nanosecond, with a
  `Z` (or offset) when the column has a time zone and none when it has not (Airbyte's
  `timestamp_without_timezone`); years outside 0000-9999 with their sign (`+052951-…`);
- lists as arrays, structs and records as objects, maps as objects with string keys.

Usage: python fidelity_reference.py JOBS.json
JOBS.json is a list of {"file", "format", "records"} (records: a file holding the RECORD
lines). Prints a JSON list of {"file", "status", "rows", "detail"}; status is `exact`,
`mismatch` or `reference-cannot-read` (detail says why).
"""
import base64
import csv
import datetime
import decimal
import json
import math
import re
import struct
import sys
import uuid

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

EXTRA = ("_ab_source_file_url", "_ab_source_file_last_modified")


class NaN:
    """A float JSON cannot hold: expected as null plus a meta.changes entry."""

    def __repr__(self):
        return "NaN"


class F32:
    """A float32 or float16 value, compared at its own precision (`fmt`: struct's f or e)."""

    def __init__(self, v, fmt):
        self.v = v
        self.fmt = fmt

    def same(self, other):
        try:
            return struct.pack(self.fmt, other) == struct.pack(self.fmt, self.v)
        except (OverflowError, struct.error):
            return False

    def __repr__(self):
        return f"F32({self.v!r}, {self.fmt})"


class Ts:
    """An instant (or a naive date-time) in nanoseconds since the epoch."""

    def __init__(self, ns, tz):
        self.ns = ns
        self.tz = tz

    def __repr__(self):
        return f"Ts({self.ns}, tz={self.tz})"


class Time:
    def __init__(self, ns):
        self.ns = ns

    def __repr__(self):
        return f"Time({self.ns})"


class Map:
    def __init__(self, pairs):
        self.pairs = pairs

    def __repr__(self):
        return f"Map({self.pairs!r})"


# ---------------------------------------------------------------------------------------
# Calendar (proleptic Gregorian, any year)
# ---------------------------------------------------------------------------------------


def days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400  # floor division: the C original's adjustment is built in
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z):
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (m <= 2), m, d)


def date_text(days):
    y, m, d = civil_from_days(days)
    year = f"{y:04d}" if 0 <= y <= 9999 else f"{'+' if y > 0 else '-'}{abs(y):06d}"
    return f"{year}-{m:02d}-{d:02d}"


TS_RE = re.compile(
    r"^([+-]\d{4,}|\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?$"
)


def parse_ts(s):
    """(ns since epoch, has offset) of an ISO-8601 text, or None."""
    m = TS_RE.match(s)
    if not m:
        return None
    y, mo, d, h, mi, se, frac, off = m.groups()
    ns = (days_from_civil(int(y), int(mo), int(d)) * 86400 + int(h) * 3600 + int(mi) * 60 + int(se)) * 10**9
    if frac:
        ns += int(frac.ljust(9, "0"))
    if off and off != "Z":
        sign = 1 if off[0] == "+" else -1
        digits = off[1:].replace(":", "")
        ns -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * 10**9
    return ns, off is not None


def parse_time(s):
    m = re.match(r"^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?$", s)
    if not m:
        return None
    h, mi, se, frac = m.groups()
    return (int(h) * 3600 + int(mi) * 60 + int(se)) * 10**9 + (int(frac.ljust(9, "0")) if frac else 0)


# ---------------------------------------------------------------------------------------
# pyarrow arrays → expected values
# ---------------------------------------------------------------------------------------

UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def floats(arr, dtype):
    out = []
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
        elif math.isnan(v) or math.isinf(v):
            out.append(NaN())
        elif dtype is None:
            out.append(v)
        else:
            out.append(F32(v, dtype))
    return out


def norm_array(arr):
    """The expected value of every row of a pyarrow array."""
    t = arr.type
    valid = [not x for x in arr.is_null().to_pylist()] if len(arr) else []
    if isinstance(t, pa.ExtensionType):
        return norm_array(arr.storage)
    if pa.types.is_dictionary(t):
        return norm_array(arr.dictionary_decode())
    if pa.types.is_null(t):
        return [None] * len(arr)
    if pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        return arr.to_pylist()
    if pa.types.is_float16(t):
        return floats(arr.cast(pa.float32()), "e")
    if pa.types.is_float32(t):
        return floats(arr, "f")
    if pa.types.is_float64(t):
        return floats(arr, None)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return arr.to_pylist()
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t) or pa.types.is_binary_view(t):
        return [None if v is None else base64.b64encode(v).decode() for v in arr.to_pylist()]
    if pa.types.is_date32(t):
        return [None if v is None else date_text(v) for v in arr.cast(pa.int32()).to_pylist()]
    if pa.types.is_date64(t):
        return [None if v is None else date_text(v // 86400000) for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_timestamp(t):
        mult = UNIT_NS[t.unit]
        tz = t.tz is not None
        return [None if v is None else Ts(v * mult, tz) for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_time(t):
        mult = UNIT_NS[t.unit]
        ints = arr.cast(pa.int64() if pa.types.is_time64(t) else pa.int32()).to_pylist()
        return [None if v is None else Time(v * mult) for v in ints]
    if pa.types.is_map(t):
        offsets = arr.offsets.to_pylist()
        keys = norm_array(arr.keys)
        items = norm_array(arr.items)
        return [
            Map(list(zip(keys[offsets[i]:offsets[i + 1]], items[offsets[i]:offsets[i + 1]]))) if valid[i] else None
            for i in range(len(arr))
        ]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        offsets = arr.offsets.to_pylist()
        values = norm_array(arr.values)
        return [values[offsets[i]:offsets[i + 1]] if valid[i] else None for i in range(len(arr))]
    if pa.types.is_fixed_size_list(t):
        n = t.list_size
        values = norm_array(arr.values)
        base = arr.offset
        return [values[(base + i) * n:(base + i + 1) * n] if valid[i] else None for i in range(len(arr))]
    if pa.types.is_struct(t):
        children = [norm_array(c) for c in arr.flatten()]
        names = [t.field(i).name for i in range(t.num_fields)]
        return [
            {n: c[i] for n, c in zip(names, children)} if valid[i] else None for i in range(len(arr))
        ]
    raise TypeError(f"no reference normalisation for {t}")


def parquet_rows(path):
    # INT96 read at microsecond resolution: nanoseconds overflow for years past 2262
    # (Spark writes 9999-12-31); readers that are right keep the microseconds.
    f = pq.ParquetFile(path, coerce_int96_timestamp_unit="us")
    rows = []
    for batch in f.iter_batches(batch_size=4096):
        cols = [norm_array(c) for c in batch.columns]
        names = batch.schema.names
        for i in range(batch.num_rows):
            rows.append({n: c[i] for n, c in zip(names, cols)})
    return rows


# ---------------------------------------------------------------------------------------
# fastavro values → expected values
# ---------------------------------------------------------------------------------------

EPOCH = datetime.datetime(1970, 1, 1)


def norm_avro(v):
    if isinstance(v, bool) or v is None or isinstance(v, (int, str, decimal.Decimal)):
        return v
    if isinstance(v, float):
        return NaN() if (math.isnan(v) or math.isinf(v)) else v
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, datetime.datetime):
        tz = v.tzinfo is not None
        naive = v.astimezone(datetime.timezone.utc).replace(tzinfo=None) if tz else v
        delta = naive - EPOCH
        return Ts((delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000, tz)
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, datetime.time):
        return Time(((v.hour * 60 + v.minute) * 60 + v.second) * 10**9 + v.microsecond * 1000)
    if isinstance(v, list):
        return [norm_avro(x) for x in v]
    if isinstance(v, dict):
        return {k: norm_avro(x) for k, x in v.items()}
    raise TypeError(f"no reference normalisation for {type(v)}")


NANOS_LOGICAL = {"timestamp-nanos": True, "local-timestamp-nanos": False}


def nanos_fields(schema):
    """Top-level fields of an Avro record schema whose type (or union branch) is a
    timestamp-nanos or local-timestamp-nanos long: fastavro gives them as the plain long the
    Avro specification defines (nanoseconds since the epoch); name -> zoned."""
    out = {}
    for f in schema.get("fields", []) if isinstance(schema, dict) else []:
        branches = f["type"] if isinstance(f["type"], list) else [f["type"]]
        for b in branches:
            if isinstance(b, dict) and b.get("logicalType") in NANOS_LOGICAL:
                out[f["name"]] = NANOS_LOGICAL[b["logicalType"]]
    return out


def avro_rows(path, float32_fields):
    with open(path, "rb") as fh:
        reader = fastavro.reader(fh)
        nanos = nanos_fields(reader.writer_schema)
        rows = []
        for rec in reader:
            if not isinstance(rec, dict):
                rec = {"value": rec}
            rows.append({
                k: Ts(v, nanos[k]) if k in nanos and isinstance(v, int) else norm_avro(v) for k, v in rec.items()
            })
    return rows


def json_number(v):
    """A JSON value with its numbers as exact decimals: a JSON number is a number (1 and 1.0
    are one value); booleans stay booleans."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return decimal.Decimal(v)
    if isinstance(v, list):
        return [json_number(x) for x in v]
    if isinstance(v, dict):
        return {k: json_number(x) for k, x in v.items()}
    return v


def jsonl_rows(path):
    """JSON lines as Python's json module reads them; a field a line leaves out is null."""
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line, parse_float=decimal.Decimal) for line in fh if line.strip()]
    keys = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    return [{k: json_number(r.get(k)) for k in keys} for r in rows]


def csv_rows(path, dialect):
    """CSV rows as Python's csv module reads them (text; types are compared loosely)."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, **dialect)
        return [dict(r) for r in reader]


# ---------------------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------------------


class Mismatch(Exception):
    pass


def as_decimal(v):
    if isinstance(v, bool) or not isinstance(v, (int, decimal.Decimal, float)):
        return None
    return decimal.Decimal(v) if isinstance(v, int) else decimal.Decimal(str(v)) if isinstance(v, float) else v


def compare(exp, got, path, nulled):
    def fail(why):
        raise Mismatch(f"{path}: {why}: expected {exp!r}, got {got!r}")

    if isinstance(exp, NaN):
        if got is not None:
            fail("a NaN/infinity must be null")
        if path.split(".")[1].split("[")[0] not in nulled:
            fail("a NaN/infinity nulled without a meta.changes entry")
        return
    if exp is None:
        if got is not None:
            fail("null expected")
        return
    if isinstance(exp, bool):
        if got is not exp:
            fail("boolean differs")
        return
    if isinstance(exp, int):
        if isinstance(got, bool) or not isinstance(got, int) or got != exp:
            fail("integer differs")
        return
    if isinstance(exp, decimal.Decimal):
        d = as_decimal(got)
        if d is None or isinstance(got, float) or d != exp:
            fail("decimal differs (a JSON number with every digit is expected)")
        return
    if isinstance(exp, float):
        d = as_decimal(got)
        if d is None:
            fail("number differs")
        if float(d) == exp:
            return
        # fastavro gives an Avro float (32 bits) as the double it converts to; the JSON
        # number is the float's own shortest text: equal at 32 bits.
        if exp_is_f32(exp) and F32(exp, "f").same(float(d)):
            return
        fail("number differs")
    if isinstance(exp, F32):
        d = as_decimal(got)
        if d is None or not exp.same(float(d)):
            fail("number differs")
        return
    if isinstance(exp, str):
        if got != exp:
            fail("string differs")
        return
    if isinstance(exp, Ts):
        p = parse_ts(got) if isinstance(got, str) else None
        if p is None:
            fail("not an ISO-8601 date-time")
        ns, offset = p
        if ns != exp.ns:
            fail("a different instant")
        if offset != exp.tz:
            fail("with a time zone, an offset (Z) is expected; without one, none")
        return
    if isinstance(exp, Time):
        ns = parse_time(got) if isinstance(got, str) else None
        if ns != exp.ns:
            fail("time differs")
        return
    if isinstance(exp, Map):
        if not isinstance(got, dict):
            fail("a map is a JSON object")
        want = {}
        for k, v in exp.pairs:
            want[k if isinstance(k, str) else json.dumps(k) if not isinstance(k, (int, decimal.Decimal)) else str(k)] = v
        if set(want) != set(got):
            fail(f"map keys differ: {sorted(want)} vs {sorted(got)}")
        for k, v in want.items():
            compare(v, got[k], f"{path}[{k!r}]", nulled)
        return
    if isinstance(exp, list):
        if not isinstance(got, list) or len(got) != len(exp):
            fail("array differs in length or kind")
        for i, (e, g) in enumerate(zip(exp, got)):
            compare(e, g, f"{path}[{i}]", nulled)
        return
    if isinstance(exp, dict):
        if not isinstance(got, dict):
            fail("an object is expected")
        if set(exp) != set(got):
            fail(f"keys differ: {sorted(exp)} vs {sorted(got)}")
        for k in exp:
            compare(exp[k], got[k], f"{path}.{k}", nulled)
        return
    fail("unknown expected value")


def exp_is_f32(v):
    try:
        return struct.unpack("f", struct.pack("f", v))[0] == v
    except (OverflowError, struct.error):
        return False


def read_records(path):
    rows = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            msg = json.loads(line, parse_float=decimal.Decimal)
            if msg.get("type") != "RECORD":
                continue
            rec = msg["record"]
            data = {k: v for k, v in rec["data"].items() if k not in EXTRA}
            nulled = {c["field"] for c in rec.get("meta", {}).get("changes", []) if c.get("change") == "NULLED"}
            rows.append((data, nulled))
    return rows


def check(job):
    fmt = job["format"]
    try:
        if fmt == "parquet":
            expected = parquet_rows(job["file"])
        elif fmt == "avro":
            expected = avro_rows(job["file"], ())
        elif fmt == "jsonl":
            expected = jsonl_rows(job["file"])
        else:
            expected = csv_rows(job["file"], job.get("dialect", {}))
    except Exception as e:  # the reference reader refuses the file
        return {"file": job["file"], "status": "reference-cannot-read", "rows": None, "detail": repr(e)[:300]}
    got = read_records(job["records"])
    problems = []
    if len(got) != len(expected):
        problems.append(f"{len(expected)} rows expected, {len(got)} emitted")
    for n, (exp, (data, nulled)) in enumerate(zip(expected, got)):
        if fmt == "csv":
            exp = {k: (v if v != "" else None) for k, v in exp.items()}
            data = {k: (None if v is None else v if isinstance(v, str) else json.dumps(v) if isinstance(v, (list, dict)) else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in data.items()}
        try:
            compare(exp, data, f"row {n}", nulled)
        except Mismatch as m:
            problems.append(str(m)[:400])
        if len(problems) >= 3:
            break
    return {
        "file": job["file"],
        "status": "mismatch" if problems else "exact",
        "rows": len(expected),
        "detail": problems,
    }


def ts_text(ns, tz):
    days, rem = divmod(ns, 86400 * 10**9)
    secs, frac = divmod(rem, 10**9)
    text = f"{date_text(days)}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{frac:09d}"
    return text + ("Z" if tz else "")


def as_json_like(v):
    """An expected value as a JSON record would carry it (for reading a written file back)."""
    if isinstance(v, NaN):
        return None
    if isinstance(v, F32):
        return decimal.Decimal(repr(v.v))
    if isinstance(v, float):
        return decimal.Decimal(repr(v))
    if isinstance(v, Ts):
        return ts_text(v.ns, v.tz)
    if isinstance(v, Time):
        secs, frac = divmod(v.ns, 10**9)
        return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}.{frac:09d}"
    if isinstance(v, Map):
        return {str(k): as_json_like(x) for k, x in v.pairs}
    if isinstance(v, list):
        return [as_json_like(x) for x in v]
    if isinstance(v, dict):
        return {k: as_json_like(x) for k, x in v.items()}
    return v


def csv_value(exp, text):
    """A CSV field (text) as the JSON value a record carries, by the expected value's kind:
    numbers parsed as exact decimals, nested values as JSON, the empty field as null."""
    if text is None or text == "":
        return None
    if isinstance(exp, bool):
        return {"true": True, "false": False}.get(text, text)
    if isinstance(exp, (int, decimal.Decimal, float, F32, NaN)):
        try:
            v = decimal.Decimal(text)
        except decimal.InvalidOperation:
            return text
        return int(v) if isinstance(exp, int) and v == v.to_integral_value() and "." not in text else v
    if isinstance(exp, (Map, list, dict)):
        return json.loads(text, parse_float=decimal.Decimal)
    return text


def written_rows(path, fmt):
    if fmt == "parquet":
        return parquet_rows(path)
    if fmt == "avro":
        return avro_rows(path, ())
    if fmt == "csv":
        return csv_rows(path, {})
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line, parse_float=decimal.Decimal) for line in fh if line.strip()]


def check_roundtrip(job):
    """The file a destination wrote holds, column by column, the source file's values."""
    expected = parquet_rows(job["file"]) if job["format"] == "parquet" else avro_rows(job["file"], ())
    got = written_rows(job["output"], job["output_format"])
    problems = []
    if len(got) != len(expected):
        problems.append(f"{len(expected)} rows expected, {len(got)} written")
    for n, (exp, row) in enumerate(zip(expected, got)):
        if job["output_format"] == "csv":
            data = {k: csv_value(exp[k], row.get(k)) for k in exp}
        else:
            data = {k: as_json_like(row.get(k)) for k in exp}
        try:
            compare(exp, data, f"row {n}", set(exp))
        except Mismatch as m:
            problems.append(str(m)[:400])
        if len(problems) >= 3:
            break
    return {"file": job["output"], "status": "mismatch" if problems else "exact", "rows": len(expected), "detail": problems}


def main():
    with open(sys.argv[1]) as fh:
        jobs = json.load(fh)
    print(json.dumps([check_roundtrip(j) if "output" in j else check(j) for j in jobs]))


if __name__ == "__main__":
    main()
