"""Conftest and hadolint JSON readers: corpus outputs, both Conftest shapes, levels."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.ingest import load_report
from gate.model import Kind, Location, Severity
from tests.unit.ingest.helpers import Load, tally


@pytest.mark.corpus
def test_conftest_corpus(corpus_report: Load) -> None:
    clean = corpus_report("conftest/defectdojo/conftest_no_vuln.json")
    assert clean.tool == "conftest" and clean.findings == () and clean.skipped == ()
    one = corpus_report("conftest/defectdojo/conftest_one_vuln.json")
    (deny,) = one.findings
    assert (deny.id, deny.kind, deny.severity, deny.title) == (
        "main/deny",
        Kind.POLICY,
        Severity.HIGH,
        "Container server must set a memory limit",
    )
    assert deny.target == "single.yaml" and deny.location == Location(path="single.yaml")
    docs = corpus_report("conftest/outputs/conftest-docs_output-json_kubernetes-service.json")
    (warn,) = docs.findings
    assert (warn.id, warn.severity, warn.prop("namespace")) == ("main/warn", Severity.MEDIUM, "main")
    assert warn.title == "Found service hello-kubernetes but services are not allowed"


def test_conftest_without_namespace(fixture_report: Load) -> None:
    report = fixture_report("conftest_no_namespace.json")
    # The exception is a failure Conftest excepted: HIGH, suppressed by the tool.
    assert tally(report) == {("policy", "HIGH"): 2, ("policy", "CRITICAL"): 1, ("policy", "MEDIUM"): 1}
    found = {f.title: f for f in report.findings}
    root = found["Containers must not run as root"]
    assert (root.id, root.severity, root.tool_suppression) == ("K8S-001", Severity.HIGH, None)
    memory = found["Memory limit required"]
    assert memory.severity is Severity.CRITICAL  # the result's own metadata severity wins
    assert memory.location == Location(path="deploy/deployment.yaml", start_line=17, end_line=17)
    assert memory.id == "deny"  # no namespace, no query, no metadata id
    pinned = found["Image tag should be pinned"]
    assert (pinned.id, pinned.severity) == ("warn", Severity.MEDIUM)
    (excepted,) = [f for f in report.findings if f.tool_suppression is not None]
    assert excepted.id == "exception" and excepted.tool_suppression is not None
    assert excepted.tool_suppression.by == "tool"
    assert len(report.findings) == 4 and report.skipped == ()


@pytest.mark.corpus
def test_hadolint_windows_paths(corpus_report: Load) -> None:
    report = corpus_report("hadolint/defectdojo_hadolint_one_dockerfile.json")
    assert tally(report) == {("misconfiguration", "MEDIUM"): 3, ("misconfiguration", "LOW"): 1}
    assert [(f.id, f.location.start_line if f.location else None) for f in report.findings] == [
        ("DL3008", 9),
        ("DL3015", 9),
        ("DL3008", 25),
        ("DL3013", 44),
    ]
    assert {f.target for f in report.findings} == {"django-DefectDojo/Dockerfile.django"}
    assert report.findings[0].help_uri == "https://github.com/hadolint/hadolint/wiki/DL3008"


def test_hadolint_levels(fixture_report: Load) -> None:
    report = fixture_report("hadolint_levels.json")
    levels = {f.id: f.severity for f in report.findings}
    assert levels == {
        "DL3000": Severity.HIGH,
        "DL3008": Severity.MEDIUM,
        "DL3059": Severity.LOW,
        "DL3048": Severity.LOW,
        "SC2086": Severity.MEDIUM,
    }
    first = report.findings[0]
    assert first.location == Location(path="C:/src/app/Dockerfile", start_line=1, end_line=1)
    assert report.findings[-1].help_uri == "https://www.shellcheck.net/wiki/SC2086"
    assert report.skipped == ()  # entries that cannot be read: test_ingest_unreadable.py


@pytest.mark.tool
def test_real_hadolint_output(tool: Callable[[str], str], corpus_root: Path, tmp_path: Path) -> None:
    dockerfile = corpus_root / "hadolint" / "hadolint-action-testdata" / "info.Dockerfile"
    run = subprocess.run([tool("hadolint"), "-f", "json", str(dockerfile)], capture_output=True, text=True, check=False)
    out = tmp_path / "hadolint.json"
    out.write_text(run.stdout)
    expected = json.loads(run.stdout)
    assert expected, "info.Dockerfile has two consecutive RUNs: hadolint reports DL3059"
    report = load_report(out)
    assert report.tool == "hadolint"
    assert [f.id for f in report.findings] == [e["code"] for e in expected]
    assert "DL3059" in {f.id for f in report.findings}
    assert {f.severity for f in report.findings if f.id == "DL3059"} == {Severity.LOW}
    clean = subprocess.run(
        [tool("hadolint"), "-f", "json", str(dockerfile.with_name("Dockerfile"))],
        capture_output=True,
        text=True,
        check=False,
    )
    clean_out = tmp_path / "clean.json"
    clean_out.write_text(clean.stdout)
    assert load_report(clean_out).findings == ()
