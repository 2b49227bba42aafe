"""The `Parser` protocol every report reader implements, and helpers they share."""

from __future__ import annotations

import os
from typing import Any, Protocol

from gate.errors import InputError
from gate.model import Report, relative_path


class Parser(Protocol):
    """Reads one tool's report. Detection is by content (`sniff`), never by file name."""

    name: str

    def sniff(self, doc: Any) -> bool:
        """True when the parsed JSON document is this tool's report."""
        ...

    def parse(self, doc: Any, origin: str) -> Report:
        """Translate the document into findings; raise `InputError` for shapes it cannot trust."""
        ...


def expect(condition: bool, origin: str, message: str) -> None:
    """Refuse a report whose layout breaks an assumption, naming the file."""
    if not condition:
        raise InputError(message, path=origin)


def obj(value: Any) -> dict[str, Any]:
    """A JSON object field, or an empty one when absent or of another type (the entry is then judged
    by the fields it lacks, which the readers report as `Skipped`)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A string field stripped, or None when absent, empty or not a string."""
    return value.strip() or None if isinstance(value, str) else None


def line(value: Any) -> int | None:
    """A 1-based line number, or None: tools write 0 (or nothing) when they have no line."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def as_str(value: Any) -> str | None:
    """A string field, or None when absent, null or empty."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def file_path(path: str, origin: str) -> str:
    """A repository file a report names, as the gate names it (`relative_path` to the working directory).

    Reports name files from where the tool ran. When the file is not there from here but is beside the
    report (`cd app && hadolint -f json Dockerfile > hadolint.json`, then `container-gate gate app`), the
    tool ran beside it, and so the report's findings meet our own on that file."""
    cwd = os.getcwd()
    found = relative_path(path, cwd)
    folder = os.path.dirname(origin)
    if not folder or os.path.isabs(found) or os.path.exists(found):
        return found
    beside = os.path.join(folder, found)
    return relative_path(os.path.abspath(beside), cwd) if os.path.isfile(beside) else found
