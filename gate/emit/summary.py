"""The Markdown summary people read first: the verdict, counts, what blocks (or, on a pass, what remains), what was
waived and why.

The same text goes to GitHub's step summary and to `--summary FILE` (GitLab job logs, PR comments).
It stays under GitHub's 1 MiB step-summary limit by capping every table ("… and N more").
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Sequence
from urllib.parse import unquote

from gate.decide.licenses import inventory
from gate.emit.base import EmitContext, exploit_words
from gate.emit.markdown import code, link, text
from gate.emit.placement import anchor_index, fix_line, ordered, place
from gate.exploits import KEV_DUE, KEV_RANSOMWARE
from gate.model import MOST_SEVERE_FIRST, Decision, Finding, Kind, Severity, Verdict

name = "summary"

MAX_BYTES = 1024 * 1024
"""GitHub rejects a step summary above 1 MiB."""
ROW_LIMIT = 50
_SEVERITIES = MOST_SEVERE_FIRST


def render(verdict: Verdict, ctx: EmitContext) -> str:
    """The whole summary; tables shrink until it fits GitHub's limit."""
    limit = ROW_LIMIT
    while True:
        text = "\n".join(_sections(verdict, ctx, limit)) + "\n"
        if len(text.encode()) <= MAX_BYTES or limit <= 1:
            return text if len(text.encode()) <= MAX_BYTES else _truncate(text)
        limit //= 2


def _truncate(text: str) -> str:
    note = "\n\n… summary cut to fit GitHub's 1 MiB limit\n"
    data = text.encode()[: MAX_BYTES - len(note.encode())]
    return data.decode(errors="ignore") + note


def _sections(verdict: Verdict, ctx: EmitContext, limit: int) -> list[str]:
    lines = [_headline(verdict), ""]
    lines += _exploitable(verdict, ctx, limit)
    lines += _counts_table(verdict)
    lines += _blocking(verdict, ctx, limit)
    lines += _remaining(verdict, ctx, limit)
    lines += _bullets("Budget breaches", verdict.budget_breaches, limit)
    lines += _suppressed(verdict, ctx, limit)
    lines += _licenses(verdict, limit)
    lines += _bullets(
        "Expired ignores (they no longer suppress anything)",
        [
            f"`{code(e.id)}` expired {text(e.expires)} ({text(e.origin)}){_reason(e.reason)}"
            for e in verdict.expired_ignores
        ],
        limit,
    )
    lines += _bullets(
        "Entries the readers could not use",
        [f"{text(s.report)}: {text(s.reason)}" for s in verdict.skipped],
        limit,
    )
    lines += _bullets("Left out of the SARIF file", [text(o) for o in ctx.omitted], limit)
    lines += _bullets("Notes", [text(n) for n in verdict.notes], limit)
    lines.append(f"<sub>container-gate {text(ctx.tool_version)}</sub>")
    return lines


def _urgent(d: Decision) -> bool:
    f = d.finding
    return (
        d.suppression is None
        and f.kind is Kind.VULNERABILITY
        and (f.kev or any(r.startswith("epss") for r in d.reasons))
    )


def _urgency(d: Decision) -> tuple[bool, bool, str, float, int, str, str]:
    # KEV first (ransomware use, then the earliest due date), then the likeliest by EPSS, then severity.
    f = d.finding
    due = f.prop(KEV_DUE) or "9999"
    ransomware = (f.prop(KEV_RANSOMWARE) or "").lower() == "known"
    return (not f.kev, not ransomware, due, -(f.epss or 0.0), -int(f.severity), f.id, f.package or "")


def _exploitable(verdict: Verdict, ctx: EmitContext, limit: int) -> list[str]:
    """Known-exploited and likely-exploited vulnerabilities, before everything else: what an attacker uses now
    matters more than what a CVSS score says (see `gate.decide.verdict.evaluate`)."""
    urgent = [d for d in verdict.decisions if _urgent(d)]
    if not urgent:
        return []
    shown = heapq.nsmallest(limit, urgent, key=_urgency)
    rows = [
        f"### Exploited or likely to be ({len(urgent)})",
        "",
        "| Why | Severity | ID | Package: installed → fixed | Where | Blocks |",
        "|---|---|---|---|---|---|",
    ]
    for d in shown:
        f = d.finding
        rows.append(
            f"| {text(exploit_words(d))} | {f.severity.name} | {_link(f.id, f.help_uri)} "
            f"| {text(fix_line(f)) or '—'} | {_where(d, ctx)} | {'yes' if d.blocking else 'no'} |"
        )
    return [*rows, *_more(len(urgent), limit), ""]


def _reason(reason: str) -> str:
    return f": {text(reason)}" if reason else ""


def _headline(verdict: Verdict) -> str:
    threshold = verdict.fail_on.name if verdict.fail_on is not None else "NONE"
    blocking = sum(1 for d in verdict.decisions if d.blocking)
    if verdict.passed:
        return f"## ✅ container-gate: passed (fail on {threshold}; {_active(verdict)} active findings, none blocking)"
    kev = sum(1 for d in verdict.decisions if d.blocking and "kev" in d.reasons)
    likely = sum(1 for d in verdict.decisions if d.blocking and "kev" not in d.reasons and _urgent(d))
    exploits = "".join(
        f"; {n} {words}" for n, words in ((kev, "known exploited"), (likely, "likely exploited (EPSS)")) if n
    )
    noun = "finding" if blocking == 1 else "findings"
    return f"## ❌ container-gate: blocked by {blocking} {noun} (fail on {threshold}{exploits})"


def _active(verdict: Verdict) -> int:
    return sum(1 for d in verdict.decisions if d.suppression is None)


