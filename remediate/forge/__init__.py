"""The forge step: what a PR/MR is made of, what a forge must answer, and the errors it may raise.

The plan and the rewrite know nothing of forges. `reconcile` (pure) compares the updates a plan wants
with the change requests a forge already holds and decides actions; `runner` carries them out through
a `Forge` (GitHub, GitLab or plain git), one update at a time so that one failure stops nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from remediate.errors import RemediateError

State = Literal["open", "closed", "merged"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One base image move inside a change request: the unit "closed = ignored" remembers."""

    file: str
    """Path of the Dockerfile relative to the repository root, `/`-separated."""
    image: str
    """The image's full name (`docker.io/library/alpine`)."""
    old: str
    """The reference as the file has it now (`alpine:3.14`)."""
    new: str
    """The reference written (`alpine:3.20@sha256:...`)."""
    line: int = 0
    why: str = ""
    fixes: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        """(file, image, to): a user who closed this exact move is not asked again."""
        return (self.file, self.image, self.new)

    @property
    def slot(self) -> tuple[str, str]:
        """(file, image): a newer move of the same slot supersedes an older one."""
        return (self.file, self.image)


@dataclass(frozen=True, slots=True)
class FileChange:
    """A file's whole new text on the branch."""

    path: str
    """Relative to the repository root, `/`-separated."""
    content: str


@dataclass(frozen=True, slots=True)
class Meta:
    """The hidden metadata our PR bodies carry, so later runs recognise them without reading prose."""

    entries: tuple[Entry, ...]
    commit: str = ""
    """The commit we last pushed on the branch (a different head means someone else pushed)."""
    content: str = ""
    """Digest of the file texts we pushed (`content_digest`): unchanged means no force-push."""
    closed: str = ""
    """`superseded` when we closed it ourselves (so it is not mistaken for a user's "no")."""


@dataclass(frozen=True, slots=True)
class Update:
    """One change request the plan wants: a branch, its files and how the PR/MR reads."""

    branch: str
    title: str
    commit_message: str
    entries: tuple[Entry, ...]
    files: tuple[FileChange, ...]
    content: str
    """`content_digest(files)`."""
    exploited: tuple[str, ...] = ()
    """Ids of the fixes that are known exploited (CISA KEV): such updates go first of all."""
    top_epss: float = 0.0
    """The highest EPSS score among the fixes: among the rest, likelier exploits go first."""

    @property
    def security(self) -> bool:
        """True when the move is expected to fix vulnerabilities (such updates go first)."""
        return any(e.fixes for e in self.entries)

    @property
    def fix_count(self) -> int:
        return len({f for e in self.entries for f in e.fixes})


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """A PR/MR of ours (or on our branch prefix) as the forge reports it."""

    number: int
    branch: str
    state: State
    title: str
    body: str
    head: str
    """The branch head commit the forge reports for it ('' when unknown)."""
    url: str = ""
    meta: Meta | None = None


@dataclass(frozen=True, slots=True)
class BranchState:
    """A branch's head and whether every commit on it since the base is ours."""

    name: str
    head: str
    ours: bool
    authors: tuple[str, ...] = field(default=())


class ForgeError(RemediateError):
    """A forge request failed: what was asked, the HTTP status when there was one, and what to do.

    Never carries a token: messages are built from our own words and the forge's status."""

    def __init__(self, message: str, *, status: int | None = None, fatal: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.fatal = fatal
        """True when nothing else can work either (bad credentials, unknown repository)."""


class Forge(Protocol):
    """What the reconcile step needs from GitHub, GitLab or a plain git remote."""

    name: str

    def default_branch(self) -> str:
        """The repository's default branch."""
        ...

    def list_requests(self, prefix: str) -> Sequence[ChangeRequest]:
        """Every PR/MR (open, closed, merged) whose source branch starts with `prefix`."""
        ...

    def branch(self, name: str, base: str) -> BranchState | None:
        """A branch's head and who made its commits since `base`; None when it does not exist."""
        ...

    def push(self, branch: str, base: str, files: Sequence[FileChange], message: str) -> str:
        """Make `branch` one commit on top of `base` with these files (force when it exists); the commit id."""
        ...

    def open_request(self, update: Update, body: str, base: str) -> ChangeRequest:
        """Open a PR/MR from `update.branch` into `base` (labels, reviewers, assignees as configured)."""
        ...

    def edit_request(self, request: ChangeRequest, title: str, body: str) -> None:
        """Change an open PR/MR's title and body."""
        ...

    def close_request(self, request: ChangeRequest, body: str, comment: str) -> None:
        """Comment on a PR/MR, then close it with this body."""
        ...

    def delete_branch(self, name: str) -> None:
        """Delete a branch (missing is fine)."""
        ...
