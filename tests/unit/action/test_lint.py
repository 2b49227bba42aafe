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


EXCEPTIONS = REPO / ".trivyignore.yaml"
"""The deliberate exceptions for our own files, each with its reason (docs/action.md: no USER, on purpose)."""


def test_the_only_exception_is_the_user_line_and_it_says_why() -> None:
    from gate.safe_yaml import load_file

    doc = load_file(EXCEPTIONS)
    assert isinstance(doc, dict) and set(doc) == {"misconfigurations"}
    entries = doc["misconfigurations"]
    assert [(e["id"], e["paths"]) for e in entries] == [("DS-0002", ["Dockerfile"])]
    assert "workspace" in entries[0]["statement"] and "gate/ci/privileges.py" in entries[0]["statement"]


def test_trivy_config_finds_nothing_in_the_dockerfile(tmp_path: Path) -> None:
    # Scan a folder holding only our Dockerfile: trivy would otherwise walk .venv and other checkouts.
    shutil.copy2(REPO / "Dockerfile", tmp_path / "Dockerfile")
    report = tmp_path / "trivy.json"
    trivy = [require_tool("trivy"), "config", "--quiet", "--format", "json", "--output", str(report)]
    done = _run([*trivy, "--ignorefile", str(EXCEPTIONS), str(tmp_path)])
    assert done.returncode == 0, done.stderr
    results = json.loads(report.read_text(encoding="utf-8")).get("Results", [])
    assert [r["Target"] for r in results] == ["Dockerfile"], "trivy did not scan the Dockerfile"
    assert results[0]["MisconfSummary"] == {"Successes": results[0]["MisconfSummary"]["Successes"], "Failures": 0}
    assert results[0]["MisconfSummary"]["Successes"] > 10
    # Without the waiver (an empty ignore file overrides trivy.yaml's), the missing USER is the only finding.
    (tmp_path / "empty.trivyignore").write_text("", encoding="utf-8")
    done = _run([*trivy, "--ignorefile", str(tmp_path / "empty.trivyignore"), str(tmp_path)])
    results = json.loads(report.read_text(encoding="utf-8")).get("Results", [])
    assert [m["ID"] for r in results for m in r.get("Misconfigurations", [])] == ["DS-0002"]


def test_our_own_gate_passes_the_dockerfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.cli import main

    # As the selftest workflow runs it: from the repository root, where the waiver's `paths` are relative to.
    monkeypatch.chdir(REPO)
    out = tmp_path / "result.json"
    assert main(["gate", "Dockerfile", "--ignore-file", ".trivyignore.yaml", "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["verdict"] == "pass" and result["counts"]["blocking"] == 0
    active = [f["id"] for f in result["findings"] if not f["suppressed"]]
    assert active == [], active
    assert [f["id"] for f in result["findings"] if f["suppressed"]] == ["CG-DF-001"]
