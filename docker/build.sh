#!/usr/bin/env bash
# Builds the connector images from docker/Dockerfile, tagged
# <prefix>/<connector>:<workspace version> and <prefix>/<connector>:dev.
#
#   docker/build.sh                       # all five connectors
#   docker/build.sh source-file ...       # only these
#   docker/build.sh --print-version       # the version the images get (no Docker needed)
#
# This path needs an image registry (the rust and debian images). Without one,
# scripts/images.sh builds the same images with podman from binaries built on
# the host (docker/Dockerfile.prebuilt).
#
# Environment: DOCKER (client, default `docker`), IMAGE_PREFIX (default `lakeport`),
# DOCKER_BUILD_ARGS (extra `docker build` arguments, e.g. "--pull --no-cache").
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTORS=(source-s3 destination-s3 source-file destination-file source-sqlite)
DOCKER="${DOCKER:-docker}"
PREFIX="${IMAGE_PREFIX:-lakeport}"

# The workspace version: `version = "…"` under [workspace.package] in Cargo.toml
# (every connector crate uses `version.workspace = true`).
workspace_version() {
    awk '
        /^\[/ { section = $0; next }
        section == "[workspace.package]" && $1 == "version" {
            gsub(/[" ]/, "", $0); sub(/^version=/, "", $0); print; exit
        }' Cargo.toml
}

VERSION="$(workspace_version)"
if [ -z "$VERSION" ]; then
    echo "build.sh: no version under [workspace.package] in Cargo.toml" >&2
    exit 1
fi
if [ "${1:-}" = "--print-version" ]; then
    echo "$VERSION"
    exit 0
fi

selected=("$@")
if [ ${#selected[@]} -eq 0 ]; then
    selected=("${CONNECTORS[@]}")
fi
for c in "${selected[@]}"; do
    case " ${CONNECTORS[*]} " in
        *" $c "*) ;;
        *) echo "build.sh: unknown connector '$c' (one of: ${CONNECTORS[*]})" >&2; exit 2 ;;
    esac
done

if ! "$DOCKER" info >/dev/null 2>&1; then
    echo "build.sh: no Docker engine reachable through '$DOCKER' (\`$DOCKER info\` failed); cannot build images." >&2
    exit 1
fi

for c in "${selected[@]}"; do
    echo "==> building $PREFIX/$c:$VERSION" >&2
    # shellcheck disable=SC2086
    "$DOCKER" build ${DOCKER_BUILD_ARGS:-} \
        -f docker/Dockerfile \
        --build-arg "CONNECTOR=$c" \
        --build-arg "VERSION=$VERSION" \
        -t "$PREFIX/$c:$VERSION" \
        -t "$PREFIX/$c:dev" \
        .
done
echo "built: $(printf "$PREFIX/%s:$VERSION " "${selected[@]}")" >&2
