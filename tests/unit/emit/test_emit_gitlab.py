"""GitLab container_scanning (schema 15.0.7) and Code Quality reports."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from emit_helpers import (  # type: ignore[import-not-found]
    corpus_ctx,
    corpus_verdict,
    ctx,
    golden,
    misconfig,
    validate_codequality,
    validate_gitlab,
    verdict,
    vuln,
)

from gate.emit import gitlab
from gate.model import Kind, Report, Severity, Suppression

VULN_REPORTS = [
    "trivy/trivy-golden_alpine-310.json",
    "trivy/trivy-golden_centos-7.json",
    "trivy/trivy-golden_debian-buster.json",
    "trivy/trivy-golden_ubuntu-1804.json",
    "trivy/trivy-golden_npm.json",
    "trivy/defectdojo_trivy_scheme_2_many_vulns.json",
    "grype/grype-golden_json-image.json",
    "grype/grype-explain-testdata_ghsa.json",
    "grype/defectdojo_grype_many_vulns4.json",
    "grype/grype-golden_json-empty.json",
]
CQ_REPORTS = [
    "trivy/trivy-golden_dockerfile-misconfig.json",
    "trivy/trivy-golden_secrets.json",
    "trivy/trivy-action_config-scan.json",
    "hadolint/defectdojo_hadolint_one_dockerfile.json",
    "conftest/outputs/conftest-docs_output-json_kubernetes-service.json",
    "sarif/trivy-action_config-sarif-report.sarif",
]


@pytest.mark.corpus
@pytest.mark.parametrize("relative", VULN_REPORTS)
def test_container_scanning_report_is_schema_valid(corpus: Path, relative: str) -> None:
    v = corpus_verdict(corpus, relative)
    doc = json.loads(gitlab.render(v, corpus_ctx(corpus)))
    validate_gitlab(corpus, doc)
    vulns = [d for d in v.decisions if d.finding.kind is Kind.VULNERABILITY]
    assert len(doc["vulnerabilities"]) == len(vulns)
    assert len({x["id"] for x in doc["vulnerabilities"]}) == len(vulns)


@pytest.mark.corpus
def test_fields_agree_with_trivys_own_gitlab_template(corpus: Path) -> None:
    theirs = json.loads((corpus / "schemas/trivy-golden_alpine-310.gitlab-container-scanning.json").read_text())
    mine = json.loads(gitlab.render(corpus_verdict(corpus, "trivy/trivy-golden_alpine-310.json"), corpus_ctx(corpus)))

    def key(v: dict[str, object]) -> tuple[str, str]:
        loc = v["location"]
        assert isinstance(loc, dict)
        return (v["identifiers"][0]["value"], loc["dependency"]["package"]["name"])  # type: ignore[index]

    theirs_by = {key(v): v for v in theirs["vulnerabilities"]}
    mine_by = {key(v): v for v in mine["vulnerabilities"]}
    assert mine_by.keys() == theirs_by.keys()
    for k, t in theirs_by.items():
        m = mine_by[k]
        for field in ("name", "description", "severity", "solution"):
            assert m[field] == t[field], (k, field)
        assert m["location"]["dependency"] == t["location"]["dependency"]
        assert m["location"]["operating_system"] == t["location"]["operating_system"]
        assert m["location"]["image"] == t["location"]["image"]
        assert {x["url"] for x in m["links"]} == {x["url"] for x in t["links"]}


@pytest.mark.corpus
@pytest.mark.parametrize("relative", ["trivy/trivy-golden_alpine-310.json", "grype/grype-golden_json-image.json"])
def test_container_scanning_golden(corpus: Path, relative: str) -> None:
    text = gitlab.render(corpus_verdict(corpus, relative), corpus_ctx(corpus))
    golden(f"gitlab/{Path(relative).stem}.gl-container-scanning.json", text + "\n")


def test_identifiers_ids_and_solution() -> None:
    finding = vuln("GHSA-abcd-efgh-ijkl", fixed=None)
    v = verdict([finding], reports=[Report("trivy", "r.json", (finding,), os="debian 12.5", tool_version="0.50.0")])
    doc = json.loads(gitlab.render(v, ctx()))
    entry = doc["vulnerabilities"][0]
    assert entry["identifiers"] == [
        {
            "type": "ghsa",
            "name": "GHSA-abcd-efgh-ijkl",
            "value": "GHSA-abcd-efgh-ijkl",
            "url": "https://github.com/advisories/GHSA-abcd-efgh-ijkl",
        }
    ]
    ident = uuid.UUID(entry["id"])
    assert ident.version == 5 and str(ident) == entry["id"]
    assert entry["id"] == gitlab.vulnerability_id(finding.fingerprint)
    assert gitlab.vulnerability_id("f" * 64) != gitlab.vulnerability_id("e" + "f" * 63)
    assert entry["solution"].startswith("No fixed version of openssl")
    assert entry["location"]["operating_system"] == "debian 12.5"
    assert entry["location"]["image"] == "registry.example/app:1.2"
    assert doc["scan"]["scanner"]["id"] == "trivy" and doc["scan"]["scanner"]["version"] == "0.50.0"
    assert doc["scan"]["start_time"] == "2024-05-06T07:08:09"


def test_suppressed_vulnerability_keeps_its_reason(corpus: Path) -> None:
    v = verdict(suppressed=[(vuln(), Suppression("vex", "not_affected: vulnerable_code_not_present"))])
    doc = json.loads(gitlab.render(v, ctx()))
    validate_gitlab(corpus, doc)
    assert doc["vulnerabilities"][0]["details"]["suppression"]["value"] == "not_affected: vulnerable_code_not_present"


@pytest.mark.corpus
@pytest.mark.parametrize("relative", CQ_REPORTS)
def test_codequality_from_corpus(corpus: Path, relative: str) -> None:
    v = corpus_verdict(corpus, relative)
    issues = json.loads(gitlab.CODEQUALITY.render(v, corpus_ctx(corpus)))
    validate_codequality(issues)
    expected = [d for d in v.decisions if d.finding.kind in gitlab.CQ_KINDS and d.suppression is None]
    assert len(issues) == len(expected) > 0


@pytest.mark.corpus
def test_codequality_golden(corpus: Path) -> None:
    v = corpus_verdict(corpus, "hadolint/defectdojo_hadolint_one_dockerfile.json")
    golden(
        "gitlab/defectdojo_hadolint_one_dockerfile.gl-code-quality.json",
        gitlab.CODEQUALITY.render(v, corpus_ctx(corpus)) + "\n",
    )


def test_codequality_covers_only_file_findings_and_maps_severity() -> None:
    v = verdict(
        [
            vuln(),
            misconfig("S1", kind=Kind.SECRET, severity=Severity.CRITICAL),
            misconfig(severity=Severity.LOW, line=None),
        ],
        blocking=[misconfig("P1", kind=Kind.POLICY, severity=Severity.CRITICAL)],
        suppressed=[(misconfig("DS9"), Suppression("ignore", "fine"))],
    )
    issues = json.loads(gitlab.CODEQUALITY.render(v, ctx()))
    validate_codequality(issues)
    by = {i["check_name"]: i for i in issues}
    assert set(by) == {"S1", "P1", "DS002"}
    assert (by["P1"]["severity"], by["S1"]["severity"], by["DS002"]["severity"]) == ("blocker", "critical", "info")
    assert by["DS002"]["location"] == {"path": "Dockerfile", "lines": {"begin": 1, "end": 1}}
