#!/usr/bin/env bash
# The suite's tools that are not Debian packages, installed without root into fixed folders the tests look in:
# gitlab-ci-local 4.70.1 (npm, into ~/.cache/container-gate/npm; 4.70.1 runs on Node 20, newer releases need
# Node 22) and the Go reference tools (gator, opa, conftest, cosign, syft: .ci/build-go-tools.sh, only what is
# missing).
# Used by .ci/run and by the GitHub CI job, so both set up the same things.
set -euo pipefail
cd "$(dirname "$0")/.."

gcl_prefix="${CONTAINER_GATE_NPM:-${HOME:-/root}/.cache/container-gate/npm}"
if [ "$("$gcl_prefix/bin/gitlab-ci-local" --version 2>/dev/null)" != "4.70.1" ]; then
    npm install -g --prefix "$gcl_prefix" --no-audit --no-fund --loglevel=error gitlab-ci-local@4.70.1
fi
# gator (the Gatekeeper comparisons), opa (what Rego built-ins answer), conftest (how it reads YAML inputs),
# cosign (signs images for the signature tests) and syft (SBOMs the readers are tested on), built once; a warm
# cache reinstalls in seconds.
bash .ci/build-go-tools.sh gator opa conftest cosign syft >/dev/null
