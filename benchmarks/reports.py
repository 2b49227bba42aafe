"""Generators of large, realistic scanner reports for the benchmarks (shared by every bench script)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_OS_PACKAGES = ("libssl3", "libexpat1", "zlib1g", "libc6", "libsqlite3-0", "curl", "libcurl4", "perl-base")
_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")


def trivy_vulnerability(i: int) -> dict[str, Any]:
    """One Trivy vulnerability entry, shaped like a real `trivy image --format json` one."""
    pkg = f"{_OS_PACKAGES[i % len(_OS_PACKAGES)]}-{i // 50}"
    sev = _SEVERITIES[i % len(_SEVERITIES)]
    cve = f"CVE-20{20 + i % 6}-{10000 + i}"
    entry: dict[str, Any] = {
        "VulnerabilityID": cve,
        "PkgID": f"{pkg}@1.{i % 9}.{i % 7}-1",
        "PkgName": pkg,
        "PkgIdentifier": {"PURL": f"pkg:deb/debian/{pkg}@1.{i % 9}.{i % 7}-1?arch=amd64&distro=debian-12.7"},
        "InstalledVersion": f"1.{i % 9}.{i % 7}-1",
        "Status": "fixed" if i % 3 else "affected",
        "Layer": {"DiffID": "sha256:" + f"{i % 4:02x}" * 32},
        "SeveritySource": "debian",
        "PrimaryURL": f"https://avd.aquasec.com/nvd/{cve.lower()}",
        "DataSource": {"ID": "debian", "Name": "Debian Security Tracker", "URL": "https://salsa.debian.org/"},
        "Title": f"{pkg}: a realistic title for a realistic vulnerability number {i}",
        "Description": "A description of typical length. " * 12,
        "Severity": sev,
        "CweIDs": ["CWE-787"],
        "VendorSeverity": {"debian": 1 + i % 4, "nvd": 1 + i % 4},
        "CVSS": {"nvd": {"V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "V3Score": 4.0 + (i % 60) / 10}},
        "References": [f"https://nvd.nist.gov/vuln/detail/{cve}", f"https://security-tracker.debian.org/tracker/{cve}"],
        "PublishedDate": "2024-08-30T03:15:03.757Z",
        "LastModifiedDate": "2024-09-04T14:28:19.313Z",
    }
    if i % 3:
        entry["FixedVersion"] = f"1.{i % 9}.{i % 7}-2"
    return entry


def trivy_report(count: int) -> dict[str, Any]:
    """A Trivy SchemaVersion 2 image report with `count` vulnerabilities."""
    image = "ghcr.io/example/big:1.0"
    return {
        "SchemaVersion": 2,
        "CreatedAt": "2026-11-28T02:14:07.512Z",
        "ArtifactName": image,
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.7"}, "RepoTags": [image]},
        "Results": [
            {
                "Target": f"{image} (debian 12.7)",
                "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": [trivy_vulnerability(i) for i in range(count)],
            }
        ],
    }


def write_trivy(path: Path, count: int) -> Path:
    """Write a generated report and return its path."""
    path.write_text(json.dumps(trivy_report(count)))
    return path
