"""Reads GitLab container-scanning reports (`gl-container-scanning-report.json`, schema 14.x/15.x) into findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from gate.errors import InputError
from gate.ingest.base import obj as _obj
from gate.ingest.base import text as _text
from gate.model import Finding, FixState, Kind, Report, Severity, Skipped, Source, Suppression

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


class _Bad(Exception):
    """A vulnerability entry this reader cannot use; it becomes a `Skipped`."""


@dataclass(slots=True)
class _Scope:
    origin: str
    tool: str
    tool_version: str | None
    remediations: dict[str, str]
    """Vulnerability `id` → the summary of a remediation that fixes it."""
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


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
        scope = _Scope(
            origin=origin,
            tool=(_text(scanner.get("id")) or "gitlab-container-scanning").lower(),
            tool_version=_text(scanner.get("version")),
            remediations=_remediations(remediations or ()),
        )
        for index, entry in enumerate(doc["vulnerabilities"]):
            try:
                if not isinstance(entry, dict):
                    raise _Bad("not an object")
                scope.findings.append(_vulnerability(scope, entry))
            except _Bad as exc:
                scope.skipped.append(Skipped(origin, f"vulnerabilities[{index}]: {exc}"))
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                # A field of an unexpected type spoils that entry, not the report.
                reason = f"vulnerabilities[{index}]: malformed entry ({type(exc).__name__}: {exc})"
                scope.skipped.append(Skipped(origin, reason))
        images = {f.target for f in scope.findings}
        systems = {f.prop("os") for f in scope.findings}
        return Report(
            tool=scope.tool,
            path=origin,
            findings=tuple(scope.findings),
            skipped=tuple(scope.skipped),
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
    found: dict[str, str] = {}
    for entry in entries:
        summary = _text(entry.get("summary")) if isinstance(entry, dict) else None
        fixes = entry.get("fixes") if isinstance(entry, dict) else None
        if summary and isinstance(fixes, list):
            for fix in fixes:
                fixed_id = _text(fix.get("id")) if isinstance(fix, dict) else None
                if fixed_id:
                    found.setdefault(fixed_id, summary)
    return found


def _vulnerability(scope: _Scope, entry: dict[str, Any]) -> Finding:
    ids = _identifiers(entry.get("identifiers"))
    if not ids:
        raise _Bad("no identifiers (a CVE or another advisory id is required)")
    location = _obj(entry.get("location"))
    dependency = _obj(location.get("dependency"))
    package = _text(_obj(dependency.get("package")).get("name"))
    if package is None:
        raise _Bad(f"{ids[0]}: missing location.dependency.package.name")
    version = _text(dependency.get("version"))
    word = entry.get("severity")
    fixed, state = _fix(scope, entry, package)
    system = _text(location.get("operating_system"))
    finding = Finding.create(
        id=ids[0],
        aliases=ids[1:],
        kind=Kind.VULNERABILITY,
        severity=Severity.parse(word) if isinstance(word, str) else Severity.UNKNOWN,
        title=_text(entry.get("name")) or f"{ids[0]} in {package} {version or ''}".rstrip(),
        target=_text(location.get("image")) or UNKNOWN_IMAGE,
        package=package,
        installed_version=version,
        fixed_version=fixed,
        fix_state=state,
        sources=(
            Source(scope.tool, scope.origin, scope.tool_version, ids[0], word if isinstance(word, str) else None),
        ),
        description=_text(entry.get("description")) or "",
        references=_links(entry),
        help_uri=_first_url(entry.get("identifiers")),
        tool_suppression=_suppression(entry.get("details")),
        # "Unknown" is what writers put when they do not know the OS (ours does): not an OS.
        properties=(("os", system),) if system and system != "Unknown" else (),
    )
    return finding


def _identifiers(value: Any) -> list[str]:
    """The advisory ids, CVEs first (GitLab lists them in any order; the first CVE is our canonical id)."""
    if not isinstance(value, list):
        return []
    ids = [i for item in value if isinstance(item, dict) and (i := _text(item.get("value")) or _text(item.get("name")))]
    unique = list(dict.fromkeys(ids))
    return sorted(unique, key=lambda i: not i.upper().startswith("CVE-"))


def _fix(scope: _Scope, entry: dict[str, Any], package: str) -> tuple[str | None, FixState]:
    hints = [_text(entry.get("solution")), scope.remediations.get(_text(entry.get("id")) or "")]
    for hint in hints:
        upgrade = _UPGRADE.match(hint) if hint else None
        if upgrade and upgrade.group("package") == package:
            return upgrade.group("version"), FixState.FIXED
    no_fix = _NO_FIX.match(hints[0]) if hints[0] else None
    if no_fix:
        return None, _FIX_STATES.get(no_fix.group("state"), FixState.UNKNOWN)
    return None, FixState.UNKNOWN


def _links(entry: dict[str, Any]) -> tuple[str, ...]:
    links = entry.get("links")
    urls = [_text(link.get("url")) for link in links if isinstance(link, dict)] if isinstance(links, list) else []
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
