"""The error family: every failure the user can cause is a `GateError` with a one-line diagnosis."""

from __future__ import annotations

PASS = 0
BLOCKED = 1
ERROR = 2


class GateError(Exception):
    """Base of every expected failure; the CLI prints `diagnostics()` and exits 2."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def diagnostics(self) -> str:
        """One line: the file (when there is one) and what is wrong with it."""
        from gate.console import clean

        # Messages carry text from files and servers: one line, no controls, and clipped (a server's HTML error
        # page or a 1 MB title must not flood the log).
        text = clean(" ".join(self.message.split()))
        text = text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
        return f"{clean(self.path)}: {text}" if self.path else text


MAX_MESSAGE = 1000
"""Characters of an error message kept in the log."""


class InputError(GateError):
    """An input file is missing, unreadable, or not a shape we understand."""


class OwnOutputError(InputError):
    """The input is container-gate's own output (its SARIF): reading it back would count findings twice."""


class ConfigError(GateError):
    """The configuration file or a command-line value is invalid."""


class PolicyError(GateError):
    """A Rego policy does not compile or fails at evaluation time."""


class OutputError(GateError):
    """An output cannot be written or uploaded."""
