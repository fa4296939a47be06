# Shared by the demo scenarios (source it; do not run it).
#
# - The connectors: $LAKEPORT_BIN_DIR if set (a directory holding the five
#   binaries, e.g. target/debug), else `cargo build --release` once and
#   target/release (or $CARGO_TARGET_DIR/release).
# - Python with pyarrow and the s3s-fs S3 server: $LAKEPORT_PYTHON and
#   $LAKEPORT_S3S_FS if set, else scripts/test-deps.sh installs both into
#   ~/.cache/lakeport (once).
# - start_server: a local S3-protocol server (s3s-fs) on a free port over a
#   temporary directory, stopped (and the directory removed) when the script
#   exits, however it exits.
# - SCENARIO_SCALE=small: fewer objects (the test suite's fast setting).
set -euo pipefail

SCENARIOS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCENARIOS_DIR/../.." && pwd)"

if [ -z "${LAKEPORT_BIN_DIR:-}" ]; then
    echo "building the connectors (cargo build --release; set LAKEPORT_BIN_DIR to use built ones)..." >&2
    (cd "$REPO_ROOT" && cargo build --release --quiet --bins)
    LAKEPORT_BIN_DIR="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/release"
fi
BIN="$LAKEPORT_BIN_DIR"
for b in source-s3 destination-s3 source-file destination-file; do
    [ -x "$BIN/$b" ] || { echo "error: $BIN/$b is missing: build the connectors or set LAKEPORT_BIN_DIR" >&2; exit 1; }
done
if [ -z "${LAKEPORT_PYTHON:-}" ] || [ -z "${LAKEPORT_S3S_FS:-}" ]; then
    eval "$(LAKEPORT_SKIP_PYAIRBYTE=1 bash "$REPO_ROOT/scripts/test-deps.sh")"
fi
PY="$LAKEPORT_PYTHON"

# Layout size: days per month (x 12 months x 2 years x 5 parts).
if [ "${SCENARIO_SCALE:-}" = small ]; then DAYS=5; else DAYS=28; fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/lakeport-scenario.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

ACCESS_KEY="scenario-key"
SECRET_KEY="scenario-secret-Xk29"

# start_server BUCKET...: starts s3s-fs with these (empty) buckets; sets ENDPOINT and DATA.
start_server() {
    DATA="$WORK/s3"
    mkdir -p "$DATA"
    for b in "$@"; do mkdir -p "$DATA/$b"; done
    local port
    port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "$LAKEPORT_S3S_FS" --host 127.0.0.1 --port "$port" \
        --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" "$DATA" >"$WORK/s3s-fs.log" 2>&1 &
    SERVER_PID=$!
    ENDPOINT="http://127.0.0.1:$port"
    for _ in $(seq 100); do
        if "$PY" -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            echo "S3 server (s3s-fs) listening on $ENDPOINT, data in a temporary directory"
            return
        fi
        sleep 0.1
    done
    echo "error: s3s-fs did not start (log: $(cat "$WORK/s3s-fs.log"))" >&2
    exit 1
}

# gen_events DIR [ARGS...]: the hive layout of gen_events.py under DIR.
gen_events() {
    local dir="$1"
    shift
    "$PY" "$SCENARIOS_DIR/gen_events.py" "$dir" --days "$DAYS" "$@"
}

# config NAME JSON: writes a source/destination config with the server's
# connection keys merged in; prints its path.
config() {
    local path="$WORK/$1"
    "$PY" - "$path" "$2" "$ENDPOINT" "$ACCESS_KEY" "$SECRET_KEY" <<'EOF'
import json, sys
path, extra, endpoint, key, secret = sys.argv[1:]
cfg = {"endpoint_url": endpoint, "access_key_id": key, "secret_access_key": secret,
       "region": "us-east-1", "use_ssl": False}
cfg.update(json.loads(extra))
json.dump(cfg, open(path, "w"), indent=2)
EOF
    echo "$path"
}

# plain_file NAME JSON: writes JSON as is; prints its path.
plain_file() {
    printf '%s\n' "$2" >"$WORK/$1"
    echo "$WORK/$1"
}

# run_connector OUT NAME ARGS...: runs a connector, stdout to OUT.out, stderr
# to OUT.err; returns its exit status without stopping the script.
run_connector() {
    local out="$WORK/$1"
    shift
    local name="$1"
    shift
    set +e
    "$BIN/$name" "$@" >"$out.out" 2>"$out.err"
    local rc=$?
    set -e
    return $rc
}

# ok_run OUT NAME ARGS...: run_connector, and on failure stop the scenario
# showing the error.
ok_run() {
    local out="$1"
    if ! run_connector "$@"; then
        echo "error: $2 ${3:-} failed:" >&2
        report error "$out" >&2 || tail -5 "$WORK/$out.err" >&2
        exit 1
    fi
}

# write_from OUT DESTINATION CONFIG SOURCE_RUN: `DESTINATION write` fed
# with what the run SOURCE_RUN printed; on failure stop showing the error.
write_from() {
    if ! "$BIN/$2" write --config "$3" <"$WORK/$4.out" >"$WORK/$1.out" 2>"$WORK/$1.err"; then
        echo "error: $2 write failed:" >&2
        report error "$1" >&2 || tail -5 "$WORK/$1.err" >&2
        exit 1
    fi
}

# report ARGS...: report.py over the runs' outputs (see report.py).
report() {
    "$PY" "$SCENARIOS_DIR/report.py" "$WORK" "$@"
}

section() {
    echo
    echo "== $* =="
}

# catalog NAME CONFIG: `source-s3 discover`, then a configured catalog of
# every stream (full_refresh, or $2's mode); prints its path.
catalog() {
    local name="$1" cfg="$2" mode="${3:-full_refresh}"
    ok_run "$name.discover" source-s3 discover --config "$cfg"
    "$PY" - "$WORK/$name.discover.out" "$mode" >"$WORK/$name" <<'PYEOF'
import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("type") == "CATALOG":
        streams = [{"stream": s, "sync_mode": sys.argv[2], "destination_sync_mode": "append"}
                   for s in m["catalog"]["streams"]]
        print(json.dumps({"streams": streams}))
PYEOF
    echo "$WORK/$name"
}
