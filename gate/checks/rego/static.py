"""What a Rego policy from a pull request is refused for before anything is evaluated.

- **Recursion.** Rego forbids it (OPA reports `rego_recursion_error` at compile time); regorus does not check
  functions and overflows its stack evaluating `f(x) := f(x)`, which kills the process (SIGSEGV, exit 139). The
  dependency graph is built from regorus's own AST (`get_ast_as_json`), as OPA builds it: an edge for every
  reference, in a rule's body or head, to a rule or function of the same package by name, through an import alias,
  or as `data.<package>.<rule>` of any package (a reference to a whole package or to `data[x]` depends on every
  rule under it). Names a rule binds itself (arguments, `:=`, `some`, `every`) shadow rules. A cycle is an error
  naming the file, line and the path of the cycle, as OPA words it.
- **Network and host builtins.** `http.send`, `net.lookup_ip_addr` and `opa.runtime` would let a policy in a pull
  request reach the network or read the runner's environment; regorus leaves some of them undefined, which would
  silently make a `deny` rule never fire. They are refused by name instead. Pure `net.cidr_*` helpers are fine.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from gate.errors import PolicyError

REFUSED_BUILTINS = {
    "http.send": "it reaches the network",
    "net.lookup_ip_addr": "it reaches the network (DNS)",
    "opa.runtime": "it reads the runner's environment",
}
_CHAINS = ("Var", "RefDot", "RefBrack")


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    """`data.<package>.<head path>` (a partial rule's key is not part of it)."""
    file: str
    line: int
    refs: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Module:
    file: str
    source: bytes
    package: str
    rules: frozenset[str]
    """First segment of every rule head of the package (what a bare name can refer to)."""
    aliases: Mapping[str, str]
    """Import alias → `data.` path."""


def check(ast_entries: list[dict[str, Any]]) -> None:
    """Raise `PolicyError` for a refused builtin or a recursive rule in the loaded modules."""
    rules: list[_Rule] = []
    modules: list[tuple[_Module, list[dict[str, Any]]]] = [(_module(e), e["ast"]["rules"]) for e in ast_entries]
    packages: dict[str, set[str]] = {}
    for module, _ in modules:
        packages.setdefault(module.package, set()).update(module.rules)
    for module, ast_rules in modules:
        # Rules of the same package in other files are in scope by name too.
        module = _Module(
            module.file, module.source, module.package, frozenset(packages[module.package]), module.aliases
        )
        for rule in ast_rules:
            head = _head_path(rule)
            refs = _references(rule, module)
            if head:
                rules.append(_Rule(f"{module.package}.{head}", module.file, _line(rule), frozenset(refs)))
    _refuse_cycles(rules)


def _module(entry: Mapping[str, Any]) -> _Module:
    ast = entry["ast"]
    source = str(entry["source"].get("contents", "")).encode()
    aliases: dict[str, str] = {}
    for imp in ast.get("imports", ()):
        path = _dotted(imp.get("refr", {}))
        if not path.startswith("data.") and path != "data":
            continue  # input, future.keywords, rego.v1
        span = imp.get("as")
        alias = _text(source, span) if isinstance(span, dict) else path.rsplit(".", 1)[-1]
        aliases[alias] = path
    names = {h.split(".", 1)[0] for h in (_head_path(r) for r in ast["rules"]) if h}
    return _Module(
        entry["source"]["file"], source, "data." + _dotted(ast["package"]["refr"]), frozenset(names), aliases
    )


def _refuse_cycles(rules: list[_Rule]) -> None:
    graph: dict[str, set[str]] = {}
    where: dict[str, _Rule] = {}
    for rule in rules:
        graph.setdefault(rule.name, set()).update(rule.refs)
        where.setdefault(rule.name, rule)
    # A reference covers the rules below it (`data.lib` → every rule of lib) and the rule it reaches into
    # (`data.lib.p.field` → data.lib.p).
    under: dict[str, set[str]] = {}
    for name in graph:
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            under.setdefault(".".join(parts[:end]), set()).add(name)
    edges = {name: sorted(_targets(refs, under, graph)) for name, refs in graph.items()}
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(edges[start]))]
        path = [start]
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
                stack.append((nxt, iter(edges[nxt])))
                path.append(nxt)


