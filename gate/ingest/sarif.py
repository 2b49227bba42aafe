"""Reads SARIF 2.1.0 from any tool (hadolint, dockle, checkov, Trivy, Grype, Conftest...) into findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from gate.errors import InputError, OwnOutputError
from gate.ingest.base import (
    Unreadable,
    broken,
    clip,
    file_path,
    join,
    kind_of,
    objects,
    one_of,
    opt_line,
    opt_list,
    opt_obj,
    opt_str,
    purl_name_version,
    str_list,
    unreadable,
    within,
    wrong,
)
from gate.ingest.base import text as _text
from gate.model import Finding, Kind, Location, Report, Severity, Skipped, Source, Suppression

_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW}
# Result kinds that say "nothing wrong here" (SARIF 2.1.0 §3.27.9); the default kind is `fail`.
_NOT_FINDINGS = frozenset({"pass", "notApplicable", "informational"})
_VULN_ID = re.compile(r"CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}", re.IGNORECASE)
_OWN_TOOL = "container-gate"
# SARIF 2.1.0's enums (§3.27.9 kind, §3.27.10 level, §3.27.24 baselineState, §3.35.3 status).
_KINDS = ("fail", "pass", "notApplicable", "informational", "review", "open")
_LEVEL_WORDS = ("none", "note", "warning", "error")
_BASELINE = ("new", "unchanged", "updated", "absent")
_STATUSES = ("accepted", "underReview", "rejected")


@dataclass(frozen=True, slots=True)
class _Rule:
    """What every result of one rule shares, worked out once per rule rather than per result."""

    id: str
    kind: Kind
    vuln_id: str | None
    title: str | None
    description: str
    help_uri: str | None
    help: str | None
    score: float | None
    tagged: Severity | None
    """The tool's own severity word among the rule's tags (Trivy writes `CRITICAL`, `HIGH`…)."""
    level: str | None
    fields: dict[str, str]
    """`Key: value` lines of the rule's help text (Grype writes package and version there)."""
    purl: str | None


@dataclass(slots=True)
class _Run:
    origin: str
    tool: str
    version: str | None
    image: str | None
    rules_by_id: dict[str, tuple[str, Any]]
    """Rules by id, each with its JSON path (`runs[0].tool.driver.rules[3]`) for errors."""
    rules_by_index: list[Any]
    artifacts: list[Any]
    cache: dict[str, _Rule] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)
    """`originalUriBaseIds` that name a local folder (Trivy's ROOTPATH: the folder it scanned)."""
    paths: dict[tuple[str, str | None], str] = field(default_factory=dict)
    """Result paths as the gate names them, by uri and base (thousands of results share a few)."""
    where: str = ""
    """The run's JSON path (`runs[0]`)."""


class SarifParser:
    """SARIF 2.1.0: an object with `runs` and a `version` or a SARIF `$schema`."""

    name = "sarif"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        if not isinstance(doc, dict) or not isinstance(doc.get("runs"), list):
            return False
        schema = doc.get("$schema")
        return "version" in doc or (isinstance(schema, str) and "sarif" in schema.lower())

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        version = doc.get("version")
        if version != "2.1.0":
            raise InputError(f"SARIF version {version!r} is not supported (expected 2.1.0)", path=origin)
        findings: list[Finding] = []
        skipped: list[Skipped] = []
        tools: list[str] = []
        states: list[_Run] = []
        own = 0
        for index, run in enumerate(doc["runs"]):
            try:
                state = _start_run(run, origin, f"runs[{index}]")
            except Unreadable as exc:
                raise unreadable(exc, f"runs[{index}]", origin) from None
            if state.tool == _OWN_TOOL:
                # The gate's own output: reading it back would count every finding twice.
                own += 1
                skipped.append(Skipped(origin, f"runs[{index}]: written by container-gate itself, not read again"))
                continue
            tools.append(state.tool)
            states.append(state)
            _read_results(state, run.get("results"), index, findings, skipped)
        if own and not tools:
            raise OwnOutputError(
                "this SARIF was written by container-gate itself; pass the scanners' own reports instead",
                path=origin,
            )
        tool = tools[0] if len(set(tools)) == 1 else "sarif"
        versions = {state.version for state in states}
        return Report(
            tool=tool,
            path=origin,
            findings=tuple(findings),
            skipped=tuple(skipped),
            tool_version=versions.pop() if len(versions) == 1 else None,
        )


