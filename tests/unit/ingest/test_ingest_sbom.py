"""CycloneDX and SPDX SBOMs as inputs: detected by content, packages and licenses as the real Trivy writes
them, vulnerabilities with ratings, fixes and analysis, and one-line errors for shapes we cannot trust.

The license SBOMs are made by the real Trivy (`trivy fs --format cyclonedx|spdx-json --scanners license`) from a
package-lock.json built here. The vulnerability BOMs are written by hand in Trivy's CycloneDX shape
(aquasecurity/trivy pkg/sbom/cyclonedx/marshal.go: `ratings` per source, `affects[].ref` the component's
bom-ref with `versions[].status: affected`, the fix only in `recommendation` "Upgrade X to version Y")
because Trivy writes vulnerabilities only with its database, which cannot be fetched here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gate.errors import InputError
from gate.ingest import load_report
from gate.model import Finding, FixState, Kind, Severity
from tests.conftest import require_tool

# Document builders: the required fields of each format and what a test varies.


def cdx(
    *,
    spec: str = "1.5",
    root: dict[str, Any] | None = None,
    components: list[dict[str, Any]] | None = None,
    vulnerabilities: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": spec,
        "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "trivy", "version": "0.76.0"}]},
            "component": root or {"bom-ref": "root", "type": "application", "name": "."},
        },
        "components": components or [],
    }
    if vulnerabilities is not None:
        doc["vulnerabilities"] = vulnerabilities
    return doc


def spdx(
    *,
    version: str = "SPDX-2.3",
    packages: list[dict[str, Any]],
    relationships: list[dict[str, Any]] | None = None,
    extracted: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "spdxVersion": version,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "shop",
        "documentNamespace": "https://example.invalid/shop",
        "creationInfo": {"creators": ["Tool: syft-1.57.2"], "created": "2026-12-01T00:00:00Z"},
        "packages": packages,
        "relationships": relationships or [],
    }
    if extracted is not None:
        doc["hasExtractedLicensingInfos"] = extracted
    return doc


def purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}


def write(folder: Path, doc: dict[str, Any], name: str = "input") -> Path:
    path = folder / name
    path.write_text(json.dumps(doc))
    return path


LICENSES = {
    "plain": "MIT",
    "either": "(MIT OR GPL-2.0-only)",
    "both": "(Apache-2.0 AND LGPL-2.1-only)",
    "sspl": "SSPL-1.0",
    "custom": "LicenseRef-acme",
    "bare": None,
}


def lock_tree(root: Path) -> Path:
    """A package-lock.json (v3) naming each package's license as npm records it."""
    packages: dict[str, Any] = {
        "": {"name": "shop", "version": "1.0.0", "dependencies": dict.fromkeys(LICENSES, "1.0.0")}
    }
    for name, lic in LICENSES.items():
        packages[f"node_modules/{name}"] = {"version": "1.0.0", **({"license": lic} if lic else {})}
    root.mkdir(parents=True, exist_ok=True)
    lock = {"name": "shop", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": packages}
    (root / "package-lock.json").write_text(json.dumps(lock))
    return root


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same tree as Trivy's JSON, CycloneDX and SPDX JSON; file names say nothing of the format."""
    trivy = require_tool("trivy")
    base = tmp_path_factory.mktemp("sbom")
    tree = lock_tree(base / "tree")
    out: dict[str, Path] = {}
    for fmt in ("json", "cyclonedx", "spdx-json"):
        out[fmt] = trivy_license_scan(tree, fmt, base / f"out-{len(out)}", trivy=trivy)
    return out


def trivy_license_scan(tree: Path, fmt: str, target: Path, *, trivy: str | None = None) -> Path:
    """`trivy fs --scanners license` of `tree` in `fmt` (json, cyclonedx, spdx-json), offline, into `target`."""
    cache = target.parent / "trivy-cache"
    subprocess.run(
        [trivy or require_tool("trivy"), "fs", "-q", "--cache-dir", str(cache), "--skip-db-update", "--offline-scan",
         "--scanners", "license", "--format", fmt, "--output", str(target), str(tree)],
        check=True,
        timeout=180,
    )  # fmt: skip
    return target


def licenses_of(findings: tuple[Finding, ...]) -> dict[str, str]:
    return {f.package or "": f.id for f in findings if f.kind is Kind.LICENSE}


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx-json"])
def test_trivy_sboms_are_read_by_content_with_every_package_and_its_license(made: dict[str, Path], fmt: str) -> None:
    report = load_report(made[fmt])
    assert report.tool == ("cyclonedx" if fmt == "cyclonedx" else "spdx")
    assert report.tool_version and "trivy" in report.tool_version
    # Every package once, its license as Trivy wrote it (parentheses dropped in SBOMs), the unlicensed one
    # as NOASSERTION for the policy to judge unknown; the lock file itself is not a package.
    assert licenses_of(report.findings) == {
        "plain": "MIT",
        "either": "MIT OR GPL-2.0-only",
        "both": "Apache-2.0 AND LGPL-2.1-only",
        "sspl": "SSPL-1.0",
        "custom": "LicenseRef-acme",
        "bare": "NOASSERTION",
    }
    for finding in report.findings:
        assert finding.target == "package-lock.json"
        assert finding.location is not None and finding.location.path == "package-lock.json"
        assert finding.prop("from") == "sbom"
        assert finding.prop("purl") == f"pkg:npm/{finding.package}@1.0.0"
        assert finding.installed_version == "1.0.0"


def test_a_package_of_a_cyclonedx_bom_nested_in_another_is_read_with_its_holder_as_target(tmp_path: Path) -> None:
    bom = cdx(
        components=[
            {
                "bom-ref": "app",
                "type": "application",
                "name": "services/api/package-lock.json",
                "components": [
                    {"bom-ref": "pkg:npm/left@1", "type": "library", "name": "left", "version": "1",
                     "licenses": [{"license": {"name": "Apache 2.0"}}]},
                    {"type": "library", "name": "deep", "version": "2", "purl": "pkg:npm/deep@2",
                     "components": [{"type": "library", "name": "deeper", "purl": "pkg:npm/deeper@3",
                                     "licenses": [{"expression": "MIT AND ISC"}]}]},
                ],
            }
        ]
    )  # fmt: skip
    report = load_report(write(tmp_path, bom))
    assert licenses_of(report.findings) == {"left": "Apache 2.0", "deep": "NOASSERTION", "deeper": "MIT AND ISC"}
    targets = {f.package: f.target for f in report.findings}
    assert targets["left"] == targets["deep"] == "services/api/package-lock.json"


def test_concluded_licenses_win_over_declared_ones_when_a_bom_marks_them(tmp_path: Path) -> None:
    component = {
        "type": "library",
        "name": "dual",
        "purl": "pkg:pypi/dual@1",
        "licenses": [
            {"license": {"id": "GPL-3.0-only", "acknowledgement": "declared"}},
            {"expression": "MIT", "acknowledgement": "concluded"},
        ],
    }
    report = load_report(write(tmp_path, cdx(spec="1.6", components=[component])))
    assert [f.id for f in report.findings] == ["MIT"]


def test_an_image_sbom_names_the_image_as_the_target_of_every_package(tmp_path: Path) -> None:
    bom = cdx(
        root={"bom-ref": "pkg:oci/alpine@sha256%3Aabc", "type": "container", "name": "alpine:3.19"},
        components=[
            {"bom-ref": "os", "type": "operating-system", "name": "alpine", "version": "3.19.1"},
            {"bom-ref": "pkg:apk/alpine/busybox@1.36.1-r15", "type": "library", "name": "busybox",
             "version": "1.36.1-r15", "purl": "pkg:apk/alpine/busybox@1.36.1-r15",
             "licenses": [{"license": {"id": "GPL-2.0-only"}}],
             "properties": [{"name": "aquasecurity:trivy:PkgType", "value": "alpine"}]},
        ],
    )  # fmt: skip
    report = load_report(write(tmp_path, bom))
    assert report.artifact == "alpine:3.19"
    assert [(f.package, f.target) for f in report.findings] == [("busybox", "alpine:3.19")]


def vulnerable_bom(**analysis: str) -> dict[str, Any]:
    """Trivy's CycloneDX shape for an image with one fixable vulnerability in openssl (see the module docstring)."""
    vuln: dict[str, Any] = {
        "id": "CVE-2024-0727",
        "source": {"name": "alpine", "url": "https://secdb.alpinelinux.org/"},
        "ratings": [
            {"source": {"name": "alpine"}, "severity": "medium"},
            {"source": {"name": "nvd"}, "score": 5.5, "severity": "medium", "method": "CVSSv31",
             "vector": "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:N/I:N/A:H"},
            {"source": {"name": "redhat"}, "score": 7.1, "severity": "high", "method": "CVSSv31"},
        ],
        "cwes": [476],
        "description": "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash",
        "recommendation": "Upgrade libcrypto3 to version 3.1.4-r5",
        "advisories": [{"url": "https://avd.aquasec.com/nvd/cve-2024-0727"}],
        "affects": [
            {"ref": "pkg:apk/alpine/libcrypto3@3.1.4-r2", "versions": [{"version": "3.1.4-r2", "status": "affected"}]}
        ],
    }  # fmt: skip
    if analysis:
        vuln["analysis"] = analysis
    return cdx(
        root={"bom-ref": "pkg:oci/shop", "type": "container", "name": "registry.example/shop:1.2"},
        components=[
            {"bom-ref": "pkg:apk/alpine/libcrypto3@3.1.4-r2", "type": "library", "name": "libcrypto3",
             "version": "3.1.4-r2", "purl": "pkg:apk/alpine/libcrypto3@3.1.4-r2",
             "licenses": [{"license": {"id": "Apache-2.0"}}]},
        ],
        vulnerabilities=[vuln],
    )  # fmt: skip


def test_a_cyclonedx_vulnerability_becomes_a_finding_on_the_package_it_affects(tmp_path: Path) -> None:
    report = load_report(write(tmp_path, vulnerable_bom()))
    (finding,) = [f for f in report.findings if f.kind is Kind.VULNERABILITY]
    assert (finding.id, finding.package, finding.installed_version) == ("CVE-2024-0727", "libcrypto3", "3.1.4-r2")
    assert finding.target == "registry.example/shop:1.2"
    assert finding.severity is Severity.HIGH  # the strictest rating given
    assert finding.cvss_score == 7.1
    assert finding.fixed_version == "3.1.4-r5" and finding.fix_state is FixState.FIXED and finding.fixable
    assert finding.references == ("https://avd.aquasec.com/nvd/cve-2024-0727",)
    assert finding.tool_suppression is None


@pytest.mark.parametrize(
    ("state", "suppressed"),
    [
        ("not_affected", True),
        ("false_positive", True),
        ("resolved", True),
        ("in_triage", False),
        ("exploitable", False),
    ],
)
def test_an_analysis_state_that_says_nothing_is_left_to_fix_suppresses_with_its_justification(
    tmp_path: Path, state: str, suppressed: bool
) -> None:
    bom = vulnerable_bom(state=state, justification="code_not_reachable", detail="PKCS12 is never parsed")
    (finding,) = [f for f in load_report(write(tmp_path, bom)).findings if f.kind is Kind.VULNERABILITY]
    if not suppressed:
        assert finding.tool_suppression is None
        return
    assert finding.tool_suppression is not None
    assert "code_not_reachable" in finding.tool_suppression.reason
    assert "PKCS12 is never parsed" in finding.tool_suppression.reason


def test_refs_outside_the_bom_are_read_from_their_purl_or_reported_skipped(tmp_path: Path) -> None:
    bom = vulnerable_bom()
    bom["vulnerabilities"][0]["affects"] += [
        {"ref": "pkg:npm/%40acme/widget@2.0.1"},
        {"ref": "urn:cdx:3e671687-395b-41f5-a30f-a58921a69b79/1#nowhere"},
    ]
    report = load_report(write(tmp_path, bom))
    packages = {(f.package, f.installed_version) for f in report.findings if f.kind is Kind.VULNERABILITY}
    assert packages == {("libcrypto3", "3.1.4-r2"), ("@acme/widget", "2.0.1")}
    assert len(report.skipped) == 1 and "nowhere" in report.skipped[0].reason


def test_sbom_vulnerabilities_merge_with_the_same_ones_from_a_trivy_report(tmp_path: Path) -> None:
    from gate.cli import main

    trivy = {
        "SchemaVersion": 2,
        "ArtifactName": "registry.example/shop:1.2",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "registry.example/shop:1.2 (alpine 3.19.1)",
                "Class": "os-pkgs",
                "Type": "alpine",
                "Vulnerabilities": [
                    {"VulnerabilityID": "CVE-2024-0727", "PkgName": "libcrypto3", "InstalledVersion": "3.1.4-r2",
                     "FixedVersion": "3.1.4-r5", "Severity": "MEDIUM", "Status": "fixed"}
                ],
            }
        ],
    }  # fmt: skip
    (tmp_path / "trivy.json").write_text(json.dumps(trivy))
    write(tmp_path, vulnerable_bom(), "bom.json")
    out = tmp_path / "result.json"
    code = main(["gate", str(tmp_path / "trivy.json"), str(tmp_path / "bom.json"), "--json", str(out)])
    findings = [f for f in json.loads(out.read_text())["findings"] if f["kind"] == "vulnerability"]
    assert len(findings) == 1, findings
    assert sorted(findings[0]["sources"]) == ["cyclonedx", "trivy"]
    assert findings[0]["severity"] == "HIGH" and code == 1


