"""Every real Trivy and Grype report in the corpus, through the whole CLI: counts, severities and verdicts.

Expectations are computed here straight from the raw report (not through our readers), so a broken
mapping in a reader, the dedupe or the policy shows up as a difference."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.cli import main
from gate.schemas import load
from tests.conftest import SHARED, corpus_dir

pytestmark = pytest.mark.corpus

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")
GRYPE_WORDS = {"critical": "CRITICAL", "high": "HIGH", "medium": "MEDIUM", "low": "LOW", "negligible": "LOW"}


def _remember(
    found: dict[tuple[str, str, str, str], tuple[str, bool]], key: tuple[str, str, str, str], sev: str, fixed: bool
) -> None:
    # Two sightings of one finding: the more severe view wins, and a fix known to either counts.
    old = found.get(key)
    worst = sev if old is None or SEVERITIES.index(sev) < SEVERITIES.index(old[0]) else old[0]
    found[key] = (worst, fixed or (old is not None and old[1]))


def trivy_expected(doc: dict[str, Any]) -> dict[tuple[str, str, str, str], tuple[str, bool]]:
    found: dict[tuple[str, str, str, str], tuple[str, bool]] = {}
    for result in doc.get("Results") or []:
        for v in result.get("Vulnerabilities") or []:
            key = (v["VulnerabilityID"], v["PkgName"].lower(), v.get("InstalledVersion", ""), "")
            sev = v.get("Severity") or "UNKNOWN"
            fixed = bool(v.get("FixedVersion")) or v.get("Status") == "fixed"
            _remember(found, key, sev, fixed)
    return found


def grype_expected(doc: dict[str, Any]) -> dict[tuple[str, str, str, str], tuple[str, bool]]:
    found: dict[tuple[str, str, str, str], tuple[str, bool]] = {}
    for m in doc.get("matches") or []:
        vuln, art = m["vulnerability"], m["artifact"]
        ids = [vuln["id"], *(r["id"] for r in m.get("relatedVulnerabilities") or [])]
        cves = sorted(i for i in ids if i.upper().startswith("CVE-"))
        key = (cves[0] if cves else vuln["id"], art["name"].lower(), art.get("version", ""), "")
        sev = GRYPE_WORDS.get((vuln.get("severity") or "").lower(), "UNKNOWN")
        fix = vuln.get("fix") or {}
        fixed = fix.get("state") == "fixed" or bool(fix.get("versions"))
        _remember(found, key, sev, fixed)
    return found


def grype_known_exploited(doc: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """Keys of the matches Grype marks as in CISA's KEV catalog (`knownExploited` on the match or a related id)."""
    keys = set()
    for m in doc.get("matches") or []:
        vuln, art = m["vulnerability"], m["artifact"]
        holders = [vuln, *(m.get("relatedVulnerabilities") or [])]
        if any(h.get("knownExploited") for h in holders):
            ids = [h["id"] for h in holders]
            cves = sorted(i for i in ids if i.upper().startswith("CVE-"))
            keys.add((cves[0] if cves else vuln["id"], art["name"].lower(), art.get("version", ""), ""))
    return keys


def vulnerability_reports() -> list[Any]:
    """(tool, report) per corpus report with vulnerabilities, computed while tests are collected.

    Without the corpus there is nothing to list: one placeholder case stands in, and `corpus_dir()`
    inside it skips with the reason (fails under CI=true). Collection itself never skips or fails."""
    root = SHARED / "corpus"
    if not root.is_dir():
        return [pytest.param("none", None, id="corpus-missing")]
    out: list[Any] = []
    for path in sorted((root / "trivy").glob("*.json")) + sorted((root / "grype").glob("*.json")):
        doc = json.loads(path.read_text())
        has_vulns = (
            any(r.get("Vulnerabilities") for r in doc.get("Results") or [])
            if "SchemaVersion" in doc
            else bool(doc.get("matches"))
        )
        if has_vulns:
            out.append((path.parent.name, path))
    return out


