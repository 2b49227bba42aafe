"""`rego.metadata.rule()`, which regorus lacks, answered where it is called (for `compat`).

OPA (and Conftest, which parses policies with annotations on) gives a rule its `# METADATA` comment block: the
YAML after `# METADATA`, for the rule the block stands above. regorus reads no comments and has no such built-in,
so a policy that asks for its own title or custom fields stopped the run. Here each call is replaced, on its own
line, by the value OPA returns for the rule it is in: the block's fields in OPA's normal form (authors and related
resources as objects, schemas as paths), with `"scope": "rule"`; `{}` when the block's scope is not the rule's own
(`scope: document`, or `entrypoint: true`) or the rule has none. Which rule a call is in is read from regorus's
own parse of the module (its spans).
"""

from __future__ import annotations

import json
import re
from typing import Any

from gate.checks.rego.probe import module_ast

CALL = "rego.metadata.rule()"
_AUTHOR = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")


def respell(source: str, *, v0: bool) -> str:
    """`source` with every `rego.metadata.rule()` replaced by its rule's annotations; unchanged when regorus cannot
    parse it as it stands."""
    if CALL not in source:
        return source
    ast = module_ast(source, v0=v0)
    if ast is None:
        return source
    blocks = _blocks(source)
    raw = source.encode()
    call = CALL.encode()
    out, at = [], 0
    for rule in ast["rules"]:
        (spec,) = rule.values()
        span = spec["span"]
        literal = json.dumps(_rule_view(blocks.get(span["line"]))).encode()
        found = raw.find(call, max(at, span["start"]), span["end"])
        while found >= 0:
            out += [raw[at:found], literal]
            at = found + len(call)
            found = raw.find(call, at, span["end"])
    out.append(raw[at:])
    return b"".join(out).decode()


def _blocks(source: str) -> dict[int, Any]:
    """Each `# METADATA` block's YAML value, by the line (1-based) of the statement it stands above (blank lines
    may come between, as OPA reads them)."""
    from gate.errors import PolicyError
    from gate.safe_yaml import load_documents

    lines = source.split("\n")
    found: dict[int, Any] = {}
    i = 0
    while i < len(lines):
        if not _opens_block(lines[i]):
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].startswith("#") and not _opens_block(lines[j]):
            j += 1
        # OPA's reading: each comment's text without its `#` and one space, a line each, as YAML (go-yaml v3, whose
        # plain scalars PyYAML's safe loader reads alike for what annotations hold: `y` and `n` stay text).
        text = "".join(line[1:].removeprefix(" ") + "\n" for line in lines[i + 1 : j])
        k = j
        while k < len(lines) and not lines[k].strip():
            k += 1
        try:
            documents = load_documents(text, "METADATA", error=PolicyError)
        except PolicyError:
            documents = []
        found[k + 1] = documents[0][0] if documents else None
        i = j
    return found


def _opens_block(line: str) -> bool:
    return line.startswith("#") and line[1:].strip().startswith("METADATA")


def _rule_view(block: Any) -> dict[str, Any]:
    """What `rego.metadata.rule()` answers for a rule with `block` above it."""
    if not isinstance(block, dict):
        return {}
    scope = block.get("scope", "document" if block.get("entrypoint") is True else "rule")
    if scope != "rule":
        return {}
    view: dict[str, Any] = {"scope": "rule"}
    for key in ("title", "description"):
        if block.get(key) is not None:
            view[key] = _text(block[key])
    for key in ("organizations", "custom"):
        if key in block:
            view[key] = block[key]
    if isinstance(block.get("authors"), list):
        view["authors"] = [_author(a) for a in block["authors"]]
    if isinstance(block.get("related_resources"), list):
        view["related_resources"] = [{"ref": r} if isinstance(r, str) else r for r in block["related_resources"]]
    if isinstance(block.get("schemas"), list):
        view["schemas"] = [_schema(s) for s in block["schemas"] if isinstance(s, dict)]
    return view


def _text(value: Any) -> Any:
    # (go-yaml v3 decodes a number or boolean into a text field as its YAML spelling.)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | float) else value


def _author(author: Any) -> Any:
    if not isinstance(author, str):
        return author
    m = _AUTHOR.match(author)
    if m is None:
        return {"name": author.strip()}
    named = {"name": m["name"]} if m["name"] else {}
    return {**named, "email": m["email"]}


def _schema(entry: dict[str, Any]) -> dict[str, Any]:
    ((path, schema),) = entry.items() if len(entry) == 1 else ((None, None),)
    if path is None:
        return entry
    if isinstance(schema, str):
        return {"path": str(path).split("."), "schema": schema.split(".")}
    return {"path": str(path).split("."), "definition": schema}