def _counts_table(verdict: Verdict) -> list[str]:
    counts: Counter[tuple[str, Severity]] = Counter()
    suppressed: Counter[str] = Counter()
    for d in verdict.decisions:
        sources = d.finding.sources
        # One source needs no set-and-sort (`Finding.tools`); 20,000 findings pass here.
        tool = (sources[0].tool if len(sources) == 1 else ", ".join(d.finding.tools)) or "container-gate"
        if d.suppression is None:
            counts[(tool, d.finding.severity)] += 1
        else:
            suppressed[tool] += 1
    tools = sorted({t for t, _ in counts} | set(suppressed))
    if not tools:
        return ["No findings.", ""]
    head = "| Tool | " + " | ".join(s.name.title() for s in _SEVERITIES) + " | Suppressed |"
    rows = [head, "|---" * (len(_SEVERITIES) + 2) + "|"]
    for tool in tools:
        cells = [str(counts[(tool, s)]) for s in _SEVERITIES]
        rows.append(f"| {text(tool)} | " + " | ".join(cells) + f" | {suppressed[tool]} |")
    return [*rows, ""]


def _where(d: Decision, ctx: EmitContext) -> str:
    p = place(d, ctx.repo_root, anchor_index(ctx.anchors))
    line = f":{p.start_line}" if p.start_line else ""
    return f"`{code(unquote(p.uri))}{line}`" if p.anchored or d.finding.location else text(d.finding.target)


def _blocking(verdict: Verdict, ctx: EmitContext, limit: int) -> list[str]:
    total = sum(1 for d in verdict.decisions if d.blocking)
    if not total:
        return []
    blocking = ordered((d for d in verdict.decisions if d.blocking), limit)
    return [f"### Blocking ({total})", "", *_findings_table(blocking, ctx), *_more(total, limit), ""]


def _remaining(verdict: Verdict, ctx: EmitContext, limit: int) -> list[str]:
    """On a pass, what is still there (active: below the threshold, not yet fixable or in the baseline), folded so
    the verdict stays on top."""
    if not verdict.passed:
        return []
    total = sum(1 for d in verdict.decisions if d.suppression is None)
    if not total:
        return []
    active = ordered((d for d in verdict.decisions if d.suppression is None), limit)
    threshold = verdict.fail_on.name if verdict.fail_on is not None else "NONE"
    noun = "finding" if total == 1 else "findings"
    # The blank lines around the table are what make GitHub render Markdown inside <details>.
    return [
        f"### Active, not blocking ({total})",
        "",
        f"<details><summary>{total} {noun} that do not block (fail on {threshold}), most severe first</summary>",
        "",
        *_findings_table(active, ctx),
        *_more(total, limit),
        "",
        "</details>",
        "",
    ]


def _findings_table(decisions: Sequence[Decision], ctx: EmitContext) -> list[str]:
    rows = ["| Severity | ID | Package: installed → fixed | Where | Title |", "|---|---|---|---|---|"]
    for d in decisions:
        f = d.finding
        rows.append(
            f"| {f.severity.name} | {_link(f.id, f.help_uri)} | {text(_package(f)) or '—'} "
            f"| {_where(d, ctx)} | {text(_clip(f.title, 120))} |"
        )
    return rows


def _suppressed(verdict: Verdict, ctx: EmitContext, limit: int) -> list[str]:
    total = sum(1 for d in verdict.decisions if d.suppression is not None)
    if not total:
        return []
    waived = ordered((d for d in verdict.decisions if d.suppression is not None), limit)
    rows = [f"### Suppressed ({total})", "", "| Severity | ID | Where | By | Reason | Expires |"]
    rows.append("|---|---|---|---|---|---|")
    for d in waived:
        f, s = d.finding, d.suppression
        assert s is not None
        rows.append(
            f"| {f.severity.name} | {_link(f.id, f.help_uri)} | {_where(d, ctx)} | {text(s.by)} "
            f"| {text(_clip(s.reason, 200)) or '—'} | {text(s.expires or '—')} |"
        )
    return [*rows, *_more(total, limit), ""]


def _licenses(verdict: Verdict, limit: int) -> list[str]:
    """The license inventory, folded: allowed licenses raise no finding, so this is where they show."""
    found = inventory(verdict.reports)
    if not found.rows:
        return []
    kinds = len(found.rows)
    words = f"{found.packages} package{'s' if found.packages != 1 else ''}, {kinds} license{'s' if kinds != 1 else ''}"
    judged = "" if found.policy else " (no license policy: Trivy's categories decide)"
    rows = [
        f"### Licenses ({kinds})",
        "",
        f"<details><summary>{words}, most packages first{judged}</summary>",
        "",
        "| License | Packages | Violations | Unknown | Excepted |",
        "|---|---|---|---|---|",
    ]
    rows += (
        f"| {text(_clip(r.license, 200))} | {r.packages} | {r.violations} | {r.unknown} | {r.excepted} |"
        for r in found.rows[:limit]
    )
    return [*rows, *_more(kinds, limit), "", "</details>", ""]


def _package(f: Finding) -> str:
    # A license finding has nothing to upgrade to: its package and version, not `pkg ? → no fixed version yet`.
    if f.kind is Kind.LICENSE:
        return " ".join(p for p in (f.package, f.installed_version) if p)
    return fix_line(f)


def _bullets(title: str, items: Sequence[str], limit: int) -> list[str]:
    if not items:
        return []
    return [f"### {title}", "", *(f"- {i}" for i in items[:limit]), *_more(len(items), limit), ""]


def _more(total: int, limit: int) -> list[str]:
    return ["", f"… and {total - limit} more"] if total > limit else []


def _link(vuln_id: str, uri: str | None) -> str:
    return link(vuln_id, uri)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