def gate_json(args: list[str], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "result.json"
    code = main(["gate", *args, "--json", str(out)])
    doc = json.loads(out.read_text())
    jsonschema.Draft202012Validator(load("result.schema.json")).validate(doc)
    return code, doc


@pytest.mark.parametrize(("tool", "path"), vulnerability_reports(), ids=lambda v: getattr(v, "name", v))
@pytest.mark.parametrize("only_fixed", [False, True])
def test_counts_severities_and_verdict(tool: str, path: Path | None, only_fixed: bool, tmp_path: Path) -> None:
    if path is None:
        corpus_dir()  # skips with its reason, or fails under CI=true
        return
    doc = json.loads(path.read_text())
    expected = trivy_expected(doc) if tool == "trivy" else grype_expected(doc)
    # A known-exploited vulnerability blocks whatever its severity and whether or not it has a fix.
    kev = set() if tool == "trivy" else grype_known_exploited(doc)
    flags = ["--fail-on", "HIGH"] + (["--only-fixed"] if only_fixed else [])
    code, result = gate_json([str(path), *flags], tmp_path)
    vulns = [f for f in result["findings"] if f["kind"] == "vulnerability"]
    assert len(vulns) == len(expected)
    assert Counter(f["severity"] for f in vulns) == Counter(sev for sev, _ in expected.values())
    blocks = {
        key
        for key, (sev, fixed) in expected.items()
        if key in kev or (SEVERITIES.index(sev) <= SEVERITIES.index("HIGH") and (fixed or not only_fixed))
    }
    assert code == (1 if blocks else 0)
    assert result["verdict"] == ("fail" if blocks else "pass")
    assert result["counts"]["blocking"] == len(blocks)
    assert sum(1 for f in vulns if f["kev"]) == len(kev)
    assert all("kev" in f["blocking_reasons"] for f in vulns if f["kev"])


def test_fail_on_none_and_critical(tmp_path: Path) -> None:
    path = corpus_dir() / "trivy" / "trivy-golden_debian-buster.json"
    assert gate_json([str(path), "--fail-on", "NONE"], tmp_path)[0] == 0
    expected = trivy_expected(json.loads(path.read_text()))
    has_critical = any(sev == "CRITICAL" for sev, _ in expected.values())
    assert gate_json([str(path), "--fail-on", "CRITICAL"], tmp_path)[0] == (1 if has_critical else 0)


def test_baseline_round_trip_blocks_only_new(tmp_path: Path) -> None:
    old = corpus_dir() / "trivy" / "trivy-golden_debian-buster.json"
    code, first = gate_json([str(old)], tmp_path)
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps(first))
    assert code == 1
    code, second = gate_json([str(old), "--baseline", str(baseline)], tmp_path)
    assert code == 0 and second["counts"]["blocking"] == 0
    assert all("already in the baseline" in f["notes"] for f in second["findings"])
    # a new report brings findings the baseline lacks: those block
    new = corpus_dir() / "trivy" / "trivy-golden_ubuntu-1804.json"
    code, third = gate_json([str(old), str(new), "--baseline", str(baseline)], tmp_path)
    new_blocking = [f for f in third["findings"] if f["blocking"]]
    assert all(f["fingerprint"] not in {g["fingerprint"] for g in first["findings"]} for f in new_blocking)


def test_expired_ignore_stops_suppressing_and_is_reported(tmp_path: Path) -> None:
    path = corpus_dir() / "trivy" / "trivy-golden_debian-buster.json"
    _, plain = gate_json([str(path)], tmp_path)
    target = next(f for f in plain["findings"] if f["blocking"])
    ignore = tmp_path / ".trivyignore"
    ignore.write_text(f"{target['id']} exp:2020-01-01\n")
    _, result = gate_json([str(path), "--ignore-file", str(ignore)], tmp_path)
    again = next(f for f in result["findings"] if f["id"] == target["id"])
    assert again["suppressed"] is None and again["blocking"]
    assert result["expired_ignores"][0]["id"] == target["id"]
    ignore.write_text(f"{target['id']} exp:2999-01-01\n")
    _, result = gate_json([str(path), "--ignore-file", str(ignore)], tmp_path)
    waived = [f for f in result["findings"] if f["id"] == target["id"]]
    assert all(f["suppressed"]["by"] == "ignore" and f["suppressed"]["expires"] == "2999-01-01" for f in waived)


def test_output_does_not_depend_on_input_order(tmp_path: Path) -> None:
    a = corpus_dir() / "trivy" / "trivy-golden_alpine-310.json"
    b = corpus_dir() / "grype" / "grype-golden_json-image.json"
    _, ab = gate_json([str(a), str(b)], tmp_path)
    _, ba = gate_json([str(b), str(a)], tmp_path)
    assert [f["fingerprint"] for f in ab["findings"]] == [f["fingerprint"] for f in ba["findings"]]
