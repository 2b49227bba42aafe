"""Small pieces of the forge CLI: one-line messages, the repository root, the limits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate.errors import ConfigError
from remediate.forge.cli import _count, _list, one_line, repo_root


def test_messages_from_git_or_a_forge_stay_on_one_line() -> None:
    assert one_line("remote: evil\n::error::injected\r\x1b[31m") == "remote: evil ::error::injected [31m"


def test_repository_root_is_the_git_work_tree_of_the_first_path(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "services").mkdir()
    assert repo_root([str(tmp_path / "services")]).resolve() == tmp_path.resolve()


def test_repository_root_of_a_plain_folder_is_the_folder(tmp_path: Path) -> None:
    assert repo_root([str(tmp_path)]) == tmp_path


def test_lists_split_on_commas_and_fall_back_to_the_config() -> None:
    assert _list(["a,b", " c "], ["x"]) == ("a", "b", "c")
    assert _list([], ["x"]) == ("x",)


def test_negative_limits_are_refused() -> None:
    assert _count(None, 2, "--max-new") == 2
    with pytest.raises(ConfigError, match="--max-new -1"):
        _count(-1, 2, "--max-new")


def test_forge_settings_from_the_config_section() -> None:
    from remediate.config import from_mapping

    conf = from_mapping(
        {"labels": ["deps"], "max-new": 0, "branch-prefix": "deps/", "author": "Deps Bot <deps@example.com>"},
        origin=".container-gate.yml",
    )
    assert (conf.labels, conf.max_new, conf.max_open, conf.branch_prefix) == (("deps",), 0, 10, "deps/")
    assert conf.author == ("Deps Bot", "deps@example.com")
    with pytest.raises(ConfigError, match="remediate.author"):
        from_mapping({"author": "no email"}, origin=".container-gate.yml")
    with pytest.raises(ConfigError, match="remediate.max-open"):
        from_mapping({"max-open": -1}, origin=".container-gate.yml")
