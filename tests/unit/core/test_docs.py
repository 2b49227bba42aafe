"""The README documents every gate flag and every config key: a new option without docs fails here."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from gate.cli import build_parser
from gate.schemas import load

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()


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
