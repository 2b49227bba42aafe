"""The publish stage: what a CI run does with the verdict besides writing files (GitHub Actions commands, the step
summary and outputs, the SARIF upload to code scanning)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate import __version__
from gate.console import clean
from gate.errors import OutputError
from gate.settings import Settings

if TYPE_CHECKING:
    # (Types only: the outputs' modules load after the policies' compile has started, not before.)
    from gate.emit.base import EmitContext
    from gate.model import Verdict


def in_actions(env: Mapping[str, str]) -> bool:
    """Whether the run is a GitHub Actions step (the runner then reads the log for workflow commands)."""
    return env.get("GITHUB_ACTIONS", "").lower() == "true"


def publish(settings: Settings, verdict: Verdict, ctx: EmitContext, *, env: Mapping[str, str], out: TextIO) -> None:
    """The publish stage: in GitHub Actions annotations, step summary and outputs; then the SARIF upload.

    The token masks were written by the orchestrator before its first line."""
    if in_actions(env):
        from gate.ci import github

        github.publish(verdict, ctx, env=env, sarif_path=settings.sarif, out=out, masked=True)
    if settings.upload_sarif and settings.sarif:
        _upload(Path(settings.sarif), env=env, out=out, started_at=ctx.now)


def preflight(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """What `--upload-sarif` needs, checked before anything is read: a long run must not end in a usage error."""
    if not getattr(args, "upload_sarif", False):
        return
    if not args.sarif:
        raise OutputError("--upload-sarif needs --sarif FILE to know what to upload")
    from gate.ci.github import GitHubEnv

    gh = GitHubEnv.from_environ(env)
    if not gh.token or not gh.repository:
        raise OutputError("--upload-sarif needs GITHUB_TOKEN and GITHUB_REPOSITORY")
    gh.upload_target()  # the commit and ref the upload is for: GITHUB_SHA and GITHUB_REF, or the PR event
    if gh.repository.count("/") != 1:
        raise OutputError(f"GITHUB_REPOSITORY must be owner/name, got {clean(gh.repository)!r}")
    from gate.urls import credential_url_problem

    problem = credential_url_problem(gh.api_url)
    if problem is not None:
        raise OutputError(f"GITHUB_API_URL {problem}")


def _upload(sarif: Path, *, env: Mapping[str, str], out: TextIO, started_at: str) -> None:
    """Upload to code scanning; the CLI is the one place that builds the HTTP session."""
    import requests

    from gate.ci.github import GitHubEnv
    from gate.ci.upload import upload_sarif

    gh = GitHubEnv.from_environ(env)
    if not gh.token or not gh.repository:
        raise OutputError("--upload-sarif needs GITHUB_TOKEN and GITHUB_REPOSITORY")
    commit_sha, ref = gh.upload_target()
    with requests.Session() as session:
        session.headers["User-Agent"] = f"container-gate/{__version__}"
        result = upload_sarif(
            session,
            api_url=gh.api_url,
            repository=gh.repository,
            token=gh.token,
            sarif_text=sarif.read_text(encoding="utf-8"),
            commit_sha=commit_sha,
            ref=ref,
            checkout_uri=gh.checkout_uri(),
            tool_name="container-gate",
            started_at=started_at,
        )
    if result.warning:
        print(f"::warning title=container-gate SARIF upload skipped::{result.warning}", file=out)
    elif result.status == "failed":
        raise OutputError(f"code scanning could not process the SARIF: {'; '.join(result.errors)}", path=str(sarif))
    else:
        print(f"  uploaded SARIF to code scanning ({result.status}{': ' + result.url if result.url else ''})", file=out)
