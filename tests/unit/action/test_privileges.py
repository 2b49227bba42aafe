"""The entrypoint becomes the workspace's owner: the decision on made-up files, the switch with recorded calls,
and once for real in a child process when the tests run as root."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from gate.ci.action import inside_workspace
from gate.ci.privileges import Identity, Plan, PrivilegeError, SystemCalls, become, can_append, plan
from gate.errors import ConfigError

WORKSPACE = "/github/workspace"


def _st(uid: int, gid: int, mode: int) -> os.stat_result:
    return os.stat_result((mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))


def _dir(uid: int, gid: int) -> os.stat_result:
    return _st(uid, gid, stat.S_IFDIR | 0o755)


def _file(uid: int, gid: int, perm: int) -> os.stat_result:
    return _st(uid, gid, stat.S_IFREG | perm)


def _stat_of(table: dict[str, os.stat_result]):  # type: ignore[no-untyped-def]
    def look(path: str) -> os.stat_result:
        if path not in table:
            raise FileNotFoundError(2, "No such file or directory", path)
        return table[path]

    return look


ENV = {"GITHUB_OUTPUT": "/github/file_commands/set_output", "GITHUB_STEP_SUMMARY": "/github/file_commands/summary"}


@pytest.mark.parametrize("uid", [1001, 1234])
def test_root_becomes_the_workspace_owner(uid: int) -> None:
    files = {WORKSPACE: _dir(uid, uid)} | {path: _file(uid, uid, 0o644) for path in ENV.values()}

    chosen = plan(euid=0, workspace=Path(WORKSPACE), env=ENV, stat_path=_stat_of(files))

    assert chosen == Plan(Identity(uid, uid), (), f"the workspace belongs to uid {uid}")


def test_a_root_owned_workspace_keeps_root() -> None:
    # act's defaults and many self-hosted runners: nobody else to be.
    files = {WORKSPACE: _dir(0, 0)} | {path: _file(0, 0, 0o666) for path in ENV.values()}

    assert plan(euid=0, workspace=Path(WORKSPACE), env=ENV, stat_path=_stat_of(files)).become is None


def test_not_root_changes_nothing() -> None:
    chosen = plan(euid=1001, workspace=Path(WORKSPACE), env=ENV, stat_path=_stat_of({}))
    assert chosen.become is None and chosen.hold == ()


def test_file_commands_the_owner_cannot_append_to_are_held_open() -> None:
    files = {
        WORKSPACE: _dir(1234, 1234),
        ENV["GITHUB_OUTPUT"]: _file(1001, 1001, 0o644),  # another uid's, not writable by 1234
        ENV["GITHUB_STEP_SUMMARY"]: _file(1001, 1001, 0o666),  # writable by anyone
    }

    chosen = plan(euid=0, workspace=Path(WORKSPACE), env=ENV, stat_path=_stat_of(files))

    assert chosen.become == Identity(1234, 1234)
    assert chosen.hold == (ENV["GITHUB_OUTPUT"],)


def test_an_unreadable_workspace_is_an_error_not_a_guess() -> None:
    with pytest.raises(PrivilegeError, match="cannot look at the workspace"):
        plan(euid=0, workspace=Path(WORKSPACE), env={}, stat_path=_stat_of({}))


@pytest.mark.parametrize(
    ("st", "who", "expected"),
    [
        (_file(5, 5, 0o644), Identity(5, 9), True),
        (_file(5, 5, 0o444), Identity(5, 5), False),
        (_file(5, 7, 0o664), Identity(6, 7), True),
        (_file(5, 7, 0o644), Identity(6, 7), False),
        (_file(5, 7, 0o646), Identity(6, 8), True),
        (_file(5, 7, 0o600), Identity(0, 0), True),
    ],
)
def test_can_append_reads_the_mode_bits_of_owner_group_other(st: os.stat_result, who: Identity, expected: bool) -> None:
    assert can_append(st, who) is expected


class _Recorder:
    """Records the switch and plays the kernel: after setuid to non-root, setuid(0) is refused."""

    def __init__(self, *, regain_root: bool = False) -> None:
        self.calls: list[tuple[str, object]] = []
        self.ids = [0, 0, 0, 0]
        self.regain_root = regain_root

    def system(self) -> SystemCalls:
        def setgroups(groups: object) -> None:
            self.calls.append(("setgroups", list(groups)))  # type: ignore[call-overload]

        def setgid(gid: int) -> None:
            self.calls.append(("setgid", gid))
            self.ids[2:] = [gid, gid]

        def setuid(uid: int) -> None:
            self.calls.append(("setuid", uid))
            if self.ids[0] != 0 and not self.regain_root:
                raise PermissionError(1, "Operation not permitted")
            self.ids[:2] = [uid, uid]

        def open_append(path: str) -> int:
            self.calls.append(("open", path))
            return 42

        return SystemCalls(
            setgroups=setgroups,
            setgid=setgid,
            setuid=setuid,
            getuid=lambda: self.ids[0],
            geteuid=lambda: self.ids[1],
            getgid=lambda: self.ids[2],
            getegid=lambda: self.ids[3],
            open_append=open_append,
        )


def test_become_opens_held_files_then_drops_groups_gid_uid_in_that_order() -> None:
    rec = _Recorder()

    held = become(Plan(Identity(1234, 2345), ("/f/out",)), rec.system())

    assert held == {"/f/out": 42}
    assert rec.calls == [("open", "/f/out"), ("setgroups", []), ("setgid", 2345), ("setuid", 1234), ("setuid", 0)]


def test_become_refuses_to_go_on_if_root_can_be_regained() -> None:
    with pytest.raises(PrivilegeError, match="could become root again"):
        become(Plan(Identity(1234, 1234)), _Recorder(regain_root=True).system())


def test_become_without_a_target_does_nothing() -> None:
    rec = _Recorder()
    assert become(Plan(None), rec.system()) == {} and rec.calls == []


@pytest.mark.skipif(os.geteuid() != 0, reason="switching identity for real needs root")
def test_entrypoint_really_switches_and_writes_as_the_owner() -> None:
    """The image's entrypoint in a child process: files it writes belong to the workspace owner."""
    # Not pytest's tmp_path: its parents are root's 0700 folders, which uid 1234 could not even pass through.
    tmp_path = Path(tempfile.mkdtemp(prefix="cg-privileges-"))
    try:
        _run_entrypoint_as_owner(tmp_path)
    finally:
        shutil.rmtree(tmp_path)


