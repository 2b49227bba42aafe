"""The `EMITTERS` registry: output names mapped to the modules that render them, imported lazily."""

from __future__ import annotations

import importlib
from typing import cast

from gate.emit.base import Emitter

# Module paths, not objects: the CLI lists these names for `--help` and argparse choices without
# importing any emitter, which keeps `container-gate --version` fast. Each module exposes a module-level
# `name` and `render(verdict, ctx)`, i.e. the module itself satisfies `Emitter`; `codequality` lives in
# the GitLab module as an object because it shares that module's helpers.
EMITTERS: dict[str, str] = {
    "sarif": "gate.emit.sarif",
    "gitlab": "gate.emit.gitlab",
    "codequality": "gate.emit.gitlab:CODEQUALITY",
    "summary": "gate.emit.summary",
    "annotations": "gate.emit.annotations",
    "json": "gate.emit.json",
    "junit": "gate.emit.junit",
}


def emitter(name: str) -> Emitter:
    """The registered emitter called `name`; KeyError for an unknown name."""
    module_path, _, attribute = EMITTERS[name].partition(":")
    module = importlib.import_module(module_path)
    found = getattr(module, attribute) if attribute else getattr(module, "EMITTER", module)
    return cast(Emitter, found)