def _start_run(run: Any, origin: str, where: str) -> _Run:
    # Without the tool's name a run's results cannot be told from our own or attributed: an error.
    if not isinstance(run, dict):
        raise wrong("", run, "an object")
    tool = opt_obj(run, "tool")
    driver = within("tool", opt_obj, tool, "driver")
    name = within("tool.driver", opt_str, driver, "name")
    if name is None:
        raise Unreadable("tool.driver.name", "missing (a run must name its tool)")
    rules = within("tool.driver", objects, driver, "rules")
    by_id: dict[str, tuple[str, Any]] = {}
    for index, rule in enumerate(rules):
        rule_id = within(f"tool.driver.rules[{index}]", opt_str, rule, "id")
        if rule_id:
            by_id.setdefault(rule["id"], (f"{where}.tool.driver.rules[{index}]", rule))
    for number, extension in enumerate(within("tool", objects, tool, "extensions")):
        for index, rule in enumerate(within(f"tool.extensions[{number}]", objects, extension, "rules")):
            place = f"tool.extensions[{number}].rules[{index}]"
            if within(place, opt_str, rule, "id"):
                by_id.setdefault(rule["id"], (f"{where}.{place}", rule))
    props = opt_obj(run, "properties")
    return _Run(
        origin=origin,
        tool=name.lower(),
        version=within("tool.driver", opt_str, driver, "version")
        or within("tool.driver", opt_str, driver, "semanticVersion"),
        image=within("properties", opt_str, props, "imageName"),
        rules_by_id=by_id,
        rules_by_index=rules,
        artifacts=opt_list(run, "artifacts"),
        bases=_bases(run.get("originalUriBaseIds")),
        where=where,
    )


def _bases(value: Any) -> dict[str, str]:
    # Only absolute file URIs of a folder other than `/`: `trivy config app` writes ROOTPATH
    # file:///abs/app/ and uris relative to it; anything else (undefined %SRCROOT%, relative bases) is left
    # to mean what the uri says, as before.
    bases = {}
    for name, location in value.items() if isinstance(value, dict) else ():
        uri = _text(location.get("uri")) if isinstance(location, dict) else None
        if uri and uri.startswith("file:///") and len(uri) > len("file:///"):
            bases[str(name)] = unquote(uri[len("file://") :]).rstrip("/") + "/"
    return bases


def _read_results(state: _Run, results: Any, run_index: int, findings: list[Finding], skipped: list[Skipped]) -> None:
    if results is None:
        return
    if not isinstance(results, list):
        raise unreadable(wrong("results", results, "a list"), f"runs[{run_index}]", state.origin)
    for index, result in enumerate(results):
        where = f"runs[{run_index}].results[{index}]"
        try:
            if not isinstance(result, dict):
                raise wrong("", result, "an object")
            finding = _finding(state, result)
        except Unreadable as exc:
            raise unreadable(exc, where, state.origin) from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise broken(exc, where, state.origin) from None
        if finding is not None:
            findings.append(finding)


def _finding(state: _Run, result: dict[str, Any]) -> Finding | None:
    kind = one_of(opt_str(result, "kind"), "kind", _KINDS) or "fail"
    baseline = one_of(opt_str(result, "baselineState"), "baselineState", _BASELINE)
    rule = _rule(state, result)
    given = one_of(opt_str(result, "level"), "level", _LEVEL_WORDS)
    props = opt_obj(result, "properties")
    score = within("properties", _score, props, "security-severity")
    message = _message(result)
    location = _location(state, result)
    suppression = _suppression(result)
    if kind in _NOT_FINDINGS or baseline == "absent":
        return None
    level = given or rule.level or "warning"
    if level == "none":
        return None
    if score is None:
        score = rule.score
    severity = _severity(rule, level, score)
    if rule.kind is Kind.VULNERABILITY:
        return _vulnerability(state, rule, suppression, severity, level, message, location, score)
    title = message if rule.kind is Kind.POLICY or not rule.title else rule.title
    return Finding.create(
        id=rule.id,
        kind=rule.kind,
        severity=severity,
        title=(title or rule.id).strip(),
        target=location.path if location else (state.image or state.tool),
        location=location,
        sources=(Source(state.tool, state.origin, state.version, rule.id, level),),
        description=_describe(message, rule),
        help_uri=rule.help_uri,
        tool_suppression=suppression,
        properties=(("help", rule.help),) if rule.help else (),
    )


def _vulnerability(
    state: _Run,
    rule: _Rule,
    suppression: Suppression | None,
    severity: Severity,
    level: str,
    message: str,
    location: Location | None,
    score: float | None,
) -> Finding:
    # Where tools put the package: Trivy writes `Package:`/`Installed Version:`/`Fixed Version:` lines
    # in the result message; Grype writes `Package:`/`Version:`/`Fix Version:` in the rule's help text
    # (one rule per vulnerability and package) and a purl in the rule's properties.
    fields = _fields(message) if "\n" in message else {}
    if "package" not in fields:
        fields = rule.fields
    package = fields.get("package")
    installed = fields.get("installed version") or fields.get("version")
    if package is None and rule.purl:
        package, installed = purl_name_version(rule.purl)
    fixed = fields.get("fixed version") or fields.get("fix version")
    return Finding.create(
        id=rule.vuln_id or rule.id,
        kind=Kind.VULNERABILITY,
        severity=severity,
        title=(rule.title or message.split("\n", 1)[0] or rule.id).strip(),
        target=state.image or (location.path if location else state.tool),
        package=package,
        installed_version=installed,
        fixed_version=fixed,
        location=location,
        sources=(Source(state.tool, state.origin, state.version, rule.id, level),),
        description=_describe(message, rule),
        help_uri=rule.help_uri,
        cvss_score=score,
        tool_suppression=suppression,
        properties=(("help", rule.help),) if rule.help else (),
    )


