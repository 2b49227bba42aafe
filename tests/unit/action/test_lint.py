"""Action metadata, workflows and Dockerfile pass actionlint, zizmor, check-jsonschema, hadolint, trivy and our gate."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, require_tool

pytestmark = pytest.mark.tool

ACTIONS = [REPO / "action.yml", REPO / "remediate" / "action.yml"]
WORKFLOWS = [
    REPO / ".github" / "workflows" / "ci.yml",
    REPO / ".github" / "workflows" / "selftest.yml",
    *sorted((REPO / "tests" / "e2e" / "workflows").glob("*.yml")),
]


def _run(argv: list[str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_there_is_something_to_lint() -> None:
    assert all(p.is_file() for p in ACTIONS + WORKFLOWS) and len(WORKFLOWS) >= 5


def test_actionlint_has_no_findings() -> None:
    # Workflows that `uses: ./` and `./remediate` make actionlint check both action.yml files too.
    done = _run([require_tool("actionlint"), *map(str, WORKFLOWS)])
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_zizmor_pedantic_offline_has_no_findings() -> None:
    done = _run(
        [require_tool("zizmor"), "--offline", "--persona=pedantic", "--format=plain", *map(str, ACTIONS + WORKFLOWS)]
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout


@pytest.mark.parametrize(
    ("schema", "files"),
    [("vendor.github-actions", ACTIONS), ("vendor.github-workflows", WORKFLOWS)],
    ids=["actions", "workflows"],
)
def test_check_jsonschema_builtin_schemas(schema: str, files: list[Path]) -> None:
    done = _run([require_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_jobs_all_have_timeouts() -> None:
    done = _run(
        [
            require_tool("check-jsonschema"),
            "--builtin-schema",
            "custom.github-workflows-require-timeout",
            *map(str, WORKFLOWS),
        ]
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_passes_the_dockerfile() -> None:
    done = _run([require_tool("hadolint"), "--no-color", "Dockerfile"])
    assert (done.returncode, done.stdout) == (0, "")


def test_trivy_config_finds_nothing_high_in_the_dockerfile(tmp_path: Path) -> None:
    # Scan a folder holding only our Dockerfile: trivy would otherwise walk .venv and other checkouts.
    shutil.copy2(REPO / "Dockerfile", tmp_path / "Dockerfile")
    report = tmp_path / "trivy.json"
    done = _run(
        [require_tool("trivy"), "config", "--quiet", "--format", "json", "--output", str(report), str(tmp_path)]
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(report.read_text(encoding="utf-8")).get("Results", [])
    assert [r["Target"] for r in results] == ["Dockerfile"], "trivy did not scan the Dockerfile"
    failures = [m for r in results for m in r.get("Misconfigurations", []) if m.get("Status") == "FAIL"]
    assert not [(m["ID"], m["Severity"]) for m in failures if m["Severity"] in ("HIGH", "CRITICAL")]
    assert results[0]["MisconfSummary"]["Successes"] > 10


def test_our_own_gate_passes_the_dockerfile(tmp_path: Path) -> None:
    from gate.cli import main

    out = tmp_path / "result.json"
    assert main(["gate", str(REPO / "Dockerfile"), "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["verdict"] == "pass" and result["counts"]["blocking"] == 0
