"""The import rules of ARCHITECTURE.md, enforced: every `import` in gate/ and remediate/ (lazy ones inside functions
included) is parsed, and a breach fails here with the file and the line."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ("gate", "remediate")

STAGES = ("gate.settings", "gate.inputs", "gate.findings", "gate.decide", "gate.outputs", "gate.ci.publish")
"""The gate command's pipeline, in order: a stage may import an earlier one, never a later one (gate.decide is the
decision stage: its rules loaded from the settings, then the verdict)."""
ORCHESTRATION = ("gate.run", "gate.cli", "gate.settings", "gate.findings", "gate.outputs", "gate.ci")
"""What the building blocks (readers, checks, formats, the model) never import."""
BLOCKS = (
    "gate.ingest",
    "gate.checks",
    "gate.emit",
    "gate.model",
    "gate.exploits",
    "gate.dockerfile",
    "gate.decide.verdict",
    "gate.decide.ignores",
    "gate.decide.vex",
    "gate.decide.baseline",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import of our packages in a file, wherever in the file it is."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            # `from gate import run` imports gate.run; `from gate.model import X` imports gate.model
            names = [f"{base}.{alias.name}" if _is_module(f"{base}.{alias.name}") else base for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in PACKAGES:
                yield name, node.lineno


def _is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


SOURCES = sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))
EDGES = [(module_name(p), target, p, line) for p in SOURCES for target, line in imports(p)]


def breaches(rule: str) -> list[str]:
    found = []
    for source, target, path, line in EDGES:
        if RULES[rule](source, target):
            found.append(f"{path.relative_to(REPO)}:{line}: {source} imports {target}")
    return found


def stage(module: str) -> int | None:
    """The index in STAGES of the stage a module belongs to (the config file belongs to the settings)."""
    if within(module, ("gate.config",)):
        return 0
    return next((i for i, s in enumerate(STAGES) if within(module, (s,))), None)


def _later_stage(source: str, target: str) -> bool:
    mine, theirs = stage(source), stage(target)
    return mine is not None and theirs is not None and theirs > mine


def _formats() -> set[str]:
    from gate.emit.formats import EMITTERS

    return {path.partition(":")[0] for path in EMITTERS.values()}


FORMATS = _formats()
"""The emitter modules (SARIF, summary, annotations, GitLab, JSON, JUnit): each reads the shared modules
(`gate.emit.base`, `gate.emit.placement`, `gate.emit.markdown`), never another format."""


def _format_imports_format(source: str, target: str) -> bool:
    return source in FORMATS and target in FORMATS and source != target


RULES: dict[str, Callable[[str, str], bool]] = {
    "no format imports another": _format_imports_format,
    "the model imports nothing of ours but the speed seam": lambda s, t: s == "gate.model" and t != "gate.speed",
    "the speed seam imports nothing of ours": lambda s, t: s == "gate.speed",
    "gate never imports remediate": lambda s, t: within(s, ("gate",)) and within(t, ("remediate",)),
    "building blocks never import the orchestration or CI": lambda s, t: within(s, BLOCKS) and within(t, ORCHESTRATION),
    "no stage imports a later one": _later_stage,
    "remediate uses the gate's public modules, not the orchestration": lambda s, t: (
        within(s, ("remediate",)) and within(t, ("gate.run", "gate.cli", "gate.findings", "gate.outputs"))
    ),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_import_rule(rule: str) -> None:
    assert breaches(rule) == []


def test_no_import_cycles_between_modules_at_import_time() -> None:
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = {n.lineno for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
        graph.setdefault(module_name(path), set()).update(
            t for t, line in imports(path) if line in top and t != module_name(path)
        )
    seen: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        if node in stack:
            cycle = [*stack[stack.index(node) :], node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in seen:
            return
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt)
        stack.pop()
        seen.add(node)

    for node in sorted(graph):
        visit(node)


def test_the_rules_see_a_breach() -> None:
    # The checker itself: a made-up edge from the model to the orchestrator is caught.
    assert RULES["the model imports nothing of ours but the speed seam"]("gate.model", "gate.run")
    assert RULES["no stage imports a later one"]("gate.settings", "gate.outputs")
    assert not RULES["no stage imports a later one"]("gate.outputs", "gate.settings")
    assert RULES["no format imports another"]("gate.emit.summary", "gate.emit.sarif")
    assert not RULES["no format imports another"]("gate.emit.summary", "gate.emit.placement")
