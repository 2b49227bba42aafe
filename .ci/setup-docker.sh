#!/usr/bin/env bash
# Start what the e2e tests need: a Docker engine (dockerd as root) and a local Debian base image.
#
# No public registry is reachable on the build machines, so the base image is made with debootstrap from the
# Debian mirror apt already uses, given the machine's CA bundle (pip inside containers goes through it), and
# imported under a fixed name. Idempotent: a running engine and an existing image are reused.
#
# Environment:
#   CG_BASE_IMAGE   name of the local base image (default container-gate-e2e-base:bookworm)
#   CG_DOCKERD_LOG  dockerd log file (default /tmp/container-gate-dockerd.log)
set -euo pipefail

BASE_IMAGE="${CG_BASE_IMAGE:-container-gate-e2e-base:bookworm}"
DOCKERD_LOG="${CG_DOCKERD_LOG:-/tmp/container-gate-dockerd.log}"
SOCKET=/var/run/docker.sock
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

log() { printf 'setup-docker: %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        log "must run as root (dockerd and debootstrap need it)"
        exit 1
    fi
}

install_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    # Ubuntu hosts (GitHub runners) need Debian's archive key to debootstrap bookworm.
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
    if [ "${#missing[@]}" -gt 0 ]; then
        log "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

engine_up() {
    docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start_engine() {
    if engine_up; then
        log "engine already running"
        return
    fi
    log "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: the engine must outlive the shell (and the pytest session) that started it.
    # 9>&-: the engine must not inherit (and so hold forever) the setup lock.
    setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
    for _ in $(seq 1 120); do
        if [ -S "$SOCKET" ] && engine_up; then
            log "engine ready"
            return
        fi
        sleep 0.5
    done
    log "dockerd did not come up; last log lines:"
    tail -n 20 "$DOCKERD_LOG" >&2
    exit 1
}

debian_mirror() {
    # The mirror apt uses here (deb822 or one-line format); deb.debian.org otherwise.
    local uri
    uri="$(grep -hoE '^URIs: *http[^ ]*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 |
        sed -E 's/^URIs: *//')" || true
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri="$(grep -hoE '^deb +http[^ ]*/debian/? +bookworm' /etc/apt/sources.list | head -n1 | awk '{print $2}')" ||
            true
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

build_base_image() {
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        log "base image $BASE_IMAGE already present"
        return
    fi
    local root mirror
    root="$(mktemp -d /tmp/cg-debootstrap.XXXXXX)"
    mirror="$(debian_mirror)"
    log "debootstrap bookworm from $mirror into $root"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror" \
        >"$root.log" 2>&1 || { tail -n 20 "$root.log" >&2; exit 1; }
    cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    # The image is a stand-in for python:3.11-slim, whose `python` is on PATH: give it the same name.
    ln -sf python3 "$root/usr/bin/python"
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    tar -C "$root" -c . | docker import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$root" "$root.log"
    log "imported $BASE_IMAGE"
}

need_root
# One setup at a time: parallel test workers may all call this script on a fresh machine.
exec 9>/tmp/container-gate-setup-docker.lock
flock 9
install_packages
start_engine
build_base_image
printf '%s\n' "$BASE_IMAGE"
