"""Reads Parquet objects with the Airbyte Python CDK's own file-based Parquet
parser (`airbyte_cdk.sources.file_based.file_types.parquet_parser`, the code
Airbyte's source-s3 runs), to give the records and schema Airbyte produces
for the same keys: the reference the hive-field tests compare against.

    cdk_parquet_records.py JOB.json

JOB: {"files": [{"uri": "<object key>", "path": "<local file with its bytes>"}]}.
Prints one JSON object: {"records": [...], "schema": {field: json schema}}
(the schemas of every file merged, later files winning, as a stream's
discovered properties).
"""
import asyncio
import datetime
import json
import logging
import sys
import types
from pathlib import Path

import airbyte_cdk.sources

# The packages `file_based` and `file_based.file_types` import every parser
# on load (Avro, Excel, unstructured documents…), whose libraries the CDK's
# optional `file-based` extra installs. Only the Parquet parser is needed:
# register the two packages without running their `__init__`, so their
# modules load on their own, unchanged.
_BASE = Path(airbyte_cdk.sources.__file__).parent / "file_based"
for _name, _path in [
    ("airbyte_cdk.sources.file_based", _BASE),
    ("airbyte_cdk.sources.file_based.file_types", _BASE / "file_types"),
]:
    _package = types.ModuleType(_name)
    _package.__path__ = [str(_path)]
    sys.modules[_name] = _package

from airbyte_cdk.sources.file_based.config.file_based_stream_config import (  # noqa: E402
    FileBasedStreamConfig,
    ParquetFormat,
)
from airbyte_cdk.sources.file_based.file_types.parquet_parser import ParquetParser  # noqa: E402
from airbyte_cdk.sources.file_based.remote_file import RemoteFile  # noqa: E402


class LocalFiles:
    """The one stream-reader method the parser calls: open a file by its uri."""

    def __init__(self, paths):
        self.paths = paths

    def open_file(self, file, mode, encoding, logger):
        return open(self.paths[file.uri], "rb")


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    paths = {entry["uri"]: entry["path"] for entry in job["files"]}
    reader = LocalFiles(paths)
    config = FileBasedStreamConfig(name="stream", globs=["**"], format=ParquetFormat())
    parser = ParquetParser()
    logger = logging.getLogger("cdk")
    records, schema = [], {}
    for uri in paths:
        remote = RemoteFile(uri=uri, last_modified=datetime.datetime(2024, 1, 1))
        schema.update(asyncio.run(parser.infer_schema(config, remote, reader, logger)))
        records.extend(parser.parse_records(config, remote, reader, logger, None))
    print(json.dumps({"records": records, "schema": schema}, default=str))


if __name__ == "__main__":
    main()
