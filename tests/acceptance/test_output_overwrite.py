"""An output named like a file the run reads is an error (exit 2, the file named) and the input is left intact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.cli import main

TRIVY = {
    "SchemaVersion": 2,
    "ArtifactName": "app:1",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": "app:1 (alpine 3.20.0)",
            "Class": "os-pkgs",
            "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2024-1", "PkgName": "musl", "InstalledVersion": "1", "Severity": "HIGH"}
            ],
        }
    ],
}


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "gl-container-scanning-report.json"
    path.write_text(json.dumps(TRIVY))
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["gate", *args])
    return code, capsys.readouterr().err


def test_the_gitlab_report_written_over_its_input(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = report.read_bytes()
    code, err = _run([report.name, "--gitlab-report", "./gl-container-scanning-report.json"], capsys)
    assert code == 2
    assert err.strip().splitlines() == [
        "container-gate: error: gl-container-scanning-report.json: is read as an input and would be overwritten "
        "by --gitlab-report: write --gitlab-report to another file"
    ]
    assert report.read_bytes() == before


@pytest.mark.parametrize("read_flag", ["--baseline", "--ignore-file", "--vex", "--config"])
def test_other_inputs_are_protected_too(
    report: Path, tmp_path: Path, read_flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text("{}")
    code, err = _run([report.name, read_flag, str(other), "--json", "other.json"], capsys)
    assert code == 2 and f"other.json: is read as {read_flag} and would be overwritten by --json" in err
    assert other.read_text() == "{}"


def test_two_outputs_on_one_file(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _run([report.name, "--sarif", "out.json", "--json", "out.json"], capsys)
    assert code == 2 and "out.json: is written by both --sarif and --json" in err


def test_a_folder_walk_still_leaves_its_outputs_alone(report: Path, tmp_path: Path) -> None:
    # `gate .` with an output inside the folder is fine: the walk never reads the run's own outputs.
    assert main(["gate", ".", "--gitlab-report", "gl-container-gate-report.json"]) == 1
    assert main(["gate", ".", "--gitlab-report", "gl-container-gate-report.json"]) == 1
    assert json.loads(report.read_text()) == TRIVY


def test_the_same_file_under_another_name_is_refused(
    report: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = tmp_path / "baseline.json"
    assert _run([str(report), "--json", str(baseline)], capsys)[0] in (0, 1)
    alias = tmp_path / "result.json"
    alias.hardlink_to(baseline)  # one inode, two names: writing one rewrites the other
    before = baseline.read_bytes()
    code, err = _run([str(report), "--baseline", str(baseline), "--json", str(alias)], capsys)
    assert code == 2 and "would be overwritten by --json" in err
    assert baseline.read_bytes() == before
