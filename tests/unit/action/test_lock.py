"""The image installs from hash-locked requirements that match pyproject.toml (Scorecard's Pinned-Dependencies).

`make lock` writes requirements/action.txt (the runtime dependencies) and requirements/build.txt (the build
backend) with pip-compile. The image build proves each lock is complete (pip refuses, in --require-hashes mode,
any package it would need that the lock lacks); these tests prove the locks say what pyproject.toml says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

ACTION_LOCK = REPO / "requirements" / "action.txt"
BUILD_LOCK = REPO / "requirements" / "build.txt"
BUILD_IN = REPO / "requirements" / "build.in"

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+) \\$", re.M)


def _pins(lock: Path) -> dict[str, tuple[str, int]]:
    """Package → (version, number of hashes), from a pip-compile file with hashes."""
    text = lock.read_text(encoding="utf-8")
    pins: dict[str, tuple[str, int]] = {}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    for block in blocks:
        found = _PIN.match(block)
        if found:
            pins[canonicalize_name(found["name"])] = (found["version"], block.count("--hash=sha256:"))
    return pins


def _top_level(lock: Path, source: str) -> set[str]:
    """Packages the lock says come straight from `source` (pip-compile's `# via` notes)."""
    names: set[str] = set()
    current: str | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if found:
            current = canonicalize_name(found[1])
        elif current and re.search(rf"#\s+(via\s+)?{re.escape(source)}$", line.strip()):
            names.add(current)
    return names


def _pyproject() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)


@pytest.mark.parametrize("lock", [ACTION_LOCK, BUILD_LOCK], ids=["action", "build"])
def test_every_locked_package_is_pinned_with_hashes(lock: Path) -> None:
    pins = _pins(lock)
    assert pins, f"{lock.name}: no pins found"
    assert not [name for name, (_, hashes) in pins.items() if hashes == 0]
    lines = [line for line in lock.read_text(encoding="utf-8").splitlines() if line and not line.startswith(" ")]
    # Every requirement line is a `name==version \` pin: no ranges, URLs, editable installs or index options.
    assert all(line.startswith("#") or _PIN.match(line) for line in lines), lines


def test_the_runtime_lock_matches_pyproject_dependencies() -> None:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    wanted = [Requirement(text) for text in project["dependencies"]]
    pins = _pins(ACTION_LOCK)
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req} is in pyproject.toml but not in {ACTION_LOCK.name}: run `make lock`"
        assert req.specifier.contains(pins[name][0], prereleases=True), f"{name}=={pins[name][0]} violates {req}"
    direct = _top_level(ACTION_LOCK, "container-gate (pyproject.toml)")
    assert direct == {canonicalize_name(r.name) for r in wanted}, "the lock is older than pyproject.toml: `make lock`"


def test_the_build_lock_matches_the_build_system() -> None:
    build_system = _pyproject()["build-system"]
    assert isinstance(build_system, dict)
    wanted = {canonicalize_name(Requirement(text).name): Requirement(text) for text in build_system["requires"]}
    listed = {
        canonicalize_name(Requirement(line).name): Requirement(line)
        for line in BUILD_IN.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert listed == wanted, f"{BUILD_IN.name} must list pyproject.toml's [build-system] requires"
    pins = _pins(BUILD_LOCK)
    for name, req in wanted.items():
        assert req.specifier.contains(pins[name][0], prereleases=True), f"{name}=={pins[name][0]} violates {req}"


def test_the_image_installs_only_from_the_locks() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    installs = re.findall(r"pip(?: --python \S+)? install[^&]*", dockerfile.replace("\\\n", " "))
    assert len(installs) == 3, installs
    for command in installs:
        hashed = "--require-hashes" in command and re.search(r"-r /src/requirements/(action|build)\.txt", command)
        own_wheel = "--no-index" in command and "/wheels/" in command
        assert "--no-deps" in command and (hashed or own_wheel), command
