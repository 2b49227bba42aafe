"""GitHub Actions edge: reads `GITHUB_*`, masks secrets, writes annotations, the step summary and outputs."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from gate.console import command
from gate.emit.base import EmitContext
from gate.errors import ConfigError, InputError, OutputError
from gate.model import Severity, Verdict

DEFAULT_API_URL = "https://api.github.com"
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "INPUT_TOKEN")
"""Where a token can arrive: the workflow env, the gh CLI's name, or the action's `token` input."""


@dataclass(frozen=True, slots=True)
class GitHubEnv:
    """What the gate needs from a GitHub Actions environment; the token never appears in `repr`."""

    actions: bool = False
    token: str | None = field(default=None, repr=False)
    tokens: tuple[str, ...] = field(default=(), repr=False)
    """Every distinct secret value found (all are masked before anything is printed)."""
    repository: str | None = None
    sha: str | None = None
    ref: str | None = None
    api_url: str = DEFAULT_API_URL
    event_name: str | None = None
    event_path: str | None = None
    workspace: str | None = None
    output_path: str | None = None
    summary_path: str | None = None
    pr_number: int | None = None
    pr_head_sha: str | None = None

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> GitHubEnv:
        """Read the environment (and, for pull requests, the event payload file)."""
        found = tokens_in(env)
        event_name = env.get("GITHUB_EVENT_NAME") or None
        event_path = env.get("GITHUB_EVENT_PATH") or None
        number, head = _pull_request(event_path) if event_name in _PR_EVENTS and event_path else (None, None)
        return cls(
            actions=env.get("GITHUB_ACTIONS", "").lower() == "true",
            token=found[0] if found else None,
            tokens=found,
            repository=env.get("GITHUB_REPOSITORY") or None,
            sha=env.get("GITHUB_SHA") or None,
            ref=env.get("GITHUB_REF") or None,
            api_url=(env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/"),
            event_name=event_name,
            event_path=event_path,
            workspace=env.get("GITHUB_WORKSPACE") or None,
            output_path=env.get("GITHUB_OUTPUT") or None,
            summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
            pr_number=number,
            pr_head_sha=head,
        )

    def upload_target(self) -> tuple[str, str]:
        """`(commit_sha, ref)` for a SARIF upload.

        On pull requests GITHUB_SHA is a merge commit GitHub made; the alerts belong to the PR's head
        commit, so the head sha is paired with `refs/pull/N/head` (a sha and a ref that agree)."""
        if self.pr_number is not None and self.pr_head_sha:
            return self.pr_head_sha, f"refs/pull/{self.pr_number}/head"
        if not self.sha or not self.ref:
            raise ConfigError("--upload-sarif needs GITHUB_SHA and GITHUB_REF (or a pull_request event)")
        return self.sha, self.ref

    def checkout_uri(self) -> str | None:
        """`file://` URI of the workspace, which code scanning uses to relativise absolute paths."""
        return Path(self.workspace).resolve().as_uri() + "/" if self.workspace else None


def tokens_in(env: Mapping[str, str]) -> tuple[str, ...]:
    """Every distinct token value the environment holds (`TOKEN_VARIABLES`), for masking."""
    return tuple(dict.fromkeys(v for v in (env.get(k, "").strip() for k in TOKEN_VARIABLES) if v))


_PR_EVENTS = frozenset({"pull_request", "pull_request_target", "pull_request_review"})


def _pull_request(event_path: str) -> tuple[int | None, str | None]:
    try:
        payload = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("GitHub event payload not found (GITHUB_EVENT_PATH)", path=event_path) from None
    except (OSError, ValueError) as exc:
        raise InputError(f"GitHub event payload unreadable: {exc}", path=event_path) from None
    pr = payload.get("pull_request") if isinstance(payload, dict) else None
    if not isinstance(pr, dict):
        return None, None
    head = pr.get("head")
    sha = head.get("sha") if isinstance(head, dict) else None
    number = pr.get("number", payload.get("number"))
    return (number if isinstance(number, int) else None), (sha if isinstance(sha, str) else None)


def mask_commands(values: tuple[str, ...]) -> str:
    """`::add-mask::` lines for each secret (and each line of a multi-line one)."""
    lines = {line.strip() for value in values for line in (value, *value.splitlines()) if line.strip()}
    return "".join(command("add-mask", line) + "\n" for line in sorted(lines))


def output_entry(name: str, value: str) -> str:
    """One `GITHUB_OUTPUT` entry in heredoc form with an unguessable delimiter.

    A fixed delimiter lets a value that contains it end the entry early and inject further outputs;
    a random one that is checked against the value cannot be forged by the input."""
    if not name or any(c in name for c in "\r\n=<"):
        raise OutputError(f"invalid output name {name!r}")
    while True:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        if delimiter not in name and delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def outputs(verdict: Verdict, sarif_path: str | None) -> dict[str, str]:
    """The action's outputs: `verdict`, `blocking`, `critical`, `high`, `sarif-file`."""
    return {
        "verdict": "pass" if verdict.passed else "fail",
        "blocking": str(sum(1 for d in verdict.decisions if d.blocking)),
        "critical": str(verdict.count(Severity.CRITICAL)),
        "high": str(verdict.count(Severity.HIGH)),
        "sarif-file": sarif_path or "",
    }


_HELD: dict[str, int] = {}
"""File-command files opened before the entrypoint gave up root (`gate.ci.privileges`), by path."""


def hold_file_commands(held: Mapping[str, int]) -> None:
    """Append to these paths through the given descriptors: the current identity may not be able to open them."""
    _HELD.update(held)


def _append(path: str, text: str, what: str) -> None:
    try:
        fd = _HELD.get(path)
        if fd is None:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(text)
            return
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        raise OutputError(f"cannot write the {what}: {exc.strerror}", path=path) from None


def publish(
    verdict: Verdict,
    ctx: EmitContext,
    *,
    env: Mapping[str, str],
    sarif_path: str | None,
    out: TextIO,
    masked: bool = False,
) -> None:
    """In GitHub Actions (`GITHUB_ACTIONS=true`): masks, annotations, step summary and outputs.

    Masks go out first so that nothing printed afterwards can reveal a token (`masked`: the caller already
    wrote them, before its first line)."""
    gh = GitHubEnv.from_environ(env)
    if not gh.actions:
        return
    from gate.emit import annotations, summary

    if not masked:
        out.write(mask_commands(gh.tokens))
    out.write(annotations.render(verdict, ctx))
    out.flush()
    if gh.summary_path:
        _append(gh.summary_path, summary.render(verdict, ctx), "step summary (GITHUB_STEP_SUMMARY)")
    if gh.output_path:
        entries = "".join(output_entry(k, v) for k, v in outputs(verdict, sarif_path).items())
        _append(gh.output_path, entries, "step outputs (GITHUB_OUTPUT)")
