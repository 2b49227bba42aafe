"""GitHub Actions edge: environment reading, masking, outputs with safe delimiters, step summary."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from gate.ci.github import GitHubEnv, mask_commands, output_entry, publish
from gate.emit.base import EmitContext
from gate.errors import ConfigError, InputError
from gate.model import Decision, Finding, Kind, Severity, Source, Verdict

TOKEN = "ghs_" + "Zz81" * 9


def parse_outputs(text: str) -> dict[str, str]:
    """Read GITHUB_OUTPUT the way the runner does (heredoc entries)."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, delimiter = lines[i].split("<<", 1)
        end = lines.index(delimiter, i + 1)
        values[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return values


def finding(severity: Severity, fid: str) -> Finding:
    return Finding.create(
        id=fid,
        kind=Kind.VULNERABILITY,
        severity=severity,
        title="t",
        target="app:1",
        package="p",
        installed_version="1",
        fixed_version="2",
        sources=(Source("trivy", "r.json"),),
    )


VERDICT = Verdict(
    decisions=(
        Decision(finding(Severity.CRITICAL, "CVE-1"), True),
        Decision(finding(Severity.HIGH, "CVE-2"), True),
        Decision(finding(Severity.HIGH, "CVE-3"), False),
    ),
    fail_on=Severity.HIGH,
)
CTX = EmitContext(tool_version="0.0.0-test", repo_root="/repo", now="2024-05-06T07:08:09Z")


def test_env_reads_the_pull_request_head_and_hides_the_token(tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 42, "pull_request": {"number": 42, "head": {"sha": "b" * 40}}}))
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo/app",
        "GITHUB_SHA": "c" * 40,
        "GITHUB_REF": "refs/pull/42/merge",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": "https://ghe.example/api/v3/",
        "GITHUB_WORKSPACE": str(tmp_path),
    }
    gh = GitHubEnv.from_environ(env)
    assert gh.upload_target() == ("b" * 40, "refs/pull/42/head")
    assert gh.api_url == "https://ghe.example/api/v3"
    assert gh.checkout_uri() == tmp_path.resolve().as_uri() + "/"
    assert TOKEN not in repr(gh) and gh.token == TOKEN


def test_env_for_a_push_uses_sha_and_ref_and_requires_them() -> None:
    gh = GitHubEnv.from_environ({"GITHUB_SHA": "d" * 40, "GITHUB_REF": "refs/heads/main", "GITHUB_EVENT_NAME": "push"})
    assert gh.upload_target() == ("d" * 40, "refs/heads/main")
    with pytest.raises(ConfigError, match="GITHUB_SHA"):
        GitHubEnv.from_environ({}).upload_target()


def test_unreadable_event_payload_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    with pytest.raises(InputError) as excinfo:
        GitHubEnv.from_environ({"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(bad)})
    assert excinfo.value.diagnostics().startswith(str(bad))


def test_output_delimiters_are_random_and_cannot_be_forged() -> None:
    forged = "x\nghadelimiter_0\nverdict=pass"
    first, second = output_entry("note", forged), output_entry("note", forged)
    assert first.split("\n", 1)[0] != second.split("\n", 1)[0]
    assert parse_outputs(first) == {"note": forged}


def test_publish_masks_first_then_annotates_and_writes_summary_and_outputs(tmp_path: Path) -> None:
    out, summary_file, output_file = io.StringIO(), tmp_path / "summary.md", tmp_path / "output"
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": TOKEN,
        "INPUT_TOKEN": TOKEN + "x",
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_OUTPUT": str(output_file),
    }
    publish(VERDICT, CTX, env=env, sarif_path="container-gate.sarif", out=out)
    lines = out.getvalue().splitlines()
    assert lines[:2] == sorted([f"::add-mask::{TOKEN}", f"::add-mask::{TOKEN}x"])
    assert [line.split(" ", 1)[0] for line in lines[2:]] == ["::error", "::error", "::warning"]
    assert summary_file.read_text().startswith("## ❌ container-gate: blocked by 2 findings")
    assert parse_outputs(output_file.read_text()) == {
        "verdict": "fail",
        "blocking": "2",
        "critical": "1",
        "high": "2",
        "sarif-file": "container-gate.sarif",
    }
    everything = "\n".join(lines[2:]) + summary_file.read_text() + output_file.read_text()
    assert TOKEN not in everything


def test_publish_outside_actions_does_nothing(tmp_path: Path) -> None:
    out = io.StringIO()
    publish(VERDICT, CTX, env={"GITHUB_OUTPUT": str(tmp_path / "o")}, sarif_path=None, out=out)
    assert out.getvalue() == "" and not (tmp_path / "o").exists()


def test_mask_commands_cover_each_line_of_a_multiline_secret() -> None:
    text = mask_commands(("line1\nline2%",))
    assert re.findall(r"^::add-mask::(.*)$", text, re.M) == ["line1", "line1%0Aline2%25", "line2%25"]
