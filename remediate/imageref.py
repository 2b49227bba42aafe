"""Image reference parsing and normalisation, Docker's way (built on `docker-image-py`)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from remediate.model import ImageRef

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class InvalidReference(ValueError):
    """The text is not an image reference Docker would accept."""


@dataclass(frozen=True, slots=True)
class RefText:
    """Where the tag and the digest sit inside a reference's text (end-exclusive offsets)."""

    name_end: int
    tag: tuple[int, int] | None
    digest: tuple[int, int] | None
    """Span of the digest itself (after `@`)."""


def parse(text: str) -> ImageRef:
    """Normalise a reference as `docker pull` does: implicit `docker.io` and `library/`, `index.docker.io`
    folded into `docker.io`, `localhost` and anything with `.`/`:` or an upper-case letter as a host."""
    from docker_image import reference

    if not text or text != text.strip():
        raise InvalidReference(f"not an image reference: {text!r}")
    try:
        ref = reference.Reference.parse_normalized_named(text)
    except Exception as exc:  # the library raises its own family and a few bare Exceptions
        raise InvalidReference(f"{text!r}: {exc}") from None
    domain, path = ref.repository["domain"], ref.repository["path"]
    return ImageRef(registry=str(domain), repository=str(path), tag=ref["tag"], digest=ref["digest"])


def locate(text: str) -> RefText:
    """Find the tag and digest in a reference's text (the tag follows the last `:` after the last `/`)."""
    at = text.find("@")
    body_end = at if at >= 0 else len(text)
    digest = (at + 1, len(text)) if at >= 0 else None
    colon = text.rfind(":", 0, body_end)
    if colon > text.rfind("/", 0, body_end):
        return RefText(name_end=colon, tag=(colon + 1, body_end), digest=digest)
    return RefText(name_end=body_end, tag=None, digest=digest)


def format_ref(name: str, tag: str | None, digest: str | None) -> str:
    """Assemble `name[:tag][@digest]` from the name as written."""
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def api_host(registry: str) -> str:
    """The host that serves the distribution API for a registry name (Docker Hub's differs)."""
    return DOCKER_HUB_API if registry == DOCKER_HUB else registry


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (with or without a port): the only plain-http hosts."""
    name = host
    if name.startswith("["):
        name = name[1:].split("]", 1)[0]
    elif name.count(":") == 1:
        name = name.split(":", 1)[0]
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_digest(text: str) -> bool:
    """True for an OCI digest such as `sha256:<64 hex>`."""
    return bool(_DIGEST.match(text))
