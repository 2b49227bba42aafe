"""Fixtures for the Rego engine tests: the Conftest corpus folder, loaded through the root helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import corpus_dir


@pytest.fixture
def conftest_corpus() -> Path:
    """../shared/corpus/conftest (skips locally, fails under CI=true when missing)."""
    path = corpus_dir() / "conftest"
    assert (path / "EXPECTATIONS.json").is_file()
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write
