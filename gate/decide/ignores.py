"""Ignore files (`.trivyignore`, `.trivyignore.yaml`, our YAML list) and inline ignores, with expiry.

An entry whose id is `license:ID` (or one in a `.trivyignore.yaml` `licenses:` section) is also a license
exception: for the packages it names (`packages` globs on the name or purl, `purls`, `paths`) the license policy
accepts ID (`gate.decide.licenses`; docs/licenses.md)."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import ConfigError
from gate.model import Finding, Kind, Suppression, rule_key

_TRIVY_SECTIONS = {
    "vulnerabilities": Kind.VULNERABILITY,
    "misconfigurations": Kind.MISCONFIGURATION,
    "secrets": Kind.SECRET,
    "licenses": Kind.LICENSE,
}
LICENSE_PREFIX = "license:"
_LINE = re.compile(r"^(?P<id>\S+)(?:\s+exp:(?P<exp>\d{4}-\d{2}-\d{2}))?\s*$")


@dataclass(frozen=True, slots=True)
class IgnoreEntry:
    """One ignore rule from any source; matches by id or alias, optionally narrowed by paths and purls."""

    id: str
    reason: str
    origin: str
    expires: dt.date | None = None
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()
    kind: Kind | None = None
    """Set for `.trivyignore.yaml` sections, which scope an id to one kind of finding."""
    packages: tuple[str, ...] = ()
    """Globs (`fnmatch`, case-sensitive) on the finding's package name or purl; any one must match."""

    def expired(self, today: dt.date) -> bool:
        """Trivy's rule: an entry stops applying on its expiry date."""
        return self.expires is not None and today >= self.expires

    def matches(self, finding: Finding) -> bool:
        """Same id (or alias, in any of Trivy's spellings), same kind when scoped, and inside the listed
        paths and purls if any.

        A `misconfigurations:` entry also matches `policy` findings: a built-in Dockerfile rule merged with
        Trivy's and hadolint's sightings of the same problem is a policy finding, and `id: DS-0002`,
        `id: DL3002` or `id: CG-DF-001` there must all excuse it."""
        if self.id[: len(LICENSE_PREFIX)].lower() == LICENSE_PREFIX:
            # `license:ID`: a license finding whose license is ID (the policy stage handles expressions).
            license_id = self.license_id
            if license_id is None or finding.kind is not Kind.LICENSE or not _same_license(license_id, finding.id):
                return False
            return self.narrows_to(finding)
        wanted = self.id.upper()
        if wanted != finding.id.upper() and wanted not in (a.upper() for a in finding.aliases):
            if finding.kind is Kind.VULNERABILITY or not _same_rule(self.id, finding):
                return False
        if self.kind is not None and self.kind is not finding.kind and not _config_scope(self.kind, finding.kind):
            return False
        return self.narrows_to(finding)

    def narrows_to(self, finding: Finding) -> bool:
        """Inside the listed paths, purls and package globs, when any are listed."""
        if self.paths and not any(_path_match(p, finding) for p in self.paths):
            return False
        if self.purls and finding.prop("purl") not in self.purls:
            return False
        return not self.packages or any(_package_match(g, finding) for g in self.packages)

    @property
    def license_id(self) -> str | None:
        """The license this entry excepts: `license:ID`'s ID, or the id of a `.trivyignore.yaml` `licenses:`
        entry; None for every other entry."""
        if self.id[: len(LICENSE_PREFIX)].lower() == LICENSE_PREFIX:
            return self.id[len(LICENSE_PREFIX) :].strip() or None
        return self.id if self.kind is Kind.LICENSE else None

    def covers(self, finding: Finding) -> bool:
        """A license exception for this license finding's package (which license it accepts is the policy's
        question: it may be one part of the finding's expression)."""
        return self.license_id is not None and finding.kind is Kind.LICENSE and self.narrows_to(finding)

    def suppression(self) -> Suppression:
        """How a match is recorded in every output."""
        where = f" ({self.origin})" if self.origin else ""
        expires = self.expires.isoformat() if self.expires else None
        return Suppression(by="ignore", reason=f"{self.reason}{where}", expires=expires)


def _same_rule(wanted: str, finding: Finding) -> bool:
    key = rule_key(wanted).upper()
    return any(rule_key(i).upper() == key for i in (finding.id, *finding.aliases))


