"""The actions' entrypoint (gate.ci.action): INPUT_* variables to argv, safely, and the CLI run in process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.ci.action import ACTION_MODE, build_argv, env_name, expand_paths, main, run_action
from gate.errors import ConfigError
from tests.conftest import corpus_file


def _env(**inputs: str) -> dict[str, str]:
    return {env_name(name.replace("_", "-")): value for name, value in inputs.items()}


def test_input_variable_names_keep_hyphens() -> None:
    assert env_name("fail-on") == "INPUT_FAIL-ON"
    assert env_name("registry mirror") == "INPUT_REGISTRY_MIRROR"


def test_list_inputs_become_repeated_flags_and_blank_lines_vanish(tmp_path: Path) -> None:
    argv = build_argv("gate", _env(policy="\n  policy/a \n\npolicy/b\n"), workspace=tmp_path)
    assert argv == ["gate", "--policy=policy/a", "--policy=policy/b"]


def test_values_that_look_like_options_stay_values(tmp_path: Path) -> None:
    argv = build_argv("gate", _env(json="--upload-sarif", paths="-h\n--sarif=x"), workspace=tmp_path)
    assert argv == ["gate", "--json=--upload-sarif", "--", "-h", "--sarif=x"]


def test_empty_inputs_pass_nothing(tmp_path: Path) -> None:
    env = _env(config="", fail_on="  ", only_fixed="", paths="")
    assert build_argv("gate", env, workspace=tmp_path) == ["gate"]


@pytest.mark.parametrize(("text", "expected"), [("true", ["--only-fixed"]), ("True", ["--only-fixed"]), ("false", [])])
def test_booleans(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert build_argv("gate", _env(only_fixed=text), workspace=tmp_path) == ["gate", *expected]


@pytest.mark.parametrize("text", ["yes", "1", "on", "tru"])
def test_booleans_are_strict(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=f"input only-fixed must be true or false, got '{text}'"):
        build_argv("gate", _env(only_fixed=text), workspace=tmp_path)


@pytest.mark.parametrize(("text", "expected"), [("true", ["--pin-digest"]), ("false", ["--no-pin-digest"]), ("", [])])
def test_tristate_input_keeps_the_cli_default_when_empty(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert build_argv("remediate", _env(pin_digest=text), workspace=tmp_path) == ["remediate", *expected]


@pytest.mark.parametrize("dry_run", ["true", ""])
def test_forge_inputs_are_dropped_in_a_dry_run(tmp_path: Path, dry_run: str) -> None:
    env = _env(dry_run=dry_run, forge="github", group="true", labels="deps", reviewers="octocat")
    argv = build_argv("remediate", env, workspace=tmp_path)
    assert not [a for a in argv if a.startswith(("--forge", "--group", "--label", "--reviewer"))]


def test_forge_inputs_reach_the_cli_when_not_a_dry_run(tmp_path: Path) -> None:
    env = _env(dry_run="false", forge="gitlab", group="true", labels="deps\nsecurity", reviewers="octocat")
    argv = build_argv("remediate", env, workspace=tmp_path)
    assert argv == ["remediate", "--forge=gitlab", "--group", "--label=deps", "--label=security", "--reviewer=octocat"]


def test_globs_expand_in_the_workspace_sorted_and_recursive(tmp_path: Path) -> None:
    for name in ("svc/b/trivy.json", "svc/a/trivy.json", "top.json", "svc/a/notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")
    assert expand_paths(["svc/**/*.json", "top.json", "missing/plain"], tmp_path) == [
        "svc/a/trivy.json",
        "svc/b/trivy.json",
        "top.json",
        "missing/plain",
    ]


def test_a_glob_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"input paths: no file matches 'reports/\*\.json'"):
        expand_paths(["reports/*.json"], tmp_path)


def test_unknown_action_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown action 'scan'"):
        build_argv("scan", {}, workspace=tmp_path)


def test_bad_input_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    env = {**_env(upload_sarif="maybe"), "GITHUB_WORKSPACE": str(tmp_path)}
    assert run_action("gate", env) == 2
    err = capsys.readouterr().err
    assert err == "container-gate: error: input upload-sarif must be true or false, got 'maybe'\n"


def test_plain_arguments_go_to_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("container-gate ")


def test_action_mode_needs_exactly_one_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([ACTION_MODE]) == 2
    assert "usage: github-action {gate,remediate}" in capsys.readouterr().err


@pytest.mark.corpus
def test_gate_action_runs_the_cli_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "debian.json").write_bytes(corpus_file("trivy/trivy-golden_debian-buster.json").read_bytes())
    env = {**_env(paths="reports/*.json", json="out/result.json", sarif=""), "GITHUB_WORKSPACE": str(tmp_path)}
    for key in ("GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    assert run_action("gate", env) == 1
    result = json.loads((tmp_path / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "fail" and result["counts"]["blocking"] == 1
    assert not (tmp_path / "container-gate.sarif").exists()
    assert "FAIL: 1 blocking" in capsys.readouterr().out


@pytest.mark.corpus
def test_token_is_masked_before_anything_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "ghs_e2eSecretValue1234567890"
    report = corpus_file("trivy/trivy-golden_alpine-310.json")
    env = {**_env(paths=str(report), token=token), "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp_path)}
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary"))
    monkeypatch.setenv(env_name("token"), token)
    monkeypatch.chdir(tmp_path)
    assert run_action("gate", env) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"::add-mask::{token}\n")
    assert out.count(token) == out.count("::add-mask::" + token)
