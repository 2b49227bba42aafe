"""What a Rego policy from a pull request is refused for before anything is evaluated.

- **Recursion.** Rego forbids it (OPA reports `rego_recursion_error` at compile time); regorus does not check and
  overflows its stack evaluating `f(x) := f(x)`, which kills the process (SIGSEGV, exit 139). The call graph is
  built from regorus's own AST (`get_ast_as_json`): an edge for each reference to a rule or function of the same
  package by name and each `data.<package>.<rule>` reference to any package, and a cycle is an error naming the
  file, line and the path of the cycle, as OPA words it.
- **Network and host builtins.** `http.send`, `net.lookup_ip_addr` and `opa.runtime` would let a policy in a pull
  request reach the network or read the runner's environment; regorus leaves some of them undefined, which would
  silently make a `deny` rule never fire. They are refused by name instead. Pure `net.cidr_*` helpers are fine.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gate.errors import PolicyError

REFUSED_BUILTINS = {
    "http.send": "it reaches the network",
    "net.lookup_ip_addr": "it reaches the network (DNS)",
    "opa.runtime": "it reads the runner's environment",
}


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    """`data.<package>.<rule>`."""
    file: str
    line: int
    refs: frozenset[str]


def check(ast_entries: list[dict[str, Any]]) -> None:
    """Raise `PolicyError` for a refused builtin or a recursive rule in the loaded modules."""
    rules: list[_Rule] = []
    for entry in ast_entries:
        ast = entry["ast"]
        file = entry["source"]["file"]
        package = "data." + _dotted(ast["package"]["refr"])
        local = {n for n in (_head_name(r) for r in ast["rules"]) if n}
        for rule in ast["rules"]:
            name = _head_name(rule)
            _refuse_builtins(rule, file)
            if name is None:
                continue
            refs = set(_data_refs(rule)) | {f"{package}.{v}" for v in _free_vars(rule) & local}
            rules.append(_Rule(f"{package}.{name}", file, _line(rule), frozenset(refs)))
    _refuse_cycles(rules)


def _refuse_cycles(rules: list[_Rule]) -> None:
    graph: dict[str, set[str]] = {}
    where: dict[str, _Rule] = {}
    for rule in rules:
        graph.setdefault(rule.name, set()).update(rule.refs)
        where.setdefault(rule.name, rule)
    # A reference to data.pkg.rule.field or a whole package counts for every rule it covers.
    names = sorted(graph)
    edges = {
        name: {n for ref in refs for n in names if n == ref or n.startswith(ref + ".") or ref.startswith(n + ".")}
        for name, refs in graph.items()
    }
    done: set[str] = set()
    for start in names:
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(edges[start])))]
        path = [start]
        if start in done:
            continue
        while stack:
            node, children = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                stack.pop()
                path.pop()
                done.add(node)
                continue
            if nxt in path:
                cycle = [*path[path.index(nxt) :], nxt]
                rule = where[nxt]
                raise PolicyError(
                    f"line {rule.line}: rego_recursion_error: rule {nxt} is recursive: {' -> '.join(cycle)}",
                    path=rule.file,
                )
            if nxt not in done:
                stack.append((nxt, iter(sorted(edges.get(nxt, ())))))
                path.append(nxt)


def _refuse_builtins(rule: Mapping[str, Any], file: str) -> None:
    for node in _nodes(rule):
        call = node.get("Call") if isinstance(node, dict) else None
        if isinstance(call, dict):
            name = _dotted(call.get("fcn", {}))
            if name in REFUSED_BUILTINS:
                line = call.get("span", {}).get("line", 0)
                raise PolicyError(
                    f"line {line}: builtin {name} is not allowed in policies the gate runs ({REFUSED_BUILTINS[name]})",
                    path=file,
                )


def _head_name(rule: Mapping[str, Any]) -> str | None:
    kind, body = next(iter(rule.items()))
    head = body if kind == "Default" else body.get("head", {})
    if kind != "Default":
        head = next(iter(head.values()), {})
    refr = head.get("refr", {})
    while "RefBrack" in refr:
        refr = refr["RefBrack"]["refr"]
    while "RefDot" in refr:
        refr = refr["RefDot"]["refr"]
    value = refr.get("Var", {}).get("value")
    return value if isinstance(value, str) else None


def _line(rule: Mapping[str, Any]) -> int:
    _, body = next(iter(rule.items()))
    return int(body.get("span", {}).get("line", 0))


def _dotted(refr: Mapping[str, Any]) -> str:
    if "Var" in refr:
        return str(refr["Var"]["value"])
    if "RefDot" in refr:
        inner = _dotted(refr["RefDot"]["refr"])
        return f"{inner}.{refr['RefDot']['field'][1]}" if inner else ""
    if "RefBrack" in refr:
        index = refr["RefBrack"]["index"]
        inner = _dotted(refr["RefBrack"]["refr"])
        key = index.get("String", {}).get("value") if isinstance(index, dict) else None
        return f"{inner}.{key}" if inner and isinstance(key, str) else inner
    return ""


def _data_refs(rule: Mapping[str, Any]) -> Iterator[str]:
    """Every `data.x.y...` reference in a rule, as the longest dotted path written."""
    for node in _nodes(rule):
        if not isinstance(node, dict):
            continue
        for key in ("RefDot", "RefBrack"):
            if key in node:
                text = _dotted(node)
                if text.startswith("data.") and text.count(".") >= 2:
                    yield text


def _free_vars(rule: Mapping[str, Any]) -> set[str]:
    """Names a rule uses that it does not bind itself (function arguments, `:=`, `some` and comprehension
    variables are bound; what is left can only be a rule or function of the package)."""
    used: set[str] = set()
    bound: set[str] = set()
    kind, body = next(iter(rule.items()))
    if kind != "Default":
        head: dict[str, Any] = next(iter(body.get("head", {}).values()), {})
        for arg in head.get("args", ()) or ():
            bound |= {n["Var"]["value"] for n in _nodes(arg) if isinstance(n, dict) and "Var" in n}
    for node in _nodes(body.get("bodies", []) if kind != "Default" else body.get("value", {})):
        if not isinstance(node, dict):
            continue
        if "Var" in node and isinstance(node["Var"], dict):
            used.add(node["Var"]["value"])
        assign = node.get("AssignExpr")
        if isinstance(assign, dict) and assign.get("op") == "ColEq":
            bound |= {n["Var"]["value"] for n in _nodes(assign.get("lhs", {})) if isinstance(n, dict) and "Var" in n}
        for key in ("SomeVars", "SomeIn"):
            some = node.get(key)
            if isinstance(some, dict):
                for part in ("vars", "key", "value"):
                    bound |= {
                        n["Var"]["value"] for n in _nodes(some.get(part, {})) if isinstance(n, dict) and "Var" in n
                    }
    return used - bound


def _nodes(value: Any) -> Iterator[Any]:
    """Every dict and list in a JSON tree, depth first, without recursion (a deep policy must not overflow)."""
    stack = [value]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, dict):
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
