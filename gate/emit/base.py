"""The `Emitter` protocol: a pure `render(verdict, ctx) -> str`; only the CLI writes files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from gate.model import Verdict


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


class Emitter(Protocol):
    """Turns a verdict into one output document."""

    name: str

    def render(self, verdict: Verdict, ctx: EmitContext) -> str:
        """The whole document as text."""
        ...
