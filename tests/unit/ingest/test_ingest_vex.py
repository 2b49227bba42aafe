"""OpenVEX reader: v0.2.0 and v0.0.x documents, inheritance of timestamps, and refused documents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.ingest.vex import VexStatement, read_vex


def test_v020_document(fixture_path: Callable[[str], Path]) -> None:
    statements = read_vex(fixture_path("vex_v020.json"))
    assert [s.status for s in statements] == ["not_affected", "fixed", "under_investigation", "affected"]
    zlib = statements[0]
    assert zlib.ids == ("CVE-2023-45853", "GHSA-xxxx-0000-yyyy")
    assert zlib.products == ("pkg:oci/python@sha256%3Aabc?repository_url=docker.io/library/python",)
    assert zlib.subcomponents == ("pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1",)
    assert zlib.justification == "vulnerable_code_not_in_execute_path"
    assert zlib.impact_statement == "MiniZip is not used by the application."
    assert zlib.timestamp == "2024-05-01T10:00:00Z"  # inherited from the document
    assert zlib.suppresses and zlib.origin.endswith("vex_v020.json")
    setuptools = statements[1]
    assert setuptools.products == ("python:3.12-slim", "pkg:pypi/setuptools@68.0.0")
    assert setuptools.timestamp == "2024-06-01T00:00:00Z" and setuptools.suppresses
    assert not statements[2].suppresses and not statements[3].suppresses
    assert statements[3].action_statement == "Upgrade glibc"


def test_v001_document(fixture_path: Callable[[str], Path]) -> None:
    (git,) = read_vex(fixture_path("vex_v001.json"))
    assert git == VexStatement(
        vulnerability="CVE-2014-123456",
        status="not_affected",
        origin=str(fixture_path("vex_v001.json")),
        products=("pkg:apk/distro/git@2.39.0-r1?arch=armv7", "pkg:apk/distro/git@2.39.0-r1?arch=x86_64"),
        subcomponents=("pkg:generic/libcurl@7.87.0",),
        justification="component_not_present",
        timestamp="2023-01-08T18:02:03.647787998-06:00",
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vex_bad_status.json", "status 'ignored'"),
        ("vex_no_justification.json", "justification or an impact_statement"),
        ("vex_not_openvex.json", "not an OpenVEX document"),
    ],
)
def test_bad_vex_names_the_file(fixture_path: Callable[[str], Path], name: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        read_vex(fixture_path(name))
    assert message in caught.value.diagnostics() and name in caught.value.diagnostics()


@pytest.mark.parametrize(
    "statement",
    [
        b"5",
        b'{"vulnerability": 7, "products": ["x"], "status": "fixed"}',
        b'{"vulnerability": {"name": "CVE-1", "aliases": "x"}, "products": ["x"], "status": "fixed"}',
        b'{"vulnerability": "CVE-1", "products": [], "status": "fixed"}',
        b'{"vulnerability": "CVE-1", "products": [{"hashes": {}}], "status": "fixed"}',
        b'{"vulnerability": "CVE-1", "products": ["x"], "subcomponents": "y", "status": "fixed"}',
        b'{"vulnerability": "CVE-1", "products": ["x"], "status": "not_affected", "justification": "because"}',
    ],
)
def test_malformed_statements(tmp_path: Path, statement: bytes) -> None:
    path = tmp_path / "bad.vex.json"
    path.write_bytes(b'{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [' + statement + b"]}")
    with pytest.raises(InputError) as caught:
        read_vex(path)
    assert str(path) in caught.value.diagnostics()


def test_unreadable_vex(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_vex(tmp_path / "missing.json")
    assert "missing.json" in caught.value.diagnostics()
    empty = tmp_path / "empty.json"
    empty.write_text("")
    with pytest.raises(InputError):
        read_vex(empty)
