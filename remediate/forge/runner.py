"""Carry out the reconcile step's actions through a `Forge`, one update at a time.

A failing update is recorded and the next one goes on; only a failure that nothing else can get past
(the forge cannot be listed, credentials refused) stops the run, as a fatal `ForgeError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from remediate.findings import FixableVuln
from remediate.forge import BranchState, ChangeRequest, Forge, ForgeError, Meta, Update, render
from remediate.forge.reconcile import (
    DEFAULT_LIMITS,
    BodyOf,
    Keep,
    Limits,
    Open,
    Refresh,
    Skip,
    needs_branch_check,
    reconcile,
)

Status = Literal["opened", "updated", "unchanged", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one update."""

    update: Update
    status: Status
    detail: str = ""
    url: str = ""


def commit_message(update: Update) -> str:
    """The subject, then our metadata: a later run tells our commits from a person's by it."""
    return f"{update.commit_message}\n\n{render.meta_comment(Meta(update.entries, '', update.content))}\n"


def run(
    forge: Forge,
    updates: Sequence[Update],
    *,
    base: str,
    prefix: str,
    limits: Limits = DEFAULT_LIMITS,
    vulns: Mapping[str, FixableVuln] | None = None,
) -> list[Outcome]:
    """Reconcile and apply; one outcome per update, security-driven updates first."""
    existing = forge.list_requests(prefix)
    branches: dict[str, BranchState] = {}
    unknown: dict[str, str] = {}
    for name in needs_branch_check(existing):
        try:
            state = forge.branch(name, base)
        except ForgeError as exc:
            if exc.fatal:
                raise
            # who pushed there is unknown: that update must neither overwrite nor be superseded blindly
            unknown[name] = str(exc)
            continue
        if state is not None:
            branches[name] = state

    def body_of(update: Update, commit: str) -> str:
        # a plain git remote has no description to keep in step
        return "" if forge.name == "git" else render.body(update, commit=commit, vulns=vulns)

    outcomes: list[Outcome] = []
    for action in reconcile(updates, existing, branches=branches, body_of=body_of, limits=limits):
        if action.update.branch in unknown and not isinstance(action, Skip):
            outcomes.append(Outcome(action.update, "failed", unknown[action.update.branch]))
            continue
        if isinstance(action, Skip):
            outcomes.append(
                Outcome(action.update, "skipped", action.reason, action.request.url if action.request else "")
            )
            continue
        if isinstance(action, Keep):
            outcomes.append(Outcome(action.update, "unchanged", "", action.request.url))
            continue
        try:
            outcomes.append(_apply(forge, action, base, body_of, branches))
        except ForgeError as exc:
            if exc.fatal:
                raise
            outcomes.append(Outcome(action.update, "failed", str(exc)))
    return outcomes


def _apply(
    forge: Forge, action: Open | Refresh, base: str, body_of: BodyOf, branches: Mapping[str, BranchState]
) -> Outcome:
    update = action.update
    if isinstance(action, Open):
        commit = forge.push(update.branch, base, update.files, commit_message(update))
        request = forge.open_request(update, body_of(update, commit), base)
        status: Status = "opened"
    else:
        request = action.request
        known = branches.get(request.branch)
        head = request.head or (known.head if known else "")
        commit = forge.push(update.branch, base, update.files, commit_message(update)) if action.push else head
        if action.edit:
            forge.edit_request(request, update.title, body_of(update, commit))
        status = "updated"
    for old in action.supersedes:
        _supersede(forge, old, request)
    return Outcome(update, status, "", request.url)


def _supersede(forge: Forge, old: ChangeRequest, new: ChangeRequest) -> None:
    """Close an older PR of the same file and image with a link to the new one, and delete its branch."""
    where = new.url or f"#{new.number}"
    meta = replace(old.meta, closed="superseded") if old.meta else Meta((), closed="superseded")
    body = render.replace_meta(old.body, meta)
    forge.close_request(old, body, f"Superseded by {where}: a newer version is available.")
    forge.delete_branch(old.branch)
