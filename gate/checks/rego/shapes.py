"""Rule shapes OPA reads and regorus refuses or misreads, respelled on the same lines before compiling (for
`compat`): a function defined by its head alone, a partial rule keyed by an iterated reference, and references
through an import of a module's own package. The first two read only lines that start at the top level, so a rule
body's own lines never change; references are respelled wherever they stand outside strings and comments."""

from __future__ import annotations

import re

# Two rule forms OPA reads and regorus refuses or misreads, each a whole top-level line: a function defined by
# its head alone (`f("*", _)`, true for those arguments; regorus: "rule must have a body"), and a partial rule
# whose key iterates a reference (`volumes[pod.spec.volumes[_]]`; regorus: "item cannot be indexed" where the
# reference is undefined, which OPA reads as no key).
_HEAD_ONLY_FUNCTION = re.compile(r"^(?P<head>[A-Za-z_][\w.]*\([^()\n=:{}]*\))(?P<trail>[ \t]*(?:#[^\n]*)?)$", re.M)
_ITERATED_KEY = re.compile(
    r"^(?P<name>[A-Za-z_]\w*)\[(?P<key>[A-Za-z_][\w.]*(?:\[[^\[\]\n]*\])*\[_\](?:\.[A-Za-z_]\w*)*)\]"
    r"(?P<value>[ \t]*(?::=|=)[^\n{}#]*?)?(?P<trail>[ \t]*(?:#[^\n]*)?)$",
    re.M,
)


def give_bodies(source: str, *, v0: bool) -> str:
    """`source` with those two forms given the body OPA reads into them, on the same line; only lines that start a
    statement at the top level (outside every bracket) are read, so a body's own lines stay as they are."""
    functions = "(" in source and _HEAD_ONLY_FUNCTION.search(source) is not None
    keys = "[_]" in source and _ITERATED_KEY.search(source) is not None
    if not functions and not keys:
        return source
    top = _top_level_starts(source)
    assign = "=" if v0 else ":="

    def function(m: re.Match[str]) -> str:
        return f"{m['head']} {assign} true{m['trail']}" if m.start() in top else m[0]

    def bound(m: re.Match[str]) -> str:
        value = m["value"] or ""
        if m.start() not in top or (not v0 and not value):
            return m[0]  # (a Rego v1 `p[x]` without a value is not this form)
        opener = "{" if v0 else "if {"
        return f"{m['name']}[cg_compat_key]{value} {opener} cg_compat_key := {m['key']} }}{m['trail']}"

    if functions:
        source = _HEAD_ONLY_FUNCTION.sub(function, source)
        top = _top_level_starts(source) if keys else top
    return _ITERATED_KEY.sub(bound, source) if keys else source


def _top_level_starts(source: str) -> set[int]:
    """Offsets of the lines that begin outside every bracket, string and comment."""
    starts = {0}
    depth = 0
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c == "#":
            end = source.find("\n", i)
            i = n if end < 0 else end
            continue
        if c == '"':
            i += 1
            while i < n and source[i] not in '"\n':
                i += 2 if source[i] == "\\" else 1
        elif c == "`":
            end = source.find("`", i + 1)
            i = n if end < 0 else end
        elif c in "{[(":
            depth += 1
        elif c in "}])":
            depth = max(depth - 1, 0)
        elif c == "\n" and depth == 0:
            starts.add(i + 1)
        i += 1
    return starts


def spell_out_imported_refs(source: str, imports: dict[str, str]) -> str:
    """`source` with every reference and call through a data import (`import data.lib.core as c`, then `c.kind`,
    `c.f(x)`, or `f(x)` after `import data.lib.f`) written out in full (`data.lib.core.kind`); `imports`: each
    imported name's `data.` path. Strings, comments and the package and import lines are left as they are.

    regorus resolves such a name wrongly in two ways, where OPA reads the rule: through an import of the module's
    own package, or of one above it (`package main` with `import data.main`, then `main.kind`), it reads the whole
    package document, its own rule included, and stops at "recursion detected" (or, with one file, finds
    nothing); and once a rule of another module that imports this one has been evaluated, `not c.is_gatekeeper`
    in a function here can come out true while `c.is_gatekeeper` is true (Red Hat CoP's konstraint library, on a
    Gatekeeper review input). It finds no function called through an import either."""
    if not imports:
        return source
    token = re.compile(
        r'"(?:\\.|[^"\\\n])*"|`[^`]*`|#[^\n]*|^[ \t]*(?:package|import)\b[^\n]*'
        r"|(?<![\w.])(?P<alias>" + "|".join(re.escape(a) for a in sorted(imports)) + r")(?=[.\[(])",
        re.M,
    )
    return token.sub(lambda m: imports[m["alias"]] if m["alias"] else m[0], source)
