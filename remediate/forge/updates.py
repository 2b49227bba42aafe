"""From a plan to the updates a forge gets: one per updated base image per file, or one for everything."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from remediate import rewrite
from remediate.errors import RemediateError
from remediate.forge import Entry, FileChange, Update
from remediate.forge.render import branch_for, group_branch, make_update
from remediate.model import Bump, FileEdit, Plan
from remediate.plan import edits_of, new_reference


def repo_path(path: str, root: Path) -> str:
    """A file's path inside the repository, `/`-separated; an error when it lies outside `root`."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise RemediateError(f"{path}: outside the repository at {root}; run from the repository root") from None


def entry_of(bump: Bump, file: str) -> Entry:
    return Entry(
        file=file,
        image=bump.use.ref.name,
        old=bump.use.resolved,
        new=new_reference(bump),
        line=bump.use.line,
        why=bump.why,
        fixes=bump.fixes,
    )


def updates_from(plan: Plan, *, root: Path, prefix: str, group: bool = False) -> list[Update]:
    """Every update the plan makes, with the whole new text of each file it touches."""
    if group:
        return _grouped(plan.edits, root, prefix)
    out: list[Update] = []
    for edit in plan.edits:
        file = repo_path(edit.path, root)
        slots: dict[str, list[Bump]] = {}
        for bump in sorted(edit.bumps, key=lambda b: b.use.line):
            slots.setdefault(bump.use.ref.name, []).append(bump)
        for bumps in slots.values():
            edits = [e for b in bumps for e in edits_of(b)]
            text = rewrite.apply(edit.before, edits)
            entries = [entry_of(b, file) for b in bumps]
            out.append(make_update(branch_for(prefix, entries[0]), entries, [FileChange(file, text)]))
    return out


def _grouped(edits: Sequence[FileEdit], root: Path, prefix: str) -> list[Update]:
    entries: list[Entry] = []
    files: list[FileChange] = []
    for edit in edits:
        file = repo_path(edit.path, root)
        files.append(FileChange(file, edit.after))
        entries.extend(entry_of(b, file) for b in sorted(edit.bumps, key=lambda b: b.use.line))
    return [make_update(group_branch(prefix), entries, files)] if entries else []
