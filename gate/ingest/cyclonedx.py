"""Reads CycloneDX JSON SBOMs (spec 1.4 to 1.7, as Trivy, Syft and Grype write them): licenses and vulnerabilities.

Shapes from the CycloneDX JSON schema (cyclonedx.org/schema/bom-1.x.schema.json) and from Trivy's writer
(aquasecurity/trivy pkg/sbom/cyclonedx/marshal.go): a container or application under `metadata.component`,
lock files as `application` components that depend on their libraries, licenses as `license.id`,
`license.name` or `expression`, and vulnerabilities that point at components through `affects[].ref`.
"""

from __future__ import annotations

import re
from typing import Any

from gate.errors import InputError
from gate.ingest.base import (
    Unreadable,
    broken,
    clip,
    objects,
    opt_list,
    opt_number,
    opt_obj,
    opt_str,
    purl_name_version,
    req_str,
    str_list,
    unreadable,
    within,
    wrong,
)
from gate.ingest.sbom import NO_LICENSE, Package, license_findings
from gate.model import Finding, FixState, Kind, Location, Report, Severity, Skipped, Source, Suppression

VERSIONS = ("1.4", "1.5", "1.6", "1.7")
"""The spec versions read: 1.4 added `vulnerabilities[].analysis` details and ratings as used here."""

_SEVERITY = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.LOW,
    "none": Severity.UNKNOWN,
    "unknown": Severity.UNKNOWN,
}
"""The schema's `severity` enum; `info` (NVD's CVSS v2 below 4.0 in Trivy's writer) counts as LOW."""

_SUPPRESSING = {
    "not_affected": "not affected",
    "false_positive": "a false positive",
    "resolved": "resolved",
    "resolved_with_pedigree": "resolved (with pedigree)",
}
"""`analysis.state` values that mean nothing is left to fix, as OpenVEX's `not_affected`/`fixed` do."""
_STATES = ("resolved", "resolved_with_pedigree", "exploitable", "in_triage", "false_positive", "not_affected")

_NOT_PACKAGES = frozenset({"container", "operating-system", "platform", "device", "firmware", "file", "data"})
_PATH_PROPERTIES = ("aquasecurity:trivy:FilePath", "syft:location:0:path")
_RECOMMENDATION = re.compile(r"\bto version\s+(\S.*?)\.?\s*$")
"""Trivy writes the fixed version only into `recommendation`: "Upgrade openssl to version 1.1.1k"."""


class CycloneDXParser:
    """A CycloneDX BOM in JSON (`bomFormat: CycloneDX`)."""

    name = "cyclonedx"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        return isinstance(doc, dict) and doc.get("bomFormat") == "CycloneDX"

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        spec = doc.get("specVersion")
        if spec not in VERSIONS:
            raise InputError(f"CycloneDX specVersion {clip(str(spec))} is not read (1.4 to 1.7 are)", path=origin)
        try:
            return _Reader(doc, origin).report()
        except Unreadable as exc:
            raise unreadable(exc, "", origin) from None


