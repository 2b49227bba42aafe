"""Outputs: what the emitters need besides the verdict, then every requested file rendered and published together."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate import __version__, speed
from gate.config import GateConfig
from gate.emit.base import EmitContext, Emitter, ImageAnchor
from gate.errors import GateError, InputError, OutputError
from gate.findings import parse_dockerfiles
from gate.model import Verdict, image_key

if TYPE_CHECKING:
    from gate.dockerfile import Dockerfile


def anchors(dockerfiles: Mapping[Path, Dockerfile], config: GateConfig) -> tuple[ImageAnchor, ...]:
    """Final FROM lines on which image vulnerabilities are shown (see `gate.emit.base.ImageAnchor`).

    The config's `images:` mapping names which Dockerfile builds which image; a Dockerfile is also an
    anchor for its own final base image; and when exactly one Dockerfile is among the inputs it
    anchors every image (image `*`), the common one-image repository."""
    paths = list(dict.fromkeys([*dockerfiles, *(Path(p) for _, p in config.images)]))
    if not paths:
        return ()  # a report alone: no Dockerfile parser to import
    found: list[ImageAnchor] = []
    real = _Resolver()
    named = {real(Path(p)): image for image, p in config.images}
    here = str(Path.cwd())
    for path in paths:
        if path not in dockerfiles and not path.is_file():
            raise InputError("Dockerfile named in the config `images:` does not exist", path=str(path))
        model = dockerfiles.get(path) or parse_dockerfiles([path])[path]
        final = model.final_stage()
        if final is None:
            continue
        resolved = real(path)
        rel = os.path.relpath(resolved, here)
        line = final.from_.line
        if resolved in named:
            found.append(ImageAnchor(image=image_key(named[resolved]), path=rel, line=line))
        found.append(ImageAnchor(image=image_key(final.from_.resolved), path=rel, line=line))
        if len(dockerfiles) == 1 and not config.images:
            found.append(ImageAnchor(image="*", path=rel, line=line))
    return tuple(found)


class _Resolver:
    """`Path.resolve()` as text, each folder resolved once: a thousand Dockerfiles in one folder would otherwise
    walk every component of it twice each (a file that is itself a link is resolved whole)."""

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}

    def __call__(self, path: Path) -> str:
        if path.is_symlink():
            return str(path.resolve())
        folder = str(path.parent)
        real = self.folders.get(folder)
        if real is None:
            real = self.folders[folder] = str(path.parent.resolve())
        return os.path.join(real, path.name)


def emit_context(
    config: GateConfig,
    dockerfiles: Mapping[Path, Dockerfile],
    now: dt.datetime,
    *,
    verdict: Verdict | None = None,
    wanted: Sequence[tuple[str, Path]] = (),
) -> EmitContext:
    """What the emitters need besides the verdict; with a SARIF file among `wanted`, what it leaves out (the SARIF
    is built here once and the SARIF emitter's cache hands the same bytes to the writer)."""
    ctx = EmitContext(
        tool_version=__version__,
        repo_root=str(Path.cwd()),
        anchors=anchors(dockerfiles, config),
        category_prefix=config.category_prefix or "container-gate",
        now=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return ctx if verdict is None else with_omissions(ctx, verdict, wanted)


def with_omissions(ctx: EmitContext, verdict: Verdict, wanted: Sequence[tuple[str, Path]]) -> EmitContext:
    """`ctx` with what the SARIF file leaves out, when one is among `wanted` (the summary says it). The SARIF is
    built here once; the SARIF emitter's cache hands the same bytes to the writer, so asking again is free."""
    if not any(name == "sarif" for name, _ in wanted):
        return ctx
    from gate.emit import sarif

    return replace(ctx, omitted=sarif.build_bytes(verdict, ctx)[1].omissions())


def render_outputs(wanted: Sequence[tuple[str, Path]], verdict: Verdict, ctx: EmitContext) -> dict[Path, str]:
    """Render every requested file before writing any, so a failing emitter never leaves half the set."""
    from gate.emit.formats import emitter

    return {path: emitter(name).render(verdict, ctx) for name, path in wanted}


def write_outputs(files: Mapping[Path, str | bytes]) -> list[Path]:
    """Write every file whole and publish them together (see `gate.atomic`): never through a planted link."""
    from gate.atomic import write_files

    return write_files(files)


def _render(output: Emitter, verdict: Verdict, ctx: EmitContext) -> str | bytes:
    # Large documents (SARIF) come as bytes when the emitter offers them: no decode and re-encode.
    as_bytes = getattr(output, "render_bytes", None)
    return output.render(verdict, ctx) if as_bytes is None else bytes(as_bytes(verdict, ctx))


def render_and_write(
    wanted: Sequence[tuple[str, Path]], verdict: Verdict, ctx: EmitContext, *, parallel_from: int | None = None
) -> list[Path]:
    """Render every requested output, then publish them all at once (none if any failed).

    On large verdicts with the JSON result and another output asked for, a forked child renders the JSON
    into a temporary file made here (so the one writer, `gate.atomic`, owns every name) while this process
    renders the rest: the two biggest documents are built on two cores (the child shares the verdict
    copy-on-write). Without `os.fork`, or in plain mode (`gate.speed`), it all runs here."""
    json_path = next((path for name, path in wanted if name == "json"), None)
    threshold = speed.render_in_child_from() if parallel_from is None else parallel_from
    if json_path is None or len(wanted) < 2 or len(verdict.decisions) < threshold or not hasattr(os, "fork"):
        ctx = with_omissions(ctx, verdict, wanted)
        if json_path is not None and speed.json_in_batches():
            return _write_here_in_batches(wanted, verdict, ctx)
        files = render_outputs(wanted, verdict, ctx)
        write_outputs(files)
        return list(files)
    from gate.atomic import Staged
    from gate.emit.formats import emitter

    with Staged() as staged:
        forked = {json_path: (_json_render(verdict, ctx), staged.reserve(json_path))}
        child = _ForkedRender.start(forked)
        try:
            # The JSON result does not say what the SARIF leaves out: the child starts before the SARIF is built,
            # so the two largest documents are made at the same time.
            ctx = with_omissions(ctx, verdict, wanted)
            for name, path in wanted:
                if path not in forked:
                    staged.add(path, _render(emitter(name), verdict, ctx))
        except BaseException:
            child.wait(discard=True)
            raise
        child.wait()
        staged.publish()
    return [path for _, path in wanted]


def _write_here_in_batches(wanted: Sequence[tuple[str, Path]], verdict: Verdict, ctx: EmitContext) -> list[Path]:
    """Every output rendered in this process, the JSON result written to its staged file a batch of findings at a
    time (the same bytes, without every finding's dict and the whole text at once); all published together."""
    from gate.atomic import Staged, write_fd
    from gate.emit.formats import emitter
    from gate.emit.json import EMITTER as JSON_EMITTER

    with Staged() as staged:
        for name, path in wanted:
            if name == "json":
                write_fd(staged.reserve(path), JSON_EMITTER.render_chunks(verdict, ctx), path)
            else:
                staged.add(path, _render(emitter(name), verdict, ctx))
        staged.publish()
    return [path for _, path in wanted]


def _json_render(verdict: Verdict, ctx: EmitContext) -> Callable[[], Iterable[bytes]]:
    """What the child renders: the JSON result, a batch of findings at a time (`gate.speed.json_in_batches`), so
    the child never holds every finding's dict and the whole text at once; else in one piece."""
    from gate.emit.json import EMITTER as JSON_EMITTER

    if speed.json_in_batches():
        return lambda: JSON_EMITTER.render_chunks(verdict, ctx)
    kept: list[object] = []  # the child ends with os._exit: its documents are never freed one by one
    return lambda: (JSON_EMITTER.render_bytes(verdict, ctx, keep=kept),)


@dataclass(frozen=True, slots=True)
class _ForkedRender:
    """A child process rendering outputs into temporary files opened for it; `wait` raises what went wrong."""

    paths: tuple[Path, ...]
    pid: int
    errors: int
    """Read end of a pipe carrying the child's error (the failed file, NUL, the message; empty on success)."""

    @classmethod
    def start(cls, renders: Mapping[Path, tuple[Callable[[], Iterable[bytes]], int]]) -> _ForkedRender:
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (runs in the child; its effects are tested)
            os.close(read)
            os._exit(_child(renders, write))
        os.close(write)
        for _, fd in renders.values():
            os.close(fd)  # the child holds its own copy; the staged temp file stays registered by name
        return cls(tuple(renders), pid, read)

    def wait(self, *, discard: bool = False) -> None:
        """Reap the child; a failure there becomes an `OutputError` here (`discard`: raise nothing, as the
        run already failed elsewhere). The staged temporary files are removed by their `Staged`."""
        with os.fdopen(self.errors, "rb") as pipe:
            report = pipe.read().decode(errors="replace")
        _, status = os.waitpid(self.pid, 0)
        failed = os.waitstatus_to_exitcode(status) != 0 or bool(report)
        if failed and not discard:
            where, _, message = report.partition("\x00")
            raise OutputError(
                f"rendering failed: {message or 'the rendering process died'}", path=where or str(self.paths[0])
            )


def _child(renders: Mapping[Path, tuple[Callable[[], Iterable[bytes]], int]], errors: int) -> int:  # pragma: no cover
    """Render each file in the forked process into its open temporary file; the first failure goes down the pipe."""
    from gate.atomic import write_fd

    for path, (render, fd) in renders.items():
        try:
            write_fd(fd, render(), path)
        except BaseException as exc:  # noqa: BLE001 (everything must reach the parent, then exit)
            message = exc.diagnostics() if isinstance(exc, GateError) else f"{type(exc).__name__}: {exc}"
            os.write(errors, f"{path}\x00{message}".encode(errors="replace")[:4000])
            return 1
    return 0
