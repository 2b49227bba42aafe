"""The `--forge` half of `container-gate remediate`: settings from flags, config and CI variables,
the client built and passed in, outcomes printed, the exit code decided."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from gate.errors import ERROR, ConfigError
from remediate.config import RemediateConfig
from remediate.findings import FixableVuln, ImageFindings
from remediate.forge import Forge, ForgeError
from remediate.forge.clients import check_api_url, github_client, gitlab_client, token_from
from remediate.forge.reconcile import Limits
from remediate.forge.render import with_exploits
from remediate.forge.runner import Outcome, run
from remediate.forge.updates import updates_from
from remediate.model import Plan

FAILED = 1
GITHUB_TOKENS = ("GITHUB_TOKEN", "GH_TOKEN", "INPUT_TOKEN")
GITLAB_TOKENS = ("GITLAB_TOKEN",)


def _list(values: Sequence[str], fallback: Sequence[str]) -> tuple[str, ...]:
    items = [v.strip() for value in values for v in value.split(",") if v.strip()]
    return tuple(items) if items else tuple(fallback)


def _count(value: int | None, fallback: int, flag: str) -> int:
    chosen = fallback if value is None else value
    if chosen < 0:
        raise ConfigError(f"{flag} {chosen}: must be 0 or more")
    return chosen


def build_forge(
    args: argparse.Namespace, conf: RemediateConfig, env: Mapping[str, str], root: Path
) -> tuple[Forge, list[str]]:
    """The forge adapter `--forge` names, with its client; the notes list fills as it works."""
    labels = _list(args.labels, conf.labels)
    reviewers = _list(args.reviewers, conf.reviewers)
    assignees = _list(args.assignees, conf.assignees)
    repo = args.repo or conf.repo
    api = args.api_url or conf.api_url
    if args.forge == "git":
        from remediate.forge.gitremote import GitForge, resolve_remote

        if labels or reviewers or assignees:
            raise ConfigError("--labels, --reviewers and --assignees need a forge with PRs (github or gitlab)")
        git_forge = GitForge(resolve_remote(repo, root), author=conf.author)
        return git_forge, []
    if args.forge == "github":
        from remediate.forge.github import GitHubForge

        repo = repo or env.get("GITHUB_REPOSITORY")
        if not repo or repo.count("/") != 1:
            raise ConfigError("--forge github needs --repo OWNER/NAME (or GITHUB_REPOSITORY)")
        url = check_api_url(api or env.get("GITHUB_API_URL") or "https://api.github.com", "--api-url")
        token = token_from(env, *GITHUB_TOKENS)
        gh = GitHubForge(
            github_client(url, token), repo, labels=labels, reviewers=reviewers, assignees=assignees, author=conf.author
        )
        return gh, gh.notes
    from remediate.forge.gitlab import GitLabForge

    repo = repo or env.get("CI_PROJECT_ID")
    if not repo:
        raise ConfigError("--forge gitlab needs --repo GROUP/PROJECT or a project id (or CI_PROJECT_ID)")
    url = check_api_url(
        api or env.get("CI_API_V4_URL") or env.get("CI_SERVER_URL") or "https://gitlab.com", "--api-url"
    )
    token = token_from(env, *GITLAB_TOKENS)
    job = token is None and bool(env.get("CI_JOB_TOKEN"))
    client = gitlab_client(url, token or env.get("CI_JOB_TOKEN"), job_token=job)
    gl = GitLabForge(client, repo, labels=labels, reviewers=reviewers, assignees=assignees, author=conf.author)
    return gl, gl.notes


def repo_root(paths: Sequence[str]) -> Path:
    """The repository the files belong to: the git work tree of the first PATH, else that folder,
    else the current one (the forge's paths are relative to it)."""
    first = Path(paths[0]) if paths else Path(".")
    start = first if first.is_dir() else first.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(start), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
        )
    except OSError:
        done = None
    if done is not None and done.returncode == 0 and done.stdout.strip():
        return Path(done.stdout.strip())
    return start if first.is_dir() else Path.cwd()


def vulns_of(reports: Sequence[ImageFindings]) -> dict[str, FixableVuln]:
    out: dict[str, FixableVuln] = {}
    for rep in reports:
        for v in rep.details:
            out.setdefault(v.id, v)
    return out


def run_forge(
    args: argparse.Namespace, conf: RemediateConfig, plan: Plan, reports: Sequence[ImageFindings], out: IO[str]
) -> int:
    """Reconcile the plan's updates with the forge; 0 all reached their PR, 1 some failed, 2 nothing reachable."""
    prefix = args.branch_prefix or conf.branch_prefix
    limits = Limits(
        max_new=_count(args.max_new, conf.max_new, "--max-new"),
        max_open=_count(args.max_open, conf.max_open, "--max-open"),
    )
    group = conf.group if args.group is None else args.group
    root = repo_root(args.paths)
    vulns = vulns_of(reports)
    updates = [with_exploits(u, vulns) for u in updates_from(plan, root=root, prefix=prefix, group=group)]
    forge, notes = build_forge(args, conf, os.environ, root)
    try:
        base = args.base_branch or conf.base_branch or forge.default_branch()
        outcomes = run(forge, updates, base=base, prefix=prefix, limits=limits, vulns=vulns)
    except ForgeError as exc:
        print(f"container-gate remediate: {one_line(str(exc))}", file=sys.stderr)
        return ERROR
    finally:
        close = getattr(forge, "close", None)
        if close is not None:
            close()
    _print(outcomes, out)
    for note in notes:
        print(f"note: {one_line(note)}", file=sys.stderr)
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"container-gate remediate: {o.update.branch}: {one_line(o.detail)}", file=sys.stderr)
    return FAILED if failed else 0


def one_line(text: str) -> str:
    """A message on one line with no control characters (git and forges may put anything in theirs)."""
    return re.sub(r"[\x00-\x1f\x7f]+", " ", text).strip()


def _print(outcomes: Sequence[Outcome], out: IO[str]) -> None:
    if not outcomes:
        out.write("\nForge: nothing to open.\n")
        return
    out.write(f"\nForge ({len(outcomes)}):\n")
    for o in outcomes:
        where = f"  {o.url}" if o.url else ""
        why = f"  ({one_line(o.detail)})" if o.detail and o.status != "failed" else ""
        out.write(f"  {o.status:<9} {o.update.branch}{where}{why}\n")
