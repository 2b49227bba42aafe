"""What the CycloneDX and SPDX readers share: a package as an SBOM describes it, and its license facts.

An SBOM lists every package, allowed or not. Its licenses become license findings marked `from: sbom`;
the license policy (`gate.decide.licenses`) keeps only the violations and unknowns, and without a policy
they are inventory and dropped, so an SBOM never floods code scanning the way per-dependency alerts do.
"""

from __future__ import annotations

from dataclasses import dataclass

from gate.model import Finding, Kind, Location, Severity, Source

NO_LICENSE = "NOASSERTION"
"""The license of a package that names none: the policy judges it unknown (SPDX's own word for it)."""


@dataclass(frozen=True, slots=True)
class Package:
    """One package of an SBOM, with what the gate needs to place and judge it."""

    name: str
    version: str | None
    purl: str | None
    target: str
    """What the package is part of, as Trivy and Grype name it: the image, else the lock file or folder."""
    path: str
    """The file a finding about it points at: where the tool found it, else the SBOM itself."""
    licenses: tuple[str, ...]
    """License expressions as written (ids, names or SPDX expressions), `NO_LICENSE` when none."""
    names: tuple[tuple[str, str], ...] = ()
    """What a document's own `LicenseRef-…` ids stand for (SPDX `hasExtractedLicensingInfos`), for people."""


def license_findings(package: Package, tool: str, origin: str, version: str | None) -> list[Finding]:
    """One license fact per (package, license) for the policy to judge."""
    out: list[Finding] = []
    where = " ".join(p for p in (package.name, package.version) if p)
    for expression in dict.fromkeys(package.licenses):
        props = [("from", "sbom"), ("license_expression", expression)]
        if package.purl:
            props.append(("purl", package.purl))
        named = "; ".join(f"{ref} is {name}" for ref, name in package.names if ref in expression)
        if named:
            props.append(("license_names", named))
        out.append(
            Finding(
                id=expression,
                kind=Kind.LICENSE,
                severity=Severity.UNKNOWN,
                title=f"{expression} license in {where}" + (f" ({named})" if named else ""),
                target=package.target,
                package=package.name,
                installed_version=package.version,
                location=Location(path=package.path),
                sources=(Source(tool, origin, version, expression, None),),
                properties=tuple(props),
            )
        )
    return out
