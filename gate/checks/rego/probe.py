"""A module parsed by regorus on its own, for the respellings that read its shape from regorus's spans (rules,
operators) rather than from the text."""

from __future__ import annotations

import json
from typing import Any


def module_ast(source: str, *, v0: bool, name: str = "probe.rego") -> dict[str, Any] | None:
    """regorus's AST of `source` alone (the module's `ast` object: `package`, `imports`, `rules` with spans), or
    None when regorus cannot parse it as it stands (its compile then says why, with the file's own name)."""
    import regorus

    probe = regorus.Engine()
    probe.set_rego_v0(v0)
    try:
        probe.add_policy(name, source)
        ast: dict[str, Any] = json.loads(probe.get_ast_as_json())[0]["ast"]
    except (RuntimeError, ValueError, LookupError):
        return None
    return ast
