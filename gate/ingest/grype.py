"""Reads Grype JSON reports (`grype -o json`, every schema from 2021 on) into findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gate.errors import InputError
from gate.gcpause import collector_paused
from gate.ingest.base import obj as _obj
from gate.ingest.base import text as _text
from gate.model import Finding, FixState, Kind, Location, Report, Severity, Skipped, Source, Suppression

_SEVERITY = {
    "Critical": Severity.CRITICAL,
    "High": Severity.HIGH,
    "Medium": Severity.MEDIUM,
    "Low": Severity.LOW,
    "Negligible": Severity.LOW,
    "Unknown": Severity.UNKNOWN,
}

# grype/vulnerability/fix.go; an empty or missing state (old schemas, snapshot goldens) is unknown.
_FIX_STATE = {
    "fixed": FixState.FIXED,
    "not-fixed": FixState.NOT_FIXED,
    "wont-fix": FixState.WONT_FIX,
    "unknown": FixState.UNKNOWN,
}

_OS_PACKAGE_TYPES = frozenset({"apk", "deb", "rpm", "alpm", "portage"})

UNKNOWN_TARGET = "unknown target (Grype report without source)"
"""The target of every finding of a report trimmed to its `matches` (tickets, DefectDojo uploads):
what was scanned is gone with `source`, and guessing from artifact paths would invent targets."""


class _Bad(Exception):
    """A match this reader cannot use; it becomes a `Skipped`."""


@dataclass(slots=True)
class _Scope:
    origin: str
    tool_version: str | None
    image: str | None
    """The image reference as the user typed it, for image sources."""
    fallback_target: str
    os: str | None
    path_targets: bool
    """Whether a directory scan's lock file may stand in as the target (not without `source`)."""
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class GrypeParser:
    """Grype's JSON report: an object with a `matches` list and Grype's `descriptor` or `source`, or
    only `matches` whose first entry has Grype's own shape (`vulnerability`, `artifact`, `matchDetails`)."""

    name = "grype"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        if not isinstance(doc, dict) or "runs" in doc:
            return False
        matches = doc.get("matches")
        if not isinstance(matches, list):
            return False
        return "descriptor" in doc or "source" in doc or _grype_match(matches)

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        descriptor = doc.get("descriptor")
        if descriptor is not None and not isinstance(descriptor, dict):
            raise InputError("Grype report: `descriptor` must be an object", path=origin)
        ignored = doc.get("ignoredMatches")
        if ignored is not None and not isinstance(ignored, list):
            raise InputError("Grype report: `ignoredMatches` must be a list", path=origin)
        scope = _scope(doc, descriptor or {}, origin)
        with collector_paused():
            _read_matches(scope, doc["matches"], "matches")
            _read_matches(scope, ignored or (), "ignoredMatches")
        return Report(
            tool="grype",
            path=origin,
            findings=tuple(scope.findings),
            skipped=tuple(scope.skipped),
            tool_version=scope.tool_version,
            artifact=scope.image or scope.fallback_target,
            os=scope.os,
        )


def _grype_match(matches: list[Any]) -> bool:
    """A bare `matches` list is Grype's only when its entries carry all three of Grype's match parts:
    other tools' `matches` lists (search hits, strings) have none of them. The first entry decides,
    so sniffing stays O(1) on 100k matches; later odd entries become `Skipped` as usual."""
    if not matches or not isinstance(first := matches[0], dict):
        return False
    return (
        isinstance(first.get("vulnerability"), dict)
        and isinstance(first.get("artifact"), dict)
        and isinstance(first.get("matchDetails"), list)
    )


def _scope(doc: dict[str, Any], descriptor: dict[str, Any], origin: str) -> _Scope:
    if "source" not in doc:
        return _Scope(
            origin=origin,
            tool_version=_version(descriptor),
            image=None,
            fallback_target=UNKNOWN_TARGET,
            os=_distro(doc),
            path_targets=False,
        )
    source = _obj(doc.get("source"))
    target = source.get("target")
    image = None
    if isinstance(target, dict):
        # Image sources (and newer SBOM sources) describe the target as an object.
        image = _text(target.get("userInput")) or _text(target.get("name")) or _text(target.get("path"))
        fallback = image or "unknown"
    else:
        # Grype 0.2x quoted directory targets (`"\".\""`); the quotes are not part of the path.
        fallback = (_text(target) or "unknown").strip('"') or "."
    if source.get("type") != "image":
        image = None
    return _Scope(
        origin=origin,
        tool_version=_version(descriptor),
        image=image,
        fallback_target=fallback,
        os=_distro(doc),
        path_targets=True,
    )


