"""End to end: `container-gate remediate --write` against the real registry rewrites the right lines only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from remediate.cli import main
from tests.conftest import corpus_file
from tests.integration.registry.oci import Pusher
from tests.integration.registry.servers import RegistryServer

pytestmark = pytest.mark.registry

TAGS = {
    "library/python": [
        "3.12.1-slim-bookworm",
        "3.12.2-slim-bookworm",
        "3.13.0-slim-bookworm",
        "3.13.0rc1-slim-bookworm",
        "3.12.2-slim",
        "3.14.0-slim-bookworm",
    ],
    "library/node": ["20.11.1-alpine", "20.12.2-alpine", "21.0.0-alpine", "20.11.1", "20.12.2", "latest"],
    "library/golang": ["1.21-alpine", "1.22-alpine", "1.22.1-alpine", "1.23-alpine3.20"],
    "library/alpine": ["3.18.4", "3.18.6", "3.19.1", "3.20", "3", "latest", "edge", "20240606"],
    "library/redis": ["7.2.4", "7.2.5", "7.4.1"],
    "org/app": ["1.0.0", "1.0.1", "1.1.0-rc1"],
    "org/tool": ["2.3.1", "2.3.2", "2.4.0"],
}


@pytest.fixture(scope="module")
def filled(registry: RegistryServer) -> Iterator[dict[str, dict[str, str]]]:
    """The registry filled with TAGS (each tag its own digest; alpine 3.20.3 multi-arch)."""
    digests: dict[str, dict[str, str]] = {}
    with requests.Session() as s:
        pusher = Pusher(registry.url, session=s)
        for repo, tags in TAGS.items():
            digests[repo] = {t: pusher.image(repo, t, salt="e2e") for t in tags}
        digests["library/alpine"]["3.20.3"] = pusher.multiarch("library/alpine", "3.20.3", salt="e2e")
    yield digests


def remediate(registry: RegistryServer, *args: str) -> int:
    return main(["remediate", "--registry-mirror", f"docker.io=http://127.0.0.1:{registry.port}", *args])


DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG NODE_VERSION=20.11.1
ARG BASE="python:3.12.1-slim-bookworm"
FROM --platform=$BUILDPLATFORM golang:1.21-alpine AS build
RUN echo build   # not a comment: part of the command
from node:${{NODE_VERSION}}-alpine as assets
FROM alpine:3.18.4@{d_alpine} AS pinned
FROM   alpine@{d_3191}   AS digestonly
# container-gate: ignore
FROM alpine:3.18.4 AS ignored
FROM localhost:{port}/org/app:1.0.0 AS local
FROM 127.0.0.1:{port}/org/tool:2.3.1 AS withport
FROM redis:7.2.4
FROM scratch AS empty
FROM build AS again
FROM nosuch/image:1.0 AS missing
FROM ${{BASE}}
FROM ${{UNSET_REDIS:-redis:7.2.4}} AS fallback
COPY --from=build /x /x
"""


def expected(text: str, d: dict[str, dict[str, str]], port: int) -> str:
    return (
        text.replace("golang:1.21-alpine", "golang:1.22-alpine")
        .replace("NODE_VERSION=20.11.1", "NODE_VERSION=20.12.2")
        .replace(f"alpine:3.18.4@{d['library/alpine']['3.18.4']}", f"alpine:3.20.3@{d['library/alpine']['3.20.3']}")
        .replace(f"alpine@{d['library/alpine']['3.19.1']}", f"alpine@{d['library/alpine']['3.20.3']}")
        .replace(f"localhost:{port}/org/app:1.0.0", f"localhost:{port}/org/app:1.0.1")
        .replace(f"127.0.0.1:{port}/org/tool:2.3.1", f"127.0.0.1:{port}/org/tool:2.4.0")
        .replace("redis:7.2.4", "redis:7.4.1")
        .replace('BASE="python:3.12.1-slim-bookworm"', 'BASE="python:3.14.0-slim-bookworm"')
    )


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_write_minor_updates_every_form_byte_exactly(
    registry: RegistryServer,
    filled: dict[str, dict[str, str]],
    tmp_path: Path,
    newline: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    alpine = filled["library/alpine"]
    text = DOCKERFILE.format(d_alpine=alpine["3.18.4"], d_3191=alpine["3.19.1"], port=registry.port)
    text = text.replace("\n", newline)
    path = tmp_path / "Dockerfile"
    path.write_bytes(text.encode())
    out_json = tmp_path / "plan.json"
    assert remediate(registry, "--write", "--update", "minor", "--json", str(out_json), str(path)) == 0
    assert path.read_bytes().decode() == expected(text, filled, registry.port)
    plan = json.loads(out_json.read_text())
    updates = {u["line"]: (u["from"], u["to"]) for u in plan["updates"]}
    assert sorted(updates) == [4, 6, 7, 8, 11, 12, 13, 17, 18]
    assert updates[6] == ("node:20.11.1-alpine", "node:20.12.2-alpine")
    assert updates[17] == ("python:3.12.1-slim-bookworm", "python:3.14.0-slim-bookworm")
    assert all(set(u) >= {"file", "line", "from", "to", "fixes"} for u in plan["updates"])
    skipped = {s["line"]: s["reason"] for s in plan["skipped"]}
    assert skipped[10] == "marked `# container-gate: ignore`"
    assert "nosuch/image on docker.io" in skipped[16] and "404" in skipped[16]
    assert "Dockerfile:13" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("level", "line"),
    [("patch", "FROM alpine:3.18.6\n"), ("minor", "FROM alpine:3.20.3\n"), ("major", "FROM alpine:3.20.3\n")],
)
def test_update_level_bounds_the_jump(
    registry: RegistryServer, filled: dict[str, dict[str, str]], tmp_path: Path, level: str, line: str
) -> None:
    path = tmp_path / "Containerfile"
    path.write_text("FROM alpine:3.18.4\nFROM redis:7.2.4\n")
    assert remediate(registry, "--write", "--update", level, str(tmp_path)) == 0
    redis = {"patch": "7.2.5", "minor": "7.4.1", "major": "7.4.1"}[level]
    assert path.read_text() == line + f"FROM redis:{redis}\n"


