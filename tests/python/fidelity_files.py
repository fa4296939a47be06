"""Writes the fidelity test files with independent writers (pyarrow, fastavro, Python's
csv module): one file per shape that real-world files have and that a reader gets wrong
easily. Usage: python fidelity_files.py OUT_DIR; prints a JSON list of
{"name", "file", "format"}.
"""
import csv
import datetime
import decimal
import json
import os
import sys

import fastavro
import pyarrow as pa
import pyarrow.parquet as pq

D = decimal.Decimal
out = sys.argv[1]
made = []


def parquet(name, table, **kw):
    path = os.path.join(out, name + ".parquet")
    pq.write_table(table, path, **kw)
    made.append({"name": name, "file": path, "format": "parquet"})


def avro(name, schema, rows):
    path = os.path.join(out, name + ".avro")
    with open(path, "wb") as f:
        fastavro.writer(f, fastavro.parse_schema(schema), rows)
    made.append({"name": name, "file": path, "format": "avro"})


def text(name, data, fmt="csv"):
    path = os.path.join(out, name + "." + fmt)
    with open(path, "wb") as f:
        f.write(data)
    made.append({"name": name, "file": path, "format": fmt})


# Decimals of every width: digits a double cannot hold.
big38 = [D("1234567890123456789012345678.9012345678"), D("-0.0000000001"), None, D("0"),
         D("-9999999999999999999999999999.9999999999")]
big76 = [D("123456789012345678901234567890123456789012345678901234567890123456.7890123456"),
         D("-1.0000000001"), None, D("0"), D("-99999999999999999999999999999999999999999999999999999999999999999.9999999999")]
small = [D("12.34"), D("-0.01"), None, D("999.99"), D("0.00")]
parquet("pq_decimals", pa.table({
    "d38": pa.array(big38, pa.decimal128(38, 10)),
    "d76": pa.array(big76, pa.decimal256(76, 10)),
    "d5": pa.array(small, pa.decimal128(5, 2)),
    "d18_0": pa.array([D(2**62), D(-(2**62)), None, D(1), D(0)], pa.decimal128(19, 0)),
}))

# Maps, keys of several types, nested maps, null maps and null values.
parquet("pq_maps", pa.table({
    "by_name": pa.array([[("a", 1), ("b", None)], [], None, [("ü ☂", -5)]], pa.map_(pa.string(), pa.int64())),
    "by_id": pa.array([[(1, "x")], [(2, "y"), (-3, "z")], None, []], pa.map_(pa.int32(), pa.string())),
    "nested": pa.array([[("o", [("i", 1.5)])], None, [("p", [])], [("q", None)]],
                       pa.map_(pa.string(), pa.map_(pa.string(), pa.float64()))),
}))

# Null-typed columns.
parquet("pq_nulls", pa.table({
    "nothing": pa.array([None, None, None], pa.null()),
    "empty_lists": pa.array([[], [None], None], pa.list_(pa.null())),
    "id": pa.array([1, 2, 3], pa.int64()),
}))

# Deeply nested lists and structs.
parquet("pq_nested", pa.table({
    "lll": pa.array([[[["a", "b"], []], [["c"]]], None, [[None, ["d", None]]], []],
                    pa.list_(pa.list_(pa.list_(pa.string())))),
    "sls": pa.array([{"xs": [{"k": 1, "v": "one"}, None]}, None, {"xs": None}, {"xs": []}],
                    pa.struct([("xs", pa.list_(pa.struct([("k", pa.int32()), ("v", pa.string())])))])),
    "ls": pa.array([[{"a": [1, 2]}], [], None, [None]], pa.list_(pa.struct([("a", pa.list_(pa.int64()))]))),
}))

# Timestamps: naive and zoned, every unit, years outside 0000-9999 (in a struct too).
year52951_ms = 1608762153600000  # 52951-06-02T04:00:00Z in milliseconds
parquet("pq_timestamps", pa.table({
    "naive_us": pa.array([datetime.datetime(2024, 2, 29, 23, 59, 59, 999999), None,
                          datetime.datetime(1900, 1, 1), datetime.datetime(9999, 12, 31, 3)], pa.timestamp("us")),
    "utc_ms": pa.array([datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc), None,
                        datetime.datetime(1960, 6, 1, tzinfo=datetime.timezone.utc),
                        datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)], pa.timestamp("ms", tz="UTC")),
    "ny_ns": pa.array([1_700_000_000_123_456_789, None, -1, 0], pa.timestamp("ns", tz="America/New_York")),
    "far": pa.array([{"when": year52951_ms}, {"when": -year52951_ms}, None, {"when": None}],
                    pa.struct([("when", pa.timestamp("ms", tz="UTC"))])),
    "far_naive": pa.array([year52951_ms * 1000, -year52951_ms * 1000, None, 0], pa.timestamp("us")),
    "dates": pa.array([0, 2932896, -719529, None], pa.date32()),
}))

