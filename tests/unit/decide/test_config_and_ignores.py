"""The config file, its schema, safe YAML, and every ignore-file format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gate.config import load_config
from gate.decide.ignores import read_ignore_file
from gate.errors import ConfigError
from gate.model import Finding, Kind, Severity


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_full_config_round_trip(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            "c.yml",
            "fail-on: CRITICAL\nonly-fixed: true\nbudgets: {HIGH: 5}\n"
            "ignore:\n  - {id: CVE-1, reason: accepted, expires: 2027-01-31, paths: ['app/*']}\n"
            "ignore-file: .trivyignore\npolicy: [policy, builtin:kubernetes]\nimages: {ghcr.io/o/app: Dockerfile}\n"
            "sarif: {category-prefix: cg}\n",
        )
    )
    assert cfg.fail_on == "CRITICAL" and cfg.only_fixed is True
    assert cfg.budgets == ((Severity.HIGH, 5),)
    assert cfg.ignores[0].expires == "2027-01-31" and cfg.ignores[0].paths == ("app/*",)
    # paths in the file are relative to the file; builtin packs are names, not paths
    assert cfg.ignore_files == (str(tmp_path / ".trivyignore"),)
    assert cfg.policy == (str(tmp_path / "policy"), "builtin:kubernetes")
    assert cfg.category_prefix == "cg"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fail-on: HIGHEST\n", "key fail-on: 'HIGHEST' is not one of"),
        ("colour: red\n", "unknown key(s) 'colour'"),
        ("budgets: {HIGH: many}\n", "key budgets.HIGH"),
        ("budgets: {SEVERE: 1}\n", "key budgets: unknown key(s) 'SEVERE'"),
        ("only-fixed: 3\n", "key only-fixed: 3 is not of type 'boolean'"),
        ("ignore: [{id: CVE-1}]\n", "'reason' is a required property"),
        ("ignore: [{id: CVE-1, reason: r, expires: 2027-13-01}]\n", "is not a 'date'"),
        ("- just\n- a list\n", "expected a mapping"),
        ("a: !!python/object/apply:os.system ['id']\n", "unsafe or unknown YAML tag"),
        ("a: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "c.yml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    line = err.value.diagnostics()
    assert line.startswith(str(path)) and message in line and "\n" not in line


def test_yaml_bomb_is_refused(tmp_path: Path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(96 + i), chr(97 + i)
        levels.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(ConfigError, match="alias bomb"):
        load_config(write(tmp_path, "bomb.yml", "\n".join(levels) + "\n"))


def test_empty_config_means_defaults(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "c.yml", "")).fail_on is None


def vuln(id: str, path: str = "app/requirements.txt") -> Finding:
    return Finding(id=id, kind=Kind.VULNERABILITY, severity=Severity.HIGH, title="", target=path)


def test_trivyignore_with_expiry_and_comments(tmp_path: Path) -> None:
    entries = read_ignore_file(write(tmp_path, ".trivyignore", "# accepted\nCVE-1 exp:2027-01-01\n\nCVE-2 # inline\n"))
    assert [(e.id, e.expires) for e in entries] == [("CVE-1", dt.date(2027, 1, 1)), ("CVE-2", None)]
    assert entries[0].expired(dt.date(2027, 1, 1)) and not entries[0].expired(dt.date(2026, 12, 31))


def test_trivyignore_yaml_scopes_kind_and_paths(tmp_path: Path) -> None:
    text = (
        "vulnerabilities:\n  - id: CVE-1\n    paths: ['app/*']\n    statement: not reachable\n"
        "    expired_at: 2027-02-01\nmisconfigurations:\n  - id: DS-0002\n"
    )
    entries = read_ignore_file(write(tmp_path, ".trivyignore.yaml", text))
    cve, ds = entries
    assert cve.matches(vuln("CVE-1")) and not cve.matches(vuln("CVE-1", "lib/x"))
    assert cve.reason == "not reachable" and cve.expires == dt.date(2027, 2, 1)
    assert not ds.matches(vuln("DS-0002"))  # scoped to misconfigurations


def test_our_yaml_list(tmp_path: Path) -> None:
    entries = read_ignore_file(write(tmp_path, "ignores.yml", "- id: CVE-9\n  reason: vendor says no\n"))
    assert entries[0].reason == "vendor says no" and entries[0].matches(vuln("CVE-9"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- reason: no id\n", "needs a string 'id'"),
        ("- id: CVE-1\n  expires: someday\n", "is not a date"),
        ("- id: CVE-1\n  paths: app\n", "'paths' must be a list"),
        ("CVE-1 exp:2027-99-01\n", "is not a date"),
        ("{weird: mapping}\n", "expected a list"),
    ],
)
def test_bad_ignore_files(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_ignore_file(write(tmp_path, "ig", text))
