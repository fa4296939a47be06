"""Runs Airbyte's Python CDK standard tests against Lakeport's binaries.

The CDK's standard test suites (`airbyte_cdk.test.standard_tests`:
`SourceTestSuiteBase`, `DestinationTestSuiteBase`) run a connector in
process: every job goes through one function,
`airbyte_cdk.test.entrypoint_wrapper._run_command(source, args, ...)`, with
the connector object the suite's `connector` attribute makes. This module
routes that function to an executable when the connector is a
`BinaryConnector`, and leaves every other connector to the CDK:

    import cdk_adapter
    cdk_adapter.install()                      # once, before the tests run

    class TestSourceFile(SourceTestSuiteBase):
        connector = cdk_adapter.binary_connector("/path/to/source-file")

        @classmethod
        def get_connector_root_dir(cls):       # holds acceptance-test-config.yml
            return Path("/path/to/connector-root/source-file")

The binary runs as `<executable> <verb> --config FILE [--catalog FILE]`, the
files the suite wrote; each stdout line becomes a message of the result
(lines that are not Airbyte messages become LOG messages, as the platform
treats them), stderr is kept on the result, and a non-zero exit without a
TRACE ERROR becomes an error. Nothing else of the suite is changed: its
assertions, spec lint, catalog checks and schema validation are the CDK's.

The suite's `test_docker_image_*` tests (marked `image_tests`) do not go
through `_run_command`: they run `docker run IMAGE verb`, and run against
an image with `--connector-image IMAGE` (deselect them with
`-m "not image_tests"` where there is no container runtime).

Tested with airbyte-cdk 7.39.1 (pinned by scripts/test-deps.sh).
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any, Callable

import orjson
from airbyte_cdk.test import entrypoint_wrapper
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput

_ORIGINAL_RUN_COMMAND = entrypoint_wrapper._run_command  # noqa: SLF001

#: Seconds one connector command may take before it is stopped.
TIMEOUT = float(os.environ.get("LAKEPORT_CDK_TIMEOUT", "300"))


class BinaryConnector:
    """A connector that is an executable speaking the Airbyte protocol."""

    def __init__(self, executable: str | os.PathLike[str]) -> None:
        self.executable = Path(executable)

    def run(self, args: list[str]) -> EntrypointOutput:
        """Runs `<executable> args…` and returns what the CDK's own runner would."""
        command = [str(self.executable), *args]
        try:
            proc = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as e:
            return EntrypointOutput(
                messages=_lines(e.stdout),
                uncaught_exception=TimeoutError(f"{command} ran longer than {TIMEOUT} s"),
                command=command,
                stderr=_text(e.stderr),
            )
        lines = _lines(proc.stdout)
        failure: BaseException | None = None
        has_error_trace = any(_is_error_trace(line) for line in lines)
        if proc.returncode != 0 and not has_error_trace:
            failure = RuntimeError(
                f"{self.executable.name} {' '.join(args[:1])} exited with {proc.returncode} "
                f"without a TRACE ERROR; stderr:\n{proc.stderr[-4000:]}"
            )
        if not lines and failure is None:
            failure = RuntimeError(f"{self.executable.name} {' '.join(args[:1])} printed nothing")
        return EntrypointOutput(
            messages=lines,
            uncaught_exception=failure,
            command=command,
            stderr=proc.stderr,
        )

    def spec(self, logger: logging.Logger) -> Any:
        """The connector's spec (the `IConnector` protocol the suites check for)."""
        proc = subprocess.run(
            [str(self.executable), "spec"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        for line in _lines(proc.stdout):
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(message, dict) and message.get("type") == "SPEC":
                return message["spec"]
        raise RuntimeError(f"{self.executable} spec printed no SPEC message")


def binary_connector(executable: str | os.PathLike[str]) -> Callable[[], BinaryConnector]:
    """A connector factory for a suite's `connector` attribute."""

    def make() -> BinaryConnector:
        return BinaryConnector(executable)

    return make


def _run_command(
    source: Any,
    args: list[str],
    expecting_exception: bool | None = None,
    *,
    expected_outcome: Any = None,
) -> EntrypointOutput:
    if isinstance(source, BinaryConnector):
        return source.run(list(args))
    return _ORIGINAL_RUN_COMMAND(
        source, args, expecting_exception, expected_outcome=expected_outcome
    )


def install() -> None:
    """Routes the CDK's in-process runner to binaries (idempotent)."""
    entrypoint_wrapper._run_command = _run_command  # noqa: SLF001


def _text(data: Any) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)


def _lines(stdout: Any) -> list[str]:
    return [line for line in _text(stdout).splitlines() if line.strip()]


def _is_error_trace(line: str) -> bool:
    try:
        message = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return (
        isinstance(message, dict)
        and message.get("type") == "TRACE"
        and (message.get("trace") or {}).get("type") == "ERROR"
    )
