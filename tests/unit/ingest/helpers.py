"""Small views of a `Report` the reader tests assert on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from gate.model import Finding, Report

Load = Callable[[str], Report]


def tally(report: Report) -> Counter[tuple[str, str]]:
    """Findings counted per (kind, severity): the shape most mapping bugs change."""
    return Counter((f.kind.value, f.severity.name) for f in report.findings)


def by_key(report: Report) -> dict[tuple[str, str | None], Finding]:
    """Findings keyed by (id, package)."""
    return {(f.id, f.package): f for f in report.findings}
