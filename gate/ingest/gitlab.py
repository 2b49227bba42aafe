"""Reads GitLab container-scanning reports (`gl-container-scanning-report.json`, schema 14.x/15.x) into findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gate.errors import InputError
from gate.ingest.base import Unreadable, broken, clip, objects, opt_obj, opt_str, unreadable, within, wrong
from gate.ingest.base import obj as _obj
from gate.ingest.base import text as _text
from gate.model import Finding, FixState, Kind, Report, Severity, Source, Suppression

SUPPORTED_MAJORS = frozenset({14, 15})
"""Schema majors whose vulnerability shape (identifiers, location.image/operating_system/dependency) is
the one read here; 15.x is what GitLab's analyzers, Trivy's `gitlab.tpl` and our own emitter write."""

UNKNOWN_IMAGE = "unknown image (GitLab report without location.image)"

# "Upgrade X to Y" is how GitLab's analyzers, Trivy's gitlab.tpl and our emitter all word a fix; the
# report has no fixed-version field, so this hint (in `solution` or a remediation's summary) is all there is.
_UPGRADE = re.compile(r"^\s*Upgrade\s+(?P<package>\S+)\s+to\s+(?P<version>\S.*?)\s*\.?\s*$", re.IGNORECASE)
# Our own emitter's wording when nothing is fixed yet (gate.emit.gitlab.solution); it carries the fix state.
_NO_FIX = re.compile(r"^No fixed version of .+ is available yet \((?P<state>[a-z-]+)\)$")
_FIX_STATES = {state.value: state for state in FixState}
# The schema's severity enum (15.x); our own emitter writes the same words.
_SEVERITIES = {"Info": Severity.LOW, **{s.name.capitalize(): s for s in Severity}}


@dataclass(slots=True)
class _Scope:
    origin: str
    tool: str
    tool_version: str | None
    remediations: dict[str, str]
    """Vulnerability `id` → the summary of a remediation that fixes it."""
    findings: list[Finding] = field(default_factory=list)


class GitLabParser:
    """GitLab's container-scanning report: `version`, `scan.type: container_scanning`, `vulnerabilities`."""

    name = "gitlab"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        return (
            isinstance(doc, dict)
            and isinstance(doc.get("vulnerabilities"), list)
            and _obj(doc.get("scan")).get("type") == "container_scanning"
        )

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        _check_version(doc.get("version"), origin)
        scan = _obj(doc.get("scan"))
        scanner = _obj(scan.get("scanner")) or _obj(scan.get("analyzer"))
        remediations = doc.get("remediations")
        if remediations is not None and not isinstance(remediations, list):
            raise InputError("GitLab report: `remediations` must be a list", path=origin)
        try:
            fixes = _remediations(remediations or ())
        except Unreadable as exc:
            raise unreadable(exc, "remediations", origin) from None
        scope = _Scope(
            origin=origin,
            tool=(_text(scanner.get("id")) or "gitlab-container-scanning").lower(),
            tool_version=_text(scanner.get("version")),
            remediations=fixes,
        )
        for index, entry in enumerate(doc["vulnerabilities"]):
            where = f"vulnerabilities[{index}]"
            try:
                if not isinstance(entry, dict):
                    raise wrong("", entry, "an object")
                scope.findings.append(_vulnerability(scope, entry))
            except Unreadable as exc:
                raise unreadable(exc, where, origin) from None
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                # A shape our checks did not foresee: still this entry's error, never a pass.
                raise broken(exc, where, origin) from None
        images = {f.target for f in scope.findings}
        systems = {f.prop("os") for f in scope.findings}
        return Report(
            tool=scope.tool,
            path=origin,
            findings=tuple(scope.findings),
            tool_version=scope.tool_version,
            artifact=images.pop() if len(images) == 1 else None,
            os=systems.pop() if len(systems) == 1 else None,
        )


def _check_version(version: Any, origin: str) -> None:
    match = re.fullmatch(r"(\d+)\.\d+(?:\.\d+)?", version) if isinstance(version, str) else None
    if match is None:
        raise InputError("GitLab container-scanning report without a schema `version` (x.y.z)", path=origin)
    if int(match.group(1)) not in SUPPORTED_MAJORS:
        raise InputError(
            f"GitLab container-scanning report schema {version} is not supported (14.x and 15.x are read)",
            path=origin,
        )


