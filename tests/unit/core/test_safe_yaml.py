"""The safe YAML loader refuses values JSON cannot hold, naming the file and line (hostile-input issue, 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.errors import ConfigError, InputError
from gate.safe_yaml import load_text


@pytest.mark.parametrize(
    ("text", "line", "value"),
    [
        ("a: 1.5\nb: .nan\n", 2, ".nan"),
        ("x:\n  - 1\n  - -.inf\n", 3, "-.inf"),
        ("---\nk: v\n---\nspec:\n  ratio: .Inf\n", 5, ".Inf"),
    ],
)
def test_non_finite_numbers_are_errors_naming_the_line(text: str, line: int, value: str) -> None:
    with pytest.raises(InputError) as caught:
        load_text(text, "deploy.yaml", error=InputError, multi=True)
    assert caught.value.diagnostics() == (
        f"deploy.yaml: invalid YAML value: {value!r} is not a finite number (JSON cannot hold it) at line {line}"
    )


@pytest.mark.parametrize(("value", "tag"), [("maybe", "bool"), ("abc", "int"), ("x1", "float"), ("nope", "timestamp")])
@pytest.mark.parametrize("plain", [False, True])
def test_explicit_tags_on_values_they_cannot_hold_are_errors_naming_the_line(
    value: str, tag: str, plain: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PyYAML's safe constructors raise KeyError/ValueError/AttributeError on these; both builders say it plainly.
    from gate import speed

    monkeypatch.setattr(speed, "ENABLED", not plain)
    with pytest.raises(InputError) as caught:
        load_text(f"kind: Pod\nspec: !!{tag} {value}\n", "pod.yaml", error=InputError, multi=True)
    assert caught.value.diagnostics() == f"pod.yaml: invalid YAML value: cannot read {value!r} as !!{tag} at line 2"
    good = {"bool": "true", "int": "7", "float": "1.5", "timestamp": "2024-01-02"}[tag]
    assert load_text(f"ok: !!{tag} {good}\n", "o.yml")


def test_finite_floats_and_strings_that_look_like_numbers_stay() -> None:
    assert load_text("a: 2.5\nb: 1e999\nc: '.nan'\n", "c.yml") == {"a": 2.5, "b": "1e999", "c": ".nan"}


def test_the_config_error_kind_is_kept_for_configs() -> None:
    with pytest.raises(ConfigError, match="not a finite number"):
        load_text("fail-on: .nan\n", ".container-gate.yml")


# --- the same loader for Rego inputs and policy data (it used to be a second, unlimited one) ---------------------

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)


def test_rego_input_alias_bomb_ends_fast_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gate.cli import main

    (tmp_path / "bomb.yaml").write_text(BOMB)
    (tmp_path / "p.rego").write_text('package main\nimport rego.v1\ndeny contains "x" if input.a\n')
    code = main(["gate", str(tmp_path / "bomb.yaml"), "--policy", str(tmp_path / "p.rego")])
    err = capsys.readouterr().err
    assert code == 2 and "bomb.yaml: YAML expands to more than" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: Pod\nspec:\n  x: .nan\n", "'.nan' is not a finite number (JSON cannot hold it) at line 3"),
        ("a: -.inf\n", "'-.inf' is not a finite number"),
        ("a: " + "[" * 20000 + "]" * 20000 + "\n", "nest"),
        ("a: !!python/object:os.system x\n", "unsafe or unknown YAML tag"),
    ],
    ids=["nan", "inf", "deep", "tag"],
)
def test_rego_input_values_json_cannot_hold_are_errors_naming_the_line(tmp_path: Path, text: str, message: str) -> None:
    from gate.checks.rego.documents import load_documents

    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_documents(path)
    assert message in caught.value.diagnostics() and str(path) in caught.value.diagnostics()


def test_documents_keep_their_lines_with_the_fast_parser(tmp_path: Path) -> None:
    from gate.checks.rego.documents import load_documents

    path = tmp_path / "m.yaml"
    path.write_text("---\nkind: A\n---\n# note\n\nkind: B\n...\n---\n---\nkind: C\n")
    assert [(d.value, d.line) for d in load_documents(path)] == [
        ({"kind": "A"}, 2),
        ({"kind": "B"}, 6),
        ({"kind": "C"}, 10),
    ]


def test_a_value_that_contains_itself_is_an_error_not_a_recursion_crash() -> None:
    # Found by tests/fuzz: the plain-data copy recursed forever on a self-referencing alias.
    with pytest.raises(ConfigError, match="contains itself"):
        load_text("b: &b {c: *b}\n", "x.yml")
