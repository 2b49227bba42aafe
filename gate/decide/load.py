"""The decision rules of one run: the threshold and options from the settings, with the ignore files, VEX
documents and baseline they name loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gate.config import DEFAULT_FILE
from gate.decide.verdict import Policy
from gate.settings import Settings


def load(settings: Settings) -> Policy:
    """Load ignore files, VEX documents and the baseline named by the settings."""
    config = settings.config
    from gate.decide import ignores

    entries = ignores.from_config(config.ignores, config.path or DEFAULT_FILE)
    for name in settings.ignore_files:
        entries += ignores.read_ignore_file(Path(name))
    suppressors: tuple[Any, ...] = ()
    if settings.vex:
        from gate.decide.vex import load_vex_rules

        suppressors = load_vex_rules([Path(v) for v in settings.vex])
    baseline = frozenset[str]()
    if settings.baseline:
        from gate.decide.baseline import read_baseline

        baseline = read_baseline(Path(settings.baseline))
    return Policy(
        fail_on=settings.fail_on,
        only_fixed=settings.only_fixed,
        ignores=entries,
        suppressors=suppressors,
        baseline=baseline,
        budgets=dict(config.budgets),
        epss_threshold=settings.epss_threshold,
    )
