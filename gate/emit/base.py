"""The `Emitter` protocol: a pure `render(verdict, ctx) -> str`; only the CLI writes files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gate.exploits import KEV_DUE, KEV_RANSOMWARE
from gate.model import Decision, Verdict


@dataclass(frozen=True, slots=True)
class ImageAnchor:
    """Where an image's vulnerabilities are shown in the repository: the final FROM of its Dockerfile."""

    image: str
    """`gate.model.image_key` of the image the Dockerfile builds or the base it starts FROM."""
    path: str
    """Repository-relative Dockerfile path."""
    line: int
    """1-based line of the final stage's FROM."""


@dataclass(frozen=True, slots=True)
class EmitContext:
    """What outputs need beyond the verdict; built by the CLI from arguments, config and environment."""

    tool_version: str
    repo_root: str = "."
    """Absolute path that repository-relative URIs are computed against."""
    anchors: tuple[ImageAnchor, ...] = ()
    """Dockerfiles among the inputs (or named in the config), for placing image vulnerabilities."""
    category_prefix: str = "container-gate"
    """First segment of SARIF `automationDetails.id` categories."""
    now: str = ""
    """ISO 8601 UTC timestamp of this run (injected so outputs are reproducible in tests)."""
    omitted: tuple[str, ...] = ()
    """What the run's SARIF file had to leave out, in sentences (set by the outputs stage once the SARIF is
    built, so the summary can say it without building the SARIF itself)."""


class Emitter(Protocol):
    """Turns a verdict into one output document."""

    name: str

    def render(self, verdict: Verdict, ctx: EmitContext) -> str:
        """The whole document as text."""
        ...


def exploit_words(decision: Decision) -> str:
    """What makes a finding urgent beyond its severity, in words: `known exploited (CISA KEV, due 2024-07-03,
    ransomware)`, `EPSS 0.62 ≥ 0.5`; empty when neither applies. Every format says it the same way."""
    f = decision.finding
    parts: list[str] = []
    if f.kev:
        details = [d for d in (f.prop(KEV_DUE) and f"due {f.prop(KEV_DUE)}",) if d]
        if (f.prop(KEV_RANSOMWARE) or "").lower() == "known":
            details.append("used by ransomware")
        parts.append("known exploited (CISA KEV" + "".join(f", {d}" for d in details) + ")")
    epss = next((r for r in decision.reasons if r.startswith("epss")), None)
    if epss is not None and f.epss is not None:
        parts.append(f"EPSS {f.epss:.2f} {epss.removeprefix('epss').strip()}")
    return "; ".join(parts)
