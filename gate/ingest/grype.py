"""Reads Grype JSON reports (`grype -o json`, every schema from 2021 on) into findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gate.errors import InputError
from gate.exploits import EPSS_PERCENTILE, KEV_ACTION, KEV_ADDED, KEV_DUE, KEV_RANSOMWARE
from gate.ingest.base import (
    Unreadable,
    broken,
    clip,
    objects,
    one_of,
    opt_number,
    opt_obj,
    opt_str,
    req_str,
    score,
    str_list,
    unreadable,
    within,
    wrong,
)
from gate.model import Finding, FixState, Kind, Location, Report, Severity, Source, Suppression
from gate.speed import collector_paused

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
        try:
            scope = _scope(doc, descriptor or {}, origin)
        except Unreadable as exc:
            raise unreadable(exc, "", origin) from None
        with collector_paused():
            _read_matches(scope, doc["matches"], "matches")
            _read_matches(scope, ignored or (), "ignoredMatches")
        return Report(
            tool="grype",
            path=origin,
            findings=tuple(scope.findings),
            tool_version=scope.tool_version,
            artifact=scope.image or scope.fallback_target,
            os=scope.os,
        )


def _grype_match(matches: list[Any]) -> bool:
    """A bare `matches` list is Grype's only when its entries carry all three of Grype's match parts:
    other tools' `matches` lists (search hits, strings) have none of them. The first entry decides,
    so sniffing stays O(1) on 100k matches; a later entry that cannot be read is an error as usual."""
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
    source = opt_obj(doc, "source")
    target = source.get("target")
    image = None
    if isinstance(target, dict):
        # Image sources (and newer SBOM sources) describe the target as an object.
        try:
            image = opt_str(target, "userInput") or opt_str(target, "name") or opt_str(target, "path")
        except Unreadable as exc:
            raise Unreadable(f"source.target.{exc.field}", exc.message) from None
        fallback = image or "unknown"
    elif target is None or isinstance(target, str):
        # Grype 0.2x quoted directory targets (`"\".\""`); the quotes are not part of the path.
        fallback = ((target or "").strip() or "unknown").strip('"') or "."
    else:
        raise wrong("source.target", target, "a string or an object")
    source_type = source.get("type")
    if source_type is not None and not isinstance(source_type, str):
        raise wrong("source.type", source_type, "a string")
    if source_type != "image":
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
    try:
        version = opt_str(descriptor, "version")
    except Unreadable as exc:
        raise Unreadable(f"descriptor.{exc.field}", exc.message) from None
    return None if version == "[not provided]" else version


def _read_matches(scope: _Scope, matches: Any, key: str) -> None:
    append = scope.findings.append
    for index, match in enumerate(matches):
        try:
            if not isinstance(match, dict):
                raise wrong("", match, "an object")
            finding = _match(scope, match, ignored=key == "ignoredMatches")
        except Unreadable as exc:
            raise unreadable(exc, f"{key}[{index}]", scope.origin) from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # A shape our checks did not foresee: still this match's error, never a pass.
            raise broken(exc, f"{key}[{index}]", scope.origin) from None
        append(finding)


def _match(scope: _Scope, match: dict[str, Any], *, ignored: bool) -> Finding:
    vuln = _part(match, "vulnerability")
    artifact = _part(match, "artifact")
    vid = within("vulnerability", req_str, vuln, "id")
    name = within("artifact", req_str, artifact, "name")
    version = within("artifact", opt_str, artifact, "version")
    related = objects(match, "relatedVulnerabilities")
    holders = [("vulnerability", vuln), *((f"relatedVulnerabilities[{i}]", r) for i, r in enumerate(related))]
    word = within("vulnerability", opt_str, vuln, "severity")
    severity = _severity(word)
    fix = within("vulnerability", opt_obj, vuln, "fix")
    state = within("vulnerability.fix", opt_str, fix, "state")
    fix_state = _FIX_STATE[one_of(state or "unknown", "vulnerability.fix.state", _FIX_STATE) or "unknown"]
    path = _location(artifact)
    texts = [within(where, opt_str, holder, "description") for where, holder in holders]
    description = next((d for d in texts if d), "")
    aliases = [within(where, req_str, r, "id") for where, r in holders[1:]] or None
    package_type = within("artifact", opt_str, artifact, "type")
    return _create(
        vid,
        aliases,
        kind=Kind.VULNERABILITY,
        severity=severity,
        title=_title(vid, name, version, description),
        target=scope.image or (_path_target(path) if scope.path_targets else None) or scope.fallback_target,
        package=name,
        installed_version=version or None,
        fixed_version=_fixed_version(fix, objects(match, "matchDetails")),
        fix_state=fix_state,
        location=Location(path=path) if path else None,
        sources=(Source("grype", scope.origin, scope.tool_version, vid, word),),
        description=description,
        references=_references(vuln),
        help_uri=within("vulnerability", opt_str, vuln, "dataSource"),
        cvss_score=_cvss(holders),
        package_class="os-pkgs" if package_type in _OS_PACKAGE_TYPES else "lang-pkgs",
        epss=_epss(holders),
        kev=any(_kev(where, holder) for where, holder in holders),
        tool_suppression=_ignore_reason(match) if ignored else None,
        properties=_with(_properties(scope, artifact), _exploit_properties(holders)),
    )


def _part(match: dict[str, Any], key: str) -> dict[str, Any]:
    value = match.get(key)
    if not isinstance(value, dict):
        raise Unreadable(key, "missing") if value is None else wrong(key, value, "an object")
    return value


def _kev(where: str, holder: dict[str, Any]) -> bool:
    # Grype writes a list of KEV entries (older builds a flag): any entry at all means listed.
    value = holder.get("knownExploited")
    if value is None or isinstance(value, bool | list):
        return bool(value)
    raise wrong(f"{where}.knownExploited", value, "a list")


def _create(vid: str, aliases: list[str] | None, **fields: Any) -> Finding:
    # Without aliases `Finding.create` keeps the id as it is; skipping its set-and-sort work matters at 100k.
    if not aliases and vid == vid.strip():
        return Finding(id=vid, **fields)
    return Finding.create(id=vid, aliases=aliases or (), **fields)


def _severity(word: str | None) -> Severity:
    """Grype's six words (any case); none is UNKNOWN. Another word could be a Critical read as nothing."""
    if word is None:
        return Severity.UNKNOWN
    found = _SEVERITY.get(word) or _SEVERITY.get(word.capitalize())
    if found is None:
        expected = "Critical, High, Medium, Low, Negligible or Unknown"
        raise Unreadable("vulnerability.severity", f"unknown severity {clip(word)} (expected {expected})")
    return found


