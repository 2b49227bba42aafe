"""Our own JSON result (`--json`): the machine contract other jobs and `--baseline` read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from gate.decide.licenses import inventory
from gate.emit.base import EmitContext
from gate.exploits import EPSS_PERCENTILE, KEV_ACTION, KEV_ADDED, KEV_DUE, KEV_RANSOMWARE
from gate.model import SEVERITY_NAME, Decision, Finding, Severity, Verdict

FORMAT_VERSION = "1"


def document(verdict: Verdict, ctx: EmitContext) -> dict[str, Any]:
    """The result as plain data, in the shape of `gate/schemas/result.schema.json`."""
    decisions = _ordered(verdict)
    return _document(verdict, ctx, decisions, [_finding(d) for d in decisions])


def _ordered(verdict: Verdict) -> list[Decision]:
    return sorted(verdict.decisions, key=lambda d: (-int(d.finding.severity), d.finding.id, d.finding.fingerprint))


def _document(verdict: Verdict, ctx: EmitContext, decisions: list[Decision], findings: object) -> dict[str, Any]:
    active = [d for d in decisions if d.suppression is None]
    by_severity = Counter(d.finding.severity for d in active)
    return {
        "verdict": "pass" if verdict.passed else "fail",
        "format_version": FORMAT_VERSION,
        "tool": {"name": "container-gate", "version": ctx.tool_version},
        "fail_on": verdict.fail_on.name if verdict.fail_on is not None else "NONE",
        "counts": {
            "total": len(decisions),
            "active": len(active),
            "suppressed": len(decisions) - len(active),
            "blocking": sum(1 for d in decisions if d.blocking),
            "by_severity": {s.name: by_severity[s] for s in reversed(Severity)},
        },
        "findings": findings,
        "expired_ignores": [
            {"id": e.id, "expires": e.expires, "origin": e.origin, "reason": e.reason} for e in verdict.expired_ignores
        ],
        "budget_breaches": list(verdict.budget_breaches),
        "notes": list(verdict.notes),
        "skipped": [{"report": s.report, "reason": s.reason} for s in verdict.skipped],
        "reports": [
            {"path": r.path, "tool": r.tool, "tool_version": r.tool_version, "findings": len(r.findings)}
            for r in verdict.reports
        ],
        "license_inventory": _license_inventory(verdict),
    }


def _license_inventory(verdict: Verdict) -> dict[str, Any]:
    # Allowed licenses are no findings: this is where they are counted (docs/licenses.md).
    found = inventory(verdict.reports)
    return {
        "policy": found.policy,
        "packages": found.packages,
        "licenses": [
            {
                "license": r.license,
                "packages": r.packages,
                "violations": r.violations,
                "unknown": r.unknown,
                "excepted": r.excepted,
            }
            for r in found.rows
        ],
    }


def _finding(d: Decision) -> dict[str, Any]:
    # Enums and tuples go to orjson as they are: it writes an enum's value and a tuple as an array.
    f = d.finding
    loc = f.location
    sources = f.sources
    return {
        "id": f.id,
        "kind": f.kind,
        "severity": SEVERITY_NAME[f.severity],
        "title": f.title,
        "package": f.package,
        "installed_version": f.installed_version,
        "fixed_version": f.fixed_version,
        "target": f.target,
        "location": {"path": loc.path, "start_line": loc.start_line, "end_line": loc.end_line} if loc else None,
        "sources": (sources[0].tool,) if len(sources) == 1 else f.tools,
        "fingerprint": f.fingerprint,
        "blocking": d.blocking,
        "blocking_reasons": d.reasons,
        "suppressed": (
            {"by": d.suppression.by, "reason": d.suppression.reason, "expires": d.suppression.expires}
            if d.suppression
            else None
        ),
        "aliases": f.aliases,
        "fix_state": f.fix_state,
        "notes": d.notes,
        "cvss_score": f.cvss_score,
        "epss": f.epss,
        "epss_percentile": _percentile(f) if f.epss is not None else None,
        "kev": f.kev,
        "kev_details": _kev_details(f) if f.kev else None,
        "properties": dict(f.properties),
        "sightings": [
            {
                "tool": s.tool,
                "report": s.report,
                "tool_version": s.tool_version,
                "id": s.original_id,
                "severity": s.original_severity,
            }
            for s in sources
        ],
    }


def _percentile(f: Finding) -> float | None:
    value = f.prop(EPSS_PERCENTILE)
    return float(value) if value is not None else None


def _kev_details(f: Finding) -> dict[str, str] | None:
    details = {
        "date_added": f.prop(KEV_ADDED),
        "due_date": f.prop(KEV_DUE),
        "ransomware": f.prop(KEV_RANSOMWARE),
        "required_action": f.prop(KEV_ACTION),
    }
    known = {k: v for k, v in details.items() if v}
    return known or None


WHOLE_UP_TO = 8192
"""Findings up to which `render_chunks` makes the document in one piece: cutting it costs three more copies of the
text (slice, re-indent, join) in memory a short run has just mapped, and page faults in new memory are what a
4,000-finding result spends most on (cold: 31 ms in batches, 16 ms whole); ~20 MiB of dicts at this size."""


class JsonEmitter:
    """See `document`; serialised with orjson because large reports make this a hot path."""

    name = "json"

    def render(self, verdict: Verdict, ctx: EmitContext) -> str:
        """See `gate.emit.base.Emitter.render`."""
        return self.render_bytes(verdict, ctx).decode()

    def render_bytes(self, verdict: Verdict, ctx: EmitContext, *, keep: list[object] | None = None) -> bytes:
        """The same document as UTF-8 bytes, for writers that need no `str` copy of a large result.

        `keep`: a list the document is appended to, for a process about to end without freeing it
        (freeing 20,000 findings' dicts one by one is ~15 ms of nothing useful)."""
        import orjson

        doc = document(verdict, ctx)
        if keep is not None:
            keep.append(doc)
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)

    def render_chunks(
        self, verdict: Verdict, ctx: EmitContext, *, batch: int = 2048, whole_up_to: int = WHOLE_UP_TO
    ) -> Iterator[bytes]:
        """The same bytes as `render_bytes`, made `batch` findings at a time: the findings' dicts and text never
        all exist at once (at 100,000 findings the whole document is ~250 MiB of dicts and 120 MB of text).
        Up to `whole_up_to` findings, the document is made in one piece.

        orjson writes an array's items at the array's depth plus one indent; the findings array sits inside the
        top-level object, so each batch, dumped as its own array, is shifted right by one level (two spaces)."""
        import orjson

        if len(verdict.decisions) <= whole_up_to or not verdict.decisions:
            yield self.render_bytes(verdict, ctx)
            return
        decisions = _ordered(verdict)
        head = orjson.dumps(
            _document(verdict, ctx, decisions, _SLOT), option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE
        )
        before, after = head.split(orjson.dumps(_SLOT), 1)
        yield before + b"[\n"
        for start in range(0, len(decisions), batch):
            part = orjson.dumps([_finding(d) for d in decisions[start : start + batch]], option=orjson.OPT_INDENT_2)
            # `[\n  {...},\n  {...}\n]` → its items two spaces deeper; JSON strings hold no raw newline.
            items = b"  " + part[2:-2].replace(b"\n", b"\n  ")
            yield items if start == 0 else b",\n" + items
        yield b"\n  ]" + after


_SLOT = "\x00findings\x00"
"""Stands in for the findings array in the head document; no field of ours can hold a NUL (orjson escapes it)."""


EMITTER = JsonEmitter()
