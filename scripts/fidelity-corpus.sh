#!/usr/bin/env bash
# Measures source-file against real files the project did not write (outside the test suite):
# the test data shipped in packages of the public registries, fetched with their ordinary
# clients and cached (never committed):
#   - fastavro's sdist (PyPI): tests/avro-files/*.avro, written by the Avro project's Java
#     tools, fastavro and others;
#   - pyarrow's wheel (PyPI): pyarrow/tests/data/parquet/*.parquet (old pyarrow/parquet-cpp
#     versions);
#   - csvkit's and agate's sdists (PyPI): their examples/ and test CSV files (encodings,
#     quoting, blank and ragged lines, BOMs, real public data extracts).
# (pandas' sdist would add more, but pip builds all of pandas to read its metadata.)
# Each file is read by source-file (discover, then read with the discovered catalog) and
# compared value by value with pyarrow / fastavro / Python's csv (scripts/fidelity_corpus.py
# over tests/python/fidelity_reference.py). Prints one line per file and a summary:
# exact / mismatch / refused-but-readable / refused-and-unreadable / read-reference-cannot.
#
# Usage: scripts/fidelity-corpus.sh [--json OUT]
#   LAKEPORT_FIDELITY_CORPUS  cache folder (default ~/.cache/lakeport/fidelity-corpus)
#   CARGO_TARGET_DIR          where source-file is built (debug; built if missing)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${LAKEPORT_FIDELITY_CORPUS:-$HOME/.cache/lakeport/fidelity-corpus}"
DL="$CACHE/dl"
FILES="$CACHE/files"
mkdir -p "$DL" "$FILES"

eval "$(bash "$ROOT/scripts/test-deps.sh")"
PY="$LAKEPORT_PYTHON"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/source-file"
if [ ! -x "$BIN" ]; then
    (cd "$ROOT" && cargo build -p source-file >&2)
fi

FASTAVRO=1.13.1
PYARROW=26.0.1
CSVKIT=2.1.0
AGATE=1.13.0

# pip download: sdists built only as far as their metadata, with wheels for build tools.
fetch() {
    local spec=$1 pattern=$2
    shift 2
    if ! compgen -G "$DL/$pattern" >/dev/null; then
        echo "fidelity-corpus: fetching $spec" >&2
        "$PY" -m pip download --quiet --disable-pip-version-check --no-deps -d "$DL" "$@" "$spec" >&2
    fi
}
fetch "fastavro==$FASTAVRO" "fastavro-$FASTAVRO.tar.gz" --no-binary fastavro
fetch "pyarrow==$PYARROW" "pyarrow-$PYARROW-*.whl" --only-binary :all:
fetch "csvkit==$CSVKIT" "csvkit-$CSVKIT.tar.gz" --no-binary csvkit
fetch "agate==$AGATE" "agate-$AGATE.tar.gz" --no-binary agate

# The data files of each package, unchanged, one folder per package.
"$PY" - "$DL" "$FILES" "$FASTAVRO" "$PYARROW" "$CSVKIT" "$AGATE" <<'EOF'
import glob, os, sys, tarfile, zipfile
dl, out, fastavro, pyarrow, csvkit, agate = sys.argv[1:]
EXT = (".parquet", ".parq", ".avro", ".csv")
def keep(name, prefixes):
    return name.lower().endswith(EXT) and any(p in name for p in prefixes)
def extract(members, read, dest):
    n = 0
    for name in members:
        target = os.path.join(out, dest, name.replace("/", "__"))
        if not os.path.exists(target):
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as fh:
                fh.write(read(name))
        n += 1
    print(f"fidelity-corpus: {n} files from {dest}", file=sys.stderr)
with tarfile.open(f"{dl}/fastavro-{fastavro}.tar.gz") as t:
    names = [m.name for m in t.getmembers() if m.isfile() and keep(m.name, ["/tests/"])]
    extract(names, lambda n: t.extractfile(n).read(), "fastavro")
for whl in glob.glob(f"{dl}/pyarrow-{pyarrow}-*.whl")[:1]:
    with zipfile.ZipFile(whl) as z:
        names = [n for n in z.namelist() if keep(n, ["pyarrow/tests/data/"])]
        extract(names, z.read, "pyarrow")
for pkg, version in [("csvkit", csvkit), ("agate", agate)]:
    with tarfile.open(f"{dl}/{pkg}-{version}.tar.gz") as t:
        names = [m.name for m in t.getmembers() if m.isfile() and keep(m.name, ["/examples/", "/tests/"])]
        extract(names, lambda n: t.extractfile(n).read(), pkg)
EOF

exec "$PY" "$ROOT/scripts/fidelity_corpus.py" "$FILES" "$BIN" "$ROOT/tests/python/fidelity_reference.py" "$@"
