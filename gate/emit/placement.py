"""Where a finding sits and in which order findings are shown, worked out once for every format.

SARIF, the summary, annotations, the GitLab reports and JUnit all read this module; no format imports another.
A repository file keeps its path and lines; a vulnerability inside an image sits on the final FROM line of the
Dockerfile that builds it when one is known (`gate.emit.base.ImageAnchor`), else on the image as a pseudo-path.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from gate import speed
from gate.emit.base import EmitContext, ImageAnchor
from gate.model import Decision, Finding, Kind, Verdict, image_key
from gate.speed import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Placed:
    """A decision with what every output needs about it, computed once (fingerprints hash each call)."""

    decision: Decision
    fingerprint: str
    uri: str
    """Repository-relative URI (or a relative pseudo-path for things outside the repository)."""
    start_line: int | None
    end_line: int | None
    anchored: bool
    """True when an image vulnerability was placed on its Dockerfile's FROM line."""

    @property
    def finding(self) -> Finding:
        """The finding decided on."""
        return self.decision.finding


@speed.memo(65_536)
def repo_relative(path: str, repo_root: str) -> str | None:
    """`path` relative to the repository root in POSIX form, or None when it is not inside it."""
    text = path.strip().replace("\\", "/")
    if not text or "://" in text or re.match(r"^[A-Za-z]:/", text):
        return None
    root = repo_root.replace("\\", "/").rstrip("/")
    if text.startswith("/"):
        if not root or not text.startswith(root + "/"):
            return None
        text = text[len(root) + 1 :]
    parts: list[str] = []
    for part in text.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(part)
    return "/".join(parts) or None


@speed.memo(65_536)
def pseudo_path(text: str) -> str:
    """A relative, URI-safe stand-in for something that is not a repository file (an image, a URL)."""
    cleaned = text.strip().replace("\\", "/")
    cleaned = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", cleaned)
    cleaned = re.sub(r"^[A-Za-z]:/", "", cleaned).lstrip("/")
    segments = [s for s in cleaned.split("/") if s not in ("", ".", "..")]
    return "/".join(quote(s, safe="@+~._-") for s in segments) or "unknown-target"


@speed.memo(65_536)
def cached_image_key(target: str) -> str:
    # Thousands of findings share a handful of targets; the regexes in image_key dominate otherwise.
    return image_key(target)


@speed.memo(65_536)
def _quoted(uri: str) -> str:
    return quote(uri, safe="/@+~._-")


def anchor_index(anchors: Iterable[ImageAnchor]) -> dict[str, ImageAnchor]:
    """Anchors by image key; when two Dockerfiles name one image, the first given wins."""
    index: dict[str, ImageAnchor] = {}
    for anchor in anchors:
        index.setdefault(image_key(anchor.image), anchor)
    return index


def place(decision: Decision, repo_root: str, anchors: dict[str, ImageAnchor]) -> Placed:
    """Where a decision is shown: image vulnerabilities on their Dockerfile's final FROM when one is
    known, else on the image as a pseudo-path; everything else on its repository file and lines."""
    f = decision.finding
    fp = f.fingerprint
    if in_image(f):
        return Placed(decision, fp, *_image_spot(f.target, repo_root, anchors))
    loc = f.location
    raw = loc.path if loc is not None else f.target
    rel = repo_relative(raw, repo_root)
    uri = _quoted(rel) if rel is not None else pseudo_path(raw)
    start = loc.start_line if loc is not None and loc.start_line and loc.start_line > 0 else None
    end = loc.end_line if loc is not None and loc.end_line and start and loc.end_line >= start else start
    return Placed(decision, fp, uri, start, end, False)


def in_image(finding: Finding) -> bool:
    """True for a vulnerability inside an image (not in a lock file of the repository).

    Readers set a filesystem scan's target to the lock file itself, and its location to the same path;
    an image finding targets the image and sits at a path inside it."""
    if finding.kind is not Kind.VULNERABILITY:
        return False
    return finding.location is None or finding.location.path != finding.target


def placed_decisions(verdict: Verdict, ctx: EmitContext) -> list[Placed]:
    """Every decision placed, most severe first (active before suppressed on ties)."""
    anchors = anchor_index(ctx.anchors)
    root = ctx.repo_root
    # Image vulnerabilities are placed by their target alone, and thousands share one: once per target.
    spots: dict[str, tuple[str, int | None, int | None, bool]] = {}
    placed: list[Placed] = []
    append = placed.append
    for d in verdict.decisions:
        f = d.finding
        loc = f.location
        target = f.target
        if f.kind is Kind.VULNERABILITY and (loc is None or loc.path != target):
            spot = spots.get(target)
            if spot is None:
                spot = spots[target] = _image_spot(target, root, anchors)
            append(Placed(d, f.fingerprint, spot[0], spot[1], spot[2], spot[3]))
        else:
            append(place(d, root, anchors))
    # One string per key sorts at a third less than the tuple (string compares skip the tuple machinery);
    # it orders exactly as `_order` unless an id holds a NUL, which then takes the tuple.
    placed.sort(key=_order if any("\x00" in p.decision.finding.id for p in placed) else _order_text)
    return placed


def _image_spot(
    target: str, repo_root: str, anchors: dict[str, ImageAnchor]
) -> tuple[str, int | None, int | None, bool]:
    """`place` for an image vulnerability: (uri, start line, end line, anchored)."""
    key = cached_image_key(target)
    anchor = anchors.get(key)
    if anchor is not None:
        uri = repo_relative(anchor.path, repo_root) or pseudo_path(anchor.path)
        return _quoted(uri), anchor.line, anchor.line, True
    return pseudo_path(key), None, None, False


def _order(p: Placed) -> tuple[int, int, int, str, str]:
    f = p.finding
    return (-int(f.severity), p.decision.suppression is not None, not p.decision.blocking, f.id, p.fingerprint)


def _order_text(p: Placed) -> str:
    d = p.decision
    f = d.finding
    waived = "0" if d.suppression is None else "1"
    return f"{4 - f.severity}{waived}{'0' if d.blocking else '1'}{f.id}\x00{p.fingerprint}"


@speed.memo(4096)
def image_name(target: str) -> str:
    """A scan target without Trivy's ` (os x.y)` suffix: the image as the user named it."""
    return re.sub(r"\s+\([^()]*\)$", "", target.strip()) or target


def fix_line(f: Finding) -> str:
    """`pkg installed → fixed` in words, for help and messages."""
    if not f.package:
        return ""
    fixed = f.fixed_version or "no fixed version yet"
    return f"{f.package} {f.installed_version or '?'} → {fixed}"


def ordered(decisions: Iterable[Decision], first: int | None = None) -> list[Decision]:
    """Most severe first, blocking before non-blocking; cheap keys (no fingerprint hashing).

    With `first`, only that many from the top (what `sorted(...)[:first]` gives, without sorting all)."""
    if first is not None:
        return heapq.nsmallest(first, decisions, key=_rank)
    return sorted(decisions, key=_rank)


def _rank(d: Decision) -> tuple[int, bool, str, str, str]:
    f = d.finding
    return (-int(f.severity), not d.blocking, f.id, f.package or "", f.target)
