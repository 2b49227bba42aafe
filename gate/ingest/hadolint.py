"""Reads hadolint JSON output (`hadolint -f json`) into misconfiguration findings."""

from __future__ import annotations

from typing import Any

from gate.ingest.base import file_path
from gate.model import Finding, Kind, Location, Report, Severity, Skipped, Source

# hadolint's levels (src/Hadolint/Rule.hs): info and style are below warning, so they land on LOW.
_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "info": Severity.LOW, "style": Severity.LOW}
_KEYS = ("code", "level", "message")


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
        skipped: list[Skipped] = []
        paths: dict[str, str] = {}
        for index, item in enumerate(doc):
            reason = _problem(item)
            if reason:
                skipped.append(Skipped(origin, f"[{index}]: {reason}"))
                continue
            level = item["level"]
            if level in ("ignore", "none"):
                continue
            # As the gate names files (`./Dockerfile` is `Dockerfile`), so our rules and Trivy meet it there.
            raw = item["file"] if isinstance(item.get("file"), str) else "Dockerfile"
            path = paths.get(raw) or paths.setdefault(raw, file_path(raw, origin))
            line = item.get("line")
            start = line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None
            findings.append(
                Finding.create(
                    id=item["code"],
                    kind=Kind.MISCONFIGURATION,
                    severity=_LEVELS.get(level, Severity.UNKNOWN),
                    title=item["message"],
                    target=path,
                    location=Location(path=path, start_line=start, end_line=start),
                    sources=(Source("hadolint", origin, None, item["code"], level),),
                    help_uri=_wiki(item["code"]),
                )
            )
        return Report(tool="hadolint", path=origin, findings=tuple(findings), skipped=tuple(skipped))


def _problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "not an object"
    for key in _KEYS:
        if not isinstance(item.get(key), str) or not item[key].strip():
            return f"missing or non-text `{key}`"
    return None


def _wiki(code: str) -> str | None:
    # DL rules are documented on hadolint's wiki; SC rules are ShellCheck's.
    if code.startswith("DL"):
        return f"https://github.com/hadolint/hadolint/wiki/{code}"
    if code.startswith("SC"):
        return f"https://www.shellcheck.net/wiki/{code}"
    return None


PARSER = HadolintParser()
