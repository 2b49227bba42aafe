"""Every shipped GitHub workflow and action: schema-valid, actionlint and zizmor clean, hardened and pinned."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.cli import build_parser
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTIONS = [ROOT / "action.yml", ROOT / "remediate" / "action.yml"]
HARDEN = "step-security/harden-runner@"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
GATE_WORKFLOW_SETTINGS = {"reports", "dockerfile", "gate-image"}
"""Reusable-gate inputs that name what to run on rather than pass a flag."""


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def uses_lines(path: Path) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^\s*(?:- )?uses:\s*(.+)$", path.read_text(), re.M)]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid_against_the_schema(path: Path) -> None:
    tool = require_tool("check-jsonschema")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name or p.name)
def test_action_is_valid_against_the_schema(path: Path) -> None:
    tool = require_tool("check-jsonschema")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-actions", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    tool = require_tool("actionlint")
    result = subprocess.run([tool, *map(str, WORKFLOWS)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_pedantic_finds_nothing() -> None:
    tool = require_tool("zizmor")
    paths = [*map(str, WORKFLOWS), *map(str, ACTIONS)]
    result = subprocess.run(
        [tool, "--offline", "--persona", "pedantic", *paths], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_empty_at_the_top_and_set_per_job(path: Path) -> None:
    workflow = load(path)
    assert workflow.get("permissions") == {}
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions"


@pytest.mark.parametrize("path", [p for p in WORKFLOWS if p.name in {"gate.yml"}], ids=lambda p: p.name)
def test_every_job_starts_with_harden_runner_blocking_egress(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        if "uses" in job:  # a job calling a reusable workflow has no steps of its own
            continue
        first = job["steps"][0]
        assert first["uses"].startswith(HARDEN), f"{path.name}: job {name}"
        assert first["with"]["egress-policy"] == "block"
        assert first["with"]["allowed-endpoints"].split()


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.name)
def test_every_remote_uses_is_pinned_by_sha_with_a_version(path: Path) -> None:
    for line in uses_lines(path):
        if line.startswith(("./", "docker://")):
            continue
        assert PINNED.match(line), f"{path.name}: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_never_keeps_credentials(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in job.get("steps", []):
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_inputs_reach_run_only_through_env(path: Path) -> None:
    for job in load(path)["jobs"].values():
        for step in job.get("steps", []):
            assert "${{" not in step.get("run", ""), f"{path.name}: expression in run: of {step.get('name')}"


def gate_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {opt: a for a in sub.choices["gate"]._actions for opt in a.option_strings if opt.startswith("--")}


def test_reusable_gate_inputs_are_real_gate_flags() -> None:
    workflow = load(ROOT / ".github" / "workflows" / "gate.yml")
    # PyYAML reads the bare key `on` as True
    inputs = workflow[True]["workflow_call"]["inputs"]
    options = gate_options()
    assert {f"--{n}" for n in set(inputs) - GATE_WORKFLOW_SETTINGS} <= set(options)
    assert set(inputs["fail-on"].get("options", options["--fail-on"].choices or ())) <= set(
        options["--fail-on"].choices or ()
    )
    assert inputs["only-fixed"]["type"] == "boolean"
    assert isinstance(options["--only-fixed"], argparse._StoreTrueAction)