def _severity(rule: _Rule, level: str, score: float | None) -> Severity:
    """The tool's own severity word when the rule carries one that this result's level agrees with,
    else the security-severity score's band, else the level.

    Trivy's `security-severity` is a CVSS score (NVD's, often) while its severity is the vendor's:
    a Debian LOW with an NVD 9.8 must gate as LOW, as the same report read as JSON does. A rule
    is shared by every result of its id, so the word counts only where the result's own level
    matches it (the same CVE rated HIGH elsewhere keeps its level)."""
    if rule.tagged is not None and _TAG_LEVEL[rule.tagged] == level:
        return rule.tagged
    return Severity.from_score(score) if score else _LEVELS.get(level, Severity.UNKNOWN)


_SEVERITY_TAGS = {s.name: s for s in Severity}
_TAG_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
}
"""How Trivy turns its severity into a SARIF level (our own emitter happens to do the same)."""


def _rule(state: _Run, result: dict[str, Any]) -> _Rule:
    ref = opt_obj(result, "rule")
    rule_id = opt_str(result, "ruleId") or within("rule", opt_str, ref, "id")
    index = _index(result, "ruleIndex") if "ruleIndex" in result else within("rule", _index, ref, "index")
    raw: Any = None
    where = ""
    if index is not None and index < len(state.rules_by_index):
        raw = state.rules_by_index[index]
        where = f"{state.where}.tool.driver.rules[{index}]"
        rule_id = rule_id or (_text(raw.get("id")) if isinstance(raw, dict) else None)
    if not rule_id:
        raise Unreadable("ruleId", "missing (and no rule it names)")
    cached = state.cache.get(rule_id)
    if cached is None:
        if not isinstance(raw, dict) or raw.get("id") != rule_id:
            where, raw = state.rules_by_id.get(rule_id, ("", {}))
        try:
            cached = state.cache[rule_id] = _describe_rule(state.tool, rule_id, raw)
        except Unreadable as exc:
            # The rule's own path: every result of it shares the error.
            raise unreadable(exc, where, state.origin) from None
    return cached


def _index(holder: dict[str, Any], key: str) -> int | None:
    value = holder.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong(key, value, "an index")
    return value if value >= 0 else None  # -1 is SARIF's "not given" (§3.27.6)


def _describe_rule(tool: str, rule_id: str, raw: dict[str, Any]) -> _Rule:
    props = opt_obj(raw, "properties")
    raw_tags = within("properties", str_list, props, "tags")
    tags = {t.lower() for t in raw_tags}
    # Only an upper-case word, and only one: a lower-case `low` tag may mean anything.
    words = {_SEVERITY_TAGS[t] for t in raw_tags if t in _SEVERITY_TAGS}
    found = _VULN_ID.search(rule_id)
    kind = _kind(tool, tags, found is not None)
    help_block = opt_obj(raw, "help")
    help_text = within("help", opt_str, help_block, "text")
    config = opt_obj(raw, "defaultConfiguration")
    purls = within("properties", str_list, props, "purls")
    return _Rule(
        id=rule_id,
        kind=kind,
        vuln_id=_canonical_vuln_id(found.group(0)) if found else None,
        title=_text(_block_text(raw, "shortDescription")),
        description=_text(_block_text(raw, "fullDescription")) or help_text or "",
        help_uri=opt_str(raw, "helpUri"),
        help=within("help", opt_str, help_block, "markdown") or help_text,
        score=within("properties", _score, props, "security-severity"),
        tagged=words.pop() if len(words) == 1 else None,
        level=one_of(
            within("defaultConfiguration", opt_str, config, "level"), "defaultConfiguration.level", _LEVEL_WORDS
        ),
        fields=_fields(help_text) if kind is Kind.VULNERABILITY and help_text else {},
        purl=purls[0] if purls else None,
    )


def _canonical_vuln_id(text: str) -> str:
    # CVE ids are upper case; GHSA ids keep their lower-case body (GHSA-xxxx-xxxx-xxxx).
    if text[:4].upper() == "CVE-":
        return text.upper()
    return "GHSA" + text[4:].lower()


