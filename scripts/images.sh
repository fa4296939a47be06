#!/usr/bin/env bash
# Builds the five connector images with podman from binaries built on this
# host, on a small Debian base made here with debootstrap — no image registry
# is needed. Idempotent: what is already there is reused.
#
#   scripts/images.sh              # podman & co, the base, release binaries, five images
#   scripts/images.sh setup        # only podman & co and their config
#   scripts/images.sh base         # ... and the base image
#   scripts/images.sh measure      # image sizes and container start-up to SPEC
#
# Steps of the default run:
#   1. apt-get installs podman, runc, debootstrap and podman-docker when missing
#      (root; otherwise it says what to install).
#   2. A containers.conf for podman on hosts like this one (runtime runc, default
#      ulimits within the hard limits), in the cache; point CONTAINERS_CONF at it.
#   3. The base root filesystem: debootstrap minbase of Debian $SUITE reduced to
#      what a glibc binary needs, cached as a tarball under the cache, imported
#      as lakeport/base:$SUITE.
#   4. `cargo build --release` of the five connectors (skipped when
#      LAKEPORT_IMAGE_BINARIES names a directory holding them).
#   5. docker/Dockerfile.prebuilt, once per connector: lakeport/<c>:<version>
#      and lakeport/<c>:dev.
# Prints `CONTAINERS_CONF=…` for `eval` on stdout; progress goes to stderr.
#
# Environment: LAKEPORT_CACHE (default ~/.cache/lakeport), IMAGE_PREFIX
# (default lakeport), LAKEPORT_IMAGE_BINARIES, LAKEPORT_DEBIAN_MIRROR (default:
# the host's apt source for $SUITE, else debootstrap's default),
# CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTORS=(source-s3 destination-s3 source-file destination-file source-sqlite)
PREFIX="${IMAGE_PREFIX:-lakeport}"
CACHE="${LAKEPORT_CACHE:-$HOME/.cache/lakeport}"
IMAGES_CACHE="$CACHE/images"
# The base follows the host's Debian release: the binaries are linked against
# the host's glibc, and the base's must be at least as new.
SUITE="${LAKEPORT_BASE_SUITE:-$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-bookworm}")}"
SUITE="${SUITE:-bookworm}"
BASE_IMAGE="$PREFIX/base:$SUITE"
APT_PACKAGES=(podman runc debootstrap podman-docker)

