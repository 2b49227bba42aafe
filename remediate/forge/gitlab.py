"""`--forge gitlab`: python-gitlab, one commit with `actions` and `start_branch`, then merge requests.

Our MRs come from one `merge_requests?state=all` listing per run; a branch is asked about only when
its head is not the commit our metadata names. Reviewers and assignees are user ids (GitLab's API
takes ids; looking usernames up is not part of the API subset we use).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gitlab import Gitlab
from gitlab.exceptions import GitlabAuthenticationError, GitlabError

from remediate.forge import BranchState, ChangeRequest, FileChange, ForgeError, State, Update
from remediate.forge.render import MARKER, parse_meta

T = TypeVar("T")
_STATES: dict[str, State] = {"opened": "open", "locked": "open", "merged": "merged", "closed": "closed"}


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except GitlabAuthenticationError:
        raise ForgeError(
            f"{what}: GitLab refused the token (HTTP 401); check GITLAB_TOKEN", status=401, fatal=True
        ) from None
    except GitlabError as exc:
        status = exc.response_code
        if status == 403:
            raise ForgeError(
                f"{what}: forbidden (HTTP 403); the token needs the api scope and the Developer role", status=403
            ) from None
        if status == 404:
            raise ForgeError(
                f"{what}: not found (HTTP 404): the project, or a token without access to it", status=404
            ) from None
        raise ForgeError(f"{what}: GitLab answered HTTP {status}", status=status) from None
    except OSError as exc:
        raise ForgeError(f"{what}: cannot reach GitLab ({type(exc).__name__})") from None


def _ids(values: Sequence[str], what: str, notes: list[str]) -> list[int]:
    out = []
    for v in values:
        if v.isdigit():
            out.append(int(v))
        else:
            notes.append(f"{what} {v!r} skipped: GitLab takes user ids (numbers)")
    return out


class GitLabForge:
    """MRs on one GitLab project (gitlab.com or self-managed)."""

    name = "gitlab"

    def __init__(
        self,
        client: Gitlab,
        project: str,
        *,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
        assignees: Sequence[str] = (),
        author: tuple[str, str] | None = None,
    ) -> None:
        self.client = client
        self.author = author
        self.project_ref = project
        self.notes: list[str] = []
        self.labels = tuple(labels)
        self.reviewer_ids = _ids(reviewers, "reviewer", self.notes)
        self.assignee_ids = _ids(assignees, "assignee", self.notes)
        self._project: Any = None
        self._mrs: dict[int, Any] = {}
        self._heads: dict[str, str] = {}

    @property
    def project(self) -> Any:
        if self._project is None:
            try:
                self._project = _call(
                    f"reading project {self.project_ref}", lambda: self.client.projects.get(self.project_ref)
                )
            except ForgeError as exc:
                raise ForgeError(str(exc), status=exc.status, fatal=True) from None
        return self._project

    def default_branch(self) -> str:
        return str(self.project.default_branch)

    def list_requests(self, prefix: str) -> Sequence[ChangeRequest]:
        def listing() -> list[Any]:
            project_id = self.project.id
            # a fork's branch may carry our prefix too: only branches of this project are ours
            return [
                m
                for m in self.project.mergerequests.list(state="all", get_all=True)
                if m.source_branch.startswith(prefix) and getattr(m, "source_project_id", project_id) == project_id
            ]

        try:
            mrs = _call(f"listing merge requests of {self.project_ref}", listing)
        except ForgeError as exc:
            raise ForgeError(str(exc), status=exc.status, fatal=True) from None
        out = []
        for m in mrs:
            self._mrs[m.iid] = m
            state = _STATES.get(m.state, "closed")
            if state == "open":
                self._heads[m.source_branch] = m.sha or ""
            body = m.description or ""
            out.append(
                ChangeRequest(m.iid, m.source_branch, state, m.title, body, m.sha or "", m.web_url, parse_meta(body))
            )
        return out

    def branch(self, name: str, base: str) -> BranchState | None:
        try:
            found = _call(f"reading branch {name}", lambda: self.project.branches.get(name))
        except ForgeError as exc:
            if exc.status == 404:
                return None
            raise
        commit = found.commit
        if MARKER in (commit.get("message") or ""):
            return BranchState(name, commit["id"], ours=True)
        return BranchState(name, commit["id"], ours=False, authors=(str(commit.get("author_name") or "someone"),))

    def push(self, branch: str, base: str, files: Sequence[FileChange], message: str) -> str:
        data: dict[str, Any] = {
            "branch": branch,
            "start_branch": base,
            "commit_message": message,
            "actions": [{"action": "update", "file_path": f.path, "content": f.content} for f in files],
        }
        if self.author is not None:
            data["author_name"], data["author_email"] = self.author
        if branch in self._heads:
            # one fresh commit on the latest base, replacing what the branch had (Renovate's rebase model)
            data["force"] = True
        try:
            commit = _call(f"pushing {branch}", lambda: self.project.commits.create(data))
        except ForgeError as exc:
            if exc.status != 400 or "force" in data:
                raise
            # the branch exists without an MR (an earlier run stopped halfway): overwrite it
            data["force"] = True
            commit = _call(f"pushing {branch}", lambda: self.project.commits.create(data))
        self._heads[branch] = commit.id
        return str(commit.id)

    def open_request(self, update: Update, body: str, base: str) -> ChangeRequest:
        data: dict[str, Any] = {
            "source_branch": update.branch,
            "target_branch": base,
            "title": update.title,
            "description": body,
            "remove_source_branch": True,
        }
        if self.labels:
            data["labels"] = ",".join(self.labels)
        if self.reviewer_ids:
            data["reviewer_ids"] = self.reviewer_ids
        if self.assignee_ids:
            data["assignee_ids"] = self.assignee_ids
        try:
            mr = _call(f"opening a merge request for {update.branch}", lambda: self.project.mergerequests.create(data))
        except ForgeError as exc:
            if exc.status != 409:
                raise
            # another open MR already has this source branch: take it over
            found = _call(
                f"finding the merge request of {update.branch}",
                lambda: self.project.mergerequests.list(state="opened", source_branch=update.branch, get_all=False),
            )
            if not found:
                raise
            mr = found[0]
            self._edit(mr.iid, f"editing !{mr.iid}", title=update.title, description=body)
        self._mrs[mr.iid] = mr
        return ChangeRequest(
            mr.iid, update.branch, "open", update.title, body, self._heads.get(update.branch, ""), mr.web_url
        )

    def _edit(self, iid: int, what: str, **attrs: Any) -> None:
        _call(what, lambda: self.project.mergerequests.update(iid, attrs))

    def edit_request(self, request: ChangeRequest, title: str, body: str) -> None:
        self._edit(request.number, f"editing !{request.number}", title=title, description=body)

    def close_request(self, request: ChangeRequest, body: str, comment: str) -> None:
        mr = self._mrs.get(request.number)
        notes = mr.notes if mr is not None else self.project.mergerequests.get(request.number, lazy=True).notes
        _call(f"commenting on !{request.number}", lambda: notes.create({"body": comment}))
        _call(
            f"closing !{request.number}",
            lambda: self.project.mergerequests.update(request.number, {"state_event": "close", "description": body}),
        )

    def delete_branch(self, name: str) -> None:
        """Left in place: branch deletion is not in the API subset this adapter keeps to (the MR was closed)."""
        self.notes.append(f"{name}: the superseded branch was left in place; delete it when convenient")
        self._heads.pop(name, None)
