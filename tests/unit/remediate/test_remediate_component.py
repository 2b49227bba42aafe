"""The GitLab component for scheduled remediation: inputs are real flags, and its script builds the argv."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from gate.cli import build_parser

TEMPLATE = Path(__file__).resolve().parents[3] / "templates" / "remediate" / "template.yml"
JOB_SETTINGS = {"stage", "job-name", "image", "version"}


def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    spec, jobs = yaml.safe_load_all(TEMPLATE.read_text())
    return spec, jobs


def options() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {o: a for a in sub.choices["remediate"]._actions for o in a.option_strings}


def test_every_input_is_a_remediate_flag() -> None:
    inputs = documents()[0]["spec"]["inputs"]
    flags = options()
    assert {f"--{n}" for n in set(inputs) - JOB_SETTINGS - {"paths"}} <= set(flags)
    assert set(inputs["update"]["options"]) - {""} == set(flags["--update"].choices or ())


def test_free_text_reaches_the_shell_only_through_variables() -> None:
    job = next(iter(documents()[1].values()))
    script = "\n".join(job["script"])
    assert "$[[" not in script
    for name, value in job["variables"].items():
        assert re.fullmatch(r"\$\[\[ inputs\.[a-z-]+ \]\]", value) and f"${name}" in script


def test_the_script_builds_the_command_line(tmp_path: Path) -> None:
    job = next(iter(documents()[1].values()))
    values = {
        "paths": "services/api Dockerfile",
        "findings": "a.json b.json",
        "kev": "kev.json",
        "epss": "",
        "labels": "dependencies docker",
        "reviewers": "12",
        "group": "true",
        "max-new": "1",
        "update": "patch",
        "config": "",
        "registry-mirror": "",
        "base-branch": "",
        "assignees": "",
        "max-open": "",
        "branch-prefix": "",
        "version": "v1",
    }
    env = {k: re.sub(r"\$\[\[ inputs\.([a-z-]+) \]\]", lambda m: values[m[1]], v) for k, v in job["variables"].items()}
    fake = tmp_path / "bin" / "container-gate"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n')
    fake.chmod(0o755)
    done = subprocess.run(
        ["sh", "-ec", "\n".join(job["script"])],
        env={**env, "PATH": f"{fake.parent}{os.pathsep}/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    argv = done.stdout.splitlines()
    assert argv == [
        "remediate", "--forge", "gitlab", "--findings", "a.json", "--findings", "b.json", "--kev", "kev.json",
        "--labels", "dependencies", "--labels", "docker", "--reviewers", "12", "--update", "patch",
        "--max-new", "1", "--group", "--", "services/api", "Dockerfile",
    ]  # fmt: skip
    args = build_parser().parse_args(argv)
    assert (args.forge, args.group, args.labels, args.max_new) == ("gitlab", True, ["dependencies", "docker"], 1)
    assert (args.kev, args.epss) == (["kev.json"], [])


def test_job_is_valid_gitlab_ci(tmp_path: Path) -> None:
    import json

    from tests.conftest import require_tool

    check = require_tool("check-jsonschema")
    spec, _ = documents()
    text = TEMPLATE.read_text().split("\n---\n", 1)[1]
    for name, decl in spec["spec"]["inputs"].items():
        default = decl.get("default", "")
        value = json.dumps(default) if isinstance(default, bool | list) else str(default)
        text = text.replace(f"$[[ inputs.{name} ]]", value)
    rendered = tmp_path / ".gitlab-ci.yml"
    rendered.write_text(text)
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.gitlab-ci", str(rendered)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
