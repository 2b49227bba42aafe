"""The GitLab CI/CD component: its inputs map to real CLI flags, and the job is valid GitLab CI."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.cli import build_parser
from gate.options import OUTPUTS
from tests.conftest import corpus_file, require_tool

TEMPLATE = Path(__file__).resolve().parents[3] / "templates" / "gate" / "template.yml"
JOB_SETTINGS = {"stage", "needs", "job-name", "image", "version", "allow-failure"}
"""Inputs that shape the job itself rather than pass a flag."""
OUTPUT_FLAGS = {output.flag for output in OUTPUTS} | {"--upload-sarif", "--config"}


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    spec, jobs = yaml.safe_load_all(TEMPLATE.read_text())
    return spec, jobs


def gate_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {opt: a for a in sub.choices["gate"]._actions for opt in a.option_strings if opt.startswith("--")}


def test_every_input_is_a_gate_flag_and_every_policy_flag_an_input() -> None:
    inputs = documents()[0]["spec"]["inputs"]
    options = gate_options()
    flag_inputs = set(inputs) - JOB_SETTINGS - {"paths"}
    assert {f"--{name}" for name in flag_inputs} <= set(options)
    # every flag that changes the verdict can be set from the component (outputs are fixed files)
    assert set(options) - {"--help"} - OUTPUT_FLAGS <= {f"--{n}" for n in flag_inputs} | {"--config"}
    assert "config" in inputs


def test_choices_and_booleans_agree_with_the_cli() -> None:
    inputs = documents()[0]["spec"]["inputs"]
    options = gate_options()
    assert set(inputs["fail-on"]["options"]) - {""} == set(options["--fail-on"].choices or ())
    for name in ("only-fixed", "all-namespaces"):
        assert inputs[name]["type"] == "boolean" and isinstance(options[f"--{name}"], argparse._StoreTrueAction)


def test_free_text_inputs_reach_the_shell_only_through_variables() -> None:
    _, jobs = documents()
    job = next(iter(jobs.values()))
    script = "\n".join(job["script"])
    assert "$[[" not in script  # interpolating input text into a script would be shell injection
    for name, value in job["variables"].items():
        assert re.fullmatch(r"\$\[\[ inputs\.[a-z-]+ \]\]", value)
        assert f"${name}" in script, f"{name} is never used"


def test_reports_are_declared_for_gitlab() -> None:
    job = next(iter(documents()[1].values()))
    reports = {
        "container_scanning": "gl-container-gate-report.json",
        "codequality": "gl-container-gate-codequality.json",
        # JUnit: GitLab's test widget in every tier (the security widget is Ultimate-only)
        "junit": "gl-container-gate-junit.xml",
    }
    assert job["artifacts"]["reports"] == reports
    assert job["artifacts"]["when"] == "always"
    script = " ".join(job["script"])
    for flag, report in (
        ("--gitlab-report", "container_scanning"),
        ("--codequality", "codequality"),
        ("--junit", "junit"),
    ):
        assert f"{flag} {reports[report]}" in script


GITLAB_OWN = {"gl-container-scanning-report.json", "gl-code-quality-report.json", "gl-sbom-report.cdx.json"}
"""What GitLab's own Container Scanning and Code Quality jobs write: inputs of the gate, never its outputs."""


def test_outputs_never_take_the_names_of_gitlab_scanner_reports() -> None:
    job = next(iter(documents()[1].values()))
    written = set(job["artifacts"]["paths"]) | set(job["artifacts"]["reports"].values())
    assert not written & GITLAB_OWN
    script = "\n".join(job["script"])
    assert not any(name in script for name in GITLAB_OWN)


def test_the_gate_waits_for_the_scanners() -> None:
    spec, jobs = documents()
    inputs = spec["spec"]["inputs"]
    job = next(iter(jobs.values()))
    # GitLab's scanner job is container_scanning in stage test: needs makes the gate wait for it and get its
    # artifacts (without needs, a job of the same stage starts alongside it and finds no report).
    assert inputs["needs"]["type"] == "array" and inputs["needs"]["default"] == ["container_scanning"]
    assert job["needs"] == "$[[ inputs.needs ]]" and job["stage"] == "$[[ inputs.stage ]]"
    assert inputs["stage"]["default"] == "test"


