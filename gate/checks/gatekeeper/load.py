"""ConstraintTemplates and constraints from `--policy` files and folders, recognised by their content."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.checks.gatekeeper.parameters import problem, schema_of
from gate.errors import InputError, PolicyError

TEMPLATE_GROUP = "templates.gatekeeper.sh/"
CONSTRAINT_GROUP = "constraints.gatekeeper.sh/"
TARGET = "admission.k8s.gatekeeper.sh"
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][\w.]*)", re.M)
_EXTERNAL_DATA = re.compile(r"\bexternal_data\s*\(")
_YAML = (".yaml", ".yml", ".json")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@dataclass(frozen=True, slots=True)
class Template:
    """One ConstraintTemplate's Rego for the admission target: the code, its libs and what it is called."""

    name: str
    kind: str
    """The constraint kind it defines (`spec.crd.spec.names.kind`)."""
    package: str
    rego: str
    libs: tuple[str, ...]
    version: str
    """`v0` for `targets[].rego` (Gatekeeper's Rego), or what a `code` entry's `source.version` says."""
    path: str
    line: int | None
    reads_inventory: bool
    schema: dict[str, Any] | None = None
    """`spec.crd.spec.validation.openAPIV3Schema`: what a constraint's parameters must look like."""
    strict: bool = True
    """templates.gatekeeper.sh/v1: undeclared parameter fields are refused (v1beta1's legacy schema allows them)."""


@dataclass(frozen=True, slots=True)
class Constraint:
    """One constraint: its kind (a template's), name, match, parameters and enforcement action."""

    kind: str
    name: str
    match: dict[str, Any]
    parameters: Any
    action: str
    """`deny`, `warn` or `dryrun` (scoped actions: the strongest one listed)."""
    path: str
    line: int | None


@dataclass(frozen=True, slots=True)
class Gatekeeper:
    templates: tuple[Template, ...]
    constraints: tuple[Constraint, ...]


def is_gatekeeper(value: Any) -> bool:
    """A ConstraintTemplate or a constraint, by its apiVersion."""
    if not isinstance(value, dict):
        return False
    version = value.get("apiVersion")
    if not isinstance(version, str):
        return False
    return (version.startswith(TEMPLATE_GROUP) and value.get("kind") == "ConstraintTemplate") or version.startswith(
        CONSTRAINT_GROUP
    )


def documents(entries: Sequence[str]) -> list[tuple[Any, str, int | None]]:
    """(value, file, line) of every Gatekeeper document in the YAML/JSON files of `entries` (files or folders;
    `builtin:` packs are Rego and hold none). A file named explicitly must hold at least one."""
    from gate.checks.rego.documents import load_documents

    found: list[tuple[Any, str, int | None]] = []
    for entry in entries:
        if entry.startswith("builtin:"):
            continue
        root = Path(entry)
        explicit = root.is_file()
        for path in [root] if explicit else _yaml_files(root):
            if path.suffix.lower() not in _YAML:
                continue
            docs = [(d.value, str(path), d.line) for d in load_documents(path, stream=True) if is_gatekeeper(d.value)]
            if explicit and not docs:
                raise PolicyError("neither a Rego policy nor a Gatekeeper ConstraintTemplate or constraint", path=entry)
            found += docs
    return found


def _yaml_files(root: Path) -> Iterable[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.rglob("*") if p.suffix.lower() in _YAML and p.is_file())


def load(entries: Sequence[str], *, skip: Sequence[str] = ()) -> Gatekeeper:
    """Every template and constraint; a constraint of a kind no template defines, a template without Rego for
    the admission target, or one that calls external data (`external_data`), is an error naming the file —
    unless the template's name is in `skip` (config `gatekeeper.skip-templates`), which drops it and its
    constraints."""
    templates: list[Template] = []
    constraints: list[tuple[Any, str, int | None]] = []
    skipped_kinds: set[str] = set()
    for value, path, line in documents(entries):
        if value.get("kind") == "ConstraintTemplate":
            name = str((value.get("metadata") or {}).get("name") or "")
            if name in skip:
                skipped_kinds.add(_kind_of(value, path))
                continue
            templates.append(_template(value, path, line))
        else:
            constraints.append((value, path, line))
    kinds = {t.kind: t for t in templates}
    seen: set[str] = set()
    for template in templates:
        if template.kind in seen:
            raise PolicyError(f"two ConstraintTemplates define the kind {template.kind}", path=template.path)
        seen.add(template.kind)
    loaded = []
    for value, path, line in constraints:
        kind = str(value.get("kind") or "")
        if kind in skipped_kinds:
            continue
        if kind not in kinds:
            raise PolicyError(
                f"constraint of kind {kind!r}: no ConstraintTemplate among the policies defines it", path=path
            )
        constraint = _constraint(value, path, line)
        template = kinds[kind]
        refused = problem(constraint.parameters, template.schema, strict=template.strict)
        if refused:
            raise PolicyError(
                f"constraint {kind}/{constraint.name} {refused} (ConstraintTemplate {template.name}); "
                "Gatekeeper would refuse it",
                path=path,
            )
        loaded.append(constraint)
    return Gatekeeper(tuple(templates), tuple(loaded))


