"""`--forge github`: PyGithub over REST only (git data API blobs → tree → commit → ref, then pulls).

The client arrives built (base URL, token, retries); this adapter only speaks the contract's endpoints.
Our PRs are found with one `pulls?state=all` listing per run; a PR's branch is asked about only when
its head is not the commit our metadata names. Every PyGithub exception becomes a `ForgeError` whose
text is ours (the status and the permission that is missing), never the response or the token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar, cast

import github
from github import GithubException
from github.GitCommit import GitCommit
from github.GitRef import GitRef
from github.GitTree import GitTree
from github.InputGitAuthor import InputGitAuthor
from github.InputGitTreeElement import InputGitTreeElement
from github.PullRequest import PullRequest

from remediate.forge import BranchState, ChangeRequest, FileChange, ForgeError, State, Update
from remediate.forge.render import MARKER, parse_meta

if TYPE_CHECKING:
    from github.NamedUser import NamedUser

T = TypeVar("T")
_PERMISSION = {
    "list": "pull-requests: read",
    "read": "contents: read",
    "push": "contents: write",
    "open": "pull-requests: write",
    "edit": "pull-requests: write",
    "close": "pull-requests: write",
    "delete": "contents: write",
    "labels": "issues: write or pull-requests: write",
}


def _call(what: str, step: str, fn: Callable[[], T]) -> T:
    """Run one PyGithub call, turning its failure into our words."""
    try:
        return fn()
    except GithubException as exc:
        status = exc.status
        if status == 401:
            raise ForgeError(
                f"{what}: GitHub refused the token (HTTP 401); check GITHUB_TOKEN", status=401, fatal=True
            ) from None
        if status == 403:
            need = _PERMISSION.get(step, "write access")
            raise ForgeError(f"{what}: forbidden (HTTP 403); the token needs {need}", status=403) from None
        if status == 404:
            raise ForgeError(
                f"{what}: not found (HTTP 404): the repository, or a token without access to it", status=404
            ) from None
        raise ForgeError(f"{what}: GitHub answered HTTP {status}", status=status) from None
    except OSError as exc:
        # requests' errors are OSErrors; their text may carry URLs, so only the kind is shown
        raise ForgeError(f"{what}: cannot reach GitHub ({type(exc).__name__})") from None


class GitHubForge:
    """PRs on one GitHub (or GitHub Enterprise Server) repository."""

    name = "github"

    def __init__(
        self,
        client: github.Github,
        repo: str,
        *,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
        assignees: Sequence[str] = (),
        author: tuple[str, str] | None = None,
    ) -> None:
        self.repo_name = repo
        self.author = InputGitAuthor(*author) if author else None
        self.repo = client.get_repo(repo)
        self.labels = tuple(labels)
        self.reviewers = tuple(reviewers)
        self.assignees = tuple(assignees)
        self._pulls: dict[int, PullRequest] = {}
        self._heads: dict[str, str] = {}
        self._base: dict[str, tuple[str, str]] = {}
        self.notes: list[str] = []
        if self.assignees:
            self.notes.append("--assignees is not applied on GitHub yet (the issue assignees endpoint is not used)")

    def default_branch(self) -> str:
        def get() -> str:
            return str(self.repo.default_branch)

        try:
            return _call(f"reading {self.repo_name}", "read", get)
        except ForgeError as exc:
            raise ForgeError(str(exc), status=exc.status, fatal=True) from None

    def list_requests(self, prefix: str) -> Sequence[ChangeRequest]:
        owner = self.repo_name.split("/", 1)[0]

        def listing() -> list[PullRequest]:
            # a fork's branch may carry our prefix too: only branches of this repository are ours
            return [
                p
                for p in self.repo.get_pulls(state="all")
                if str(p.head.ref).startswith(prefix) and str(p.head.label).startswith(f"{owner}:")
            ]

        try:
            pulls = _call(f"listing pull requests of {self.repo_name}", "list", listing)
        except ForgeError as exc:
            raise ForgeError(str(exc), status=exc.status, fatal=True) from None
        out = []
        for p in pulls:
            self._pulls[p.number] = p
            state: State = "merged" if p.merged_at is not None else "open" if p.state == "open" else "closed"
            if state == "open":
                self._heads[p.head.ref] = p.head.sha
            body = p.body or ""
            out.append(
                ChangeRequest(p.number, p.head.ref, state, p.title, body, p.head.sha, p.html_url, parse_meta(body))
            )
        return out

    def branch(self, name: str, base: str) -> BranchState | None:
        head = self._heads.get(name)
        if head is None:
            return None

        def commit() -> tuple[str, str]:
            # the client is lazy: reading the attributes is what sends the request, so it happens in here
            found = self.repo.get_commit(head)
            # GitHub sends `author: null` when the commit's email belongs to no account
            user = cast("NamedUser | None", found.author)
            author = user.login if user is not None else found.commit.author.name
            return found.commit.message or "", str(author)

        message, author = _call(f"reading the head of {name}", "read", commit)
        # we only ever push one commit on top of the base: a head without our marker is someone else's
        if MARKER in message:
            return BranchState(name, head, ours=True)
        return BranchState(name, head, ours=False, authors=(author,))

    def _base_of(self, base: str) -> tuple[str, str]:
        if base not in self._base:

            def get() -> tuple[str, str]:
                b = self.repo.get_branch(base)
                return b.commit.sha, b.commit.commit.tree.sha

            self._base[base] = _call(f"reading branch {base}", "read", get)
        return self._base[base]

    def push(self, branch: str, base: str, files: Sequence[FileChange], message: str) -> str:
        base_sha, base_tree = self._base_of(base)
        what = f"pushing {branch}"
        requester = self.repo.requester
        elements = []
        for f in files:
            blob = _call(what, "push", lambda f=f: self.repo.create_git_blob(f.content, "utf-8"))  # type: ignore[misc]
            elements.append(InputGitTreeElement(f.path, "100644", "blob", sha=blob.sha))
        tree_ref = GitTree(requester, {}, {"sha": base_tree, "url": f"{self.repo.url}/git/trees/{base_tree}"}, True)
        tree = _call(what, "push", lambda: self.repo.create_git_tree(elements, tree_ref))
        parent = GitCommit(requester, {}, {"sha": base_sha, "url": f"{self.repo.url}/git/commits/{base_sha}"}, True)
        if self.author is not None:
            who = self.author
            commit = _call(
                what, "push", lambda: self.repo.create_git_commit(message, tree, [parent], author=who, committer=who)
            )
        else:
            # no author: GitHub signs the commit of an app or GITHUB_TOKEN and shows it as verified
            commit = _call(what, "push", lambda: self.repo.create_git_commit(message, tree, [parent]))
        ref = self._ref(branch)
        if branch in self._heads:
            _call(what, "push", lambda: ref.edit(commit.sha, force=True))
        else:
            try:
                _call(what, "push", lambda: self.repo.create_git_ref(f"refs/heads/{branch}", commit.sha))
            except ForgeError as exc:
                if exc.status != 422:
                    raise
                # left over from an earlier run without a PR: the branch is ours to reset
                _call(what, "push", lambda: ref.edit(commit.sha, force=True))
        self._heads[branch] = commit.sha
        return str(commit.sha)

    def open_request(self, update: Update, body: str, base: str) -> ChangeRequest:
        what = f"opening a pull request for {update.branch}"
        try:
            pull = _call(
                what,
                "open",
                lambda: self.repo.create_pull(base=base, head=update.branch, title=update.title, body=body),
            )
        except ForgeError as exc:
            if exc.status != 422:
                raise
            owner = self.repo_name.split("/", 1)[0]
            found = _call(
                what, "list", lambda: list(self.repo.get_pulls(state="open", head=f"{owner}:{update.branch}"))
            )
            if not found:
                raise
            pull = found[0]
            _call(what, "edit", lambda: pull.edit(title=update.title, body=body))
        # labels and reviewers decorate a PR that exists now: failing them must not fail the update
        if self.labels:
            try:
                _call(f"labelling #{pull.number}", "labels", lambda: pull.add_to_labels(*self.labels))
            except ForgeError as exc:
                self.notes.append(f"#{pull.number}: labels not added: {exc}")
        if self.reviewers:
            try:
                _call(
                    f"requesting reviews on #{pull.number}",
                    "open",
                    lambda: pull.create_review_request(reviewers=list(self.reviewers)),
                )
            except ForgeError as exc:
                self.notes.append(f"#{pull.number}: reviewers not requested: {exc}")
        return ChangeRequest(
            pull.number, update.branch, "open", update.title, body, self._heads.get(update.branch, ""), pull.html_url
        )

    def edit_request(self, request: ChangeRequest, title: str, body: str) -> None:
        pull = self._pulls.get(request.number) or self.repo.get_pull(request.number)
        _call(f"editing #{request.number}", "edit", lambda: pull.edit(title=title, body=body))

    def close_request(self, request: ChangeRequest, body: str, comment: str) -> None:
        pull = self._pulls.get(request.number) or self.repo.get_pull(request.number)
        _call(f"commenting on #{request.number}", "close", lambda: pull.create_issue_comment(comment))
        _call(f"closing #{request.number}", "close", lambda: pull.edit(state="closed", body=body))

    def _ref(self, branch: str) -> GitRef:
        """A ref object addressing `git/refs/heads/<branch>` without fetching it (PATCH and DELETE live there)."""
        url = f"{self.repo.url}/git/refs/heads/{branch}"
        return GitRef(self.repo.requester, {}, {"ref": f"refs/heads/{branch}", "url": url}, completed=True)

    def delete_branch(self, name: str) -> None:
        ref = self._ref(name)
        try:
            _call(f"deleting {name}", "delete", ref.delete)
        except ForgeError as exc:
            if exc.status not in (404, 422):
                raise
        self._heads.pop(name, None)