def _targets(refs: Iterable[str], under: Mapping[str, set[str]], names: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    for ref in refs:
        found |= under.get(ref, set())
        parts = ref.split(".")
        found |= {p for p in (".".join(parts[:end]) for end in range(1, len(parts))) if p in names}
    return found


def _references(rule: Mapping[str, Any], module: _Module) -> set[str]:
    """The `data.` paths a rule refers to; refused builtins are raised here."""
    kind, body = next(iter(rule.items()))
    bound: set[str] = set()
    roots: list[Any] = []
    if kind == "Default":
        roots.append(body.get("value"))
    else:
        head: dict[str, Any] = next(iter(body.get("head", {}).values()), {})
        for arg in head.get("args", ()) or ():
            bound |= {n["Var"]["value"] for n in _nodes(arg) if isinstance(n, dict) and "Var" in n}
        # The head's value and key count (`f(x) := f(x)`), its name does not.
        roots += [head.get("assign"), head.get("key"), *(v for k, v in body.items() if k != "head")]
    bound |= _bound(roots, module.source)
    refs: set[str] = set()
    for text, call in _chains(roots):
        root = text.split(".", 1)[0]
        if root in bound:
            continue
        if call is not None and text in REFUSED_BUILTINS and root not in module.rules | module.aliases.keys():
            line = call.get("span", {}).get("line", 0)
            raise PolicyError(
                f"line {line}: builtin {text} is not allowed in policies the gate runs ({REFUSED_BUILTINS[text]})",
                path=module.file,
            )
        resolved = _resolve(text, root, module)
        if resolved:
            refs.add(resolved)
    return refs


def _resolve(text: str, root: str, module: _Module) -> str | None:
    if root == "data":
        return text
    if root in module.aliases:
        return module.aliases[root] + text[len(root) :]
    if root in module.rules:
        return f"{module.package}.{text}"
    return None  # input, a builtin, or a variable the body binds by unification


def _bound(roots: Iterable[Any], source: bytes) -> set[str]:
    """Names bound anywhere in the rule with `:=`, `some` or `every` (a shadowed rule name is not a reference)."""
    bound: set[str] = set()
    for node in _nodes(list(roots)):
        if not isinstance(node, dict):
            continue
        assign = node.get("AssignExpr")
        if isinstance(assign, dict) and assign.get("op") == "ColEq":
            bound |= _vars(assign.get("lhs"))
        some = node.get("SomeVars")
        if isinstance(some, dict):
            bound |= {_text(source, span) for span in some.get("vars", ()) if isinstance(span, dict)}
        some_in = node.get("SomeIn")
        if isinstance(some_in, dict):
            bound |= _vars(some_in.get("key")) | _vars(some_in.get("value"))
        every = node.get("Every")
        if isinstance(every, dict):
            # `every k, v in xs` keeps its names as spans of the source, not as expressions.
            bound |= {_text(source, every[p]) for p in ("key", "value") if isinstance(every.get(p), dict)}
    return bound


def _vars(expr: Any) -> set[str]:
    return {n["Var"]["value"] for n in _nodes(expr) if isinstance(n, dict) and isinstance(n.get("Var"), dict)}


def _chains(roots: Iterable[Any]) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """(dotted text, the Call node when it is a call's function) of every maximal reference chain, iteratively.

    Only the whole chain counts (`lib.p` is data.lib.p, not all of `lib`); expressions used as an index inside it
    (`x[f(y)]`) are chains of their own."""
    stack: list[tuple[Any, dict[str, Any] | None]] = [(r, None) for r in roots]
    while stack:
        node, call = stack.pop()
        if isinstance(node, list):
            stack.extend((v, None) for v in node if isinstance(v, dict | list))
            continue
        if not isinstance(node, dict):
            continue
        chain = next((k for k in _CHAINS if k in node and isinstance(node[k], dict)), None)
        if chain is None:
            inner = node.get("Call")
            if isinstance(inner, dict):
                stack.append((inner.get("fcn"), inner))
                stack.append((inner.get("params"), None))
                continue
            stack.extend((v, None) for v in node.values() if isinstance(v, dict | list))
            continue
        text = _dotted(node)
        if text:
            yield text, call
        stack.extend((index, None) for index in _indices(node))


def _indices(chain: Mapping[str, Any]) -> Iterator[Any]:
    node: Mapping[str, Any] = chain
    while True:
        if "RefBrack" in node:
            yield node["RefBrack"].get("index")
            node = node["RefBrack"].get("refr", {})
        elif "RefDot" in node:
            node = node["RefDot"].get("refr", {})
        else:
            if "Var" not in node:
                yield node  # a chain on a call or a literal: `f(x).y`, `{"a": 1}.a`
            return


def _head_path(rule: Mapping[str, Any]) -> str | None:
    """The static part of a rule's head (`a.b` for `a.b.c[x] contains`, `p` for `p[x]`); None if it has none."""
    kind, body = next(iter(rule.items()))
    head = body if kind == "Default" else next(iter(body.get("head", {}).values()), {})
    refr = head.get("refr", {}) if isinstance(head, dict) else {}
    return _dotted(refr) or None


def _line(rule: Mapping[str, Any]) -> int:
    _, body = next(iter(rule.items()))
    return int(body.get("span", {}).get("line", 0))


def _text(source: bytes, span: Mapping[str, Any]) -> str:
    return source[int(span.get("start", 0)) : int(span.get("end", 0))].decode(errors="replace")


def _dotted(refr: Mapping[str, Any]) -> str:
    """`a.b["c"]` as `a.b.c`, stopping before the first index that is not a string literal; "" if no name."""
    outer: list[str] = []
    node: Mapping[str, Any] = refr
    while True:
        if "RefDot" in node:
            outer.append(str(node["RefDot"]["field"][1]))
            node = node["RefDot"]["refr"]
        elif "RefBrack" in node:
            index = node["RefBrack"]["index"]
            key = index.get("String", {}).get("value") if isinstance(index, dict) else None
            if isinstance(key, str):
                outer.append(key)
            else:
                outer.clear()  # what follows a variable index is not a static path
            node = node["RefBrack"]["refr"]
        elif isinstance(node.get("Var"), dict):
            return ".".join([str(node["Var"]["value"]), *reversed(outer)])
        else:
            return ""


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