def _kind_of(value: dict[str, Any], path: str) -> str:
    kind = (((value.get("spec") or {}).get("crd") or {}).get("spec") or {}).get("names", {}).get("kind")
    if not isinstance(kind, str) or not kind:
        raise PolicyError("ConstraintTemplate without spec.crd.spec.names.kind", path=path)
    return kind


def _template(value: dict[str, Any], path: str, line: int | None) -> Template:
    name = str((value.get("metadata") or {}).get("name") or "")
    kind = _kind_of(value, path)
    where = f"ConstraintTemplate {name}"
    if name != kind.lower():
        # Gatekeeper (and gator) refuse such a template; finding out in CI beats finding out at apply time.
        raise PolicyError(f"{where}: its name must be the lowercase of its kind {kind} ({kind.lower()})", path=path)
    targets = (value.get("spec") or {}).get("targets") or []
    target = next((t for t in targets if isinstance(t, dict) and t.get("target") == TARGET), None)
    if target is None:
        raise PolicyError(f"{where}: no target {TARGET}", path=path)
    rego, libs, version = _code(target, where, path)
    package = _PACKAGE.search(rego)
    if package is None:
        raise PolicyError(f"{where}: its Rego has no package", path=path)
    if any(_EXTERNAL_DATA.search(text) for text in (rego, *libs)):
        raise PolicyError(
            f"{where} calls external data (external_data), which cannot run in CI; "
            "skip it with gatekeeper.skip-templates in .container-gate.yml",
            path=path,
        )
    reads = any("data.inventory" in text for text in (rego, *libs))
    strict = str(value.get("apiVersion", "")).endswith("/v1")
    return Template(name, kind, package.group(1), rego, libs, version, path, line, reads, schema_of(value), strict)


def _code(target: dict[str, Any], where: str, path: str) -> tuple[str, tuple[str, ...], str]:
    """The Rego of a target: a `code` entry with engine Rego (Gatekeeper 3.13+) or the `rego` field."""
    for entry in target.get("code") or []:
        if isinstance(entry, dict) and entry.get("engine") == "Rego":
            source = entry.get("source") or {}
            rego = source.get("rego")
            if isinstance(rego, str) and rego.strip():
                version = "v1" if str(source.get("version", "")).lower() == "v1" else "v0"
                return rego, _libs(source.get("libs"), where, path), version
    rego = target.get("rego")
    if isinstance(rego, str) and rego.strip():
        return rego, _libs(target.get("libs"), where, path), "v0"
    engines = sorted({str(e.get("engine")) for e in target.get("code") or [] if isinstance(e, dict)})
    also = f" (it has only {', '.join(engines)} code)" if engines else ""
    raise PolicyError(
        f"{where}: no Rego to run{also}; skip it with gatekeeper.skip-templates in .container-gate.yml", path=path
    )


def _libs(libs: Any, where: str, path: str) -> tuple[str, ...]:
    if libs is None:
        return ()
    if not isinstance(libs, list) or not all(isinstance(lib, str) for lib in libs):
        raise PolicyError(f"{where}: libs must be a list of Rego texts", path=path)
    return tuple(libs)


_ACTIONS = {"deny": 3, "warn": 2, "dryrun": 1}


def _constraint(value: dict[str, Any], path: str, line: int | None) -> Constraint:
    spec = value.get("spec") or {}
    if not isinstance(spec, dict):
        raise InputError("constraint spec must be a map", path=path)
    name = str((value.get("metadata") or {}).get("name") or "")
    if len(name) > 253 or not _DNS_SUBDOMAIN.fullmatch(name):
        raise PolicyError(
            f"constraint {value.get('kind')}/{name}: the name must be a lowercase RFC 1123 subdomain "
            "(letters, digits, '-' and '.'), as Kubernetes requires",
            path=path,
        )
    action = str(spec.get("enforcementAction") or "deny")
    if action == "scoped":
        # Scoped actions name several enforcement points; in CI the strongest of them decides.
        listed = [str(a.get("action")) for a in spec.get("scopedEnforcementActions") or [] if isinstance(a, dict)]
        action = max((a for a in listed if a in _ACTIONS), key=_ACTIONS.__getitem__, default="deny")
    if action not in _ACTIONS:
        action = "deny"  # a misspelt action must never turn a rule off
    match = spec.get("match") or {}
    return Constraint(
        str(value.get("kind")),
        name,
        match if isinstance(match, dict) else {},
        spec.get("parameters") or {},
        action,
        path,
        line,
    )
