"""The gate's outputs are written by one writer (gate.atomic): planted links are never followed, a run that
fails part-way publishes nothing, parallel runs each leave whole files. Each case ran against the old
`.NAME.tmp` writer and failed there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gate.cli import main

REPO = Path(__file__).resolve().parents[2]
# Trivy's JSON shape (SchemaVersion 2), many findings so a partial write would show.
REPORT = json.dumps(
    {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "app:1 (debian 12.5)",
                "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": f"CVE-2024-{i:04d}",
                        "PkgName": f"p{i}",
                        "InstalledVersion": "1",
                        "FixedVersion": "2",
                        "Severity": "HIGH",
                    }
                    for i in range(300)
                ],
            }
        ],
    }
)


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "trivy.json"
    path.write_text(REPORT)
    return path


def test_a_planted_temporary_name_is_never_followed(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".o.sarif.tmp").symlink_to(victim)  # the old writer's predictable name
    (out / "o.json").symlink_to(victim)  # a link at the target itself is replaced, not written through
    code = main(["gate", str(report), "--sarif", str(out / "o.sarif"), "--json", str(out / "o.json")])
    capsys.readouterr()
    assert code == 1
    assert victim.read_text() == "precious\n"
    for name in ("o.sarif", "o.json"):
        assert not (out / name).is_symlink() and json.loads((out / name).read_text())
    assert sorted(p.name for p in out.iterdir()) == [".o.sarif.tmp", "o.json", "o.sarif"]


def test_a_run_that_cannot_write_one_output_publishes_none(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sarif = tmp_path / "o.sarif"
    sarif.write_text("last run\n")
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    code = main(["gate", str(report), "--sarif", str(sarif), "--json", str(blocked / "o.json")])
    err = capsys.readouterr().err
    assert code == 2 and "cannot write" in err and "o.json" in err
    assert sarif.read_text() == "last run\n"  # the SARIF was rendered first but never published
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file-not-folder", "o.sarif", "trivy.json"]


def test_parallel_runs_writing_the_same_outputs_all_succeed_with_whole_files(report: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "gate",
        "gate",
        str(report),
        "--sarif",
        str(out / "o.sarif"),
        "--json",
        str(out / "o.json"),
        "--summary",
        str(out / "s.md"),
    ]

    def one(_: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)

    with ThreadPoolExecutor(12) as pool:
        runs = list(pool.map(one, range(12)))
    assert [r.returncode for r in runs] == [1] * 12, [r.stderr for r in runs if r.returncode != 1]
    assert len(json.loads((out / "o.json").read_text())["findings"]) == 300
    assert json.loads((out / "o.sarif").read_text())["runs"]
    assert sorted(os.listdir(out)) == ["o.json", "o.sarif", "s.md"]  # no temporary file left behind
