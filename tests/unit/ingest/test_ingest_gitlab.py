"""GitLab container-scanning reader: GitLab's own report format (Trivy's golden), our emitter's output read back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from gate.cli import main
from gate.errors import InputError
from gate.ingest import PARSERS, load_report, parser
from gate.ingest.gitlab import UNKNOWN_IMAGE
from gate.model import FixState, Severity, dedupe, image_key
from tests import conftest as ROOT  # noqa: N812 - the root fixtures module

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = "schemas/trivy-golden_alpine-310.gitlab-container-scanning.json"


def _doc(*vulnerabilities: Any, version: str = "15.0.7", **extra: Any) -> dict[str, Any]:
    scan = {"type": "container_scanning", "scanner": {"id": "trivy", "name": "Trivy", "version": "0.50.0"}}
    return {"version": version, "scan": scan, "vulnerabilities": list(vulnerabilities), **extra}


def _vuln(**fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "3f0e2c1a-0000-5000-8000-000000000001",
        "name": "zlib: heap overflow",
        "severity": "Critical",
        "location": {
            "image": "registry.example.com/app:1.2",
            "operating_system": "debian 12.5",
            "dependency": {"package": {"name": "zlib1g"}, "version": "1:1.2.13.dfsg-1"},
        },
        "identifiers": [{"type": "cve", "name": "CVE-2023-45853", "value": "CVE-2023-45853"}],
    }
    entry.update(fields)
    return entry


def _read(tmp_path: Path, doc: Any) -> Any:
    path = tmp_path / "gl-container-scanning-report.json"
    path.write_bytes(orjson.dumps(doc))
    return load_report(path)


@pytest.mark.corpus
def test_trivy_golden_reads_like_trivy_json() -> None:
    gitlab = load_report(ROOT.corpus_file(GOLDEN))
    trivy = load_report(ROOT.corpus_file("trivy/trivy-golden_alpine-310.json"))
    assert (gitlab.tool, gitlab.tool_version, gitlab.skipped) == ("trivy", "dev", ())
    assert (gitlab.artifact, gitlab.os) == ("testdata/fixtures/images/alpine-310.tar.gz", "alpine 3.10.2")

    def key(f: Any) -> tuple[object, ...]:
        return (f.id, f.package, f.installed_version, f.fixed_version, f.fix_state, f.severity, f.target)

    assert sorted(map(key, gitlab.findings)) == sorted(map(key, trivy.findings))
    assert {f.severity for f in gitlab.findings} == {Severity.MEDIUM}
    first = next(f for f in gitlab.findings if (f.id, f.package) == ("CVE-2019-1549", "libcrypto1.1"))
    assert first.title == "openssl: information disclosure in fork()" and first.prop("os") == "alpine 3.10.2"
    assert first.help_uri == "https://avd.aquasec.com/nvd/cve-2019-1549" and len(first.references) == 20
    # The same problem from both formats is one finding with two sightings.
    merged = dedupe((*gitlab.findings, *trivy.findings))
    assert len(merged) == 4 and all(len(f.sources) == 2 for f in merged)


@pytest.mark.corpus
def test_golden_is_claimed_by_the_gitlab_reader_alone() -> None:
    from gate.ingest import read_json

    doc = read_json(ROOT.corpus_file(GOLDEN))
    assert [n for n in PARSERS if parser(n).sniff(doc)] == ["gitlab"]


@pytest.mark.corpus
def test_our_own_gitlab_report_reads_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no config file of the repository applies
    ignore = tmp_path / ".trivyignore"
    ignore.write_text("CVE-2024-1002\n")
    grype = FIXTURES / "grype_fix_states.json"
    trivy = ROOT.corpus_file("trivy/trivy-golden_alpine-310.json")
    result, report = tmp_path / "result.json", tmp_path / "gl-container-gate-report.json"
    args = [str(trivy), str(grype), "--ignore-file", str(ignore), "--json", str(result), "--gitlab-report", str(report)]
    assert main(["gate", *args]) == 1
    written = orjson.loads(result.read_bytes())["findings"]
    back = load_report(report)
    assert back.skipped == ()

    def mine(f: dict[str, Any]) -> tuple[object, ...]:
        installed, fixed = f["installed_version"], f["fixed_version"]
        return (f["fingerprint"], f["id"], f["severity"], f["package"], installed, fixed, bool(f["suppressed"]))

    def read(f: Any) -> tuple[object, ...]:
        installed, fixed = f.installed_version, f.fixed_version
        suppressed = f.tool_suppression is not None
        return (f.fingerprint, f.id, f.severity.name, f.package, installed, fixed, suppressed)

    vulns = [f for f in written if f["kind"] == "vulnerability"]
    assert sorted(map(read, back.findings)) == sorted(map(mine, vulns))
    by_id = {(f.id, f.package): f for f in back.findings}
    suppressed = by_id[("CVE-2024-1002", "busybox")]
    assert suppressed.tool_suppression is not None and ".trivyignore" in suppressed.tool_suppression.reason
    assert suppressed.fix_state is FixState.NOT_FIXED  # "No fixed version of … yet (not-fixed)"
    assert by_id[("CVE-2019-1549", "libssl1.1")].prop("os") == "alpine 3.10.2"
    # Image references are kept as the scanners named them, so the fingerprints meet again.
    assert {image_key(f.target) for f in back.findings} == {image_key(f["target"]) for f in vulns}


def test_fix_hints_identifiers_and_severity(tmp_path: Path) -> None:
    ghsa_first = [
        {"type": "ghsa", "name": "GHSA-aaaa-bbbb-cccc", "value": "GHSA-aaaa-bbbb-cccc"},
        {"type": "cve", "name": "CVE-2024-0002", "value": "CVE-2024-0002", "url": "https://nvd.example/2"},
    ]
    doc = _doc(
        _vuln(solution="Upgrade zlib1g to 1:1.3.dfsg-3"),
        _vuln(id="r-1", identifiers=ghsa_first, severity="Info", solution="No solution provided"),
        _vuln(id="r-2", severity="Unknown", solution=None),
        _vuln(id="r-3", solution="Upgrade something-else to 2.0"),
        remediations=[{"fixes": [{"id": "r-2"}], "summary": "Upgrade zlib1g to 1:1.3.dfsg-4", "diff": "ZGlmZg=="}],
    )
    report = _read(tmp_path, doc)
    plain, ghsa, remedied, other = report.findings
    assert (plain.id, plain.fixed_version, plain.fix_state, plain.severity) == (
        "CVE-2023-45853",
        "1:1.3.dfsg-3",
        FixState.FIXED,
        Severity.CRITICAL,
    )
    assert (ghsa.id, ghsa.aliases, ghsa.severity, ghsa.fixed_version) == (
        "CVE-2024-0002",
        ("GHSA-aaaa-bbbb-cccc",),
        Severity.LOW,
        None,
    )
    assert ghsa.help_uri == "https://nvd.example/2" and ghsa.sources[0].original_severity == "Info"
    assert (remedied.fixed_version, remedied.severity) == ("1:1.3.dfsg-4", Severity.UNKNOWN)
    assert (other.fixed_version, other.fix_state) == (None, FixState.UNKNOWN)  # another package's upgrade
    assert (report.tool, report.tool_version, report.artifact, report.os) == (
        "trivy",
        "0.50.0",
        "registry.example.com/app:1.2",
        "debian 12.5",
    )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_vuln(identifiers=[]), "vulnerabilities[0].identifiers: missing (a CVE or another advisory id is required)"),
        (_vuln(location={"image": "a"}), "vulnerabilities[0].location.dependency.package.name: missing"),
        ("CVE-1", "vulnerabilities[0]: expected an object, got a string"),
        (_vuln(identifiers=[{"type": "cve"}]), "vulnerabilities[0].identifiers[0].value: missing"),
        (
            _vuln(location={"image": "a", "dependency": {"package": {"name": "p"}, "version": 5}}),
            "vulnerabilities[0].location.dependency.version: expected a string, got a number",
        ),
        (_vuln(severity=9), "vulnerabilities[0].severity: expected a string, got a number"),
        (_vuln(severity="Severe"), "vulnerabilities[0].severity: unknown severity 'Severe'"),
    ],
)
def test_entries_that_cannot_be_read_are_errors_naming_their_path(tmp_path: Path, entry: object, message: str) -> None:
    # Each of these was a `skipped` entry once, and the gate passed: now the run ends with exit 2.
    with pytest.raises(InputError) as caught:
        _read(tmp_path, _doc(entry))
    assert caught.value.diagnostics().startswith(f"{tmp_path / 'gl-container-scanning-report.json'}: {message}")


def test_an_entry_without_image_is_read(tmp_path: Path) -> None:
    no_image = _vuln()
    no_image["location"] = {"operating_system": "Unknown", "dependency": no_image["location"]["dependency"]}
    (unplaced,) = _read(tmp_path, _doc(no_image)).findings
    assert unplaced.target == UNKNOWN_IMAGE and unplaced.prop("os") is None


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("2.3", "schema 2.3 is not supported"),
        ("16.0.0", "schema 16.0.0 is not supported"),
        (None, "without a schema `version`"),
        (15, "without a schema `version`"),
    ],
)
def test_unsupported_versions_are_input_errors(tmp_path: Path, version: object, message: str) -> None:
    doc = _doc(_vuln())
    doc["version"] = version
    with pytest.raises(InputError) as caught:
        _read(tmp_path, doc)
    assert message in caught.value.diagnostics() and "gl-container-scanning-report.json" in caught.value.diagnostics()


def test_bad_remediations_are_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="remediations"):
        _read(tmp_path, _doc(_vuln(), remediations={"fixes": []}))


def test_other_gitlab_reports_are_not_claimed() -> None:
    dependency_scanning = _doc(_vuln())
    dependency_scanning["scan"]["type"] = "dependency_scanning"
    no_scan = {"version": "15.0.7", "vulnerabilities": []}
    for doc in (dependency_scanning, no_scan):
        assert [n for n in PARSERS if parser(n).sniff(doc)] == []


def test_an_empty_container_scanning_report_passes_as_read(tmp_path: Path) -> None:
    report = _read(tmp_path, _doc())
    assert (report.tool, report.findings, report.skipped) == ("trivy", (), ())
