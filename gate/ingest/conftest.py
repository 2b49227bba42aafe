"""Reads Conftest JSON output (`conftest test -o json`) into policy findings."""

from __future__ import annotations

from typing import Any

from gate.ingest.base import obj as _obj
from gate.ingest.base import text as _text
from gate.model import Finding, Kind, Location, Report, Severity, Skipped, Source, Suppression

_RESULT_KEYS = ("successes", "failures", "warnings", "exceptions", "skipped")
# Conftest's own meaning of each list: a failure blocks like `deny`, a warning like `warn`.
_LISTS = (("failures", Severity.HIGH, "deny"), ("warnings", Severity.MEDIUM, "warn"), ("exceptions", None, "exception"))
_EXCEPTED = Suppression(by="tool", reason="excepted by a Conftest `exception` rule")


class _Bad(Exception):
    """A result this reader cannot use; it becomes a `Skipped`."""


class ConftestParser:
    """Conftest's JSON: a list of per-file check results (`filename`, optional `namespace`, counters)."""

    name = "conftest"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        if not isinstance(doc, list) or not doc or not isinstance(doc[0], dict):
            return False
        first = doc[0]
        return "filename" in first and any(k in first for k in _RESULT_KEYS)

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        findings: list[Finding] = []
        skipped: list[Skipped] = []
        for index, check in enumerate(doc):
            if not isinstance(check, dict) or not isinstance(check.get("filename"), str):
                skipped.append(Skipped(origin, f"[{index}]: not a Conftest check result (no `filename`)"))
                continue
            for key, severity, rule in _LISTS:
                results = check.get(key)
                if results is None:
                    continue
                if not isinstance(results, list):
                    skipped.append(Skipped(origin, f"{check['filename']}: `{key}` is not a list"))
                    continue
                for position, result in enumerate(results):
                    try:
                        findings.append(_finding(check, result, severity, rule, origin))
                    except _Bad as exc:
                        skipped.append(Skipped(origin, f"{check['filename']}: {key}[{position}]: {exc}"))
        return Report(tool="conftest", path=origin, findings=tuple(findings), skipped=tuple(skipped))


def _finding(check: dict[str, Any], result: Any, severity: Severity | None, rule: str, origin: str) -> Finding:
    if not isinstance(result, dict):
        raise _Bad("not an object")
    message = result.get("msg")
    if not isinstance(message, str) or not message.strip():
        raise _Bad("missing `msg`")
    metadata = _obj(result.get("metadata"))
    filename: str = check["filename"]
    namespace = _text(check.get("namespace"))
    rule_id = _rule_id(metadata, namespace, rule)
    word = _text(metadata.get("severity"))
    chosen = Severity.parse(word) if word and Severity.parse(word) is not Severity.UNKNOWN else severity
    return Finding.create(
        id=rule_id,
        kind=Kind.POLICY,
        severity=chosen if chosen is not None else Severity.HIGH,
        title=message.strip(),
        target=filename,
        location=_location(result.get("loc"), filename),
        sources=(Source("conftest", origin, None, rule_id, word),),
        description=_text(metadata.get("details")) or "",
        tool_suppression=_EXCEPTED if severity is None else None,
        properties=(("namespace", namespace),) if namespace else (),
    )


def _rule_id(metadata: dict[str, Any], namespace: str | None, rule: str) -> str:
    # Conftest results carry no rule name; policies put one in metadata by convention, and Conftest
    # itself records the query (`data.main.deny`), which names namespace and rule.
    for key in ("id", "rule", "rule_id"):
        given = _text(metadata.get(key))
        if given:
            return given
    query = _text(metadata.get("query"))
    if query and query.startswith("data.") and "." in query[5:]:
        package, _, name = query[5:].rpartition(".")
        return f"{package}/{name}"
    return f"{namespace}/{rule}" if namespace else rule


def _location(loc: Any, filename: str) -> Location:
    if isinstance(loc, dict):
        line = loc.get("line")
        start = line if isinstance(line, int) and not isinstance(line, bool) and line > 0 else None
        return Location(path=_text(loc.get("file")) or filename, start_line=start, end_line=start)
    return Location(path=filename)


PARSER = ConftestParser()