def _run_entrypoint_as_owner(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    os.chown(workspace, 1234, 1234)
    output = tmp_path / "set_output"
    output.write_text("")
    os.chmod(output, 0o644)  # root's file, not writable by 1234: must be held open before the switch
    os.chmod(tmp_path, 0o755)  # noqa: S103 (uid 1234 must pass through it, like /github)
    report = workspace / "empty.json"
    report.write_text('{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image", "Results": []}')
    os.chown(report, 1234, 1234)
    env = {
        "PATH": os.environ["PATH"],
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(output),
        "INPUT_PATHS": "empty.json",
        "INPUT_SARIF": "container-gate.sarif",
    }
    # This machine's interpreter lives under root's 0700 home, which the image's does not: the child imports the
    # whole program before the switch, so what the test sees is the switch, not this machine's file modes.
    code = (
        "import importlib, pkgutil, sys, gate\n"
        "for m in pkgutil.walk_packages(gate.__path__, 'gate.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        "from gate.ci.action import entrypoint\n"
        "sys.argv[1:] = ['github-action', 'gate']\n"
        "raise SystemExit(entrypoint())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=workspace, env=env, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    sarif = workspace / "container-gate.sarif"
    assert (sarif.stat().st_uid, sarif.stat().st_gid) == (1234, 1234)
    assert "verdict<<" in output.read_text() and output.stat().st_uid == 0


def test_outputs_outside_the_workspace_are_refused(tmp_path: Path) -> None:
    (tmp_path / "ws" / "out").mkdir(parents=True)
    (tmp_path / "ws" / "escape").symlink_to(tmp_path)
    ws = tmp_path / "ws"

    assert inside_workspace("sarif", "out/x.sarif", ws) == "out/x.sarif"
    assert inside_workspace("sarif", str(ws / "x.sarif"), ws) == str(ws / "x.sarif")
    assert inside_workspace("json", "not/yet/made.json", ws) == "not/yet/made.json"
    for bad in ("../x.sarif", "/etc/x.sarif", "escape/x.sarif", "out/..", "."):
        with pytest.raises(ConfigError):
            inside_workspace("sarif", bad, ws)