def _version(descriptor: dict[str, Any]) -> str | None:
    version = _text(descriptor.get("version"))
    return None if version == "[not provided]" else version


def _read_matches(scope: _Scope, matches: Any, key: str) -> None:
    append = scope.findings.append
    for index, match in enumerate(matches):
        try:
            if not isinstance(match, dict):
                raise _Bad("not an object")
            finding = _match(scope, match, ignored=key == "ignoredMatches")
        except _Bad as exc:
            scope.skipped.append(Skipped(scope.origin, f"{key}[{index}]: {exc}"))
            continue
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            # A field of an unexpected type spoils that match, not the report.
            reason = f"{key}[{index}]: malformed match ({type(exc).__name__}: {exc})"
            scope.skipped.append(Skipped(scope.origin, reason))
            continue
        append(finding)


def _match(scope: _Scope, match: dict[str, Any], *, ignored: bool) -> Finding:
    vuln = match.get("vulnerability")
    artifact = match.get("artifact")
    if not isinstance(vuln, dict) or not isinstance(artifact, dict):
        raise _Bad("missing vulnerability or artifact")
    vid = vuln.get("id")
    name = artifact.get("name")
    if not isinstance(vid, str) or not vid:
        raise _Bad("missing vulnerability.id")
    if not isinstance(name, str) or not name:
        raise _Bad(f"{vid}: missing artifact.name")
    version = artifact.get("version")
    if version is not None and not isinstance(version, str):
        raise _Bad(f"{vid}: artifact.version is not a string")
    related = [r for r in match.get("relatedVulnerabilities") or () if isinstance(r, dict)]
    word = vuln.get("severity")
    fix = _obj(vuln.get("fix"))
    path = _location(artifact)
    description = _text(vuln.get("description")) or next((d for r in related if (d := _text(r.get("description")))), "")
    aliases = [r["id"] for r in related if isinstance(r.get("id"), str)] if related else None
    return _create(
        vid,
        aliases,
        kind=Kind.VULNERABILITY,
        severity=_severity(word),
        title=_title(vid, name, version, description),
        target=scope.image or (_path_target(path) if scope.path_targets else None) or scope.fallback_target,
        package=name,
        installed_version=version or None,
        fixed_version=_fixed_version(fix, match.get("matchDetails")),
        fix_state=_FIX_STATE.get(fix.get("state") or "unknown", FixState.UNKNOWN),
        location=Location(path=path) if path else None,
        sources=(Source("grype", scope.origin, scope.tool_version, vid, word if isinstance(word, str) else None),),
        description=description,
        references=_references(vuln),
        help_uri=_text(vuln.get("dataSource")),
        cvss_score=_cvss(vuln, related),
        package_class="os-pkgs" if artifact.get("type") in _OS_PACKAGE_TYPES else "lang-pkgs",
        epss=_epss(vuln, related),
        kev=bool(vuln.get("knownExploited")) or any(bool(r.get("knownExploited")) for r in related),
        tool_suppression=_ignore_reason(match) if ignored else None,
        properties=_properties(scope, artifact),
    )


def _create(vid: str, aliases: list[str] | None, **fields: Any) -> Finding:
    # Without aliases `Finding.create` keeps the id as it is; skipping its set-and-sort work matters at 100k.
    if not aliases and vid == vid.strip():
        return Finding(id=vid, **fields)
    return Finding.create(id=vid, aliases=aliases or (), **fields)


def _severity(word: Any) -> Severity:
    if not isinstance(word, str):
        return Severity.UNKNOWN
    found = _SEVERITY.get(word)
    return found if found is not None else Severity.parse(word)


def _title(vid: str, name: str, version: str | None, description: str) -> str:
    # Grype has no title field: the first sentence of the description reads best, else a plain label.
    if description:
        first = description.split("\n", 1)[0].split(". ", 1)[0].strip()
        if 0 < len(first) <= 200:
            return first
    return f"{vid} in {name} {version or ''}".rstrip()