def _same_license(wanted: str, license_id: str) -> bool:
    from gate.decide.licenses import normalise

    if wanted == "*":
        return True
    return normalise(wanted).lower() == normalise(license_id.strip().strip("()")).lower()


def _package_match(pattern: str, finding: Finding) -> bool:
    purl = finding.prop("purl")
    return (finding.package is not None and fnmatch.fnmatchcase(finding.package, pattern)) or (
        purl is not None and fnmatch.fnmatchcase(purl, pattern)
    )


def _config_scope(scope: Kind, kind: Kind) -> bool:
    return scope is Kind.MISCONFIGURATION and kind is Kind.POLICY


def _path_match(pattern: str, finding: Finding) -> bool:
    candidates = [finding.target]
    if finding.location is not None:
        candidates.append(finding.location.path)
    return any(fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.rstrip("/") + "/*") for c in candidates)


def _date(value: Any, origin: str, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{what}: {value!r} is not a date (YYYY-MM-DD)", path=origin) from None


def parse_trivyignore(text: str, origin: str) -> tuple[IgnoreEntry, ...]:
    """Plain `.trivyignore`: one id per line, `#` comments, optional `exp:YYYY-MM-DD`."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _LINE.match(line)
        if m is None:
            raise ConfigError(f"line {number}: expected 'ID' or 'ID exp:YYYY-MM-DD', found {line!r}", path=origin)
        expires = _date(m["exp"], origin, f"line {number}")
        entries.append(IgnoreEntry(id=m["id"], reason="listed in .trivyignore", origin=origin, expires=expires))
    return tuple(entries)


def _structured(doc: Any, origin: str) -> tuple[IgnoreEntry, ...]:
    from gate.decide import harbor

    if harbor.is_harbor(doc):
        ids, expires = harbor.allowlist_ids(doc, origin)
        return tuple(IgnoreEntry(id=i, reason=harbor.REASON, origin=origin, expires=expires) for i in ids)
    if isinstance(doc, dict) and set(doc) & set(_TRIVY_SECTIONS):
        return tuple(
            _entry(item, origin, f"{section}[{i}]", kind=_TRIVY_SECTIONS[section])
            for section in _TRIVY_SECTIONS
            for i, item in enumerate(doc.get(section) or ())
        )
    items = doc.get("ignore") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ConfigError(
            "expected a list of {id, reason, expires, paths, purls, packages} entries or a .trivyignore.yaml",
            path=origin,
        )
    return tuple(_entry(item, origin, f"entry {i + 1}") for i, item in enumerate(items))


def _entry(item: Any, origin: str, where: str, *, kind: Kind | None = None) -> IgnoreEntry:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
        raise ConfigError(f"{where}: each entry needs a string 'id'", path=origin)
    for key in ("paths", "purls", "packages"):
        value = item.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: '{key}' must be a list of strings", path=origin)
    reason = item.get("reason") or item.get("statement") or "listed in ignore file"
    return IgnoreEntry(
        id=item["id"].strip(),
        reason=str(reason),
        origin=origin,
        expires=_date(item.get("expires", item.get("expired_at")), origin, f"{where}: expires"),
        paths=tuple(item.get("paths", ())),
        purls=tuple(item.get("purls", ())),
        kind=kind,
        packages=tuple(item.get("packages", ())),
    )


def read_ignore_file(path: Path) -> tuple[IgnoreEntry, ...]:
    """Read any supported ignore file, telling the formats apart by content, not by name."""
    from gate.safe_yaml import load_file

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("ignore file not found", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read ignore file: {exc}", path=str(path)) from None
    # JSON first: Harbor's API answers on one line without spaces, which would otherwise read as a .trivyignore id.
    structured = text.lstrip().startswith(("{", "["))
    if not structured and all(
        _LINE.match(line.split("#", 1)[0].strip()) for line in text.splitlines() if line.split("#", 1)[0].strip()
    ):
        return parse_trivyignore(text, str(path))
    doc = load_file(path)
    return _structured(doc, str(path))


def from_config(items: Iterable[Any], origin: str) -> tuple[IgnoreEntry, ...]:
    """Inline `ignore:` entries of the config file (already schema-checked)."""
    return tuple(
        IgnoreEntry(
            id=i.id,
            reason=i.reason,
            origin=origin,
            expires=_date(i.expires, origin, f"ignore {i.id}: expires"),
            paths=i.paths,
            purls=i.purls,
            packages=i.packages,
        )
        for i in items
    )
