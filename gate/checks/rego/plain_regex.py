"""Regular expressions that string built-ins answer exactly, for `regex.match` with a literal pattern.

regorus compiles the pattern of every `regex.match` call anew (20 µs for `^[a-z0-9-]+$`, 170 µs for
`:latest$|^[^:]+$`), where OPA keeps compiled patterns: on policies that test every image and name with a regex,
that was a quarter of the evaluation time. Most patterns policies write are a literal or one character class
anchored at one end or both, and those are decided exactly by `startswith`, `endswith`, `contains`, `substring`
and `trim`, which cost nothing to set up. `conditions` reads a pattern in RE2's syntax (Go's `regexp`, the
engine OPA and so Conftest use) and gives, for each alternative, the Rego expressions over `x` that hold exactly
when that alternative matches a string `x`; anything outside the subset it reads gives None and the call keeps
the built-in. The subset, with RE2's meaning:

- literal characters and `\\` before punctuation; `.` (any character but a newline);
- classes `[a-z0-9_.-]`, `[^:/]`, `\\d` `\\w` `\\s` (ASCII, as RE2 defines them: `\\s` is `[\\t\\n\\f\\r ]`) and
  their negations `\\D` `\\W` `\\S`, each alone or repeated with `*` or `+`;
- `^` at the start and `$` at the end of an alternative (RE2's `$` is the end of the text, not a line), `|`;
- groups `(a|b)` and `(?:a|b)` without a repeat, read as the alternatives they expand to (`^(a|b)$` is
  `^a$|^b$`), up to 32 of them.

An alternative anchored at both ends may hold one repeated class anywhere among its fixed-width parts, since
every part's position is then known from the ends; one anchored at one end may hold only fixed-width parts (a
repeated class at its open end matches as its first character or as nothing); an unanchored one only a literal,
or a single class. Repeated groups, `?`, counted repeats, flags, non-ASCII and the rest are not read. The rewrite
is checked against `opa eval` and regorus's own `regex.match` in tests/unit/rego/test_plain_regex.py.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass

_ANY = frozenset(chr(c) for c in range(32, 127))
"""Printable ASCII: the characters a literal or a class may name here (and the universe `.` is taken from is
not this: `.` is the negated class of a newline)."""
_PUNCT = frozenset(string.punctuation)
_DIGIT = frozenset(string.digits)
_WORD = frozenset(string.ascii_letters + string.digits + "_")
_SPACE = frozenset("\t\n\f\r ")
_PERL = {"d": (_DIGIT, False), "w": (_WORD, False), "s": (_SPACE, False)}
_PERL |= {k.upper(): (chars, True) for k, (chars, _) in _PERL.items()}
_NEGATED_MAX = 16
"""A negated class is tested one `contains` per character: larger ones are left to the built-in."""
_EXPANDED_MAX = 32
"""Alternatives a pattern's groups may expand to before it is left to the built-in."""
_ANY_OF_MAX = 8
"""An unanchored class is one alternative per character (`\\s` is five): larger ones are left to the built-in."""


@dataclass(frozen=True)
class _Class:
    chars: frozenset[str]
    negated: bool
    repeat: str = ""
    """"" (exactly one character), "*" or "+"."""


_Item = str | _Class
"""A literal run of characters, or a class."""


class _Unread(Exception):
    """The pattern is outside the subset: the call keeps the built-in."""


def conditions(pattern: str) -> list[list[str]] | None:
    """Lists of Rego expressions over the string `x`, such that `pattern` matches `x` exactly when all of some
    list's hold (an empty list: it matches every string); None when the pattern is outside the subset read."""
    try:
        return [tests for alternative in _alternatives(pattern) for tests in _branch(*_parse(alternative))]
    except _Unread:
        return None


def _alternatives(pattern: str) -> list[str]:
    """`pattern` as alternatives without groups: matching distributes over alternation, so `^(a|b)-x$` is
    `^a-x$|^b-x$` (a group with a repeat after it, a flag or a name is not read)."""
    out: list[str] = []
    for branch in _split(pattern):
        made = [""]
        for piece, group in _pieces(branch):
            options = _alternatives(piece) if group else [piece]
            made = [m + o for m in made for o in options]
            if len(made) > _EXPANDED_MAX:
                raise _Unread
        out += made
    if len(out) > _EXPANDED_MAX:
        raise _Unread
    return out


