"""Become the workspace's owner before the action reads anything.

GitHub starts a container action as the image's user, and the runner's workspace and file-command files belong to
whoever runs the runner: uid 1001 on GitHub-hosted runners, root under act's defaults and on many self-hosted and
GHES runners, any uid elsewhere. An image fixed to one uid cannot write its SARIF, outputs or summary on the others,
and an image that stays root leaves root-owned files that later steps cannot delete. So the image starts as root
(no `USER`), and the entrypoint, before it reads a single input, takes the identity of the workspace's owner:
supplementary groups cleared, then gid, then uid, and a check that root cannot be regained. A root-owned workspace
keeps root: there is nobody else to be, and the action then writes only inside the workspace and the file-command
paths (`gate.ci.action` refuses output paths outside it).

A file-command file the new identity could not append to (a runner whose files belong to another uid than its
workspace) is opened before the switch, and `gate.ci.github` appends through the descriptor it was handed.

The decision (`plan`) is pure and tested on made-up `stat` results; `become` is the only part that changes the
process, and takes the system calls as parameters so tests can watch what it does without being root.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

FILE_COMMANDS = ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE")
"""The runner's file-command variables: files the action appends to (outputs, summary) or may be handed."""

ROOT = 0


class PrivilegeError(RuntimeError):
    """The identity switch did not happen as planned: the action must not go on half-switched."""


@dataclass(frozen=True, slots=True)
class Identity:
    """A numeric user and group; names mean nothing here (the image's /etc/passwd does not know the runner's)."""

    uid: int
    gid: int

    @property
    def root(self) -> bool:
        return self.uid == ROOT


@dataclass(frozen=True, slots=True)
class Plan:
    """Who to become, and which file-command files to open first because that identity could not append to them."""

    become: Identity | None
    """None: stay as we are (not root, or the workspace belongs to root)."""
    hold: tuple[str, ...] = ()
    reason: str = ""


def can_append(st: os.stat_result, who: Identity) -> bool:
    """Whether `who` (with only its primary group) may open this file for appending, by its mode bits."""
    if who.root:
        return True
    if st.st_uid == who.uid:
        return bool(st.st_mode & stat.S_IWUSR)
    if st.st_gid == who.gid:
        return bool(st.st_mode & stat.S_IWGRP)
    return bool(st.st_mode & stat.S_IWOTH)


def plan(
    *,
    euid: int,
    workspace: Path,
    env: Mapping[str, str],
    stat_path: Callable[[str], os.stat_result] = os.stat,
) -> Plan:
    """What to do: become the owner of `workspace` when we are root and the owner is not; otherwise nothing."""
    if euid != ROOT:
        return Plan(None, reason=f"running as uid {euid}")
    try:
        st = stat_path(str(workspace))
    except OSError as exc:
        raise PrivilegeError(f"{workspace}: cannot look at the workspace: {exc.strerror}") from None
    owner = Identity(st.st_uid, st.st_gid)
    if owner.root:
        return Plan(None, reason="the workspace belongs to root")
    hold: list[str] = []
    for name in FILE_COMMANDS:
        path = env.get(name)
        if not path:
            continue
        try:
            file_st = stat_path(path)
        except FileNotFoundError:
            # The runner creates them before the step; a missing one is the CLI's to report when it writes it.
            continue
        except OSError as exc:
            raise PrivilegeError(f"{path}: cannot look at {name}: {exc.strerror}") from None
        if stat.S_ISREG(file_st.st_mode) and not can_append(file_st, owner):
            hold.append(path)
    return Plan(owner, tuple(hold), reason=f"the workspace belongs to uid {owner.uid}")


@dataclass(frozen=True, slots=True)
class SystemCalls:
    """The process-changing calls `become` makes, passed in so a test can record them."""

    setgroups: Callable[[Sequence[int]], None] = os.setgroups
    setgid: Callable[[int], None] = os.setgid
    setuid: Callable[[int], None] = os.setuid
    getuid: Callable[[], int] = os.getuid
    geteuid: Callable[[], int] = os.geteuid
    getgid: Callable[[], int] = os.getgid
    getegid: Callable[[], int] = os.getegid
    open_append: Callable[[str], int] = lambda path: os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)


def become(chosen: Plan, calls: SystemCalls | None = None) -> dict[str, int]:
    """Carry out the plan: open the held files, then drop groups, gid and uid, and prove root is gone.

    Returns the held files' descriptors by path. Order matters: groups and gid can only be changed while still root."""
    do = calls or SystemCalls()
    held: dict[str, int] = {}
    who = chosen.become
    if who is None:
        return held
    for path in chosen.hold:
        try:
            held[path] = do.open_append(path)
        except OSError as exc:
            raise PrivilegeError(f"{path}: cannot open: {exc.strerror}") from None
    try:
        do.setgroups([])
        do.setgid(who.gid)
        do.setuid(who.uid)
    except OSError as exc:
        raise PrivilegeError(f"cannot switch to uid {who.uid} gid {who.gid}: {exc.strerror}") from None
    now = (do.getuid(), do.geteuid(), do.getgid(), do.getegid())
    if now != (who.uid, who.uid, who.gid, who.gid):
        raise PrivilegeError(f"switch to uid {who.uid} gid {who.gid} left uid/euid/gid/egid {now}")
    try:
        do.setuid(ROOT)
    except PermissionError:
        return held
    raise PrivilegeError(f"uid {who.uid} could become root again")
