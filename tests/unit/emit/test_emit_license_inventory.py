"""The license inventory in the outputs: the JSON result (validated by its schema) and the folded summary section,
with license text from the report made inert."""

from __future__ import annotations

import datetime as dt
import json
import re

import jsonschema

from gate.decide.licenses import LicensePolicy, Unknown, judge_reports
from gate.decide.verdict import Policy, evaluate
from gate.emit import json as json_emit
from gate.emit import sarif, summary
from gate.model import Finding, Kind, Report, Severity, Source, Verdict
from gate.schemas import load
from tests.unit.emit.emit_helpers import ctx

RUN = LicensePolicy(allowed=("MIT", "Apache-2.0"), forbidden=("SSPL-1.0",), unknown=Unknown.WARN)


def lic(expr: str, package: str) -> Finding:
    return Finding(
        id=expr,
        kind=Kind.LICENSE,
        severity=Severity.LOW,
        title=expr,
        target="package-lock.json",
        package=package,
        sources=(Source("trivy", "r.json", "0.76.0", expr, "LOW"),),
    )


def verdict(*found: Finding, run: LicensePolicy = RUN) -> Verdict:
    reports = judge_reports((Report("trivy", "r.json", found),), run)
    return evaluate(reports, Policy(), today=dt.date(2026, 1, 1))


TREE = (lic("MIT", "a"), lic("MIT", "b"), lic("MIT", "c"), lic("Apache-2.0", "d"), lic("SSPL-1.0", "e"))


def test_json_carries_the_inventory_and_fits_the_schema() -> None:
    doc = json.loads(json_emit.EMITTER.render(verdict(*TREE, lic("LicenseRef-x", "f")), ctx()))
    jsonschema.Draft202012Validator(load("result.schema.json")).validate(doc)
    assert doc["license_inventory"] == {
        "policy": True,
        "packages": 6,
        "licenses": [
            {"license": "MIT", "packages": 3, "violations": 0, "unknown": 0, "excepted": 0},
            {"license": "Apache-2.0", "packages": 1, "violations": 0, "unknown": 0, "excepted": 0},
            {"license": "LicenseRef-x", "packages": 1, "violations": 0, "unknown": 1, "excepted": 0},
            {"license": "SSPL-1.0", "packages": 1, "violations": 1, "unknown": 0, "excepted": 0},
        ],
    }
    assert {f["id"] for f in doc["findings"]} == {"SSPL-1.0", "LicenseRef-x"}


def test_json_without_licenses_has_an_empty_inventory() -> None:
    doc = json.loads(json_emit.EMITTER.render(verdict(run=LicensePolicy()), ctx()))
    jsonschema.Draft202012Validator(load("result.schema.json")).validate(doc)
    assert doc["license_inventory"] == {"policy": False, "packages": 0, "licenses": []}


def test_allowed_licenses_are_no_sarif_results() -> None:
    log = json.loads(sarif.build(verdict(*TREE), ctx())[0])
    results = [r for run in log["runs"] for r in run["results"]]
    assert [r["ruleId"] for r in results] == ["SSPL-1.0"]


def test_summary_folds_the_inventory_most_packages_first() -> None:
    text = summary.render(verdict(*TREE), ctx())
    section = text[text.index("### Licenses (3)") :]
    assert "<details><summary>5 packages, 3 licenses, most packages first</summary>" in section
    table = [row for row in section.splitlines() if row.startswith("| ") and not row.startswith("| License |")]
    assert table == ["| MIT | 3 | 0 | 0 | 0 |", "| Apache-2.0 | 1 | 0 | 0 | 0 |", "| SSPL-1.0 | 1 | 1 | 0 | 0 |"]
    assert section.index("</details>") > section.index("| SSPL-1.0")
    # A license finding has no fixed version to name.
    assert "| e |" in text and "no fixed version" not in text


def test_summary_without_a_policy_says_who_decides() -> None:
    text = summary.render(verdict(*TREE, run=LicensePolicy()), ctx())
    assert "(no license policy: Trivy's categories decide)" in text


def test_summary_without_licenses_has_no_section() -> None:
    vuln = Finding(id="CVE-1", kind=Kind.VULNERABILITY, severity=Severity.LOW, title="x", target="t")
    assert "### Licenses" not in summary.render(verdict(vuln), ctx())


def test_attacker_license_text_is_inert() -> None:
    evil = [
        "MIT | x | y",
        "<img src=https://evil.example/p.png>",
        "[click](https://evil.example)",
        "![](https://evil.example/t.gif)",
        "@org/team #123 </details><script>alert(1)</script>",
        "line\nbreak\x1b[31m",
    ]
    text = summary.render(verdict(*(lic(e, f"p{i}") for i, e in enumerate(evil))), ctx())
    section = text[text.index("### Licenses") :]
    rows = [row for row in section.splitlines() if row.startswith("| ")]
    assert len(rows) == 1 + len(evil)  # no row broken apart or added
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 6 for row in rows[1:])
    for bad in ("<img", "<script", "](https://", "![", "\x1b", "</details><"):
        assert bad not in section
    assert "@\u200borg/team" in section and "#\u200b123" in section
    assert section.count("</details>") == 1


def test_summary_caps_the_inventory_rows() -> None:
    many = [lic(f"LicenseRef-{i:03d}", f"p{i}") for i in range(70)]
    text = summary.render(verdict(*many, lic("MIT", "x"), lic("MIT", "y")), ctx())
    section = text[text.index("### Licenses (71)") :]
    rows = [row for row in section.splitlines() if row.startswith("| ") and not row.startswith("| License |")]
    assert len(rows) == summary.ROW_LIMIT
    assert rows[0] == "| MIT | 2 | 0 | 0 | 0 |"
    assert "… and 21 more" in section
