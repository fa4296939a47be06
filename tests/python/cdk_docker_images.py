"""The Airbyte CDK standard tests' image tests (`test_docker_image_*`,
marker `image_tests`, airbyte-cdk 7.39.1) against Lakeport's images.

The suites run `docker run --rm [-v FILE:/secrets/config.json] IMAGE verb …`;
here `docker` is podman's Docker-compatible command line (Debian package
`podman-docker`). tests/tests/containers/cdk.rs writes what the suites read and
runs this file once per connector:

    python -m pytest -p airbyte_cdk.test.standard_tests.pytest_hooks \
        tests/python/cdk_docker_images.py -m image_tests \
        -k TestSourceFile --connector-image lakeport/source-file:dev

(the suites' fixtures and `--connector-image` come from the CDK's pytest
plugin, which must be loaded with `-p` for its options to exist).

Environment: `LAKEPORT_CDK_CONNECTORS`, a directory with one folder per
connector (`source-file`, …) holding its `acceptance-test-config.yml`, the
configs it names and `metadata.yaml`. Nothing of the suites is changed: the
classes below only say where each connector's folder is.
"""

from __future__ import annotations

import os
from pathlib import Path

from airbyte_cdk.test.standard_tests import DestinationTestSuiteBase, SourceTestSuiteBase

ROOTS = Path(os.environ.get("LAKEPORT_CDK_CONNECTORS", "cdk-connectors"))


def _suite(base: type, name: str) -> type:
    """A test class of `base` whose connector folder is `ROOTS/name`."""

    class Suite(base):  # type: ignore[misc, valid-type]
        @classmethod
        def get_connector_root_dir(cls) -> Path:
            return (ROOTS / name).absolute()

    Suite.__name__ = Suite.__qualname__ = "Test" + name.title().replace("-", "")
    return Suite


TestSourceFile = _suite(SourceTestSuiteBase, "source-file")
TestSourceS3 = _suite(SourceTestSuiteBase, "source-s3")
TestSourceSqlite = _suite(SourceTestSuiteBase, "source-sqlite")
TestDestinationFile = _suite(DestinationTestSuiteBase, "destination-file")
TestDestinationS3 = _suite(DestinationTestSuiteBase, "destination-s3")