class _Reader:
    name = "cyclonedx"

    def __init__(self, doc: dict[str, Any], origin: str) -> None:
        self.doc = doc
        self.origin = origin
        metadata = opt_obj(doc, "metadata")
        self.root = within("metadata", opt_obj, metadata, "component")
        self.tool_version = _tool_version(metadata)
        root_type = self.root.get("type")
        root_name = within("metadata.component", opt_str, self.root, "name")
        self.image = root_name if root_type == "container" else None
        self.fallback = root_name or "."
        # bom-ref → (component, its JSON path); nested components are listed under their parent.
        self.components: dict[str, dict[str, Any]] = {}
        self.order: list[tuple[dict[str, Any], str, str | None]] = []
        self._walk()
        self.parents = self._parents()

    def report(self) -> Report:
        findings: list[Finding] = []
        skipped: list[Skipped] = []
        packages: dict[str, Package] = {}
        for component, where, nested_in in self.order:
            try:
                package = self._package(component, nested_in)
            except Unreadable as exc:
                raise unreadable(exc, where, self.origin) from None
            if package is None:
                continue
            ref = component.get("bom-ref")
            if isinstance(ref, str):
                packages[ref] = package
            findings.extend(license_findings(package, self.name, self.origin, self.tool_version))
        for index, vuln in enumerate(objects(self.doc, "vulnerabilities")):
            where = f"vulnerabilities[{index}]"
            try:
                findings.extend(self._vulnerability(vuln, packages, skipped))
            except Unreadable as exc:
                raise unreadable(exc, where, self.origin) from None
            except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
                raise broken(exc, where, self.origin) from None
        return Report(
            tool=self.name,
            path=self.origin,
            findings=tuple(findings),
            skipped=tuple(skipped),
            tool_version=self.tool_version,
            artifact=self.image or self.fallback,
        )

    def _walk(self) -> None:
        """Every component in document order (a parent before what it nests, then its next sibling)."""
        root_ref = self.root.get("bom-ref")
        if isinstance(root_ref, str):
            self.components[root_ref] = self.root
        stack: list[tuple[Any, str, str | None]] = []
        self._push(stack, opt_list(self.doc, "components"), "components", None)
        while stack:
            component, path, parent = stack.pop()
            if not isinstance(component, dict):
                raise wrong(path, component, "an object")
            ref = component.get("bom-ref")
            if ref is not None and not isinstance(ref, str):
                raise wrong(f"{path}.bom-ref", ref, "a string")
            if ref is not None:
                self.components.setdefault(ref, component)
            self.order.append((component, path, parent))
            self._push(stack, within(path, opt_list, component, "components"), f"{path}.components", ref)

    @staticmethod
    def _push(stack: list[tuple[Any, str, str | None]], items: list[Any], where: str, parent: str | None) -> None:
        stack.extend((item, f"{where}[{index}]", parent) for index, item in reversed(list(enumerate(items))))

    def _parents(self) -> dict[str, str]:
        """Library bom-ref → the application component (lock file) that depends on it, as Trivy links them."""
        out: dict[str, str] = {}
        for index, dep in enumerate(objects(self.doc, "dependencies")):
            ref = within(f"dependencies[{index}]", opt_str, dep, "ref")
            parent = self.components.get(ref or "")
            if parent is None or parent.get("type") != "application" or parent is self.root:
                continue
            for child in within(f"dependencies[{index}]", str_list, dep, "dependsOn"):
                out.setdefault(child, ref or "")
        return out

    def _package(self, component: dict[str, Any], nested_in: str | None) -> Package | None:
        kind = opt_str(component, "type")
        purl = opt_str(component, "purl")
        if kind in _NOT_PACKAGES or (kind not in ("library", "framework") and purl is None):
            return None
        name = req_str(component, "name")
        group = opt_str(component, "group")
        if group and purl is None:
            name = f"{group}/{name}"
        ref = component.get("bom-ref")
        parent = self.parents.get(ref) if isinstance(ref, str) else None
        parent = parent or nested_in
        app = self.components.get(parent) if parent else None
        app_name = app.get("name") if app is not None and isinstance(app.get("name"), str) else None
        # Syft writes paths from the scanned root with a leading slash (`/package-lock.json`), Trivy without.
        found_at = (_property(component, _PATH_PROPERTIES) or "").lstrip("/") or None
        return Package(
            name=name,
            version=opt_str(component, "version"),
            purl=purl,
            target=self.image or app_name or found_at or self.fallback,
            path=found_at or app_name or self.origin,
            licenses=_licenses(component),
        )

    def _vulnerability(
        self, vuln: dict[str, Any], packages: dict[str, Package], skipped: list[Skipped]
    ) -> list[Finding]:
        vid = req_str(vuln, "id")
        ratings = objects(vuln, "ratings")
        severity, score = _rating(ratings)
        aliases = [within(f"references[{i}]", req_str, r, "id") for i, r in enumerate(objects(vuln, "references"))]
        source = opt_obj(vuln, "source")
        advisories = [within(f"advisories[{i}]", opt_str, a, "url") for i, a in enumerate(objects(vuln, "advisories"))]
        recommendation = opt_str(vuln, "recommendation")
        fixed = _fixed(recommendation)
        suppression = _analysis(opt_obj(vuln, "analysis"))
        description = opt_str(vuln, "description") or opt_str(vuln, "detail") or ""
        out: list[Finding] = []
        for index, affect in enumerate(objects(vuln, "affects")):
            ref = within(f"affects[{index}]", req_str, affect, "ref")
            package = packages.get(ref.rsplit("#", 1)[-1]) or packages.get(ref)
            if package is None:
                package = self._outside(ref)
            if package is None:
                skipped.append(Skipped(self.origin, f"{vid}: affects {clip(ref)}, which is no package of this SBOM"))
                continue
            versions = within(f"affects[{index}]", objects, affect, "versions")
            installed = next(
                (
                    v.get("version")
                    for v in versions
                    if v.get("status", "affected") == "affected" and isinstance(v.get("version"), str)
                ),
                None,
            )
            out.append(
                Finding.create(
                    id=vid,
                    aliases=aliases,
                    kind=Kind.VULNERABILITY,
                    severity=severity,
                    title=f"{vid} in {package.name}",
                    target=package.target,
                    package=package.name,
                    installed_version=installed or package.version,
                    fixed_version=fixed,
                    fix_state=FixState.FIXED if fixed else FixState.UNKNOWN,
                    location=Location(path=package.path) if package.path != self.origin else None,
                    sources=(Source(self.name, self.origin, self.tool_version, vid, _worst_word(ratings)),),
                    description=description,
                    references=tuple(dict.fromkeys(a for a in advisories if a)),
                    help_uri=within("source", opt_str, source, "url"),
                    cvss_score=score,
                    tool_suppression=suppression,
                    properties=(("purl", package.purl),) if package.purl else (),
                )
            )
        return out

    def _outside(self, ref: str) -> Package | None:
        """A ref that is a package URL names its package even when the BOM does not list it (VEX-style BOMs)."""
        name, version = purl_name_version(ref)
        if name is None:
            return None
        return Package(name, version, ref, self.image or self.fallback, self.origin, ())