def _location(artifact: dict[str, Any]) -> str | None:
    locations = artifact.get("locations")
    if isinstance(locations, list) and locations and isinstance(locations[0], dict):
        return _text(locations[0].get("path"))
    return None


def _path_target(path: str | None) -> str | None:
    # Directory scans: the lock file is the target, as Trivy's `Target` is, so the two tools meet
    # in dedupe. Grype writes `/components/yarn.lock` where Trivy writes `components/yarn.lock`.
    if not path:
        return None
    trimmed = path.lstrip("/")
    if trimmed.startswith("./"):
        trimmed = trimmed[2:]
    return trimmed or path


def _fixed_version(fix: dict[str, Any], details: Any) -> str | None:
    # Grype's own suggestion (matchDetails[].fix.suggestedVersion, newer schemas) is the version to
    # move to; otherwise list every fix version, comma-separated as Trivy's FixedVersion does.
    if isinstance(details, list):
        for detail in details:
            suggested = detail.get("fix") if isinstance(detail, dict) else None
            if isinstance(suggested, dict) and _text(suggested.get("suggestedVersion")):
                return str(suggested["suggestedVersion"]).strip()
    versions = fix.get("versions")
    if isinstance(versions, list):
        listed = [v.strip() for v in versions if isinstance(v, str) and v.strip()]
        return ", ".join(listed) or None
    return None


def _cvss(vuln: dict[str, Any], related: list[dict[str, Any]]) -> float | None:
    """Base score of the Primary CVSS v3.x entry, else any v3.x, else the first one with a score."""
    for holder in (vuln, *related):
        entries = [e for e in holder.get("cvss") or () if isinstance(e, dict)]
        scored = [(e, s) for e in entries if (s := _base_score(e)) is not None]
        if not scored:
            continue
        v3 = [(e, s) for e, s in scored if str(e.get("version", "")).startswith("3")]
        primary = [s for e, s in v3 if e.get("type") == "Primary"]
        if primary:
            return primary[0]
        return v3[0][1] if v3 else scored[0][1]
    return None


def _base_score(entry: dict[str, Any]) -> float | None:
    metrics = entry.get("metrics")
    score = metrics.get("baseScore") if isinstance(metrics, dict) else None
    if isinstance(score, int | float) and not isinstance(score, bool) and score > 0:
        return float(score)
    return None


def _epss(vuln: dict[str, Any], related: list[dict[str, Any]]) -> float | None:
    scores = [
        float(e["epss"])
        for holder in (vuln, *related)
        for e in holder.get("epss") or ()
        if isinstance(e, dict) and isinstance(e.get("epss"), int | float) and not isinstance(e.get("epss"), bool)
    ]
    return max(scores) if scores else None


def _references(vuln: dict[str, Any]) -> tuple[str, ...]:
    urls = vuln.get("urls")
    refs = [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []
    source = _text(vuln.get("dataSource"))
    if source and source not in refs:
        refs.insert(0, source)
    return tuple(refs)


def _ignore_reason(match: dict[str, Any]) -> Suppression:
    parts: list[str] = []
    for rule in match.get("appliedIgnoreRules") or ():
        if not isinstance(rule, dict):
            continue
        said = [f"{k}={v}" for k, v in rule.items() if isinstance(v, str) and v and k != "reason"]
        text = _text(rule.get("reason")) or ", ".join(said) or "ignore rule"
        parts.append(text)
    reason = "; ".join(parts) or "ignored by a Grype ignore rule"
    return Suppression(by="tool", reason=f"ignored by Grype: {reason}")


def _properties(scope: _Scope, artifact: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    props: list[tuple[str, str]] = []
    if scope.os:
        props.append(("os", scope.os))
    purl = artifact.get("purl")
    if isinstance(purl, str) and purl:
        props.append(("purl", purl))
    return tuple(props)


def _distro(doc: dict[str, Any]) -> str | None:
    distro = doc.get("distro")
    if not isinstance(distro, dict):
        return None
    words = [w for w in (_text(distro.get("name")), _text(distro.get("version"))) if w]
    return " ".join(words) or None


PARSER = GrypeParser()
