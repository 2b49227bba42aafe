"""Grype reports trimmed to `matches` (tickets, DefectDojo uploads) read as Grype, with an unknown target."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from gate.errors import InputError
from gate.ingest import PARSERS, load_report, parser
from gate.ingest.grype import UNKNOWN_TARGET
from gate.model import Finding, Report
from tests import conftest as ROOT  # noqa: N812 - the root fixtures module

# Every corpus Grype report with at least one match (the empty golden trims to `{"matches": []}`).
REPORTS = [
    "defectdojo_grype_fix_available.json",
    "defectdojo_grype_many_vulns4.json",
    "grype-explain-testdata_chainguard-ruby.json",
    "grype-explain-testdata_ghsa.json",
    "grype-golden_json-directory.json",
    "grype-golden_json-image.json",
]


def _trimmed(tmp_path: Path, name: str, drop: tuple[str, ...]) -> tuple[Report, Report]:
    """The corpus report as it is, and a copy without the `drop` keys written to tmp_path."""
    original = ROOT.corpus_file(f"grype/{name}")
    doc = orjson.loads(original.read_bytes())
    for key in drop:
        del doc[key]
    copy = tmp_path / name
    copy.write_bytes(orjson.dumps(doc))
    return load_report(original), load_report(copy)


def _comparable(finding: Finding, *, keep_tool_data: bool) -> Finding:
    """The finding without what trimming removes: the target (and the file it was read from), and with
    `descriptor`/`distro` gone the tool version and the OS property. All the match carries must survive."""
    if keep_tool_data:
        return replace(finding, target="", sources=tuple(replace(s, report="") for s in finding.sources))
    sources = tuple(replace(s, tool_version=None, report="") for s in finding.sources)
    props = tuple(p for p in finding.properties if p[0] != "os")
    return replace(finding, target="", sources=sources, properties=props)


@pytest.mark.corpus
@pytest.mark.parametrize("name", REPORTS)
def test_matches_only_reads_as_grype_with_the_same_findings(tmp_path: Path, name: str) -> None:
    full, trimmed = _trimmed(tmp_path, name, ("source", "distro", "descriptor"))
    assert trimmed.tool == "grype" and trimmed.skipped == full.skipped == ()
    assert trimmed.artifact == UNKNOWN_TARGET and trimmed.tool_version is None and trimmed.os is None
    assert {f.target for f in trimmed.findings} == {UNKNOWN_TARGET}
    assert len(trimmed.findings) == len(full.findings) > 0
    expected = [_comparable(f, keep_tool_data=False) for f in full.findings]
    assert [_comparable(f, keep_tool_data=False) for f in trimmed.findings] == expected


@pytest.mark.corpus
@pytest.mark.parametrize("name", REPORTS)
def test_without_source_only_the_target_changes(tmp_path: Path, name: str) -> None:
    full, trimmed = _trimmed(tmp_path, name, ("source",))
    assert {f.target for f in trimmed.findings} == {UNKNOWN_TARGET}
    assert trimmed.tool_version == full.tool_version and trimmed.os == full.os
    expected = [_comparable(f, keep_tool_data=True) for f in full.findings]
    assert [_comparable(f, keep_tool_data=True) for f in trimmed.findings] == expected


@pytest.mark.corpus
def test_a_trimmed_report_runs_through_the_gate(tmp_path: Path) -> None:
    from gate.cli import main

    _trimmed(tmp_path, "defectdojo_grype_fix_available.json", ("source", "distro", "descriptor"))
    out = tmp_path / "result.json"
    code = main(["gate", str(tmp_path / "defectdojo_grype_fix_available.json"), "--json", str(out)])
    result = orjson.loads(out.read_bytes())
    assert code == 1 and result["verdict"] == "fail"
    assert [f["target"] for f in result["findings"]] == [UNKNOWN_TARGET]


@pytest.mark.parametrize(
    "doc",
    [
        {"matches": ["CVE-2024-1", "CVE-2024-2"]},  # a list of strings (search hits, a to-do list)
        {"matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": "p"}}]},  # no matchDetails
        {"matches": [{"file": "a.py", "line": 3}]},  # some other tool's matches
        {"matches": []},  # nothing says which tool: never a silent pass
        {"matches": [{"vulnerability": "CVE-1", "artifact": {}, "matchDetails": []}]},
    ],
)
def test_other_matches_lists_are_not_grype(tmp_path: Path, doc: dict[str, object]) -> None:
    assert [n for n in PARSERS if parser(n).sniff(doc)] == []
    path = tmp_path / "matches.json"
    path.write_bytes(orjson.dumps(doc))
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert str(path) in caught.value.diagnostics() and "not a report we know" in caught.value.diagnostics()


def test_a_bare_match_list_with_grype_shape_is_claimed_by_grype_alone() -> None:
    doc = {"matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {"name": "p"}, "matchDetails": []}]}
    assert [n for n in PARSERS if parser(n).sniff(doc)] == ["grype"]
    report = parser("grype").parse(doc, "m.json")
    (finding,) = report.findings
    assert (finding.id, finding.package, finding.target) == ("CVE-1", "p", UNKNOWN_TARGET)
