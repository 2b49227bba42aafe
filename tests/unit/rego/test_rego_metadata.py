"""`rego.metadata.rule()`: OPA (and Conftest, which parses annotations) gives a rule its `# METADATA` block;
regorus lacks the built-in. Every value here is held to the real `opa eval` of the same module."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import regorus

from gate.checks.rego.check import check
from gate.checks.rego.compat import spell_out_imported_calls
from gate.checks.rego.engine import add_module
from tests.conftest import opa_eval

# Rules whose value is what `rego.metadata.rule()` answers in them: every field kind OPA normalises, each scope,
# a block above a function, a blank line between block and rule, an indented block (no annotation to OPA), a
# second definition of an annotated rule (its own, empty, metadata) and a rule without a block.
MODULE_V1 = """package m

import rego.v1

# METADATA
# title: Deny latest
# description: |
#   Images must be pinned
#   to a digest.
# related_resources:
# - https://example.com/a
# - ref: https://example.com/b
#   description: more
# authors:
# - Jane Doe <jane@example.com>
# - name: Bob
# organizations: [acme]
# schemas:
# - input: schema.input
# custom:
#   severity: HIGH
#   n: 1
#   flags: [a, 2, true, null]
full := rego.metadata.rule()

# METADATA
# scope: document
# title: document scope
document := rego.metadata.rule()

# METADATA
# entrypoint: true
entry := rego.metadata.rule()

# METADATA
# title: a function
f(x) := [x, rego.metadata.rule()]

called := f(1)

# METADATA
# title: after a gap

gap := rego.metadata.rule()

  # METADATA
  # title: indented
indented := rego.metadata.rule()

# METADATA
# title: first
twice contains 1

twice contains rego.metadata.rule()

none := rego.metadata.rule()
"""

NAMES = ["full", "document", "entry", "called", "gap", "indented", "twice", "none"]


def _opa_values(path: Path, *, v0: bool = False) -> dict[str, object]:
    value = opa_eval(path, "data.m", v0=v0)
    return {name: value[name] for name in NAMES if name in value}


@pytest.mark.parametrize("v0", [False, True])
def test_rule_metadata_is_what_opa_gives(tmp_path: Path, v0: bool) -> None:
    source = MODULE_V1
    if v0:
        source = source.replace("import rego.v1", "import future.keywords.contains").replace("f(x) := [x", "f(x) = [x")
    (tmp_path / "m.rego").write_text(source)
    theirs = _opa_values(tmp_path / "m.rego", v0=v0)
    engine = regorus.Engine()
    add_module(engine, "m.rego", source, "v0" if v0 else "v1")
    ours = {name: json.loads(engine.eval_rule_as_json(f"data.m.{name}")) for name in theirs}
    assert ours == theirs
    full = theirs["full"]
    assert isinstance(full, dict) and full["scope"] == "rule" and full["custom"]["n"] == 1
    assert theirs["document"] == {} and theirs["indented"] == {}


def test_a_deny_rule_reads_its_own_title_and_fields(tmp_path: Path) -> None:
    # The common use: the message built from the rule's annotations, checked as Conftest would run it.
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        "package main\n\nimport rego.v1\n\n# METADATA\n# title: Image uses latest\n# custom:\n#   id: K8S-001\n"
        'deny contains msg if {\n\tinput.image == "x:latest"\n\tmeta := rego.metadata.rule()\n'
        '\tmsg := sprintf("%s: %s", [meta.custom.id, meta.title])\n}\n'
    )
    (tmp_path / "a.json").write_text('{"image": "x:latest"}')
    (result,) = check([tmp_path / "a.json"], policies=[str(tmp_path / "policy")], root=tmp_path, workers=1)
    assert [r.msg for r in result.failures] == ["K8S-001: Image uses latest"]


def test_calls_are_answered_on_their_own_line() -> None:
    out = spell_out_imported_calls(MODULE_V1)
    assert out.count("\n") == MODULE_V1.count("\n")
    assert "rego.metadata.rule()" not in out
    assert 'none := {"scope": "rule"}' not in out and "none := {}" in out
