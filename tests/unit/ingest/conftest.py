"""Fixtures for the report reader tests: the shared corpus, this folder's own fixtures, external tools."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gate.ingest import load_report
from gate.model import Report
from tests import conftest as ROOT  # noqa: N812 - the root fixtures module

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


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