def test_pin_digest_and_dry_run(
    registry: RegistryServer, filled: dict[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "api.Dockerfile"
    path.write_text("FROM redis:7.4.1 AS r\n")
    assert remediate(registry, "--pin-digest", str(path)) == 0
    out = capsys.readouterr().out
    assert path.read_text() == "FROM redis:7.4.1 AS r\n", "--dry-run (the default) changes nothing"
    assert f"+FROM redis:7.4.1@{filled['library/redis']['7.4.1']} AS r" in out and "pin digest" in out
    assert remediate(registry, "--write", "--pin-digest", str(path)) == 0
    assert path.read_text() == f"FROM redis:7.4.1@{filled['library/redis']['7.4.1']} AS r\n"


def test_findings_decide_which_bases_move(
    registry: RegistryServer, filled: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    alpine_app = tmp_path / "app" / "Dockerfile"
    alpine_app.parent.mkdir()
    alpine_app.write_text("FROM golang:1.21-alpine AS build\nFROM alpine:3.18.4\n")
    report = corpus_file("trivy/trivy-golden_alpine-310.json")
    out = tmp_path / "plan.json"
    assert remediate(registry, "--write", "--findings", str(report), "--json", str(out), str(alpine_app)) == 0
    assert alpine_app.read_text() == "FROM golang:1.21-alpine AS build\nFROM alpine:3.20.3\n"
    plan = json.loads(out.read_text())
    assert [(u["line"], u["fixes"]) for u in plan["updates"]] == [(2, ["CVE-2019-1549", "CVE-2019-1551"])]
    assert "no fixable OS-package vulnerabilities" in plan["skipped"][0]["reason"]


def test_bad_inputs_exit_2_with_one_line(
    registry: RegistryServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.18.4\n")
    assert main(["remediate", "--registry-mirror", "docker.io=http://mirror.example.com", str(tmp_path)]) == 2
    assert "only allowed to loopback" in capsys.readouterr().err
    assert remediate(registry, "--findings", str(tmp_path / "absent.json"), str(tmp_path)) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("absent.json: no such file") and "\n" not in err
    bad = tmp_path / "bad" / "Dockerfile"
    bad.parent.mkdir()
    bad.write_text("FROM\n")
    assert remediate(registry, str(bad)) == 2
    assert "bad/Dockerfile" in capsys.readouterr().err


def test_python_dash_m_remediate_prints_json(
    registry: RegistryServer, filled: dict[str, dict[str, str]], tmp_path: Path
) -> None:
    import subprocess
    import sys

    (tmp_path / "Dockerfile").write_text("FROM node:20.11.1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "remediate", "--registry-mirror", f"docker.io={registry.url}", "--json", "-", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert "Dockerfile:1" in proc.stderr
    assert doc["updates"][0]["to"] == "node:20.12.2" and doc["updates"][0]["file"] == "Dockerfile"


def test_every_lookup_failing_exits_2_but_one_failure_does_not(
    registry: RegistryServer, filled: dict[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM nosuch/one:1.0\nFROM redis:7.2.4\n")
    assert remediate(registry, "--write", str(path)) == 0
    assert path.read_text() == "FROM nosuch/one:1.0\nFROM redis:7.4.1\n"
    path.write_text("FROM alpine:3.18.4\n")
    assert main(["remediate", "--registry-mirror", "docker.io=http://127.0.0.1:9", "--write", str(path)]) == 2
    err = capsys.readouterr().err
    assert "no registry lookup succeeded: list tags of alpine on docker.io (mirror http://127.0.0.1:9)" in err
    assert path.read_text() == "FROM alpine:3.18.4\n"


def test_write_with_an_output_that_cannot_be_written_changes_no_dockerfile(
    registry: RegistryServer, filled: dict[str, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Dockerfiles and the plan are published together: before, the Dockerfiles were rewritten first and the
    # failed --json left a checkout edited with no plan to explain it.
    first, second = tmp_path / "a" / "Dockerfile", tmp_path / "b" / "Dockerfile"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("FROM redis:7.2.4\n")
    first.chmod(0o640)
    (tmp_path / "taken").write_text("")  # a file where the plan's folder would have to be
    assert remediate(registry, "--write", "--json", str(tmp_path / "taken" / "plan.json"), str(tmp_path)) == 2
    assert "cannot write" in capsys.readouterr().err
    assert first.read_text() == second.read_text() == "FROM redis:7.2.4\n"
    assert sorted(p.name for p in first.parent.iterdir()) == ["Dockerfile"]  # no temporary file left
    assert remediate(registry, "--write", "--json", str(tmp_path / "plan.json"), str(tmp_path)) == 0
    assert first.read_text() == "FROM redis:7.4.1\n" and first.stat().st_mode & 0o777 == 0o640
