"""The policy: thresholds, only-fixed, ignores with expiry, suppressors, baseline and budgets."""

from __future__ import annotations

import datetime as dt

from gate.decide.ignores import IgnoreEntry
from gate.decide.verdict import Policy, evaluate
from gate.model import Finding, FixState, Kind, Report, Severity, Source, Suppression

TODAY = dt.date(2026, 11, 29)


def f(id: str, sev: Severity, *, fixed: str | None = None, kind: Kind = Kind.VULNERABILITY, pkg: str = "p") -> Finding:
    return Finding.create(
        id=id,
        kind=kind,
        severity=sev,
        title=id,
        target="img",
        package=pkg,
        installed_version="1",
        fixed_version=fixed,
        fix_state=FixState.FIXED if fixed else FixState.NOT_FIXED,
        sources=(Source(tool="trivy", report="r.json"),),
    )


def run(*findings: Finding, **policy: object) -> dict[str, tuple[bool, str | None]]:
    verdict = evaluate([Report(tool="trivy", path="r.json", findings=findings)], Policy(**policy), today=TODAY)  # type: ignore[arg-type]
    return {d.finding.id: (d.blocking, d.suppression.by if d.suppression else None) for d in verdict.decisions}


def test_threshold_blocks_at_or_above_fail_on() -> None:
    got = run(f("CVE-1", Severity.CRITICAL), f("CVE-2", Severity.HIGH), f("CVE-3", Severity.MEDIUM))
    assert got == {"CVE-1": (True, None), "CVE-2": (True, None), "CVE-3": (False, None)}


def test_fail_on_none_never_blocks_and_unknown_blocks_everything() -> None:
    assert not any(b for b, _ in run(f("CVE-1", Severity.CRITICAL), fail_on=None).values())
    assert run(f("CVE-1", Severity.UNKNOWN), fail_on=Severity.UNKNOWN)["CVE-1"] == (True, None)


def test_only_fixed_spares_unfixable_vulnerabilities_only() -> None:
    misconf = f("DS-0002", Severity.HIGH, kind=Kind.MISCONFIGURATION)
    got = run(f("CVE-1", Severity.HIGH), f("CVE-2", Severity.HIGH, fixed="2"), misconf, only_fixed=True)
    assert got["CVE-1"] == (False, None)
    assert got["CVE-2"] == (True, None)
    assert got["DS-0002"] == (True, None)


def test_ignore_suppresses_until_it_expires_and_expiry_is_reported() -> None:
    live = IgnoreEntry(id="CVE-1", reason="accepted", origin="ig", expires=dt.date(2026, 12, 31))
    dead = IgnoreEntry(id="CVE-2", reason="old", origin="ig", expires=dt.date(2026, 11, 29))
    verdict = evaluate(
        [Report(tool="t", path="r", findings=(f("CVE-1", Severity.HIGH), f("CVE-2", Severity.HIGH)))],
        Policy(ignores=(live, dead)),
        today=TODAY,
    )
    by_id = {d.finding.id: d for d in verdict.decisions}
    assert by_id["CVE-1"].suppression is not None and not by_id["CVE-1"].blocking
    assert by_id["CVE-1"].suppression.expires == "2026-12-31"
    assert by_id["CVE-2"].suppression is None and by_id["CVE-2"].blocking
    assert [e.id for e in verdict.expired_ignores] == ["CVE-2"]
    assert not verdict.passed


def test_ignore_matches_alias_and_path_scope() -> None:
    finding = f("GHSA-xxxx", Severity.HIGH)
    assert run(finding, ignores=(IgnoreEntry(id="ghsa-xxxx", reason="r", origin="o"),))["GHSA-xxxx"] == (
        False,
        "ignore",
    )
    scoped = IgnoreEntry(id="GHSA-xxxx", reason="r", origin="o", paths=("other/*",))
    assert run(finding, ignores=(scoped,))["GHSA-xxxx"] == (True, None)


def test_tool_exception_and_suppressor() -> None:
    class NotAffected:
        def suppression_for(self, finding: Finding) -> Suppression | None:
            return Suppression(by="vex", reason="not_affected") if finding.id == "CVE-2" else None

    excepted = Finding(
        id="main.deny",
        kind=Kind.POLICY,
        severity=Severity.HIGH,
        title="m",
        target="k.yaml",
        tool_suppression=Suppression(by="tool", reason="exception"),
    )
    got = run(excepted, f("CVE-2", Severity.CRITICAL), suppressors=(NotAffected(),))
    assert got == {"main.deny": (False, "tool"), "CVE-2": (False, "vex")}


def test_baseline_findings_do_not_block_new_ones_do() -> None:
    old, new = f("CVE-1", Severity.HIGH), f("CVE-2", Severity.HIGH)
    got = run(old, new, baseline=frozenset({old.fingerprint}))
    assert got == {"CVE-1": (False, None), "CVE-2": (True, None)}


def test_budget_allows_up_to_n_then_blocks_all() -> None:
    highs = [f(f"CVE-{i}", Severity.HIGH) for i in range(3)]
    assert not any(b for b, _ in run(*highs, budgets={Severity.HIGH: 3}).values())
    assert all(b for b, _ in run(*highs, budgets={Severity.HIGH: 2}).values())
    # a budget below the threshold adds a limit the threshold alone would not
    mediums = [f(f"CVE-{i}", Severity.MEDIUM) for i in range(2)]
    assert all(b for b, _ in run(*mediums, budgets={Severity.MEDIUM: 1}).values())


def test_budget_breach_is_explained() -> None:
    verdict = evaluate(
        [Report(tool="t", path="r", findings=tuple(f(f"CVE-{i}", Severity.HIGH) for i in range(3)))],
        Policy(budgets={Severity.HIGH: 1}),
        today=TODAY,
    )
    assert verdict.budget_breaches == ("HIGH: 3 found, budget 1",)
    assert all("over the HIGH budget of 1" in d.notes for d in verdict.decisions)


def test_plain_policy_shortcut_decides_as_the_full_judgement() -> None:
    # A Policy with nothing to apply takes a shortcut in `evaluate`; an ignore that matches nothing forces
    # the full path. Both must reach the same decisions, the tool's own exception included.
    excepted = Finding(
        id="main.deny",
        kind=Kind.POLICY,
        severity=Severity.CRITICAL,
        title="m",
        target="k.yaml",
        tool_suppression=Suppression(by="tool", reason="exception"),
    )
    findings = (excepted, f("CVE-1", Severity.HIGH), f("CVE-2", Severity.LOW), f("CVE-3", Severity.CRITICAL))
    nothing = IgnoreEntry(id="CVE-404", reason="r", origin="ig", expires=None)
    for fail_on in (Severity.HIGH, Severity.LOW, None):
        report = [Report(tool="trivy", path="r.json", findings=findings)]
        short = evaluate(report, Policy(fail_on=fail_on), today=TODAY)
        full = evaluate(report, Policy(fail_on=fail_on, ignores=(nothing,)), today=TODAY)
        assert short.decisions == full.decisions
    got = run(*findings)
    assert got == {"main.deny": (False, "tool"), "CVE-1": (True, None), "CVE-2": (False, None), "CVE-3": (True, None)}
