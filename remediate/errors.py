"""Remediation's errors: `RemediateError` and the registry failure it can recover from image by image."""

from __future__ import annotations

from gate.errors import GateError


class RemediateError(GateError):
    """Base of every expected remediation failure; the CLI prints `diagnostics()` and exits 2."""


class RegistryError(RemediateError):
    """A registry request failed; carries what was asked, of whom, and the answer (never a credential)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        registry: str,
        image: str | None = None,
        status: int | None = None,
    ) -> None:
        where = f"{image} on {registry}" if image else registry
        code = f" (HTTP {status})" if status is not None else ""
        super().__init__(f"{operation} {where}: {message}{code}")
        self.operation = operation
        self.registry = registry
        self.image = image
        self.status = status
        self.reason = f"{message}{code}"
