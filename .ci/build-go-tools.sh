#!/usr/bin/env bash
# Builds the reference tools the benchmarks (and tests that compare with them) run, from the Go module proxy at
# pinned versions, into one fixed folder. Only what is missing is built; the module and build caches live in the
# same folder, so a rebuild after a wipe of bin/ takes seconds.
#   .ci/build-go-tools.sh [tool ...]      (default: every tool below)
#   CONTAINER_GATE_TOOLS=/some/dir        (default: ~/.cache/container-gate/go)
set -euo pipefail

declare -A modules=(
    [conftest]="github.com/open-policy-agent/conftest@v0.71.1"
    [opa]="github.com/open-policy-agent/opa@v1.22.4"
    [gator]="github.com/open-policy-agent/gatekeeper/v3/cmd/gator@v3.23.1"
    [cosign]="github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"
    [syft]="github.com/anchore/syft/cmd/syft@v1.57.2"
)

root="${CONTAINER_GATE_TOOLS:-$HOME/.cache/container-gate/go}"
export GOPATH="$root/gopath" GOMODCACHE="$root/mod" GOCACHE="$root/build" GOBIN="$root/bin"
# GOTOOLCHAIN: the Go on PATH unless the caller names one (GitHub CI pins the toolchain this way).
export GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
mkdir -p "$GOBIN"
command -v go >/dev/null || { echo "build-go-tools: go is not installed" >&2; exit 2; }
go telemetry off >/dev/null 2>&1 || true

wanted=("$@")
[ "${#wanted[@]}" -gt 0 ] || wanted=("${!modules[@]}")
for tool in "${wanted[@]}"; do
    module="${modules[$tool]:-}"
    [ -n "$module" ] || { echo "build-go-tools: unknown tool $tool (known: ${!modules[*]})" >&2; exit 2; }
    version="${module##*@}"
    stamp="$GOBIN/.$tool.version"
    if [ -x "$GOBIN/$tool" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
        continue
    fi
    echo "build-go-tools: building $tool $version" >&2
    go install "$module"
    echo "$version" >"$stamp"
done
echo "$GOBIN"
