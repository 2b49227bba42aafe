"""SARIF 2.1.0 that GitHub code scanning accepts: one run per tool and target, GitHub's limits guarded.

Built from plain dicts serialised with orjson, not `sarif-om`: on 20,000 results, sarif-om objects
plus their conversion to JSON took 1.34 s against 0.19 s for dicts and orjson (docs/outputs.md). The
output is validated against the official schema in the tests instead.

`plan_sarif` decides what goes where and what is cut; the outputs stage hands its `omissions()` to the other
formats (`EmitContext.omitted`), so the summary can say exactly what the SARIF left out. Where findings sit is
`gate.emit.placement`'s, shared with every format.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gate import speed
from gate.emit.base import EmitContext
from gate.emit.placement import Placed, cached_image_key, fix_line, image_name, in_image, placed_decisions
from gate.model import KIND_VALUE, SEVERITY_NAME, Finding, Kind, Severity, Verdict, image_key

name = "sarif"

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/org/container-gate"
FINGERPRINT_KEY = "containerGate/v1"
LINE_HASH_KEY = "primaryLocationLineHash"
"""The one `partialFingerprints` key code scanning reads: without it, uploads through the REST API (which,
unlike `upload-sarif`, computes none) are tracked by location alone and alerts churn."""
DESCRIPTION_LIMIT = 1_024
"""GitHub's limit on a rule's `shortDescription.text` and `fullDescription.text`."""

# GitHub code scanning's upload limits (REST "Upload an analysis as SARIF data"): above them the
# whole upload is rejected, so we cut before that, keeping the most severe.
MAX_RUNS = 20
MAX_RESULTS = 25_000
MAX_RULES = 25_000
MAX_TAGS = 20
MAX_GZIP_BYTES = 10 * 1024 * 1024

# Without a CVSS score, a severity's band midpoint-ish value, as Trivy does. UNKNOWN gets 0.1: GitHub
# needs a number above 0 to treat the alert as a security alert, and 0.1 shows it as "low" rather than
# inventing a severity the scanner did not give.
SECURITY_SEVERITY: dict[Severity, float] = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 2.0,
    Severity.UNKNOWN: 0.1,
}
LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
}
_TEXT_LIMIT = 2_000
_VULNERABILITY = Kind.VULNERABILITY
_MAX_REFERENCES = 10
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+~-]+")


@dataclass(frozen=True, slots=True)
class RunPlan:
    """One SARIF run: a tool and a target, with its results most severe first."""

    tool: str
    target: str
    category: str
    """`automationDetails.id`: `<prefix>/<tool>/<target-key>/`, stable across runs (no tag, no digest)."""
    results: tuple[Placed, ...]
    dropped: int = 0
    """Results left out of this run to stay within GitHub's limits."""


@dataclass(frozen=True, slots=True)
class SarifPlan:
    """What the SARIF file holds, and what it had to leave out."""

    runs: tuple[RunPlan, ...]
    dropped_runs: tuple[RunPlan, ...] = ()
    """Whole runs beyond GitHub's 20 runs per file (the least severe ones)."""

    @property
    def dropped_results(self) -> int:
        """Results not in the file, whether cut from a run or with a dropped run."""
        return sum(r.dropped for r in self.runs) + sum(len(r.results) + r.dropped for r in self.dropped_runs)

    def omissions(self) -> tuple[str, ...]:
        """Sentences for people saying what was left out and why (empty when nothing was)."""
        lines = [
            f"`{r.category}`: {r.dropped} of {len(r.results) + r.dropped} results left out "
            f"(GitHub accepts at most {MAX_RESULTS:,} per run and 10 MB gzipped; the most severe were kept)"
            for r in self.runs
            if r.dropped
        ]
        lines.extend(
            f"`{r.category}`: whole run of {len(r.results) + r.dropped} results left out "
            f"(GitHub accepts at most {MAX_RUNS} runs per file; the most severe runs were kept)"
            for r in self.dropped_runs
        )
        return tuple(lines)


# --- plan ----------------------------------------------------------------------------------------------


def primary_tool(finding: Finding) -> str:
    """The tool whose view a finding keeps (the first source after dedupe)."""
    return finding.sources[0].tool if finding.sources else "container-gate"


