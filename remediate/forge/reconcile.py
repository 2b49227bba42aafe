"""Decide, without any I/O, what each wanted update does against the PRs/MRs a forge already has.

Renovate's manners: an open PR on the same branch is refreshed (pushed only when the files differ,
edited only when title or body differ), never duplicated; a newer move of the same file and image
supersedes the old PR; a PR the user closed unmerged holds that exact move back until a newer version
appears; a branch someone else pushed to is left alone; a merged PR ends its update; updates that fix
vulnerabilities come first against `--max-new` and `--max-open` (known-exploited ones before all others);
nothing to do means no action at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from remediate.forge import BranchState, ChangeRequest, Update

SkipKind = Literal["ignored", "merged", "foreign", "held"]
BodyOf = Callable[[Update, str], str]
"""Renders the body an update's PR should have, given the branch's commit."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How many PRs/MRs a run may open, and how many of ours may be open at once."""

    max_new: int = 2
    max_open: int = 10


@dataclass(frozen=True, slots=True)
class Open:
    """Push the branch, open the PR/MR, then close the ones it supersedes (linking the new one)."""

    update: Update
    supersedes: tuple[ChangeRequest, ...] = ()


@dataclass(frozen=True, slots=True)
class Refresh:
    """An open PR/MR on the update's branch: push when the files differ, edit when the text differs."""

    update: Update
    request: ChangeRequest
    push: bool
    edit: bool
    supersedes: tuple[ChangeRequest, ...] = ()


@dataclass(frozen=True, slots=True)
class Keep:
    """An open PR/MR that is exactly what the update wants: nothing is written."""

    update: Update
    request: ChangeRequest


@dataclass(frozen=True, slots=True)
class Skip:
    """An update left alone this run, and why."""

    update: Update
    kind: SkipKind
    reason: str
    request: ChangeRequest | None = None


Action = Open | Refresh | Keep | Skip
DEFAULT_LIMITS = Limits()


def order(updates: Sequence[Update]) -> list[Update]:
    """Updates that fix known-exploited vulnerabilities first (more of them first), then by the likeliest exploit
    (EPSS), then those that fix more vulnerabilities, then by branch name."""
    return sorted(updates, key=lambda u: (-len(u.exploited), -u.top_epss, -u.fix_count, u.branch))


def same_text(a: str, b: str) -> bool:
    """Equal as a forge keeps them: line endings and surrounding whitespace are not worth an edit."""
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


def untouched(request: ChangeRequest, branches: Mapping[str, BranchState] | None = None) -> bool:
    """True when the branch head (as the PR reports it, else as the branch does) is the commit our
    metadata says we pushed."""
    head = request.head
    if not head and branches is not None and request.branch in branches:
        head = branches[request.branch].head
    return request.meta is not None and bool(head) and head == request.meta.commit


def needs_branch_check(requests: Sequence[ChangeRequest]) -> list[str]:
    """Branches of open requests whose head is not our last commit: who pushed there must be asked."""
    return sorted({r.branch for r in requests if r.state == "open" and not untouched(r)})


def reconcile(
    updates: Sequence[Update],
    existing: Sequence[ChangeRequest],
    *,
    branches: Mapping[str, BranchState],
    body_of: BodyOf,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Action]:
    """One action per update, in the order they should run (security first)."""
    open_by_branch = {r.branch: r for r in existing if r.state == "open"}
    finished = [r for r in existing if r.state != "open"]
    open_count = len(open_by_branch)
    new_count = 0
    actions: list[Action] = []
    for update in order(updates):
        supersedes = _superseded(update, open_by_branch.values(), branches)
        request = open_by_branch.get(update.branch)
        if request is not None:
            actions.append(_refresh(update, request, branches, body_of, supersedes))
            open_count -= len(supersedes)
            continue
        ended = _ended(update, finished)
        if ended is not None:
            actions.append(ended)
            continue
        if new_count >= limits.max_new:
            actions.append(Skip(update, "held", f"held back by --max-new {limits.max_new}"))
            continue
        if open_count - len(supersedes) >= limits.max_open:
            actions.append(Skip(update, "held", f"held back by --max-open {limits.max_open}"))
            continue
        actions.append(Open(update, supersedes))
        new_count += 1
        open_count += 1 - len(supersedes)
    return actions


def _ours(request: ChangeRequest, branches: Mapping[str, BranchState]) -> bool:
    if untouched(request, branches):
        return True
    state = branches.get(request.branch)
    return state is not None and state.ours


def _refresh(
    update: Update,
    request: ChangeRequest,
    branches: Mapping[str, BranchState],
    body_of: BodyOf,
    supersedes: tuple[ChangeRequest, ...],
) -> Action:
    state = branches.get(request.branch)
    clean = untouched(request, branches)
    if not clean and state is not None and not state.ours:
        who = ", ".join(state.authors) or "someone else"
        return Skip(update, "foreign", f"{request.branch} has commits by {who}; left alone", request)
    same_files = clean and request.meta is not None and request.meta.content == update.content
    commit = (request.head or (state.head if state else "")) if same_files else ""
    edit = (
        not same_files
        or not same_text(request.title, update.title)
        or not same_text(request.body, body_of(update, commit))
    )
    if same_files and not edit and not supersedes:
        return Keep(update, request)
    return Refresh(update, request, push=not same_files, edit=edit, supersedes=supersedes)


def _superseded(
    update: Update, open_requests: Iterable[ChangeRequest], branches: Mapping[str, BranchState]
) -> tuple[ChangeRequest, ...]:
    """Our other open PRs that move one of this update's (file, image) slots elsewhere, and are still ours."""
    slots = {e.slot for e in update.entries}
    found = []
    for r in open_requests:
        if r.branch == update.branch or r.meta is None:
            continue
        if slots & {e.slot for e in r.meta.entries} and _ours(r, branches):
            found.append(r)
    return tuple(sorted(found, key=lambda r: r.number))


def _ended(update: Update, finished: Sequence[ChangeRequest]) -> Skip | None:
    """A merged PR or one the user closed that already made (or refused) every move of this update."""
    keys = {e.key for e in update.entries}
    for r in sorted(finished, key=lambda r: -r.number):
        if r.meta is None:
            # without metadata only the branch tells: it names the target version
            if r.branch == update.branch and r.state == "closed":
                return Skip(update, "ignored", f"#{r.number} was closed without merging; ignored", r)
            continue
        if r.meta.closed == "superseded" or not keys <= {e.key for e in r.meta.entries}:
            continue
        if r.state == "merged":
            return Skip(update, "merged", f"#{r.number} was merged", r)
        return Skip(update, "ignored", f"#{r.number} was closed without merging; ignored until a newer version", r)
    return None
