"""VEX as a suppressor: the newest matching OpenVEX statement decides, and only not_affected/fixed excuse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote

from gate.ingest.vex import VexStatement, read_vex
from gate.model import Finding, Suppression, image_key


@dataclass(frozen=True, slots=True)
class Purl:
    """The parts of a package URL that matching needs (type, name, version, qualifiers)."""

    type: str
    name: str
    version: str | None
    qualifiers: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Purl | None:
        """Parse `pkg:type/namespace/name@version?qualifiers`; None when it is not a purl."""
        if not text.startswith("pkg:"):
            return None
        rest = text[4:].split("#", 1)[0]
        rest, _, query = rest.partition("?")
        path, _, version = rest.partition("@")
        parts = path.split("/")
        if len(parts) < 2:
            return None
        qualifiers = {k: v[0] for k, v in parse_qs(query).items()}
        return cls(parts[0].lower(), unquote(parts[-1]), unquote(version) or None, qualifiers)


def _product_matches(product: str, finding: Finding) -> bool:
    purl = Purl.parse(product)
    if purl is None:
        return image_key(product) == image_key(finding.target)
    if purl.type == "oci":
        repo = purl.qualifiers.get("repository_url", "")
        candidates = {repo, f"{repo.rstrip('/')}/{purl.name}"} if repo else {purl.name}
        return image_key(finding.target) in {image_key(c) for c in candidates if c}
    return _package_matches(purl, finding)


def _package_matches(purl: Purl, finding: Finding) -> bool:
    if (finding.package or "").lower() != purl.name.lower():
        return False
    return purl.version is None or finding.installed_version in (None, purl.version)


def _applies(statement: VexStatement, finding: Finding) -> bool:
    ids = {i.upper() for i in statement.ids}
    if finding.id.upper() not in ids and not ids.intersection(a.upper() for a in finding.aliases):
        return False
    if statement.products and not any(_product_matches(p, finding) for p in statement.products):
        return False
    if statement.subcomponents:
        purls = [p for p in map(Purl.parse, statement.subcomponents) if p is not None]
        return any(_package_matches(p, finding) for p in purls)
    return True


@dataclass(frozen=True, slots=True)
class VexSuppressor:
    """All statements of all VEX files; see `gate.decide.verdict.Suppressor`."""

    statements: tuple[VexStatement, ...]

    def suppression_for(self, finding: Finding) -> Suppression | None:
        """The newest statement about this finding wins (OpenVEX: later statements supersede)."""
        matching = [s for s in self.statements if _applies(s, finding)]
        if not matching:
            return None
        newest = max(matching, key=lambda s: s.timestamp or "")
        if not newest.suppresses:
            return None
        detail = ": ".join(x for x in (newest.justification, newest.impact_statement) if x)
        reason = f"VEX {newest.status}" + (f" ({detail})" if detail else "") + f" [{newest.origin}]"
        return Suppression(by="vex", reason=reason)


def load_vex_rules(paths: Sequence[Path]) -> tuple[VexSuppressor, ...]:
    """Read every VEX file into one suppressor."""
    return (VexSuppressor(tuple(s for p in paths for s in read_vex(p))),)
