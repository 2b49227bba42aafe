"""`not`, respelled so regorus answers it as OPA does.

OPA's compiler moves the terms of a negated call out of the `not`: `not startswith(input.x, "a")` is
`__local0__ = input.x; not startswith(__local0__, "a")`, so an undefined `input.x` fails the body where regorus
found the `not` true (a rule firing on every manifest without the field). `guards` names those terms, and the
rewrite puts `_ = term;` before the `not`, on the same line.

Inside `every`, a second difference: regorus 0.9 gets `every n in names { not input.x[n] }` wrong. When the
reference indexed by the loop variable is undefined (the key is missing), the whole `every` fails instead of
that `not` holding, so the rule OPA fires does not fire (`every name in ["cpu", "memory"] { not
c.resources.limits[name] }` on a container without limits). `count([1 | e]) == 0` means what `not e` means, for
any expression `e` (no solution, or only `false`), and regorus evaluates it right, so every statement `not e` of
an `every` body whose `e` is references and comparisons is written that way, on the same line (a `not` over a
call has its guards instead).
"""

from __future__ import annotations

import re
from collections.abc import Callable

_HEAD = re.compile(r"every[ \t]+[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)?[ \t]+in[ \t]")
_NOT = re.compile(r"([ \t]*)not[ \t]+(?=\S)")


def every_body(text: str, at: int) -> tuple[int, int] | None:
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
            close = matching_bracket(text, i)
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
    return "".join(_statement(piece) + end for piece, end in _split_top(text, _STATEMENT_END))


_STATEMENT_END = re.compile(r"[\n;]")


def _statement(statement: str) -> str:
    m = _NOT.match(statement)
    if m is None:
        return statement
    expression, trail = _split_comment(statement[m.end() :])
    # Only references and comparisons of them: a `not` over a call has its guards (see `guards`) instead.
    if _has_call(expression):
        return statement
    return f"{m[1]}count([1 | {expression}]) == 0{trail}"


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


def matching_bracket(text: str, at: int) -> int | None:
    """Where the bracket matching the one at `at` is (strings and comments skipped)."""
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


# --- what OPA evaluates before a `not` -----------------------------------------------------------------------

_NOT_KEYWORD = re.compile(r"not[ \t]+")
_COMPARISON = re.compile(r"==|!=|<=|>=|:=|[<>=]|(?<=[ \t])in(?=[ \t])")
_WILDCARD = re.compile(r"(?<![\w.])_(?![\w])")
_AFTER_IF = re.compile(r"(?:^|[ \t)])if[ \t]*$")
_ELSE = re.compile(r"[ \t]else\b")


def negated(text: str, at: int) -> tuple[str, str, int]:
    """For the `not` keyword at `at`: (its expression's code, what follows the code up to the statement's end,
    the statement's end)."""
    start = _NOT_KEYWORD.match(text, at)
    assert start is not None
    i, depth = start.end(), 0
    while i < len(text):
        c = text[i]
        if c in '"`':
            i = _skip(text, i)
            continue
        if depth == 0 and (c in "#\n;|)]}" or _ELSE.match(text, i)):
            break
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        i += 1
    expression = text[start.end() : i]
    code = expression.rstrip()
    return code, expression[len(code) :], i


def guards(code: str) -> list[str]:
    """The terms of `not code` OPA evaluates before the `not` (its compiler moves them out), each as it must be
    defined for the body to go on: the arguments of a call, the operands of a comparison other than `==` (of `==`,
    only operands that are calls themselves). Literals are left out, and any term with `_` (OPA refuses those)."""
    return [code[start:end] for start, end in guard_spans(code)]


def guard_spans(code: str) -> list[tuple[int, int]]:
    """Where in `code` each of `guards`' terms is (without the spaces around it), in order."""
    parts = _split_top(code, _COMPARISON)
    if len(parts) > 1:
        operators = {op for _, op in parts if op}
        equality = operators <= {"==", "="}
        if ":=" in operators:
            return []
        spans = _spans(parts, 0)
        if not equality:
            return [span for span, (term, _) in zip(spans, parts, strict=True) if _needs_guard(term)]
        return [
            (span[0], span[0] + len(_called(term).strip()))
            for span, (term, _) in zip(spans, parts, strict=True)
            if _needs_guard(term) and _has_call(term)
        ]
    call = _CALL_START.match(code)
    if call is None or matching_bracket(code, call.end() - 1) != len(code) - 1:
        return []
    arguments = _split_top(code[call.end() : -1], re.compile(","))
    return [
        span for span, (term, _) in zip(_spans(arguments, call.end()), arguments, strict=True) if _needs_guard(term)
    ]


