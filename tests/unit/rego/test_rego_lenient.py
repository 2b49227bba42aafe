"""A built-in given an argument of a type it does not take (`startswith` of a number, `count(null)`) makes its
expression undefined, as OPA evaluates it outside strict mode, which is how Conftest runs it; regorus stops
the whole evaluation instead. Such a file is evaluated again by the lenient policies (`builtin_args`), and
the answers are held to the real `opa eval` on the same documents."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from gate.checks.rego.builtin_args import ARGS
from gate.checks.rego.check import check
from gate.checks.rego.compat import spell_out_imported_calls
from gate.errors import PolicyError
from tests.conftest import UNDEFINED, go_tool, opa_eval

REPO = Path(__file__).resolve().parents[3]

# Each rule fires on a document of the expected types or not; on the odd documents below, a built-in gets a
# number, null, an array or an object where it takes something else.
POLICY = """package main
import rego.v1

deny contains "image not internal" if not startswith(input.image, "registry/")
deny contains "no containers" if count(input.containers) == 0
deny contains "upper name" if lower(input.name) != input.name
deny contains "not an a-name" if not regex.match(`^a`, input.name)
deny contains "first part a" if split(input.csv, ",")[0] == "a"
deny contains "default kept" if object.get(input.meta, "k", "d") == "d"
warn contains msg if {
	some c in input.containers
	msg := sprintf("container %s of %q", [c, trim_space(input.name)])
}
"""

# The same rules in Rego v0.
POLICY_V0 = """package main
import future.keywords.in

deny["image not internal"] { not startswith(input.image, "registry/") }
deny["no containers"] { count(input.containers) == 0 }
deny["upper name"] { lower(input.name) != input.name }
deny["not an a-name"] { not regex.match(`^a`, input.name) }
deny["first part a"] { split(input.csv, ",")[0] == "a" }
deny["default kept"] { object.get(input.meta, "k", "d") == "d" }
warn[msg] {
	some c in input.containers
	msg := sprintf("container %s of %q", [c, trim_space(input.name)])
}
"""

DOCUMENTS = {
    "typed.json": {"image": "nginx", "containers": ["a"], "name": "Abc", "csv": "a,b", "meta": {}},
    "numbers.json": {"image": 5, "containers": 3, "name": 7, "csv": 1, "meta": 2},
    "nulls.json": {"image": None, "containers": None, "name": None, "csv": None, "meta": None},
    "shapes.json": {"image": ["r/x"], "containers": {"a": 1}, "name": {"n": 1}, "csv": ["a"], "meta": "k"},
}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_builtin_args", REPO / ".ci" / "gen_builtin_args.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_argument_table_is_what_opa_declares() -> None:
    made = _generator().generate(go_tool("opa"))
    assert (REPO / "gate" / "checks" / "rego" / "builtin_args.py").read_text(encoding="utf-8") == made
    assert ARGS["startswith"] == ("string", "string") and ARGS["count"] == ("array|object|set|string",)
    assert "plus" not in ARGS  # (infix operators are not called by name)


def _opa(policy: Path, document: Path, query: str, *, v0: bool = False) -> list[str]:
    value = opa_eval(policy, query, input=document, v0=v0)
    return [] if value is UNDEFINED else sorted(value)


@pytest.mark.parametrize("v0", [False, True])
def test_badly_typed_documents_give_what_opa_gives(tmp_path: Path, v0: bool) -> None:
    source = POLICY_V0 if v0 else POLICY
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(source)
    for name, doc in DOCUMENTS.items():
        (tmp_path / name).write_text(json.dumps(doc))
    for name in DOCUMENTS:
        (result,) = check([tmp_path / name], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
        for kind, ours in (("deny", result.failures), ("warn", result.warnings)):
            theirs = _opa(tmp_path / "policy" / "p.rego", tmp_path / name, f"data.main.{kind}", v0=v0)
            assert sorted(r.msg for r in ours) == theirs, (name, kind)
    # (A `not` over a built-in's error fires on the odd documents, and other rules do not: they test something.)
    odd = _opa(tmp_path / "policy" / "p.rego", tmp_path / "numbers.json", "data.main.deny", v0=v0)
    typed = _opa(tmp_path / "policy" / "p.rego", tmp_path / "typed.json", "data.main.deny", v0=v0)
    assert "image not internal" in odd and len(odd) < len(typed)


def test_an_error_that_is_not_a_type_error_still_stops_the_run(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    # Two values for one complete rule: OPA and regorus both stop, lenient or not.
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\nimport rego.v1\nx := 1 if startswith(input.s, "a")\nx := 2 if true\ndeny contains "d" if x\n'
    )
    (tmp_path / "a.json").write_text('{"s": "abc"}')
    with pytest.raises(PolicyError, match="rule conflicts") as raised:
        check([tmp_path / "a.json"], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
    assert "cg_lenient" not in str(raised.value)


def test_only_typed_builtins_called_by_the_policy_are_guarded_and_lines_stay() -> None:
    source = (
        "package t\nimport rego.v1\nx := count(input.a)\ny := json.marshal(input.b)  # any value\nf(s) := s\n"
        "z := f(1)\nw contains c if { some i, c in input.list[0]; some d in f(c) }\n"
    )
    out = spell_out_imported_calls(source, lenient=True)
    assert out.splitlines()[2:7] == [
        "x := cg_lenient_count(input.a)",
        "y := json.marshal(input.b)  # any value",
        "f(s) := s",
        "z := f(1)",
        "w contains c if { some i, c in cg_lenient_in(input.list[0]); some d in cg_lenient_in(f(c)) }",
    ]
    assert out.count("cg_lenient_count(a0) :=") == 1 and "cg_lenient_json" not in out
    assert spell_out_imported_calls(source) == source  # (not lenient: nothing to respell)


def test_the_workers_retry_as_one_process_does(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(POLICY)
    names = []
    for i in range(48):  # enough for several batches over two forked workers
        name = f"d{i:02d}.json"
        (tmp_path / name).write_text(json.dumps(list(DOCUMENTS.values())[i % len(DOCUMENTS)]))
        names.append(tmp_path / name)
    policies = [str(tmp_path / "policy")]
    alone = check(names, policies=policies, root=tmp_path, workers=1)
    forked = check(names, policies=policies, root=tmp_path, workers=2)
    assert forked == alone
    assert sum(len(r.failures) for r in forked) > 0
