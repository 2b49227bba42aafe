"""The license inventory (every license read, allowed ones included) and license exceptions per package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gate.config import load_config
from gate.decide import ignores
from gate.decide.ignores import IgnoreEntry, read_ignore_file
from gate.decide.licenses import LicensedReport, LicensePolicy, Unknown, inventory, judge_reports
from gate.decide.verdict import Policy, evaluate
from gate.errors import ConfigError
from gate.model import Finding, Kind, Location, Report, Severity

TODAY = dt.date(2026, 6, 1)
RUN = LicensePolicy(allowed=("MIT", "Apache-2.0"), forbidden=("SSPL-1.0",), unknown=Unknown.WARN)


def lic(
    expr: str, package: str, *, version: str | None = "1.0", purl: str | None = None, sbom: bool = False
) -> Finding:
    props: list[tuple[str, str]] = []
    if sbom:
        props += [("from", "sbom"), ("license_expression", expr)]
    if purl:
        props.append(("purl", purl))
    return Finding(
        id=expr,
        kind=Kind.LICENSE,
        severity=Severity.LOW,
        title=f"{expr} license in {package}",
        target="package-lock.json",
        package=package,
        installed_version=version,
        location=Location(path="package-lock.json"),
        properties=tuple(sorted(props)),
    )


TREE = (
    lic("MIT", "a"),
    lic("MIT", "a2"),
    lic("(MIT OR GPL-2.0-only)", "b"),
    lic("(Apache-2.0 AND LGPL-2.1-only)", "c"),
    lic("SSPL-1.0", "d"),
    lic("LicenseRef-foo", "e"),
)


def judged(
    *findings: Finding, run: LicensePolicy = RUN, exceptions: tuple[IgnoreEntry, ...] = ()
) -> tuple[Report, ...]:
    return judge_reports((Report("trivy", "r.json", findings),), run, exceptions=exceptions, today=TODAY)


def rows(reports: tuple[Report, ...]) -> dict[str, tuple[int, int, int, int]]:
    return {r.license: (r.packages, r.violations, r.unknown, r.excepted) for r in inventory(reports).rows}


def test_inventory_counts_every_license_allowed_ones_included() -> None:
    reports = judged(*TREE)
    (report,) = reports
    assert isinstance(report, LicensedReport) and report.license_policy
    # Allowed licenses are no findings, yet they are counted.
    assert {f.package for f in report.findings} == {"c", "d", "e"}
    found = inventory(reports)
    assert found.packages == 6 and found.policy
    assert [r.license for r in found.rows][0] == "MIT"
    assert rows(reports) == {
        "MIT": (2, 0, 0, 0),
        "(MIT OR GPL-2.0-only)": (1, 0, 0, 0),
        "(Apache-2.0 AND LGPL-2.1-only)": (1, 1, 0, 0),
        "SSPL-1.0": (1, 1, 0, 0),
        "LicenseRef-foo": (1, 0, 1, 0),
    }


def test_a_package_in_two_reports_counts_once() -> None:
    one = Report("trivy", "a.json", (lic("MIT", "a"), lic("SSPL-1.0", "d")))
    two = Report("cyclonedx", "b.json", (lic("MIT", "a", sbom=True), lic("MIT", "z", sbom=True)))
    reports = judge_reports((one, two), RUN, today=TODAY)
    assert rows(reports) == {"MIT": (2, 0, 0, 0), "SSPL-1.0": (1, 1, 0, 0)}
    assert inventory(reports).packages == 3


def test_versionless_packages_of_two_lock_files_stay_two() -> None:
    first = lic("MIT", "a", version=None)
    other = Finding(
        id="MIT", kind=Kind.LICENSE, severity=Severity.LOW, title="t", target="other/package-lock.json", package="a"
    )
    assert rows(judged(first, other)) == {"MIT": (2, 0, 0, 0)}


def test_without_a_policy_inventory_is_kept_and_trivy_findings_stay() -> None:
    none = LicensePolicy()
    reports = judged(*TREE, lic("MIT", "s", sbom=True), run=none)
    (report,) = reports
    assert len(report.findings) == len(TREE)  # the SBOM fact is inventory only
    found = inventory(reports)
    assert not found.policy
    assert rows(reports)["MIT"] == (3, 0, 0, 0)
    assert rows(reports)["LicenseRef-foo"] == (1, 0, 1, 0)


def test_reports_without_licenses_pass_unchanged() -> None:
    vuln = Finding(id="CVE-1", kind=Kind.VULNERABILITY, severity=Severity.LOW, title="x", target="t")
    report = Report("trivy", "r.json", (vuln,))
    assert judge_reports((report,), RUN, today=TODAY) == (report,)
    assert inventory((report,)).rows == ()


def entry(license_id: str, *packages: str, expires: dt.date | None = None, purls: tuple[str, ...] = ()) -> IgnoreEntry:
    return IgnoreEntry(
        id=f"license:{license_id}",
        reason=f"{license_id} vetted",
        origin="ignores.yaml",
        expires=expires,
        packages=packages,
        purls=purls,
    )


def by_package(reports: tuple[Report, ...]) -> dict[str | None, Finding]:
    return {f.package: f for r in reports for f in r.findings}


def test_exception_per_package_glob_suppresses_with_reason_and_expiry() -> None:
    exc = entry("SSPL-1.0", "d*", expires=dt.date(2027, 1, 1))
    reports = judged(*TREE, lic("SSPL-1.0", "x-other"), exceptions=(exc,))
    found = by_package(reports)
    s = found["d"].tool_suppression
    assert s is not None and s.by == "ignore" and s.expires == "2027-01-01"
    assert s.reason == "SSPL-1.0 vetted (ignores.yaml)"
    assert found["x-other"].tool_suppression is None  # another package: still a violation
    assert rows(reports)["SSPL-1.0"] == (2, 1, 0, 1)
    verdict = evaluate(reports, Policy(), today=TODAY)
    assert {d.finding.package for d in verdict.blocking} == {"c", "x-other"}


def test_expired_exception_stops_applying() -> None:
    exc = entry("SSPL-1.0", "d", expires=TODAY)
    reports = judged(*TREE, exceptions=(exc,))
    assert by_package(reports)["d"].tool_suppression is None
    verdict = evaluate(reports, Policy(ignores=(exc,)), today=TODAY)
    assert "d" in {d.finding.package for d in verdict.blocking}
    assert [e.id for e in verdict.expired_ignores] == ["license:SSPL-1.0"]


def test_exception_matches_a_purl_glob() -> None:
    finding = lic("GPL-2.0-only", "busybox", purl="pkg:apk/alpine/busybox@1.36.1-r2?arch=x86_64", sbom=True)
    found = by_package(judged(finding, exceptions=(entry("GPL-2.0-only", "pkg:apk/alpine/busybox@*"),)))
    assert found["busybox"].tool_suppression is not None
    found = by_package(judged(finding, exceptions=(entry("GPL-2.0-only", "pkg:deb/*"),)))
    assert found["busybox"].tool_suppression is None


def test_exception_judges_the_expression_again() -> None:
    both = lic("GPL-2.0-only AND LGPL-2.1-only", "p")
    gpl, lgpl = entry("GPL-2.0-only", "p"), entry("LGPL-2.1-only", "p")
    # AND: one exception is not enough; both are, and both are named.
    assert by_package(judged(both, exceptions=(gpl,)))["p"].tool_suppression is None
    s = by_package(judged(both, exceptions=(gpl, lgpl, entry("BSD-4-Clause", "p"))))["p"].tool_suppression
    assert s is not None and s.reason == "GPL-2.0-only vetted (ignores.yaml); LGPL-2.1-only vetted (ignores.yaml)"
    # OR: one excepted branch is enough, even a forbidden or unresolvable one.
    either = lic("SSPL-1.0 OR LicenseRef-x", "q")
    assert by_package(judged(either, exceptions=(entry("LicenseRef-x", "q"),)))["q"].tool_suppression is not None
    # `license:*`: whatever the package says (here a text no parser reads).
    see = lic("SEE LICENSE IN LICENSE.md", "r")
    assert by_package(judged(see, exceptions=(entry("*", "r"),)))["r"].tool_suppression is not None


def test_exception_spellings_are_normalised() -> None:
    only_mit = LicensePolicy(allowed=("MIT",))
    found = by_package(judged(lic("GPL-2.0", "p"), run=only_mit, exceptions=(entry("GPL-2.0-only", "p"),)))
    assert found["p"].tool_suppression is not None


def test_license_id_entries_in_the_verdict_without_a_policy() -> None:
    # No policy: Trivy's findings pass through and `license:ID` matches them by license, like a plain id.
    trivy = lic("GPL-2.0-only", "busybox")
    policy = Policy(ignores=(entry("GPL-2.0-only", "busy*"),))
    verdict = evaluate(judged(trivy, lic("GPL-2.0-only", "bash"), run=LicensePolicy()), policy, today=TODAY)
    suppressed = {d.finding.package for d in verdict.decisions if d.suppression is not None}
    assert suppressed == {"busybox"}
    vuln = Finding(id="GPL-2.0-only", kind=Kind.VULNERABILITY, severity=Severity.LOW, title="x", target="t")
    assert not entry("GPL-2.0-only").matches(vuln)


def test_packages_narrow_any_ignore() -> None:
    vuln = Finding(
        id="CVE-1", kind=Kind.VULNERABILITY, severity=Severity.HIGH, title="x", target="t", package="openssl"
    )
    plain = IgnoreEntry(id="CVE-1", reason="r", origin="o", packages=("open*",))
    other = IgnoreEntry(id="CVE-1", reason="r", origin="o", packages=("curl",))
    assert plain.matches(vuln) and not other.matches(vuln)
    assert plain.license_id is None and not plain.covers(lic("MIT", "openssl"))


def test_ignore_file_and_config_take_packages(tmp_path: Path) -> None:
    path = tmp_path / "ignores.yaml"
    path.write_text(
        "- id: license:GPL-2.0-only\n  packages: ['busybox*']\n  reason: shipped unmodified\n  expires: 2027-01-01\n"
    )
    (e,) = read_ignore_file(path)
    assert (e.license_id, e.packages, e.expires) == ("GPL-2.0-only", ("busybox*",), dt.date(2027, 1, 1))
    trivy = tmp_path / ".trivyignore.yaml"
    trivy.write_text("licenses:\n  - id: GPL-3.0\n    paths: ['vendor/*']\n")
    (t,) = read_ignore_file(trivy)
    assert t.license_id == "GPL-3.0" and t.kind is Kind.LICENSE
    config = tmp_path / ".container-gate.yml"
    config.write_text(
        "ignore:\n  - id: license:SSPL-1.0\n    packages: [mongo*]\n    reason: internal\n    expires: 2027-01-01\n"
    )
    (c,) = ignores.from_config(load_config(config).ignores, str(config))
    assert (c.license_id, c.packages) == ("SSPL-1.0", ("mongo*",))
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: license:MIT\n  packages: busybox\n  reason: r\n")
    with pytest.raises(ConfigError, match="'packages' must be a list of strings"):
        read_ignore_file(bad)
