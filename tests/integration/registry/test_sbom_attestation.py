"""SBOMs attested with the real cosign (v2.6.5) on an image in a real registry and fetched back with
`cosign download attestation`: the DSSE envelope cosign prints is read as the SBOM inside it, and the license
policy judges it exactly as it judges the plain SBOM Trivy wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from gate.cli import main
from gate.ingest import load_report
from tests.integration.registry.oci import Pusher
from tests.integration.registry.servers import RegistryServer
from tests.integration.registry.test_registry_signatures import cosign
from tests.unit.ingest.test_ingest_sbom import lock_tree, trivy_license_scan

pytestmark = pytest.mark.registry

POLICY = ["--license-allowed", "MIT", "--license-allowed", "Apache-2.0", "--license-forbidden", "SSPL-1.0"]


def blocking(tmp_path: Path, report: Path) -> set[str]:
    out = tmp_path / f"{report.name}.result.json"
    main(["gate", str(report), *POLICY, "--json", str(out)])
    return {f["package"] for f in json.loads(out.read_text())["findings"] if f["blocking"]}


@pytest.mark.parametrize(("fmt", "kind"), [("spdx-json", "spdxjson"), ("cyclonedx", "cyclonedx")])
def test_an_sbom_attestation_downloaded_from_the_registry_is_judged_like_the_sbom(
    registry: RegistryServer, tmp_path: Path, fmt: str, kind: str
) -> None:
    tree = lock_tree(tmp_path / "tree")
    sbom = trivy_license_scan(tree, fmt, tmp_path / "sbom.json")
    with requests.Session() as session:
        digest = Pusher(registry.url, session=session).image(f"org/attested-{kind}", "1.0.0", salt=kind)
    image = f"localhost:{registry.port}/org/attested-{kind}@{digest}"
    flags = ("--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry")
    cosign("generate-key-pair", cwd=tmp_path)
    cosign("attest", "--key", "cosign.key", "--type", kind, "--predicate", str(sbom), *flags, image, cwd=tmp_path)
    envelope = tmp_path / "attestation.json"
    envelope.write_text(
        cosign("download", "attestation", "--allow-http-registry", "--allow-insecure-registry", image, cwd=tmp_path)
    )

    assert json.loads(envelope.read_text())["payloadType"] == "application/vnd.in-toto+json"
    report = load_report(envelope)
    assert report.tool == ("spdx" if kind == "spdxjson" else "cyclonedx")
    assert {f.package for f in report.findings} == {f.package for f in load_report(sbom).findings}
    assert blocking(tmp_path, envelope) == blocking(tmp_path, sbom) == {"both", "sspl"}
