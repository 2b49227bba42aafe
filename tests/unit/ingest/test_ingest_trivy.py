"""Trivy reader: every corpus report, the legacy and k8s shapes, and malformed entries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.ingest import load_report
from gate.model import FixState, Kind, Location, Severity
from tests.unit.ingest.helpers import Load, by_key, tally


@pytest.mark.corpus
def test_alpine_golden_image(corpus_report: Load) -> None:
    report = corpus_report("trivy/trivy-golden_alpine-310.json")
    assert report.tool == "trivy" and report.tool_version == "dev"
    assert report.artifact == "testdata/fixtures/images/alpine-310.tar.gz"
    assert report.os == "alpine 3.10.2"
    assert tally(report) == {("vulnerability", "MEDIUM"): 4}
    found = by_key(report)
    ssl = found[("CVE-2019-1551", "libssl1.1")]
    assert (ssl.installed_version, ssl.fixed_version, ssl.fix_state) == ("1.1.1c-r0", "1.1.1d-r2", FixState.FIXED)
    assert ssl.target == "testdata/fixtures/images/alpine-310.tar.gz"
    assert ssl.package_class == "os-pkgs"
    assert ssl.prop("os") == "alpine 3.10.2"
    assert (ssl.prop("purl") or "").startswith("pkg:apk/alpine/libssl1.1@1.1.1c-r0")
    crypto = found[("CVE-2019-1549", "libcrypto1.1")]
    assert crypto.cvss_score == 5.3  # SeveritySource nvd: its V3Score, not redhat's 4.8
    assert crypto.help_uri == "https://avd.aquasec.com/nvd/cve-2019-1549"
    assert crypto.title == "openssl: information disclosure in fork()"
    assert len(crypto.references) == 20
    assert crypto.sources[0].tool == "trivy" and crypto.sources[0].original_severity == "MEDIUM"


@pytest.mark.corpus
def test_os_golden_images(corpus_report: Load) -> None:
    centos = corpus_report("trivy/trivy-golden_centos-7.json")
    assert tally(centos) == {("vulnerability", "LOW"): 2, ("vulnerability", "MEDIUM"): 1}
    bash = by_key(centos)[("CVE-2019-18276", "bash")]
    assert bash.fix_state is FixState.WONT_FIX and bash.fixed_version is None and not bash.fixable
    openssl = by_key(centos)[("CVE-2019-1559", "openssl-libs")]
    assert openssl.aliases == ("RHSA-2019:2304",) and openssl.fixed_version == "1:1.0.2k-19.el7"
    debian = corpus_report("trivy/trivy-golden_debian-buster.json")
    assert tally(debian) == {("vulnerability", "LOW"): 1, ("vulnerability", "CRITICAL"): 1}
    assert by_key(debian)[("CVE-2019-18276", "bash")].fix_state is FixState.NOT_FIXED
    assert by_key(debian)[("CVE-2019-18224", "libidn2-0")].aliases == ("DSA-4613-1",)
    ubuntu = corpus_report("trivy/trivy-golden_ubuntu-1804.json")
    assert tally(ubuntu) == {("vulnerability", "LOW"): 1, ("vulnerability", "MEDIUM"): 4}
    assert {f.package for f in ubuntu.findings if f.id == "CVE-2019-5094"} == {
        "e2fsprogs",
        "libcom-err2",
        "libext2fs2",
        "libss2",
    }
    action = corpus_report("trivy/trivy-action_image-alpine310.json")
    assert tally(action) == {("vulnerability", "CRITICAL"): 1}
    apk = by_key(action)[("CVE-2021-36159", "apk-tools")]
    assert (apk.target, apk.fixed_version, action.os) == ("alpine:3.10", "2.10.7-r0", "alpine 3.10.9")


@pytest.mark.corpus
def test_defectdojo_image_with_jars(corpus_report: Load) -> None:
    report = corpus_report("trivy/defectdojo_trivy_scheme_2_many_vulns.json")
    assert report.tool_version is None  # this report has no `Trivy` block
    assert tally(report) == {
        ("vulnerability", "MEDIUM"): 3,
        ("vulnerability", "HIGH"): 1,
        ("vulnerability", "CRITICAL"): 1,
    }
    assert {f.target for f in report.findings} == {"teamdojo:latest"}
    jar = by_key(report)[("CVE-2018-1324", "org.apache.commons:commons-compress")]
    assert jar.package_class == "lang-pkgs" and jar.fixed_version == "1.16"
    # No Status field: a FixedVersion means fixed.
    assert jar.fix_state is FixState.FIXED
    krb = by_key(report)[("CVE-2020-28196", "krb5-libs")]
    assert krb.cvss_score == 7.5  # only redhat has a score: taken when nvd has none
    assert by_key(report)[("CVE-2019-12900", "libbz2")].cvss_score is None


@pytest.mark.corpus
def test_repository_lockfiles(corpus_report: Load) -> None:
    npm = corpus_report("trivy/trivy-golden_npm.json")
    jquery = by_key(npm)[("CVE-2019-11358", "jquery")]
    assert (jquery.target, jquery.location) == ("package-lock.json", Location(path="package-lock.json"))
    assert (
        jquery.severity is Severity.MEDIUM and jquery.fixed_version == "3.4.0" and jquery.package_class == "lang-pkgs"
    )
    pip = corpus_report("trivy/trivy-golden_pip.json")
    assert tally(pip) == {("vulnerability", "HIGH"): 1, ("vulnerability", "MEDIUM"): 1}
    assert {f.fixed_version for f in pip.findings} == {"0.15.3", "0.11.6"}
    repo = corpus_report("trivy/trivy-golden_test-repo.json")
    assert tally(repo) == {("vulnerability", "HIGH"): 1, ("vulnerability", "MEDIUM"): 1}
    assert {f.target for f in repo.findings} == {"Cargo.lock"}
    assert by_key(repo)[("CVE-2021-38193", "ammonia")].fixed_version == ">= 3.1.0, >= 2.1.3, < 3.0.0"


@pytest.mark.corpus
def test_config_scan_misconfigurations(corpus_report: Load) -> None:
    report = corpus_report("trivy/trivy-action_config-scan.json")
    assert tally(report) == {
        ("misconfiguration", "HIGH"): 5,
        ("misconfiguration", "LOW"): 2,
        ("misconfiguration", "MEDIUM"): 1,
    }
    ids = sorted(f.id for f in report.findings)
    assert ids == ["AWS-0086", "AWS-0087", "AWS-0089", "AWS-0090", "AWS-0091", "AWS-0093", "AWS-0094", "AWS-0132"]
    versioning = next(f for f in report.findings if f.id == "AWS-0090")
    # Targets are relative to the scanned folder (ArtifactName): joined, they name the file from where Trivy ran.
    main_tf = "test/data/config-scan/main.tf"
    assert versioning.location is not None
    assert (versioning.location.path, versioning.location.start_line, versioning.location.end_line) == (main_tf, 16, 16)
    acl = next(f for f in report.findings if f.id == "AWS-0086")
    assert acl.location == Location(path=main_tf, start_line=8, end_line=10, logical="aws_s3_bucket.bucket")
    assert acl.title == "S3 Access block should block public ACL"
    assert acl.prop("resource") == "aws_s3_bucket.bucket"
    assert "No public access block" in acl.description
    dockerfile = corpus_report("trivy/trivy-golden_dockerfile-misconfig.json")
    (ds,) = dockerfile.findings
    assert (ds.id, ds.kind, ds.severity, ds.location) == (
        "DS-0002",
        Kind.MISCONFIGURATION,
        Severity.HIGH,
        Location(path="testdata/fixtures/repo/dockerfile/Dockerfile"),
    )
    empty = corpus_report("trivy/trivy-action_tfvars-no-findings.json")
    assert empty.findings == () and empty.skipped == ()


@pytest.mark.corpus
def test_secrets_are_redacted(corpus_report: Load) -> None:
    report = corpus_report("trivy/trivy-golden_secrets.json")
    assert tally(report) == {("secret", "CRITICAL"): 1, ("secret", "HIGH"): 1}
    aws = by_key(report)[("aws-access-key-id", None)]
    assert aws.title == "AWS Access Key ID" and aws.location == Location(
        path="testdata/fixtures/repo/secrets/deploy.sh", start_line=3, end_line=3
    )
    action = corpus_report("trivy/trivy-action_secret-scan.json")
    (pat,) = action.findings
    assert (pat.id, pat.severity, pat.location) == ("github-pat", Severity.CRITICAL, Location("env", 5, 5))
    for finding in (*report.findings, *action.findings):
        assert "export" not in repr(finding) and "****" not in repr(finding)


@pytest.mark.corpus
def test_licenses(corpus_report: Load) -> None:
    report = corpus_report("trivy/trivy-golden_license-cyclonedx.json")
    assert tally(report) == {("license", "MEDIUM"): 1, ("license", "LOW"): 2}
    epl = by_key(report)[("EPL-1.0", "org.eclipse.sisu:org.eclipse.sisu.plexus")]
    assert epl.kind is Kind.LICENSE and epl.prop("category") == "reciprocal"


def test_statuses_and_scores(fixture_report: Load) -> None:
    report = fixture_report("trivy_mixed.json")
    found = by_key(report)
    openssl = found[("CVE-2024-0001", "openssl")]
    assert openssl.aliases == ("DSA-5600-1",) and openssl.references == ("https://a",)
    # SeveritySource debian has no CVSS entry: NVD's v3 score comes next, before any v4.0 score.
    assert openssl.cvss_score == 7.5
    assert openssl.target == "registry.example.com/team/app:1.2.3" and openssl.prop("os") == "debian 12.5"
    assert found[("CVE-2024-0002", "bash")].cvss_score == 2.1
    assert found[("CVE-2024-0002", "bash")].fix_state is FixState.WONT_FIX
    assert found[("CVE-2024-0003", "zlib")].fix_state is FixState.NOT_FIXED
    assert found[("CVE-2024-0004", "glibc")].fix_state is FixState.WONT_FIX
    curl = found[("CVE-2024-0005", "curl")]
    assert curl.tool_suppression is not None and "not affected" in curl.tool_suppression.reason
    requests = found[("CVE-2023-32681", "requests")]
    assert requests.aliases == ("GHSA-j8r2-6x86-q33q",) and requests.sources[0].original_id == "GHSA-j8r2-6x86-q33q"
    assert requests.location == Location(path="usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA")
    assert requests.target == "registry.example.com/team/app:1.2.3"
    assert report.skipped == ()  # entries that cannot be read: test_ingest_unreadable.py


def test_misconfiguration_statuses_and_secret_redaction(fixture_report: Load) -> None:
    report = fixture_report("trivy_mixed.json")
    misconf = {f.id: f for f in report.findings if f.kind is Kind.MISCONFIGURATION}
    assert set(misconf) == {"DS-0002", "DS-0026", "DS-0013"}  # PASS is not a finding
    assert misconf["DS-0026"].tool_suppression is not None and misconf["DS-0002"].tool_suppression is None
    assert misconf["DS-0013"].location == Location(path="Dockerfile", start_line=4, end_line=6)
    (secret,) = [f for f in report.findings if f.kind is Kind.SECRET]
    assert secret.location == Location(path="app/.env", start_line=2, end_line=2)
    assert "SUPERSECRET" not in repr(secret)


def test_suppressed_by_trivy_kept_as_suppressed(fixture_report: Load) -> None:
    report = fixture_report("trivy_mixed.json")
    flask = by_key(report)[("CVE-2024-0009", "flask")]
    assert flask.tool_suppression is not None
    assert "not_affected" in flask.tool_suppression.reason and "app.openvex.json" in flask.tool_suppression.reason


def test_legacy_bare_list_is_read(fixture_report: Load) -> None:
    report = fixture_report("trivy_legacy_list.json")
    assert tally(report) == {("vulnerability", "MEDIUM"): 2, ("vulnerability", "LOW"): 1}
    ssl = by_key(report)[("CVE-2019-1549", "libssl1.1")]
    assert ssl.target == "alpine:3.10" and ssl.package_class == "os-pkgs" and ssl.fix_state is FixState.FIXED
    assert by_key(report)[("CVE-2019-1551", "libssl1.1")].fix_state is FixState.UNKNOWN
    jquery = by_key(report)[("CVE-2019-11358", "jquery")]
    assert jquery.package_class == "lang-pkgs" and jquery.location == Location(path="app/package-lock.json")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("trivy_null.json", "Trivy >= 0.20"),
        ("trivy_no_schema.json", "Trivy >= 0.20"),
        ("trivy_schema3.json", "SchemaVersion 3"),
        ("trivy_k8s_bad_version.json", "SchemaVersion 7"),
    ],
)
def test_refused_shapes_name_the_file(fixture_path: Callable[[str], Path], name: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        load_report(fixture_path(name))
    text = caught.value.diagnostics()
    assert message in text and name in text and "\n" not in text


def test_k8s_resources(fixture_report: Load) -> None:
    report = fixture_report("trivy_k8s.json")
    assert report.artifact == "kind-test" and report.os == "alpine 3.19.1"
    assert tally(report) == {("vulnerability", "MEDIUM"): 1, ("misconfiguration", "HIGH"): 2}
    (vuln,) = [f for f in report.findings if f.kind is Kind.VULNERABILITY]
    assert (vuln.target, vuln.fixed_version, vuln.prop("os")) == ("nginx:1.25-alpine", "3.1.4-r6", "alpine 3.19.1")
    paths = sorted(f.location.path for f in report.findings if f.kind is Kind.MISCONFIGURATION and f.location)
    assert paths == ["default/Deployment/web", "staging/Deployment/web"]
    (skip,) = report.skipped
    assert "kube-system/Pod/etcd" in skip.reason and "unauthorized" in skip.reason


def test_k8s_consolidated_findings(fixture_report: Load) -> None:
    report = fixture_report("trivy_k8s_summary.json")
    assert tally(report) == {("misconfiguration", "MEDIUM"): 1, ("vulnerability", "HIGH"): 1}
    libc = by_key(report)[("CVE-2023-4911", "libc6")]
    assert libc.target == "postgres:16 (debian 12.5)" and libc.fixed_version == "2.36-9+deb12u3"


@pytest.mark.parametrize(
    "doc",
    [
        b'{"SchemaVersion": 2, "Results": {"a": 1}}',
        b'{"SchemaVersion": "2", "Results": []}',
        b'{"SchemaVersion": true, "Results": []}',
        b'{"ClusterName": "x", "Resources": 5}',
    ],
)
def test_wrong_layout_is_input_error(tmp_path: Path, doc: bytes) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(doc)
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert str(path) in caught.value.diagnostics()


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (b'[1, "x", null]', "Results[0]: expected an object, got a number"),
        (
            b'[{"Target": "a", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p", "VendorIDs": 5,'
            b' "CVSS": [1], "References": "x", "Title": 3, "PkgIdentifier": "x"}]}]',
            "Results[0].Vulnerabilities[0].Title: expected a string, got a number",
        ),
        (
            b'[{"Target": "a", "Misconfigurations": [{"ID": "X", "Status": "FAIL", "CauseMetadata": [],'
            b' "References": 1}]}]',
            "Results[0].Misconfigurations[0].CauseMetadata: expected an object, got a list",
        ),
        (
            b'[{"Target": "a", "Secrets": [{"RuleID": "r", "StartLine": "3"}], "Licenses": [{"Name": 5}]}]',
            "Results[0].Secrets[0].StartLine: expected a line number, got a string",
        ),
        (
            b'[{"Target": "a", "ExperimentalModifiedFindings": [1, {"Type": "vulnerability", "Finding": {"x": 1}}]}]',
            "Results[0].ExperimentalModifiedFindings[0]: expected an object, got a number",
        ),
        (
            b'[{"Target": "a", "ExperimentalModifiedFindings": [{"Type": "vulnerability", "Finding": {"x": 1}}]}]',
            "Results[0].ExperimentalModifiedFindings[0].Finding.VulnerabilityID: missing",
        ),
    ],
)
def test_wrong_types_inside_are_one_error_naming_the_first(tmp_path: Path, results: bytes, message: str) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(
        b'{"SchemaVersion": 2, "ArtifactName": "img", "ArtifactType": "container_image", "Results": ' + results + b"}"
    )
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert caught.value.diagnostics() == f"{path}: {message}"


def test_image_without_artifact_type_is_known_by_its_image_id(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(
        '{"SchemaVersion": 2, "ArtifactName": "app:1", "Metadata": {"ImageID": "sha256:ab"}, "Results": [{"Target":'
        ' "app:1 (alpine 3.19)", "Class": "os-pkgs", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p",'
        ' "InstalledVersion": "1", "Severity": "HIGH"}]}, {"Target": "srv/go.mod", "Class": "lang-pkgs",'
        ' "Vulnerabilities": [{"VulnerabilityID": "CVE-2", "PkgName": "q", "InstalledVersion": "2"}]}]}'
    )
    report = load_report(path)
    assert {f.target for f in report.findings} == {"app:1"}
    assert by_key(report)[("CVE-2", "q")].location == Location(path="srv/go.mod")
