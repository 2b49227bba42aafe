"""Byte-exact edits: map a FROM reference onto the file text it is built from, and change only that.

A reference is assembled from segments: literal text of the FROM token, and the defaults of the global
ARGs it names (or the `${X:-word}` fallback written in the token). To write a new reference we find the
smallest changed region (widened to whole alphanumeric runs, so `1.9` → `1.10` edits the number, not
one digit) and edit the one segment that holds it: the FROM token or the ARG default. Every other byte
(case, spacing, comments, flags, aliases, quotes, line endings) stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gate.dockerfile import ArgDecl, Dockerfile, FromLine
from remediate.model import Segment

VAR = re.compile(
    r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+])?(?P<word>[^}$]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class RewriteError(ValueError):
    """The new reference cannot be written without touching more than its own text."""


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace `text[start:end]` with `new`."""

    start: int
    end: int
    new: str
    source: str
    """Where the edit lands: `from` or `arg NAME`."""
    line: int


def segments(df: Dockerfile, from_: FromLine) -> tuple[Segment, ...] | None:
    """How `from_.resolved` is built from the file; None when the token cannot be mapped char for char
    (quotes, escapes or a line continuation inside it)."""
    token = from_.image
    span = from_.image_span
    if span.end - span.start != len(token) or any(c in token for c in "\"'\\`"):
        return None
    decls = _global_decls(df.global_args)
    out: list[Segment] = []
    pos = 0
    for m in VAR.finditer(token):
        if m.start() > pos:
            out.append(Segment(token[pos : m.start()], span.start + pos, "from", from_.line))
        out.append(_var_segment(df, m, decls, span.start, from_.line))
        pos = m.end()
    if pos < len(token):
        out.append(Segment(token[pos:], span.start + pos, "from", from_.line))
    return tuple(out) if "".join(s.text for s in out) == from_.resolved else None


def _global_decls(args: Iterable[ArgDecl]) -> dict[str, ArgDecl]:
    """The declaration whose default a FROM line sees for each global ARG (a bare redeclaration keeps
    the earlier default, as BuildKit does)."""
    found: dict[str, ArgDecl] = {}
    for a in args:
        if a.default is not None or a.name not in found:
            found[a.name] = a
    return found


def _var_segment(df: Dockerfile, m: re.Match[str], decls: dict[str, ArgDecl], base: int, line: int) -> Segment:
    name = m.group("braced") or m.group("bare")
    decl = decls.get(name)
    value = decl.default if decl is not None else None
    op = m.group("op")
    if op is None:
        return _arg_segment(df, decl, value or "", line)
    is_set = value is not None and (value != "" or ":" not in op)
    word_start = base + m.start("word")
    word = Segment(m.group("word"), word_start, "from", line)
    if op.endswith("-"):
        return _arg_segment(df, decl, value or "", line) if is_set else word
    return word if is_set else Segment("", None, "from", line)


def _arg_segment(df: Dockerfile, decl: ArgDecl | None, value: str, line: int) -> Segment:
    if decl is None or decl.default_span is None:
        return Segment(value, None, f"arg {decl.name if decl else '?'}", line)
    span = decl.default_span
    editable = df.text[span.start : span.end] == value and "$" not in value
    return Segment(value, span.start if editable else None, f"arg {decl.name}", decl.line)


def edits_for(segs: Sequence[Segment], old: str, new: str, token_end: int, line: int) -> tuple[TextEdit, ...]:
    """The file edits that turn the reference `old` (built from `segs`) into `new`: the tag and the
    digest are edited separately, each where its own text lives."""
    from remediate.imageref import locate

    a, b = locate(old), locate(new)
    if old[: a.name_end] != new[: b.name_end]:
        raise RewriteError("the image name would change; remediation only moves tags and digests")
    edits: list[TextEdit] = []
    old_tag = old[a.tag[0] : a.tag[1]] if a.tag else None
    new_tag = new[b.tag[0] : b.tag[1]] if b.tag else None
    if old_tag != new_tag:
        if a.tag is None or new_tag is None:
            raise RewriteError("adding or removing a tag is not supported")
        edits.extend(_replace_part(segs, old, a.tag, new_tag))
    old_digest = old[a.digest[0] :] if a.digest else None
    new_digest = new[b.digest[0] :] if b.digest else None
    if old_digest != new_digest:
        if a.digest is None:
            edits.append(_append(segs, "@" + (new_digest or ""), token_end, line))
        elif new_digest is None:
            edits.append(_within_one(segs, a.digest[0] - 1, len(old), ""))
        else:
            edits.extend(_replace_part(segs, old, a.digest, new_digest))
    return tuple(edits)


