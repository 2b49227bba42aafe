"""License findings in the verdict: `unknown: warn` never blocks, `block` does; a violation's severity is
`licenses.severity`, and `--fail-on` decides from there."""

from __future__ import annotations

import datetime as dt

import pytest

from gate.decide.licenses import LicensePolicy, Unknown, judge_reports
from gate.decide.verdict import Policy, evaluate
from gate.model import Finding, Kind, Report, Severity, Verdict

TODAY = dt.date(2026, 6, 1)


def lic(expr: str, package: str) -> Finding:
    return Finding(id=expr, kind=Kind.LICENSE, severity=Severity.LOW, title=expr, target="lock", package=package)


def verdict(*, unknown: str = "warn", severity: Severity = Severity.HIGH, fail_on: Severity | None) -> Verdict:
    run = LicensePolicy(allowed=("MIT",), forbidden=("SSPL-1.0",), unknown=Unknown(unknown), severity=severity)
    found = (lic("MIT", "ok"), lic("SSPL-1.0", "bad"), lic("LicenseRef-foo", "odd"), lic("NOASSERTION", "none"))
    return evaluate(judge_reports((Report("trivy", "r.json", found),), run), Policy(fail_on=fail_on), today=TODAY)


def blocking(v: Verdict) -> set[str | None]:
    return {d.finding.package for d in v.decisions if d.blocking}


@pytest.mark.parametrize("fail_on", [Severity.UNKNOWN, Severity.LOW, Severity.HIGH, Severity.CRITICAL])
def test_unknown_warn_never_blocks(fail_on: Severity) -> None:
    v = verdict(unknown="warn", severity=Severity.CRITICAL, fail_on=fail_on)
    shown = {d.finding.package: d for d in v.decisions}
    assert set(shown) == {"bad", "odd", "none"}  # the allowed one is no finding
    assert not shown["odd"].blocking and not shown["none"].blocking
    assert shown["odd"].suppression is None  # shown as active, not waived
    assert blocking(v) == {"bad"}


def test_unknown_block_blocks_like_a_violation() -> None:
    v = verdict(unknown="block", fail_on=Severity.HIGH)
    assert blocking(v) == {"bad", "odd", "none"}
    assert all(d.finding.severity is Severity.HIGH for d in v.decisions)


def test_unknown_allow_gives_no_finding() -> None:
    v = verdict(unknown="allow", fail_on=Severity.LOW)
    assert {d.finding.package for d in v.decisions} == {"bad"}


def test_violation_at_high_blocks_with_fail_on_high_not_critical() -> None:
    assert blocking(verdict(severity=Severity.HIGH, fail_on=Severity.HIGH)) == {"bad"}
    assert not verdict(severity=Severity.HIGH, fail_on=Severity.HIGH).passed
    at_critical = verdict(severity=Severity.HIGH, fail_on=Severity.CRITICAL)
    assert at_critical.passed and blocking(at_critical) == set()
    assert verdict(severity=Severity.HIGH, fail_on=None).passed
    assert blocking(verdict(severity=Severity.CRITICAL, fail_on=Severity.CRITICAL)) == {"bad"}