def _tool_version(metadata: dict[str, Any]) -> str | None:
    tools = metadata.get("tools")
    # 1.5+ writes `tools.components`; 1.4 a plain list of {vendor, name, version}.
    entries = tools.get("components") if isinstance(tools, dict) else tools
    if isinstance(entries, list):
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                version = entry.get("version")
                # A development build of Syft says "[not provided]" (as Grype's descriptor does).
                known = isinstance(version, str) and version != "[not provided]"
                return f"{entry['name']} {version}" if known else entry["name"]
    return None


def _property(component: dict[str, Any], names: tuple[str, ...]) -> str | None:
    for index, prop in enumerate(objects(component, "properties")):
        if prop.get("name") in names:
            return within(f"properties[{index}]", opt_str, prop, "value")
    return None


def _licenses(component: dict[str, Any]) -> tuple[str, ...]:
    """The component's license expressions; only the `concluded` ones when some are marked so (1.6)."""
    found: list[tuple[str, str | None]] = []
    for index, choice in enumerate(objects(component, "licenses")):
        where = f"licenses[{index}]"
        expression = within(where, opt_str, choice, "expression")
        if expression is not None:
            found.append((expression, within(where, opt_str, choice, "acknowledgement")))
            continue
        lic = within(where, opt_obj, choice, "license")
        text = within(f"{where}.license", opt_str, lic, "id") or within(f"{where}.license", opt_str, lic, "name")
        if text is None:
            raise Unreadable(where, "a license needs an `expression`, a `license.id` or a `license.name`")
        found.append((text, within(f"{where}.license", opt_str, lic, "acknowledgement")))
    concluded = [text for text, how in found if how == "concluded"]
    chosen = concluded or [text for text, _ in found]
    return tuple(chosen) or (NO_LICENSE,)


def _rating(ratings: list[dict[str, Any]]) -> tuple[Severity, float | None]:
    """The most severe rating and the highest CVSS score: a gate takes the strictest view it is given."""
    severity = Severity.UNKNOWN
    score: float | None = None
    for index, rating in enumerate(ratings):
        where = f"ratings[{index}]"
        word = within(where, opt_str, rating, "severity")
        if word is not None:
            level = _SEVERITY.get(word.lower())
            if level is None:
                raise Unreadable(f"{where}.severity", f"unknown value {clip(word)}")
            severity = max(severity, level)
        value = within(where, opt_number, rating, "score")
        method = rating.get("method")
        if value is not None and isinstance(method, str) and method.upper().startswith("CVSS") and 0 < value <= 10:
            score = value if score is None else max(score, value)
    return severity, score


def _worst_word(ratings: list[dict[str, Any]]) -> str | None:
    words = [
        r["severity"] for r in ratings if isinstance(r.get("severity"), str) and r["severity"].lower() in _SEVERITY
    ]
    return max(words, key=lambda w: _SEVERITY[w.lower()]) if words else None


def _fixed(recommendation: str | None) -> str | None:
    if recommendation is None:
        return None
    match = _RECOMMENDATION.search(recommendation)
    return match[1] if match else None


def _analysis(analysis: dict[str, Any]) -> Suppression | None:
    state = within("analysis", opt_str, analysis, "state")
    if state is None:
        return None
    if state not in _STATES:
        raise Unreadable("analysis.state", f"unknown value {clip(state)} (expected {', '.join(_STATES)})")
    said = _SUPPRESSING.get(state)
    if said is None:
        return None
    justification = within("analysis", opt_str, analysis, "justification")
    detail = within("analysis", opt_str, analysis, "detail")
    why = f" ({justification})" if justification else ""
    return Suppression(by="vex", reason=f"CycloneDX analysis: {said}{why}{f': {detail}' if detail else ''}")


PARSER = CycloneDXParser()
