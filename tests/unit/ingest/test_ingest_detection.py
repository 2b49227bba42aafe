"""Detection by content: every report is claimed by exactly one reader, whatever its file name."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gate.ingest import PARSERS, load_report, parser, read_json
from gate.model import Kind, Report, dedupe
from tests.unit.ingest.helpers import tally

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECTED_READER = {"trivy": "trivy", "grype": "grype", "sarif": "sarif", "conftest": "conftest", "hadolint": "hadolint"}
# Corpus JSON files that are not scanner reports (schemas, expectations) are claimed by no reader.
NOT_REPORTS = {"EXPECTATIONS.json", "hadolint-config.schema.json"}


def _claims(path: Path) -> list[str]:
    doc = read_json(path)
    return [name for name in PARSERS if parser(name).sniff(doc)]


@pytest.mark.corpus
def test_every_corpus_report_is_claimed_by_exactly_one_reader(corpus_root: Path) -> None:
    seen = 0
    for folder, reader in EXPECTED_READER.items():
        for path in sorted((corpus_root / folder).rglob("*")):
            if path.suffix not in (".json", ".sarif"):
                continue
            claims = _claims(path)
            if path.name in NOT_REPORTS:
                assert claims == [], path
                continue
            assert claims == [reader], path
            seen += 1
    assert seen == 31  # 15 Trivy, 7 Grype, 5 SARIF, 3 Conftest, 1 hadolint


def test_every_fixture_is_claimed_by_at_most_one_reader() -> None:
    expected = {"trivy": "trivy", "dedupe": None, "grype": "grype", "sarif": "sarif", "conftest": "conftest"}
    for path in sorted(FIXTURES.glob("*.json")) + sorted(FIXTURES.glob("*.sarif")):
        claims = _claims(path)
        assert len(claims) <= 1, (path, claims)
        prefix = path.name.split("_", 1)[0]
        if prefix == "dedupe":
            assert claims in (["trivy"], ["grype"]), path
        elif path.name == "vex_not_openvex.json":
            assert claims == ["cyclonedx"], path  # a CycloneDX VEX BOM: a report, though not an OpenVEX file
        elif prefix == "vex":
            assert claims == [], path
        else:
            assert claims == [expected.get(prefix, prefix)], path


def test_detection_ignores_the_file_name(tmp_path: Path) -> None:
    misnamed = tmp_path / "results.sarif"
    shutil.copyfile(FIXTURES / "grype_fix_states.json", misnamed)
    assert load_report(misnamed).tool == "grype"
    hadolint_clean = tmp_path / "trivy.json"
    hadolint_clean.write_text("[]")
    assert load_report(hadolint_clean).tool == "hadolint"


def test_trivy_and_grype_meet_in_dedupe() -> None:
    trivy = load_report(FIXTURES / "dedupe_trivy.json")
    grype = load_report(FIXTURES / "dedupe_grype.json")
    merged = dedupe((*trivy.findings, *grype.findings))
    assert len(merged) == 2
    by_id = {f.id: f for f in merged}
    setuptools = by_id["CVE-2024-6345"]
    assert setuptools.tools == ("grype", "trivy")
    assert "GHSA-cx63-2mw6-8hw5" in setuptools.aliases
    assert {s.original_id for s in setuptools.sources} == {"CVE-2024-6345", "GHSA-cx63-2mw6-8hw5"}
    zlib = by_id["CVE-2023-45853"]
    assert zlib.tools == ("grype", "trivy") and zlib.epss == 0.01 and zlib.cvss_score == 9.8
    assert len({f.fingerprint for f in (*trivy.findings, *grype.findings)}) == 2


@pytest.mark.tool
def test_real_trivy_config_json(tool: Callable[[str], str], tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.19\nRUN apk add curl\n")
    out = tmp_path / "anything.out"
    subprocess.run(
        [tool("trivy"), "config", "--quiet", "--format", "json", "--output", str(out), str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,  # not the repository's own trivy.yaml and its ignore file
    )
    report: Report = load_report(out)
    assert report.tool == "trivy" and report.tool_version
    assert report.artifact == str(tmp_path)
    root = [f for f in report.findings if f.id == "DS-0002"]
    assert len(root) == 1 and root[0].kind is Kind.MISCONFIGURATION
    # Trivy names the target relative to the folder it was given: joined, it is the file's own path.
    assert root[0].location is not None and root[0].location.path == f"{tmp_path}/Dockerfile"
    assert tally(report)[("misconfiguration", "HIGH")] >= 1