def _replace_part(segs: Sequence[Segment], old: str, span: tuple[int, int], new_part: str) -> list[TextEdit]:
    """Edit the smallest run of `old[span]` that differs from `new_part`, widened to whole alphanumeric
    runs; when that run crosses segments (`${MAJOR}.${MINOR}`), edit each ARG its share."""
    part = old[span[0] : span[1]]
    p = 0
    while p < min(len(part), len(new_part)) and part[p] == new_part[p]:
        p += 1
    s = 0
    while s < min(len(part), len(new_part)) - p and part[-1 - s] == new_part[-1 - s]:
        s += 1
    end_old, end_new = len(part) - s, len(new_part) - s
    while p > 0 and part[p - 1].isalnum():
        p -= 1
    while end_old < len(part) and part[end_old].isalnum():
        end_old += 1
        end_new += 1
    try:
        return [_within_one(segs, span[0] + p, span[0] + end_old, new_part[p:end_new])]
    except RewriteError:
        split = _per_segment(segs, span, new_part)
        if split is None:
            raise
        return split


def _per_segment(segs: Sequence[Segment], span: tuple[int, int], new_part: str) -> list[TextEdit] | None:
    """Match `new_part` against the part's pieces, the FROM line's text held fixed and each ARG's share
    free; None when it does not fit that shape (or two ARGs touch, which would make the split a guess)."""
    pieces: list[tuple[Segment, int, int]] = []
    offset = 0
    for seg in segs:
        lo, hi = max(span[0], offset), min(span[1], offset + len(seg.text))
        if lo < hi:
            pieces.append((seg, lo - offset, hi - offset))
        offset += len(seg.text)
    free = [seg.source != "from" for seg, _, _ in pieces]
    if any(a and b for a, b in zip(free, free[1:], strict=False)):
        return None
    pattern = "".join(
        "(.+?)" if f else f"({re.escape(seg.text[a:b])})" for (seg, a, b), f in zip(pieces, free, strict=True)
    )
    m = re.fullmatch(pattern, new_part)
    if m is None:
        return None
    edits = []
    for (seg, a, b), f, value in zip(pieces, free, m.groups(), strict=True):
        if f and value != seg.text[a:b]:
            if seg.start is None:
                raise RewriteError(f"the version is in {seg.source}, whose value cannot be edited in place")
            edits.append(TextEdit(seg.start + a, seg.start + b, value, seg.source, seg.line))
    return edits


def _append(segs: Sequence[Segment], extra: str, token_end: int, line: int) -> TextEdit:
    """Text added at the very end (a digest): inside the ARG when one ARG holds the whole reference."""
    last = segs[-1] if segs else None
    if last is not None and len(segs) == 1 and last.source != "from" and last.start is not None:
        end = last.start + len(last.text)
        return TextEdit(end, end, extra, last.source, last.line)
    return TextEdit(token_end, token_end, extra, "from", line)


def _within_one(segs: Sequence[Segment], start: int, end: int, replacement: str) -> TextEdit:
    offset = 0
    for seg in segs:
        seg_end = offset + len(seg.text)
        if offset <= start and end <= seg_end and (start < seg_end or not seg.text):
            if seg.start is None:
                raise RewriteError(f"the version is in {seg.source}, whose value cannot be edited in place")
            a, b = seg.start + start - offset, seg.start + end - offset
            return TextEdit(a, b, replacement, seg.source, seg.line)
        offset = seg_end
    sources = sorted({s.source for s in segs if s.text})
    raise RewriteError(f"the change spans several parts of the reference ({', '.join(sources)}); edit it by hand")


def apply(text: str, edits: Iterable[TextEdit]) -> str:
    """Apply non-overlapping edits; the same edit twice (one ARG feeding two FROMs) counts once."""
    unique = sorted(set(edits), key=lambda e: (e.start, e.end))
    for a, b in zip(unique, unique[1:], strict=False):
        if b.start < a.end or (a.start == b.start and a.end == b.end):
            raise RewriteError(f"conflicting edits at line {b.line} ({a.source} / {b.source})")
    out = []
    pos = 0
    for e in unique:
        out.append(text[pos : e.start])
        out.append(e.new)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)
