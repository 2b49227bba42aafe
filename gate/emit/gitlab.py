"""GitLab report artifacts: a container_scanning report (schema 15.0.7) and a Code Quality report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gate.emit.base import EmitContext
from gate.emit.placement import Placed, image_name, placed_decisions
from gate.model import Finding, Kind, Severity, Verdict, image_key

name = "gitlab"

SCHEMA_VERSION = "15.0.7"
# A fixed namespace makes `id` a pure function of our fingerprint, so GitLab tracks a vulnerability
# across pipelines the way code scanning tracks partialFingerprints.

CS_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.UNKNOWN: "Unknown",
}
# Code Quality has five levels and no "unknown"; `blocker` is kept for what actually blocks the gate.
CQ_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "major",
    Severity.MEDIUM: "minor",
    Severity.LOW: "info",
    Severity.UNKNOWN: "info",
}
CQ_KINDS = frozenset({Kind.MISCONFIGURATION, Kind.SECRET, Kind.POLICY})
_URL_SCHEMES = ("https://", "http://", "ftp://")
_ID_TYPES: tuple[tuple[str, str, str], ...] = (
    ("CVE-", "cve", "https://nvd.nist.gov/vuln/detail/{}"),
    ("GHSA-", "ghsa", "https://github.com/advisories/{}"),
    ("GO-", "go", "https://pkg.go.dev/vuln/{}"),
    ("PYSEC-", "pysec", "https://osv.dev/vulnerability/{}"),
    ("RUSTSEC-", "rustsec", "https://rustsec.org/advisories/{}"),
    ("OSV-", "osv", "https://osv.dev/vulnerability/{}"),
)


def vulnerability_id(fingerprint: str) -> str:
    """The report's `id`: a UUID derived from our stable fingerprint.

    The fingerprint is already a sha256, so its first 128 bits shaped as a version-5 UUID are as
    stable and unique as `uuid5` over it, without hashing 20k strings a second time."""
    raw = bytearray(bytes.fromhex(fingerprint[:32]))
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def identifier(vuln_id: str) -> dict[str, str]:
    """One `identifiers[]` entry: typed (cve, ghsa, …) with its advisory URL when the id says where."""
    upper = vuln_id.upper()
    for prefix, kind, url in _ID_TYPES:
        if upper.startswith(prefix):
            return {"type": kind, "name": vuln_id, "value": vuln_id, "url": url.format(vuln_id)}
    kind = re.sub(r"[^a-z0-9]+", "_", vuln_id.split("-", 1)[0].lower()).strip("_") or "other"
    return {"type": kind, "name": vuln_id, "value": vuln_id}


def render(verdict: Verdict, ctx: EmitContext) -> str:
    """The container_scanning report: one entry per vulnerability finding, suppressed ones included
    (GitLab has no suppression field; the dismissal lives in GitLab, the gate's reason in `details`)."""
    import orjson

    systems = _operating_systems(verdict)
    vulns = [_vulnerability(p, systems) for p in placed_decisions(verdict, ctx) if p.finding.kind is Kind.VULNERABILITY]
    doc = {"version": SCHEMA_VERSION, "scan": _scan(verdict, ctx), "vulnerabilities": vulns, "remediations": []}
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode()


def _operating_systems(verdict: Verdict) -> dict[str, str]:
    systems: dict[str, str] = {}
    for report in verdict.reports:
        if not report.os:
            continue
        targets = {f.target for f in report.findings}
        if report.artifact:
            targets.add(report.artifact)
        for target in targets:
            systems.setdefault(image_key(target), report.os)
    return systems


def _scan(verdict: Verdict, ctx: EmitContext) -> dict[str, Any]:
    tools = {(r.tool, r.tool_version or "unknown") for r in verdict.reports if r.findings}
    scanner_id, scanner_version = next(iter(tools)) if len(tools) == 1 else ("container-gate", ctx.tool_version)
    stamp = _timestamp(ctx.now)
    return {
        "analyzer": {
            "id": "container-gate",
            "name": "container-gate",
            "vendor": {"name": "container-gate"},
            "version": ctx.tool_version,
        },
        "scanner": {
            "id": scanner_id,
            "name": scanner_id.capitalize() if scanner_id != "container-gate" else scanner_id,
            "vendor": {"name": _VENDORS.get(scanner_id, scanner_id)},
            "version": scanner_version,
        },
        "type": "container_scanning",
        "status": "success",
        "start_time": stamp,
        "end_time": stamp,
    }


_VENDORS = {"trivy": "Aqua Security", "grype": "Anchore", "container-gate": "container-gate"}


def _timestamp(now: str) -> str:
    """GitLab wants `yyyy-mm-ddThh:mm:ss` with no zone (the schema's pattern)."""
    match = re.match(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})", now)
    if match:
        return f"{match.group(1)}T{match.group(2)}"
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _vulnerability(p: Placed, systems: dict[str, str]) -> dict[str, Any]:
    f = p.finding
    ids = [identifier(i) for i in dict.fromkeys((f.id, *f.aliases))]
    entry: dict[str, Any] = {
        "id": vulnerability_id(p.fingerprint),
        "name": _clip(f.title or f.id, 255),
        "description": _clip(f.description or f.title or f.id, 1_048_576),
        "severity": CS_SEVERITY[f.severity],
        "solution": _clip(solution(f), 7_000),
        "location": {
            "dependency": {"package": {"name": f.package or ""}, "version": f.installed_version or ""},
            "operating_system": f.prop("os") or systems.get(image_key(f.target)) or "Unknown",
            "image": image_name(f.target) or "unknown",
        },
        "identifiers": ids,
        "links": [{"url": r} for r in dict.fromkeys(f.references) if _is_url(r)],
    }
    sup = p.decision.suppression
    if sup is not None:
        entry["details"] = {
            "suppression": {"name": "Suppressed by container-gate", "type": "text", "value": sup.reason or sup.by}
        }
    return entry


def _is_url(text: str) -> bool:
    return text.startswith(_URL_SCHEMES) and len(text) > len("https://")


def solution(f: Finding) -> str:
    """What to do, in GitLab's words ("Upgrade X to Y") or why there is nothing to do yet."""
    if f.fixed_version and f.package:
        return f"Upgrade {f.package} to {f.fixed_version}"
    if f.package:
        return f"No fixed version of {f.package} is available yet ({f.fix_state.value})"
    return "No fix information available"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class CodeQuality:
    """The Code Quality emitter: misconfiguration, secret and policy findings that are not suppressed."""

    name: str = "codequality"

    def render(self, verdict: Verdict, ctx: EmitContext) -> str:
        """A JSON array of Code Climate issues (the subset GitLab reads)."""
        import orjson

        issues = [
            _issue(p)
            for p in placed_decisions(verdict, ctx)
            if p.finding.kind in CQ_KINDS and p.decision.suppression is None
        ]
        return orjson.dumps(issues, option=orjson.OPT_INDENT_2).decode()


def _issue(p: Placed) -> dict[str, Any]:
    f = p.finding
    severity = "blocker" if p.decision.blocking and f.severity is Severity.CRITICAL else CQ_SEVERITY[f.severity]
    return {
        "type": "issue",
        "check_name": f.id,
        "description": _clip(f"{f.id}: {f.title}" if f.title else f.id, 1_000),
        "content": {"body": _clip(f.description or f.title or f.id, 10_000)},
        "categories": ["Security"],
        "fingerprint": p.fingerprint,
        "severity": severity,
        "location": {"path": p.uri, "lines": {"begin": p.start_line or 1, "end": p.end_line or p.start_line or 1}},
    }


CODEQUALITY = CodeQuality()
