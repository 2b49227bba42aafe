"""Reads SPDX 2.2 and 2.3 JSON documents (as Trivy and Syft write them) into license facts per package.

Shapes from the SPDX 2.3 specification (spdx.github.io/spdx-spec/v2.3, JSON schema spdx-schema.json) and
Trivy's writer (aquasecurity/trivy pkg/sbom/spdx/marshal.go): packages with `licenseConcluded` and
`licenseDeclared` (`NOASSERTION` when the tool cannot tell), purls in `externalRefs`, lock files as
`APPLICATION` packages that `CONTAINS` their libraries, an image as the `CONTAINER` package the
document `DESCRIBES`. SPDX 2 has no vulnerability records, so only licenses are read.
"""

from __future__ import annotations

import re
from typing import Any

from gate.errors import InputError
from gate.ingest.base import Unreadable, clip, objects, opt_str, req_str, str_list, unreadable, within
from gate.ingest.sbom import NO_LICENSE, Package, license_findings
from gate.model import Finding, Report

VERSIONS = ("SPDX-2.2", "SPDX-2.3")

_NOT_PACKAGES = frozenset({"CONTAINER", "OPERATING-SYSTEM", "APPLICATION", "SOURCE", "DEVICE", "FIRMWARE", "FILE"})
"""`primaryPackagePurpose` values of what holds packages rather than being one (unless it has a purl)."""
_DOWN = frozenset({"CONTAINS", "DEPENDS_ON"})
_UP = frozenset({"CONTAINED_BY", "DEPENDENCY_OF"})


class SPDXParser:
    """An SPDX 2.x document in JSON (`spdxVersion`, `SPDXID`)."""

    name = "spdx"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        return (
            isinstance(doc, dict)
            and isinstance(doc.get("spdxVersion"), str)
            and doc["spdxVersion"].startswith("SPDX-")
            and "SPDXID" in doc
        )

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        version = doc["spdxVersion"]
        if version not in VERSIONS:
            raise InputError(f"SPDX version {clip(version)} is not read (SPDX-2.2 and SPDX-2.3 JSON are)", path=origin)
        try:
            return _read(doc, origin)
        except Unreadable as exc:
            raise unreadable(exc, "", origin) from None


def _read(doc: dict[str, Any], origin: str) -> Report:
    packages = objects(doc, "packages")
    by_id: dict[str, dict[str, Any]] = {}
    for index, package in enumerate(packages):
        by_id.setdefault(within(f"packages[{index}]", req_str, package, "SPDXID"), package)
    described = set(str_list(doc, "documentDescribes"))
    parent: dict[str, str] = {}
    for index, rel in enumerate(objects(doc, "relationships")):
        where = f"relationships[{index}]"
        left = within(where, opt_str, rel, "spdxElementId")
        right = within(where, opt_str, rel, "relatedSpdxElement")
        kind = within(where, opt_str, rel, "relationshipType")
        if left is None or right is None or kind is None:
            continue
        if kind == "DESCRIBES" and left == doc.get("SPDXID"):
            described.add(right)
        elif kind in _DOWN:
            parent.setdefault(right, left)
        elif kind in _UP:
            parent.setdefault(left, right)
    image = next(
        (
            p.get("name")
            for ref, p in by_id.items()
            if ref in described
            and (p.get("primaryPackagePurpose") == "CONTAINER" or ref.startswith("SPDXRef-ContainerImage"))
        ),
        None,
    )
    fallback = opt_str(doc, "name") or "."
    names = _extracted(doc)
    tool = _creator(doc)
    findings: list[Finding] = []
    for index, package in enumerate(packages):
        where = f"packages[{index}]"
        try:
            found = _package(package, by_id, parent, described, image, fallback, origin, names)
        except Unreadable as exc:
            raise unreadable(exc, where, origin) from None
        if found is not None:
            findings.extend(license_findings(found, "spdx", origin, tool))
    return Report(tool="spdx", path=origin, findings=tuple(findings), tool_version=tool, artifact=image or fallback)


def _package(
    package: dict[str, Any],
    by_id: dict[str, dict[str, Any]],
    parent: dict[str, str],
    described: set[str],
    image: str | None,
    fallback: str,
    origin: str,
    names: tuple[tuple[str, str], ...],
) -> Package | None:
    ref = req_str(package, "SPDXID")
    purl = _purl(package)
    purpose = opt_str(package, "primaryPackagePurpose")
    if ref in described or (purl is None and (purpose is None or purpose in _NOT_PACKAGES)):
        return None
    holder = by_id.get(parent.get(ref, ""))
    app = None
    if (
        holder is not None
        and holder.get("primaryPackagePurpose") == "APPLICATION"
        and isinstance(holder.get("name"), str)
    ):
        app = holder["name"]
    found_at = _found_in(opt_str(package, "sourceInfo"))
    return Package(
        name=req_str(package, "name"),
        version=opt_str(package, "versionInfo"),
        purl=purl,
        target=image or app or found_at or fallback,
        path=app or found_at or origin,
        licenses=(_license(package),),
        names=names,
    )


_SOURCE_INFO = re.compile(r"(?:package found in|manifest file|file):\s*/?(\S+)\s*$")
"""Where the tool found the package, as Trivy ("package found in: package-lock.json") and Syft ("acquired package
info from installed node module manifest file: /package-lock.json") write `sourceInfo`."""


def _found_in(source_info: str | None) -> str | None:
    match = _SOURCE_INFO.search(source_info) if source_info else None
    return match[1] if match else None


def _license(package: dict[str, Any]) -> str:
    """`licenseConcluded` unless the tool could not conclude, then `licenseDeclared` (the SPDX 2.3 rule of thumb)."""
    for key in ("licenseConcluded", "licenseDeclared"):
        text = opt_str(package, key)
        if text is not None and text != NO_LICENSE:
            return text
    return NO_LICENSE


def _extracted(doc: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """`LicenseRef-…` → its name (or the start of its text): the policy still judges such a license unknown."""
    out: list[tuple[str, str]] = []
    for index, info in enumerate(objects(doc, "hasExtractedLicensingInfos")):
        where = f"hasExtractedLicensingInfos[{index}]"
        ref = within(where, opt_str, info, "licenseId")
        name = within(where, opt_str, info, "name") or within(where, opt_str, info, "extractedText")
        if ref and name:
            out.append((ref, " ".join(name.split())[:80]))
    return tuple(out)


def _purl(package: dict[str, Any]) -> str | None:
    for index, ref in enumerate(objects(package, "externalRefs")):
        where = f"externalRefs[{index}]"
        category = within(where, opt_str, ref, "referenceCategory")
        # SPDX 2.2 spelt the category with an underscore, 2.3 with a hyphen.
        if category in ("PACKAGE-MANAGER", "PACKAGE_MANAGER") and ref.get("referenceType") == "purl":
            return within(where, opt_str, ref, "referenceLocator")
    return None


def _creator(doc: dict[str, Any]) -> str | None:
    info = doc.get("creationInfo")
    creators = info.get("creators") if isinstance(info, dict) else None
    for creator in creators if isinstance(creators, list) else ():
        if isinstance(creator, str) and creator.startswith("Tool:"):
            # A development build of Syft says `syft-[not provided]`: the tool's name alone then.
            return creator[len("Tool:") :].strip().removesuffix("-[not provided]") or None
    return None


PARSER = SPDXParser()
