"""Reads input files and hands each to the reader whose `sniff` recognises its content."""

from __future__ import annotations

import importlib
import os
import re
from functools import cache
from pathlib import Path
from typing import Any, overload

from gate import speed
from gate.errors import InputError
from gate.ingest.base import Parser
from gate.model import Report

# Module names, not objects: a reader is imported only when a report needs sniffing, which keeps
# `container-gate --version` fast. Order matters where shapes overlap: SARIF and Trivy carry explicit
# version fields and are tried before the looser shapes.
PARSERS: dict[str, str] = {
    "sarif": "gate.ingest.sarif",
    "trivy": "gate.ingest.trivy",
    "grype": "gate.ingest.grype",
    "gitlab": "gate.ingest.gitlab",
    "cyclonedx": "gate.ingest.cyclonedx",
    "spdx": "gate.ingest.spdx",
    "in-toto": "gate.ingest.intoto",
    "conftest": "gate.ingest.conftest",
    "hadolint": "gate.ingest.hadolint",
}


@cache
def parser(name: str) -> Parser:
    """The registered reader called `name` (each module exposes `PARSER`). Cached: `detect` asks for every reader
    for every file, and `import_module` is a lookup with locks each time (a third of detecting 1,000 JSON files)."""
    module = importlib.import_module(PARSERS[name])
    found: Parser = module.PARSER
    return found


def read_json(path: Path) -> Any:
    """Parse a JSON file, turning every way it can be unreadable into one-line `InputError`s."""
    return _decode(_read_bytes(path), path)


def _read_bytes(path: Path) -> bytes | memoryview:
    """The file's bytes: a copy for small files, a read-only memory map for large ones (`gate.speed.read_report`).

    Copying a 60 MB report out of the page cache costs ~40 ms and as many page faults as it has
    pages; a map costs neither, and the decoders read any buffer. The price: a file truncated by
    another process while it is being decoded ends the run with SIGBUS (a crash, never a pass)."""
    try:
        with path.open("rb") as handle:
            data = speed.read_report(handle, os.fstat(handle.fileno()).st_size)
    except FileNotFoundError:
        raise InputError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a directory, expected a report file", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", path=str(path)) from None
    head = bytes(data[:4096])
    # A large file is blank only if its first 4 KiB are: the whole is compared only then.
    if not head.strip() and not bytes(data).strip():
        raise InputError("file is empty: a report must contain JSON (an empty file is not a pass)", path=str(path))
    if b"\x00" in head:
        raise InputError("binary data, not a JSON report", path=str(path))
    return data


def _decode(data: bytes | memoryview, path: Path) -> Any:
    import orjson

    if bytes(data[:3]) == b"\xef\xbb\xbf":
        data = data[3:]  # a UTF-8 byte order mark, as Windows tools write (Go's readers, Conftest's too, skip it)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "surrogate" in str(exc):
            return without_lone_surrogates(data, path, exc)
        raise InputError(f"not valid JSON ({_json_reason(exc, data)})", path=str(path)) from None


def without_lone_surrogates(data: bytes | memoryview, path: Path, exc: Exception) -> Any:
    """JSON whose strings hold an escaped lone surrogate (`"\\ud800"`), which orjson refuses: read as Go's decoder
    reads it, the lone half becoming U+FFFD."""
    import json

    try:
        value = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InputError(f"not valid JSON ({_json_reason(exc, data)})", path=str(path)) from None
    return replace_lone_surrogates(value)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(value: Any) -> Any:
    """`value` with every lone UTF-16 surrogate in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [replace_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {replace_lone_surrogates(k): replace_lone_surrogates(v) for k, v in value.items()}
    return value


_REASONS = {
    "number is infinity when parsed as double": "a number too large to hold, which would be infinity",
    "depth limit exceeded": "nested deeper than 1024 levels",
}
"""orjson's words for what JSON cannot hold, said plainly: a gate never reads past either."""


def _json_reason(exc: Exception, data: bytes | memoryview) -> str:
    text = str(exc).split(":", 1)[0]
    text = _REASONS.get(text, text)
    pos = getattr(exc, "pos", None)
    if isinstance(pos, int):
        line = bytes(data[:pos]).count(b"\n") + 1
        return f"{text} at line {line}"
    return text


def detect(doc: Any, origin: str) -> Parser | None:
    """The reader that recognises this document, or None."""
    for name in PARSERS:
        candidate = parser(name)
        if candidate.sniff(doc):
            return candidate
    return None


@overload
def load_report(path: Path, *, origin: str | None = None) -> Report: ...
@overload
def load_report(path: Path, *, origin: str | None = None, unknown_ok: bool) -> Report | None: ...


def load_report(path: Path, *, origin: str | None = None, unknown_ok: bool = False) -> Report | None:
    """Read one report file into a `Report`; anything we cannot recognise is an error, never a pass.

    `unknown_ok`: valid JSON that no reader recognises gives None instead (a config document for
    Rego, or a data file met while walking a folder); unreadable or invalid JSON is still an error."""
    where = origin or str(path)
    data = _read_bytes(path)
    # Trivy's typed fast path first (the large reports are Trivy's): it decodes only what the reader
    # uses. Whatever it declines is read the general way, so detection and errors stay as they were.
    from gate.ingest import trivy

    typed = trivy.decode_typed(data)
    if typed is not None:
        try:
            return trivy.parse_typed(typed, where)
        except (trivy.Declined, InputError):
            # Raw JSON msgspec cannot decode (too deep, out of range), or an entry that cannot be read: the
            # general path reads the file again and gives the error, so that both paths say the same.
            pass
        del typed
    doc = _decode(data, path)
    del data
    found = detect(doc, where)
    if found is None and unknown_ok:
        return None
    if found is None:
        raise InputError(
            "not a report we know (expected Trivy JSON v2, Grype JSON, Conftest JSON, SARIF 2.1.0, hadolint JSON,"
            " a GitLab container-scanning report, a CycloneDX 1.4-1.7 or SPDX 2.2/2.3 JSON SBOM, or an in-toto"
            " attestation of one)",
            path=where,
        )
    return found.parse(doc, where)