def target_key(finding: Finding) -> str:
    """Run identity inside a tool: the image repository for vulnerabilities, the kind otherwise.

    Findings in repository files (configs, secrets, lock files) already sit on distinct files, so one
    run per kind keeps the run count small; per-file runs would hit GitHub's 20-run cap on any real
    config scan or monorepo."""
    if in_image(finding):
        return cached_image_key(finding.target) or "unknown-target"
    return "dependencies" if finding.kind is Kind.VULNERABILITY else finding.kind.value


@speed.memo(4_096)
def category(prefix: str, tool: str, key: str) -> str:
    """`<prefix>/<tool>/<target-key>/`: the trailing slash makes the whole string the category."""
    parts = [_UNSAFE.sub("-", p.strip()).strip("-") or "x" for p in (*prefix.split("/"), tool)]
    key_parts = [_UNSAFE.sub("-", p).strip("-") for p in key.replace("\\", "/").split("/")]
    return "/".join([*parts, *(p for p in key_parts if p)]) + "/"


def plan_sarif(
    verdict: Verdict,
    ctx: EmitContext,
    *,
    max_runs: int = MAX_RUNS,
    max_results: int = MAX_RESULTS,
    placed: Sequence[Placed] | None = None,
) -> SarifPlan:
    """Group decisions into runs and cut to GitHub's count limits, keeping the most severe."""
    groups: dict[str, tuple[str, str, list[Placed]]] = {}
    prefix = ctx.category_prefix
    # The run a finding joins depends on its first tool, kind, target and file alone: thousands share one.
    runs_of: dict[tuple[object, ...], list[Placed]] = {}
    for p in placed if placed is not None else placed_decisions(verdict, ctx):
        f = p.decision.finding
        loc = f.location
        identity = (f.sources[0].tool if f.sources else None, f.kind, f.target, loc.path if loc else None)
        items = runs_of.get(identity)
        if items is None:
            tool, key = primary_tool(f), target_key(f)
            cat = category(prefix, tool, key)
            group = groups.get(cat)
            if group is None:
                group = groups[cat] = (tool, key, [])
            items = runs_of[identity] = group[2]
        items.append(p)
    for report in verdict.reports:
        if not report.findings and report.artifact:
            # An empty run closes the category's old alerts on GitHub once everything is fixed.
            key = image_key(report.artifact)
            groups.setdefault(category(ctx.category_prefix, report.tool, key), (report.tool, key, []))
    runs = [
        RunPlan(tool, key, cat, tuple(items[:max_results]), max(0, len(items) - max_results))
        for cat, (tool, key, items) in groups.items()
    ]
    runs.sort(key=_run_order)
    return SarifPlan(tuple(sorted(runs[:max_runs], key=lambda r: r.category)), tuple(runs[max_runs:]))


def _run_order(run: RunPlan) -> tuple[int, int, str]:
    top = run.results[0].finding.severity if run.results else Severity.UNKNOWN
    return (-int(top), -len(run.results), run.category)


# --- document ------------------------------------------------------------------------------------------


def render(verdict: Verdict, ctx: EmitContext) -> str:
    """The SARIF document, within GitHub's limits (see `build`)."""
    return build_bytes(verdict, ctx)[0].decode()


def render_bytes(verdict: Verdict, ctx: EmitContext) -> bytes:
    """`render` as UTF-8 bytes, for writers that need no `str` copy of a large document."""
    return build_bytes(verdict, ctx)[0]


def build(verdict: Verdict, ctx: EmitContext) -> tuple[str, SarifPlan]:
    """The SARIF text and the plan it follows; shrinks the runs when the file would exceed 10 MB gzipped."""
    data, plan = build_bytes(verdict, ctx)
    return data.decode(), plan


def build_bytes(verdict: Verdict, ctx: EmitContext) -> tuple[bytes, SarifPlan]:
    """`build` with the document as UTF-8 bytes.

    The last result is remembered (by identity of the verdict) so that the writer does not build the document a
    second time after the outputs stage built it to learn what it leaves out (`EmitContext.omitted`)."""
    # What the document left out does not change the document: the outputs stage builds it first to learn that.
    key = replace(ctx, omitted=()) if ctx.omitted else ctx
    cached = _LAST.get("build")
    if cached is not None and cached[0] is verdict and cached[1] == key:
        return cached[2], cached[3]
    data, plan = _build(verdict, key)
    _LAST["build"] = (verdict, key, data, plan)
    return data, plan


