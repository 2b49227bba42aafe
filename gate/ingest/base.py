"""The `Parser` protocol every report reader implements, and helpers they share."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote

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
    """A JSON object, or an empty one when absent or of another type: only for data that cannot change
    a verdict (an entry's own fields go through the strict helpers below)."""
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


class Unreadable(Exception):
    """A field of one entry that the reader cannot trust. The reader turns it into an `InputError`
    naming the entry's JSON path: an entry that cannot be read must never be passed over quietly."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message

    def at(self, entry: str) -> str:
        """The whole JSON path (`Results[0].Vulnerabilities[3].PkgName`) and what is wrong there."""
        return f"{join(entry, self.field)}: {self.message}"


def unreadable(exc: Unreadable, entry: str, origin: str) -> InputError:
    """The one-line error for an unreadable entry at `entry` of the report `origin`."""
    return InputError(exc.at(entry), path=origin)


def broken(exc: Exception, entry: str, origin: str) -> InputError:
    """A reader's own check missed a shape (a `TypeError` deep inside an entry): still exit 2, never a skip."""
    return InputError(f"{entry}: cannot be read ({type(exc).__name__}: {clip(str(exc))})", path=origin)


def join(entry: str, field: str) -> str:
    """`entry.field`, or `entry[3]` when the field is an index; either part may be empty."""
    if not field:
        return entry
    if not entry or field.startswith("["):
        return f"{entry}{field}"
    return f"{entry}.{field}"


def kind_of(value: Any) -> str:
    """What a JSON value is, as an error message says it (`got a list`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def clip(value: str, limit: int = 80) -> str:
    """A report's own text shown in a message: one line, at most `limit` characters, quoted."""
    flat = " ".join(value.split())
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def opt_str(entry: dict[str, Any], key: str) -> str | None:
    """A string field stripped, None when absent, null or blank; any other type is `Unreadable`."""
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Unreadable(key, f"expected a string, got {kind_of(value)}")
    return value.strip() or None


def req_str(entry: dict[str, Any], key: str) -> str:
    """A string field that must be there and hold text."""
    value = opt_str(entry, key)
    if value is None:
        raise Unreadable(key, "missing" if entry.get(key) is None else "is empty")
    return value


def opt_obj(entry: dict[str, Any], key: str) -> dict[str, Any]:
    """An object field, `{}` when absent or null; any other type is `Unreadable`."""
    value = entry.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Unreadable(key, f"expected an object, got {kind_of(value)}")
    return value


def opt_list(entry: dict[str, Any], key: str) -> list[Any]:
    """A list field, `[]` when absent or null; any other type is `Unreadable`."""
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Unreadable(key, f"expected a list, got {kind_of(value)}")
    return value


def str_list(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    """A list of strings (`[]` when absent); an item of another type is `Unreadable` at its index."""
    items = opt_list(entry, key)
    # The C-level check first: reference lists run to 400k items at 20k findings.
    if all(map(_is_str, items)):
        return tuple(items)
    index, bad = next((i, v) for i, v in enumerate(items) if not isinstance(v, str))
    raise Unreadable(f"{key}[{index}]", f"expected a string, got {kind_of(bad)}")


def objects(entry: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of objects (`[]` when absent); an item of another type is `Unreadable` at its index."""
    items = opt_list(entry, key)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Unreadable(f"{key}[{index}]", f"expected an object, got {kind_of(item)}")
    return items


def opt_number(entry: dict[str, Any], key: str) -> float | None:
    """A finite number field, None when absent or null. JSON cannot hold infinity or NaN, and a value
    that became one (`1e999`) could rank a finding anywhere: it is `Unreadable`, never a default."""
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unreadable(key, f"expected a number, got {kind_of(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise Unreadable(key, "not a finite number")
    return number


def score(entry: dict[str, Any], key: str) -> float | None:
    """A CVSS base score (0 to 10); 0 means the tool has none, as readers always took it."""
    value = opt_number(entry, key)
    if value is not None and not 0 <= value <= 10:
        raise Unreadable(key, f"a CVSS score must be between 0 and 10, got {value:g}")
    return value or None


def opt_line(entry: dict[str, Any], key: str) -> int | None:
    """A 1-based line number, None when absent, null or 0 (tools write 0 when they have no line)."""
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unreadable(key, f"expected a line number, got {kind_of(value)}")
    if value < 0:
        raise Unreadable(key, f"a line number cannot be negative, got {value}")
    return value or None


def opt_bool(entry: dict[str, Any], key: str) -> bool | None:
    """A true/false field, None when absent or null."""
    value = entry.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise Unreadable(key, f"expected true or false, got {kind_of(value)}")


def one_of(value: str | None, key: str, allowed: Iterable[str]) -> str | None:
    """`value` when it is one of `allowed` (or None); a word the tool never writes is `Unreadable`."""
    if value is None or value in allowed:
        return value
    raise Unreadable(key, f"unknown value {clip(value)} (expected {', '.join(allowed)})")


_is_str = str.__instancecheck__


def wrong(key: str, value: Any, expected: str) -> Unreadable:
    """The error for a field of the wrong type (`expected a string, got a list`)."""
    return Unreadable(key, f"expected {expected}, got {kind_of(value)}")


_T = TypeVar("_T")


def within(where: str, read: Callable[[dict[str, Any], str], _T], holder: dict[str, Any], key: str) -> _T:
    """`read(holder, key)` for an object nested at `where` in the entry, so that an error names the
    field from the entry (`vulnerability.id`, not `id`)."""
    try:
        return read(holder, key)
    except Unreadable as exc:
        raise Unreadable(join(where, exc.field), exc.message) from None


def purl_name_version(purl: str) -> tuple[str | None, str | None]:
    """Package name and version from a purl, named as scanners name them (`@scope/pkg`, `group:artifact`)."""
    body = purl.split("?", 1)[0].split("#", 1)[0]
    if not body.startswith("pkg:") or "/" not in body:
        return None, None
    kind, *namespace, name_version = body[4:].split("/")
    name, _, version = name_version.partition("@")
    name = unquote(name)
    if namespace:
        space = unquote("/".join(namespace))
        name = f"{space}:{name}" if kind == "maven" else f"{space}/{name}"
    return name or None, unquote(version) or None
