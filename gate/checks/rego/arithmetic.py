"""Arithmetic that OPA makes undefined and regorus stops at, respelled for the lenient policies (`compat`).

`input.spec.replicas + 1` with `replicas: "3"`, or `used / total` with `total: 0`, is an error inside OPA's
evaluation, which outside strict mode (as Conftest runs it) leaves the expression undefined; regorus stops the
whole evaluation. For the lenient compile each `a + b`, `a - b`, `a * b`, `a / b` and `a % b` becomes a call of a
function that is undefined where OPA's operator errs. Where the operators are is read from regorus's own parse of
the module (its spans), not from the text, so strings, comments and precedence need no second parser here.
"""

from __future__ import annotations

from typing import Any

from gate.checks.rego.probe import module_ast

_OPS = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Mod": "mod"}
_NUMBERS = "is_number(a); is_number(b)"
_BODIES: dict[str, tuple[tuple[str, str], ...]] = {
    "add": (("a + b", _NUMBERS),),
    # (`-` is also the difference of two sets.)
    "sub": (("a - b", _NUMBERS), ("a - b", "is_set(a); is_set(b)")),
    "mul": (("a * b", _NUMBERS),),
    "div": (("a / b", f"{_NUMBERS}; b != 0"),),
    # OPA refuses a remainder of a number with a fraction, as well as one by zero.
    "mod": (("a % b", f"{_NUMBERS}; b != 0; round(a) == a; round(b) == b"),),
}


def guard(source: str, *, v0: bool) -> tuple[str, set[str]]:
    """`source` with every arithmetic operation a call of `cg_lenient_arith_<op>`, on the same lines, and the
    operations used; unchanged (and none) when regorus cannot parse it as it stands."""
    if not any(op in source for op in "+-*/%"):
        return source, set()
    tree = module_ast(source, v0=v0)
    if tree is None:
        return source, set()
    raw = source.encode()
    used: set[str] = set()
    found = _outermost(tree)
    if not found:
        return source, set()
    return _text(raw, 0, len(raw), found, used).decode(), used


def definitions(used: set[str], *, v0: bool) -> list[str]:
    """The functions `guard`'s calls need, in the module's own syntax."""
    out = []
    for op in sorted(used):
        assign, cond = ("=", "{{ {} }}") if v0 else (":=", "if {{ {} }}")
        cases = [f"{value} {cond.format(test)}" for value, test in _BODIES[op]]
        out.append(f"cg_lenient_arith_{op}(a, b) {assign} " + f" else {assign} ".join(cases))
    return out


def _outermost(node: Any) -> list[dict[str, Any]]:
    """The arithmetic nodes in `node` not inside another one, in source order."""
    found: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            arith = value.get("ArithExpr")
            if isinstance(arith, dict) and arith.get("op") in _OPS:
                found.append(arith)
                return
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(node)
    return sorted(found, key=lambda n: n["span"]["start"])


def _span(node: dict[str, Any]) -> tuple[int, int]:
    (inner,) = node.values()
    return inner["span"]["start"], inner["span"]["end"]


def _text(raw: bytes, start: int, end: int, inside: list[dict[str, Any]], used: set[str]) -> bytes:
    """`raw[start:end]` with each of the arithmetic nodes `inside` it respelled."""
    out, at = [], start
    for node in inside:
        span = node["span"]
        out += [raw[at : span["start"]], _call(raw, node, used)]
        at = span["end"]
    out.append(raw[at:end])
    return b"".join(out)


def _call(raw: bytes, node: dict[str, Any], used: set[str]) -> bytes:
    op = _OPS[node["op"]]
    used.add(op)
    (ls, le), (rs, re_) = _span(node["lhs"]), _span(node["rhs"])
    lhs = _text(raw, ls, le, _outermost(node["lhs"]), used)
    rhs = _text(raw, rs, re_, _outermost(node["rhs"]), used)
    span = node["span"]

    def lines(part: bytes) -> bytes:
        return b"\n" * part.count(b"\n")  # what the operator and parentheses spanned, so no line moves

    head, middle, tail = raw[span["start"] : ls], raw[le:rs], raw[re_ : span["end"]]
    return lines(head) + f"cg_lenient_arith_{op}(".encode() + lhs + b", " + lines(middle) + rhs + b")" + lines(tail)
