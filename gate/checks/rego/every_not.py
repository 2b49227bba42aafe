"""`not` inside `every`, respelled so regorus answers it as OPA does.

regorus 0.9 gets `every n in names { not input.x[n] }` wrong: when the reference indexed by the loop variable is
undefined (the key is missing), the whole `every` fails instead of that `not` holding, so the rule OPA fires does
not fire (`every name in ["cpu", "memory"] { not c.resources.limits[name] }` on a container without limits).
`count([1 | e]) == 0` means what `not e` means, for any expression `e` (no solution, or only `false`), and regorus
evaluates it right, so every statement `not e` of an `every` body whose `e` is references and comparisons is
written that way, on the same line. A `not` over a call is left as it is (OPA evaluates the call's arguments
before the `not`, regorus within it: `not startswith(input.x[n], "z")` on a missing key still differs), as are
other statements and `not` outside `every`.
"""

from __future__ import annotations

import re

_HEAD = re.compile(r"every[ \t]+[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)?[ \t]+in[ \t]")
_NOT = re.compile(r"([ \t]*)not[ \t]+(?=\S)")


def body(text: str, at: int) -> tuple[int, int] | None:
    """For the `every` keyword at `at`: where its body's `{` and its closing `}` are; None when this is not an
    `every` with a body (a rule named `every` in old Rego, text that does not close)."""
    head = _HEAD.match(text, at)
    if head is None:
        return None
    i, depth, domain = head.end(), 0, False
    while i < len(text):
        c = text[i]
        if c in '"`#':
            i = _skip(text, i)
            domain = True
            continue
        if c == "{" and depth == 0 and domain:
            close = _close(text, i)
            return None if close is None else (i, close)
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == "\n" and depth == 0:
            return None  # (the domain ends with its line)
        if not c.isspace():
            domain = True
        i += 1
    return None


def count_negations(text: str) -> str:
    """`text` (an `every` body) with each statement `not e` written `count([1 | e]) == 0`."""
    out: list[str] = []
    start = i = depth = 0
    while i <= len(text):
        c = text[i] if i < len(text) else "\n"
        if c in '"`#' and i < len(text):
            i = _skip(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c in "\n;" and depth == 0:
            out += [_statement(text[start:i]), text[i : i + 1]]
            start = i + 1
        i += 1
    return "".join(out)


def _statement(statement: str) -> str:
    m = _NOT.match(statement)
    if m is None:
        return statement
    expression, trail = _split_comment(statement[m.end() :])
    if _hoisted(expression):
        return statement
    return f"{m[1]}count([1 | {expression}]) == 0{trail}"


_CALL = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")


def _hoisted(expression: str) -> bool:
    """Whether `not e` holds a call: OPA evaluates a call's arguments that are references with variables before
    the `not` (`not startswith(input.x[n], "z")` fails when `input.x[n]` is undefined, where `not` of the whole
    would hold), so only references and comparisons of them are respelled."""
    code = re.sub(r'"(?:\\.|[^"\\])*"|`[^`]*`', '""', expression)
    return _CALL.search(code) is not None


def _split_comment(text: str) -> tuple[str, str]:
    """(`text` without its trailing comment and blanks, what they were)."""
    i = 0
    while i < len(text):
        if text[i] in '"`':
            i = _skip(text, i)
            continue
        if text[i] == "#":
            break
        i += 1
    code = text[:i].rstrip()
    return code, text[len(code) :]


def _skip(text: str, at: int) -> int:
    """Past the string literal or comment that starts at `at` (to the end of the text when it does not end)."""
    c = text[at]
    if c == "#":
        end = text.find("\n", at)
        return len(text) if end < 0 else end
    if c == "`":
        end = text.find("`", at + 1)
        return len(text) if end < 0 else end + 1
    i = at + 1
    while i < len(text) and text[i] not in '"\n':
        i += 2 if text[i] == "\\" else 1
    return i + 1


def _close(text: str, at: int) -> int | None:
    """Where the `}` matching the `{` at `at` is."""
    depth, i = 0, at
    while i < len(text):
        c = text[i]
        if c in '"`#':
            i = _skip(text, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None
