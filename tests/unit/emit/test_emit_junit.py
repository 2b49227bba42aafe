"""JUnit XML: valid against the schema written from GitLab's documentation (tests/schemas/junit-gitlab.xsd), one case
per finding id and target, failed / skipped / passed as the verdict says, and safe with hostile report text."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import xmlschema

from gate.cli import main
from gate.decide.verdict import Policy, evaluate
from gate.emit import junit
from gate.emit.base import EmitContext
from gate.model import Finding, Kind, Report, Severity, Source, Suppression
from tests.conftest import corpus_file

SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parents[2] / "schemas" / "junit-gitlab.xsd")


def vuln(
    vid: str, package: str, severity: Severity, *, target: str = "app:1", tool: str = "trivy", **kw: object
) -> Finding:
    return Finding(
        id=vid, kind=Kind.VULNERABILITY, severity=severity, title=f"{vid} title", target=target, package=package,
        installed_version="1.0", sources=(Source(tool, "r.json"),), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def render(findings: list[Finding], policy: Policy | None = None) -> ET.Element:
    verdict = evaluate(
        [Report(tool="t", path="r.json", findings=tuple(findings))], policy or Policy(), today=dt.date(2026, 12, 5)
    )
    text = junit.render(verdict, EmitContext(tool_version="t"))
    SCHEMA.validate(text)
    return ET.fromstring(text)  # noqa: S314 (our own output, already schema-checked)


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {f"{c.get('classname')}/{c.get('name')}": c for c in root.iter("testcase")}


def test_one_case_per_id_and_target_failed_skipped_passed() -> None:
    root = render(
        [
            vuln("CVE-1", "openssl", Severity.HIGH, fixed_version="1.1"),
            vuln("CVE-1", "libssl", Severity.HIGH, fixed_version="1.1"),  # same id, same target: one case
            vuln("CVE-1", "openssl", Severity.HIGH, target="web:2", fixed_version="1.1"),  # other target: another
            vuln("CVE-2", "zlib", Severity.LOW),
            vuln("CVE-3", "curl", Severity.CRITICAL, tool="grype", tool_suppression=Suppression("tool", "not used")),
        ]
    )
    found = cases(root)
    assert set(found) == {
        "trivy/CVE-1 in app:1",
        "trivy/CVE-1 in web:2",
        "trivy/CVE-2 in app:1",
        "grype/CVE-3 in app:1",
    }
    failure = found["trivy/CVE-1 in app:1"].find("failure")
    assert failure is not None and failure.get("message") == "HIGH CVE-1 blocks (severity)"
    assert failure.get("type") == "HIGH"
    assert "openssl 1.0 → 1.1" in (failure.text or "") and "libssl 1.0 → 1.1" in (failure.text or "")
    assert (
        found["trivy/CVE-2 in app:1"].find("failure") is None and found["trivy/CVE-2 in app:1"].find("skipped") is None
    )
    skipped = found["grype/CVE-3 in app:1"].find("skipped")
    assert skipped is not None and skipped.get("message") == "suppressed by tool: not used"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["trivy"].get("tests") == "3" and suites["trivy"].get("failures") == "2"
    assert suites["grype"].get("skipped") == "1"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")


def test_reasons_name_the_exploit() -> None:
    root = render([vuln("CVE-9", "bash", Severity.LOW, kev=True)], Policy(fail_on=None))
    failure = next(root.iter("failure"))
    assert failure.get("message") == "LOW CVE-9 blocks (kev)"
    assert "known exploited (CISA KEV)" in (failure.text or "")


def test_hostile_text_stays_one_valid_document() -> None:
    evil = vuln("CVE-4", "pkg", Severity.CRITICAL, fixed_version="2")
    evil = Finding(**{**{s: getattr(evil, s) for s in ("id", "kind", "severity", "target", "package", "sources")},
                      "title": 'x"/><injected/>\x00\x1b[31m]]>&amp;\ud800', "fixed_version": "2"})  # fmt: skip
    root = render([evil])
    assert not list(root.iter("injected"))
    failure = next(root.iter("failure"))
    assert "<injected/>" in (failure.text or "") and "\x00" not in (failure.text or "")


def test_the_same_verdict_gives_the_same_bytes() -> None:
    findings = [vuln(f"CVE-{n}", f"p{n}", Severity.HIGH, target=f"img:{n % 3}") for n in range(50)]
    verdict = evaluate([Report(tool="t", path="r", findings=tuple(findings))], Policy(), today=dt.date(2026, 12, 5))
    again = evaluate(
        [Report(tool="t", path="r", findings=tuple(reversed(findings)))], Policy(), today=dt.date(2026, 12, 5)
    )
    ctx = EmitContext(tool_version="t")
    assert junit.render(verdict, ctx) == junit.render(again, ctx)


@pytest.mark.parametrize("report", ["trivy/trivy-golden_debian-buster.json", "grype/grype-golden_json-image.json"])
def test_cli_writes_junit_that_agrees_with_the_json_result(tmp_path: Path, report: str) -> None:
    out, result = tmp_path / "junit.xml", tmp_path / "r.json"
    code = main(["gate", str(corpus_file(report)), "--junit", str(out), "--json", str(result)])
    SCHEMA.validate(str(out))
    root = ET.parse(out).getroot()  # noqa: S314 (our own output, already schema-checked)
    doc = json.loads(result.read_text())
    blocking_cases = {(f["id"], f["target"]) for f in doc["findings"] if f["blocking"]}
    assert int(root.get("failures") or 0) == len(blocking_cases)
    assert code == (1 if blocking_cases else 0)
    assert int(root.get("tests") or 0) == len({(f["id"], f["target"]) for f in doc["findings"]})
