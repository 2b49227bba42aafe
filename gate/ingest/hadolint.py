"""Reads hadolint JSON output (`hadolint -f json`) into misconfiguration findings."""

from __future__ import annotations

from typing import Any

from gate.ingest.base import Unreadable, file_path, one_of, opt_line, opt_str, req_str, unreadable, wrong
from gate.model import Finding, Kind, Location, Report, Severity, Source

# hadolint's levels (src/Hadolint/Rule.hs): info and style are below warning, so they land on LOW.
_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "info": Severity.LOW, "style": Severity.LOW}
_KEYS = ("code", "level", "message")
_ALL_LEVELS = (*_LEVELS, "ignore", "none")
"""Every level hadolint writes; `ignore` and `none` are rules the user switched off (no finding)."""


class HadolintParser:
    """hadolint's JSON: a list of `{file, line, column, level, code, message}`; `[]` is a clean run."""

    name = "hadolint"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        if not isinstance(doc, list):
            return False
        if not doc:
            # hadolint prints `[]` for a clean Dockerfile; no other reader claims an empty list.
            return True
        first = doc[0]
        return isinstance(first, dict) and "file" in first and all(k in first for k in _KEYS)

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        findings: list[Finding] = []
        paths: dict[str, str] = {}
        for index, item in enumerate(doc):
            try:
                finding = _finding(item, paths, origin)
            except Unreadable as exc:
                raise unreadable(exc, f"[{index}]", origin) from None
            if finding is not None:
                findings.append(finding)
        return Report(tool="hadolint", path=origin, findings=tuple(findings))


def _finding(item: Any, paths: dict[str, str], origin: str) -> Finding | None:
    if not isinstance(item, dict):
        raise wrong("", item, "an object")
    code, message = req_str(item, "code"), req_str(item, "message")
    level = one_of(req_str(item, "level"), "level", _ALL_LEVELS)
    start = opt_line(item, "line")
    opt_line(item, "column")
    # As the gate names files (`./Dockerfile` is `Dockerfile`), so our rules and Trivy meet it there.
    raw = opt_str(item, "file") or "Dockerfile"
    if level in ("ignore", "none"):
        return None
    path = paths.get(raw) or paths.setdefault(raw, file_path(raw, origin))
    return Finding.create(
        id=code,
        kind=Kind.MISCONFIGURATION,
        severity=_LEVELS[level or ""],
        title=message,
        target=path,
        location=Location(path=path, start_line=start, end_line=start),
        sources=(Source("hadolint", origin, None, code, level),),
        help_uri=_wiki(code),
    )


def _wiki(code: str) -> str | None:
    # DL rules are documented on hadolint's wiki; SC rules are ShellCheck's.
    if code.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{code}"
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return None


PARSER = HadolintParser()