_LAST: dict[str, tuple[Verdict, EmitContext, bytes, SarifPlan]] = {}
_KEPT: list[dict[str, Any]] = []


def _build(verdict: Verdict, ctx: EmitContext) -> tuple[bytes, SarifPlan]:
    import orjson

    placed = placed_decisions(verdict, ctx)
    plan = plan_sarif(verdict, ctx, placed=placed)
    limit = MAX_RESULTS
    while True:
        doc = document(plan, ctx)
        data = orjson.dumps(doc)
        # Freeing the document's 100,000s of objects one by one costs ~15 ms at 20,000 results, on the
        # path every run waits for: the last one is kept until the next build (or the process's end,
        # which the command skips the teardown of) instead.
        _KEPT[:] = [doc]
        # Level 1 compresses no better than the level any uploader uses, so it never underestimates much
        # and is three times faster than the default on a 100 MB document.
        size = len(data) if len(data) <= MAX_GZIP_BYTES else gzipped_size(data)
        largest = max((len(r.results) for r in plan.runs), default=0)
        if size <= MAX_GZIP_BYTES or largest <= 1:
            return data, plan
        limit = max(1, min(limit, largest) * MAX_GZIP_BYTES * 9 // (size * 10))
        plan = plan_sarif(verdict, ctx, max_results=limit, placed=placed)


_HALVES_MARGIN = 0.99


def gzipped_size(data: bytes) -> int:
    """`len(gzip.compress(data, 1))`, or an estimate just as safe when it is clearly within the limit.

    A document whose compressed prefix plus uncompressed rest is already within the limit is measured
    no further (`_prefix_bound`). Other large documents are compressed as two halves at once (zlib
    releases the GIL, so that takes half the time on two cores). Halves compressed apart lose only the
    matches across the cut: their sum is the whole's size give or take a few bytes. When that sum is
    1 % or more below the limit the document fits and the sum is returned; otherwise the whole is
    compressed, so every decision near the limit is taken on the exact size."""
    if len(data) < speed.threaded_gzip_from():
        return len(gzip.compress(data, 1))
    bound = _prefix_bound(data)
    if bound is not None:
        return bound
    import threading

    view = memoryview(data)
    half = len(data) // 2
    sizes = [0]

    def second() -> None:
        sizes[0] = len(zlib.compress(view[half:], 1, wbits=-15))

    worker = threading.Thread(target=second, name="sarif-gzip-size")
    worker.start()
    first = len(zlib.compress(view[:half], 1, wbits=-15))
    worker.join()
    estimate = first + sizes[0] + _GZIP_FRAME
    if estimate <= MAX_GZIP_BYTES * _HALVES_MARGIN:
        return estimate
    return len(gzip.compress(data, 1))


_GZIP_FRAME = 18
"""gzip's header and trailer around the raw deflate stream."""
_PREFIX_CHUNK = 1 << 20
_PREFIX_SHARE = 0.4
"""How much of a document `_prefix_bound` compresses at most before the two halves are measured instead."""


def _prefix_bound(data: bytes) -> int | None:
    """An upper bound of the gzipped size within the limit's margin, from compressing only a prefix.

    The part not yet compressed is counted at its stored (uncompressed) size, which deflate never
    exceeds by more than 5 bytes a 64 KiB block: so the bound only overestimates. A document a little
    over the limit uncompressed (20,000 results: 12.5 MB) is shown to fit after a fifth of it, on one
    core, instead of compressing all of it. None when no bound fits within `_PREFIX_SHARE` of the data."""
    view = memoryview(data)
    stream = zlib.compressobj(1, zlib.DEFLATED, -15)
    done = out = 0
    margin = MAX_GZIP_BYTES * _HALVES_MARGIN
    while done < len(data) * _PREFIX_SHARE:
        out += len(stream.compress(view[done : done + _PREFIX_CHUNK])) + len(stream.flush(zlib.Z_SYNC_FLUSH))
        done = min(len(data), done + _PREFIX_CHUNK)
        rest = len(data) - done
        bound = out + rest + 5 * (rest // 65_535 + 2) + _GZIP_FRAME
        if bound <= margin:
            return bound
        kept = 1 - out / done  # share of the input saved so far
        if kept <= 0 or (len(data) - margin) / (len(data) * kept) > _PREFIX_SHARE:
            # At the ratio so far, more than the share would need compressing before a bound fits.
            return None
    return None


def document(plan: SarifPlan, ctx: EmitContext) -> dict[str, Any]:
    """The SARIF log object for a plan."""
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [_run(run, ctx) for run in plan.runs],
    }


def _run(run: RunPlan, ctx: EmitContext) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results: list[dict[str, Any]] = []
    append = results.append
    shared: dict[Any, Any] = {}
    for p in run.results:
        rule_id = p.decision.finding.id
        rule_index = index.get(rule_id)
        if rule_index is None:
            rule_index = index[rule_id] = len(rules)
            rules.append(_rule(p.decision.finding))
        append(_result(p, rule_index, shared))
    out: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "container-gate",
                "version": ctx.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "automationDetails": {"id": run.category},
        "columnKind": "utf16CodeUnits",
        "results": results,
        "properties": {"sourceTool": run.tool, "target": run.target},
    }
    if run.dropped:
        out["properties"]["omittedResults"] = run.dropped
    return out


