"""action.yml and remediate/action.yml against the CLI's own parser: every input is one flag with the same default."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.ci.action import COMMANDS, Input, Kind, build_argv, env_name
from gate.cli import build_parser
from tests.conftest import REPO, corpus_file

ACTION_FILES = {"gate": REPO / "action.yml", "remediate": REPO / "remediate" / "action.yml"}

# Where an action input's default differs from the flag's on purpose, and why.
DEFAULT_EXCEPTIONS: dict[tuple[str, str], str] = {
    # DESIGN.md: the action writes SARIF by default, so the `sarif-file` output always names a file.
    ("gate", "sarif"): "container-gate.sarif",
    # The gate's empty PATH list means "." (gate.run); the action spells that default out.
    ("gate", "paths"): ".",
    # The CLI's default mode is the dry run (no --write, no forge); the action says so explicitly.
    ("remediate", "dry-run"): "true",
    # DESIGN.md: the action opens pull requests on GitHub when dry-run is false.
    ("remediate", "forge"): "github",
}
TOKEN_DEFAULT = "${{ github.token }}"

# Flags an action input may name before the CLI has them (none now: the forge flags exist).
PENDING_FORGE_FLAGS: set[str] = set()

# CLI options an action deliberately does not expose.
NOT_INPUTS = {
    ("remediate", "--write"): "an action either plans (dry-run) or opens pull requests (forge)",
    # DESIGN.md spells these in the plural; the action passes the singular alias of the same option
    ("remediate", "--labels"): "the labels input passes --label, the same option",
    ("remediate", "--reviewers"): "the reviewers input passes --reviewer, the same option",
}


def _action(command: str) -> dict[str, Any]:
    data = yaml.safe_load(ACTION_FILES[command].read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found = sub.choices[command]
    assert isinstance(found, argparse.ArgumentParser)
    return found


def _options(command: str) -> dict[str, argparse.Action]:
    return {opt: a for a in _subparser(command)._actions for opt in a.option_strings}


def _cases() -> list[tuple[str, Input]]:
    return [(command, item) for command, table in COMMANDS.items() for item in table]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_action_inputs_are_exactly_the_table(command: str) -> None:
    declared = set(_action(command)["inputs"])
    assert declared == {item.name for item in COMMANDS[command]}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_no_two_inputs_share_a_flag(command: str) -> None:
    flags = [item.flag for item in COMMANDS[command] if item.flag]
    assert len(flags) == len(set(flags))


@pytest.mark.parametrize(("command", "item"), _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_input_maps_to_a_cli_option_of_the_same_kind(command: str, item: Input) -> None:
    options = _options(command)
    if item.kind is Kind.ENV:
        assert item.name == "token", "only the token travels by environment"
        return
    if item.kind is Kind.PATHS:
        positional = [a for a in _subparser(command)._actions if not a.option_strings]
        assert [a.dest for a in positional] == ["paths"] and positional[0].nargs == "*"
        return
    assert item.flag is not None
    if item.flag not in options:
        assert command == "remediate" and item.flag in PENDING_FORGE_FLAGS, f"{item.flag} is not a CLI option"
        assert item.unless == "dry-run", "a flag the CLI lacks must never reach it in a dry run"
        return
    action = options[item.flag]
    expected: dict[Kind, type[argparse.Action]] = {
        Kind.FLAG: argparse._StoreTrueAction,
        Kind.LIST: argparse._AppendAction,
        Kind.VALUE: argparse._StoreAction,
        Kind.TRISTATE: argparse.BooleanOptionalAction,
    }
    assert isinstance(action, expected[item.kind])
    if item.kind is Kind.VALUE:
        assert action.nargs is None


@pytest.mark.parametrize(("command", "item"), _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_input_default_is_the_flag_default(command: str, item: Input) -> None:
    declared = _action(command)["inputs"][item.name]
    default = str(declared.get("default", ""))
    if item.kind is Kind.ENV:
        assert default == TOKEN_DEFAULT
        return
    if (command, item.name) in DEFAULT_EXCEPTIONS:
        assert default == DEFAULT_EXCEPTIONS[command, item.name]
        return
    if item.kind is Kind.PATHS:
        assert [default] == _subparser(command).get_default("paths")
        return
    assert item.flag is not None
    action = _options(command).get(item.flag)
    cli_default = None if action is None else action.default
    if item.kind is Kind.FLAG:
        assert default == "false" and cli_default in (False, None)
    else:
        # An empty input means "flag not given": the CLI's own default (None, or an empty list) applies.
        assert default == "" and cli_default in (None, [])


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_cli_option_has_an_input(command: str) -> None:
    flags = {item.flag for item in COMMANDS[command]}
    for action in _subparser(command)._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        for opt in action.option_strings:
            if opt.startswith("--no-"):
                continue  # the negative half of a --X/--no-X pair (one tri-state input)
            assert opt in flags or (command, opt) in NOT_INPUTS, f"{command} {opt} has no action input"


@pytest.mark.parametrize(("command", "item"), _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_choices_are_named_in_the_description(command: str, item: Input) -> None:
    action = _options(command).get(item.flag or "")
    if action is None or not action.choices:
        return
    description = _action(command)["inputs"][item.name]["description"].lower()
    for choice in action.choices:
        assert str(choice).lower() in description, f"{item.name}: {choice} missing from the description"


def test_every_input_set_round_trips_through_the_parser(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    for name in ("b.json", "a.json"):
        (tmp_path / "reports" / name).write_text("{}", encoding="utf-8")
    values = {
        "paths": "reports/*.json\nDockerfile",
        "config": "cfg.yml",
        "policy": "policy/\nbuiltin:docker",
        "namespace": "main\nusers.*",
        "all-namespaces": "true",
        "data": "data.yaml",
        "fail-on": "medium",
        "only-fixed": "True",
        "ignore-file": ".trivyignore",
        "vex": "a.openvex.json\nb.openvex.json",
        "baseline": "-old.json",
        "sarif": "out.sarif",
        "gitlab-report": "gl.json",
        "codequality": "cq.json",
        "json": "result.json",
        "summary": "summary.md",
        "upload-sarif": "false",
        "token": "not-a-flag",
    }
    env = {env_name(k): v for k, v in values.items()}
    args = build_parser().parse_args(build_argv("gate", env, workspace=tmp_path))
    assert args.paths == ["reports/a.json", "reports/b.json", "Dockerfile"]
    assert (args.config, args.policy, args.namespace) == ("cfg.yml", ["policy/", "builtin:docker"], ["main", "users.*"])
    assert (args.all_namespaces, args.data, args.fail_on, args.only_fixed) == (True, ["data.yaml"], "MEDIUM", True)
    assert (args.ignore_file, args.vex) == ([".trivyignore"], ["a.openvex.json", "b.openvex.json"])
    assert (args.baseline, args.sarif, args.gitlab_report) == ("-old.json", "out.sarif", "gl.json")
    assert (args.codequality, args.json, args.summary, args.upload_sarif) == (
        "cq.json",
        "result.json",
        "summary.md",
        False,
    )


def test_remediate_inputs_round_trip_through_the_parser(tmp_path: Path) -> None:
    values = {
        "paths": "services/api\nDockerfile",
        "config": "cfg.yml",
        "findings": "trivy.json\ngrype.json",
        "update": "patch",
        "pin-digest": "false",
        "registry-mirror": "docker.io=http://127.0.0.1:5000",
        "dry-run": "true",
        "json": "plan.json",
        "forge": "gitlab",
        "labels": "dependencies",
    }
    env = {env_name(k): v for k, v in values.items()}
    args = build_parser().parse_args(build_argv("remediate", env, workspace=tmp_path))
    assert args.paths == ["services/api", "Dockerfile"]
    assert (args.config, args.findings, args.update) == ("cfg.yml", ["trivy.json", "grype.json"], "patch")
    assert (args.pin_digest, args.registry_mirror) == (False, ["docker.io=http://127.0.0.1:5000"])
    assert (args.dry_run, args.write, args.json) == (True, False, "plan.json")


@pytest.mark.corpus
def test_declared_outputs_are_the_outputs_the_gate_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.cli import main

    output = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(output))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", os.devnull)
    monkeypatch.chdir(tmp_path)
    report = corpus_file("trivy/trivy-golden_debian-buster.json")
    assert main(["gate", str(report), "--sarif", "out.sarif"]) == 1
    written = {line.split("<<", 1)[0] for line in output.read_text(encoding="utf-8").splitlines() if "<<" in line}
    assert written == set(_action("gate")["outputs"])


def test_remediate_forge_inputs_reach_the_parser(tmp_path: Path) -> None:
    values = {
        "dry-run": "false",
        "forge": "gitlab",
        "repo": "group/project",
        "api-url": "https://gitlab.example.com",
        "base-branch": "develop",
        "group": "true",
        "labels": "dependencies\ndocker",
        "reviewers": "12",
        "assignees": "13\n14",
        "max-open": "5",
        "max-new": "1",
        "branch-prefix": "deps/",
    }
    env = {env_name(k): v for k, v in values.items()}
    args = build_parser().parse_args(build_argv("remediate", env, workspace=tmp_path))
    assert (args.dry_run, args.forge, args.repo, args.api_url) == (False, "gitlab", "group/project", values["api-url"])
    assert (args.base_branch, args.group, args.labels) == ("develop", True, ["dependencies", "docker"])
    assert (args.reviewers, args.assignees) == (["12"], ["13", "14"])
    assert (args.max_open, args.max_new, args.branch_prefix) == (5, 1, "deps/")


@pytest.mark.parametrize(("command", "item"), _cases(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_input_is_in_the_docs_table(command: str, item: Input) -> None:
    # docs/action.md has one table per action; each input row starts with its name.
    assert f"| `{item.name}` |" in (REPO / "docs" / "action.md").read_text(encoding="utf-8"), item.name
