"""Where image vulnerabilities are anchored: the final FROM of the Dockerfile that builds the image."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gate.config import GateConfig
from gate.emit.base import ImageAnchor
from gate.findings import parse_dockerfiles
from gate.outputs import anchors


def _dockerfile(path: Path, base: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"FROM golang:1.22 AS build\nRUN go build\n\nFROM {base}\nCOPY --from=build /app /app\n")
    return path


def test_one_dockerfile_anchors_its_base_and_every_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = _dockerfile(Path("svc/Dockerfile"), "alpine:3.19")
    found = anchors(parse_dockerfiles([path]), GateConfig())
    assert found == (
        ImageAnchor(image="alpine", path="svc/Dockerfile", line=4),
        ImageAnchor(image="*", path="svc/Dockerfile", line=4),
    )


def test_config_images_name_the_dockerfile_through_a_link_and_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The config names the Dockerfile by a path through a linked folder; the inputs name it directly. Both are
    # one file, so the config's image is anchored on it, and paths are relative to the working folder.
    real = _dockerfile(tmp_path / "repo" / "app" / "Dockerfile", "debian:12")
    other = _dockerfile(tmp_path / "repo" / "web" / "Dockerfile", "nginx:1.27")
    os.symlink(tmp_path / "repo" / "app", tmp_path / "linked")
    monkeypatch.chdir(tmp_path / "repo")
    config = GateConfig(images=(("ghcr.io/acme/app:1.0", str(tmp_path / "linked" / "Dockerfile")),))
    found = anchors(parse_dockerfiles([real, other]), config)
    assert ImageAnchor(image="ghcr.io/acme/app", path="app/Dockerfile", line=4) in found
    assert ImageAnchor(image="debian", path="app/Dockerfile", line=4) in found
    assert ImageAnchor(image="nginx", path="web/Dockerfile", line=4) in found
    assert not any(a.image == "*" for a in found)  # two Dockerfiles: no catch-all