# Timestamps a destination keeps exactly (microseconds at most: a date-time in Airbyte
# JSON carries no precision, and destinations write microseconds).
parquet("pq_rt_timestamps", pa.table({
    "naive_us": pa.array([datetime.datetime(2024, 2, 29, 23, 59, 59, 999999), None,
                          datetime.datetime(1900, 1, 1), datetime.datetime(9999, 12, 31, 3)], pa.timestamp("us")),
    "utc_ms": pa.array([datetime.datetime(2024, 1, 1, 12, tzinfo=datetime.timezone.utc), None,
                        datetime.datetime(1960, 6, 1, tzinfo=datetime.timezone.utc),
                        datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)], pa.timestamp("ms", tz="UTC")),
    "dates": pa.array([0, 2932896, -719162, None], pa.date32()),
}))

# Values a double or microseconds cannot hold, for a destination to write back exactly:
# decimals of every width and nanosecond timestamps (naive and zoned).
parquet("pq_rt_exact", pa.table({
    "d38": pa.array(big38, pa.decimal128(38, 10)),
    "d76": pa.array(big76, pa.decimal256(76, 10)),
    "d5": pa.array(small, pa.decimal128(5, 2)),
    "d19_0": pa.array([D(2**62 + 1), D(-(2**62) - 1), None, D(1), D(0)], pa.decimal128(19, 0)),
    "naive_ns": pa.array([1_700_000_000_123_456_789, -1, None, 0, 9_000_000_000_000_000_001], pa.timestamp("ns")),
    "utc_ns": pa.array([1_700_000_000_123_456_789, -999_999_999, None, 1, -9_000_000_000_000_000_001],
                       pa.timestamp("ns", tz="UTC")),
}))

# Floats JSON cannot hold: NaN and infinities at the top level and nested.
parquet("pq_floats", pa.table({
    "f64": pa.array([1.5, float("nan"), float("inf"), None, -float("inf")], pa.float64()),
    "f32": pa.array([0.1, 3.4028234663852886e38, float("nan"), None, -0.0], pa.float32()),
    "in_list": pa.array([[1.0, float("nan")], [], None, [2.5], [float("-inf")]], pa.list_(pa.float64())),
    "ok": pa.array([1, 2, 3, 4, 5], pa.int64()),
}))

