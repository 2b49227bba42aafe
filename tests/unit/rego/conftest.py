"""Fixtures for the Rego engine tests: the Conftest corpus folder, loaded through the root helpers."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent


def _root_conftest() -> ModuleType:
    # tests/ is not a package: load the root conftest by path under a name that cannot collide.
    spec = importlib.util.spec_from_file_location("_cg_root_conftest_rego", HERE.parents[1] / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def conftest_corpus() -> Path:
    """../shared/corpus/conftest (skips locally, fails under CI=true when missing)."""
    path = _root_conftest().corpus_dir() / "conftest"
    assert (path / "EXPECTATIONS.json").is_file()
    return path


@pytest.fixture
def write(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return _write
