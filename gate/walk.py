"""The one way the gate and remediation walk folders, and the one answer to "is this a Dockerfile?".

A folder in a pull request is attacker-shaped: a FIFO named `Dockerfile` blocks the first `open` forever, a
symlink can point at `/etc` or at itself, a folder can be unreadable. The walk therefore

- opens nothing: it only lists and `lstat`s, so what reads the files later gets regular files only (FIFOs,
  sockets and devices are listed as skipped, with the reason);
- never follows a symlinked folder (so no loop), and follows a symlinked file only when its target is a regular
  file inside the walked root (a link that leaves the root, dangles or loops is skipped, with the reason);
  a target reached twice is listed once;
- fails on a folder it cannot list: an unreadable subfolder must not pass as "nothing here".
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gate.errors import InputError

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".mypy_cache",
        "vendor",
        "third_party",
    }
)
"""Folders never walked: VCS metadata, virtual environments, caches and vendored code (someone else's files)."""

_DOCKERFILE = re.compile(r"^(?:[Dd]ocker|[Cc]ontainer)file(?:[.-].*)?$|.+\.(?:[Dd]ocker|[Cc]ontainer)file$")
_NOT_DOCKERFILE = re.compile(r"\.(?:dockerignore|containerignore|md|txt|orig|rej|swp|json|ya?ml)$|~$", re.IGNORECASE)


def is_dockerfile(name: str) -> bool:
    """`Dockerfile`, `Containerfile`, `Dockerfile.prod`, `Dockerfile-dev`, `api.Dockerfile`, `x.containerfile`;
    not `Dockerfile.dockerignore`, `Dockerfile.md` or data files named after one."""
    return bool(_DOCKERFILE.match(name)) and not _NOT_DOCKERFILE.search(name)


@dataclass(frozen=True, slots=True)
class Walked:
    """The regular files found under a root, in a stable order, and what was passed over and why."""

    files: tuple[Path, ...]
    skipped: tuple[tuple[Path, str], ...] = ()


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def walk(
    root: Path,
    *,
    skip_dir: Callable[[Path], bool] | None = None,
    keep: Callable[[Path], bool] | None = None,
) -> Walked:
    """Every regular file under `root` (sorted, folders in `SKIP_DIRS` and those `skip_dir` names left out), the
    ones `keep` accepts when given; an unreadable folder is an `InputError` naming it."""
    top = Path(os.path.realpath(root))
    files: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    seen: set[str] = set()

    def fail(exc: OSError) -> None:
        raise InputError(f"cannot read folder: {exc.strerror}", path=str(exc.filename or root)) from None

    for dirpath, dirnames, filenames in os.walk(root, onerror=fail):
        here = Path(dirpath)
        # Resolved once per folder: a file that is no link is its folder's real path plus its name. (Text, not
        # paths: at a thousand files a folder, a second Path per file was a third of the walk.)
        real_here = os.path.join(os.path.realpath(dirpath), "")
        dirnames[:] = sorted(
            d for d in dirnames if d not in SKIP_DIRS and not (skip_dir is not None and skip_dir(here / d))
        )
        for name in sorted(filenames):
            path = here / name
            if keep is not None and not keep(path):
                continue
            problem, target = _regular(path, top, real_here + name)
            if problem is not None:
                skipped.append((path, problem))
            elif target not in seen:
                seen.add(target)
                files.append(path)
    return Walked(tuple(files), tuple(skipped))


def _regular(path: Path, top: Path, real: str) -> tuple[str | None, str]:
    """Why `path` is not read (None when it is a regular file to read), and the real path of the file it stands
    for (`real`, its real folder plus its name, unless it is a link)."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None
    if stat.S_ISLNK(info.st_mode):
        try:
            target = Path(os.path.realpath(path, strict=True))
        except OSError as exc:
            return (f"a symlink that loops or dangles ({exc.strerror})", str(path))
        if target != top and top not in target.parents:
            return ("a symlink that leaves the walked folder", str(target))
        info = os.stat(target)
        what = kind_of(info.st_mode)
        return (f"a symlink to {what}, not read" if what else None, str(target))
    what = kind_of(info.st_mode)
    return (f"{what}, not read" if what else None, real)


def regular_file(path: Path) -> None:
    """A path named explicitly must be a regular file (or a link to one): the user asked for it, so anything
    else is an error rather than a skip."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None
    what = kind_of(info.st_mode)
    if what is not None:
        raise InputError(f"is {what}, not a file that can be read", path=str(path))
