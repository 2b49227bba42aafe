"""The speed seam (gate/speed.py): every trick on and every trick off give the same bytes.

The corpus, the Dockerfile fixtures, the example app and a generated 6,000-vulnerability Trivy report (19 MB:
large enough to be memory-mapped and to have its JSON rendered in a forked child) go through
`benchmarks/snapshot_outputs.py` twice, as fresh processes: once as shipped, once under `CONTAINER_GATE_PLAIN=1`.
Every output (SARIF, both GitLab reports, JSON, summary, JUnit, the console and the exit code) must be equal.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED, corpus_dir

REPO = Path(__file__).resolve().parents[2]


def _snapshot(out: Path, *, plain: bool) -> None:
    env = {**os.environ, "CONTAINER_GATE_PLAIN": "1" if plain else ""}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "snapshot_outputs.py"), str(out), "--shared", str(SHARED),
         "--big", "6000"],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _differences(left: Path, right: Path) -> list[str]:
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], where: str) -> None:
        found.extend(f"{where}{name}: only on one side" for name in cmp.left_only + cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(f"{where}{name}" for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{where}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return found


@pytest.mark.corpus
def test_every_output_is_the_same_with_the_tricks_off(tmp_path: Path) -> None:
    corpus_dir()  # skips with its reason, or fails under CI=true
    fast, plain = tmp_path / "fast", tmp_path / "plain"
    _snapshot(fast, plain=False)
    _snapshot(plain, plain=True)
    cases = [p for p in fast.iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert len(cases) > 50
    big = fast / "generated__trivy-6000"
    assert (big / "result.json").stat().st_size > 1_000_000 and (big / "junit.xml").is_file()
    assert _differences(fast, plain) == []


def test_the_switch_turns_the_tricks_off() -> None:
    probe = "\n".join(
        [
            "import gc, io",
            "from gate import speed",
            "from gate.model import Finding",
            "init = vars(Finding)['__init__'].__doc__ or ''",
            "with speed.collector_paused():",
            "    paused = not gc.isenabled()",
            "mapped = speed.read_report(io.BytesIO(b'{}'), speed.MAP_FROM)",
            "print(speed.ENABLED, 'gate.speed' in init, paused, speed.render_in_child_from() < 10**9,"
            " isinstance(mapped, bytes))",
        ]
    )
    shipped = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "CONTAINER_GATE_PLAIN": ""},
                             capture_output=True, text=True, check=True)  # fmt: skip
    off = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "CONTAINER_GATE_PLAIN": "1"},
                         capture_output=True, text=True, check=True)  # fmt: skip
    # On: the slot initialiser, the paused collector, the forked renderer; (BytesIO cannot be mapped: read either way)
    assert shipped.stdout.split() == ["True", "True", "True", "True", "True"]
    assert off.stdout.split() == ["False", "False", "False", "False", "True"]
