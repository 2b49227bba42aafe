"""Each fast path of the Rego input path (`gate.speed`) against its plain path, on the cases where they could part:
YAML values, counts and errors (C-level tag cache, inlined text nodes), reading files, naming them, the JSON the
engine gets, field lines asked several at a time, results crossing from a worker."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path
from typing import Any

import pytest

from gate import safe_yaml, speed
from gate.checks.rego import check, documents
from gate.errors import InputError

YAML_CASES = [
    "a: 1\nb: [x, 'y', \"z\", 2.5, true, null, ~, yes, 0x1F, 0o17, 1_000, 1:30, .5, -.inf]\n",
    "kind: Deployment\nmetadata: {name: web, labels: {app: web}}\nspec:\n  replicas: 3\n  ports: [{port: 80}]\n",
    "base: &b {x: 1, y: two}\nderived:\n  <<: *b\n  y: 3\nlist: [*b, *b]\n",
    "? [complex, key]\n: value\n",
    "1: one\n2.0: two\ntrue: yes\nnull: nothing\n1e3: big\n",
    "=: equals key\nplain: =\n",
    "set: !!set {a, b}\nbin: !!binary aGVsbG8=\nstr: !!str 123\nwhen: 2027-13-01\nts: 2024-01-02T03:04:05Z\n",
    "nan: .nan\n",
    "---\na: 1\n---\n---\n- 1\n- 2\n...\n---\nb: [*undefined]\n",
    "a: [unclosed\n",
    "x: !python/object:os.system ls\n",
    "deep: " + "[" * 30 + "]" * 30 + "\n",
    "key: |\n  literal\n  text\nfolded: >\n  folded\n  text\nempty: ''\nspace: ' '\n",
    "- a\n- - b\n  - c: d\n    e: [f, {g: h}]\n",
    "n: [0, -0, +0, 7, -12, +5, 007, 0x1F, 0b101, 1_000, 1:30, 12345678901234567890123, 1e3, 0.0, -1.5e-3]\n",
    "t: [!!int '42', !!int '-7', !!int '0o17', !!int '\u0663', !!bool 'YES', !!bool 'Off', !!null '', !!null 'x']\n",
    "b: [yes, No, TRUE, false, on, OFF, y, n, ~, null, Null, NULL, '', 'true', \"1\"]\n",
    "bad: !!bool maybe\n",
    "bad: !!int [1]\n",
    "bad: !!null {a: 1}\n",
]


def _both(text: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What `load_documents` gives (value list, or the error text) with the tricks on and with them off."""
    outcomes: list[tuple[str, Any]] = []
    make = getattr(safe_yaml._fast_loader, "__wrapped__", safe_yaml._fast_loader)
    for enabled in (True, False):
        monkeypatch.setattr(speed, "ENABLED", enabled)
        loader = make()  # a new class for each mode
        monkeypatch.setattr(safe_yaml, "_fast_loader", lambda loader=loader: loader)
        try:
            outcomes.append(("ok", safe_yaml.load_documents(text, "f.yaml")))
        except InputError as exc:
            outcomes.append(("error", exc.diagnostics()))
        except Exception as exc:  # noqa: BLE001 (`!!bool maybe` escapes PyYAML as a KeyError: the same either way)
            outcomes.append(("escaped", f"{type(exc).__name__}: {exc}"))
    return outcomes


@pytest.mark.parametrize("text", YAML_CASES)
def test_yaml_values_and_errors_are_the_plain_paths(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, plain = _both(text, monkeypatch)
    assert fast == plain
    if fast[0] == "ok":  # (same types too: 1 and 1.0 and True are equal in Python)
        assert json.dumps(fast[1]) == json.dumps(plain[1])


@pytest.mark.parametrize("limit", [5, 6, 7, 8, 9, 12, 13, 40])
def test_the_value_budget_ends_at_the_same_node(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_yaml, "MAX_NODES", limit)
    text = "a: x\nb: [1, two, {c: d, e: f}]\ng: {h: i}\n"
    fast, plain = _both(text, monkeypatch)
    assert fast == plain


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_the_depth_bound_ends_at_the_same_level(depth: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safe_yaml, "MAX_DEPTH", depth)
    for text in ("a: {b: {c: text}}\n", "a: [b, [c, {d: e}]]\n", "a: b\n", "{a: {b: c}}: d\n"):
        fast, plain = _both(text, monkeypatch)
        assert fast == plain, text


def test_yaml_of_the_conftest_corpus_is_the_plain_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import SHARED

    files = sorted((SHARED / "corpus").rglob("*.yaml"))[:200] if (SHARED / "corpus").is_dir() else []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        fast, plain = _both(text, monkeypatch)
        assert fast == plain, path


def test_field_lines_answer_as_field_line_does() -> None:
    text = "a: 1\n---\nkind: Pod\nspec:\n  containers:\n  - name: x\n    securityContext: {}\n---\nb: [\n"
    queries: list[tuple[int | None, list[str | int]]] = [
        (None, ["a"]),
        (3, ["spec", "containers", 0, "securityContext", "privileged"]),
        (3, ["spec", "missing"]),
        (40, ["a"]),
        (1, ["a", 0]),
    ]
    assert safe_yaml.field_lines(text, queries) == [safe_yaml.field_line(text, line, f) for line, f in queries]
    assert safe_yaml.field_lines("a: [\n", [(None, ["a"])]) == [None]


def test_reading_a_file_is_the_plain_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "f.yaml").write_bytes(b"\xef\xbb\xbfa: 1\r\n")
    (tmp_path / "empty.yaml").write_bytes(b"")
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "link.yaml").symlink_to("f.yaml")
    for name in ("f.yaml", "empty.yaml", "dir.yaml", "link.yaml", "missing.yaml"):
        outcomes: list[bytes | str] = []
        for enabled in (True, False):
            monkeypatch.setattr(speed, "ENABLED", enabled)
            try:
                outcomes.append(documents._read(tmp_path / name))
            except OSError as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
        assert outcomes[0] == outcomes[1], name


