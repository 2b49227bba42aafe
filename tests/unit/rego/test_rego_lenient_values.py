"""A built-in given a value of the right type that it cannot read (`to_number("abc")`, `semver.compare("latest",
...)`, `base64.decode("!!")`, a bad regex) makes its expression undefined in OPA outside strict mode, which is how
Conftest runs it; regorus stops the whole evaluation. The lenient policies guard such calls with the tests of
`builtin_values`; every answer here is held to the real `opa eval` on the same documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.checks.rego.builtin_args import ARGS
from gate.checks.rego.builtin_values import VALUES
from gate.checks.rego.check import check
from tests.conftest import UNDEFINED, opa_eval

# (rule name, body): each rule calls one guarded built-in on a value of the document.
RULES = [
    ("to_number", "to_number(input.text) > 1"),
    ("to_number any", "to_number(input.number) >= 0"),
    ("semver newer", 'semver.compare(input.version, "1.0.0") > 0'),
    ("semver older", 'semver.compare("1.0.0", input.version) > 0'),
    ("base64", 'base64.decode(input.secret) != ""'),
    ("json", "json.unmarshal(input.text).a == 1"),
    ("yaml", "yaml.unmarshal(input.text).a == 1"),
    ("units", "units.parse(input.cpu) < 1"),
    ("bytes", "units.parse_bytes(input.memory) > 1000"),
    ("rfc3339", "time.parse_rfc3339_ns(input.when) > 0"),
    ("duration", "time.parse_duration_ns(input.period) > 1000"),
    ("cidr", 'net.cidr_contains(input.network, "10.1.2.3")'),
    ("address", 'net.cidr_contains("10.0.0.0/8", input.address)'),
    ("regex", 'regex.match(input.pattern, "abc")'),
    ("regex find", 'count(regex.find_n(input.pattern, "abcabc", -1)) > 0'),
    ("regex split", 'count(regex.split(input.pattern, "a,b")) > 1'),
    ("regex replace", 'regex.replace("abc", input.pattern, "x") != "abc"'),
    ("regex submatch", 'count(regex.find_all_string_submatch_n(input.pattern, "abc", -1)) > 0'),
    ("not semver", 'not semver.compare(input.version, "2.0.0") == -1'),
    ("semver valid", "semver.is_valid(input.version)"),  # (respelled always: regorus refuses `v1.2.3` and numbers)
    ("semver of a number", "not semver.is_valid(input.count)"),
    ("always", "true"),
]

GOOD = {
    "count": 3,
    "text": '{"a": 1}',
    "number": "42",
    "version": "v1.2.3",
    "secret": "c2VjcmV0",
    "cpu": "500m",
    "memory": "512Mi",
    "when": "2024-01-02T03:04:05.5+02:00",
    "period": "1h30m",
    "network": "10.0.0.0/8",
    "address": "10.1.0.0/16",
    "pattern": "b|c",
}
BAD = {
    "count": 3,
    "text": "abc",
    "number": " 5",
    "version": "latest",
    "secret": "!!@",
    "cpu": "1 core",
    "memory": "10 K",
    "when": "2024-01-02 03:04",
    "period": "1 day",
    "network": "10.0.0.1",
    "address": "10.0.0.0/33",
    "pattern": "([",
}
OTHER = {  # good values of another shape: plain numbers, a bare version, an address, an empty pattern
    "count": 3,
    "text": "7",
    "number": "-0.5e2",
    "version": "2.0.0-rc.1",
    "secret": "",
    "cpu": "2",
    "memory": "1.5Gi",
    "when": "2024-12-31T23:59:59Z",
    "period": "-300ms",
    "network": "::/0",
    "address": "::1",
    "pattern": "",
}


def _policy(v0: bool) -> str:
    head = "package main\n" if v0 else "package main\nimport rego.v1\n"
    rule = 'deny["{name}"] {{ {body} }}\n' if v0 else 'deny contains "{name}" if {{ {body} }}\n'
    return head + "".join(rule.format(name=name, body=body) for name, body in RULES)


def _opa(policy: Path, document: Path, *, v0: bool) -> list[str]:
    value = opa_eval(policy, "data.main.deny", input=document, v0=v0)
    return [] if value is UNDEFINED else sorted(value)


@pytest.mark.parametrize("v0", [False, True])
def test_values_a_builtin_cannot_read_give_what_opa_gives(tmp_path: Path, v0: bool) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(_policy(v0))
    answers = {}
    for name, doc in (("good.json", GOOD), ("bad.json", BAD), ("other.json", OTHER)):
        (tmp_path / name).write_text(json.dumps(doc))
        (result,) = check([tmp_path / name], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
        theirs = _opa(tmp_path / "policy" / "p.rego", tmp_path / name, v0=v0)
        assert sorted(r.msg for r in result.failures) == theirs, name
        answers[name] = theirs
    # The good values meet every guard (only the rules false on them stay quiet: v1.2.3 is newer than 1.0.0 and
    # older than 2.0.0, and JSON text is no number); on the bad ones every guarded call is undefined, under a
    # `not` too (OPA evaluates a negated call's arguments before the `not`).
    quiet = {"semver older", "not semver", "to_number"}
    assert answers["good.json"] == sorted(name for name, _ in RULES if name not in quiet)
    assert answers["bad.json"] == ["always", "semver of a number"]
    assert {"to_number", "semver newer", "semver valid", "bytes", "rfc3339", "regex"} <= set(answers["other.json"])


def test_every_guard_is_for_a_typed_builtin_with_its_parameters() -> None:
    for builtin, guard in VALUES.items():
        params = {f"a{i}" for i in range(len(ARGS[builtin]))}
        used = {p for p in ("a0", "a1", "a2", "a3") if any(p in test for test in guard.tests)}
        assert used and used <= params, builtin


# Arithmetic where OPA's operator errs (a value of another type, a division or remainder by zero, a remainder of a
# fraction): undefined in OPA, a stop in regorus. Nested, bracketed, over lines and after non-ASCII text.
ARITHMETIC = [
    ("sum", "input.a + 1 > 2"),
    ("nested", "(input.a + input.b) * 2 > 4"),
    ("ratio", "input.used / input.total > 0.5"),
    ("remainder", "input.a % input.b == 1"),
    ("fraction", "input.f % 2 == 1"),
    ("sets", 'count({"x", "y"} - {t | some t in input.tags}) == 1'),
    ("minus", "input.a - input.b < 5"),
    ("lines", "x := input.a *\n\t\tinput.b\n\tx > 1"),
    ("ünïcode", 'msg := "é"; count([v | some v in input.list; v * 2 > 2]) > 0'),
    ("always", "true"),
]


def _arithmetic_policy(v0: bool) -> str:
    head = "package main\nimport future.keywords.in\n" if v0 else "package main\nimport rego.v1\n"
    rule = 'deny["{name}"] {{\n\t{body}\n}}\n' if v0 else 'deny contains "{name}" if {{\n\t{body}\n}}\n'
    return head + "".join(rule.format(name=name, body=body) for name, body in ARITHMETIC)


@pytest.mark.parametrize("v0", [False, True])
def test_arithmetic_that_errs_gives_what_opa_gives(tmp_path: Path, v0: bool) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(_arithmetic_policy(v0))
    documents = {
        "numbers.json": {"a": 3, "b": 2, "used": 3, "total": 4, "f": 3, "tags": ["x"], "list": [1, 2]},
        "text.json": {"a": "3", "b": "2", "used": "3", "total": "4", "f": "3", "tags": "x", "list": ["1"]},
        "zeros.json": {"a": 3, "b": 0, "used": 1, "total": 0, "f": 2.5, "tags": ["x", "y"], "list": [0]},
    }
    answers = {}
    for name, doc in documents.items():
        (tmp_path / name).write_text(json.dumps(doc))
        (result,) = check([tmp_path / name], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
        theirs = _opa(tmp_path / "policy" / "p.rego", tmp_path / name, v0=v0)
        assert sorted(r.msg for r in result.failures) == theirs, name
        answers[name] = theirs
    assert len(answers["numbers.json"]) == len(ARITHMETIC)  # every rule holds on numbers
    assert answers["text.json"] == ["always"]  # every operation errs in OPA: undefined
    assert "ratio" not in answers["zeros.json"] and "fraction" not in answers["zeros.json"]


def test_arithmetic_respelled_keeps_every_line() -> None:
    from gate.checks.rego.arithmetic import guard

    source = _arithmetic_policy(False)
    out, used = guard(source, v0=False)
    assert used == {"add", "sub", "mul", "div", "mod"}
    assert out.count("\n") == source.count("\n")
    assert out.splitlines()[6] == "\tcg_lenient_arith_mul(cg_lenient_arith_add(input.a, input.b), 2) > 4"
    assert guard('package p\nx := "a + b"  # 1 - 2\n', v0=False) == ('package p\nx := "a + b"  # 1 - 2\n', set())


def test_some_in_a_call_that_is_no_collection_iterates_nothing(tmp_path: Path) -> None:
    # `some f in object.get(input, "xs", [])` with `xs: null`: OPA iterates nothing, regorus stopped the run.
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        "package main\nimport rego.v1\n"
        'deny contains f if { some f in object.get(input, "xs", []) }\n'
        'deny contains k if { some k, _ in json.unmarshal(input.text) }\ndeny contains "after" if true\n'
    )
    for name, doc in (("null.json", {"xs": None, "text": "3"}), ("list.json", {"xs": ["a"], "text": '{"k": 1}'})):
        (tmp_path / name).write_text(json.dumps(doc))
        (result,) = check([tmp_path / name], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
        assert sorted(r.msg for r in result.failures) == _opa(tmp_path / "policy" / "p.rego", tmp_path / name, v0=False)
    assert sorted(r.msg for r in result.failures) == ["a", "after", "k"]


# Text OPA's `to_number` reads beyond JSON's syntax (underscores between digits, a sign, leading zeros, a bare
# point) and text it refuses; regorus refused all of it.
NUMBER_TEXTS = [
    ("1_000", 1000), ("+22", 22), ("022", 22), ("00000000000000000001", 1), (".5", 0.5), ("5.", 5), ("-.5e1", -5),
    ("-022", -22), ("1_0.5", 10.5), ("5.e3", 5000), ("+0", 0), ("1e+3", 1000), ("1__0", None), ("_1", None),
    ("1_", None), ("1e400", None), ("0x10", None), (" 5", None), ("inf", None),
]  # fmt: skip


def test_to_number_reads_the_text_opa_reads(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    rules = [
        f'deny contains "{text}" if to_number(input.vs[{i}]) == {value}'
        if value is not None
        else f'deny contains "{text}" if {{ x := to_number(input.vs[{i}]); x == x }}'
        for i, (text, value) in enumerate(NUMBER_TEXTS)
    ]
    (tmp_path / "policy" / "p.rego").write_text("package main\nimport rego.v1\n" + "\n".join(rules) + "\n")
    (tmp_path / "n.json").write_text(json.dumps({"vs": [text for text, _ in NUMBER_TEXTS]}))
    (result,) = check([tmp_path / "n.json"], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
    theirs = _opa(tmp_path / "policy" / "p.rego", tmp_path / "n.json", v0=False)
    assert sorted(r.msg for r in result.failures) == theirs
    assert theirs == sorted(text for text, value in NUMBER_TEXTS if value is not None)
