"""The safe YAML loader refuses values JSON cannot hold, naming the file and line (hostile-input issue, 4)."""

from __future__ import annotations

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


def test_finite_floats_and_strings_that_look_like_numbers_stay() -> None:
    assert load_text("a: 2.5\nb: 1e999\nc: '.nan'\n", "c.yml") == {"a": 2.5, "b": "1e999", "c": ".nan"}


def test_the_config_error_kind_is_kept_for_configs() -> None:
    with pytest.raises(ConfigError, match="not a finite number"):
        load_text("fail-on: .nan\n", ".container-gate.yml")