say() { echo "images: $*" >&2; }
die() { echo "images: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# 1. podman, runc, debootstrap, podman-docker
# ---------------------------------------------------------------------------
install_tools() {
    local missing=() p
    for p in "${APT_PACKAGES[@]}"; do
        if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 \
        || die "missing ${missing[*]} and no apt-get: install podman (with runc) and debootstrap by hand"
    [ "$(id -u)" = 0 ] \
        || die "missing ${missing[*]}: run \`sudo apt-get install ${missing[*]}\` (podman builds and runs the images as root here)"
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ---------------------------------------------------------------------------
# 2. containers.conf
# ---------------------------------------------------------------------------
# crun fails on hosts with hybrid cgroups (v1 controllers plus a v2 mount), so
# the runtime is runc. Podman's default ulimits (nofile 1048576, nproc 4194304)
# can exceed the hard limits of a CI sandbox, and the container then fails to
# start: the defaults here are the host's hard limits (nproc at most 32768).
write_containers_conf() {
    local conf="$CACHE/containers/containers.conf" nofile nproc
    nofile="$(ulimit -Hn)"
    nproc="$(ulimit -Hu)"
    [ "$nofile" = unlimited ] && nofile=1048576
    if [ "$nproc" = unlimited ] || [ "$nproc" -gt 32768 ]; then nproc=32768; fi
    mkdir -p "$(dirname "$conf")"
    cat > "$conf.tmp" <<EOF
# Written by scripts/images.sh; used through CONTAINERS_CONF.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    mv "$conf.tmp" "$conf"
    export CONTAINERS_CONF="$conf"
}

# ---------------------------------------------------------------------------
# 3. The base image
# ---------------------------------------------------------------------------
# What stays in the base, from the packages debootstrap installed:
#   - glibc's shared libraries and libgcc_s (the connectors are glibc binaries);
#   - the CA bundle /etc/ssl/certs/ca-certificates.crt (HTTPS to S3);
#   - a POSIX shell (dash) and a few coreutils: Airbyte on Kubernetes starts a
#     connector as `sh -c '… eval "$AIRBYTE_ENTRYPOINT read …" …; sleep …'`,
#     so an image without /bin/sh and sleep cannot run there;
#   - root and the non-root user airbyte (uid/gid 1000) with its home
#     /airbyte, and /config (the job directory) owned by it;
#   - the Debian copyright files of each package kept.
# No tzdata: the connectors compute in UTC and carry their own time-zone
# database (chrono-tz), and nothing reads /etc/localtime.
BASE_TOOLS=(/bin/sh /bin/dash /bin/cat /bin/ls /bin/mkdir /bin/mkfifo /bin/rm /bin/sleep /bin/touch /usr/bin/env /usr/bin/id)

debian_mirror() {
    if [ -n "${LAKEPORT_DEBIAN_MIRROR:-}" ]; then
        echo "$LAKEPORT_DEBIAN_MIRROR"
    elif command -v apt-get >/dev/null 2>&1; then
        # shellcheck disable=SC2016 # apt's own $(FIELD) placeholders
        apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null \
            | awk -v s="$SUITE" '$2 == s && $3 == "main" { print $1; exit }'
    fi
}

# Copies PATH of the full root $FULL into the slim root $SLIM at the same
# place, following symbolic links so that both each link and its target are
# kept (merged /usr: /bin is a link to usr/bin).
keep() {
    local path="$1" dir real
    dir="$(chroot "$FULL" readlink -f "$(dirname "$path")")"
    real="$dir/$(basename "$path")"
    [ -e "$SLIM$real" ] || [ -L "$SLIM$real" ] && return 0
    mkdir -p "$SLIM$dir"
    cp -a "$FULL$real" "$SLIM$real"
    if [ -L "$FULL$real" ]; then
        keep "$(chroot "$FULL" readlink -f "$real")"
    fi
}

make_base_rootfs() {
    local work="$1" mirror pkgs p f
    FULL="$work/full"
    SLIM="$work/rootfs"
    mirror="$(debian_mirror)"
    say "debootstrap --variant=minbase $SUITE ${mirror:-(default mirror)} (about 2 minutes)"
    debootstrap --variant=minbase --include=ca-certificates --components=main \
        "$SUITE" "$FULL" ${mirror:+"$mirror"} >"$work/debootstrap.log" 2>&1 \
        || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

    mkdir -p "$SLIM"
    # Merged /usr, as in Debian itself.
    for d in bin sbin lib lib64; do
        if [ -L "$FULL/$d" ]; then cp -a "$FULL/$d" "$SLIM/$d"; fi
    done
    # glibc and libgcc_s: every shared object of the two packages (no gconv
    # modules, no audit libraries, no locales).
    for p in libc6 libgcc-s1; do
        chroot "$FULL" dpkg -L "$p" | grep -E '^/(usr/)?lib.*\.so(\.[0-9]+)*$' | grep -v -e /gconv/ -e /audit/ \
            | while read -r f; do keep "$f"; done
    done
    # The shell and tools, with the libraries they link.
    for f in "${BASE_TOOLS[@]}"; do keep "$f"; done
    chroot "$FULL" ldd "${BASE_TOOLS[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' \
        | sort -u | while read -r f; do keep "$f"; done
    keep /etc/ssl/certs/ca-certificates.crt
    keep /etc/os-release
    keep /etc/debian_version
    # Copyright files of every package that contributed a file.
    # (dpkg knows a file under /bin or /lib by that name, not by its /usr one.)
    pkgs="$(cd "$SLIM" && find . -type f -printf '/%P\n' | sed 'p; s#^/usr/\(bin\|sbin\|lib\|lib64\)/#/\1/#' \
        | chroot "$FULL" xargs dpkg -S 2>/dev/null | cut -d: -f1 | tr ',' '\n' | sed 's/ //g' | sort -u || true)"
    for p in $pkgs; do
        [ -e "$FULL/usr/share/doc/$p/copyright" ] && keep "/usr/share/doc/$p/copyright"
    done
    # The dynamic loader's cache (glibc's own search path does not cover the
    # multiarch directories).
    mkdir -p "$SLIM/etc"
    cp -a "$FULL/etc/ld.so.conf" "$SLIM/etc/"
    cp -a "$FULL/etc/ld.so.conf.d" "$SLIM/etc/"
    ldconfig -r "$SLIM"

    # Users, name service, directories.
    cat > "$SLIM/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
airbyte:x:1000:1000:airbyte:/airbyte:/usr/sbin/nologin
EOF
    cat > "$SLIM/etc/group" <<'EOF'
root:x:0:
airbyte:x:1000:
EOF
    printf 'passwd: files\ngroup: files\nhosts: files dns\n' > "$SLIM/etc/nsswitch.conf"
    : > "$SLIM/etc/hosts"
    : > "$SLIM/etc/resolv.conf"
    mkdir -p "$SLIM"/{dev,proc,sys,run,root,tmp,var/tmp,usr/sbin,usr/local/bin,airbyte,config}
    chmod 0700 "$SLIM/root"
    chmod 1777 "$SLIM/tmp" "$SLIM/var/tmp"
    chown 1000:1000 "$SLIM/airbyte" "$SLIM/config"
}

# The recipe's fingerprint: the base is remade when any of it changes.
base_recipe() {
    { declare -f make_base_rootfs keep; echo "${BASE_TOOLS[*]} $SUITE"; } | sha256sum | cut -c1-16
}

ensure_base() {
    local recipe tar work have
    recipe="$(base_recipe)"
    tar="$IMAGES_CACHE/base-$SUITE-$recipe.tar"
    if [ ! -s "$tar" ]; then
        command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed (scripts/images.sh setup installs it)"
        [ "$(id -u)" = 0 ] || die "making the base image needs root (debootstrap, chroot): run scripts/images.sh as root"
        mkdir -p "$IMAGES_CACHE"
        work="$(mktemp -d "$IMAGES_CACHE/base-work.XXXXXX")"
        # shellcheck disable=SC2064
        trap "rm -rf '$work'" EXIT
        make_base_rootfs "$work"
        tar -C "$work/rootfs" --sort=name --numeric-owner --mtime=@0 -cf "$tar.tmp" .
        mv "$tar.tmp" "$tar"
        rm -rf "$work"
        trap - EXIT
        find "$IMAGES_CACHE" -maxdepth 1 -name "base-$SUITE-*.tar" ! -name "$(basename "$tar")" -delete
        say "base root filesystem cached: $tar ($(du -h "$tar" | cut -f1))"
    fi
    have="$(podman image inspect -f '{{index .Config.Labels "io.lakeport.base.recipe"}}' "$BASE_IMAGE" 2>/dev/null || true)"
    if [ "$have" != "$recipe" ]; then
        say "importing $BASE_IMAGE"
        podman import --quiet \
            --change "LABEL io.lakeport.base.recipe=$recipe" \
            --change "LABEL org.opencontainers.image.title=$BASE_IMAGE" \
            --change "ENV PATH=/usr/local/bin:/usr/bin:/bin" \
            --change 'CMD ["/bin/sh"]' \
            "$tar" "$BASE_IMAGE" >/dev/null
    fi
}

# ---------------------------------------------------------------------------
# 4. and 5. Binaries and connector images
# ---------------------------------------------------------------------------
workspace_version() { docker/build.sh --print-version; }

binaries_dir() {
    if [ -n "${LAKEPORT_IMAGE_BINARIES:-}" ]; then
        echo "$LAKEPORT_IMAGE_BINARIES"
        return
    fi
    local args=() c
    for c in "${CONNECTORS[@]}"; do args+=(-p "$c"); done
    say "cargo build --release ${args[*]}"
    cargo build --release --locked "${args[@]}" >&2
    echo "${CARGO_TARGET_DIR:-$PWD/target}/release"
}

build_images() {
    local bins version c ctx
    bins="$(binaries_dir)"
    version="$(workspace_version)"
    for c in "${CONNECTORS[@]}"; do
        [ -x "$bins/$c" ] || die "$bins/$c is missing: build it with \`cargo build --release -p $c\`"
    done
    ctx="$IMAGES_CACHE/context"
    for c in "${CONNECTORS[@]}"; do
        # The build context: the binary under its own name and the fixed
        # entrypoint path as a link to it (no RUN step: the build needs no
        # container runtime).
        rm -rf "$ctx"
        mkdir -p "$ctx/usr/local/bin"
        cp "$bins/$c" "$ctx/usr/local/bin/$c"
        ln -s "$c" "$ctx/usr/local/bin/lakeport-connector"
        say "building $PREFIX/$c:$version"
        podman build --quiet \
            -f docker/Dockerfile.prebuilt \
            --build-arg "BASE=$BASE_IMAGE" \
            --build-arg "CONNECTOR=$c" \
            --build-arg "VERSION=$version" \
            -t "$PREFIX/$c:$version" \
            -t "$PREFIX/$c:dev" \
            "$ctx" >/dev/null
    done
    rm -rf "$ctx"
    podman image prune -f >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------------------
# measure: sizes and start-up
# ---------------------------------------------------------------------------
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1000000 }'; }

measure() {
    local version c size runs=10 t0 t1 times
    version="$(workspace_version)"
    echo "image                                 size"
    echo "$BASE_IMAGE $(mb "$(podman image inspect -f '{{.Size}}' "$BASE_IMAGE")")" | awk '{ printf "%-36s %s %s\n", $1, $2, $3 }'
    for c in "${CONNECTORS[@]}"; do
        size="$(podman image inspect -f '{{.Size}}' "$PREFIX/$c:$version")"
        echo "$PREFIX/$c:$version $(mb "$size")" | awk '{ printf "%-36s %s %s\n", $1, $2, $3 }'
    done
    echo
    echo "container start-up to SPEC (podman run --rm IMAGE spec; median of $runs, after one warm-up)"
    for c in "${CONNECTORS[@]}"; do
        podman run --rm --network=none "$PREFIX/$c:$version" spec >/dev/null
        times=()
        for _ in $(seq "$runs"); do
            t0="$(date +%s%N)"
            podman run --rm --network=none "$PREFIX/$c:$version" spec | grep -q '"type":"SPEC"'
            t1="$(date +%s%N)"
            times+=("$(( (t1 - t0) / 1000000 ))")
        done
        printf '%-36s %s ms\n' "$PREFIX/$c:$version" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
    done
    echo
    echo "the binary alone (spec, median of $runs)"
    local bins
    bins="${LAKEPORT_IMAGE_BINARIES:-${CARGO_TARGET_DIR:-$PWD/target}/release}"
    for c in "${CONNECTORS[@]}"; do
        [ -x "$bins/$c" ] || continue
        times=()
        for _ in $(seq "$runs"); do
            t0="$(date +%s%N)"
            "$bins/$c" spec >/dev/null
            t1="$(date +%s%N)"
            times+=("$(( (t1 - t0) / 1000000 ))")
        done
        printf '%-36s %s ms\n' "$c" "$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
    done
}

case "${1:-all}" in
    setup)
        install_tools
        write_containers_conf ;;
    base)
        install_tools
        write_containers_conf
        ensure_base ;;
    all)
        install_tools
        write_containers_conf
        ensure_base
        build_images ;;
    measure)
        write_containers_conf
        measure >&2 ;;
    *)
        die "unknown command '$1' (setup, base, all, measure)" ;;
esac
echo "CONTAINERS_CONF=$CONTAINERS_CONF"
