"""The `remediate:` section of `.container-gate.yml`: parsed, validated, turned into frozen rules."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.errors import ConfigError
from remediate.model import ImageRef
from remediate.versioning import LEVELS, Range, Rules

_UPDATE = {"enum": list(LEVELS)}
_GLOBS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_TEXT = {"type": "string", "minLength": 1}
_COUNT = {"type": "integer", "minimum": 0}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "update": _UPDATE,
        "pin-digest": {"type": "boolean"},
        "include": _GLOBS,
        "exclude": _GLOBS,
        "registry-mirrors": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": "^https?://"},
        },
        "ignore-images": _GLOBS,
        "images": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["match"],
                "properties": {
                    "match": {"type": "string", "minLength": 1},
                    "update": _UPDATE,
                    "allowed": {"type": "string", "minLength": 1},
                    "ignore-versions": _GLOBS,
                    "ignore": {"type": "boolean"},
                },
            },
        },
        # where the forge step opens PRs/MRs; choosing a forge at all stays a command-line decision
        # (`--forge`), so a config file cannot turn a dry run into writes
        "repo": _TEXT,
        "api-url": {"type": "string", "pattern": "^https?://"},
        "base-branch": _TEXT,
        "group": {"type": "boolean"},
        "labels": _GLOBS,
        "reviewers": _GLOBS,
        "assignees": _GLOBS,
        "max-open": _COUNT,
        "max-new": _COUNT,
        "branch-prefix": {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9._/-]+$"},
        # `Name <email>` of the commits; by default the token's own user (GitHub shows API commits of an app
        # or GITHUB_TOKEN as verified only without a custom author)
        "author": {"type": "string", "pattern": "^[^<>\\n]+ <[^<>\\s]+@[^<>\\s]+>$"},
        "findings-map": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["report", "dockerfile"],
                "properties": {
                    "report": {"type": "string", "minLength": 1},
                    "dockerfile": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}
"""JSON Schema of the `remediate:` section (the shipped config schema embeds it)."""


@dataclass(frozen=True, slots=True)
class ImageRule:
    """Per-image settings, for images whose name matches `match` (a glob on the short or full name)."""

    match: str
    update: str | None = None
    allowed: Range | None = None
    ignore_versions: tuple[str, ...] = ()
    ignore: bool = False

    def applies(self, ref: ImageRef) -> bool:
        """True when the glob matches `alpine`, `docker.io/library/alpine` or `library/alpine` spellings."""
        return any(fnmatch.fnmatchcase(n, self.match) for n in (ref.familiar, ref.name, ref.repository))


@dataclass(frozen=True, slots=True)
class RemediateConfig:
    """Everything the `remediate:` section can set; command-line flags override `update`/`pin_digest`."""

    update: str = "minor"
    pin_digest: bool | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    registry_mirrors: tuple[tuple[str, str], ...] = ()
    ignore_images: tuple[str, ...] = ()
    images: tuple[ImageRule, ...] = ()
    findings_map: tuple[tuple[str, str], ...] = field(default=())
    repo: str | None = None
    api_url: str | None = None
    base_branch: str | None = None
    group: bool = False
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    max_open: int = 10
    max_new: int = 2
    branch_prefix: str = "container-gate/"
    author: tuple[str, str] | None = None
    """(name, email) of the commits the forge step makes; None: the token's user."""

    def ignored(self, ref: ImageRef) -> bool:
        """True when the user asked to leave this image alone."""
        if any(ImageRule(match=g).applies(ref) for g in self.ignore_images):
            return True
        return any(rule.ignore and rule.applies(ref) for rule in self.images)

    def rules_for(self, ref: ImageRef, update: str) -> Rules:
        """The versioning rules for one image: the first matching `images` entry refines the defaults."""
        for rule in self.images:
            if rule.applies(ref):
                return Rules(update=rule.update or update, ignore_versions=rule.ignore_versions, allowed=rule.allowed)
        return Rules(update=update)


def load(path: Path | None, *, required: bool) -> RemediateConfig:
    """Read the `remediate:` section of a config file; a missing default file means defaults.

    The whole file goes through the gate's loader first (safe YAML, the shipped schema), so the
    gate and the fixer accept and refuse exactly the same files."""
    if path is None or (not required and not path.exists()):
        return RemediateConfig()
    from gate.config import load_config

    return from_mapping(load_config(path).remediate, origin=str(path))


def from_mapping(section: Mapping[str, Any], *, origin: str) -> RemediateConfig:
    """Validate the section against `SCHEMA` and build the frozen config; errors name the setting."""
    import jsonschema

    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(section), key=lambda e: list(e.path))
    if errors:
        where = "remediate." + ".".join(str(p) for p in errors[0].absolute_path)
        raise ConfigError(f"{where.rstrip('.')}: {errors[0].message}", path=origin)
    return RemediateConfig(
        update=section.get("update", "minor"),
        pin_digest=section.get("pin-digest"),
        include=tuple(section.get("include", ())),
        exclude=tuple(section.get("exclude", ())),
        registry_mirrors=tuple(section.get("registry-mirrors", {}).items()),
        ignore_images=tuple(section.get("ignore-images", ())),
        images=tuple(_image_rule(r, i, origin) for i, r in enumerate(section.get("images", ()))),
        findings_map=tuple((m["report"], m["dockerfile"]) for m in section.get("findings-map", ())),
        repo=section.get("repo"),
        api_url=section.get("api-url"),
        base_branch=section.get("base-branch"),
        group=bool(section.get("group", False)),
        labels=tuple(section.get("labels", ())),
        reviewers=tuple(section.get("reviewers", ())),
        assignees=tuple(section.get("assignees", ())),
        max_open=section.get("max-open", 10),
        max_new=section.get("max-new", 2),
        branch_prefix=section.get("branch-prefix", "container-gate/"),
        author=_author(section.get("author")),
    )


def _author(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    name, _, email = text.rpartition(" <")
    return name.strip(), email.rstrip(">")


def _image_rule(raw: Mapping[str, Any], index: int, origin: str) -> ImageRule:
    allowed = None
    if "allowed" in raw:
        try:
            allowed = Range.parse(raw["allowed"])
        except ValueError as exc:
            raise ConfigError(f"remediate.images.{index}.allowed: {exc}", path=origin) from None
    return ImageRule(
        match=raw["match"],
        update=raw.get("update"),
        allowed=allowed,
        ignore_versions=tuple(raw.get("ignore-versions", ())),
        ignore=bool(raw.get("ignore", False)),
    )


def mirrors_from(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Validated mirror map (http only to loopback), config first, then the command line's."""
    from remediate.registry import parse_mirror

    out: dict[str, str] = {}
    for host, url in pairs:
        try:
            key, base = parse_mirror(f"{host}={url}")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        out[key] = base
    return out
