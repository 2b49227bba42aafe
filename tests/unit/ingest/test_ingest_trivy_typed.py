"""Trivy's typed fast path (msgspec structs) yields exactly what the general dict path yields, or declines."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gate import ingest
from gate.errors import InputError
from gate.ingest import detect, load_report, trivy
from gate.model import Report

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REPLACEMENTS: tuple[Any, ...] = (None, 7, -1.5, True, "x", [], {}, [1, "y", None], {"k": [2]})


def general(doc: Any, origin: str) -> Report | str:
    """What the dict path makes of a document: a report, or the error's one-line message."""
    reader = detect(doc, origin)
    if reader is None:
        return "undetected"
    try:
        return reader.parse(doc, origin)
    except InputError as exc:
        return exc.diagnostics()


def loaded(path: Path) -> Report | str:
    """What `load_report` (typed path first) makes of a file."""
    try:
        return load_report(path)
    except InputError as exc:
        return exc.diagnostics()


def paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key path inside a JSON value."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


def mutated(doc: Any, where: tuple[str | int, ...], value: Any) -> Any:
    """A deep copy of `doc` with the value at `where` replaced."""
    clone = copy.deepcopy(doc)
    holder = clone
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = value
    return clone


def test_plain_report_takes_the_typed_path() -> None:
    # trivy_mixed holds every kind plus entries of the wrong type: the typed path reads them all.
    data = (FIXTURES / "trivy_mixed.json").read_bytes()
    typed = trivy.decode_typed(data)
    assert typed is not None
    report = trivy.parse_typed(typed, str(FIXTURES / "trivy_mixed.json"))
    assert report == general(json.loads(data), str(FIXTURES / "trivy_mixed.json"))
    assert {f.kind.value for f in report.findings} >= {"vulnerability", "misconfiguration", "secret"}
    assert any("not an object" in s.reason for s in report.skipped)
    assert any("`Vulnerabilities` is not a list" in s.reason for s in report.skipped)


@pytest.mark.parametrize(
    "name",
    ["trivy_k8s.json", "trivy_legacy_list.json", "trivy_null.json", "trivy_schema3.json", "trivy_no_schema.json"],
)
def test_other_shapes_are_declined(name: str) -> None:
    assert trivy.decode_typed((FIXTURES / name).read_bytes()) is None


@pytest.mark.parametrize(
    "text",
    [
        b'{"SchemaVersion": 2, "runs": [], "version": "2.1.0"}',  # SARIF is detected first
        b'{"SchemaVersion": 2, "ClusterName": "c", "Resources": []}',  # the k8s shape
        b'{"SchemaVersion": 2, "Results": {"Target": "x"}}',  # Results not a list
        b'{"SchemaVersion": true, "Results": []}',
        b'{"SchemaVersion": 2, "Results": [',  # invalid JSON
        b"[]",
    ],
)
def test_unusual_documents_are_declined(text: bytes) -> None:
    assert trivy.decode_typed(text) is None


@pytest.mark.corpus
def test_every_corpus_trivy_report_reads_the_same(corpus_root: Path) -> None:
    typed_count = 0
    for path in sorted((corpus_root / "trivy").glob("*.json")):
        data = path.read_bytes()
        typed_count += trivy.decode_typed(data) is not None
        assert loaded(path) == general(json.loads(data), str(path)), path.name
    assert typed_count >= 8  # the image, filesystem and config reports all took the typed path


@pytest.mark.parametrize("name", ["trivy_mixed.json", "dedupe_trivy.json"])
def test_wrong_types_anywhere_read_the_same_on_both_paths(tmp_path: Path, name: str) -> None:
    doc = json.loads((FIXTURES / name).read_text())
    target = tmp_path / name
    typed_count = 0
    for where in list(paths(doc)):
        for value in REPLACEMENTS:
            changed = mutated(doc, where, value)
            text = json.dumps(changed)
            target.write_text(text)
            typed_count += trivy.decode_typed(text.encode()) is not None
            assert loaded(target) == general(changed, str(target)), (where, value)
    assert typed_count > 100  # most mutations went through the typed path, not only the fallback


def test_reference_lists_are_decoded_once_and_read_as_the_general_path_reads_them(tmp_path: Path) -> None:
    refs = ["https://a.example/1", 7, "https://b.example/2", None]
    vulns = [
        {"VulnerabilityID": "CVE-2024-1", "PkgName": "a", "Severity": "HIGH", "References": refs},
        {"VulnerabilityID": "CVE-2024-1", "PkgName": "b", "Severity": "HIGH", "References": list(refs)},
        {"VulnerabilityID": "CVE-2024-2", "PkgName": "c", "Severity": "LOW"},
        {"VulnerabilityID": "CVE-2024-3", "PkgName": "d", "Severity": "LOW", "References": "https://c.example"},
    ]
    doc = {"SchemaVersion": 2, "ArtifactName": "img", "Results": [{"Target": "img", "Vulnerabilities": vulns}]}
    target = tmp_path / "r.json"
    target.write_text(json.dumps(doc))
    typed = trivy.decode_typed(target.read_bytes())
    assert typed is not None
    report = trivy.parse_typed(typed, str(target))
    assert report == general(doc, str(target))
    a, b, c, d = report.findings
    assert a.references == ("https://a.example/1", "https://b.example/2") and a.references is b.references
    assert c.references == () and d.references == ()


@pytest.mark.parametrize("name", ["trivy_mixed.json", "dedupe_grype.json", "sarif_mixed.sarif"])
def test_mapped_files_read_as_copied_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # Large files are memory-mapped instead of copied: the report must be the same either way.
    source = FIXTURES / name
    if not source.is_file():
        pytest.fail(f"fixture {name} is missing")
    copied = load_report(source)
    monkeypatch.setattr(ingest, "MAP_FROM", 1)
    mapped = load_report(source)
    assert isinstance(ingest._read_bytes(source), memoryview)
    assert mapped == copied and mapped.findings


def test_mapped_file_errors_keep_their_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAP_FROM", 1)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "SchemaVersion": 2,\n  "Results": [\n    {,\n')
    blank = tmp_path / "blank.json"
    blank.write_text(" \n" * 5000)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\x01" * 10)
    assert loaded(broken) == f"{broken}: not valid JSON (unexpected character, expected a string key at line 4)"
    assert "file is empty" in str(loaded(blank))
    assert "binary data" in str(loaded(binary))
