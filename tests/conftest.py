"""Shared test fixtures: where the real corpus lives, and how a missing component is reported."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONTAINER_GATE_SHARED", REPO.parent / "shared"))


def in_ci() -> bool:
    """True under CI=true, where a missing component fails a test instead of skipping it."""
    return os.environ.get("CI", "").lower() == "true"


def missing(what: str) -> None:
    """Skip locally, fail in CI: a test that needs a component must never pass by skipping there."""
    if in_ci():
        pytest.fail(f"{what} is required under CI=true")
    pytest.skip(f"{what} is not available on this machine")


def require_root(why: str) -> None:
    """Go on only as root (CI runs as root: .ci/run starts dockerd); elsewhere skip, under CI=true fail."""
    if os.geteuid() != 0:
        missing(f"root ({why})")


def corpus_dir() -> Path:
    """The real-data corpus (../shared/corpus), read in place and never copied."""
    path = SHARED / "corpus"
    if not path.is_dir():
        missing(f"the shared corpus at {path}")
    return path


def corpus_file(relative: str) -> Path:
    """One corpus file; asserting it exists catches renamed corpus entries early."""
    path = corpus_dir() / relative
    assert path.is_file(), f"corpus file {relative} is missing"
    return path


def require_tool(name: str) -> str:
    """Path of an executable (the venv's bin first), or skip/fail as `missing` does."""
    venv_bin = REPO / ".venv" / "bin" / name
    if venv_bin.exists():
        return str(venv_bin)
    found = shutil.which(name)
    if found is None:
        missing(f"the {name} program")
    assert found is not None
    return found


def go_tool(name: str) -> str:
    """A reference tool built by .ci/build-go-tools.sh (gator, conftest, opa), or skip/fail as `missing` does."""
    root = Path(os.environ.get("CONTAINER_GATE_TOOLS") or Path.home() / ".cache" / "container-gate" / "go")
    path = root / "bin" / name
    if not path.is_file():
        missing(f"{name} (build it with .ci/build-go-tools.sh {name})")
    return str(path)


UNDEFINED = object()
"""What `opa_eval` answers for a query without a result."""


def opa_eval(data: Path, query: str, *, input: Path | None = None, v0: bool = False) -> Any:
    """The value of `query`'s first expression as the real `opa eval` gives it over the policies or data at `data`
    (with `input` as the input document, `v0` as `--v0-compatible`), or `UNDEFINED`."""
    flags = ["--v0-compatible"] if v0 else []
    flags += ["-i", str(input)] if input is not None else []
    done = subprocess.run(
        [go_tool("opa"), "eval", *flags, "--format", "json", "-d", str(data), query],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout).get("result")
    return result[0]["expressions"][0]["value"] if result else UNDEFINED


@pytest.fixture
def corpus() -> Path:
    """Fixture form of `corpus_dir()`."""
    return corpus_dir()
