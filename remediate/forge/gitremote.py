"""`--forge git`: branches pushed to any git remote (Gitea, Bitbucket, a plain server), no API.

Work happens in a private bare repository in a temporary folder, so the checkout is never written:
the base branch and our branches are fetched there, each commit is built with a temporary index
(`read-tree`, `update-index --cacheinfo`, `write-tree`, `commit-tree`) and pushed with a lease on the
head we saw. There is no PR to keep state in, so the metadata rides in our commit messages, and a
branch whose commits since the base do not all carry it has someone else's work on it.
Credentials come from git itself (SSH keys, credential helpers); nothing secret is put in argv.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from remediate.forge import BranchState, ChangeRequest, FileChange, ForgeError, Update
from remediate.forge.render import MARKER, parse_meta

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_LOCAL = "refs/cg/"
_IDENTITY = {
    "GIT_AUTHOR_NAME": "container-gate",
    "GIT_AUTHOR_EMAIL": "container-gate@localhost",
    "GIT_COMMITTER_NAME": "container-gate",
    "GIT_COMMITTER_EMAIL": "container-gate@localhost",
}


def redact(text: str) -> str:
    """A remote URL's user:password@ part never reaches a message."""
    return _USERINFO.sub("***@", text)


def resolve_remote(repo: str | None, cwd: Path) -> str:
    """`--repo` as a URL or local path, or the name of a remote of the checkout (default `origin`)."""
    name = repo or "origin"
    if "://" in name or name.startswith(("/", "./", "../")) or ("@" in name and ":" in name):
        return name
    if Path(name).exists():
        return str(Path(name).resolve())
    try:
        out = subprocess.run(
            ["git", "remote", "get-url", "--", name], cwd=cwd, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        raise ForgeError(f"--repo {name}: not a URL and not a remote of the repository at {cwd}", fatal=True) from None
    return out.stdout.strip()


class GitForge:
    """Branches on a git remote; requests are the branches under our prefix."""

    name = "git"

    def __init__(self, remote: str, *, author: tuple[str, str] | None = None) -> None:
        self.remote = remote
        self._tmp = tempfile.TemporaryDirectory(prefix="container-gate-git-")
        self.git_dir = Path(self._tmp.name) / "repo.git"
        env = {k: v for k, v in os.environ.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
        self._env = {**_IDENTITY, **env, "GIT_TERMINAL_PROMPT": "0"}
        if author is not None:
            name, email = author
            for role in ("AUTHOR", "COMMITTER"):
                self._env.update({f"GIT_{role}_NAME": name, f"GIT_{role}_EMAIL": email})
        self._heads: dict[str, str] = {}
        self._fetched: set[str] = set()
        self.pushes = 0
        """Pushes made (branch updates and deletions): a rerun with nothing to do makes none."""
        try:
            self._git("init", "--bare", "-q", str(self.git_dir), git_dir=False)
        except BaseException:
            self._tmp.cleanup()
            raise

    def close(self) -> None:
        self._tmp.cleanup()

    def _git(self, *args: str, stdin: bytes | None = None, index: Path | None = None, git_dir: bool = True) -> str:
        env = dict(self._env)
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        argv = ["git", f"--git-dir={self.git_dir}", *args] if git_dir else ["git", *args]
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
        except FileNotFoundError:
            raise ForgeError(
                "--forge git needs the git command, which is not installed here (the action image ships none: use "
                "forge github or gitlab there, or run the CLI in a job that has git)",
                fatal=True,
            ) from None
        except OSError as exc:
            raise ForgeError(f"cannot run git: {exc.strerror}", fatal=True) from None
        if done.returncode != 0:
            detail = redact(done.stderr.decode(errors="replace").strip().splitlines()[-1:][0] if done.stderr else "")
            raise ForgeError(f"git {args[0]} failed: {detail or f'exit {done.returncode}'}")
        return done.stdout.decode(errors="replace")

    def default_branch(self) -> str:
        try:
            out = self._git("ls-remote", "--symref", "--", self.remote, "HEAD")
        except ForgeError as exc:
            raise ForgeError(f"cannot reach {redact(self.remote)}: {exc}", fatal=True) from None
        for line in out.splitlines():
            if line.startswith("ref: refs/heads/"):
                return line.split()[1].removeprefix("refs/heads/")
        raise ForgeError(f"{redact(self.remote)} has no default branch; pass --base-branch", fatal=True)

    def _fetch(self, branch: str) -> str:
        """Fetch one branch into our private ref space; its head commit."""
        if branch not in self._fetched:
            self._git("fetch", "-q", "--no-tags", "--", self.remote, f"+refs/heads/{branch}:{_LOCAL}{branch}")
            self._fetched.add(branch)
        return self._git("rev-parse", f"{_LOCAL}{branch}").strip()

    def list_requests(self, prefix: str) -> Sequence[ChangeRequest]:
        try:
            out = self._git("ls-remote", "--heads", "--", self.remote, f"refs/heads/{prefix}*")
        except ForgeError as exc:
            raise ForgeError(f"cannot list branches of {redact(self.remote)}: {exc}", fatal=True) from None
        found = []
        for line in out.splitlines():
            sha, ref = line.split("\t", 1)
            branch = ref.removeprefix("refs/heads/")
            self._heads[branch] = sha
        if self._heads:
            specs = [f"+refs/heads/{b}:{_LOCAL}{b}" for b in self._heads]
            self._git("fetch", "-q", "--no-tags", "--", self.remote, *specs)
            self._fetched.update(self._heads)
        for branch, sha in sorted(self._heads.items()):
            message = self._git("log", "-1", "--format=%B", sha)
            meta = parse_meta(message)
            if meta is not None:
                # the metadata sits in the head commit itself: that head is the commit it speaks of
                meta = type(meta)(meta.entries, sha, meta.content, meta.closed)
            title = message.splitlines()[0] if message else ""
            found.append(ChangeRequest(0, branch, "open", title, "", sha, f"{branch}", meta))
        return found

    def branch(self, name: str, base: str) -> BranchState | None:
        head = self._heads.get(name)
        if head is None:
            return None
        log = self._git("log", "--format=%H%x00%an%x00%B%x01", f"{self._fetch(base)}..{head}")
        authors: list[str] = []
        for record in filter(None, (r.strip() for r in log.split("\x01"))):
            _, author, message = record.split("\x00", 2)
            if MARKER not in message and author not in authors:
                authors.append(author)
        return BranchState(name, head, ours=not authors, authors=tuple(authors))

    def push(self, branch: str, base: str, files: Sequence[FileChange], message: str) -> str:
        base_sha = self._fetch(base)
        index = Path(self._tmp.name) / "index"
        index.unlink(missing_ok=True)
        self._git("read-tree", base_sha, index=index)
        for f in files:
            blob = self._git("hash-object", "-w", "--stdin", stdin=f.content.encode()).strip()
            listed = self._git("ls-tree", base_sha, "--", f.path).split()
            mode = listed[0] if listed and listed[0] in ("100644", "100755") else "100644"
            self._git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{f.path}", index=index)
        tree = self._git("write-tree", index=index).strip()
        commit = self._git("commit-tree", tree, "-p", base_sha, "-F", "-", stdin=message.encode()).strip()
        lease = f"--force-with-lease=refs/heads/{branch}:{self._heads.get(branch, '')}"
        self._git("push", "-q", lease, "--", self.remote, f"{commit}:refs/heads/{branch}")
        self.pushes += 1
        self._heads[branch] = commit
        return commit

    def open_request(self, update: Update, body: str, base: str) -> ChangeRequest:
        return ChangeRequest(
            0, update.branch, "open", update.title, "", self._heads.get(update.branch, ""), update.branch
        )

    def edit_request(self, request: ChangeRequest, title: str, body: str) -> None:
        """A branch has no description to keep."""

    def close_request(self, request: ChangeRequest, body: str, comment: str) -> None:
        """Nothing to close: `delete_branch` follows."""

    def delete_branch(self, name: str) -> None:
        lease = f"--force-with-lease=refs/heads/{name}:{self._heads.get(name, '')}"
        self._git("push", "-q", lease, "--", self.remote, f":refs/heads/{name}")
        self.pushes += 1
        self._heads.pop(name, None)
