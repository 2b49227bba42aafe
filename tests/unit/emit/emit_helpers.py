"""Shared test helpers for the emitters: verdict builders, corpus verdicts, schemas and GitHub's SARIF rules."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from gate.emit.base import EmitContext, ImageAnchor
from gate.model import (
    Decision,
    Finding,
    Kind,
    Location,
    Report,
    Severity,
    Source,
    Suppression,
    Verdict,
)

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden"
NOW = "2024-05-06T07:08:09Z"


def ctx(**overrides: Any) -> EmitContext:
    """A fixed context so outputs are reproducible."""
    values: dict[str, Any] = {"tool_version": "0.0.0-test", "repo_root": "/repo", "now": NOW}
    values.update(overrides)
    return EmitContext(**values)


def vuln(
    vid: str = "CVE-2024-0001",
    *,
    severity: Severity = Severity.HIGH,
    package: str = "openssl",
    installed: str = "1.0",
    fixed: str | None = "1.1",
    target: str = "registry.example/app:1.2 (debian 12.5)",
    tool: str = "trivy",
    title: str = "openssl: a flaw",
    cvss: float | None = None,
    description: str = "",
) -> Finding:
    """An image vulnerability finding."""
    return Finding.create(
        id=vid,
        kind=Kind.VULNERABILITY,
        severity=severity,
        title=title,
        target=target,
        package=package,
        installed_version=installed,
        fixed_version=fixed,
        sources=(Source(tool, "report.json"),),
        references=(f"https://nvd.nist.gov/vuln/detail/{vid}",),
        cvss_score=cvss,
        package_class="os-pkgs",
        description=description,
    )


def misconfig(
    rid: str = "DS002",
    *,
    severity: Severity = Severity.HIGH,
    path: str = "/repo/Dockerfile",
    line: int | None = 3,
    title: str = "Image user should not be root",
    tool: str = "trivy",
    kind: Kind = Kind.MISCONFIGURATION,
) -> Finding:
    """A misconfiguration (or other file-located) finding."""
    return Finding.create(
        id=rid,
        kind=kind,
        severity=severity,
        title=title,
        target=path,
        location=Location(path, line, line),
        sources=(Source(tool, "report.json"),),
    )


def verdict(
    findings: Iterable[Finding] = (),
    *,
    blocking: Iterable[Finding] = (),
    suppressed: Iterable[tuple[Finding, Suppression]] = (),
    reports: Iterable[Report] = (),
    **kwargs: Any,
) -> Verdict:
    """A verdict from findings: plain ones do not block, `blocking` ones do, `suppressed` carry a reason."""
    decisions = [Decision(f, False) for f in findings]
    decisions += [Decision(f, True) for f in blocking]
    decisions += [Decision(f, False, s) for f, s in suppressed]
    return Verdict(decisions=tuple(decisions), fail_on=Severity.HIGH, reports=tuple(reports), **kwargs)


def corpus_verdict(corpus: Path, relative: str) -> Verdict:
    """A real verdict: the corpus report through the real reader and the real policy (default HIGH)."""
    from gate.decide.verdict import Policy, evaluate
    from gate.ingest import load_report

    path = corpus / relative
    assert path.is_file(), f"corpus file {relative} is missing"
    report = load_report(path, origin=relative)
    return evaluate([report], Policy(), today=dt.date(2024, 5, 6))


def corpus_ctx(corpus: Path, **overrides: Any) -> EmitContext:
    """Context whose repository root is the corpus folder (so its relative paths stay relative)."""
    return ctx(repo_root=str(corpus), **overrides)


@cache
def _schema(corpus: Path, relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((corpus / relative).read_text(encoding="utf-8"))
    return loaded


def validate_sarif(corpus: Path, doc: Any) -> None:
    """Official SARIF 2.1.0 schema (draft-04)."""
    jsonschema.Draft4Validator(_schema(corpus, "schemas/sarif-schema-2.1.0.json")).validate(doc)


def validate_gitlab(corpus: Path, doc: Any) -> None:
    """GitLab container-scanning schema 15.0.7 (draft-07)."""
    schema = _schema(corpus, "schemas/gitlab_container-scanning-report-format_15.0.7.json")
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(doc)


CODEQUALITY_SCHEMA: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|[A-Za-z]+://)"}},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}
"""The fields GitLab's Code Quality docs list (schemas/gitlab_code-quality-report-format.md), made a schema."""


def validate_codequality(doc: Any) -> None:
    """GitLab's documented Code Quality fields, and unique fingerprints (GitLab dedupes on them)."""
    jsonschema.Draft7Validator(CODEQUALITY_SCHEMA).validate(doc)
    fingerprints = [issue["fingerprint"] for issue in doc]
    assert len(fingerprints) == len(set(fingerprints))


def check_github_rules(doc: dict[str, Any]) -> None:
    """GitHub code scanning's own rules on top of the schema (what `upload-sarif` and the API enforce)."""
    runs = doc["runs"]
    assert len(runs) <= 20
    categories = [run["automationDetails"]["id"] for run in runs]
    assert len(categories) == len(set(categories)), "two runs share a category"
    for run in runs:
        assert run["automationDetails"]["id"].endswith("/")
        rules = run["tool"]["driver"]["rules"]
        assert len(run["results"]) <= 25_000 and len(rules) <= 25_000
        assert len({r["id"] for r in rules}) == len(rules), "duplicate rule ids"
        for rule in rules:
            props = rule["properties"]
            float(props["security-severity"])
            assert 0.0 < float(props["security-severity"]) <= 10.0
            assert len(props["tags"]) <= 20
            assert rule["help"]["text"] and rule["help"]["markdown"]
            # Required texts may not be empty; descriptions are limited to 1,024 characters, names to 255.
            assert 0 < len(rule["shortDescription"]["text"]) <= 1024
            assert 0 < len(rule["fullDescription"]["text"]) <= 1024
            assert 0 < len(rule.get("name", "x")) <= 255
        for result in run["results"]:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            fingerprint = result["partialFingerprints"]["containerGate/v1"]
            # Code scanning reads only primaryLocationLineHash (docs: "Supported properties").
            assert result["partialFingerprints"]["primaryLocationLineHash"] == f"{fingerprint}:1"
            assert result["message"]["text"]
            assert len(result["locations"]) == 1  # only the first is used; one location per result
            for loc in result["locations"]:
                uri = loc["physicalLocation"]["artifactLocation"]["uri"]
                assert uri and not uri.startswith("/") and "://" not in uri and ".." not in uri.split("/")
                region = loc["physicalLocation"]["region"]  # listed as required by code scanning
                assert 1 <= region["startLine"] <= region["endLine"] and region["startColumn"] >= 1
    assert len(gzip.compress(json.dumps(doc).encode())) <= 10 * 1024 * 1024


def golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; UPDATE_GOLDEN=1 rewrites it (review the diff in git)."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"golden {name} is missing: run UPDATE_GOLDEN=1 pytest once and review it"
    assert text == path.read_text(encoding="utf-8"), f"output differs from golden {name} (UPDATE_GOLDEN=1 to accept)"


def anchor(image: str = "registry.example/app", path: str = "Dockerfile", line: int = 7) -> ImageAnchor:
    """An image anchor."""
    return ImageAnchor(image=image, path=path, line=line)
