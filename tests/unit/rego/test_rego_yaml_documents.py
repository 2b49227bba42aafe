"""YAML inputs cut into documents, and merge keys, as Conftest's YAML parser reads them: the text split at each
`---` line (an empty or comment-only piece is a null document, and is evaluated), each piece's first document,
`<<` merged. The reference is the real `conftest parse`, and `conftest test` for what gets evaluated."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gate.checks.rego.check import check
from gate.checks.rego.documents import load_documents, parse_input
from tests.conftest import go_tool

CASES = {
    "empty-pieces.yaml": "a: 1\n---\n# only a comment\n---\nb: 2\n---\n",
    "leading.yaml": "---\na: 1\n--- \nb: 2\n---\nc: 3\n",  # (`--- ` with a blank after it cuts nothing)
    "crlf.yaml": "a: 1\r\n---\r\nb: 2\r\n",
    "directive.yaml": "%YAML 1.1\n---\na: 1\n---\nb: 2\n",
    "one-piece.yaml": "a: 1\n--- # a comment\nb: 2\n",  # one piece: its first document only
    "merge.yaml": "base: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 3\nl:\n  <<: [*b, {r: 4}]\n  s: 5\nquoted:\n  '<<': 1\n",
    "empty.yaml": "# nothing but a comment\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_documents_are_cut_as_conftest_cuts_them(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(CASES[name].encode())
    done = subprocess.run(
        [go_tool("conftest"), "parse", name], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert parse_input(tmp_path / name) == json.loads(done.stdout)


def test_each_document_starts_where_its_piece_does(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").write_text(CASES["empty-pieces.yaml"])
    assert [(d.value, d.line) for d in load_documents(tmp_path / "d.yaml")] == [
        ({"a": 1}, 1),
        (None, 3),
        ({"b": 2}, 5),
        (None, 7),
    ]
    # Gatekeeper's reading (gator's) is the YAML stream's documents, the empty ones left out.
    assert [d.value for d in load_documents(tmp_path / "d.yaml", stream=True)] == [{"a": 1}, {"b": 2}]


def test_a_null_document_is_evaluated_as_conftest_evaluates_it(tmp_path: Path) -> None:
    # Helm's output often holds empty documents; a rule that fires on a missing field fires on each of them.
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\nimport rego.v1\ndeny contains "no namespace" if not input.metadata.namespace\n'
    )
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "chart.yaml").write_text(
        "---\n# Source: chart/templates/a.yaml\n---\nkind: Pod\nmetadata:\n  namespace: x\n---\n"
        "# Source: chart/templates/b.yaml\n---\nkind: Pod\nmetadata: {}\n"
    )
    done = subprocess.run(
        [go_tool("conftest"), "test", "m", "-p", "policy", "-o", "json"], cwd=tmp_path, capture_output=True, text=True
    )
    (theirs,) = json.loads(done.stdout)
    (ours,) = check([tmp_path / "m" / "chart.yaml"], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
    assert len(ours.failures) == len(theirs["failures"]) == 3
    assert ours.successes == theirs["successes"]


def test_json_inputs_with_a_byte_order_mark_or_a_lone_surrogate_read_as_conftest_reads_them(tmp_path: Path) -> None:
    (tmp_path / "bom.json").write_bytes(b'\xef\xbb\xbf{"a": 1}')
    (tmp_path / "surrogate.json").write_text('{"name": "x\\ud800y", "\\udc00": ["\\ud83d\\ude00"]}')
    for name in ("bom.json", "surrogate.json"):
        done = subprocess.run(
            [go_tool("conftest"), "parse", name], cwd=tmp_path, capture_output=True, text=True, check=True
        )
        assert parse_input(tmp_path / name) == json.loads(done.stdout), name
    assert parse_input(tmp_path / "surrogate.json") == {"name": "x\ufffdy", "\ufffd": ["\U0001f600"]}