def test_without_a_license_policy_an_sbom_adds_no_license_finding(made: dict[str, Path], tmp_path: Path) -> None:
    from gate.cli import main

    out = tmp_path / "result.json"
    code = main(["gate", str(made["cyclonedx"]), str(made["spdx-json"]), "--json", str(out)])
    assert code == 0
    assert json.loads(out.read_text())["findings"] == []


def test_spdx_license_refs_stay_unknown_and_carry_the_name_the_document_gives_them(tmp_path: Path) -> None:
    doc = spdx(
        packages=[
            {"SPDXID": "SPDXRef-Package-1", "name": "odd", "versionInfo": "1", "licenseConcluded": "NOASSERTION",
             "licenseDeclared": "LicenseRef-7f", "externalRefs": [purl_ref("pkg:pypi/odd@1")]},
        ],
        extracted=[{"licenseId": "LicenseRef-7f", "extractedText": "All rights reserved", "name": "Acme EULA"}],
    )  # fmt: skip
    (finding,) = load_report(write(tmp_path, doc)).findings
    assert finding.id == "LicenseRef-7f"  # declared, since nothing was concluded
    assert finding.prop("license_names") == "LicenseRef-7f is Acme EULA"
    assert "Acme EULA" in finding.title


def test_spdx_2_2_underscore_categories_and_an_image_document(tmp_path: Path) -> None:
    doc = spdx(
        version="SPDX-2.2",
        packages=[
            {"SPDXID": "SPDXRef-ContainerImage-1", "name": "shop:1.2", "primaryPackagePurpose": "CONTAINER"},
            {"SPDXID": "SPDXRef-OperatingSystem-1", "name": "debian", "primaryPackagePurpose": "OPERATING-SYSTEM"},
            {"SPDXID": "SPDXRef-Package-2", "name": "zlib1g", "versionInfo": "1:1.2.13", "licenseConcluded": "Zlib",
             "externalRefs": [{**purl_ref("pkg:deb/debian/zlib1g@1.2.13"), "referenceCategory": "PACKAGE_MANAGER"}]},
        ],
        relationships=[{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                        "relatedSpdxElement": "SPDXRef-ContainerImage-1"}],
    )  # fmt: skip
    report = load_report(write(tmp_path, doc))
    assert [(f.package, f.id, f.target) for f in report.findings] == [("zlib1g", "Zlib", "shop:1.2")]


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}, "CycloneDX specVersion '1.2' is not read"),
        ({"spdxVersion": "SPDX-3.0", "SPDXID": "SPDXRef-DOCUMENT"}, "SPDX version 'SPDX-3.0' is not read"),
        (
            {
                "bomFormat": "CycloneDX",
                "specVersion": "1.5",
                "components": [{}, {"type": "library", "name": "x", "licenses": [{"license": {}}]}],
            },
            "components[1].licenses[0]: a license needs",
        ),
        ({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": {"a": 1}}, "components: expected a list"),
        (
            {**vulnerable_bom(), "vulnerabilities": [{"id": "CVE-1", "ratings": [{"severity": "apocalyptic"}]}]},
            "vulnerabilities[0].ratings[0].severity: unknown value 'apocalyptic'",
        ),
        (
            {**vulnerable_bom(), "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "fine"}}]},
            "vulnerabilities[0].analysis.state: unknown value 'fine'",
        ),
        (
            {"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "packages": [{"name": "no-id"}]},
            "packages[0].SPDXID: missing",
        ),
    ],
    ids=["old-cyclonedx", "spdx-3", "license-empty", "components-object", "bad-rating", "bad-state", "spdx-no-id"],
)
def test_sboms_we_cannot_trust_are_one_line_errors_naming_the_file_and_the_entry(
    tmp_path: Path, doc: dict[str, Any], says: str
) -> None:
    path = write(tmp_path, doc)
    with pytest.raises(InputError) as caught:
        load_report(path)
    assert says in str(caught.value)
    assert str(path) in caught.value.path if caught.value.path else False
    assert "\n" not in str(caught.value)


def statement(predicate_type: str, predicate: Any, version: str = "v1") -> dict[str, Any]:
    """An in-toto Statement as `docker buildx --sbom` attaches it (in-toto/attestation spec v1, or v0.1)."""
    return {
        "_type": f"https://in-toto.io/Statement/{version}",
        "subject": [{"name": "registry.example/shop", "digest": {"sha256": "ab" * 32}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def test_an_in_toto_statement_is_read_as_the_sbom_it_carries(made: dict[str, Path], tmp_path: Path) -> None:
    spdx_doc = json.loads(made["spdx-json"].read_text())
    cdx_doc = json.loads(made["cyclonedx"].read_text())
    for doc, kind, tool in (
        (statement("https://spdx.dev/Document", spdx_doc, "v0.1"), "spdx", "spdx"),
        (statement("https://spdx.dev/Document/v2.3", spdx_doc), "spdx", "spdx"),
        (statement("https://cyclonedx.org/bom/v1.6", cdx_doc), "cdx", "cyclonedx"),
    ):
        report = load_report(write(tmp_path, doc, f"{kind}.intoto.json"))
        assert report.tool == tool
        assert licenses_of(report.findings) == licenses_of(load_report(made["spdx-json"]).findings)


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        (
            statement("https://slsa.dev/provenance/v1", {"buildDefinition": {}}),
            "only SPDX and CycloneDX SBOM predicates",
        ),
        (
            statement("https://spdx.dev/Document", {"bomFormat": "CycloneDX"}),
            "not the spdx document its predicateType says",
        ),
        ({"payloadType": "application/vnd.in-toto+json", "payload": "not base64!", "signatures": []}, "not base64"),
        (
            {"payloadType": "application/vnd.in-toto+json", "payload": "eyJhIjogMX0=", "signatures": []},
            "not an in-toto statement",
        ),
    ],
    ids=["provenance", "mismatch", "bad-base64", "not-a-statement"],
)
def test_attestations_we_cannot_read_are_one_line_errors(tmp_path: Path, doc: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError, match=says):
        load_report(write(tmp_path, doc))


@pytest.fixture(scope="module")
def syft_made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same npm tree as Syft v1.57.2 (built by .ci/build-go-tools.sh syft) writes it in SPDX and CycloneDX."""
    from tests.conftest import go_tool

    syft = go_tool("syft")
    base = tmp_path_factory.mktemp("syft")
    tree = lock_tree(base / "tree")
    out = {"spdx-json": base / "a", "cyclonedx-json": base / "b"}
    subprocess.run(
        [syft, "scan", f"dir:{tree}", "-q", *(f"--output={fmt}={path}" for fmt, path in out.items())],
        check=True,
        timeout=180,
        env={"PATH": "/usr/bin:/bin", "HOME": str(base), "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    return out


@pytest.mark.parametrize("fmt", ["spdx-json", "cyclonedx-json"])
def test_syft_sboms_read_like_trivys(syft_made: dict[str, Path], fmt: str, tmp_path: Path) -> None:
    from gate.cli import main

    report = load_report(syft_made[fmt])
    assert report.tool_version == "syft"  # a source build says "[not provided]": the name alone is kept
    found = {p: lic.strip("()") for p, lic in licenses_of(report.findings).items()}
    # Syft also lists the project itself (`shop`, no license), which Trivy leaves out.
    assert found == {**{p: (lic or "NOASSERTION").strip("()") for p, lic in LICENSES.items()}, "shop": "NOASSERTION"}
    assert {(f.target, f.location.path if f.location else None) for f in report.findings} == {
        ("package-lock.json", "package-lock.json")
    }
    out = tmp_path / "result.json"
    policy = ["--license-allowed", "MIT", "--license-allowed", "Apache-2.0", "--license-forbidden", "SSPL-1.0"]
    assert main(["gate", str(syft_made[fmt]), *policy, "--json", str(out)]) == 1
    blocking = {f["package"] for f in json.loads(out.read_text())["findings"] if f["blocking"]}
    assert blocking == {"both", "sspl"}