def security_severity(finding: Finding) -> str:
    """GitHub's `security-severity`: the CVSS base score when known, else the severity's stand-in."""
    score = finding.cvss_score
    if score is not None and 0.0 < score <= 10.0:
        return f"{score:.1f}"
    return f"{SECURITY_SEVERITY[finding.severity]:.1f}"


def _rule(f: Finding) -> dict[str, Any]:
    # Once per distinct id: at 20,000 findings of as many CVEs this is the largest part of the SARIF,
    # hence the plain lookups instead of enum descriptors and the references computed once.
    refs = _references(f)
    severity = SEVERITY_NAME[f.severity]
    kind = KIND_VALUE[f.kind]
    tags = ["security", kind, severity]
    if f.package_class:
        tags.append(f.package_class)
    if f.kev:
        tags.append("known-exploited")
    properties: dict[str, Any] = {
        "security-severity": security_severity(f),
        "tags": tags[:MAX_TAGS],
        "precision": "very-high" if f.kind is _VULNERABILITY else "high",
    }
    if f.aliases:
        properties["aliases"] = list(f.aliases)
    rule: dict[str, Any] = {
        "id": f.id,
        "name": _rule_name(f),
        "shortDescription": {"text": _clip(f.title or f.id, DESCRIPTION_LIMIT)},
        "fullDescription": {"text": _clip(f.description or f.title or f.id, DESCRIPTION_LIMIT)},
        "defaultConfiguration": {"level": LEVEL[f.severity]},
        "help": {"text": help_text(f, refs), "markdown": help_markdown(f, refs)},
        "properties": properties,
    }
    uri = f.help_uri or (refs[0] if refs else None)
    if uri:
        rule["helpUri"] = uri
    return rule


def _rule_name(f: Finding) -> str:
    if f.kind is Kind.VULNERABILITY:
        return "OsPackageVulnerability" if f.package_class == "os-pkgs" else "PackageVulnerability"
    return f.kind.value.capitalize()


def help_text(f: Finding, refs: Sequence[str]) -> str:
    """Plain-text help: what it is, the upgrade, and `refs` (`_references(f)`, worked out once per rule)."""
    head = f"{f.id}: {f.title}" if f.title else f.id
    text = f"{head}\nSeverity: {SEVERITY_NAME[f.severity]}"
    if f.package:
        text = f"{text}\nPackage: {fix_line(f)}"
    if f.description:
        text = f"{text}\n\n{_clip(f.description, _TEXT_LIMIT)}"
    if refs:
        text = f"{text}\n\nReferences:\n" + "\n".join(refs)
    return text


def help_markdown(f: Finding, refs: Sequence[str]) -> str:
    """Markdown help: the same as `help_text` with a table and links."""
    text = f"**{md_escape(f.id)}**: {md_escape(f.title)}\n" if f.title else f"**{md_escape(f.id)}**\n"
    if f.package:
        text = (
            f"{text}\n| Severity | Package | Installed | Fixed |\n| --- | --- | --- | --- |\n"
            f"| {SEVERITY_NAME[f.severity]} | {md_escape(f.package)} | {md_escape(f.installed_version or '—')} "
            f"| {md_escape(f.fixed_version or 'no fix yet')} |"
        )
    else:
        text = f"{text}\nSeverity: **{SEVERITY_NAME[f.severity]}**"
    if f.description:
        text = f"{text}\n\n{md_escape(_clip(f.description, _TEXT_LIMIT))}"
    if refs:
        text = f"{text}\n\n- <" + ">\n- <".join(refs) + ">"
    return text


