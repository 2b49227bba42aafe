"""The example app the README's `make demo` judges: it passes, for the documented reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.cli import main

APP = Path(__file__).resolve().parents[2] / "examples" / "app"


def test_demo_passes_with_vex_and_waiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(APP)
    out = tmp_path / "r.json"
    sarif = tmp_path / "r.sarif"
    assert main(["gate", ".", "--json", str(out), "--sarif", str(sarif)]) == 0
    result = json.loads(out.read_text())
    suppressed = {f["id"]: f["suppressed"]["by"] for f in result["findings"] if f["suppressed"]}
    assert suppressed == {"CVE-2024-45490": "vex", "CVE-2024-6119": "ignore"}
    merged = next(f for f in result["findings"] if f["id"] == "CVE-2024-34064")
    assert merged["sources"] == ["grype", "trivy"]  # GHSA from Grype and CVE from Trivy are one finding
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_demo_blocks_without_its_waivers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(APP)
    empty = tmp_path / "empty.yml"
    empty.write_text("fail-on: HIGH\n")
    out = tmp_path / "r.json"
    assert main(["gate", ".", "--config", str(empty), "--json", str(out)]) == 1
    blocking = {f["id"] for f in json.loads(out.read_text())["findings"] if f["blocking"]}
    assert blocking == {"CVE-2024-45490", "CVE-2024-6119"}
    log = capsys.readouterr().out.splitlines()
    assert log[0].startswith("container-gate: FAIL: 2 blocking (1 CRITICAL, 1 HIGH)")
    # the log names each blocking finding, most severe first, with the fix and where it shows
    assert (
        log[1].split()[:2] == ["CRITICAL", "CVE-2024-45490"]
        and "-> 2.5.0-1+deb12u1 in ghcr.io/example/app:1.0" in log[1]
    )
    assert log[2].split()[:2] == ["HIGH", "CVE-2024-6119"]
