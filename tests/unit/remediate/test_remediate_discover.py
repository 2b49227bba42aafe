"""Discovery: the Dockerfile name patterns, the folders we never walk, git-ignored files, globs;
and which FROM lines are base images."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate.dockerfile import parse
from remediate.discover import base_images, find, is_dockerfile


@pytest.mark.parametrize(
    "name",
    [
        "Dockerfile",
        "Containerfile",
        "dockerfile",
        "Dockerfile.prod",
        "Dockerfile-dev",
        "api.Dockerfile",
        "x.dockerfile",
    ],
)
def test_dockerfile_names(name: str) -> None:
    assert is_dockerfile(name)


@pytest.mark.parametrize(
    "name", ["Dockerfile.dockerignore", "README.md", "Dockerfile.md", "docker-compose.yml", "Dockerfiles"]
)
def test_not_dockerfiles(name: str) -> None:
    assert not is_dockerfile(name)


def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("FROM alpine:3.19\n")


def test_walk_skips_vendor_and_git_ignored(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        [
            "Dockerfile",
            "svc/api.Dockerfile",
            "vendor/x/Dockerfile",
            "node_modules/y/Dockerfile",
            "build/Dockerfile",
            "notes.txt",
        ],
    )
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("build/\n")
    found = sorted(p.relative_to(tmp_path).as_posix() for p in find([tmp_path]))
    assert found == ["Dockerfile", "svc/api.Dockerfile"]


def test_include_exclude_globs_and_explicit_files(tmp_path: Path) -> None:
    _tree(tmp_path, ["Dockerfile", "svc/Dockerfile", "images/base.docker", "test/Dockerfile"])

    def rel(paths: list[Path]) -> list[str]:
        return sorted(p.relative_to(tmp_path).as_posix() for p in paths)

    assert rel(find([tmp_path], exclude=["test/*"])) == ["Dockerfile", "svc/Dockerfile"]
    assert rel(find([tmp_path], include=["*.docker"])) == ["images/base.docker"]
    assert rel(find([tmp_path / "images" / "base.docker"])) == ["images/base.docker"]


def test_base_images_skip_stages_scratch_ignored_and_unresolvable() -> None:
    text = (
        "ARG TAG=3.19\n"
        "ARG NODEF\n"
        "FROM alpine:${TAG} AS base\n"
        "FROM base AS mid\n"
        "FROM scratch AS out\n"
        "# container-gate: ignore\n"
        "FROM busybox:1.36\n"
        "FROM $NODEF/alpine:3.19\n"
        "FROM ${MISSING:-golang:1.22}\n"
        "FROM mid\n"
    )
    uses, skipped = base_images(parse(text))
    assert [(u.line, u.resolved, u.final) for u in uses] == [(3, "alpine:3.19", True), (9, "golang:1.22", False)]
    assert {(s.line, s.reason.split(" ")[0]) for s in skipped} == {(7, "marked"), (8, "image")}
    assert "NODEF" in next(s.reason for s in skipped if s.line == 8)