def _references(f: Finding) -> tuple[str, ...]:
    """The first web links of a finding (its help URI first), without repeats."""
    # Stops at the limit: CVEs carry up to dozens of references, and this runs once per rule.
    found: dict[str, None] = {}
    for ref in (f.help_uri, *f.references) if f.help_uri else f.references:
        if ref.startswith("https://") or ref.startswith("http://"):
            found[ref] = None
            if len(found) == _MAX_REFERENCES:
                break
    return tuple(found)


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks, no HTML."""
    # Only the replacements a text needs: a substring test is a fast scan, where a regex or six
    # unconditional passes cost several microseconds on each description (once per rule).
    for char, escaped in _MD_ESCAPES:
        if char in text:
            text = text.replace(char, escaped)
    return text


_MD_ESCAPES = (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("\r", " "), ("\n", " "))
"""In this order: the backslash first, so the escapes added after it are not escaped again."""


def message(p: Placed) -> str:
    """The one-paragraph result message."""
    f = p.decision.finding
    if f.kind is _VULNERABILITY:
        # `fix_line` inlined, and one f-string for the common case (no intermediate string): this runs
        # once per result, 20,000 at a time.
        pkg = f.package
        where = " of image " if p.anchored else " in "
        if pkg:
            text = (
                f"{f.id} ({SEVERITY_NAME[f.severity]}) in {pkg} {f.installed_version or '?'} → "
                f"{f.fixed_version or 'no fixed version yet'}{where}{image_name(f.target)}"
            )
        else:
            text = f"{f.id} ({SEVERITY_NAME[f.severity]}) in an unnamed package{where}{image_name(f.target)}"
        title = f.title
        if title:
            text = f"{text}: {title}"
        return text if len(text) <= _TEXT_LIMIT else _clip(text, _TEXT_LIMIT)
    return _clip(f"{f.id} ({SEVERITY_NAME[f.severity]}): {f.title or f.description or f.id}", _TEXT_LIMIT)


def _result(p: Placed, rule_index: int, shared: dict[Any, Any] | None = None) -> dict[str, Any]:
    """One result; `shared` holds the location and property objects results of a run have in common.

    Thousands of results sit on one location (an image, a FROM line) with one tool: their dicts are
    built once and serialised wherever they occur (orjson writes the same bytes for a shared object)."""
    shared = {} if shared is None else shared
    d = p.decision
    f = d.finding
    sources = f.sources
    # A tuple is written as an array by orjson; one source needs no set-and-sort.
    tools = (sources[0].tool,) if len(sources) == 1 else f.tools
    where = (p.uri, p.start_line, p.end_line)
    locations = shared.get(where)
    if locations is None:
        locations = shared[where] = _locations(p)
    facts = (d.blocking, tools, d.reasons)
    properties = shared.get(facts)
    if properties is None:
        properties = shared[facts] = {"blocking": d.blocking, "tools": tools}
        if d.reasons:
            properties["blockingReasons"] = d.reasons
    result: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": LEVEL[f.severity],
        "message": {"text": message(p)},
        "locations": locations,
        # The same stable identity twice: under the key GitHub reads (with the occurrence suffix its own
        # hashes carry) and bare under ours, for other consumers.
        "partialFingerprints": {LINE_HASH_KEY: f"{p.fingerprint}:1", FINGERPRINT_KEY: p.fingerprint},
        "properties": properties,
    }
    sup = d.suppression
    if sup is not None:
        justification = sup.reason + (f" (until {sup.expires})" if sup.expires else "")
        result["suppressions"] = [
            {
                "kind": "inSource" if sup.by == "inline" else "external",
                "status": "accepted",
                "justification": _clip(justification or sup.by, _TEXT_LIMIT),
            }
        ]
    return result


def _locations(p: Placed) -> list[dict[str, Any]]:
    # Code scanning lists the region as required: a finding without lines (an image not built by a
    # Dockerfile among the inputs, a whole lock file) sits on line 1, as Trivy's and Grype's SARIF
    # put it. Whole lines: no end column, which SARIF reads as "to the end of the line".
    start = p.start_line or 1
    region = {"startLine": start, "startColumn": 1, "endLine": (p.end_line or start) if p.start_line else 1}
    return [{"physicalLocation": {"artifactLocation": {"uri": p.uri}, "region": region}}]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
