"""SBOMs attested with the real cosign (v2.6.5) on an image in a real registry and fetched back with
`cosign download attestation`: the DSSE envelope cosign prints is read as the SBOM inside it, and the license
policy judges it exactly as it judges the plain SBOM Trivy wrote."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import requests

from gate.cli import main
from gate.ingest import load_report
from tests.conftest import go_tool, require_tool
from tests.integration.registry.oci import Pusher
from tests.integration.registry.servers import RegistryServer
from tests.unit.ingest.test_ingest_sbom import lock_tree

pytestmark = pytest.mark.registry

POLICY = ["--license-allowed", "MIT", "--license-allowed", "Apache-2.0", "--license-forbidden", "SSPL-1.0"]


def cosign(*args: str, cwd: Path) -> str:
    env = {**os.environ, "COSIGN_PASSWORD": "test-only", "COSIGN_YES": "true", "SIGSTORE_NO_CACHE": "1"}
    done = subprocess.run(
        [go_tool("cosign"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def blocking(tmp_path: Path, report: Path) -> set[str]:
    out = tmp_path / f"{report.name}.result.json"
    main(["gate", str(report), *POLICY, "--json", str(out)])
    return {f["package"] for f in json.loads(out.read_text())["findings"] if f["blocking"]}


@pytest.mark.parametrize(("fmt", "kind"), [("spdx-json", "spdxjson"), ("cyclonedx", "cyclonedx")])
def test_an_sbom_attestation_downloaded_from_the_registry_is_judged_like_the_sbom(
    registry: RegistryServer, tmp_path: Path, fmt: str, kind: str
) -> None:
    tree = lock_tree(tmp_path / "tree")
    sbom = tmp_path / "sbom.json"
    subprocess.run(
        [require_tool("trivy"), "fs", "-q", "--cache-dir", str(tmp_path / "cache"), "--scanners", "license",
         "--format", fmt, "--output", str(sbom), str(tree)],
        check=True,
        timeout=180,
    )  # fmt: skip
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
