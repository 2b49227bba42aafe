"""Grype reader: every corpus report (2021 to today), fix states, aliases, EPSS/KEV, ignored matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import InputError
from gate.ingest import load_report
from gate.model import FixState, Location, Severity
from tests.unit.ingest.helpers import Load, by_key, tally


@pytest.mark.corpus
def test_golden_image(corpus_report: Load) -> None:
    report = corpus_report("grype/grype-golden_json-image.json")
    assert report.tool == "grype" and report.tool_version is None  # "[not provided]"
    assert (report.artifact, report.os) == ("user-input", "centos 8.0")
    assert tally(report) == {("vulnerability", "LOW"): 1, ("vulnerability", "CRITICAL"): 1}
    low = by_key(report)[("CVE-1999-0001", "package-1")]
    # matchDetails' suggested version wins over the list of fix versions
    assert (low.fixed_version, low.fix_state, low.package_class) == ("1.2.1", FixState.FIXED, "os-pkgs")
    assert low.target == "user-input" and low.location == Location(path="/foo/bar/somefile-1.txt")
    critical = by_key(report)[("CVE-1999-0002", "package-2")]
    assert critical.fix_state is FixState.UNKNOWN and critical.fixed_version is None  # state ""
    assert (critical.kev, critical.epss, critical.cvss_score) == (True, 0.08, 8.5)
    assert critical.prop("purl") == "pkg:deb/package-2@2.2.2"


@pytest.mark.corpus
def test_golden_directory_targets_the_file(corpus_report: Load) -> None:
    report = corpus_report("grype/grype-golden_json-directory.json")
    assert report.artifact == "/some/path"
    assert {f.target for f in report.findings} == {"foo/bar/somefile-1.txt", "foo/bar/somefile-2.txt"}
    empty = corpus_report("grype/grype-golden_json-empty.json")
    assert empty.findings == () and empty.skipped == ()


@pytest.mark.corpus
def test_grype_0_24_directory(corpus_report: Load) -> None:
    report = corpus_report("grype/defectdojo_grype_many_vulns4.json")
    assert report.tool_version == "0.24.0" and report.artifact == "."
    assert tally(report) == {
        ("vulnerability", "MEDIUM"): 5,
        ("vulnerability", "HIGH"): 2,
        ("vulnerability", "CRITICAL"): 2,
    }
    assert report.skipped == ()
    static_eval = by_key(report)[("CVE-2021-23334", "static-eval")]
    assert (
        static_eval.aliases == ("GHSA-8v27-2fg9-7h62",) and static_eval.sources[0].original_id == "GHSA-8v27-2fg9-7h62"
    )
    assert static_eval.fix_state is FixState.NOT_FIXED and static_eval.target == "components/yarn.lock"
    redis = by_key(report)[("CVE-2021-32626", "redis")]
    assert (redis.target, redis.package_class, redis.cvss_score) == ("requirements.txt", "lang-pkgs", 8.8)
    delegate = by_key(report)[("CVE-1999-1338", "delegate")]
    assert delegate.cvss_score == 5.0  # CVSS v2 only, no `type` field in 0.24
    assert {f.fix_state for f in report.findings} == {FixState.UNKNOWN, FixState.NOT_FIXED}


@pytest.mark.corpus
def test_ghsa_matches_take_the_cve(corpus_report: Load) -> None:
    report = corpus_report("grype/grype-explain-testdata_ghsa.json")
    assert report.tool_version == "0.65.1" and report.os == "alpine 3.14.2"
    ghsa, plain = sorted(report.findings, key=lambda f: f.aliases, reverse=True)
    assert (ghsa.id, ghsa.aliases, ghsa.fixed_version) == ("CVE-2014-3577", ("GHSA-cfh5-3ghh-wfjx",), "4.3.5")
    assert ghsa.cvss_score == 5.8  # the GHSA has no CVSS: the related CVE's score is used
    assert (plain.id, plain.fix_state) == ("CVE-2014-3577", FixState.UNKNOWN)
    assert ghsa.target == plain.target == report.artifact
    assert (report.artifact or "").startswith("anchore/test_images@sha256:")


@pytest.mark.corpus
def test_chainguard_and_0_75(corpus_report: Load) -> None:
    ruby = corpus_report("grype/grype-explain-testdata_chainguard-ruby.json")
    assert tally(ruby) == {("vulnerability", "HIGH"): 3}
    assert {(f.package, f.package_class) for f in ruby.findings} == {("ruby-3.0", "os-pkgs"), ("uri", "lang-pkgs")}
    assert {f.target for f in ruby.findings} == {"cgr.dev/chainguard/ruby:latest-3.0"}
    java = corpus_report("grype/defectdojo_grype_fix_available.json")
    (finding,) = java.findings
    assert (finding.id, finding.severity, finding.fixed_version, finding.fix_state) == (
        "CVE-2009-3882",
        Severity.HIGH,
        "1.2.3",
        FixState.FIXED,
    )
    assert java.tool_version == "0.75.0" and java.os == "ubuntu 20.04" and finding.cvss_score == 7.5


def test_fix_states_and_severities(fixture_report: Load) -> None:
    report = fixture_report("grype_fix_states.json")
    found = {f.id: f for f in report.findings}
    assert found["CVE-2024-1001"].fix_state is FixState.FIXED and found["CVE-2024-1001"].fixed_version == "1.2.4"
    assert found["CVE-2024-1001"].cvss_score == 7.5  # Primary v3.1 over Secondary v3.1 and Primary v2
    assert found["CVE-2024-1001"].epss == 0.35 and found["CVE-2024-1001"].kev
    assert found["CVE-2024-1002"].fix_state is FixState.NOT_FIXED
    assert found["CVE-2024-1003"].fix_state is FixState.WONT_FIX
    assert found["CVE-2024-1004"].fix_state is FixState.UNKNOWN
    negligible = found["CVE-2024-1005"]
    assert negligible.severity is Severity.LOW and negligible.sources[0].original_severity == "Negligible"
    missing = found["CVE-2024-1006"]
    assert missing.severity is Severity.UNKNOWN and missing.fix_state is FixState.UNKNOWN
    assert missing.target == "alpine:3.19" and missing.package_class == "lang-pkgs"
    lodash = found["CVE-2024-1007"]
    assert lodash.aliases == ("GHSA-xxxx-yyyy-zzzz",) and lodash.fixed_version == "2.0.0, 1.9.9"
    assert lodash.title == "Prototype pollution in lodash" and lodash.cvss_score == 6.1
    assert all(not f.kev for f in report.findings if f.id != "CVE-2024-1001")
    assert report.skipped == ()  # entries that cannot be read: test_ingest_unreadable.py


def test_ignored_matches_are_kept_suppressed(fixture_report: Load) -> None:
    report = fixture_report("grype_fix_states.json")
    found = {f.id: f for f in report.findings}
    curl = found["CVE-2024-2001"]
    assert curl.tool_suppression is not None and curl.tool_suppression.by == "tool"
    assert "not reachable from our code" in curl.tool_suppression.reason
    git = found["CVE-2024-2002"]
    assert git.tool_suppression is not None and "vex-status=not_affected" in git.tool_suppression.reason
    assert sum(1 for f in report.findings if f.tool_suppression) == 2


@pytest.mark.parametrize(
    "doc",
    [
        b'{"matches": [], "source": {}, "descriptor": "grype"}',
        b'{"matches": [], "source": {}, "ignoredMatches": {}}',
    ],
)
def test_wrong_layout_is_input_error(tmp_path: Path, doc: bytes) -> None:
    path = tmp_path / "grype.json"
    path.write_bytes(doc)
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert str(path) in caught.value.diagnostics()


def test_wrong_types_inside_are_one_error_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "grype.json"
    path.write_bytes(
        b'{"matches": [{"vulnerability": {"id": "CVE-1", "cvss": 5, "urls": 3, "fix": [], "knownExploited": 1,'
        b' "severity": 4}, "relatedVulnerabilities": [1, {"id": 5}], "matchDetails": 7,'
        b' "artifact": {"name": "p", "locations": "x", "type": []}}], "source": {"type": "image", "target": "i"}}'
    )
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert (
        caught.value.diagnostics() == f"{path}: matches[0].relatedVulnerabilities[0]: expected an object, got a number"
    )


def test_object_targets_of_directory_sources(tmp_path: Path) -> None:
    path = tmp_path / "grype.json"
    path.write_text(
        '{"matches": [{"vulnerability": {"id": "CVE-1", "severity": "High"}, "artifact": {"name": "p", "version": "1",'
        ' "type": "go-module", "locations": [{"path": "/srv/go.mod"}]}}], "source": {"type": "directory", "target":'
        ' {"path": "/work/repo"}}, "descriptor": {"name": "grype", "version": "0.80.0"}}'
    )
    report = load_report(path)
    assert report.artifact == "/work/repo"
    (finding,) = report.findings
    assert (finding.target, finding.package_class, finding.severity) == ("srv/go.mod", "lang-pkgs", Severity.HIGH)