def _title(vid: str, name: str, version: str | None, description: str) -> str:
    # Grype has no title field: the first sentence of the description reads best, else a plain label.
    if description:
        first = description.split("\n", 1)[0].split(". ", 1)[0].strip()
        if 0 < len(first) <= 200:
            return first
    return f"{vid} in {name} {version or ''}".rstrip()


def _location(artifact: dict[str, Any]) -> str | None:
    locations = within("artifact", objects, artifact, "locations")
    return within("artifact.locations[0]", opt_str, locations[0], "path") if locations else None


def _path_target(path: str | None) -> str | None:
    # Directory scans: the lock file is the target, as Trivy's `Target` is, so the two tools meet
    # in dedupe. Grype writes `/components/yarn.lock` where Trivy writes `components/yarn.lock`.
    if not path:
        return None
    trimmed = path.lstrip("/")
    if trimmed.startswith("./"):
        trimmed = trimmed[2:]
    return trimmed or path


def _fixed_version(fix: dict[str, Any], details: list[dict[str, Any]]) -> str | None:
    # Grype's own suggestion (matchDetails[].fix.suggestedVersion, newer schemas) is the version to
    # move to; otherwise list every fix version, comma-separated as Trivy's FixedVersion does.
    for index, detail in enumerate(details):
        suggested = within(f"matchDetails[{index}]", opt_obj, detail, "fix")
        version = within(f"matchDetails[{index}].fix", opt_str, suggested, "suggestedVersion")
        if version:
            return version
    listed = [v.strip() for v in within("vulnerability.fix", str_list, fix, "versions") if v.strip()]
    return ", ".join(listed) or None


