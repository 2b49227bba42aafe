"""JUnit XML (`--junit FILE`): the verdict as test results, for GitLab's merge request widget (every tier) and the
test reporters of GitHub.

One test case per finding id and target, in a suite per tool: *failed* when a finding of that id on that target
blocks, *skipped* (with the reason) when every one is suppressed, *passed* otherwise. GitLab reads the subset its
unit test report docs list (`testsuites`/`testsuite` name and time, `testcase` classname, name, file and time,
the content of `failure`, `error`, `skipped`, `system-out`), shows a test case's `classname` as its suite and
keeps only the first of two cases with the same name, so names are unique per suite.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from urllib.parse import unquote
from xml.etree import ElementTree as ET

from gate.emit.base import EmitContext, exploit_words
from gate.model import SEVERITY_NAME, Decision, Verdict

name = "junit"

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot hold at all (not even escaped): report text may carry them."""
_TEXT_LIMIT = 4000


def _clean(text: str) -> str:
    text = _NOT_XML.sub("", text)
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def render(verdict: Verdict, ctx: EmitContext) -> str:
    """The whole document, suites sorted by tool and cases by id and target (the same input, the same bytes)."""
    cases: dict[str, dict[tuple[str, str], list[Decision]]] = defaultdict(lambda: defaultdict(list))
    for d in verdict.decisions:
        f = d.finding
        tool = ", ".join(f.tools) or "container-gate"
        cases[tool][(f.id, f.target)].append(d)
    root = ET.Element("testsuites", name="container-gate", time="0")
    totals = [0, 0, 0]
    for tool in sorted(cases):
        suite = ET.SubElement(root, "testsuite", name=_clean(tool), time="0")
        counts = [0, 0, 0]  # tests, failures, skipped
        for (finding_id, target), group in sorted(cases[tool].items()):
            counts[0] += 1
            outcome = _case(suite, tool, finding_id, target, group, ctx)
            if outcome == "failure":
                counts[1] += 1
            elif outcome == "skipped":
                counts[2] += 1
        suite.set("tests", str(counts[0]))
        suite.set("failures", str(counts[1]))
        suite.set("errors", "0")
        suite.set("skipped", str(counts[2]))
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
    root.set("tests", str(totals[0]))
    root.set("failures", str(totals[1]))
    root.set("errors", "0")
    root.set("skipped", str(totals[2]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _case(
    suite: ET.Element, tool: str, finding_id: str, target: str, group: Sequence[Decision], ctx: EmitContext
) -> str:
    first = group[0].finding
    case = ET.SubElement(suite, "testcase", classname=_clean(tool), name=_clean(f"{finding_id} in {target}"))
    path = next((d.finding.location.path for d in group if d.finding.location is not None), None)
    if path:
        case.set("file", _clean(unquote(path)))
    case.set("time", "0")
    blocking = [d for d in group if d.blocking]
    if blocking:
        worst = max(blocking, key=lambda d: d.finding.severity)
        reasons = sorted({r for d in blocking for r in d.reasons})
        message = f"{SEVERITY_NAME[worst.finding.severity]} {finding_id} blocks ({', '.join(reasons) or 'policy'})"
        failure = ET.SubElement(case, "failure", message=_clean(message), type=SEVERITY_NAME[worst.finding.severity])
        failure.text = _clean("\n".join(_details(blocking)))
        return "failure"
    if all(d.suppression is not None for d in group):
        suppression = group[0].suppression
        assert suppression is not None
        why = f"suppressed by {suppression.by}" + (f": {suppression.reason}" if suppression.reason else "")
        if suppression.expires:
            why += f" (until {suppression.expires})"
        ET.SubElement(case, "skipped", message=_clean(why)).text = _clean(why)
        return "skipped"
    notes = sorted({n for d in group for n in d.notes})
    if notes or first.title:
        ET.SubElement(case, "system-out").text = _clean("\n".join([first.title, *notes]).strip())
    return "passed"


def _details(decisions: Iterable[Decision]) -> list[str]:
    lines: list[str] = []
    for d in decisions:
        f = d.finding
        what = f"{f.package} {f.installed_version or ''} → {f.fixed_version or 'no fix yet'}" if f.package else ""
        where = ""
        if f.location is not None:
            where = f.location.path + (f":{f.location.start_line}" if f.location.start_line else "")
        urgent = exploit_words(d)
        parts = [p for p in (what.strip(), where, urgent) if p]
        lines.append(f"{SEVERITY_NAME[f.severity]} {f.id}: {f.title}".strip())
        if parts:
            lines.append("  " + "; ".join(parts))
        if f.help_uri:
            lines.append(f"  {f.help_uri}")
    return lines