def _kind(tool: str, tags: set[str], vuln_id: bool) -> Kind:
    # Conftest's SARIF carries Rego results: policy findings, as its JSON output gives. A CVE/GHSA id
    # or a `vulnerability` tag makes a vulnerability; secret and license tags say so; every other
    # rule (hadolint, dockle, checkov, Trivy config...) is a misconfiguration check.
    if tool == "conftest":
        return Kind.POLICY
    if vuln_id or "vulnerability" in tags:
        return Kind.VULNERABILITY
    if "secret" in tags or "secrets" in tags:
        return Kind.SECRET
    if "license" in tags or "licenses" in tags:
        return Kind.LICENSE
    return Kind.MISCONFIGURATION


def _location(state: _Run, result: dict[str, Any]) -> Location | None:
    locations = objects(result, "locations")
    if not locations:
        return None
    physical = within("locations[0]", opt_obj, locations[0], "physicalLocation")
    if not physical:
        return None
    where = "locations[0].physicalLocation"
    artifact = within(where, opt_obj, physical, "artifactLocation")
    uri = within(f"{where}.artifactLocation", opt_str, artifact, "uri")
    index = within(f"{where}.artifactLocation", _index, artifact, "index")
    if uri is None and index is not None and index < len(state.artifacts):
        listed = state.artifacts[index]
        entry = f"{state.where}.artifacts[{index}]"
        if not isinstance(listed, dict):
            raise Unreadable(f"{where}.artifactLocation.index", f"names {entry}, {kind_of(listed)}")
        try:
            uri = within("location", opt_str, opt_obj(listed, "location"), "uri")
        except Unreadable as exc:
            raise Unreadable(f"{where}.artifactLocation.index", f"names {join(entry, exc.at(''))}") from None
    region = within(where, opt_obj, physical, "region")
    start = within(f"{where}.region", opt_line, region, "startLine")
    end = within(f"{where}.region", opt_line, region, "endLine") or start
    base_id = within(f"{where}.artifactLocation", opt_str, artifact, "uriBaseId")
    if uri is None:
        return None
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    key = (uri, base_id)
    path = state.paths.get(key)
    if path is None:
        path = state.paths[key] = _path(state, unquote(uri), key[1])
    return Location(path=path, start_line=start, end_line=end)


def _path(state: _Run, path: str, base_id: str | None) -> str:
    if path.startswith("/") or "://" in path:
        return path
    base = state.bases.get(base_id) if base_id else None
    # Relative to the scanned folder when the run names it (joined), else to where the tool ran.
    return file_path(base + path if base is not None else path, state.origin)


def _suppression(result: dict[str, Any]) -> Suppression | None:
    # Only accepted suppressions count (§3.35.3): `underReview` and `rejected` ones do not. A suppression
    # that cannot be read hides a finding as surely as one that can: it is the result's error.
    found: Suppression | None = None
    for index, entry in enumerate(objects(result, "suppressions")):
        where = f"suppressions[{index}]"
        status = one_of(within(where, opt_str, entry, "status"), f"{where}.status", _STATUSES) or "accepted"
        kind = within(where, opt_str, entry, "kind")
        justification = within(where, opt_str, entry, "justification")
        if status == "accepted" and found is None:
            reason = justification or f"suppressed in the SARIF ({kind or 'external'})"
            found = Suppression(by="inline" if kind == "inSource" else "tool", reason=reason)
    return found


def _fields(text: str) -> dict[str, str]:
    """`Key: value` lines, keys lower-cased; empty values are left out."""
    out: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        if sep and value.strip() and len(key) < 40:
            out.setdefault(key.strip().lower(), value.strip())
    return out


def _describe(message: str, rule: _Rule) -> str:
    if rule.description and message and message not in rule.description:
        return f"{message}\n\n{rule.description}"
    return rule.description or message


def _message(result: dict[str, Any]) -> str:
    return (_block_text(result, "message") or "").strip()


def _block_text(holder: dict[str, Any], key: str) -> str | None:
    """A message or description object's text (else its markdown)."""
    block = opt_obj(holder, key)
    text = within(key, opt_str, block, "text")
    markdown = within(key, opt_str, block, "markdown")
    return text or markdown


def _score(holder: dict[str, Any], key: str) -> float | None:
    # GitHub's `security-severity` is a number in a string ("8.0"); some tools write a bare number. It
    # ranks the finding (a 9.8 is CRITICAL): one that is no score from 0 to 10 is the entry's error.
    value = holder.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise wrong(key, value, "a score (a number or a string holding one)")
    try:
        score = float(value)
    except ValueError:
        raise Unreadable(key, f"not a score: {clip(str(value))}") from None
    if not 0 <= score <= 10:  # also refuses inf and nan, which float("inf") and float("nan") give
        raise Unreadable(key, f"a score must be between 0 and 10, got {clip(str(value))}")
    return score or None


PARSER = SarifParser()