def test_names_relative_to_the_root_are_the_plain_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "other").mkdir()
    for name in ("root/a.yaml", "root/sub/b.yaml", "other/c.yaml"):
        (tmp_path / name).write_text("a: 1\n")
    (root / "link.yaml").symlink_to("../other/c.yaml")
    (root / "dirlink").symlink_to("sub")
    monkeypatch.chdir(tmp_path)
    paths = ["root/a.yaml", "root/sub/b.yaml", "other/c.yaml", "root/link.yaml", "root/dirlink/b.yaml",
             "root/missing.yaml", str(root / "a.yaml"), "root/../root/a.yaml", "root", "/"]  # fmt: skip
    roots = ["root", ".", "/", str(root), "root/sub", "other/", str(tmp_path / "nowhere")]
    for base in roots:
        for path in paths:
            monkeypatch.setattr(speed, "ENABLED", True)
            fast = check._relative(Path(path), Path(base))
            monkeypatch.setattr(speed, "ENABLED", False)
            assert fast == check._relative(Path(path), Path(base)), (path, base)


def test_the_engine_reads_the_same_input_from_either_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    import regorus

    engine = regorus.Engine()
    engine.add_policy(
        "p.rego",
        "package p\nimport rego.v1\n"
        "whole := input if true\n"
        'text := sprintf("%v", [input]) if true\n'
        "walked := [[path, value] | walk(input, [path, value]); is_number(value)] if true\n",
    )
    values: list[Any] = [
        {"big": 2**70, "neg": -(2**64), "max": 2**64 - 1},
        {"f": [1e16, 1e-7, 0.1, -0.0, 1.0, 5e-324, 1e22, 123456789.123456789]},
        {"huge": 1.7976931348623157e308},
        {"text": 'é\u2028\x00"\\ 😀', "lone": "\ud800", "nested": [[], {}, [None, True, False]]},
        [1, "two", {"3": 4}],
    ]
    for value in values:
        answers = []
        for enabled in (True, False):
            monkeypatch.setattr(speed, "ENABLED", enabled)
            answer = []
            try:
                engine.set_input_json(check._input_json(value))
            except RuntimeError as exc:  # a lone surrogate: refused the same way
                answers.append([str(exc).split("Stack backtrace")[0]])
                continue
            for rule in ("whole", "text", "walked"):
                try:
                    answer.append(engine.eval_rule_as_json(f"data.p.{rule}"))
                except RuntimeError as exc:  # numbers regorus cannot write as JSON: the same either way
                    answer.append(str(exc).split("Stack backtrace")[0])
            answers.append(answer)
        assert answers[0] == answers[1], value
    del engine  # an engine may only be freed on the thread that made it: never leave it to the collector


def test_results_cross_from_a_worker_unchanged() -> None:
    result = check.RegoResult("m", "main", "deny", (("field", ["a", 0]), ("query", "data.main.deny")), "f", 3, 7, 9)
    tally = check.CheckResult("f.yaml", "main", 2, (result,), (), ("x",), (result,))
    again = pickle.loads(pickle.dumps(tally, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 (our own bytes)
    assert again == tally and again.failures[0].field_line == 9


def test_interned_findings_equal_the_plain_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "p.rego").write_text(
        "package main\nimport rego.v1\n"
        'deny contains {"msg": "a", "n": 1} if true\n'
        'deny contains {"msg": "b", "n": 1.0} if true\n'
        'deny contains {"msg": "c", "n": true, "severity": "low", "id": "x"} if true\n'
        'warn contains {"msg": "d", "description": "same", "_loc": {"file": "p.rego", "line": 2}} if true\n'
        'warn contains "e" if true\n'
    )
    for i in range(3):
        (tmp_path / f"m{i}.yaml").write_text(f"i: {i}\n")
    inputs = sorted(tmp_path.glob("*.yaml"))
    runs = []
    for enabled in (True, False):
        monkeypatch.setattr(speed, "ENABLED", enabled)
        reports = check.run(inputs, policies=[str(tmp_path / "p.rego")], root=tmp_path, workers=1).reports
        runs.append([(f, f.properties, f.location, f.sources) for r in reports for f in r.findings])
    assert runs[0] == runs[1]
    properties = {f.title: dict(f.properties) for f, *_ in runs[0]}
    assert properties["a"]["n"] == "1" and properties["c"]["n"] == "true"  # (1 == True, yet not the same JSON)


def test_no_file_descriptor_is_left_open(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("a: 1\n")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        documents._read(tmp_path / "f.yaml")
    assert len(os.listdir("/proc/self/fd")) == before