def test_version_input_cannot_leave_the_repository_archive() -> None:
    pattern = documents()[0]["spec"]["inputs"]["version"]["regex"]
    assert re.fullmatch(pattern, "v1") and re.fullmatch(pattern, "0123abcd" * 5) and re.fullmatch(pattern, "1.2.3")
    for bad in ("../../evil/repo/archive/x", "v1 --index-url http://x", "v1;id", ""):
        assert not re.fullmatch(pattern, bad), bad


@pytest.mark.tool
def test_job_is_valid_gitlab_ci(tmp_path: Path) -> None:
    check = require_tool("check-jsonschema")
    spec, _ = documents()
    text = TEMPLATE.read_text().split("\n---\n", 1)[1]
    for name, decl in spec["spec"]["inputs"].items():
        default = decl.get("default", "")
        # GitLab puts booleans and arrays in as YAML values: JSON spells both the way YAML reads them.
        value = json.dumps(default) if isinstance(default, bool | list) else str(default)
        text = text.replace(f"$[[ inputs.{name} ]]", value)
    rendered = tmp_path / ".gitlab-ci.yml"
    rendered.write_text(text)
    assert "$[[" not in text
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.gitlab-ci", str(rendered)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def run_job_script(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the job's script lines in one POSIX shell, as the GitLab runner does, with the real CLI."""
    job = next(iter(documents()[1].values()))
    env = {"PATH": f"{Path(require_tool('container-gate')).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for name in job["variables"]:
        env[name] = variables.get(name, "")
    script = "set -e\n" + "\n".join(job["script"]) + "\n"
    return subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


TRIVY = json.dumps(
    {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "app:1 (alpine 3.20.0)",
                "Class": "os-pkgs",
                "Type": "alpine",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2024-1",
                        "PkgName": "musl",
                        "InstalledVersion": "1.2.5-r0",
                        "FixedVersion": "1.2.5-r1",
                        "Severity": "HIGH",
                    }
                ],
            }
        ],
    }
)


def test_job_script_runs_the_gate_and_writes_the_reports(tmp_path: Path) -> None:
    (tmp_path / "trivy.json").write_text(TRIVY)
    blocked = run_job_script(tmp_path, CG_PATHS="trivy.json", CG_FAIL_ON="HIGH")
    assert blocked.returncode == 1, blocked.stderr
    assert "CVE-2024-1" in blocked.stdout
    for name in ("gl-container-gate-report.json", "gl-container-gate-codequality.json", "container-gate.sarif"):
        assert (tmp_path / name).is_file()
    passed = run_job_script(tmp_path, CG_PATHS="trivy.json", CG_FAIL_ON="NONE", CG_ONLY_FIXED="true")
    assert passed.returncode == 0, passed.stderr


def test_job_script_treats_input_text_as_data(tmp_path: Path) -> None:
    (tmp_path / "trivy.json").write_text(TRIVY)
    result = run_job_script(
        tmp_path, CG_PATHS="trivy.json", CG_CONFIG="x.yml; touch pwned", CG_BASELINE="$(touch pwned2)"
    )
    assert result.returncode == 2
    assert "x.yml; touch pwned" in result.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_job_script_reads_gitlab_scanner_report_and_leaves_it_alone(tmp_path: Path) -> None:
    own = tmp_path / "gl-container-scanning-report.json"
    own.write_bytes(corpus_file("schemas/trivy-golden_alpine-310.gitlab-container-scanning.json").read_bytes())
    before = own.read_bytes()
    result = run_job_script(tmp_path, CG_PATHS="gl-container-scanning-report.json", CG_FAIL_ON="MEDIUM")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "4 blocking (4 MEDIUM)" in result.stdout
    assert own.read_bytes() == before
    written = json.loads((tmp_path / "gl-container-gate-report.json").read_text())
    assert len(written["vulnerabilities"]) == 4
