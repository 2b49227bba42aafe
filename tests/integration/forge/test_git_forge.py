"""`--forge git` with real git against local bare remotes, over several nightly runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from remediate.forge import Entry, FileChange, ForgeError, Update, render
from remediate.forge.gitremote import GitForge, redact, resolve_remote
from remediate.forge.reconcile import Limits
from remediate.forge.runner import Outcome, run

PREFIX = "container-gate/"


def git(*args: str, cwd: Path | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Jane",
        "GIT_AUTHOR_EMAIL": "jane@example.com",
        "GIT_COMMITTER_NAME": "Jane",
        "GIT_COMMITTER_EMAIL": "jane@example.com",
        "HOME": str(cwd or "/nonexistent"),
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    bare = tmp_path / "remote.git"
    git("init", "--bare", "-q", "-b", "main", str(bare))
    work = tmp_path / "work"
    git("clone", "-q", str(bare), str(work))
    (work / "Dockerfile").write_text("FROM alpine:3.14\nRUN true\n")
    (work / "run.sh").write_text("#!/bin/sh\n")
    git("add", ".", cwd=work)
    git("update-index", "--chmod=+x", "run.sh", cwd=work)
    git("commit", "-q", "-m", "init", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    return bare


def update(new: str, *, file: str = "Dockerfile", fixes: tuple[str, ...] = ()) -> Update:
    e = Entry(file, "docker.io/library/alpine", "alpine:3.14", f"alpine:{new}", 1, "minor update", fixes)
    return render.make_update(render.branch_for(PREFIX, e), [e], [FileChange(file, f"FROM alpine:{new}\nRUN true\n")])


def nightly(remote: Path, updates: list[Update], limits: Limits | None = None) -> tuple[list[Outcome], int]:
    forge = GitForge(str(remote))
    try:
        base = forge.default_branch()
        outcomes = run(forge, updates, base=base, prefix=PREFIX, limits=limits or Limits())
        return outcomes, forge.pushes
    finally:
        forge.close()


def branches(remote: Path) -> list[str]:
    out = git("--git-dir", str(remote), "for-each-ref", "--format=%(refname:short)", "refs/heads/")
    return sorted(out.split())


def show(remote: Path, rev: str) -> str:
    return git("--git-dir", str(remote), "show", rev)


def test_open_rerun_supersede_and_foreign_push(remote: Path, tmp_path: Path) -> None:
    u = update("3.19")
    outcomes, pushes = nightly(remote, [u])
    assert [o.status for o in outcomes] == ["opened"] and pushes == 1
    assert branches(remote) == ["container-gate/dockerfile/alpine-3.19", "main"]
    assert show(remote, f"{u.branch}:Dockerfile") == "FROM alpine:3.19\nRUN true\n"
    # one commit on top of main, whose other files (and modes) are untouched
    assert show(remote, f"{u.branch}~1") == show(remote, "main")
    tree = git("--git-dir", str(remote), "ls-tree", u.branch)
    assert "100755 blob" in next(line for line in tree.splitlines() if line.endswith("run.sh"))
    subject = git("--git-dir", str(remote), "log", "-1", "--format=%s", u.branch).strip()
    assert subject == "fix(docker): bump alpine 3.14 → 3.19 in Dockerfile"

    outcomes, pushes = nightly(remote, [u])
    assert [o.status for o in outcomes] == ["unchanged"] and pushes == 0

    newer = update("3.20")
    outcomes, pushes = nightly(remote, [newer])
    assert [o.status for o in outcomes] == ["opened"] and pushes == 2
    assert branches(remote) == ["container-gate/dockerfile/alpine-3.20", "main"]

    work = tmp_path / "person"
    git("clone", "-q", "-b", newer.branch, str(remote), str(work))
    (work / "Dockerfile").write_text("FROM alpine:3.20\nRUN echo mine\n")
    git("commit", "-q", "-am", "my change", cwd=work)
    git("push", "-q", "origin", f"HEAD:{newer.branch}", cwd=work)
    head = git("--git-dir", str(remote), "rev-parse", newer.branch)
    changed = render.make_update(newer.branch, newer.entries, [FileChange("Dockerfile", "FROM alpine:3.20\n")])
    outcomes, pushes = nightly(remote, [changed])
    assert outcomes[0].status == "skipped" and "Jane" in outcomes[0].detail and pushes == 0
    assert git("--git-dir", str(remote), "rev-parse", newer.branch) == head


def test_changed_content_is_force_pushed_once(remote: Path) -> None:
    u = update("3.20")
    nightly(remote, [u])
    changed = render.make_update(u.branch, u.entries, [FileChange("Dockerfile", "FROM alpine:3.20\nRUN false\n")])
    outcomes, pushes = nightly(remote, [changed])
    assert [o.status for o in outcomes] == ["updated"] and pushes == 1
    assert show(remote, f"{u.branch}:Dockerfile") == "FROM alpine:3.20\nRUN false\n"
    assert nightly(remote, [changed])[1] == 0


def test_max_new_holds_back_security_first(remote: Path) -> None:
    plain = update("3.20", file="Dockerfile")
    secure = update("3.20", file="sub/Dockerfile", fixes=("CVE-2024-1",))
    outcomes, _ = nightly(remote, [plain, secure], Limits(max_new=1))
    assert [(o.update.branch, o.status) for o in outcomes] == [(secure.branch, "opened"), (plain.branch, "skipped")]
    assert "--max-new 1" in outcomes[1].detail


def test_one_failing_push_does_not_stop_the_next(remote: Path, tmp_path: Path) -> None:
    bad = render.make_update(f"{PREFIX}bad..name", update("3.20").entries, [FileChange("Dockerfile", "x\n")])
    good = update("3.20")
    outcomes, _ = nightly(remote, [bad, good])
    by = {o.update.branch: o for o in outcomes}
    assert by[bad.branch].status == "failed" and by[good.branch].status == "opened"


def test_unreachable_remote_is_fatal(tmp_path: Path) -> None:
    from remediate.forge import ForgeError

    forge = GitForge(str(tmp_path / "nothing.git"))
    with pytest.raises(ForgeError) as err:
        forge.default_branch()
    forge.close()
    assert err.value.fatal


def test_credentials_in_remote_urls_are_redacted() -> None:
    assert redact("fatal: unable to access 'https://user:s3cret@host/r.git/'") == (
        "fatal: unable to access 'https://***@host/r.git/'"
    )


def test_remote_name_resolves_through_the_checkout(remote: Path, tmp_path: Path) -> None:
    work = tmp_path / "clone"
    git("clone", "-q", str(remote), str(work))
    assert resolve_remote(None, work) == str(remote)
    assert resolve_remote("https://h/r.git", work) == "https://h/r.git"
    assert resolve_remote(str(remote), work) == str(remote)


def test_a_configured_author_makes_the_commits(remote: Path) -> None:
    forge = GitForge(str(remote), author=("Deps Bot", "deps@example.com"))
    try:
        run(forge, [update("3.20")], base=forge.default_branch(), prefix=PREFIX)
    finally:
        forge.close()
    who = git("--git-dir", str(remote), "log", "-1", "--format=%an <%ae> / %cn <%ce>", update("3.20").branch)
    assert who.strip() == "Deps Bot <deps@example.com> / Deps Bot <deps@example.com>"


def test_without_git_installed_the_error_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The action image ships no git: `forge: git` there must say so, not "No such file or directory".
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ForgeError, match="needs the git command") as caught:
        GitForge(str(tmp_path / "remote.git"))
    assert caught.value.fatal
