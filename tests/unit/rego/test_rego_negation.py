"""`not` (inside `every`, and over a call) and `walk` written as a value answer as OPA answers them: regorus
failed the whole `every` when a reference indexed by the loop variable was undefined (`every name in ["cpu",
"memory"] { not c.resources.limits[name] }` on a container without limits fired in Conftest and not here),
evaluated a call's arguments inside the `not` (see `NEGATIONS`), and found nothing for `[path, value] :=
walk(input)`. The reference is the real `opa eval` on the same documents."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import regorus

from gate.checks.rego.compat import spell_out_imported_calls
from gate.checks.rego.engine import add_module
from gate.checks.rego.negation import guards
from tests.conftest import go_tool

RULES = {
    "limits": 'every name in ["cpu", "memory"] { not input.c.resources.limits[name] }',
    "keyed": 'every k, n in ["a", "b"] { not input.x[n]; k >= 0 }',
    "compared": 'every n in ["a"] { not input.x[n] == true }',
    "nested": 'every n in ["a"] { every m in {"q"} { not input.y[m][n] } }',
    "domain_set": 'every n in {"a", "b"} {\n\t\tnot input.x[n]  # a comment after\n\t}',
    "positive": 'every n in ["a"] { input.x[n] }',
    "one_call": 'every n in ["a"] { not startswith(input.x[n], "z") }',
    "called": 'every n in ["a"] { not startswith(object.get(input.x, n, ""), "z") }',
}
DOCUMENTS = [
    {},
    {"x": {"b": 1}},
    {"x": {"a": True}},
    {"x": {"a": False}},
    {"x": {"a": "zed"}, "y": {"q": {"a": 1}}},
    {"c": {"resources": {"limits": {"cpu": "1"}}}},
    {"c": {"resources": {}}},
]


def _policy(v1: bool) -> str:
    head = "package t\n" + (
        "import rego.v1\n"
        if v1
        else "import future.keywords.every\nimport future.keywords.if\nimport future.keywords.in\n"
    )
    return head + "".join(f"{name} := true if {{\n\t{rule}\n}} else := false\n" for name, rule in RULES.items())


def _ours(source: str, document: object, v1: bool, *, lenient: bool = False) -> dict[str, bool]:
    engine = regorus.Engine()
    add_module(engine, "p.rego", source, "v1" if v1 else "v0", lenient=lenient)
    engine.set_input_json(json.dumps(document))
    try:
        return {name: json.loads(engine.eval_rule_as_json(f"data.t.{name}")) for name in RULES}
    except RuntimeError:
        if lenient:
            raise
        # A built-in's type error (`startswith(true, ...)`): evaluated again lenient, as `check_file` does.
        return _ours(source, document, v1, lenient=True)


@pytest.mark.parametrize("v1", [True, False])
def test_not_inside_every_answers_as_opa(tmp_path: Path, v1: bool) -> None:
    opa = go_tool("opa")
    source = _policy(v1)
    (tmp_path / "p.rego").write_text(source)
    answers = []
    for i, document in enumerate(DOCUMENTS):
        (tmp_path / f"{i}.json").write_text(json.dumps(document))
        flags = [] if v1 else ["--v0-compatible"]
        done = subprocess.run(
            [
                opa,
                "eval",
                *flags,
                "-f",
                "raw",
                "-d",
                str(tmp_path / "p.rego"),
                "-i",
                str(tmp_path / f"{i}.json"),
                "data.t",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        theirs = json.loads(done.stdout)
        assert _ours(source, document, v1) == theirs, document
        answers.append(theirs)
    assert {a["limits"] for a in answers} == {True, False}, "the documents test both answers"


def test_regorus_alone_gets_it_wrong() -> None:
    # Guards the reason for the rewrite: when regorus answers this right by itself, the rewrite can go.
    engine = regorus.Engine()
    engine.add_policy("p.rego", _policy(True))
    engine.set_input_json("{}")
    assert json.loads(engine.eval_rule_as_json("data.t.limits")) is False


def test_only_statements_inside_every_are_respelled_and_lines_stay() -> None:
    source = _policy(True) + 'called if { every n in ["a"] { not startswith(input.x[n], "z") } }\n'
    source += 'outside if { not input.z }\nevery_thing := "every x in y { not z }"\n'
    out = spell_out_imported_calls(source)
    assert len(out.splitlines()) == len(source.splitlines())
    assert "outside if { not input.z }" in out and '"every x in y { not z }"' in out
    assert "count([1 | input.x[n]]) == 0  # a comment after" in out
    assert "not input." not in out.split("called")[0]
    # (A call under `not`: OPA hoists its arguments to locals, evaluated once; see negation.bind.)
    assert 'cg_not_3 := input.x[n]; not startswith(cg_not_3, "z")' in out


WALK = """package t
import rego.v1