def _remediations(entries: Any) -> dict[str, str]:
    # A remediation carries the fix version of the vulnerabilities it lists: one that cannot be read
    # could make a fixable vulnerability look unfixable (and `--only-fixed` pass it).
    found: dict[str, str] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise wrong(f"[{index}]", entry, "an object")
        try:
            summary = opt_str(entry, "summary")
            fixes = objects(entry, "fixes")
            ids = [opt_str(fix, "id") for fix in fixes]
        except Unreadable as exc:
            raise Unreadable(f"[{index}].{exc.field}", exc.message) from None
        for fixed_id in ids:
            if summary and fixed_id:
                found.setdefault(fixed_id, summary)
    return found


def _vulnerability(scope: _Scope, entry: dict[str, Any]) -> Finding:
    ids = _identifiers(entry)
    if not ids:
        raise Unreadable("identifiers", "missing (a CVE or another advisory id is required)")
    location = opt_obj(entry, "location")
    dependency = within("location", opt_obj, location, "dependency")
    package_part = within("location.dependency", opt_obj, dependency, "package")
    package = within("location.dependency.package", opt_str, package_part, "name")
    if package is None:
        raise Unreadable("location.dependency.package.name", "missing")
    version = within("location.dependency", opt_str, dependency, "version")
    word = opt_str(entry, "severity")
    severity = _severity(word)
    fixed, state = _fix(scope, entry, package)
    system = within("location", opt_str, location, "operating_system")
    image = within("location", opt_str, location, "image")
    name = opt_str(entry, "name")
    description = opt_str(entry, "description")
    finding = Finding.create(
        id=ids[0],
        aliases=ids[1:],
        kind=Kind.VULNERABILITY,
        severity=severity,
        title=name or f"{ids[0]} in {package} {version or ''}".rstrip(),
        target=image or UNKNOWN_IMAGE,
        package=package,
        installed_version=version,
        fixed_version=fixed,
        fix_state=state,
        sources=(Source(scope.tool, scope.origin, scope.tool_version, ids[0], word),),
        description=description or "",
        references=_links(entry),
        help_uri=_first_url(entry.get("identifiers")),
        tool_suppression=_suppression(entry.get("details")),
        # "Unknown" is what writers put when they do not know the OS (ours does): not an OS.
        properties=(("os", system),) if system and system != "Unknown" else (),
    )
    return finding


def _severity(word: str | None) -> Severity:
    if word is None:
        return Severity.UNKNOWN
    found = _SEVERITIES.get(word.capitalize())
    if found is None:
        raise Unreadable("severity", f"unknown severity {clip(word)} (expected {', '.join(_SEVERITIES)})")
    return found


def _identifiers(entry: dict[str, Any]) -> list[str]:
    """The advisory ids, CVEs first (GitLab lists them in any order; the first CVE is our canonical id)."""
    ids = []
    for index, item in enumerate(objects(entry, "identifiers")):
        value = within(f"identifiers[{index}]", opt_str, item, "value") or within(
            f"identifiers[{index}]", opt_str, item, "name"
        )
        if value is None:
            raise Unreadable(f"identifiers[{index}].value", "missing")
        within(f"identifiers[{index}]", opt_str, item, "url")
        ids.append(value)
    unique = list(dict.fromkeys(ids))
    return sorted(unique, key=lambda i: not i.upper().startswith("CVE-"))


def _fix(scope: _Scope, entry: dict[str, Any], package: str) -> tuple[str | None, FixState]:
    hints = [opt_str(entry, "solution"), scope.remediations.get(opt_str(entry, "id") or "")]
    for hint in hints:
        upgrade = _UPGRADE.match(hint) if hint else None
        if upgrade and upgrade.group("package") == package:
            return upgrade.group("version"), FixState.FIXED
    no_fix = _NO_FIX.match(hints[0]) if hints[0] else None
    if no_fix:
        return None, _FIX_STATES.get(no_fix.group("state"), FixState.UNKNOWN)
    return None, FixState.UNKNOWN


def _links(entry: dict[str, Any]) -> tuple[str, ...]:
    urls = [within(f"links[{i}]", opt_str, link, "url") for i, link in enumerate(objects(entry, "links"))]
    return tuple(dict.fromkeys(u for u in urls if u))


def _first_url(identifiers: Any) -> str | None:
    if not isinstance(identifiers, list):
        return None
    return next((u for item in identifiers if isinstance(item, dict) and (u := _text(item.get("url")))), None)


def _suppression(details: Any) -> Suppression | None:
    """Our emitter's record of a suppressed finding (GitLab has no suppression field of its own)."""
    held = _obj(_obj(details).get("suppression"))
    if held.get("type") != "text":
        return None
    reason = _text(held.get("value"))
    return Suppression(by="tool", reason=f"suppressed in the GitLab report: {reason}") if reason else None


PARSER = GitLabParser()
