"""Reads SARIF 2.1.0 from any tool (hadolint, dockle, checkov, Trivy, Grype, Conftest...) into findings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from gate.errors import InputError, OwnOutputError
from gate.ingest.base import file_path
from gate.ingest.base import line as _line
from gate.ingest.base import obj as _obj
from gate.ingest.base import text as _text
from gate.model import Finding, Kind, Location, Report, Severity, Skipped, Source, Suppression

_LEVELS = {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW}
# Result kinds that say "nothing wrong here" (SARIF 2.1.0 §3.27.9); the default kind is `fail`.
_NOT_FINDINGS = frozenset({"pass", "notApplicable", "informational"})
_VULN_ID = re.compile(r"CVE-\d{4}-\d{4,}|GHSA(?:-[0-9a-z]{4}){3}", re.IGNORECASE)
_OWN_TOOL = "container-gate"


class _Bad(Exception):
    """A result this reader cannot use; it becomes a `Skipped`."""


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
    rules_by_id: dict[str, Any]
    rules_by_index: list[Any]
    artifacts: list[Any]
    cache: dict[str, _Rule] = field(default_factory=dict)
    bases: dict[str, str] = field(default_factory=dict)
    """`originalUriBaseIds` that name a local folder (Trivy's ROOTPATH: the folder it scanned)."""
    paths: dict[tuple[str, str | None], str] = field(default_factory=dict)
    """Result paths as the gate names them, by uri and base (thousands of results share a few)."""


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
            state = _start_run(run, origin)
            if state is None:
                skipped.append(Skipped(origin, f"runs[{index}]: no tool.driver.name"))
                continue
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


def _start_run(run: Any, origin: str) -> _Run | None:
    tool = _obj(run.get("tool")) if isinstance(run, dict) else {}
    driver = _obj(tool.get("driver"))
    name = _text(driver.get("name"))
    if name is None:
        return None
    rules: list[Any] = list(driver.get("rules") or ()) if isinstance(driver.get("rules"), list) else []
    by_id = {r["id"]: r for r in rules if isinstance(r, dict) and isinstance(r.get("id"), str)}
    extensions = tool.get("extensions")
    for extension in extensions if isinstance(extensions, list) else ():
        ext_rules = extension.get("rules") if isinstance(extension, dict) else None
        for rule in ext_rules if isinstance(ext_rules, list) else ():
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                by_id.setdefault(rule["id"], rule)
    props = _obj(run.get("properties"))
    artifacts = run.get("artifacts") if isinstance(run.get("artifacts"), list) else []
    return _Run(
        origin=origin,
        tool=name.lower(),
        version=_text(driver.get("version")) or _text(driver.get("semanticVersion")),
        image=_text(props.get("imageName")),
        rules_by_id=by_id,
        rules_by_index=rules,
        artifacts=artifacts,
        bases=_bases(run.get("originalUriBaseIds")),
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
        skipped.append(Skipped(state.origin, f"runs[{run_index}]: `results` is not a list"))
        return
    for index, result in enumerate(results):
        try:
            if not isinstance(result, dict):
                raise _Bad("not an object")
            finding = _finding(state, result)
        except _Bad as exc:
            skipped.append(Skipped(state.origin, f"runs[{run_index}].results[{index}]: {exc}"))
            continue
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            reason = f"runs[{run_index}].results[{index}]: malformed result ({type(exc).__name__}: {exc})"
            skipped.append(Skipped(state.origin, reason))
            continue
        if finding is not None:
            findings.append(finding)


def _finding(state: _Run, result: dict[str, Any]) -> Finding | None:
    if result.get("kind", "fail") in _NOT_FINDINGS or result.get("baselineState") == "absent":
        return None
    rule = _rule(state, result)
    level = result.get("level") or rule.level or "warning"
    if level == "none":
        return None
    props = _obj(result.get("properties"))
    score = _score(props.get("security-severity"))
    if score is None:
        score = rule.score
    severity = _severity(rule, level, score)
    message = _message(result)
    location = _location(state, result)
    if rule.kind is Kind.VULNERABILITY:
        return _vulnerability(state, rule, result, severity, level, message, location, score)
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
        tool_suppression=_suppression(result.get("suppressions")),
        properties=(("help", rule.help),) if rule.help else (),
    )


def _vulnerability(
    state: _Run,
    rule: _Rule,
    result: dict[str, Any],
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
        package, installed = _purl_name_version(rule.purl)
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
        tool_suppression=_suppression(result.get("suppressions")),
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
    ref = _obj(result.get("rule"))
    rule_id = result.get("ruleId") or ref.get("id")
    index = result.get("ruleIndex", ref.get("index"))
    raw: Any = None
    if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(state.rules_by_index):
        raw = state.rules_by_index[index]
        rule_id = rule_id or (raw.get("id") if isinstance(raw, dict) else None)
    if not isinstance(rule_id, str) or not rule_id:
        raise _Bad("no ruleId")
    cached = state.cache.get(rule_id)
    if cached is None:
        if not isinstance(raw, dict) or raw.get("id") != rule_id:
            raw = state.rules_by_id.get(rule_id, {})
        cached = state.cache[rule_id] = _describe_rule(state.tool, rule_id, raw)
    return cached


def _describe_rule(tool: str, rule_id: str, raw: dict[str, Any]) -> _Rule:
    props = _obj(raw.get("properties"))
    listed = props.get("tags")
    raw_tags = [t for t in listed if isinstance(t, str)] if isinstance(listed, list) else []
    tags = {t.lower() for t in raw_tags}
    # Only an upper-case word, and only one: a lower-case `low` tag may mean anything.
    words = {_SEVERITY_TAGS[t] for t in raw_tags if t in _SEVERITY_TAGS}
    found = _VULN_ID.search(rule_id)
    kind = _kind(tool, tags, found is not None)
    help_block = _obj(raw.get("help"))
    help_text = _text(help_block.get("text"))
    config = _obj(raw.get("defaultConfiguration"))
    purls = props.get("purls")
    return _Rule(
        id=rule_id,
        kind=kind,
        vuln_id=_canonical_vuln_id(found.group(0)) if found else None,
        title=_text(_block_text(raw.get("shortDescription"))),
        description=_text(_block_text(raw.get("fullDescription"))) or help_text or "",
        help_uri=_text(raw.get("helpUri")),
        help=_text(help_block.get("markdown")) or help_text,
        score=_score(props.get("security-severity")),
        tagged=words.pop() if len(words) == 1 else None,
        level=_text(config.get("level")),
        fields=_fields(help_text) if kind is Kind.VULNERABILITY and help_text else {},
        purl=purls[0] if isinstance(purls, list) and purls and isinstance(purls[0], str) else None,
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
    locations = result.get("locations")
    if not isinstance(locations, list) or not locations or not isinstance(locations[0], dict):
        return None
    physical = locations[0].get("physicalLocation")
    if not isinstance(physical, dict):
        return None
    artifact = _obj(physical.get("artifactLocation"))
    uri = _text(artifact.get("uri"))
    index = artifact.get("index")
    if uri is None and isinstance(index, int) and 0 <= index < len(state.artifacts):
        listed = state.artifacts[index].get("location", {})
        uri = _text(listed.get("uri")) if isinstance(listed, dict) else None
    if uri is None:
        return None
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    region = _obj(physical.get("region"))
    start = _line(region.get("startLine"))
    end = _line(region.get("endLine")) or start
    key = (uri, _text(artifact.get("uriBaseId")))
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


def _suppression(suppressions: Any) -> Suppression | None:
    # Only accepted suppressions count (§3.35.3): `underReview` and `rejected` ones do not.
    if not isinstance(suppressions, list):
        return None
    for entry in suppressions:
        if not isinstance(entry, dict) or entry.get("status", "accepted") != "accepted":
            continue
        kind = entry.get("kind")
        reason = _text(entry.get("justification")) or f"suppressed in the SARIF ({kind or 'external'})"
        return Suppression(by="inline" if kind == "inSource" else "tool", reason=reason)
    return None


def _fields(text: str) -> dict[str, str]:
    """`Key: value` lines, keys lower-cased; empty values are left out."""
    out: dict[str, str] = {}
    for line in text.split("\n"):
        key, sep, value = line.partition(": ")
        if sep and value.strip() and len(key) < 40:
            out.setdefault(key.strip().lower(), value.strip())
    return out


def _purl_name_version(purl: str) -> tuple[str | None, str | None]:
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


def _describe(message: str, rule: _Rule) -> str:
    if rule.description and message and message not in rule.description:
        return f"{message}\n\n{rule.description}"
    return rule.description or message


def _message(result: dict[str, Any]) -> str:
    message = result.get("message")
    return (_block_text(message) or "").strip() if isinstance(message, dict) else ""


def _block_text(block: Any) -> str | None:
    if isinstance(block, dict):
        text = block.get("text")
        if isinstance(text, str):
            return text
        markdown = block.get("markdown")
        return markdown if isinstance(markdown, str) else None
    return None


def _score(value: Any) -> float | None:
    # GitHub's `security-severity` is a number in a string ("8.0"); some tools write a bare number.
    if isinstance(value, bool):
        return None
    try:
        score = float(value) if isinstance(value, str | int | float) else None
    except ValueError:
        return None
    return score if score is not None and 0 < score <= 10 else None


PARSER = SarifParser()