def _cvss(holders: list[tuple[str, dict[str, Any]]]) -> float | None:
    """Base score of the Primary CVSS v3.x entry, else any v3.x, else the first one with a score."""
    found: float | None = None
    for where, holder in holders:
        scored = []
        for index, entry in enumerate(within(where, objects, holder, "cvss")):
            place = f"{where}.cvss[{index}]"
            metrics = within(place, opt_obj, entry, "metrics")
            value = within(f"{place}.metrics", score, metrics, "baseScore")
            version = within(place, opt_str, entry, "version") or ""
            kind = within(place, opt_str, entry, "type")
            if value is not None:
                scored.append((version, kind, value))
        if not scored or found is not None:
            continue  # every entry is still checked: an unreadable score later in the match is its error
        v3 = [(k, s) for v, k, s in scored if v.startswith("3")]
        primary = [s for k, s in v3 if k == "Primary"]
        found = primary[0] if primary else v3[0][1] if v3 else scored[0][2]
    return found


def _epss(holders: list[tuple[str, dict[str, Any]]]) -> float | None:
    scores: list[float] = []
    for where, holder in holders:
        for index, entry in enumerate(within(where, objects, holder, "epss")):
            value = within(f"{where}.epss[{index}]", opt_number, entry, "epss")
            if value is not None and not 0 <= value <= 1:
                raise Unreadable(f"{where}.epss[{index}].epss", f"an EPSS score must be between 0 and 1, got {value:g}")
            if value is not None:
                scores.append(value)
    return max(scores) if scores else None


def _references(vuln: dict[str, Any]) -> tuple[str, ...]:
    refs = list(within("vulnerability", str_list, vuln, "urls"))
    source = within("vulnerability", opt_str, vuln, "dataSource")
    if source and source not in refs:
        refs.insert(0, source)
    return tuple(refs)


def _ignore_reason(match: dict[str, Any]) -> Suppression:
    parts: list[str] = []
    for index, rule in enumerate(objects(match, "appliedIgnoreRules")):
        said = [f"{k}={v}" for k, v in rule.items() if isinstance(v, str) and v and k != "reason"]
        text = within(f"appliedIgnoreRules[{index}]", opt_str, rule, "reason") or ", ".join(said) or "ignore rule"
        parts.append(text)
    reason = "; ".join(parts) or "ignored by a Grype ignore rule"
    return Suppression(by="tool", reason=f"ignored by Grype: {reason}")


def _properties(scope: _Scope, artifact: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    props: list[tuple[str, str]] = []
    if scope.os:
        props.append(("os", scope.os))
    purl = within("artifact", opt_str, artifact, "purl")
    if purl:
        props.append(("purl", purl))
    return tuple(props)


def _with(props: tuple[tuple[str, str], ...], more: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(props + more)) if more else props


_KEV_FIELDS = (
    ("dateAdded", KEV_ADDED),
    ("dueDate", KEV_DUE),
    ("knownRansomwareCampaignUse", KEV_RANSOMWARE),
    ("requiredAction", KEV_ACTION),
)


def _exploit_properties(holders: list[tuple[str, dict[str, Any]]]) -> tuple[tuple[str, str], ...]:
    """Grype's KEV entry (dates, ransomware use) and the best EPSS entry's percentile, for the summary."""
    props: dict[str, str] = {}
    best = -1.0
    for where, holder in holders:
        listed = holder.get("knownExploited")
        if isinstance(listed, list):
            for index, entry in enumerate(listed):
                if not isinstance(entry, dict):
                    raise wrong(f"{where}.knownExploited[{index}]", entry, "an object")
                for key, prop in _KEV_FIELDS:
                    value = within(f"{where}.knownExploited[{index}]", opt_str, entry, key)
                    if value:
                        props.setdefault(prop, value)
        for index, entry in enumerate(objects(holder, "epss") if "epss" in holder else ()):
            score = entry.get("epss")
            rank = within(f"{where}.epss[{index}]", opt_number, entry, "percentile")
            if isinstance(score, int | float) and score > best and rank is not None and 0 <= rank <= 1:
                best = float(score)
                props[EPSS_PERCENTILE] = f"{rank:g}"
    return tuple(sorted(props.items()))


def _distro(doc: dict[str, Any]) -> str | None:
    distro = opt_obj(doc, "distro")
    words = [w for w in (within("distro", opt_str, distro, n) for n in ("name", "version")) if w]
    return " ".join(words) or None


PARSER = GrypeParser()
