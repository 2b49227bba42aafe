"""The baseline: fingerprints of an earlier `--json` result, whose findings may not block again."""

from __future__ import annotations

from pathlib import Path

from gate.errors import InputError


def read_baseline(path: Path) -> frozenset[str]:
    """Fingerprints of every finding in an earlier result; a file that is not one is an error."""
    from gate.ingest import read_json

    doc = read_json(path)
    findings = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(findings, list) or "verdict" not in doc:
        raise InputError("not a container-gate --json result (expected 'verdict' and 'findings')", path=str(path))
    prints = set()
    for i, item in enumerate(findings):
        fp = item.get("fingerprint") if isinstance(item, dict) else None
        if not isinstance(fp, str) or len(fp) != 64:
            raise InputError(f"finding {i} has no valid 'fingerprint'", path=str(path))
        prints.add(fp)
    return frozenset(prints)
