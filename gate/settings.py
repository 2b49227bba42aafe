"""Settings: the CLI's flags merged over the config file over the defaults, once, into one frozen value."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gate.config import GateConfig, discover, load_config
from gate.errors import ConfigError
from gate.model import Severity
from gate.options import OUTPUTS, requested


def resolve(args: argparse.Namespace) -> Settings:
    """The settings of one run; an output named like one of its inputs is refused before anything is read."""
    settings = merge(args, read_config(args))
    refuse_overwrites(args, settings)
    return settings


@dataclass(frozen=True, slots=True)
class Settings:
    """Flags merged over the config file over the defaults (flags win): everything later stages read."""

    paths: tuple[str, ...]
    """The PATH arguments (default `.`)."""
    config: GateConfig
    outputs: tuple[tuple[str, Path], ...]
    """(emitter name, file) for every output asked for, in the order they are written and listed."""
    sarif: str | None
    upload_sarif: bool
    fail_on: Severity | None
    only_fixed: bool
    ignore_files: tuple[str, ...]
    vex: tuple[str, ...]
    baseline: str | None
    policy: tuple[str, ...]
    namespaces: tuple[str, ...]
    all_namespaces: bool
    data: tuple[str, ...]
    kev: tuple[str, ...] = ()
    epss: tuple[str, ...] = ()
    epss_threshold: float | None = None
    inventory: tuple[str, ...] = ()
    license_allowed: tuple[str, ...] = ()
    """`--license-allowed` then `licenses.allowed`: both lists joined (docs/licenses.md)."""
    license_forbidden: tuple[str, ...] = ()
    license_unknown: str = "warn"
    license_severity: Severity = Severity.HIGH


def _fail_on(text: str) -> Severity | None:
    return None if text.upper() == "NONE" else Severity[text.upper()]


def merge(args: argparse.Namespace, config: GateConfig) -> Settings:
    """Combine flags and file; lists from both are joined, scalars from flags win."""
    fail_on = args.fail_on or config.fail_on or "HIGH"
    return Settings(
        paths=tuple(args.paths or ["."]),
        config=config,
        outputs=requested(args),
        sarif=args.sarif,
        upload_sarif=bool(getattr(args, "upload_sarif", False)),
        fail_on=_fail_on(fail_on),
        only_fixed=bool(args.only_fixed or config.only_fixed),
        ignore_files=tuple(args.ignore_file or ()) + config.ignore_files,
        vex=tuple(args.vex or ()) + config.vex,
        baseline=args.baseline or config.baseline,
        policy=tuple(args.policy or ()) + config.policy,
        namespaces=tuple(args.namespace or ()) or config.namespace or ("main",),
        all_namespaces=bool(args.all_namespaces or config.all_namespaces),
        data=tuple(args.data or ()) + config.data,
        kev=tuple(getattr(args, "kev", None) or ()) + config.kev,
        epss=tuple(getattr(args, "epss", None) or ()) + config.epss,
        epss_threshold=_threshold(getattr(args, "epss_threshold", None), config.epss_threshold),
        inventory=tuple(getattr(args, "inventory", None) or ()) + config.inventory,
        license_allowed=tuple(getattr(args, "license_allowed", None) or ()) + config.licenses_allowed,
        license_forbidden=tuple(getattr(args, "license_forbidden", None) or ()) + config.licenses_forbidden,
        license_unknown=config.licenses_unknown or "warn",
        license_severity=Severity[config.licenses_severity or "HIGH"],
    )


def _threshold(flag: float | None, config: float | None) -> float | None:
    return flag if flag is not None else config


def read_config(args: argparse.Namespace) -> GateConfig:
    """The config named by `--config`, else the `.container-gate.yml` that governs the first PATH (see
    `gate.config.discover`), else defaults."""
    if args.config:
        return load_config(Path(args.config))
    found = discover(Path((args.paths or ["."])[0]), cwd=Path.cwd())
    return load_config(found) if found is not None else GateConfig()


def refuse_overwrites(args: argparse.Namespace, settings: Settings) -> None:
    """An output named like a file the run reads (or like another output) is an error before anything is read.

    Writing the GitLab report over GitLab's own `gl-container-scanning-report.json`, or the JSON result over
    the baseline, destroys the input and, for a baseline, quietly accepts every new finding on the next run.
    The same file under another name (a hard link, a symlink) counts too. Files met while walking a folder are
    not inputs in this sense: the walk already leaves outputs out."""
    written: dict[Path, str] = {}
    identities: dict[tuple[int, int], str] = {}
    for output in OUTPUTS:
        value = getattr(args, output.dest, None)
        if not value:
            continue
        key = Path(value).resolve()
        same = _identity(value)
        if key in written or (same is not None and same in identities):
            first = written.get(key) or identities[same]  # type: ignore[index]
            raise ConfigError(
                f"is written by both {first} and {output.flag}: give each output its own file", path=value
            )
        written[key] = output.flag
        if same is not None:
            identities[same] = output.flag
    if not written:
        return
    for flag, value in _reads(args, settings):
        if Path(value).is_dir():
            continue
        writer = written.get(Path(value).resolve())
        same = _identity(value)
        if writer is None and same is not None:
            writer = identities.get(same)
        if writer is not None:
            raise ConfigError(
                f"is read as {flag} and would be overwritten by {writer}: write {writer} to another file",
                path=value,
            )


def _identity(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _reads(args: argparse.Namespace, settings: Settings) -> Iterable[tuple[str, str]]:
    for path in settings.paths:
        yield "an input", path
    if getattr(args, "config", None):
        yield "--config", args.config
    yield from (("--ignore-file", p) for p in settings.ignore_files)
    yield from (("--vex", p) for p in settings.vex)
    if settings.baseline:
        yield "--baseline", settings.baseline
    yield from (("--policy", p) for p in settings.policy if not p.startswith("builtin:"))
    yield from (("--data", p) for p in settings.data)
    yield from (("--kev", p) for p in settings.kev)
    yield from (("--epss", p) for p in settings.epss)
