"""One problem, one finding: our rules, hadolint and `trivy config` on one Dockerfile merge through the alias
table; ignores written against any of the ids excuse the merged finding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gate import dockerfile
from gate.checks.dockerfile import rules as dockerfile_rules
from gate.checks.dockerfile.rule_table import RULES, alias_table, spellings
from gate.decide.ignores import IgnoreEntry, read_ignore_file
from gate.decide.verdict import Policy, evaluate
from gate.ingest.hadolint import PARSER as HADOLINT
from gate.ingest.trivy import PARSER as TRIVY
from gate.model import Finding, Kind, Report, Severity, Source, dedupe, rule_key

TODAY = dt.date(2026, 12, 5)
DOCKERFILE = """FROM node:20-bookworm
WORKDIR /usr/src/app
ENV API_TOKEN=sk_live_51HxQ2aZ9vR8kT3mNpQ7wX4yB6cD
RUN apt-get update && apt-get install -y curl
EXPOSE 22 3000
USER root
"""


def hadolint(*items: tuple[str, int, str]) -> Report:
    doc = [
        {"code": c, "column": 1, "file": "./Dockerfile", "level": lvl, "line": n, "message": c} for c, n, lvl in items
    ]
    return HADOLINT.parse(doc, "hadolint.json")


def trivy(*items: tuple[str, int | None, str], artifact: str = ".") -> Report:
    misconfs = [
        {
            "ID": rule,
            "Title": rule,
            "Message": f"{rule} says so",
            "Severity": sev,
            "Status": "FAIL",
            "CauseMetadata": {"StartLine": line, "EndLine": line} if line else {},
        }
        for rule, line, sev in items
    ]
    doc: dict[str, Any] = {
        "SchemaVersion": 2,
        "Trivy": {"Version": "0.76.0"},
        "ArtifactName": artifact,
        "ArtifactType": "filesystem",
        "Results": [{"Target": "Dockerfile", "Class": "config", "Type": "dockerfile", "Misconfigurations": misconfs}],
    }
    return TRIVY.parse(doc, "trivy.json")


def ours(text: str = DOCKERFILE) -> Report:
    return dockerfile_rules.check(dockerfile.parse(text, "Dockerfile"))


def merged(*reports: Report) -> dict[str, Finding]:
    findings = dedupe(
        (f for r in reports for f in r.findings),
        landmarks=[m for r in reports for m in r.landmarks],
        aliases=alias_table,
    )
    assert len({f.fingerprint for f in findings}) == len(findings)
    return {f.id: f for f in findings}


ISSUE_CASE = (
    ours(),
    trivy(("DS-0031", 3, "CRITICAL"), ("DS-0029", 4, "HIGH"), ("DS-0004", 5, "MEDIUM"), ("DS-0002", 6, "HIGH")),
    trivy(("DS-0026", None, "LOW")),  # a second report: the file-level check on its own
    hadolint(("DL3064", 3, "warning"), ("DL3015", 4, "info"), ("DL3009", 4, "info"), ("DL3002", 6, "warning")),
)


def test_each_problem_once_with_every_sighting_and_the_most_severe_view() -> None:
    by_id = merged(*ISSUE_CASE)
    assert set(by_id) == {f"CG-DF-{n:03d}" for n in (1, 3, 4, 5, 6, 7, 13, 14)}
    root = by_id["CG-DF-001"]
    assert root.kind is Kind.POLICY and root.tools == ("container-gate", "hadolint", "trivy")
    assert {"DL3002", "DS-0002"} <= set(root.aliases)
    assert {(s.tool, s.original_id) for s in root.sources} == {
        ("container-gate", "CG-DF-001"),
        ("trivy", "DS-0002"),
        ("hadolint", "DL3002"),
    }
    assert by_id["CG-DF-004"].severity is Severity.CRITICAL  # Trivy's view of the ENV secret wins
    assert by_id["CG-DF-005"].severity is Severity.HIGH  # over our LOW and hadolint's info
    assert by_id["CG-DF-005"].title == "`apt-get install` without `--no-install-recommends`"  # our words
    assert by_id["CG-DF-014"].tools == ("container-gate", "trivy")  # DS-0026 has no line: joined by file
    assert by_id["CG-DF-014"].location is not None and by_id["CG-DF-014"].location.start_line == 1
    assert by_id["CG-DF-006"].tools == ("container-gate", "hadolint")


def test_the_merged_fingerprint_is_ours_whichever_tools_take_part() -> None:
    alone = merged(ours())
    together = merged(*ISSUE_CASE)
    assert {i: f.fingerprint for i, f in alone.items()} == {i: f.fingerprint for i, f in together.items()}


def test_the_verdict_counts_it_once(tmp_path: Path) -> None:
    verdict = evaluate(list(ISSUE_CASE), Policy(fail_on=Severity.HIGH), today=TODAY)
    assert len(verdict.decisions) == 8
    assert sorted(d.finding.id for d in verdict.blocking) == ["CG-DF-001", "CG-DF-004", "CG-DF-005"]


def test_without_our_rule_trivy_and_hadolint_still_meet_under_the_trivy_id() -> None:
    by_id = merged(
        trivy(("DS-0002", 6, "HIGH"), ("DS-0005", 2, "LOW")), hadolint(("DL3002", 6, "warning"), ("DL3020", 2, "error"))
    )
    assert set(by_id) == {"DS-0002", "DS-0005"}
    assert by_id["DS-0002"].kind is Kind.MISCONFIGURATION and by_id["DS-0002"].tools == ("hadolint", "trivy")
    assert by_id["DS-0005"].severity is Severity.HIGH  # hadolint's error over Trivy's LOW


def test_problems_on_different_lines_stay_apart() -> None:
    report = ours("FROM debian:12\nRUN apt-get install -y curl\nRUN apt-get install -y wget\nUSER 10001\n")
    out = dedupe(
        (*report.findings, *trivy(("DS-0029", 2, "HIGH"), ("DS-0029", 3, "HIGH")).findings),
        landmarks=report.landmarks,
        aliases=alias_table,
    )
    lines = sorted((f.location.start_line, f.tools) for f in out if f.id == "CG-DF-005" and f.location is not None)
    assert lines == [(2, ("container-gate", "trivy")), (3, ("container-gate", "trivy"))]


def test_a_tool_never_merges_with_itself() -> None:
    # Our CG-DF-006 fires twice on one RUN (apt and apk caches); Trivy sees one of them: still two findings,
    # and Trivy's sighting joins exactly one.
    report = ours("FROM debian:12\nRUN apt-get install -y --no-install-recommends curl && apk add bash\nUSER 10001\n")
    assert len([f for f in report.findings if f.id == "CG-DF-006"]) == 2
    out = dedupe(
        (*report.findings, *trivy(("DS-0025", 2, "HIGH")).findings), landmarks=report.landmarks, aliases=alias_table
    )
    caches = [f for f in out if f.id == "CG-DF-006"]
    assert len(caches) == 2 and sorted(f.tools for f in caches) == [("container-gate",), ("container-gate", "trivy")]


def test_vulnerabilities_are_left_alone() -> None:
    def vuln(tool: str) -> Finding:
        return Finding(
            id="CVE-2024-1",
            kind=Kind.VULNERABILITY,
            severity=Severity.HIGH,
            title="t",
            target="Dockerfile",
            package="curl",
            installed_version="1",
            sources=(Source(tool, f"{tool}.json"),),
        )

    out = dedupe([vuln("trivy"), *ours().findings, vuln("grype")], landmarks=ours().landmarks, aliases=alias_table)
    (cve,) = [f for f in out if f.kind is Kind.VULNERABILITY]
    assert cve.tools == ("grype", "trivy")
    assert out[0] is cve  # first appearance keeps its place


def test_every_trivy_spelling_is_one_check() -> None:
    legacy = trivy(("DS002", 6, "HIGH"))
    (finding,) = legacy.findings
    assert finding.id == "DS-0002" and finding.aliases == ("DS002",)
    assert finding.sources[0].original_id == "DS002"
    assert spellings("DS-0002") == ("DS-0002", "DS002", "AVD-DS-0002")
    table = alias_table()
    for rule in RULES:
        for rid in rule.trivy:
            for spelt in spellings(rid):
                assert rule.id in table[rule_key(spelt)]
    assert merged(ours(), legacy)["CG-DF-001"].tools == ("container-gate", "trivy")


def judged(entries: tuple[IgnoreEntry, ...]) -> dict[str, str | None]:
    verdict = evaluate(list(ISSUE_CASE), Policy(ignores=entries), today=TODAY)
    return {d.finding.id: d.suppression.by if d.suppression else None for d in verdict.decisions}


def test_an_ignore_against_any_alias_suppresses_the_merged_finding(tmp_path: Path) -> None:
    for spelt in ("CG-DF-001", "DL3002", "DS-0002", "DS002", "AVD-DS-0002", "ds-0002"):
        plain = tmp_path / ".trivyignore"
        plain.write_text(f"# accepted\n{spelt}\n")
        assert judged(read_ignore_file(plain))["CG-DF-001"] == "ignore", spelt
        scoped = tmp_path / ".trivyignore.yaml"
        scoped.write_text(f"misconfigurations:\n  - id: {spelt}\n    statement: runs as root on purpose\n")
        got = judged(read_ignore_file(scoped))
        assert got["CG-DF-001"] == "ignore", spelt
        assert [i for i, by in got.items() if by] == ["CG-DF-001"]


def test_scoped_ignores_still_keep_to_their_kind(tmp_path: Path) -> None:
    scoped = tmp_path / ".trivyignore.yaml"
    scoped.write_text("vulnerabilities:\n  - id: DS-0002\nsecrets:\n  - id: CG-DF-001\n")
    assert judged(read_ignore_file(scoped))["CG-DF-001"] is None


def test_a_dockerfile_given_by_absolute_path_meets_the_reports_relative_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    report = dockerfile_rules.check(dockerfile.parse(DOCKERFILE, str(tmp_path / "Dockerfile")))
    assert {f.location.path for f in report.findings if f.location} == {"Dockerfile"}
    by_id = merged(report, hadolint(("DL3002", 6, "warning")))
    assert by_id["CG-DF-001"].tools == ("container-gate", "hadolint")
    entry = IgnoreEntry(id="DS-0002", reason="on purpose", origin="x", paths=("Dockerfile",))
    assert entry.matches(by_id["CG-DF-001"])


def test_a_report_names_files_from_where_it_was_made(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(DOCKERFILE)
    monkeypatch.chdir(tmp_path)
    doc = [{"code": "DL3002", "column": 1, "file": "Dockerfile", "level": "warning", "line": 6, "message": "root"}]
    (beside,) = HADOLINT.parse(doc, "app/hadolint.json").findings
    assert beside.location is not None and beside.location.path == "app/Dockerfile"
    (elsewhere,) = HADOLINT.parse(doc, "reports/hadolint.json").findings  # no Dockerfile beside it: as written
    assert elsewhere.location is not None and elsewhere.location.path == "Dockerfile"
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)  # one from here wins: the report names what exists
    (here,) = HADOLINT.parse(doc, "app/hadolint.json").findings
    assert here.location is not None and here.location.path == "Dockerfile"
