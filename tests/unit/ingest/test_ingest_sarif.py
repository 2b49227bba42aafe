"""SARIF reader: corpus SARIF from Trivy, Grype and Conftest, severity rules, suppressions, own output."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.ingest import load_report
from gate.model import Kind, Location, Severity
from tests.unit.ingest.helpers import Load, by_key, tally


@pytest.mark.corpus
def test_trivy_image_sarif(corpus_report: Load) -> None:
    report = corpus_report("sarif/trivy-golden_alpine-310.sarif")
    assert (report.tool, report.tool_version) == ("trivy", "dev")
    assert tally(report) == {("vulnerability", "MEDIUM"): 4}
    crypto = by_key(report)[("CVE-2019-1551", "libcrypto1.1")]
    # package, installed and fixed versions come from the result message, not the shared rule help
    assert (crypto.installed_version, crypto.fixed_version) == ("1.1.1c-r0", "1.1.1d-r2")
    assert crypto.target == "testdata/fixtures/images/alpine-310.tar.gz" and crypto.cvss_score == 5.3
    assert crypto.help_uri == "https://avd.aquasec.com/nvd/cve-2019-1551"
    assert crypto.title == "openssl: Integer overflow in RSAZ modular exponentiation on x86_64"
    assert (crypto.prop("help") or "").startswith("**Vulnerability CVE-2019-1551**")
    assert {f.package for f in report.findings} == {"libcrypto1.1", "libssl1.1"}


@pytest.mark.corpus
def test_trivy_config_sarif(corpus_report: Load) -> None:
    report = corpus_report("sarif/trivy-action_config-sarif-report.sarif")
    # Same counts per severity as the JSON report of the same scan (security-severity 8.0/5.5/2.0).
    assert tally(report) == {
        ("misconfiguration", "HIGH"): 5,
        ("misconfiguration", "LOW"): 2,
        ("misconfiguration", "MEDIUM"): 1,
    }
    versioning = next(f for f in report.findings if f.id == "AWS-0090")
    assert versioning.location == Location(path="main.tf", start_line=16, end_line=16)
    assert versioning.help_uri == "https://avd.aquasec.com/misconfig/aws-0090"


@pytest.mark.corpus
def test_grype_sarif_uses_security_severity(corpus_report: Load) -> None:
    for name, target in (("directory", "/some/path/somefile-1.txt"), ("image", "user-input/somefile-1.txt")):
        report = corpus_report(f"sarif/grype-golden_sarif-{name}.sarif")
        assert report.tool == "grype" and report.tool_version == "0.0.0-dev"
        found = by_key(report)
        one = found[("CVE-1999-0001", "package-1")]
        # The rule id is CVE-package; the CVE is the finding's id and the whole rule id the original.
        assert one.sources[0].original_id == "CVE-1999-0001-package-1"
        assert (one.installed_version, one.fixed_version, one.target) == ("1.1.1", "1.2.1,2.1.3,3.4.0", target)
        # security-severity (a CVSS score) decides, as on GitHub: 8.2 is HIGH although the level is note.
        assert one.severity is Severity.HIGH and one.cvss_score == 8.2
        two = found[("CVE-1999-0002", "package-2")]
        assert (two.severity, two.installed_version, two.fixed_version) == (Severity.HIGH, "2.2.2", None)


@pytest.mark.corpus
def test_conftest_sarif_is_policy(corpus_report: Load) -> None:
    report = corpus_report("sarif/conftest-docs_output-sarif_kubernetes-service.sarif")
    (warn,) = report.findings
    assert (warn.id, warn.kind, warn.severity) == ("main/warn", Kind.POLICY, Severity.MEDIUM)
    assert warn.title == "Found service hello-kubernetes but services are not allowed"
    assert warn.location == Location(path="examples/kubernetes/service.yaml")


def test_levels_scores_suppressions_and_kinds(fixture_report: Load) -> None:
    report = fixture_report("sarif_mixed.sarif")
    assert report.tool == "sarif"  # several tools in one file
    by_where = {(f.id, f.location.path if f.location else None): f for f in report.findings}
    first = by_where[("CKV_DOCKER_2", "Dockerfile")]
    assert first.severity is Severity.HIGH  # rule default level error
    assert first.title == "Ensure that HEALTHCHECK instructions have been added"
    assert first.location == Location(path="Dockerfile", start_line=1, end_line=12)
    assert first.help_uri == "https://docs.prismacloud.io/ckv-docker-2" and first.sources[0].tool == "checkov"
    user = by_where[("CKV_DOCKER_3", "app/Dockerfile")]
    assert user.severity is Severity.CRITICAL  # rule security-severity 9.1 beats level note
    assert user.location == Location(path="app/Dockerfile", start_line=3, end_line=3)
    by_index = by_where[("CKV_DOCKER_2", "services/api/Dockerfile")]
    assert by_index.severity is Severity.LOW  # the result's own security-severity 2.5
    secret = by_where[("CKV_SECRET_6", "config.env")]
    assert secret.kind is Kind.SECRET and secret.tool_suppression is not None
    assert (secret.tool_suppression.by, secret.tool_suppression.reason) == ("inline", "test fixture, not a real key")
    rejected = by_where[("CKV_DOCKER_2", "other/Dockerfile")]
    assert rejected.tool_suppression is None
    dockle = by_where[("CIS-DI-0001", None)]
    assert (dockle.severity, dockle.title, dockle.target) == (
        Severity.MEDIUM,
        "Create a user for the container",
        "dockle",
    )
    ghsa = by_where[("GHSA-abcd-efgh-ijkl", "package-lock.json")]
    assert (ghsa.kind, ghsa.package, ghsa.installed_version) == (Kind.VULNERABILITY, "@scope/pkg", "1.2.3")
    assert len(report.findings) == 7  # level none and kind pass are not findings
    assert report.skipped == ()  # entries that cannot be read: test_ingest_unreadable.py


def test_own_sarif_is_refused(fixture_path: Callable[[str], Path]) -> None:
    with pytest.raises(InputError) as caught:
        load_report(fixture_path("sarif_own.sarif"))
    assert "container-gate itself" in caught.value.diagnostics()


def test_unknown_sarif_version(fixture_path: Callable[[str], Path]) -> None:
    with pytest.raises(InputError) as caught:
        load_report(fixture_path("sarif_v2.sarif"))
    assert "2.0.0" in caught.value.diagnostics() and "sarif_v2.sarif" in caught.value.diagnostics()


@pytest.mark.parametrize(
    ("runs", "message"),
    [
        (b"[5]", "runs[0]: expected an object, got a number"),
        (b'[{"tool": {"driver": {}}, "results": []}]', "runs[0].tool.driver.name: missing (a run must name its tool)"),
        (
            b'[{"tool": {"driver": {"name": "u"}}, "results": {"a": 1}}]',
            "runs[0].results: expected a list, got an object",
        ),
        (
            b'[{"tool": {"driver": {"name": "t", "rules": [{"id": "R", "properties": 3}]}},'
            b' "results": [{"ruleId": "R", "ruleIndex": 0, "message": {"text": "m"}}]}]',
            "runs[0].tool.driver.rules[0].properties: expected an object, got a number",
        ),
        (
            b'[{"tool": {"driver": {"name": "t"}}, "results": [{"ruleId": "R", "message": "text"}]}]',
            "runs[0].results[0].message: expected an object, got a string",
        ),
        (
            b'[{"tool": {"driver": {"name": "t"}}, "results": [{"ruleId": "R", "properties":'
            b' {"security-severity": "high"}}]}]',
            "runs[0].results[0].properties.security-severity: not a score: 'high'",
        ),
        (
            b'[{"tool": {"driver": {"name": "t"}}, "results": [{"ruleId": "R", "suppressions": "x"}]}]',
            "runs[0].results[0].suppressions: expected a list, got a string",
        ),
        (
            b'[{"tool": {"driver": {"name": "t"}}, "results": [{"ruleId": "R", "locations": [{"physicalLocation":'
            b' {"artifactLocation": {"uri": 5}}}]}]}]',
            "runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri: expected a string, got a number",
        ),
    ],
)
def test_wrong_types_inside_are_one_error_naming_the_first(tmp_path: Path, runs: bytes, message: str) -> None:
    path = tmp_path / "x.sarif"
    path.write_bytes(b'{"version": "2.1.0", "runs": ' + runs + b"}")
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert caught.value.diagnostics() == f"{path}: {message}"


@pytest.mark.tool
def test_real_trivy_and_hadolint_sarif(tool: Callable[[str], str], tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.19\nRUN apk add curl\nRUN echo hi\n")
    out = tmp_path / "trivy.sarif"
    subprocess.run(
        [tool("trivy"), "config", "--quiet", "--format", "sarif", "--output", str(out), str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,  # not the repository's own trivy.yaml and its ignore file
    )
    report = load_report(out)
    assert report.tool == "trivy" and report.findings
    assert {f.kind for f in report.findings} == {Kind.MISCONFIGURATION}
    assert "DS-0002" in {f.id for f in report.findings}  # root user
    lint = subprocess.run(
        [tool("hadolint"), "-f", "sarif", str(tmp_path / "Dockerfile")], capture_output=True, text=True, check=False
    )
    lint_out = tmp_path / "hadolint.sarif"
    lint_out.write_text(lint.stdout)
    linted = load_report(lint_out)
    assert linted.tool == "hadolint"
    assert "DL3018" in {f.id for f in linted.findings}  # unpinned apk add
    assert all(f.location and f.location.path.endswith("Dockerfile") for f in linted.findings)


@pytest.mark.tool
def test_trivy_sarif_keeps_trivys_severity_where_cvss_says_otherwise(
    tool: Callable[[str], str], tmp_path: Path
) -> None:
    # A severity that disagrees with its source's CVSS score (as edited or converted reports hold):
    # Trivy's SARIF writes the score as security-severity and the severity as a tag. Read as SARIF,
    # the report must gate as it does read as JSON.
    def entry(vid: str, pkg: str, severity: str, score: float) -> str:
        return (
            f'{{"VulnerabilityID": "{vid}", "PkgName": "{pkg}", "InstalledVersion": "1.0-1", '
            f'"FixedVersion": "1.0-2", "Severity": "{severity}", "SeveritySource": "nvd", '
            f'"Title": "{pkg}: flaw", "CVSS": {{"nvd": {{"V3Score": {score}}}}}}}'
        )

    report = tmp_path / "trivy.json"
    report.write_text(
        '{"SchemaVersion": 2, "ArtifactName": "app:1", "ArtifactType": "container_image", '
        '"Metadata": {"OS": {"Family": "debian", "Name": "12.5"}}, '
        '"Results": [{"Target": "app:1 (debian 12.5)", "Class": "os-pkgs", "Type": "debian", '
        f'"Vulnerabilities": [{entry("CVE-2024-1111", "zlib1g", "LOW", 9.8)}, '
        f"{entry('CVE-2024-2222', 'curl', 'HIGH', 9.1)}, {entry('CVE-2024-3333', 'bash', 'MEDIUM', 5.0)}]}}]}}"
    )
    out = tmp_path / "trivy.sarif"
    subprocess.run(
        [tool("trivy"), "convert", "--quiet", "--format", "sarif", "--output", str(out), str(report)],
        check=True,
        capture_output=True,
    )
    as_sarif = {f.id: f.severity for f in load_report(out).findings}
    as_json = {f.id: f.severity for f in load_report(report).findings}
    assert (
        as_sarif
        == as_json
        == {
            "CVE-2024-1111": Severity.LOW,
            "CVE-2024-2222": Severity.HIGH,
            "CVE-2024-3333": Severity.MEDIUM,
        }
    )


def test_a_severity_tag_counts_only_alone_and_where_the_level_agrees(tmp_path: Path) -> None:
    path = tmp_path / "x.sarif"
    rule = '{{"id": "{0}", "properties": {{"tags": {1}, "security-severity": "9.5"}}}}'
    rules = ",".join(
        [rule.format("R1", '["security", "LOW"]'), rule.format("R2", '["LOW", "HIGH"]'), rule.format("R3", '["low"]')]
    )
    results = ",".join(
        f'{{"ruleId": "{rid}", "level": "{level}", "message": {{"text": "m"}}}}'
        for rid, level in (("R1", "note"), ("R1", "error"), ("R2", "note"), ("R3", "note"))
    )
    driver = f'{{"name": "scanner", "rules": [{rules}]}}'
    path.write_text(f'{{"version": "2.1.0", "runs": [{{"tool": {{"driver": {driver}}}, "results": [{results}]}}]}}')
    found = [(f.id, f.severity) for f in load_report(path).findings]
    assert found == [
        ("R1", Severity.LOW),  # the tag, matching the level
        ("R1", Severity.CRITICAL),  # level error disagrees with LOW: the score decides
        ("R2", Severity.CRITICAL),  # two words: neither
        ("R3", Severity.CRITICAL),  # lower case: not a severity word
    ]
