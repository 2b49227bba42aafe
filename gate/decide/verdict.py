"""The policy: which findings are suppressed, which may block, and the verdict that follows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gate.decide.ignores import IgnoreEntry
from gate.model import (
    AliasTable,
    Decision,
    ExpiredIgnore,
    Finding,
    Kind,
    Report,
    Severity,
    Suppression,
    Verdict,
    dedupe,
)


class Suppressor(Protocol):
    """Anything that can excuse a finding (a VEX statement, for one)."""

    def suppression_for(self, finding: Finding) -> Suppression | None:
        """The suppression when this applies to the finding, else None."""
        ...


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything that decides the verdict; built by the CLI from flags and the config file."""

    fail_on: Severity | None = Severity.HIGH
    """Lowest blocking severity; None is `--fail-on NONE`."""
    only_fixed: bool = False
    ignores: tuple[IgnoreEntry, ...] = ()
    suppressors: tuple[Suppressor, ...] = ()
    baseline: frozenset[str] = frozenset()
    """Fingerprints of an earlier run: those findings may not block."""
    budgets: Mapping[Severity, int] = field(default_factory=dict)
    """At most N active findings of a severity before that severity blocks."""
    epss_threshold: float | None = None
    """`--epss-threshold P`: an eligible vulnerability whose EPSS is at least P blocks whatever its severity."""


SEVERITY = "severity"
KEV = "kev"
"""Reasons a finding blocks (`Decision.reasons`); the EPSS one carries its threshold (`epss_reason`)."""


def epss_reason(threshold: float) -> str:
    """`epss ≥ 0.5`: the reason written for a vulnerability blocked by its EPSS score."""
    return f"epss ≥ {threshold:g}"


def evaluate(reports: Sequence[Report], policy: Policy, *, today: dt.date) -> Verdict:
    """Merge every report's findings, judge each one, and return the verdict.

    The order of judgement: a tool's own exception, then ignores (unless expired), then VEX;
    a suppressed finding never blocks. An unsuppressed one is *eligible* unless `--only-fixed`
    rules it out (vulnerabilities without a fix only) or the baseline already had it. Eligible
    findings block when at or above `fail_on`, except that a severity with a budget blocks only
    once its count exceeds the budget (and then all of them block)."""
    live = tuple(e for e in policy.ignores if not e.expired(today))
    expired = tuple(e for e in policy.ignores if e.expired(today))
    findings = dedupe(
        (f for r in reports for f in r.findings),
        landmarks=tuple(mark for r in reports for mark in r.landmarks),
        aliases=_alias_table,
    )
    if live or policy.suppressors or policy.only_fixed or policy.baseline:
        judged = [_judge(f, policy, live) for f in findings]
    else:
        # Nothing but the tool's own exception can suppress or excuse: `_judge`'s answer without its calls.
        judged = [(f, f.tool_suppression, ()) for f in findings]
    eligible = Counter(f.severity for f, s, notes in judged if s is None and not notes)
    over = {sev for sev, limit in policy.budgets.items() if eligible[sev] > limit}
    decisions = _decisions(judged, policy, over)
    if any(("license_warn", "true") in d.finding.properties for d in decisions if d.blocking):
        # licenses.unknown: warn (gate.decide.licenses): shown, never blocking.
        decisions = tuple(
            dataclasses.replace(d, blocking=False, reasons=())
            if ("license_warn", "true") in d.finding.properties
            else d
            for d in decisions
        )
    return Verdict(
        decisions=decisions,
        fail_on=policy.fail_on,
        reports=tuple(reports),
        expired_ignores=_expired(expired),
        budget_breaches=tuple(
            f"{sev.name}: {eligible[sev]} found, budget {policy.budgets[sev]}" for sev in sorted(over, reverse=True)
        ),
    )


def _decisions(
    judged: Sequence[tuple[Finding, Suppression | None, tuple[str, ...]]], policy: Policy, over: set[Severity]
) -> tuple[Decision, ...]:
    exploits = policy.epss_threshold is not None or any(f.kev for f, _, _ in judged)
    if policy.budgets or exploits:
        return tuple(_decision(f, s, notes, policy, over) for f, s, notes in judged)
    # Without budgets or exploit rules, blocking is the threshold alone: 20,000 calls of `_decision` saved.
    fail_on = policy.fail_on
    if fail_on is None:
        return tuple(Decision(f, False, s, notes) for f, s, notes in judged)
    return tuple(
        Decision(f, True, s, notes, _BY_SEVERITY)
        if s is None and not notes and f.severity >= fail_on
        else Decision(f, False, s, notes)
        for f, s, notes in judged
    )


_BY_SEVERITY = (SEVERITY,)


def _decision(
    f: Finding, s: Suppression | None, notes: tuple[str, ...], policy: Policy, over: set[Severity]
) -> Decision:
    if s is not None:
        return Decision(f, False, s, notes)
    reasons: list[str] = []
    if not notes and _blocks(f.severity, policy, over):
        reasons.append(SEVERITY)
    if f.kind is Kind.VULNERABILITY:
        if f.kev:
            reasons.append(KEV)
        threshold = policy.epss_threshold
        if threshold is not None and not notes and f.epss is not None and f.epss >= threshold:
            reasons.append(epss_reason(threshold))
    notes = notes + _budget_note(f.severity, s, notes, policy, over)
    return Decision(f, bool(reasons), s, notes, tuple(reasons))


def _alias_table() -> AliasTable:
    # Imported only when one file has findings of two tools: a vulnerability-only run never needs it.
    from gate.checks.dockerfile.rule_table import alias_table

    return alias_table()


def _judge(
    finding: Finding, policy: Policy, live: Sequence[IgnoreEntry]
) -> tuple[Finding, Suppression | None, tuple[str, ...]]:
    suppression = finding.tool_suppression or _first_ignore(finding, live) or _first_vex(finding, policy)
    if suppression is not None:
        return finding, suppression, ()
    notes: list[str] = []
    if policy.only_fixed and finding.kind is Kind.VULNERABILITY and not finding.fixable:
        notes.append("no fix available (--only-fixed)")
    if policy.baseline and finding.fingerprint in policy.baseline:
        notes.append("already in the baseline")
    return finding, None, tuple(notes)


def _first_ignore(finding: Finding, entries: Sequence[IgnoreEntry]) -> Suppression | None:
    for entry in entries:
        if entry.matches(finding):
            return entry.suppression()
    return None


def _first_vex(finding: Finding, policy: Policy) -> Suppression | None:
    for suppressor in policy.suppressors:
        found = suppressor.suppression_for(finding)
        if found is not None:
            return found
    return None


def _blocks(severity: Severity, policy: Policy, over: set[Severity]) -> bool:
    if severity in policy.budgets:
        return severity in over
    return policy.fail_on is not None and severity >= policy.fail_on


def _budget_note(
    severity: Severity, s: Suppression | None, notes: tuple[str, ...], policy: Policy, over: set[Severity]
) -> tuple[str, ...]:
    if s is not None or notes or severity not in policy.budgets:
        return ()
    limit = policy.budgets[severity]
    return (
        (f"over the {severity.name} budget of {limit}",)
        if severity in over
        else (f"within the {severity.name} budget of {limit}",)
    )


def _expired(expired: Sequence[IgnoreEntry]) -> tuple[ExpiredIgnore, ...]:
    """Every expired entry is reported, whether or not it still matches something: a stale waiver is
    a to-do either way, and one that would have matched is now counted again."""
    return tuple(
        ExpiredIgnore(id=e.id, expires=e.expires.isoformat() if e.expires else "", origin=e.origin, reason=e.reason)
        for e in expired
    )
