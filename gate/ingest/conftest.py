"""Reads Conftest JSON output (`conftest test -o json`) into policy findings."""

from __future__ import annotations

from typing import Any

from gate.ingest.base import Unreadable, broken, opt_line, opt_obj, opt_str, req_str, unreadable, within, wrong
from gate.ingest.base import text as _text
from gate.model import Finding, Kind, Location, Report, Severity, Source, Suppression

_RESULT_KEYS = ("successes", "failures", "warnings", "exceptions", "skipped")
# Conftest's own meaning of each list: a failure blocks like `deny`, a warning like `warn`.
_LISTS = (("failures", Severity.HIGH, "deny"), ("warnings", Severity.MEDIUM, "warn"), ("exceptions", None, "exception"))
_EXCEPTED = Suppression(by="tool", reason="excepted by a Conftest `exception` rule")


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
        for index, check in enumerate(doc):
            where = f"[{index}]"
            try:
                if not isinstance(check, dict):
                    raise wrong("", check, "an object")
                filename = req_str(check, "filename")
                namespace = opt_str(check, "namespace")
                lists = [(key, severity, rule, check.get(key)) for key, severity, rule in _LISTS]
                for key, _, _, results in lists:
                    if results is not None and not isinstance(results, list):
                        raise wrong(key, results, "a list")
            except Unreadable as exc:
                raise unreadable(exc, where, origin) from None
            for key, severity, rule, results in lists:
                for position, result in enumerate(results or ()):
                    path = f"{where}.{key}[{position}]"
                    try:
                        findings.append(_finding(filename, namespace, result, severity, rule, origin))
                    except Unreadable as exc:
                        raise unreadable(exc, path, origin) from None
                    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                        raise broken(exc, path, origin) from None
        return Report(tool="conftest", path=origin, findings=tuple(findings))


def _finding(
    filename: str, namespace: str | None, result: Any, severity: Severity | None, rule: str, origin: str
) -> Finding:
    if not isinstance(result, dict):
        raise wrong("", result, "an object")
    message = req_str(result, "msg")
    metadata = opt_obj(result, "metadata")
    rule_id = _rule_id(metadata, namespace, rule)
    word = _text(metadata.get("severity"))
    chosen = Severity.parse(word) if word and Severity.parse(word) is not Severity.UNKNOWN else severity
    return Finding.create(
        id=rule_id,
        kind=Kind.POLICY,
        severity=chosen if chosen is not None else Severity.HIGH,
        title=message,
        target=filename,
        location=_location(result, filename),
        sources=(Source("conftest", origin, None, rule_id, word),),
        # Rego metadata is the policy author's own data (`details` is often an object): text is used,
        # anything else left out. None of it can hide a finding: the list decides that it is one.
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


def _location(result: dict[str, Any], filename: str) -> Location:
    loc = opt_obj(result, "loc")
    start = within("loc", opt_line, loc, "line")
    return Location(path=within("loc", opt_str, loc, "file") or filename, start_line=start, end_line=start)


PARSER = ConftestParser()
