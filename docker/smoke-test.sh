#!/usr/bin/env bash
# Image smoke test. With a Docker engine: builds every connector image
# (docker/build.sh), checks its labels and AIRBYTE_ENTRYPOINT, then runs
# `spec` and `check` in it the way Airbyte does: config files in a directory
# mounted at the image's working directory (/config), relative paths, stdin closed.
# Without a Docker engine it says so and exits 0 — nothing is tested then.
#
#   docker/smoke-test.sh [connector ...]
#   SKIP_BUILD=1 docker/smoke-test.sh     # test images already built
set -euo pipefail
cd "$(dirname "$0")/.."

DOCKER="${DOCKER:-docker}"
PREFIX="${IMAGE_PREFIX:-lakeport}"
CONNECTORS=(source-s3 destination-s3 source-file destination-file source-sqlite)
selected=("$@")
[ ${#selected[@]} -eq 0 ] && selected=("${CONNECTORS[@]}")

if ! command -v "$DOCKER" >/dev/null 2>&1; then
    echo "smoke-test: SKIPPED — no Docker client ('$DOCKER' not found); no image was built or run."
    exit 0
fi
if ! why="$("$DOCKER" info 2>&1 >/dev/null)"; then
    echo "smoke-test: SKIPPED — a Docker client is installed but no Docker engine is reachable; no image was built or run."
    echo "smoke-test: \`$DOCKER info\` said: $(printf '%s' "$why" | grep -v '^\s*$' | tail -1)"
    exit 0
fi

VERSION="$(docker/build.sh --print-version)"
if [ -z "${SKIP_BUILD:-}" ]; then
    docker/build.sh "${selected[@]}"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

# One job directory per connector, readable and writable by the image's
# non-root user (uid 1000), as the platform's job directories are.
job_dir() {
    local d="$work/$1"
    mkdir -p "$d"
    chmod 0777 "$d"
    echo "$d"
}

for c in "${selected[@]}"; do
    image="$PREFIX/$c:$VERSION"
    echo "==> $image"

    # Labels and entrypoint, as Airbyte reads them.
    name_label="$("$DOCKER" image inspect -f '{{index .Config.Labels "io.airbyte.name"}}' "$image")"
    version_label="$("$DOCKER" image inspect -f '{{index .Config.Labels "io.airbyte.version"}}' "$image")"
    entrypoint="$("$DOCKER" image inspect -f '{{join .Config.Entrypoint " "}}' "$image")"
    airbyte_entrypoint="$("$DOCKER" image inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$image" | sed -n 's/^AIRBYTE_ENTRYPOINT=//p')"
    user="$("$DOCKER" image inspect -f '{{.Config.User}}' "$image")"
    [ "$name_label" = "lakeport/$c" ] || fail "$c" "io.airbyte.name is '$name_label'"
    [ "$version_label" = "$VERSION" ] || fail "$c" "io.airbyte.version is '$version_label', workspace is $VERSION"
    [ -n "$entrypoint" ] && [ "$entrypoint" = "$airbyte_entrypoint" ] || fail "$c" "ENTRYPOINT '$entrypoint' != AIRBYTE_ENTRYPOINT '$airbyte_entrypoint'"
    case "$user" in ""|root|0|0:*|root:*) fail "$c" "runs as root (USER '$user')" ;; esac

    dir="$(job_dir "$c")"
    # No network: the image must not need one for spec, or for check to answer.
    run() { "$DOCKER" run --rm -i --network=none -v "$dir:/config" "$image" "$@"; }
    failures_before=$failures

    # spec
    spec_out="$(run spec </dev/null)" || fail "$c" "spec exited non-zero"
    grep -q '"type":"SPEC"' <<<"$spec_out" || fail "$c" "spec printed no SPEC message"
    "$DOCKER" run --rm --entrypoint "$c" "$image" --version | grep -q "$VERSION" \
        || fail "$c" "--version does not print $VERSION"

    # check, with a config the platform would write into the job directory
    expect=SUCCEEDED
    case "$c" in
        source-file)
            mkdir -p "$dir/data"
            printf 'id,name\n1,a\n2,b\n' > "$dir/data/items.csv"
            echo '{"file_path": "data/items.csv"}' > "$dir/source_config.json"
            cfg=source_config.json ;;
        destination-file)
            echo '{"base_path": "out", "format": "jsonl"}' > "$dir/destination_config.json"
            cfg=destination_config.json ;;
        source-sqlite)
            cp examples/sample/shop.db "$dir/shop.db"
            echo '{"database_path": "shop.db"}' > "$dir/source_config.json"
            cfg=source_config.json ;;
        source-s3|destination-s3)
            # No S3 server in the container's (absent) network: check must
            # still answer, with CONNECTION_STATUS FAILED and exit 0.
            expect=FAILED
            if [ "$c" = source-s3 ]; then
                echo '{"bucket": "smoke", "endpoint_url": "http://127.0.0.1:9", "use_ssl": false, "access_key_id": "k", "secret_access_key": "s"}' > "$dir/source_config.json"
                cfg=source_config.json
            else
                echo '{"bucket": "smoke", "file_format": "jsonl", "endpoint_url": "http://127.0.0.1:9", "use_ssl": false, "access_key_id": "k", "secret_access_key": "s"}' > "$dir/destination_config.json"
                cfg=destination_config.json
            fi ;;
    esac
    chmod -R a+rwX "$dir"
    if check_out="$(run check --config "$cfg" </dev/null)"; then
        grep -q "\"status\":\"$expect\"" <<<"$check_out" \
            || fail "$c" "check did not report $expect: $check_out"
    else
        fail "$c" "check exited non-zero: $check_out"
    fi

    if [ "$c" = source-file ]; then
        records="$(run read --config source_config.json </dev/null | grep -c '"type":"RECORD"' || true)"
        [ "$records" = 2 ] || fail "$c" "read emitted $records records, expected 2"
    fi
    if [ "$failures" -eq "$failures_before" ]; then
        echo "    spec, check$([ "$c" = source-file ] && echo ', read') ok"
    fi
done

if [ "$failures" -gt 0 ]; then
    echo "smoke-test: $failures failure(s)"
    exit 1
fi
echo "smoke-test: ${#selected[@]} image(s) passed"
