"""`%s` and `%q` arguments taken as text in Conftest mode (no function call each), with the files whose values are
not text evaluated again by the policies that write them as Go does; and what a worker added to its policies
after the compile (the run's partner objects) reaching the sets it falls back to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.checks.rego.check import check, check_file
from gate.checks.rego.compat import spell_out_imported_calls
from gate.checks.rego.engine import load
from gate.errors import PolicyError
from tests.conftest import opa_eval

FORMATS = (
    "package main\nimport rego.v1\n"
    'deny contains msg if { msg := sprintf("%s: image %q", [input.metadata.name, input.image]) }\n'
    'warn contains msg if { msg := sprintf("%s has %d", [input.metadata.name, input.n]) }\n'
)


def test_text_verbs_take_s_and_q_arguments_as_text_and_the_lenient_spelling_keeps_gos() -> None:
    fast = spell_out_imported_calls(FORMATS, text_verbs=True).splitlines()
    assert fast[2] == (
        'deny contains msg if { msg := sprintf("%s: image %s", '
        '[trim_prefix(input.metadata.name, ""), json.marshal(trim_prefix(input.image, ""))]) }'
    )
    # (`%d` keeps its function: no built-in is the identity on integers and an error on the rest.)
    assert 'trim_prefix(input.metadata.name, ""), cg_compat_verb_d(input.n)' in fast[3]
    exact = spell_out_imported_calls(FORMATS)
    assert "trim_prefix" not in exact and "cg_compat_verb_s(input.metadata.name)" in exact
    lenient = spell_out_imported_calls(FORMATS, lenient=True, text_verbs=True)
    assert "trim_prefix" not in lenient and "cg_compat_verb_s(input.metadata.name)" in lenient


# Names and images of each kind, one file each, in this order: text first (the fast policies answer), then a
# number (they stop; the file goes through Go's verbs, and so does every later file), then text again.
DOCUMENTS = [
    {"metadata": {"name": "web"}, "image": "nginx", "n": 1},
    {"metadata": {"name": 7}, "image": "nginx", "n": 2},
    {"metadata": {"name": "db"}, "image": {"k": None}, "n": 3},  # (`%q` of a number: Go's rune quoting, a gap)
    {"metadata": {"name": True}, "image": ["a"], "n": "x"},
    {"metadata": {"name": "api"}, "image": "é\n", "n": -4},
]


def _files(tmp_path: Path) -> list[Path]:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(FORMATS)
    paths = []
    for i, doc in enumerate(DOCUMENTS):
        paths.append(tmp_path / f"d{i}.json")
        paths[-1].write_text(json.dumps(doc))
    return paths


@pytest.mark.parametrize("workers", [1, 2])
def test_values_that_are_not_text_are_written_as_opa_writes_them(tmp_path: Path, workers: int) -> None:
    paths = _files(tmp_path)
    results = check(paths, policies=[str(tmp_path / "policy")], root=tmp_path, workers=workers)
    for path, result in zip(paths, results, strict=True):
        assert sorted(r.msg for r in result.failures) == opa_eval(tmp_path / "policy", "data.main.deny", input=path)
        assert sorted(r.msg for r in result.warnings) == opa_eval(tmp_path / "policy", "data.main.warn", input=path)
    assert results[1].failures[0].msg == '%!s(int64=7): image "nginx"'


def test_after_one_file_needs_gos_verbs_every_later_file_uses_them(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    compiled = load([str(tmp_path / "policy")], text_verbs=True)
    assert compiled.in_use() is compiled
    check_file(compiled, paths[0], ["main"], display="d0.json", root=tmp_path)
    assert compiled.in_use() is compiled, "text needs no second spelling"
    check_file(compiled, paths[1], ["main"], display="d1.json", root=tmp_path)
    exact = compiled.in_use()
    assert exact is not compiled and exact is compiled.go_verbs() and exact.exact is None
    check_file(compiled, paths[2], ["main"], display="d2.json", root=tmp_path)
    assert compiled.in_use() is exact, "compiled once, then kept"


def test_an_error_the_lenient_policies_meet_too_is_not_named_after_our_text_verbs(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        "package main\nimport rego.v1\n"
        'deny contains msg if { msg := sprintf("%s", [input.name]) }\n'
        "r := 1 if input.name\nr := 2 if input.name\n"  # two values for one complete rule: OPA refuses it too
        "deny contains 1 if r\n"
    )
    (tmp_path / "d.json").write_text('{"name": 3}')
    with pytest.raises(PolicyError) as caught:
        check([tmp_path / "d.json"], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
    assert "trim_prefix" not in caught.value.diagnostics()
    assert "p.rego: line 5" in caught.value.diagnostics() and "rule conflicts" in caught.value.diagnostics()


def test_data_added_after_the_compile_reaches_the_lenient_and_go_verb_policies(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(FORMATS + "k := data.extra.k\n")
    compiled = load([str(tmp_path / "p.rego")], text_verbs=True)
    compiled.add_data_json('{"extra": {"k": 1}}')
    lenient, exact = compiled.lenient(), compiled.go_verbs()
    assert lenient is not None and exact.lenient() is lenient, "one lenient compile for both"
    for policies in (compiled, lenient, exact):
        assert json.loads(policies.shared_session().eval_rule_as_json("data.main.k")) == 1


def test_a_file_the_lenient_policies_evaluate_still_sees_the_runs_partner_objects(tmp_path: Path) -> None:
    # A name that is no text stops `startswith` in regorus (OPA: undefined, so `not` holds): the file goes to the
    # lenient policies, which must read the NetworkPolicies among the inputs as the first ones did.
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        "package main\nimport rego.v1\n"
        'deny contains "isolated" if {\n\tinput.kind == "Deployment"\n\tnot startswith(input.metadata.name, "x")\n'
        "\tcount(data.containergate_review.objects) > 0\n}\n"
    )
    (tmp_path / "np.yaml").write_text("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: a\n")
    (tmp_path / "d.yaml").write_text("kind: Deployment\nmetadata:\n  name: 5\n")
    results = check(
        [tmp_path / "np.yaml", tmp_path / "d.yaml"], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1
    )
    assert [r.msg for r in results[1].failures] == ["isolated"]
