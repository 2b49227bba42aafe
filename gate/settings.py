"""Settings: the CLI's flags merged over the config file over the defaults, once, into one frozen value."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from gate.inputs import refuse_overwrites
from gate.model import Severity
from gate.options import requested
from gate.policy.config import GateConfig, discover, load_config


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
    )


def read_config(args: argparse.Namespace) -> GateConfig:
    """The config named by `--config`, else the `.container-gate.yml` that governs the first PATH (see
    `gate.policy.config.discover`), else defaults."""
    if args.config:
        return load_config(Path(args.config))
    found = discover(Path((args.paths or ["."])[0]), cwd=Path.cwd())
    return load_config(found) if found is not None else GateConfig()
