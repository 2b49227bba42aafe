"""The one writer (gate/atomic.py): exclusive temporary files, never through links, all or nothing, parallel-safe."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gate.atomic import write_files
from gate.errors import OutputError


def test_planted_links_are_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "o.sarif"
    # The attack on the old writer: its temporary name was predictable and opened through links.
    (tmp_path / ".o.sarif.tmp").symlink_to(victim)
    (tmp_path / "r.json").symlink_to(victim)

    write_files({out: "{}", tmp_path / "r.json": b"[]"})

    assert victim.read_text(encoding="utf-8") == "precious"
    assert out.read_text(encoding="utf-8") == "{}" and not out.is_symlink()
    assert (tmp_path / "r.json").read_bytes() == b"[]" and not (tmp_path / "r.json").is_symlink()


def test_a_failure_part_way_publishes_nothing_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    first.write_text("old", encoding="utf-8")
    (tmp_path / "blocker").write_text("a file where a folder should be", encoding="utf-8")

    with pytest.raises(OutputError, match="cannot write"):
        write_files({first: "new", tmp_path / "blocker" / "second.json": "x"})

    assert first.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker", "first.json"]


def test_a_failing_hook_before_publishing_publishes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.json"

    def fail() -> None:
        raise OutputError("the other renderer failed")

    with pytest.raises(OutputError):
        write_files({target: "x"}, before_publish=fail)
    assert list(tmp_path.iterdir()) == []


def test_files_get_the_umask_mode_not_mkstemps_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_files({tmp_path / "a.sarif": "x"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.sarif").stat().st_mode) == 0o644


CHILD = """
import sys
from pathlib import Path
from gate.atomic import write_files
me = sys.argv[1]
out = Path(sys.argv[2])
for _ in range(30):
    write_files({out / "o.sarif": me * 50_000, out / "r.json": me * 10_000})
"""


def test_parallel_runs_each_succeed_with_whole_files(tmp_path: Path) -> None:
    runs = [
        subprocess.Popen([sys.executable, "-c", CHILD, letter, str(tmp_path)], stderr=subprocess.PIPE)
        for letter in "abcdefghijkl"
    ]
    codes = [(run.communicate(timeout=120)[1], run.returncode) for run in runs]

    assert all(code == 0 for _, code in codes), codes
    sarif = (tmp_path / "o.sarif").read_text(encoding="utf-8")
    assert len(sarif) == 50_000 and len(set(sarif)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.sarif", "r.json"]
