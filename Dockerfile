# The container-gate action image: the `gate` and `remediate` GitHub Actions (action.yml, remediate/action.yml)
# and a plain `container-gate` CLI image.
#
# Two stages: the builder turns the project and its dependencies into wheels and installs them into a virtual
# environment; the runtime stage copies only that environment onto the same pinned base. No compiler, no pip
# cache, no wheel files and no build-time index settings reach the final image.
#
# Build with the classic builder or BuildKit (act uses the classic one): no `RUN --mount`, no `# syntax=`.
# Tests substitute a local base with `--build-arg BASE_IMAGE=...` (no public registry is reachable there).
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${BASE_IMAGE} AS builder

# Index settings for networks that need them (a mirror, a proxy's CA bundle path); unset by default, and
# used in this stage only, so they never reach the runtime image.
ARG PIP_INDEX_URL
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

COPY requirements/action.txt requirements/build.txt /src/requirements/
COPY pyproject.toml README.md LICENSE /src/
COPY gate /src/gate
COPY remediate /src/remediate

# Every package that reaches the image, and the build backend that makes our own wheel, comes from a lock with
# hashes (`make lock` writes requirements/*.txt from pyproject.toml; a test fails when they drift apart).
# /opt/build holds the tools (pip, setuptools); /opt/venv gets only the runtime packages, so no pip ships in it.
RUN python -m venv /opt/build \
    && /opt/build/bin/python -m pip install --require-hashes --no-deps -r /src/requirements/build.txt \
    && /opt/build/bin/python -m pip wheel --no-deps --no-build-isolation --wheel-dir /wheels /src \
    && python -m venv --without-pip /opt/venv \
    && /opt/build/bin/python -m pip --python /opt/venv/bin/python install \
        --require-hashes --no-deps -r /src/requirements/action.txt \
    && /opt/build/bin/python -m pip --python /opt/venv/bin/python install --no-deps --no-index /wheels/*.whl

FROM ${BASE_IMAGE}

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="container-gate" \
      org.opencontainers.image.description="One security gate over every result a container pipeline produces, and a nightly base-image fixer." \
      org.opencontainers.image.source="https://github.com/org/container-gate" \
      org.opencontainers.image.documentation="https://github.com/org/container-gate/blob/main/docs/action.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# No USER, on purpose (GitHub's guidance for container actions): the workspace belongs to uid 1001 on hosted
# runners, to root under act and on many self-hosted runners, to any uid elsewhere. The entrypoint starts as root
# only to look at who owns the workspace, then becomes that uid and gid before it reads any input
# (gate/ci/privileges.py); a root-owned workspace keeps root, confined to the workspace. The one rule that insists
# on a USER line (Trivy DS-0002, our CG-DF-001) is waived for this file in .trivyignore.yaml with that reason.

# A one-shot CLI, not a service.
HEALTHCHECK NONE

# -I: ignore PYTHON* variables and keep the current directory (the user's repository) off sys.path.
ENTRYPOINT ["/opt/venv/bin/python", "-I", "-m", "gate.ci.action"]
