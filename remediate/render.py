"""Plan outputs: the readable table, the unified diff, and the `--json` document (pure strings)."""

from __future__ import annotations

import difflib
import json
from typing import Any

from remediate.model import Plan
from remediate.plan import new_reference


def table(plan: Plan) -> str:
    """One row per update (file:line, stage, from → to, why, fixes), then the skipped images."""
    lines: list[str] = []
    if plan.bumps:
        rows = [("FILE:LINE", "STAGE", "FROM", "TO", "WHY", "FIXES")]
        for b in plan.bumps:
            stage = b.use.stage_name or str(b.use.stage)
            fixes = ", ".join(b.fixes[:5]) + (f" +{len(b.fixes) - 5}" if len(b.fixes) > 5 else "")
            rows.append((f"{b.use.file}:{b.use.line}", stage, b.use.resolved, new_reference(b), b.why, fixes or "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines.extend("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5] for r in rows)
    else:
        lines.append("No base image updates.")
    if plan.skipped:
        lines.append("")
        lines.append(f"Skipped ({len(plan.skipped)}):")
        lines.extend(f"  {s.file}:{s.line}  {s.image or '-'}  {s.reason}" for s in plan.skipped)
    lines.extend(f"Note: {n}" for n in plan.notes)
    return "\n".join(lines) + "\n"


def diff(plan: Plan) -> str:
    """A unified diff of every edited file (line endings kept as they are in the files)."""
    out: list[str] = []
    for edit in plan.edits:
        out.extend(
            difflib.unified_diff(
                edit.before.splitlines(keepends=True),
                edit.after.splitlines(keepends=True),
                fromfile=f"a/{edit.display}",
                tofile=f"b/{edit.display}",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def as_json(plan: Plan) -> dict[str, Any]:
    """The `--json` document: DESIGN.md's `updates` and `skipped` keys, with a few extra fields."""
    return {
        "updates": [
            {
                "file": b.use.file,
                "line": b.use.line,
                "from": b.use.resolved,
                "to": new_reference(b),
                "fixes": list(b.fixes),
                "stage": b.use.stage_name or b.use.stage,
                "image": b.use.ref.name,
                "why": b.why,
            }
            for b in plan.bumps
        ],
        "skipped": [{"file": s.file, "line": s.line, "image": s.image, "reason": s.reason} for s in plan.skipped],
        "notes": list(plan.notes),
    }


def json_text(plan: Plan) -> str:
    """`as_json` serialised, stable key order, trailing newline."""
    return json.dumps(as_json(plan), indent=2) + "\n"
