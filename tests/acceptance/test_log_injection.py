"""Under GITHUB_ACTIONS=true the runner obeys any log line that starts with `::`. Report text must never make one,
and the token masks must be the very first lines. Run as a real process, as the runner sees it."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EVIL = "evil\n::stop-commands::pwn\n::warning::injected\r\n##[error]x \x1b[31mred\u202e"
TOKEN = "ghs_" + "A1b2C3d4" * 4

# Trivy's JSON shape (SchemaVersion 2): text fields an attacker's image or PR controls.
REPORT = {
    "SchemaVersion": 2,
    "ArtifactName": "app:1",
    "ArtifactType": "container_image",
    "Results": [
        {
            "Target": f"app:1 {EVIL}",
            "Class": "os-pkgs",
            "Type": "debian",
            "Vulnerabilities": [
                {
                    "VulnerabilityID": "CVE-2024-1111",
                    "PkgName": f"pkg{EVIL}",
                    "InstalledVersion": "1",
                    "FixedVersion": "2",
                    "Severity": "CRITICAL",
                    "Title": EVIL,
                },
                {
                    "VulnerabilityID": "CVE-2024-2222",
                    "PkgName": "other",
                    "InstalledVersion": "1",
                    "Severity": "LOW",
                    "Title": EVIL,
                },
            ],
        }
    ],
}
OURS = re.compile(r"::(add-mask|error|warning|notice)( [a-zA-Z]+=[^:]*)?::[^\r\n]*")


def test_no_report_text_starts_a_workflow_command(tmp_path: Path) -> None:
    report = tmp_path / "trivy.json"
    report.write_text(json.dumps(REPORT))
    env = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "container-gate"), "gate", str(report), "--sarif", str(tmp_path / "o.sarif")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stdout.split("\n")
    assert lines[0] == f"::add-mask::{TOKEN}"  # masks before anything else
    for line in lines:
        if line.startswith(("::", "##[")):
            assert OURS.fullmatch(line), line
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert sum(1 for line in lines if line.startswith("::error ")) == 1  # the one blocking finding, no injected one
    assert not any(line.startswith("::warning::") for line in lines)
    assert TOKEN not in done.stdout.replace(f"::add-mask::{TOKEN}", "")