paths contains p if {
	[p, v] := walk(input)  # OPA's spelling of the relation
	v == "hunter2"
}

pairs contains pair if {
	pair = walk(input)
	pair[1] == 1
}

related contains p if walk(input, [p, "hunter2"])
"""


def test_walk_as_a_value_answers_as_opa(tmp_path: Path) -> None:
    opa = go_tool("opa")
    document = {"a": {"b": "hunter2", "c": [1, {"d": "hunter2"}]}, "e": 1}
    (tmp_path / "p.rego").write_text(WALK)
    (tmp_path / "in.json").write_text(json.dumps(document))
    done = subprocess.run(
        [opa, "eval", "-f", "raw", "-d", str(tmp_path / "p.rego"), "-i", str(tmp_path / "in.json"), "data.t"],
        capture_output=True,
        text=True,
        check=True,
    )
    engine = regorus.Engine()
    add_module(engine, "p.rego", WALK, "v1")
    engine.set_input_json(json.dumps(document))
    ours = {name: json.loads(engine.eval_rule_as_json(f"data.t.{name}")) for name in ("paths", "pairs", "related")}
    theirs = json.loads(done.stdout)
    assert {k: sorted(map(json.dumps, v)) for k, v in ours.items()} == {
        k: sorted(map(json.dumps, theirs[k])) for k in ours
    }
    assert len(theirs["paths"]) == 2
    assert len(spell_out_imported_calls(WALK).splitlines()) == len(WALK.splitlines())


# `not` over a call: OPA's compiler evaluates the call's arguments (and the operands of a comparison other than
# `==`) before the `not`, so an undefined one fails the body instead of making the `not` hold; regorus evaluated
# them inside the `not`, and `not startswith(input.metadata.namespace, "kube-")` fired on a manifest without one.
NEGATIONS = [
    'not startswith(input.x.a, "z")',
    'not startswith(input.nope, "z")',
    'not startswith("zz", input.x.a)',
    'not input.x.a == "z"',
    'not input.x.a != "z"',
    "not count(input.x.a) > 0",
    "not count(input.l) == 3",
    "not count(input.nope) == 3",
    'not lower(input.x.a) == "z"',
    "not f(input.x.a)",
    "not f(input.one)",
    'not contains(input.x.a, "z")',
    'not regex.match("^a", input.x.a)',
    "not is_string(input.x.a)",
    "not input.x.a",
    'not object.get(input.x, "a", false)',
    "not input.nope < 3",
    'not startswith(input.l[9], "z")',
    'not startswith(input.l[0], "z")',
    'not startswith(input.l[0], "a")',
    'not "a" in input.nope',
    'not input.nope in {"x"}',
    'not input.l[0] in {"x"}',
    # A comprehension is defined (empty at worst), so it is not guarded; what it is compared with still is.
    "not input.l[0] in {r | some r in input.nope}",
    "not input.l[0] in {r | some r in input.l}",
    "not input.nope in [r | some r in input.l]",
    "not count({k: v | some k, v in input.x}) > 0",
    "not input.l[0] in [r | some r in input.l][5]",  # indexed: may be undefined, guarded
    "not input.l[0] in {input.nope}",  # a set literal with an undefined member is undefined: guarded
]


@pytest.mark.parametrize("v1", [True, False])
def test_not_over_a_call_answers_as_opa(tmp_path: Path, v1: bool) -> None:
    opa = go_tool("opa")
    head = "package t\n" + ("import rego.v1\n" if v1 else "import future.keywords.if\nimport future.keywords.in\n")
    rules = [f"r{i} := true if {{ {negation} }} else := false" for i, negation in enumerate(NEGATIONS)]
    rules += [f"s{i} := true if {negation}" for i, negation in enumerate(NEGATIONS)]  # (one-line bodies)
    rules += [f"e{i} := true if {negation} else := false" for i, negation in enumerate(NEGATIONS)]
    source = head + "f(x) := true if x == 1\n" + "\n".join(rules) + "\n"
    (tmp_path / "p.rego").write_text(source)
    document = {"x": {}, "one": 1, "l": ["ab", "cd"]}
    (tmp_path / "in.json").write_text(json.dumps(document))
    flags = [] if v1 else ["--v0-compatible"]
    done = subprocess.run(
        [opa, "eval", *flags, "-f", "raw", "-d", str(tmp_path / "p.rego"), "-i", str(tmp_path / "in.json"), "data.t"],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout)
    engine = regorus.Engine()
    add_module(engine, "p.rego", source, "v1" if v1 else "v0")
    engine.set_input_json(json.dumps(document))
    ours = json.loads(engine.eval_query_as_json("data.t"))["result"][0]["expressions"][0]["value"]
    assert {k: v for k, v in ours.items() if k != "f"} == theirs
    lines = source.splitlines()
    # Every rule stays on its line (what is appended comes after the last).
    assert [line.split()[0] for line in spell_out_imported_calls(source).splitlines()[: len(lines)]] == [
        line.split()[0] for line in lines
    ]
    assert sum(theirs[f"r{i}"] for i in range(len(NEGATIONS))) not in (0, len(NEGATIONS))


def test_a_comprehension_in_a_negated_expression_is_evaluated_once() -> None:
    # (Guarding it, `_ = {r | ...}`, only evaluated it twice: a third of a registry-allowlist rule's time.)
    def terms(code: str) -> list[str]:
        return [term.strip() for term in guards(code)]

    assert terms("registry(c.image) in {r | some r in data.registries.allowed}") == ["registry(c.image)"]
    assert terms("f(x) in [r | some r in input.l][0]") == ["f(x)", "[r | some r in input.l][0]"]
    assert terms("f(x) in {input.a, 1}") == ["f(x)", "{input.a, 1}"]


# Terms moved out of a `not` are bound to locals of our own (`cg_not_N`): several in one body, in a function, in a
# comprehension's body and in an `else`, each evaluated once and still undefined where OPA has them undefined.
BOUND = """
two if { not startswith(input.l[0], "z"); not count(input.l) > 5 }
two_undefined if { not startswith(input.l[0], "z"); not startswith(input.nope, "z") }
g(x) if { not startswith(x.name, "z") }
in_function := g({"name": "a"})
in_function_undefined := true if { g({}) } else := false
kept := [s | some s in input.l; not startswith(s, "c")]
kept_undefined := [s | some s in input.l; not startswith(input.nope[s], "c")]
chosen := "x" if { not startswith(input.nope, "z") } else := "y" if { not startswith(input.l[1], "z") }
same_term := true if { not count(input.l) == count(input.l) } else := false
"""


@pytest.mark.parametrize("v1", [True, False])
def test_terms_moved_out_of_a_not_are_evaluated_once_and_answer_as_opa(tmp_path: Path, v1: bool) -> None:
    head = "package t\n" + ("import rego.v1\n" if v1 else "import future.keywords.if\nimport future.keywords.in\n")
    source = head + BOUND
    (tmp_path / "p.rego").write_text(source)
    document = {"l": ["ab", "cd"]}
    (tmp_path / "in.json").write_text(json.dumps(document))
    flags = [] if v1 else ["--v0-compatible"]
    done = subprocess.run(
        [
            go_tool("opa"),
            "eval",
            *flags,
            "-f",
            "raw",
            "-d",
            str(tmp_path / "p.rego"),
            "-i",
            str(tmp_path / "in.json"),
            "data.t",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout)
    engine = regorus.Engine()
    add_module(engine, "p.rego", source, "v1" if v1 else "v0")
    engine.set_input_json(json.dumps(document))
    ours = json.loads(engine.eval_query_as_json("data.t"))["result"][0]["expressions"][0]["value"]
    assert {k: v for k, v in ours.items() if k != "g"} == theirs
    assert theirs["two"] is True and "two_undefined" not in theirs and theirs["kept"] == ["ab"]
    spelled = spell_out_imported_calls(source)
    assert (
        'cg_not_1 := input.l[0]; not startswith(cg_not_1, "z"); cg_not_2 := count(input.l); not cg_not_2 > 5' in spelled
    )


def test_a_term_under_with_is_guarded_where_it_stands() -> None:
    # Bound before the `not`, it would be evaluated without the modifier.
    source = 'package t\nimport rego.v1\nr if { not count(input.l) > 1 with input as {"l": []} }\n'
    spelled = spell_out_imported_calls(source)
    assert "cg_not_" not in spelled and "_ = count(input.l); " in spelled
    assert 'not count(input.l) > 1 with input as {"l": []} }' in spelled
