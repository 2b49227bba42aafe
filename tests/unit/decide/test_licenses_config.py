"""The license policy's configuration: schema, loader, flags added to the config lists, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gate.cli import build_parser, main
from gate.config import load_config
from gate.model import Severity
from gate.settings import merge


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / ".container-gate.yml"
    path.write_text(body, encoding="utf-8")
    return path


def test_flags_add_to_the_config_lists(tmp_path: Path) -> None:
    config = load_config(
        _config(
            tmp_path,
            "licenses:\n  allowed: [MIT]\n  forbidden: [SSPL-1.0]\n  unknown: block\n  severity: MEDIUM\n",
        )
    )
    args = build_parser(plugins=False).parse_args(
        ["gate", "--license-allowed", "ISC", "--license-allowed", "notice", "--license-forbidden", "WTFPL", "."]
    )
    settings = merge(args, config)
    assert settings.license_allowed == ("ISC", "notice", "MIT")
    assert settings.license_forbidden == ("WTFPL", "SSPL-1.0")
    assert settings.license_unknown == "block"
    assert settings.license_severity is Severity.MEDIUM


def test_defaults_without_a_licenses_section(tmp_path: Path) -> None:
    settings = merge(
        build_parser(plugins=False).parse_args(["gate", "."]), load_config(_config(tmp_path, "fail-on: HIGH\n"))
    )
    assert (settings.license_allowed, settings.license_forbidden) == ((), ())
    assert (settings.license_unknown, settings.license_severity) == ("warn", Severity.HIGH)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("licenses:\n  unknown: maybe\n", "key licenses.unknown: 'maybe' is not one of block, warn, allow"),
        ("licenses:\n  severity: LOUD\n", "key licenses.severity: 'LOUD' is not one of"),
        ("licenses:\n  allowed: MIT\n", "key licenses.allowed: 'MIT' is not of type 'array'"),
    ],
)
def test_bad_config_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, words: str
) -> None:
    path = _config(tmp_path, body)
    assert main(["gate", "--config", str(path), str(tmp_path)]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert str(path) in lines[0]
    assert words in lines[0]
