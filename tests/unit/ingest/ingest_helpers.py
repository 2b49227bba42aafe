"""Small assertions helpers shared by the reader tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from gate.ingest import detect, read_json
from gate.model import Finding, Report


def tally(report: Report) -> Counter[tuple[str, str]]:
    """Findings counted per (kind, severity): the shape most mapping bugs change."""
    return Counter((f.kind.value, f.severity.name) for f in report.findings)


def by_key(report: Report) -> dict[tuple[str, str | None], Finding]:
    """Findings keyed by (id, package); tests pick the ones they check."""
    return {(f.id, f.package): f for f in report.findings}


def detected(path: Path) -> str | None:
    """Name of the reader that claims a file."""
    found = detect(read_json(path), str(path))
    return found.name if found else None
