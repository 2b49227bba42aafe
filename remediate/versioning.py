"""The docker tag scheme, as Renovate's `docker` versioning reads it, plus date tags and version ranges.

A tag is a numeric release (`3.12.1`, optional leading `v`, optional `_N` build number, optional
pre-release word such as `rc1`) and a compatibility suffix: everything after the first `-`
(`3.12.1-slim-bookworm` is 3.12.1 + `slim-bookworm`). Two tags are comparable only when they share the
`v`, the suffix and the number of release parts. Tags that are 8-digit dates (`20240606`,
`jammy-20240808`) are a class of their own and only ever move to a newer date of the same shape.
Everything else (`latest`, `edge`, `lts-alpine`, commit-hash-like tags) is not a version.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from remediate.model import Candidate

LEVELS: dict[str, int] = {"patch": 0, "minor": 1, "major": 2}
_HASH = re.compile(r"^[a-f0-9]{7,40}$")
_RELEASE = re.compile(r"^(?P<rel>\d+(?:\.\d+)*)(?:_(?P<build>\d+))?(?P<pre>[A-Za-z_]\w*)?$")
_DATE = re.compile(r"^(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])$")
_PREFIXED_DATE = re.compile(r"^(?P<prefix>[a-z][a-z0-9.]*)-(?P<date>\d{8})(?:-(?P<suffix>.+))?$")
_PRE_SUFFIX = re.compile(r"^(?:alpha|beta|rc|preview)[.]?\d*$", re.IGNORECASE)
"""A suffix piece that marks a pre-release (`1.9.0-rc.0`, `3.13.0-beta2-slim`) rather than a variant."""
_BOUND = re.compile(r"^\s*(?P<op>>=|<=|==|!=|>|<)\s*v?(?P<ver>\d+(?:\.\d+)*)\s*$")


@dataclass(frozen=True, slots=True)
class TagVersion:
    """A tag read as a version."""

    tag: str
    release: tuple[int, ...]
    suffix: str = ""
    pre: str = ""
    """Pre-release word right after the numbers (`rc1` in `3.13.0rc1`); empty for a stable release."""
    v: bool = False
    date: bool = False
    prefix: str = ""
    """For date tags, the word before the date (`jammy` in `jammy-20240808`)."""

    @property
    def stable(self) -> bool:
        """False for pre-releases."""
        return not self.pre

    def compatible(self, other: TagVersion) -> bool:
        """Same scheme, suffix and precision: the only tags this one may move to."""
        return (
            self.date == other.date
            and self.prefix == other.prefix
            and self.v == other.v
            and self.suffix == other.suffix
            and len(self.release) == len(other.release)
        )

    def sort_key(self) -> tuple[tuple[int, ...], int, tuple[tuple[int, str], ...]]:
        """Numeric release, then stable above pre-release, then the pre-release word in natural order."""
        return (self.release, 0 if self.pre else 1, _natural(self.pre))


def _natural(text: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (-1, p) for p in re.findall(r"\d+|\D+", text))


def parse_tag(tag: str) -> TagVersion | None:
    """Read a tag as a version; None for tags that are not versions (`latest`, `edge`, `0a1b2c3`)."""
    if _HASH.match(tag) and not tag.isdigit():
        return None
    dated = _PREFIXED_DATE.match(tag)
    if dated and _DATE.match(dated.group("date")):
        day = (int(dated.group("date")),)
        return TagVersion(tag, day, dated.group("suffix") or "", date=True, prefix=dated.group("prefix"))
    v = len(tag) > 1 and tag[0] == "v" and tag[1].isdigit()
    first, _, suffix = tag[1 if v else 0 :].partition("-")
    m = _RELEASE.match(first)
    if not m:
        return None
    release: tuple[int, ...] = tuple(int(p) for p in m.group("rel").split("."))
    if m.group("build") is not None:
        release += (int(m.group("build")),)
    date = len(release) == 1 and bool(_DATE.match(m.group("rel"))) and not m.group("build")
    pre = m.group("pre") or ""
    head, _, rest = suffix.partition("-")
    if not pre and _PRE_SUFFIX.match(head):
        pre, suffix = f"-{head}", rest
    return TagVersion(tag, release, suffix, pre, v=v, date=date)


def jump(current: TagVersion, candidate: TagVersion) -> str:
    """How far a move goes: `major` if the first number changes, `minor` the second, else `patch`.
    A newer date of a dated tag is a rebuild of the same line: `patch`."""
    if current.date:
        return "patch"
    if candidate.release[0] != current.release[0]:
        return "major"
    if len(current.release) > 1 and candidate.release[1] != current.release[1]:
        return "minor"
    return "patch"


@dataclass(frozen=True, slots=True)
class Range:
    """Allowed versions for an image, e.g. `>=3.11,<3.13` (missing parts compare as 0)."""

    bounds: tuple[tuple[str, tuple[int, ...]], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        """Parse comma-separated comparisons; raises ValueError naming the bad part."""
        bounds = []
        for part in text.split(","):
            m = _BOUND.match(part)
            if not m:
                raise ValueError(f"not a version bound: {part.strip()!r} (use e.g. '>=3.11,<3.13')")
            bounds.append((m.group("op"), tuple(int(p) for p in m.group("ver").split("."))))
        return cls(tuple(bounds))

    def contains(self, release: Sequence[int]) -> bool:
        """True when the release satisfies every bound."""
        return all(_compare(op, tuple(release), bound) for op, bound in self.bounds)


def _compare(op: str, release: tuple[int, ...], bound: tuple[int, ...]) -> bool:
    width = max(len(release), len(bound))
    a = release + (0,) * (width - len(release))
    b = bound + (0,) * (width - len(bound))
    return {
        ">=": a >= b,
        "<=": a <= b,
        ">": a > b,
        "<": a < b,
        "==": a == b,
        "!=": a != b,
    }[op]


@dataclass(frozen=True, slots=True)
class Rules:
    """What a user allows for one image: how far to move, which versions never, which range only."""

    update: str = "minor"
    ignore_versions: tuple[str, ...] = ()
    """Tag globs never proposed (`3.13.*`, `1.27.1-alpine`)."""
    allowed: Range | None = None


def candidates(current: TagVersion, tags: Iterable[str], rules: Rules) -> list[Candidate]:
    """Tags newer than `current` that it may move to under `rules`, best (newest) first.

    A pre-release is offered only when the current tag is itself a pre-release of the same release
    (`3.13.0rc1` may go to `3.13.0rc2` or to `3.13.0`); a stable tag never moves to one.
    """
    limit = LEVELS[rules.update]
    found: list[tuple[TagVersion, str]] = []
    for tag in tags:
        cand = parse_tag(tag)
        if cand is None or not current.compatible(cand) or cand.sort_key() <= current.sort_key():
            continue
        if cand.pre and (current.stable or cand.release != current.release):
            continue
        level = jump(current, cand)
        if LEVELS[level] > limit or _ignored(tag, rules.ignore_versions):
            continue
        if rules.allowed is not None and not current.date and not rules.allowed.contains(cand.release):
            continue
        found.append((cand, level))
    found.sort(key=lambda pair: pair[0].sort_key(), reverse=True)
    return [Candidate(tag=c.tag, level=level) for c, level in found]


def _ignored(tag: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(tag, p) for p in patterns)
