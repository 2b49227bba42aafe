"""Finds Dockerfiles under the given paths (the one filesystem walk) and lists their external base images."""

from __future__ import annotations

import fnmatch
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from gate import walk
from gate.dockerfile import Dockerfile
from remediate.imageref import InvalidReference, parse
from remediate.model import BaseImageUse, SkippedImage
from remediate.rewrite import VAR, segments


def is_dockerfile(name: str) -> bool:
    """The gate's one rule (`gate.walk.is_dockerfile`): the gate and the fixer see the same Dockerfiles."""
    return walk.is_dockerfile(name)


def find(paths: Sequence[Path], *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> list[Path]:
    """Dockerfiles under `paths`: a file named directly is always taken; folders are walked, skipping
    `gate.walk.SKIP_DIRS`, git-ignored files (when git is at hand) and `exclude` globs; `include` globs, when given,
    add files whose names the default pattern misses and restrict the walk to matching paths."""
    found: dict[Path, None] = {}
    for root in paths:
        if root.exists() and not root.is_dir():
            walk.regular_file(root)  # named by the user: a FIFO or a device is an error, never opened
            found[root] = None
            continue
        walked = list(_walk(root, include, exclude))
        for path in _drop_ignored(root, walked):
            found[path] = None
    return list(found)


def _walk(root: Path, include: Sequence[str], exclude: Sequence[str]) -> Iterable[Path]:
    """The gate's walk (`gate.walk`: regular files only, no links out of the root, unreadable folders an error),
    with the `include`/`exclude` globs of the config."""

    def keep(path: Path) -> bool:
        rel = _rel(path, root)
        if _matches(rel, exclude) or (include and not _matches(rel, include)):
            return False
        return bool(include) or is_dockerfile(path.name)

    return walk.walk(root, skip_dir=lambda d: _matches(_rel(d, root), exclude), keep=keep).files


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _matches(rel: str, globs: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(rel.rsplit("/", 1)[-1], g) for g in globs)


def _drop_ignored(root: Path, files: list[Path]) -> list[Path]:
    """Leave out files git ignores (one `git check-ignore` call); without git, keep everything."""
    if not files:
        return files
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "--stdin", "-z"],
            input=b"\0".join(str(f.resolve()).encode() for f in files),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return files
    if proc.returncode not in (0, 1):  # 128: not a git work tree
        return files
    ignored = {Path(p.decode()) for p in proc.stdout.split(b"\0") if p}
    return [f for f in files if f.resolve() not in ignored]


def display_path(path: Path) -> str:
    """The path as shown in the plan: relative to the working directory when under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def base_images(df: Dockerfile) -> tuple[list[BaseImageUse], list[SkippedImage]]:
    """Every FROM that pulls an image; `scratch` and `FROM <stage>` are not images and are left out."""
    final = df.final_stage()
    final_chain = {s.index for s in df.parent_chain(final)} if final else set()
    uses: list[BaseImageUse] = []
    skipped: list[SkippedImage] = []
    with_default = {a.name for a in df.global_args if a.default is not None}
    for stage in df.stages:
        f = stage.from_
        if not f.is_external:
            continue
        if f.ignored:
            skipped.append(SkippedImage(df.path, f.line, f.resolved, "marked `# container-gate: ignore`"))
            continue
        missing_args = _missing_args(f.image, with_default)
        if missing_args:
            missing = ", ".join(missing_args)
            reason = f"image depends on {missing} with no default before the first FROM"
            skipped.append(SkippedImage(df.path, f.line, f.image, reason))
            continue
        try:
            ref = parse(f.resolved)
        except InvalidReference as exc:
            skipped.append(SkippedImage(df.path, f.line, f.resolved, f"not an image reference: {exc}"))
            continue
        uses.append(
            BaseImageUse(
                file=df.path,
                line=f.line,
                stage=stage.index,
                stage_name=stage.name,
                written=f.image,
                resolved=f.resolved,
                ref=ref,
                segments=segments(df, f) or (),
                token_end=f.image_span.end,
                platform=f.platform,
                final=stage.index in final_chain,
            )
        )
    return uses, skipped


def _missing_args(token: str, with_default: set[str]) -> list[str]:
    """ARGs the token needs but nothing before the first FROM gives a value (a `${X:-word}` fallback counts)."""
    missing = []
    for m in VAR.finditer(token):
        name = m.group("braced") or m.group("bare")
        if name not in with_default and not (m.group("op") or "").endswith("-"):
            missing.append(name)
    return missing