def _split(pattern: str) -> list[str]:
    """`pattern` split at its `|` outside groups and classes."""
    parts, start, depth = [], 0, 0
    for at, c in _scan(pattern):
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:at])
            start = at + 1
    parts.append(pattern[start:])
    return parts


def _pieces(branch: str) -> list[tuple[str, bool]]:
    """`branch` as text outside groups and the insides of its top-level groups, in order: (text, is a group)."""
    pieces: list[tuple[str, bool]] = []
    start, depth, opened = 0, 0, 0
    for at, c in _scan(branch):
        if c == "(":
            if depth == 0:
                pieces.append((branch[start:at], False))
                inner = at + 1
                if branch.startswith("?", inner):
                    if not branch.startswith("?:", inner):
                        raise _Unread  # (flags, names)
                    inner += 2
                opened = inner
            depth += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                raise _Unread
            if depth == 0:
                if branch[at + 1 : at + 2] in ("*", "+", "?", "{"):
                    raise _Unread
                pieces.append((branch[opened:at], True))
                start = at + 1
    if depth:
        raise _Unread
    pieces.append((branch[start:], False))
    return pieces


def _scan(pattern: str) -> list[tuple[int, str]]:
    """The characters of `pattern` that can be `(`, `)` or `|` with their meaning: not escaped, not in a class."""
    found: list[tuple[int, str]] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 2 if pattern.startswith("^", i + 1) else 1
            continue
        elif c in "()|":
            found.append((i, c))
        i += 1
    return found


def _parse(text: str) -> tuple[bool, list[_Item], bool]:
    """(anchored at the start, items, anchored at the end) of one alternative."""
    start = text.startswith("^")
    end = text.endswith("$") and not _escaped(text, len(text) - 1)
    body = text[1 if start else 0 : len(text) - 1 if end else len(text)]
    items: list[_Item] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "\\":
            if i + 1 >= len(body):
                raise _Unread
            e = body[i + 1]
            i += 2
            if e in _PUNCT:
                _literal(items, e)
            elif e in _PERL:
                chars, negated = _PERL[e]
                items.append(_Class(chars, negated))
            else:
                raise _Unread  # (\b, \A, \z, \pL, \x41, \n and the like)
        elif c == "[":
            cls, i = _class(body, i + 1)
            items.append(cls)
        elif c == ".":
            items.append(_Class(frozenset("\n"), True))
            i += 1
        elif c in "*+":
            last = items.pop() if items else None
            if isinstance(last, str):
                # The repeat binds the literal's last character: `ab+` is `a` then `[b]+`.
                if last[:-1]:
                    items.append(last[:-1])
                last = _Class(frozenset(last[-1]), False)
            if last is None or last.repeat:
                raise _Unread  # (`x**`, a leading `*`)
            items.append(_Class(last.chars, last.negated, c))
            i += 1
        elif c in "()?{}^$|]" or c not in _ANY:
            raise _Unread
        else:
            _literal(items, c)
            i += 1
    return start, items, end


def _escaped(text: str, at: int) -> bool:
    slashes = len(text[:at]) - len(text[:at].rstrip("\\"))
    return slashes % 2 == 1


def _literal(items: list[_Item], c: str) -> None:
    if items and isinstance(items[-1], str):
        items[-1] += c
    else:
        items.append(c)


def _class(body: str, i: int) -> tuple[_Class, int]:
    """The class whose text starts at `i` (after its `[`), and where the text after it starts."""
    negated = body.startswith("^", i)
    i += negated
    chars: set[str] = set()
    first = True
    while True:
        if i >= len(body):
            raise _Unread
        c = body[i]
        if c == "]" and not first:
            i += 1
            break
        first = False
        if c == "[" or c not in _ANY or c == "]":
            raise _Unread  # (`[[:alpha:]]`, `[]a]`, non-ASCII)
        if c == "\\":
            e = body[i + 1 : i + 2]
            if e in _PUNCT:
                c = e
                i += 1
            elif e in ("d", "w", "s"):
                chars |= _PERL[e][0]
                i += 2
                continue
            else:
                raise _Unread
        if body.startswith("-", i + 1) and i + 2 < len(body) and body[i + 2] != "]":
            hi = body[i + 2]
            if hi in "\\[" or hi not in _ANY or hi < c:
                raise _Unread
            chars |= {chr(o) for o in range(ord(c), ord(hi) + 1)}
            i += 3
        else:
            chars.add(c)
            i += 1
    if not chars:
        raise _Unread
    return _Class(frozenset(chars), negated), i


