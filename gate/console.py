"""Every line the gate prints to the log goes through one writer.

In GitHub Actions the runner reads the log for workflow commands: a line starting with `::` (or the legacy `##[`)
is obeyed, so a report title `x\\n::stop-commands::t` printed raw would switch our own commands off, masks included.
Three rules make that impossible:

- masks (`::add-mask::`) are written before anything else, and nothing else may be written before them;
- text that is not ours goes through `clean`: no line breaks, no C0/C1 controls (ANSI escapes start with ESC) and
  no bidirectional overrides, so it can never start a line, recolour the log or reorder what a reader sees;
- a line we print that still starts like a command (an untrusted value at its very start) is indented by one space;
  only `command` writes a line that starts with `::`, and it escapes the message and properties as the runner
  expects (`%`, CR, LF; in properties also `:` and `,`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TextIO

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")
_COMMAND_START = ("::", "##[")
_NAME = re.compile(r"[a-z][a-z-]*")


def clean(text: str) -> str:
    """Untrusted text for one log line: line breaks become ` ⏎ `, control and bidi characters are dropped."""
    if _BREAKS.search(text):
        text = _BREAKS.sub(" ⏎ ", text)
    return _CONTROL.sub("", text)


def escape_data(text: str) -> str:
    """A workflow command's message, as the runner's `escapeData` (%, CR, LF), after `clean`'s control drop."""
    return _CONTROL.sub("", text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """A workflow command property value (`escapeProperty`: also `:` and `,`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Iterable[tuple[str, str]] = ()) -> str:
    """One workflow command line, ours by construction: `::name k=v,...::message`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a workflow command name: {name!r}")
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


class Console:
    """The log writer: masks first, then our lines, never a line that untrusted text can start."""

    def __init__(self, stream: TextIO, *, actions: bool) -> None:
        self.stream = stream
        self.actions = actions
        self._started = False

    def mask(self, secrets: Iterable[str]) -> None:
        """`::add-mask::` for each secret and each of its lines; only before anything else was printed."""
        if self._started:
            raise RuntimeError("masks must be written before any other line")
        if not self.actions:
            return
        lines = {part.strip() for value in secrets for part in (value, *value.splitlines()) if part.strip()}
        self.stream.write("".join(command("add-mask", line) + "\n" for line in sorted(lines)))

    def line(self, text: str = "") -> None:
        """Print our own line(s); any untrusted part must have gone through `clean` already."""
        self._started = True
        parts = text.split("\n")
        if self.actions:
            parts = [" " + part if part.startswith(_COMMAND_START) else part for part in parts]
        self.stream.write("\n".join(parts) + "\n")

    def command(self, name: str, message: str, properties: Iterable[tuple[str, str]] = ()) -> None:
        """Print one workflow command (only in GitHub Actions; elsewhere the message as a plain line)."""
        self._started = True
        if self.actions:
            self.stream.write(command(name, message, properties) + "\n")
        else:
            self.stream.write(clean(message) + "\n")

    def raw(self, text: str) -> None:
        """Text already made of whole command lines by this module (annotations): written as it is."""
        self._started = True
        self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()