def bind(code: str, spans: list[tuple[int, int]], names: Callable[[], str]) -> tuple[list[tuple[str, str]], str]:
    """OPA's own rewrite of a `not`: each guarded term (`guard_spans`) bound to a new local before it, and `code`
    with the local in the term's place, so the term is evaluated once (`_ = f(x); not f(x) in s` evaluated
    `f(x)` twice). Returns the (local, term) pairs and the new code."""
    pairs: list[tuple[str, str]] = []
    out: list[str] = []
    at = 0
    for start, end in spans:
        name = names()
        pairs.append((name, code[start:end]))
        out += [code[at:start], name]
        at = end
    out.append(code[at:])
    return pairs, "".join(out)


def modified(code: str) -> bool:
    """Whether `code` carries a `with` modifier: a term moved out of it would be evaluated without the modifier."""
    return _WITH.search(_without_strings(code)) is not None


_WITH = re.compile(r"(?<![\w.])with(?![\w])")


def _spans(parts: list[tuple[str, str]], offset: int) -> list[tuple[int, int]]:
    """Each piece's place once the spaces around it are left out, `_split_top`'s pieces being contiguous."""
    spans = []
    at = offset
    for term, separator in parts:
        lead = len(term) - len(term.lstrip())
        spans.append((at + lead, at + len(term.rstrip())))
        at += len(term) + len(separator)
    return spans


def after_if(text: str, at: int) -> bool:
    """Whether the `not` at `at` is a rule's whole one-line body (`r if not f(x)`), which takes no `;`."""
    line_start = text.rfind("\n", 0, at) + 1
    return _AFTER_IF.search(text[line_start:at]) is not None


def _needs_guard(term: str) -> bool:
    code = _without_strings(term.strip())
    # A bare name is a bound local or a rule: guarding it adds nothing, and regorus, reading `_ = x` as a place
    # that may bind `x`, schedules it before `x := f(...)` and refuses the rule.
    if _BARE_NAME.fullmatch(code):
        return False
    # A comprehension is always defined (empty at worst): OPA moves it out too, but guarding it here only made
    # regorus evaluate it twice.
    if _is_comprehension(code):
        return False
    # A literal (`[false]`, `{"a": 1}`, `3`) is always defined; `_` inside is refused by OPA.
    names = set(re.findall(r"(?<![\w.])[A-Za-z_]\w*", code)) - {"true", "false", "null"}
    return bool(names) and not _WILDCARD.search(code)


_BARE_NAME = re.compile(r"[A-Za-z_]\w*")
_BAR = re.compile(r"\|")


def _is_comprehension(code: str) -> bool:
    """`[x | ...]`, `{x | ...}` or `{k: v | ...}` as a whole term (not indexed, not a set union of several)."""
    if not code or code[0] not in "[{" or matching_bracket(code, 0) != len(code) - 1:
        return False
    return len(_split_top(code[1:-1], _BAR)) > 1


_ACCESS = re.compile(r'(?:\.[A-Za-z_]\w*|\[(?:[^\[\]"]|"(?:\\.|[^"\\])*")*\])+')


def _called(term: str) -> str:
    """Of an operand of `==`, what OPA moves out of the `not`: a call, without what indexes its value
    (`split(x, "/")[4]`: the call is moved out, the index stays in the `not`, and may be undefined there)."""
    text = term.strip()
    call = _CALL_START.match(text)
    close = matching_bracket(text, call.end() - 1) if call else None
    if close is None or close == len(text) - 1 or not _ACCESS.fullmatch(text, close + 1):
        return term
    return text[: close + 1]


def _has_call(term: str) -> bool:
    return _CALL.search(_without_strings(term)) is not None


_CALL = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")
_CALL_START = re.compile(r"[A-Za-z_][\w.]*\(")


def _without_strings(text: str) -> str:
    return re.sub(r'"(?:\\.|[^"\\])*"|`[^`]*`', '""', text)


def _split_top(code: str, separator: re.Pattern[str]) -> list[tuple[str, str]]:
    """`code` cut at `separator` outside brackets, strings and comments: (piece, the separator after it, "" for
    the last)."""
    pieces: list[tuple[str, str]] = []
    start = i = depth = 0
    while i < len(code):
        c = code[i]
        if c in '"`#':
            i = _skip(code, i)
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            m = separator.match(code, i)
            if m is not None:
                pieces.append((code[start:i], m[0]))
                start = i = m.end()
                continue
        i += 1
    pieces.append((code[start:], ""))
    return pieces
