"""The `.container-gate.yml` file: validated against the shipped JSON Schema, then frozen into `GateConfig`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.errors import ConfigError
from gate.model import Severity

DEFAULT_FILE = ".container-gate.yml"


@dataclass(frozen=True, slots=True)
class InlineIgnore:
    """One `ignore:` entry of the config file."""

    id: str
    reason: str
    expires: str | None = None
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    """Globs on the package name or purl (license exceptions per package; docs/licenses.md)."""


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Settings from the config file; `None` means "not set here" so flags and defaults can fill in."""

    path: str | None = None
    fail_on: str | None = None
    only_fixed: bool | None = None
    ignore_files: tuple[str, ...] = ()
    ignores: tuple[InlineIgnore, ...] = ()
    vex: tuple[str, ...] = ()
    baseline: str | None = None
    budgets: tuple[tuple[Severity, int], ...] = ()
    policy: tuple[str, ...] = ()
    namespace: tuple[str, ...] = ()
    all_namespaces: bool | None = None
    data: tuple[str, ...] = ()
    images: tuple[tuple[str, str], ...] = ()
    category_prefix: str | None = None
    kev: tuple[str, ...] = ()
    epss: tuple[str, ...] = ()
    epss_threshold: float | None = None
    rego_limits: tuple[float, int] | None = None
    """`rego: {timeout-seconds, memory-mib}`; None means the defaults."""
    inventory: tuple[str, ...] = ()
    """Kubernetes objects only for Gatekeeper's `data.inventory` (never reviewed)."""
    gatekeeper_skip: tuple[str, ...] = ()
    """`gatekeeper: {skip-templates}`: ConstraintTemplates (by name) left out, with their constraints."""
    licenses_allowed: tuple[str, ...] = ()
    licenses_forbidden: tuple[str, ...] = ()
    licenses_unknown: str | None = None
    """`licenses: {unknown}`: block, warn or allow; None means the default (warn)."""
    licenses_severity: str | None = None
    dockerfile: Mapping[str, Any] = field(default_factory=dict)
    remediate: Mapping[str, Any] = field(default_factory=dict)


def discover(start: Path, *, cwd: Path) -> Path | None:
    """The config that governs `start` (the first PATH given), looked up as ruff and pre-commit do.

    From the folder given (a file's own folder) upwards, the first `.container-gate.yml` wins. The search
    stops at the repository root (a folder holding `.git`, a folder in a clone or a file in a worktree); out
    of any repository it stops at the current folder, and a path outside it looks only in its own folder, so
    a report under /tmp never picks up a stranger's config from /."""
    here = start if start.is_dir() else start.parent
    here = Path(os.path.abspath(here))
    cwd = Path(os.path.abspath(cwd))
    limit: Path | None = next((p for p in (here, *here.parents) if _exists(p / ".git")), None)
    if limit is None:
        limit = cwd if here == cwd or cwd in here.parents else here
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_FILE
        if _is_file(candidate):
            # Named as the user would type it: relative to the current folder when inside it.
            return Path(os.path.relpath(candidate, cwd)) if cwd in candidate.parents else candidate
        if folder == limit:
            break
    return None


def _exists(path: Path) -> bool:
    # A folder above the workspace we may not enter (the action runs as the workspace's owner) hides nothing.
    try:
        return path.exists()
    except OSError:
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def validate(doc: Any, origin: str) -> None:
    """Check a parsed config against the shipped schema; the first error names its key."""
    from jsonschema import Draft202012Validator

    from gate.schemas import load

    validator = Draft202012Validator(load("config.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        raise ConfigError(_describe(errors[0]), path=origin)


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        if error.schema.get("patternProperties"):
            return f"key {where}: unknown key(s) {', '.join(map(repr, unknown))}"
        return (
            f"key {where}: unknown key(s) {', '.join(map(repr, unknown))}"
            if where != "(top level)"
            else (f"unknown key(s) {', '.join(map(repr, unknown))}")
        )
    if error.validator == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        return f"key {where}: {error.instance!r} is not one of {allowed}"
    return f"key {where}: {error.message}"


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _rego_limits(section: Mapping[str, Any] | None) -> tuple[float, int] | None:
    from gate.checks.rego.limits import DEFAULT_MEMORY_MIB, DEFAULT_SECONDS

    if not section:
        return None
    return float(section.get("timeout-seconds", DEFAULT_SECONDS)), int(section.get("memory-mib", DEFAULT_MEMORY_MIB))


def from_mapping(doc: Mapping[str, Any], origin: str) -> GateConfig:
    """Build the frozen config from a validated document."""
    base = Path(origin).parent

    def rel(p: str) -> str:
        # Paths in the file are relative to the file, as users expect of a checked-in config.
        return p if Path(p).is_absolute() or p.startswith("builtin:") else str(base / p)

    sarif = doc.get("sarif") or {}
    licenses = doc.get("licenses") or {}
    return GateConfig(
        path=origin,
        fail_on=doc.get("fail-on"),
        only_fixed=doc.get("only-fixed"),
        ignore_files=tuple(map(rel, _list(doc.get("ignore-file")))),
        ignores=tuple(
            InlineIgnore(
                id=e["id"],
                reason=e["reason"],
                expires=e.get("expires"),
                paths=tuple(e.get("paths", ())),
                purls=tuple(e.get("purls", ())),
                packages=tuple(e.get("packages", ())),
            )
            for e in doc.get("ignore", ())
        ),
        vex=tuple(map(rel, _list(doc.get("vex")))),
        baseline=rel(doc["baseline"]) if doc.get("baseline") else None,
        budgets=tuple((Severity[k], int(v)) for k, v in sorted((doc.get("budgets") or {}).items())),
        policy=tuple(map(rel, _list(doc.get("policy")))),
        namespace=_list(doc.get("namespace")),
        all_namespaces=doc.get("all-namespaces"),
        data=tuple(map(rel, _list(doc.get("data")))),
        images=tuple(sorted((image, rel(path)) for image, path in (doc.get("images") or {}).items())),
        category_prefix=sarif.get("category-prefix"),
        kev=tuple(map(rel, _list(doc.get("kev")))),
        epss=tuple(map(rel, _list(doc.get("epss")))),
        epss_threshold=float(doc["epss-threshold"]) if doc.get("epss-threshold") is not None else None,
        rego_limits=_rego_limits(doc.get("rego")),
        inventory=tuple(map(rel, _list(doc.get("inventory")))),
        gatekeeper_skip=_list((doc.get("gatekeeper") or {}).get("skip-templates")),
        licenses_allowed=tuple(licenses.get("allowed", ())),
        licenses_forbidden=tuple(licenses.get("forbidden", ())),
        licenses_unknown=licenses.get("unknown"),
        licenses_severity=licenses.get("severity"),
        dockerfile=doc.get("dockerfile") or {},
        remediate=doc.get("remediate") or {},
    )


def load_config(path: Path) -> GateConfig:
    """Read, validate and freeze a config file; every problem is a one-line `ConfigError`."""
    from gate.safe_yaml import load_file

    doc = load_file(path)
    origin = str(path)
    if doc is None:
        return GateConfig(path=origin)
    if not isinstance(doc, dict):
        raise ConfigError(f"expected a mapping of settings at the top level, found {type(doc).__name__}", path=origin)
    validate(doc, origin)
    return from_mapping(doc, origin)
