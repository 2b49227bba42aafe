"""Fixtures for the report reader tests: the shared corpus, this folder's own fixtures, external tools."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from gate.ingest import load_report
from gate.model import Report

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def _root_conftest() -> ModuleType:
    # tests/ is not a package: load the root conftest by path, under a name that cannot clash.
    spec = importlib.util.spec_from_file_location("_cg_root_conftest_ingest", HERE.parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROOT = _root_conftest()


@pytest.fixture
def corpus_report() -> Callable[[str], Report]:
    """Load a corpus file (relative to ../shared/corpus) through content detection, as the CLI does."""

    def load(relative: str) -> Report:
        return load_report(ROOT.corpus_file(relative))

    return load


@pytest.fixture
def fixture_report() -> Callable[[str], Report]:
    """Load one of this folder's hand-written fixtures through content detection."""

    def load(name: str) -> Report:
        return load_report(FIXTURES / name)

    return load


@pytest.fixture
def fixture_path() -> Callable[[str], Path]:
    """Path of one of this folder's fixtures."""
    return lambda name: FIXTURES / name


@pytest.fixture
def corpus_root() -> Path:
    """The corpus folder (skips locally, fails under CI=true when missing)."""
    path: Path = ROOT.corpus_dir()
    return path


@pytest.fixture
def tool() -> Callable[[str], str]:
    """Resolve an external program (skips locally, fails under CI=true when missing)."""
    return lambda name: str(ROOT.require_tool(name))
