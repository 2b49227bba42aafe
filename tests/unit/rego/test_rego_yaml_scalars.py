"""Plain YAML scalars in policy inputs read as Conftest reads them: sigs.k8s.io/yaml over go-yaml v2, whose
`resolve` is not PyYAML's (`y`/`n` are booleans, `1e3` and `-.5` numbers, `0o17` octal, `1:20` and `12:30:00`
text rather than base-60 numbers). The reference is the real `conftest parse` on the same file. (OPA 1.22's
`opa eval -i` reads YAML with go-yaml v3 now, a different set of rules, so it is not the reference here.)"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gate.checks.rego.documents import parse_input
from gate.errors import InputError
from gate.safe_yaml import load_text
from tests.conftest import go_tool

WORDS = [
    "y", "Y", "yes", "Yes", "YES", "yEs", "n", "N", "no", "NO", "on", "ON", "off", "Off", "true", "True", "TRUE",
    "tRUE", "false", "null", "Null", "NULL", "nULL", "~", "1e3", "1E3", "1e+3", "-1.5e-3", ".5", "-.5", "+.5",
    "1.", "1.0", "0.0", "-0", "+12", "012", "0755", "08", "0o17", "0O17", "0x1F", "0X1f", "-0x1F", "0b101", "-0b101",
    "0B11", "1_000", "1__0", "0x_1F", "1_0.5", "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "1:20", "12:30:00", "-1:20", "190:20:30", "2024-01-01", "2024-1-5", "2001-12-14t21:59:43.10-05:00",
    "1e400", "0x", "1.2.3", "v1", "=", "<<x", "123abc", "-", "+", ".", "._", "0.5_0",
]  # fmt: skip


def _document() -> str:
    lines = ["values:"]
    lines += [f"  - {word}" for word in WORDS]
    lines += ["quoted:"] + [f'  - "{word}"' for word in WORDS[:10]]
    lines += ["keys:"]
    # (Keys go-yaml resolves to the same JSON key, `y` and `true` say, would collide: one of each kind.)
    lines += [f"  {word}: {i}" for i, word in enumerate(["y", "N", "1e3", "0o17", "1:20", "-.5", "0x1F", "1.5"])]
    lines += ["block: |", "  1e3", "flow: [y, 1e3, 0o17, 1:20, '1e3']"]
    return "\n".join(lines) + "\n"


def test_plain_scalars_read_as_conftest_reads_them(tmp_path: Path) -> None:
    conftest = go_tool("conftest")
    (tmp_path / "s.yaml").write_text(_document())
    done = subprocess.run([conftest, "parse", "s.yaml"], cwd=tmp_path, capture_output=True, text=True, check=True)
    ours = parse_input(tmp_path / "s.yaml")
    # Conftest hands policies its JSON decoded into float64s: compared as such (`9223372036854775807` is the
    # float 2**63 to both), and an integral number is an integer here as in Conftest's JSON (`1e3` is `1000`).
    assert json.loads(json.dumps(ours), parse_int=float) == json.loads(done.stdout, parse_int=float)
    assert [type(ours["values"][WORDS.index(w)]) for w in ("1e3", "-.5", "0o17")] == [int, float, int]
    differs = [
        w for w, a, b in zip(WORDS, ours["values"], load_text(_document(), "s")["values"], strict=True) if a != b
    ]
    assert {"y", "1e3", "0o17", "1:20"} <= set(differs), "PyYAML's own rules would read these otherwise"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("a: .inf\n", "not a finite number"), ("a: !!int 1.5\n", "as !!int"), ("a:\n  ~: z\n", "a null used as a key")],
)
def test_what_go_yaml_refuses_is_an_error_naming_the_file(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    with pytest.raises(InputError, match=problem) as raised:
        parse_input(tmp_path / "bad.yaml")
    assert raised.value.path == str(tmp_path / "bad.yaml")


def test_conftest_refuses_a_null_key_too(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("a:\n  ~: z\n")
    done = subprocess.run([go_tool("conftest"), "parse", "k.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode != 0 and "unsupported map key" in done.stderr
    assert load_text("a:\n  ~: z\n", "c.yml") == {"a": {"null": "z"}}  # (our own files: PyYAML's reading)


def test_config_files_keep_yaml_1_1_as_pyyaml_reads_it() -> None:
    # Our own files (.container-gate.yml, ignore lists) are not policy inputs: `n` stays text there.
    assert load_text("a: n\nb: 1e3\nc: =\n", "c.yml") == {"a": "n", "b": "1e3", "c": "="}
