"""Trivy's typed fast path (msgspec structs) yields exactly what the general dict path yields, or declines."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from gate import ingest, speed
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
    # trivy_mixed holds every kind, Trivy's suppressed findings and fields of every type Trivy writes.
    data = (FIXTURES / "trivy_mixed.json").read_bytes()
    typed = trivy.decode_typed(data)
    assert typed is not None
    report = trivy.parse_typed(typed, str(FIXTURES / "trivy_mixed.json"))
    assert report == general(json.loads(data), str(FIXTURES / "trivy_mixed.json"))
    assert {f.kind.value for f in report.findings} >= {"vulnerability", "misconfiguration", "secret"}
    assert report.skipped == ()


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
    refs = ["https://a.example/1", "https://b.example/2"]
    vulns = [
        {"VulnerabilityID": "CVE-2024-1", "PkgName": "a", "Severity": "HIGH", "References": refs},
        {"VulnerabilityID": "CVE-2024-1", "PkgName": "b", "Severity": "HIGH", "References": list(refs)},
        {"VulnerabilityID": "CVE-2024-2", "PkgName": "c", "Severity": "LOW"},
    ]
    doc = {"SchemaVersion": 2, "ArtifactName": "img", "Results": [{"Target": "img", "Vulnerabilities": vulns}]}
    target = tmp_path / "r.json"
    target.write_text(json.dumps(doc))
    typed = trivy.decode_typed(target.read_bytes())
    assert typed is not None
    report = trivy.parse_typed(typed, str(target))
    assert report == general(doc, str(target))
    a, b, c = report.findings
    assert a.references == ("https://a.example/1", "https://b.example/2") and a.references is b.references
    assert c.references == ()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("References", ["https://a.example/1", 7], "References[1]: expected a string, got a number"),
        ("References", "https://c.example", "References: expected a list, got a string"),
        ("CVSS", {"nvd": {"V3Score": "9.8"}}, "CVSS.nvd.V3Score: expected a number, got a string"),
        ("CVSS", {"nvd": {"V3Score": 98}}, "CVSS.nvd.V3Score: a CVSS score must be between 0 and 10, got 98"),
        ("CVSS", [], "CVSS: expected an object, got a list"),
    ],
)
def test_raw_json_the_typed_path_decodes_late_is_checked_as_the_general_path_checks_it(
    tmp_path: Path, field: str, value: Any, message: str
) -> None:
    # References and CVSS stay raw JSON in the typed path until first use: their errors must be the same.
    vulns = [{"VulnerabilityID": "CVE-2024-1", "PkgName": "a", "Severity": "HIGH"}] * 2
    vulns = [vulns[0], {**vulns[1], field: value}]
    doc = {"SchemaVersion": 2, "ArtifactName": "img", "Results": [{"Target": "img", "Vulnerabilities": vulns}]}
    target = tmp_path / "r.json"
    target.write_text(json.dumps(doc))
    assert trivy.decode_typed(target.read_bytes()) is not None
    expected = f"{target}: Results[0].Vulnerabilities[1].{message}"
    assert loaded(target) == general(doc, str(target)) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"1e999", "a number too large to hold, which would be infinity"),
        (b"-1e999", "a number too large to hold, which would be infinity"),
        (b"[" * 1100 + b"]" * 1100, "nested deeper than 1024 levels"),
    ],
)
@pytest.mark.parametrize("field", ["CVSS", "References", "Title"])
def test_numbers_and_nesting_json_cannot_hold_are_errors_on_both_paths(
    tmp_path: Path, raw: bytes, reason: str, field: str
) -> None:
    # A CRITICAL whose CVSS score is 1e999 was `skipped` by the typed path, and the gate passed.
    entry = b'{"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "CRITICAL", "%s": %s}' % (field.encode(), raw)
    target = tmp_path / "trivy.json"
    target.write_bytes(b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [' + entry + b"]}]}")
    assert loaded(target) == f"{target}: not valid JSON ({reason} at line 1)"


def test_nesting_deep_for_msgspec_but_valid_json_reads_the_same_on_both_paths(tmp_path: Path) -> None:
    # msgspec's recursion gives out before orjson's 1024 levels: such a file is read the general way.
    deep = b"[" * 1000 + b"]" * 1000
    entry = b'{"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "CRITICAL", "CVSS": {"nvd": %s}}' % deep
    target = tmp_path / "trivy.json"
    target.write_bytes(b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [' + entry + b"]}]}")
    expected = f"{target}: Results[0].Vulnerabilities[0].CVSS.nvd: expected an object, got a list"
    assert loaded(target) == general(orjson.loads(target.read_bytes()), str(target)) == expected


@pytest.mark.parametrize("name", ["trivy_mixed.json", "dedupe_grype.json", "sarif_mixed.sarif"])
def test_mapped_files_read_as_copied_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    # Large files are memory-mapped instead of copied: the report must be the same either way.
    source = FIXTURES / name
    if not source.is_file():
        pytest.fail(f"fixture {name} is missing")
    copied = load_report(source)
    monkeypatch.setattr(speed, "MAP_FROM", 1)
    mapped = load_report(source)
    assert isinstance(ingest._read_bytes(source), memoryview)
    assert mapped == copied and mapped.findings


def test_mapped_file_errors_keep_their_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(speed, "MAP_FROM", 1)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "SchemaVersion": 2,\n  "Results": [\n    {,\n')
    blank = tmp_path / "blank.json"
    blank.write_text(" \n" * 5000)
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\x00\x01" * 10)
    assert loaded(broken) == f"{broken}: not valid JSON (unexpected character, expected a string key at line 4)"
    assert "file is empty" in str(loaded(blank))
    assert "binary data" in str(loaded(binary))
