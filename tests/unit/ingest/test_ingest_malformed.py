"""Every reader survives wrong types anywhere in an otherwise valid report: a Report or an InputError naming the
file, never a crash, and never an entry quietly left out (`skipped` holds only what a report itself says)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.ingest import detect
from gate.ingest.vex import parse_vex
from gate.model import Report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPLACEMENTS: tuple[Any, ...] = (None, 7, -1.5, True, "x", [], {}, [1, "y", None], {"k": [2]})
Path_ = tuple[str | int, ...]
_SAID_BY_THE_REPORT = ("Trivy could not scan it", "written by container-gate itself")
"""The only skips a reader records: what the report itself says was not scanned, or our own SARIF run."""


def _all_text(*values: object) -> bool:
    return all(isinstance(v, str) for v in values)


def _paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _mutated(doc: Any, path: Path_, value: Any) -> Any:
    clone = copy.deepcopy(doc)
    holder = clone
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return clone


@pytest.mark.parametrize(
    "name",
    [
        "trivy_mixed.json",
        "trivy_k8s.json",
        "trivy_legacy_list.json",
        "grype_fix_states.json",
        "sarif_mixed.sarif",
        "conftest_no_namespace.json",
        "hadolint_levels.json",
    ],
)
def test_wrong_types_anywhere(name: str) -> None:
    _survives_every_mutation(json.loads((FIXTURES / name).read_text()), name)


@pytest.mark.corpus
@pytest.mark.parametrize(
    "relative",
    [
        "trivy/trivy-golden_secrets.json",
        "trivy/trivy-golden_dockerfile-misconfig.json",
        "trivy/trivy-golden_license-cyclonedx.json",
        "grype/grype-golden_json-image.json",
        "sarif/grype-golden_sarif-image.sarif",
        "conftest/defectdojo/conftest_one_vuln.json",
        "hadolint/defectdojo_hadolint_one_dockerfile.json",
    ],
)
def test_corpus_reports_with_wrong_types_anywhere(corpus_root: Path, relative: str) -> None:
    _survives_every_mutation(json.loads((corpus_root / relative).read_text()), relative)


def _survives_every_mutation(doc: Any, name: str) -> None:
    reader = detect(doc, name)
    assert reader is not None
    tried = refused = 0
    for path in list(_paths(doc)):
        for value in REPLACEMENTS:
            mutated = _mutated(doc, path, value)
            chosen = detect(mutated, name)
            if chosen is None:
                continue
            try:
                result = chosen.parse(mutated, name)
            except InputError as exc:
                assert exc.diagnostics().startswith(f"{name}: ") and "\n" not in exc.diagnostics()
                refused += 1
                continue
            assert isinstance(result, Report)
            assert all(any(said in s.reason for said in _SAID_BY_THE_REPORT) for s in result.skipped), result.skipped
            for finding in result.findings:
                # The model's annotations promise text; a reader that passed JSON through unchecked breaks it.
                assert _all_text(finding.id, finding.title, finding.target) and finding.id
                assert finding.location is None or _all_text(finding.location.path)
                optional = (finding.package, finding.installed_version, finding.fixed_version, finding.help_uri)
                assert _all_text(finding.description, *finding.references, *(v for v in optional if v is not None))
                assert _all_text(*finding.aliases, *(v for pair in finding.properties for v in pair))
            tried += 1
    # Enough mutations reached the reader (not refused by detection), and both outcomes happened.
    assert tried + refused > 50 and tried and refused


@pytest.mark.parametrize("name", ["vex_v020.json", "vex_v001.json"])
def test_vex_wrong_types_anywhere(name: str) -> None:
    doc = json.loads((FIXTURES / name).read_text())
    for path in list(_paths(doc)):
        for value in REPLACEMENTS:
            try:
                statements = parse_vex(_mutated(doc, path, value), name)
            except InputError as exc:
                assert name in exc.diagnostics()
                continue
            assert all(isinstance(s.vulnerability, str) for s in statements)
