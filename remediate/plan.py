"""The orchestrator: Dockerfiles → base images → registry answers → decisions → byte-exact file edits.

Every client arrives as an argument; nothing here reads argv or the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gate.errors import InputError
from remediate import discover, rewrite
from remediate.config import RemediateConfig
from remediate.errors import RegistryError
from remediate.findings import ImageFindings, match
from remediate.imageref import format_ref, locate
from remediate.model import BaseImageUse, Bump, FileEdit, ImageRef, Plan, SkippedImage
from remediate.registry import RegistryClient
from remediate.select import decide


@dataclass(frozen=True, slots=True)
class Options:
    """How far to move and whether to pin; `config` carries the per-image rules."""

    update: str = "minor"
    pin: bool | None = None
    config: RemediateConfig = field(default_factory=RemediateConfig)
    signatures: Callable[[ImageRef], Callable[[str], str | None]] | None = None
    """`--require-signature`: for an image, the check a candidate's digest must pass (remediate.signatures)."""


@dataclass(frozen=True, slots=True)
class _Source:
    path: Path
    display: str
    text: str


def plan(
    paths: Sequence[Path],
    *,
    registry: RegistryClient,
    findings: Sequence[ImageFindings] | None = None,
    options: Options | None = None,
) -> Plan:
    """Decide every bump for the Dockerfiles under `paths` and compute the edited files (nothing is
    written). With `findings`, only bases of images that have fixable OS-package vulnerabilities move."""
    opts = options or Options()
    sources, uses, skipped = _collect(paths, opts.config)
    fixes_by_use: dict[tuple[str, int], tuple[str, ...]] | None = None
    notes: list[str] = []
    if findings is not None:
        fixes_by_use, notes = match(findings, uses, mapping=opts.config.findings_map)
    bumps: list[Bump] = []
    for use in uses:
        fixes = None if fixes_by_use is None else fixes_by_use.get((use.file, use.line), ())
        outcome = _decide(use, registry, opts, fixes)
        if isinstance(outcome, Bump):
            bumps.append(outcome)
        else:
            skipped.append(outcome)
    edits, applied, failed = _edit_files(sources, bumps)
    skipped.extend(failed)
    skipped.sort(key=lambda s: (s.file, s.line))
    return Plan(bumps=tuple(applied), skipped=tuple(skipped), edits=tuple(edits), notes=tuple(notes), checked=len(uses))


def _collect(
    paths: Sequence[Path], config: RemediateConfig
) -> tuple[dict[str, _Source], list[BaseImageUse], list[SkippedImage]]:
    from gate.dockerfile import parse

    sources: dict[str, _Source] = {}
    uses: list[BaseImageUse] = []
    skipped: list[SkippedImage] = []
    explicit = {p.resolve() for p in paths if p.is_file()}
    for missing in (p for p in paths if not p.exists()):
        raise InputError("no such file or folder", path=str(missing))
    for path in discover.find(paths, include=config.include, exclude=config.exclude):
        display = discover.display_path(path)
        try:
            text = _read(path, display)
            df = parse(text, display)
        except InputError as exc:
            if path.resolve() in explicit:
                raise
            skipped.append(SkippedImage(display, 0, "", f"not parsed: {exc.message}"))
            continue
        sources[display] = _Source(path, display, text)
        found, skips = discover.base_images(df)
        skipped.extend(skips)
        for use in found:
            if config.ignored(use.ref):
                skipped.append(SkippedImage(use.file, use.line, use.resolved, "ignored by configuration"))
            else:
                uses.append(use)
    return sources, uses, skipped


def _read(path: Path, display: str) -> str:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read Dockerfile: {exc}", path=display) from None


def _decide(
    use: BaseImageUse, registry: RegistryClient, opts: Options, fixes: tuple[str, ...] | None
) -> Bump | SkippedImage:
    rules = opts.config.rules_for(use.ref, opts.update)
    try:
        tags = registry.list_tags(use.ref)
        return decide(
            use,
            tags,
            rules=rules,
            pin=opts.pin,
            fixes=fixes,
            digest_of=lambda tag: registry.digest(use.ref, tag),
            accept=opts.signatures(use.ref) if opts.signatures is not None else None,
        )
    except RegistryError as exc:
        return SkippedImage(use.file, use.line, use.resolved, exc.diagnostics(), registry_error=True)


def new_reference(bump: Bump) -> str:
    """The reference text to write: the name as the file resolves it, with the new tag and digest."""
    where = locate(bump.use.resolved)
    return format_ref(bump.use.resolved[: where.name_end], bump.new.tag, bump.new.digest)


def _edit_files(
    sources: dict[str, _Source], bumps: Sequence[Bump]
) -> tuple[list[FileEdit], list[Bump], list[SkippedImage]]:
    """Apply each file's bumps in line order; a bump whose edit conflicts with one already taken (two
    FROMs fed by one ARG wanting different values) or cannot be placed is skipped with the reason."""
    edits: list[FileEdit] = []
    applied: list[Bump] = []
    failed: list[SkippedImage] = []
    for display, src in sources.items():
        taken: list[rewrite.TextEdit] = []
        mine: list[Bump] = []
        for bump in sorted((b for b in bumps if b.use.file == display), key=lambda b: b.use.line):
            try:
                more = edits_of(bump)
                rewrite.apply(src.text, [*taken, *more])
            except rewrite.RewriteError as exc:
                failed.append(SkippedImage(display, bump.use.line, bump.use.resolved, f"cannot rewrite: {exc}"))
                continue
            taken.extend(more)
            mine.append(bump)
        if mine:
            after = rewrite.apply(src.text, taken)
            edits.append(FileEdit(str(src.path), display, src.text, after, tuple(mine)))
            applied.extend(mine)
    return edits, applied, failed


def edits_of(bump: Bump) -> tuple[rewrite.TextEdit, ...]:
    use = bump.use
    if not use.segments:
        raise rewrite.RewriteError("the reference is quoted, escaped or split across lines; edit it by hand")
    return rewrite.edits_for(use.segments, use.resolved, new_reference(bump), use.token_end, use.line)
