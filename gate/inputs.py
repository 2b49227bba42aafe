"""Sorting the PATH arguments into reports, Dockerfiles and config files for Rego; the one filesystem walk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gate import walk
from gate.config import DEFAULT_FILE
from gate.errors import InputError
from gate.model import Skipped

REPORT_SUFFIXES = (".json", ".sarif")
CONFIG_SUFFIXES = (".yaml", ".yml", ".toml")
UNREAD_SUFFIXES = (".tf", ".tfvars", ".hcl", ".ini", ".xml", ".cue", ".edn", ".jsonnet", ".vcl", ".properties")
"""Formats Conftest reads (HCL, INI, XML, CUE, ...) and the Rego mode does not: said, never silently left out."""


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
    skipped: tuple[Skipped, ...] = ()
    """Files met while walking that are not read: special files, symlinks leaving the walked folder."""
    unread: tuple[Path, ...] = ()
    """Files met while walking in a format Conftest reads and the Rego mode does not (`UNREAD_SUFFIXES`)."""


def is_dockerfile(path: Path) -> bool:
    """See `gate.walk.is_dockerfile`: the one rule, shared with remediation."""
    return walk.is_dockerfile(path.name)


def collect(paths: list[str], *, exclude: set[Path]) -> Inputs:
    """Expand folders and classify files; a path that does not exist is an error, never a silent pass."""
    reports: list[Path] = []
    found: list[Path] = []
    dockerfiles: list[Path] = []
    configs: list[Path] = []
    explicit_configs: list[Path] = []
    skipped: list[Skipped] = []
    unread: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise InputError("no such file or directory", path=raw)
        if path.is_dir():
            walked = walk.walk(path)
            skipped += [Skipped(str(p), reason) for p, reason in walked.skipped]
            excluded_names = {p.name for p in exclude}
            for file in walked.files:
                # (Resolved only when the name matches: a walk over thousands of files would resolve each.)
                if file.name in excluded_names and file.resolve() in exclude:
                    continue
                if file.suffix.lower() in UNREAD_SUFFIXES:
                    unread.append(file)
                    continue
                _classify(file, explicit=False, reports=found, dockerfiles=dockerfiles, configs=configs)
        else:
            walk.regular_file(path)
            _classify(path, explicit=True, reports=reports, dockerfiles=dockerfiles, configs=explicit_configs)
    return Inputs(
        _unique(reports),
        _unique(found),
        _unique(dockerfiles),
        _unique(configs),
        _unique(explicit_configs),
        tuple(skipped),
        _unique(unread),
    )


def _unique(items: list[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(items))


def _classify(path: Path, *, explicit: bool, reports: list[Path], dockerfiles: list[Path], configs: list[Path]) -> None:
    if is_dockerfile(path):
        dockerfiles.append(path)
    elif path.suffix.lower() in REPORT_SUFFIXES:
        reports.append(path)
    elif path.suffix.lower() in CONFIG_SUFFIXES:
        if path.name != DEFAULT_FILE:
            configs.append(path)
    elif explicit:
        # An explicit file is judged by its content: a report without a .json name is still a report.
        reports.append(path)
