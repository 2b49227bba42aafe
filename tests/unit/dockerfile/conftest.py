"""Fixtures for the Dockerfile model and rule tests: the shared corpus helpers and external tools."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import conftest as ROOT  # noqa: N812 - the root fixtures module, named for what it is

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


@pytest.fixture
def hadolint_bin() -> str:
    """The hadolint executable (skips locally, fails under CI=true when missing)."""
    return str(ROOT.require_tool("hadolint"))


@pytest.fixture
def trivy_bin() -> str:
    """The trivy executable (skips locally, fails under CI=true when missing)."""
    return str(ROOT.require_tool("trivy"))


@pytest.fixture
def corpus_path() -> Path:
    """The shared corpus folder."""
    path = ROOT.corpus_dir()
    assert isinstance(path, Path)
    return path
