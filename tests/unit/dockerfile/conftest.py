"""Fixtures for the Dockerfile model and rule tests: the shared corpus helpers and external tools."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def _root_conftest() -> ModuleType:
    # tests/ is not a package, so the root conftest is loaded by path rather than by a module name
    # that could collide with this file's own `conftest` module name.
    spec = importlib.util.spec_from_file_location("_cg_root_conftest", HERE.parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROOT = _root_conftest()


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
