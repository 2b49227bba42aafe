"""Remediation's frozen values: image references, where they are used, and the plan of bumps."""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A normalised image reference, as Docker understands it (`alpine` is `docker.io/library/alpine`)."""

    registry: str
    """Canonical registry host, with its port: `docker.io`, `ghcr.io`, `localhost:5000`."""
    repository: str
    """Repository path on that registry: `library/alpine`, `org/app`."""
    tag: str | None = None
    digest: str | None = None
    """`sha256:<hex>` when the reference is pinned."""

    @property
    def name(self) -> str:
        """`registry/repository`, the identity tags and digests belong to."""
        return f"{self.registry}/{self.repository}"

    @property
    def familiar(self) -> str:
        """The short name people write: `alpine`, `bitnami/redis`, `ghcr.io/org/app`."""
        if self.registry == "docker.io":
            return self.repository.removeprefix("library/")
        return self.name

    def with_version(self, tag: str | None, digest: str | None) -> ImageRef:
        """The same image at another tag and digest."""
        return replace(self, tag=tag, digest=digest)

    def __str__(self) -> str:
        text = self.familiar
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of the text an image reference is built from, and where it lives in the file."""

    text: str
    """The piece's value as it contributes to the resolved reference."""
    start: int | None
    """Offset of the value in the file text; None when it cannot be edited in place (quoted, nested)."""
    source: str
    """`from` for text on the FROM line, `arg NAME` for an ARG default feeding it."""
    line: int


@dataclass(frozen=True, slots=True)
class BaseImageUse:
    """One FROM line that pulls an external image, with what it resolves to and how to edit it."""

    file: str
    """Path as shown to the user (relative to where the run started)."""
    line: int
    """1-based line of the FROM instruction."""
    stage: int
    stage_name: str | None
    written: str
    """The image token exactly as written on the FROM line."""
    resolved: str
    """The token after substituting global ARG defaults."""
    ref: ImageRef
    segments: tuple[Segment, ...]
    """How `resolved` is assembled from the file, piece by piece (see `remediate.rewrite`)."""
    token_end: int = 0
    """Offset just past the image token on the FROM line (where an added digest goes)."""
    platform: str | None = None
    final: bool = False
    """True when this FROM's image ends up in the final stage (directly or through `FROM <stage>`)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tag the registry offers that may replace the current one."""

    tag: str
    level: str
    """How far it jumps: `patch`, `minor` or `major`."""


@dataclass(frozen=True, slots=True)
class Bump:
    """A decided update of one base image use."""

    use: BaseImageUse
    new: ImageRef
    """The reference to write (tag and/or digest)."""
    why: str
    """Short reason shown in the table: `minor update`, `digest refresh`, `pin digest`..."""
    fixes: tuple[str, ...] = ()
    """Ids of fixable OS-package findings the new base is expected to bring fixes for."""

    @property
    def old(self) -> ImageRef:
        """The reference as it is now."""
        return self.use.ref


@dataclass(frozen=True, slots=True)
class SkippedImage:
    """A base image use the plan leaves alone, and why (partial failure is data)."""

    file: str
    line: int
    image: str
    reason: str
    registry_error: bool = False
    """True when the registry could not answer for this image (as opposed to a decision to leave it)."""


@dataclass(frozen=True, slots=True)
class FileEdit:
    """The new text of one file, with the bumps that produced it."""

    path: str
    """Filesystem path to write."""
    display: str
    before: str
    after: str
    bumps: tuple[Bump, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a run decided: bumps, skips, and the files as they would be after the edits."""

    bumps: tuple[Bump, ...] = ()
    skipped: tuple[SkippedImage, ...] = ()
    edits: tuple[FileEdit, ...] = ()
    notes: tuple[str, ...] = field(default=())
    """Run-level remarks (a findings report that matched no Dockerfile, a credential helper not used)."""
    checked: int = 0
    """Base image uses that were looked up in a registry (the denominator for "every lookup failed")."""

    @property
    def registry_down(self) -> bool:
        """True when images were to be checked and not one registry lookup succeeded."""
        failed = sum(1 for s in self.skipped if s.registry_error)
        return self.checked > 0 and failed == self.checked
