"""The one way the gate and remediation write files: whole, in place of the old ones, never through a link.

Each file is first written to a temporary file made exclusively (`O_CREAT | O_EXCL`, a random name) in the target's
own folder, so a name planted in advance, a symlink above all, is never opened, and two runs writing the same
outputs never share a temporary file. Each is flushed to disk, then renamed over its target: a rename replaces a
symlink at the target instead of following it, and a reader sees the old file or the new one, never half of one.
Nothing is renamed until every file of the batch is written, so a failure part-way publishes nothing and leaves no
temporary file behind; parallel runs each succeed with whole files, the last one winning.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from gate.errors import OutputError

Content = str | bytes


def _umask() -> int:
    # Read without changing it for good: files get the mode `open()` would give them (0o666 & ~umask), not
    # mkstemp's 0o600, so later steps running as other users of the same group can read the reports.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class Staged:
    """Files written to temporary names next to their targets, waiting to be renamed into place."""

    def __init__(self) -> None:
        self._temps: dict[Path, Path] = {}

    def add(self, path: Path, content: Content, *, mode: int | None = None) -> None:
        """Write `content` to a new temporary file beside `path` (creating missing folders), flushed to disk;
        `mode` keeps an edited file's permissions (default: what `open()` would give a new file)."""
        write_fd(self.reserve(path), content, path, mode=mode)

    def reserve(self, path: Path) -> int:
        """A new temporary file beside `path`, registered for `publish`, as an fd open for writing: for content
        that another process (a forked renderer) writes with `write_fd`. The caller closes its copy."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise OutputError(f"cannot write: {exc.strerror}", path=str(path)) from None
        self._temps[path] = Path(name)
        return fd

    def publish(self) -> list[Path]:
        """Rename every staged file over its target, in the order added; returns the targets."""
        done: list[Path] = []
        for path, temp in list(self._temps.items()):
            try:
                os.replace(temp, path)
            except OSError as exc:
                raise OutputError(f"cannot write: {exc.strerror}", path=str(path)) from None
            del self._temps[path]
            done.append(path)
        return done

    def discard(self) -> None:
        """Remove every temporary file not yet published (after a failure)."""
        for temp in self._temps.values():
            try:
                temp.unlink()
            except FileNotFoundError:
                pass
        self._temps.clear()

    def __enter__(self) -> Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()


def write_fd(fd: int, content: Content | Iterable[bytes], path: Path, *, mode: int | None = None) -> None:
    """Write `content` whole (text, bytes, or bytes made piece by piece) to the temporary file open at `fd`, with
    the mode `open()` gives, flushed to disk; the fd is closed. Errors name `path`, the file the user asked for."""
    pieces: Iterable[bytes | bytearray | memoryview]
    if isinstance(content, str):
        pieces = (content.encode("utf-8"),)
    elif isinstance(content, bytes | bytearray | memoryview):
        pieces = (content,)
    else:
        pieces = content
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in pieces:
                view = memoryview(piece)
                while view:
                    view = view[handle.write(view) :]
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask() if mode is None else mode)
            os.fsync(handle.fileno())
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror}", path=str(path)) from None


def write_files(files: Mapping[Path, Content], *, before_publish: Callable[[], None] | None = None) -> list[Path]:
    """Write every file whole, then rename them all into place; on any failure nothing is published.

    `before_publish` runs after all are staged and before the first rename (e.g. waiting for a forked renderer):
    if it raises, nothing is published either."""
    with Staged() as staged:
        for path, content in files.items():
            staged.add(path, content)
        if before_publish is not None:
            before_publish()
        return staged.publish()
