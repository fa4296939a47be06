"""Airbyte's standard connector tests (airbyte-cdk `standard_tests`) for the
five Lakeport connectors, each binary run through `cdk_adapter`.

Environment (set by tests/tests/cdk_standard.rs, which writes the configs):

- `LAKEPORT_BIN`: the directory holding the five binaries;
- `LAKEPORT_CDK_CONNECTORS`: a directory with one folder per connector
  (`source-file`, …), each holding the `acceptance-test-config.yml` the
  suite reads (`test_strictness_level: high`) and the configs it names.

Run: `python -m pytest tests/python/cdk_standard_test.py -m "not image_tests"`.
The suites' `test_docker_image_*` tests (marker `image_tests`) run the same
checks against a container image instead: pass `--connector-image IMAGE`
and select one class with `-k`.
"""

from __future__ import annotations

import os
from pathlib import Path

from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase, SourceTestSuiteBase

import cdk_adapter

pytest_plugins = ["airbyte_cdk.test.standard_tests.pytest_hooks"]

cdk_adapter.install()

BIN = Path(os.environ.get("LAKEPORT_BIN", "target/debug"))
ROOTS = Path(os.environ.get("LAKEPORT_CDK_CONNECTORS", "cdk-connectors"))


def _suite(base: type, name: str) -> type:
    """A test class of `base` for connector `name`."""

    class Suite(base):  # type: ignore[misc, valid-type]
        connector = staticmethod(cdk_adapter.binary_connector(BIN / name))

        @classmethod
        def get_connector_root_dir(cls) -> Path:
            return (ROOTS / name).absolute()

    if base is DestinationTestSuiteBase:
        # The destination suite has no spec test of its own: the CDK's
        # source spec test (one SPEC message, credential-free spec lint)
        # applies to a destination's spec as it is.
        Suite.test_spec = SourceTestSuiteBase.test_spec  # type: ignore[attr-defined]
    Suite.__name__ = Suite.__qualname__ = "Test" + name.title().replace("-", "")
    return Suite


TestSourceFile = _suite(SourceTestSuiteBase, "source-file")
TestSourceS3 = _suite(SourceTestSuiteBase, "source-s3")
TestSourceSqlite = _suite(SourceTestSuiteBase, "source-sqlite")
TestDestinationFile = _suite(DestinationTestSuiteBase, "destination-file")
TestDestinationS3 = _suite(DestinationTestSuiteBase, "destination-s3")
