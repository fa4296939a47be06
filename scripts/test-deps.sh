#!/usr/bin/env bash
# Installs what the test suite needs, idempotently, into a cache outside the clone:
#   - a Python venv with the official Airbyte protocol models and independent
#     Parquet/Avro readers (pyarrow, fastavro);
#   - the s3s-fs S3-protocol server binary (from crates.io);
#   - PyAirbyte (PyPI `airbyte`) in a venv of its own, so the main venv stays
#     light: the orchestrator tests run each source through it
#     (LAKEPORT_SKIP_PYAIRBYTE=1 skips it);
#   - Airbyte's Python CDK, pinned, in a venv of its own with pytest: its
#     standard connector tests run against the binaries through
#     tests/python/cdk_adapter.py; the same venv holds Airbyte's own
#     source-s3 4.16.1 (bin/source-s3), the peer the Airbyte-flavour tests
#     compare records with (LAKEPORT_SKIP_CDK=1 skips both).
# Prints the paths as shell assignments for `eval`.
set -euo pipefail

CACHE="${LAKEPORT_CACHE:-$HOME/.cache/lakeport}"
VENV="$CACHE/venv"
S3S_ROOT="$CACHE/s3s-fs"
mkdir -p "$CACHE"
# One installer at a time (test binaries may start it concurrently).
exec 9>"$CACHE/.install.lock"
flock 9

PY_REQS=(airbyte-protocol-models==0.18.0 pyarrow fastavro cramjam zstandard backports.zstd)
stamp="$VENV/.lakeport-reqs"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${PY_REQS[*]}" ]; then
    echo "test-deps: creating Python venv at $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_REQS[@]}" >&2
    echo "${PY_REQS[*]}" > "$stamp"
fi

if [ ! -x "$S3S_ROOT/bin/s3s-fs" ]; then
    echo "test-deps: installing s3s-fs 0.14.1 into $S3S_ROOT (one-time compile)" >&2
    CARGO_TARGET_DIR="$CACHE/s3s-build" cargo install s3s-fs --version 0.14.1 \
        --features binary --locked --root "$S3S_ROOT" --quiet >&2
    rm -rf "$CACHE/s3s-build"
fi

PYAB_VENV="$CACHE/pyairbyte-venv"
PYAB_REQS=(airbyte==0.71.3)
pyab_stamp="$PYAB_VENV/.lakeport-reqs"
if [ -z "${LAKEPORT_SKIP_PYAIRBYTE:-}" ]; then
    if [ ! -x "$PYAB_VENV/bin/python" ] || [ "$(cat "$pyab_stamp" 2>/dev/null)" != "${PYAB_REQS[*]}" ]; then
        echo "test-deps: creating the PyAirbyte venv at $PYAB_VENV (one-time, ~800 MB)" >&2
        python3 -m venv "$PYAB_VENV"
        "$PYAB_VENV/bin/pip" install --quiet --disable-pip-version-check "${PYAB_REQS[@]}" >&2
        echo "${PYAB_REQS[*]}" > "$pyab_stamp"
    fi
fi

CDK_VENV="$CACHE/cdk-venv"
CDK_REQS=(airbyte-cdk==7.39.1 "pytest>=7,<8" "pyarrow>=19,<24")
# Airbyte source-s3 4.16.1 without its dependency pins (they ask for a
# smart-open that does not exist and pull ML libraries it does not import
# on this path): the file-based CDK's parser libraries and smart-open 5.1.0.
PEER_PKG=airbyte-source-s3==4.16.1
PEER_REQS=("smart-open[s3]==5.1.0" fastavro "unstructured==0.10.27" "unstructured.pytesseract>=0.3.12"
    "pytesseract==0.3.10" "pdfminer.six==20221105" markdown openpyxl "python-calamine>=0.2.3,<0.9.0"
    "pdf2image==1.16.3" "pendulum>=3,<4" "dill>=0.3.4,<0.4" "wcmatch>=10,<11" "psutil>=7,<8")
cdk_stamp="$CDK_VENV/.lakeport-reqs"
if [ -z "${LAKEPORT_SKIP_CDK:-}" ]; then
    want="${CDK_REQS[*]} ${PEER_PKG} ${PEER_REQS[*]}"
    if [ ! -x "$CDK_VENV/bin/python" ] || [ "$(cat "$cdk_stamp" 2>/dev/null)" != "$want" ]; then
        echo "test-deps: creating the Airbyte CDK venv at $CDK_VENV (one-time, ~600 MB)" >&2
        python3 -m venv "$CDK_VENV"
        "$CDK_VENV/bin/pip" install --quiet --disable-pip-version-check "${CDK_REQS[@]}" "${PEER_REQS[@]}" >&2
        "$CDK_VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "$PEER_PKG" >&2
        echo "$want" > "$cdk_stamp"
    fi
fi

echo "LAKEPORT_PYTHON=$VENV/bin/python"
echo "LAKEPORT_S3S_FS=$S3S_ROOT/bin/s3s-fs"
if [ -z "${LAKEPORT_SKIP_PYAIRBYTE:-}" ]; then
    echo "LAKEPORT_PYAIRBYTE_PYTHON=$PYAB_VENV/bin/python"
fi
if [ -z "${LAKEPORT_SKIP_CDK:-}" ]; then
    echo "LAKEPORT_CDK_PYTHON=$CDK_VENV/bin/python"
fi
