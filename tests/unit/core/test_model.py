"""The finding model: severity order, canonical ids, fingerprints and cross-tool dedupe."""

from __future__ import annotations

from gate.model import (
    Finding,
    FixState,
    Kind,
    Location,
    Severity,
    Source,
    dedupe,
    image_key,
)


def vuln(tool: str, id: str, aliases: tuple[str, ...] = (), target: str = "alpine:3.10", **kw: object) -> Finding:
    return Finding.create(
        id=id,
        aliases=aliases,
        kind=Kind.VULNERABILITY,
        severity=kw.pop("severity", Severity.HIGH),
        title="t",
        target=target,
        package="openssl",
        installed_version="1.1.1c-r0",
        sources=(Source(tool=tool, report=f"{tool}.json"),),
        **kw,
    )


def test_severity_order_and_words() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.UNKNOWN
    assert Severity.parse("Negligible") is Severity.LOW
    assert Severity.parse("moderate") is Severity.MEDIUM
    assert Severity.parse("") is Severity.UNKNOWN
    assert Severity.parse("bogus") is Severity.UNKNOWN
    assert Severity.from_score(9.8) is Severity.CRITICAL
    assert Severity.from_score(7.0) is Severity.HIGH
    assert Severity.from_score(0.1) is Severity.LOW


def test_cve_is_canonical_over_ghsa() -> None:
    f = vuln("grype", "GHSA-abcd-efgh-ijkl", aliases=("CVE-2021-2", "CVE-2021-1"))
    assert f.id == "CVE-2021-1"
    assert f.aliases == ("CVE-2021-2", "GHSA-abcd-efgh-ijkl")


def test_image_key_drops_tag_digest_registry_and_os_suffix() -> None:
    assert image_key("alpine:3.10 (alpine 3.10.2)") == "alpine"
    assert image_key("docker.io/library/alpine@sha256:" + "a" * 64) == "alpine"
    assert image_key("localhost:5000/team/app:1.2") == "localhost:5000/team/app"
    assert image_key("ghcr.io/org/app") == "ghcr.io/org/app"


def test_fingerprint_ignores_report_path_tag_and_order() -> None:
    a = vuln("trivy", "CVE-2021-1", target="alpine:3.10")
    b = vuln("trivy", "CVE-2021-1", target="docker.io/library/alpine:3.11 (alpine 3.11.3)")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != vuln("trivy", "CVE-2021-2").fingerprint


def test_dedupe_merges_trivy_and_grype_by_alias() -> None:
    trivy = vuln("trivy", "CVE-2021-1", severity=Severity.MEDIUM, fixed_version="1.1.1d-r0")
    grype = vuln("grype", "GHSA-abcd-efgh-ijkl", aliases=("CVE-2021-1",), severity=Severity.HIGH, epss=0.4)
    merged = dedupe([trivy, grype])
    assert len(merged) == 1
    one = merged[0]
    assert one.tools == ("grype", "trivy")
    assert one.severity is Severity.HIGH  # the more severe view wins
    assert one.fixed_version == "1.1.1d-r0"  # but nothing either tool knew is lost
    assert one.epss == 0.4
    assert "GHSA-abcd-efgh-ijkl" in one.aliases


def test_dedupe_keeps_distinct_lines_of_a_rule() -> None:
    def rule(line: int) -> Finding:
        return Finding(
            id="CG-DF-005",
            kind=Kind.POLICY,
            severity=Severity.MEDIUM,
            title="apt cache",
            target="Dockerfile",
            location=Location("Dockerfile", line, line),
        )

    assert len(dedupe([rule(3), rule(7), rule(3)])) == 2


def test_fixable() -> None:
    assert vuln("t", "CVE-1", fixed_version="2").fixable
    assert vuln("t", "CVE-1", fix_state=FixState.FIXED).fixable
    assert not vuln("t", "CVE-1").fixable
    misconf = Finding(id="DS-1", kind=Kind.MISCONFIGURATION, severity=Severity.HIGH, title="x", target="Dockerfile")
    assert misconf.fixable


def test_licenses_of_two_packages_stay_two() -> None:
    def lic(pkg: str) -> Finding:
        return Finding(
            id="GPL-3.0", kind=Kind.LICENSE, severity=Severity.HIGH, title="GPL-3.0", target="img", package=pkg
        )

    assert len(dedupe([lic("bash"), lic("grep"), lic("bash")])) == 2
