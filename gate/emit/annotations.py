"""GitHub workflow-command annotations (`::error file=…,line=…,title=…::message`), most severe first.

GitHub displays at most 10 error, 10 warning and 10 notice annotations per step, so we emit no more
than that: blocking findings as errors, other active findings of MEDIUM and above as warnings, the
rest as notices. Suppressed findings are not annotated.
"""

from __future__ import annotations

from urllib.parse import unquote

from gate import console
from gate.emit.base import EmitContext, exploit_words
from gate.emit.placement import anchor_index, fix_line, ordered, place
from gate.model import Decision, Kind, Severity, Verdict

name = "annotations"

PER_LEVEL = 10
"""GitHub shows 10 annotations of each level per step; more are dropped silently."""


# The runner's escaping, with C0/C1 controls dropped: one implementation, in the module that owns the log.
escape_data = console.escape_data
escape_property = console.escape_property


def level(decision: Decision) -> str:
    """`error` for what blocks, `warning` for MEDIUM and above, `notice` below."""
    if decision.blocking:
        return "error"
    return "warning" if decision.finding.severity >= Severity.MEDIUM else "notice"


def command(decision: Decision, ctx: EmitContext) -> str:
    """One annotation line for a decision."""
    p = place(decision, ctx.repo_root, anchor_index(ctx.anchors))
    f = decision.finding
    props: list[tuple[str, str]] = []
    if p.anchored or f.location is not None:
        props.append(("file", unquote(p.uri)))
        if p.start_line:
            props += [("line", str(p.start_line)), ("endLine", str(p.end_line or p.start_line))]
    props.append(("title", f"{f.severity.name} {f.id}" + (f" in {f.package}" if f.package else "")))
    text = f.title or f.id
    if f.kind is Kind.VULNERABILITY:
        text = f"{fix_line(f)} in {f.target}: {text}" if f.package else f"{f.target}: {text}"
        urgent = exploit_words(decision)
        if urgent:
            text = f"{urgent}: {text}"
    rendered = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{level(decision)} {rendered}::{escape_data(text)}"


def render(verdict: Verdict, ctx: EmitContext) -> str:
    """Annotation commands, most severe first, at most 10 per level."""
    taken: dict[str, int] = {"error": 0, "warning": 0, "notice": 0}
    lines = []
    for d in ordered(d for d in verdict.decisions if d.suppression is None):
        lvl = level(d)
        if taken[lvl] >= PER_LEVEL:
            if all(v >= PER_LEVEL for v in taken.values()):
                break
            continue
        taken[lvl] += 1
        lines.append(command(d, ctx))
    return "".join(line + "\n" for line in lines)
