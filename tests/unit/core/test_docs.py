"""The README documents every gate flag and every config key, and the user docs point only at what users have."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from gate.cli import build_parser
from gate.schemas import load

REPO = Path(__file__).resolve().parents[3]
README = (REPO / "README.md").read_text()
OWNER = "org"
# What users read or run: the docs, the action and component metadata, the image's labels, the package metadata.
USER_FILES = [
    REPO / "README.md",
    REPO / "SECURITY.md",
    REPO / "CHANGELOG.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "action.yml",
    REPO / "remediate" / "action.yml",
    *sorted((REPO / "templates").rglob("*.yml")),
    REPO / "Dockerfile",
    REPO / "pyproject.toml",
]
_OWNER_PATHS = [
    re.compile(r"(?:github\.com|gitlab\.com|ghcr\.io)/([A-Za-z0-9_.<>-]+)/container-gate\b"),
    re.compile(r"uses:\s*([A-Za-z0-9_.<>-]+)/container-gate\b"),
    re.compile(r"\$CI_SERVER_FQDN/([A-Za-z0-9_.<>-]+)/container-gate\b"),
]


def gate_flags() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    gate = sub.choices["gate"]
    return {opt for action in gate._actions for opt in action.option_strings if opt.startswith("--")} - {"--help"}


def test_every_gate_flag_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"^\| `(--[a-z-]+)", README, flags=re.M))
    assert gate_flags() - documented == set()


def test_every_config_key_is_in_the_readme_table() -> None:
    keys = set(load("config.schema.json")["properties"])
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", README, flags=re.M))
    assert keys - documented == set()
    assert documented & keys == keys


def test_the_repository_basics_exist() -> None:
    license_text = (REPO / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert 'license = "Apache-2.0"' in (REPO / "pyproject.toml").read_text()
    assert 'org.opencontainers.image.licenses="Apache-2.0"' in (REPO / "Dockerfile").read_text()
    security = (REPO / "SECURITY.md").read_text()
    assert "security/advisories/new" in security and "## Supported versions" in security
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert "keepachangelog.com" in changelog and "## [Unreleased]" in changelog


def _lines(pattern: re.Pattern[str], files: list[Path] = USER_FILES) -> list[str]:
    return [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]


def test_docs_point_at_nothing_users_lack() -> None:
    # DESIGN.md and ../shared live beside the development checkout, not in the repository users clone.
    # (pyproject's pytest marker text is for contributors setting up the test corpus, and stays.)
    docs = [path for path in USER_FILES if path.name != "pyproject.toml"]
    assert _lines(re.compile(r"DESIGN\.md|\.\./shared|/work/shared"), docs) == []


def test_no_pip_install_of_an_unpublished_package() -> None:
    # Until container-gate is on PyPI, `pip install container-gate` installs someone else's package or nothing.
    assert _lines(re.compile(r"pip[x]? install\s+(?:-\S+\s+)*container-gate\b")) == []


def test_one_owner_name_everywhere() -> None:
    owners = {
        f"{where}: {match.group(1)}"
        for pattern in _OWNER_PATHS
        for where in _lines(pattern)
        for match in pattern.finditer(where.split(": ", 1)[1])
        if match.group(1) != OWNER
    }
    assert owners == set()