# Avro: decimals backed by fixed and by bytes, of any precision.
avro("av_decimals", {
    "type": "record", "name": "r", "fields": [
        {"name": "fixed_20_4", "type": {"type": "fixed", "name": "f20", "size": 9,
                                         "logicalType": "decimal", "precision": 20, "scale": 4}},
        {"name": "fixed_76", "type": {"type": "fixed", "name": "f76", "size": 32,
                                       "logicalType": "decimal", "precision": 76, "scale": 10}},
        {"name": "bytes_50", "type": ["null", {"type": "bytes", "logicalType": "decimal", "precision": 50, "scale": 5}]},
        {"name": "bytes_10", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    ]}, [
    {"fixed_20_4": D("1234567890123456.7890"), "fixed_76": big76[0], "bytes_50": D("123456789012345678901234567890123456789012345.12345"), "bytes_10": D("-12.5")},
    {"fixed_20_4": D("-0.0001"), "fixed_76": big76[1], "bytes_50": None, "bytes_10": D("0")},
    {"fixed_20_4": D("0"), "fixed_76": big76[4], "bytes_50": D("-0.00001"), "bytes_10": D("99999999.99")},
])

# Avro: maps, a null-typed field, naive and zoned timestamps, uuids, enums.
avro("av_types", {
    "type": "record", "name": "r", "fields": [
        {"name": "counts", "type": {"type": "map", "values": "long"}},
        {"name": "people", "type": {"type": "map", "values": {"type": "record", "name": "p", "fields": [
            {"name": "age", "type": "int"}]}}},
        {"name": "nothing", "type": "null"},
        {"name": "local", "type": {"type": "long", "logicalType": "local-timestamp-micros"}},
        {"name": "zoned", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "color", "type": {"type": "enum", "name": "c", "symbols": ["RED", "GREEN"]}},
        {"name": "f", "type": "float"},
    ]}, [
    {"counts": {"a": 1, "b": -2}, "people": {"ann": {"age": 30}}, "nothing": None,
     "local": datetime.datetime(2024, 2, 29, 23, 59, 59, 123456), "zoned": datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
     "day": datetime.date(2024, 2, 29), "color": "RED", "f": 0.1},
    {"counts": {}, "people": {}, "nothing": None,
     "local": datetime.datetime(1900, 1, 1), "zoned": datetime.datetime(1960, 1, 1, 0, 0, 0, 1000, tzinfo=datetime.timezone.utc),
     "day": datetime.date(1, 1, 1), "color": "GREEN", "f": float("nan")},
])

# Avro: unions of several named types of the same kind, and of several primitive kinds.
avro("av_unions", {
    "type": "record", "name": "r", "fields": [
        {"name": "shape", "type": [
            {"type": "record", "name": "circle", "fields": [{"name": "radius", "type": "double"}]},
            {"type": "record", "name": "square", "fields": [{"name": "side", "type": "long"}]}]},
        {"name": "code", "type": ["null", {"type": "fixed", "name": "two", "size": 2},
                                  {"type": "fixed", "name": "three", "size": 3}]},
        {"name": "state", "type": [{"type": "enum", "name": "on_off", "symbols": ["ON", "OFF"]},
                                   {"type": "enum", "name": "yes_no", "symbols": ["YES", "NO"]}]},
        {"name": "any", "type": ["null", "string", "long", "boolean"]},
        # Two decimals backed by fixed: the Avro library refused such a union.
        {"name": "amount", "type": ["null",
            {"type": "fixed", "name": "dec_small", "size": 4, "logicalType": "decimal", "precision": 8, "scale": 2},
            {"type": "fixed", "name": "dec_big", "size": 20, "logicalType": "decimal", "precision": 46, "scale": 6}]},
    ]}, [
    {"shape": ("circle", {"radius": 1.5}), "code": ("two", b"ab"), "state": ("on_off", "ON"), "any": "text",
     "amount": ("dec_small", D("-123.45"))},
    {"shape": ("square", {"side": 4}), "code": ("three", b"xyz"), "state": ("yes_no", "NO"), "any": 42,
     "amount": ("dec_big", D("1234567890123456789012345678901234567890.123456"))},
    {"shape": ("circle", {"radius": -0.5}), "code": None, "state": ("yes_no", "YES"), "any": True, "amount": None},
])

# CSV: one table with every line ending; a quoted field holds line breaks of its own.
rows = [["name", "note"], ["alpha", "plain"], ["beta", "two\nlines"], ["gamma", "cr\rinside"], ["delta", ""]]
for ending, tag in [("\n", "lf"), ("\r\n", "crlf"), ("\r", "cr")]:
    buf = []
    for r in rows:
        buf.append(",".join('"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v for v in r))
    text("csv_" + tag, (ending.join(buf) + ending).encode())
mixed = 'name,note\nalpha,plain\r\nbeta,"two\nlines"\rgamma,"cr\rinside"\r\ndelta,\n'
text("csv_mixed", mixed.encode())

# JSON lines whose fields hold values of several kinds (a number, then a string, an object),
# arrays of mixed items, booleans beside integers: passed through unchanged, as Airbyte's
# file-based sources pass JSON values.
js_rows = [
    {"id": 1, "v": 5, "arr": [1, "a", {"x": 1}, None, [True]], "o": {"a": 1}, "flag": True, "n": 1,
     "deep": {"k": [1, "two"]}},
    {"id": 2, "v": "five", "arr": [2.5], "o": 7, "flag": 0, "n": 2.5, "deep": {"k": []}},
    {"id": 3, "v": {"k": [1, None]}, "arr": None, "o": None, "flag": None, "n": None, "deep": None},
    {"id": 4, "v": None, "arr": [], "o": [1, "ü ☂"], "flag": "yes", "n": -3, "deep": {"k": [{"z": False}]}},
    {"id": 5, "v": [1.25, "x"], "o": "text", "flag": False, "n": 0, "deep": {"k": ["x", 3]}},
]
text("js_mixed", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in js_rows).encode(), fmt="jsonl")

print(json.dumps(made))