def _branch(start: bool, items: list[_Item], end: bool) -> list[list[str]]:
    """The lists of tests (any one enough) of one alternative."""
    if not end:
        items = _open_end(items, reverse=False)
    if not start:
        items = _open_end(items, reverse=True)
    repeated = [n for n, item in enumerate(items) if isinstance(item, _Class) and item.repeat]
    if start and end:
        if len(repeated) > 1:
            raise _Unread
        if not repeated:
            return [[f"count(x) == {_width(items)}", *_fixed(items, 0)]]
        at = repeated[0]
        head, middle, tail = items[:at], items[at], items[at + 1 :]
        assert isinstance(middle, _Class)
        a, b = _width(head), _width(tail)
        whole = f"count(x) >= {a + b + (middle.repeat == '+')}"
        rest = f"substring(x, {a}, count(x) - {a + b})" if a or b else "x"
        return [[whole, *_fixed(head, 0), *_fixed(tail, -b), *_all_in(middle, rest)]]
    if repeated:
        raise _Unread
    if not items:
        return [[]]
    if (start or end) and len(items) == 1 and isinstance(items[0], str):
        return [[f"{'startswith' if start else 'endswith'}(x, {_text(items[0])})"]]
    if start:
        return [[f"count(x) >= {_width(items)}", *_fixed(items, 0)]]
    if end:
        return [[f"count(x) >= {_width(items)}", *_fixed(items, -_width(items))]]
    if len(items) == 1 and isinstance(items[0], str):
        return [[f"contains(x, {_text(items[0])})"]]
    if len(items) == 1 and isinstance(items[0], _Class):
        chars = "".join(sorted(items[0].chars))
        if items[0].negated:
            return [[f'trim(x, {_text(chars)}) != ""']]
        if len(chars) <= _ANY_OF_MAX:
            return [[f"contains(x, {_text(c)})"] for c in chars]
    raise _Unread


def _open_end(items: list[_Item], *, reverse: bool) -> list[_Item]:
    """Items with the repeated classes at an unanchored end read as what they add to a match there: nothing for
    `C*`, one character of C for `C+` (a longer run matches whenever its first character does)."""
    seq = list(reversed(items)) if reverse else list(items)
    while seq and isinstance(seq[-1], _Class) and seq[-1].repeat == "*":
        seq.pop()
    if seq and isinstance(seq[-1], _Class) and seq[-1].repeat == "+":
        last = seq[-1]
        seq[-1] = _Class(last.chars, last.negated)
    return list(reversed(seq)) if reverse else seq


def _width(items: list[_Item]) -> int:
    return sum(len(item) if isinstance(item, str) else 1 for item in items)


def _fixed(items: list[_Item], offset: int) -> list[str]:
    """Tests of fixed-width items laid from `offset` (negative: that far before the end of `x`)."""
    tests: list[str] = []
    at = offset
    for item in items:
        width = len(item) if isinstance(item, str) else 1
        where = f"count(x) - {-at}" if at < 0 else str(at)
        if isinstance(item, str) and at == 0:
            tests.append(f"startswith(x, {_text(item)})")
        elif isinstance(item, str) and at + width == 0:
            tests.append(f"endswith(x, {_text(item)})")
        elif isinstance(item, str):
            tests.append(f"substring(x, {where}, {width}) == {_text(item)}")
        else:
            tests += _all_in(item, f"substring(x, {where}, 1)")
        at += width
    return tests


def _all_in(cls: _Class, text: str) -> list[str]:
    """Tests that every character of `text` is in `cls`."""
    chars = "".join(sorted(cls.chars))
    if not cls.negated:
        return [f'trim({text}, {_text(chars)}) == ""']
    if len(chars) > _NEGATED_MAX:
        raise _Unread
    return [f"not contains({text}, {_text(c)})" for c in chars]


def _text(value: str) -> str:
    """A Rego string literal: JSON's escapes are Rego's."""
    return json.dumps(value)
