"""Sorting the PATH arguments into reports, Dockerfiles and config files for Rego; the one filesystem walk."""

from __future__ import annotations

import argparse
import fnmatch
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from gate.errors import ConfigError, InputError

DOCKERFILE_PATTERNS = ("Dockerfile", "Containerfile", "*.Dockerfile", "*.dockerfile", "Dockerfile.*", "Containerfile.*")
REPORT_SUFFIXES = (".json", ".sarif")
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml")
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".mypy_cache", "vendor"}


@dataclass(frozen=True, slots=True)
class Inputs:
    """What the gate will read, each path once, in a stable order."""

    reports: tuple[Path, ...] = ()
    """Explicit JSON/SARIF paths: must be a report (or, with policies, a config file)."""
    found_json: tuple[Path, ...] = ()
    """JSON/SARIF files met while walking a folder: read when they are reports, else left alone."""
    dockerfiles: tuple[Path, ...] = ()
    configs: tuple[Path, ...] = ()
    """YAML/TOML files met while walking a folder, for Rego policies."""
    explicit_configs: tuple[Path, ...] = ()
    """YAML/TOML files named on the command line: without policies that is a mistake worth an error."""


def is_dockerfile(path: Path) -> bool:
    """Dockerfile, Containerfile, `*.Dockerfile` or `Dockerfile.*` (but not `Dockerfile.dockerignore`-like data)."""
    name = path.name
    if name.endswith((".dockerignore", ".json", ".md", ".yml", ".yaml")):
        return False
    return any(fnmatch.fnmatch(name, p) for p in DOCKERFILE_PATTERNS)


def collect(paths: list[str], *, exclude: set[Path]) -> Inputs:
    """Expand folders and classify files; a path that does not exist is an error, never a silent pass."""
    reports: list[Path] = []
    found: list[Path] = []
    dockerfiles: list[Path] = []
    configs: list[Path] = []
    explicit_configs: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError("no such file or directory", path=raw)
        if path.is_dir():
            for file in _walk(path):
                if file.resolve() in exclude:
                    continue
                _classify(file, explicit=False, reports=found, dockerfiles=dockerfiles, configs=configs)
        else:
            _classify(path, explicit=True, reports=reports, dockerfiles=dockerfiles, configs=explicit_configs)
    return Inputs(_unique(reports), _unique(found), _unique(dockerfiles), _unique(configs), _unique(explicit_configs))


def _unique(items: list[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(items))


def _classify(path: Path, *, explicit: bool, reports: list[Path], dockerfiles: list[Path], configs: list[Path]) -> None:
    if is_dockerfile(path):
        dockerfiles.append(path)
    elif path.suffix.lower() in REPORT_SUFFIXES:
        reports.append(path)
    elif path.suffix.lower() in CONFIG_SUFFIXES:
        if path.name != ".container-gate.yml":
            configs.append(path)
    elif explicit:
        # An explicit file is judged by its content: a report without a .json name is still a report.
        reports.append(path)


def _walk(root: Path) -> list[Path]:
    files: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        files.extend(Path(dirpath) / f for f in sorted(filenames))
    return files


OUTPUT_FLAGS = ("sarif", "gitlab_report", "codequality", "json", "summary", "junit")
"""Namespace attributes naming files the run writes (flags a build lacks are simply absent)."""


class ReadSettings(Protocol):
    """The merged settings naming files the run reads (flags and config file together)."""

    @property
    def ignore_files(self) -> tuple[str, ...]: ...
    @property
    def vex(self) -> tuple[str, ...]: ...
    @property
    def baseline(self) -> str | None: ...
    @property
    def policy(self) -> tuple[str, ...]: ...
    @property
    def data(self) -> tuple[str, ...]: ...


def refuse_overwrites(args: argparse.Namespace, settings: ReadSettings) -> None:
    """An output named like a file the run reads (or like another output) is an error before anything is read.

    Writing the GitLab report over GitLab's own `gl-container-scanning-report.json`, or the JSON result over
    the baseline, destroys the input and, for a baseline, quietly accepts every new finding on the next run.
    Files met while walking a folder are not inputs in this sense: the walk already leaves outputs out."""
    written: dict[Path, str] = {}
    for attr in OUTPUT_FLAGS:
        value = getattr(args, attr, None)
        if not value:
            continue
        flag = "--" + attr.replace("_", "-")
        key = Path(value).resolve()
        if key in written:
            raise ConfigError(
                f"is written by both {written[key]} and {flag}: give each output its own file", path=value
            )
        written[key] = flag
    if not written:
        return
    for flag, value in _reads(args, settings):
        output = written.get(Path(value).resolve())
        if output is not None and not Path(value).is_dir():
            raise ConfigError(
                f"is read as {flag} and would be overwritten by {output}: write {output} to another file",
                path=value,
            )


def _reads(args: argparse.Namespace, settings: ReadSettings) -> Iterable[tuple[str, str]]:
    for path in getattr(args, "paths", None) or ():
        yield "an input", path
    if getattr(args, "config", None):
        yield "--config", args.config
    yield from (("--ignore-file", p) for p in settings.ignore_files)
    yield from (("--vex", p) for p in settings.vex)
    if settings.baseline:
        yield "--baseline", settings.baseline
    yield from (("--policy", p) for p in settings.policy if not p.startswith("builtin:"))
    yield from (("--data", p) for p in settings.data)
