"""SBOMs at size: a CycloneDX and an SPDX JSON document of N components (Trivy's shapes), read and gated.

Each component has a purl and a license drawn from a realistic mix (mostly MIT/Apache-2.0, some OR/AND
expressions, a few forbidden or unresolvable ones, some with none); the CycloneDX one also carries one
vulnerability per 20 components. Prints, for each format: the reader alone (best of --repeat, in process),
and the whole `container-gate gate` run with a license policy (wall, CPU, peak RSS of the child process).

    python benchmarks/bench_sbom.py [--components 20000] [--repeat 3] [--keep DIR]

Goal (the license issue): a 20,000-component SBOM reads in under a second. Figures: docs/readers.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_gate import measure  # noqa: E402 (this folder's shared timer)

BIN = Path(sys.executable).parent
MIX = (
    ["MIT"] * 40
    + ["Apache-2.0"] * 25
    + ["BSD-3-Clause"] * 8
    + ["ISC"] * 6
    + ["MIT OR GPL-2.0-only"] * 4
    + ["Apache-2.0 AND LGPL-2.1-only"] * 3
    + ["GPL-3.0-only"] * 2
    + ["SSPL-1.0"] * 1
    + ["LicenseRef-custom"] * 1
    + [""] * 10
)


def cyclonedx(n: int) -> dict[str, Any]:
    components: list[dict[str, Any]] = [{"bom-ref": "app", "type": "application", "name": "package-lock.json"}]
    vulns: list[dict[str, Any]] = []
    for i in range(n):
        purl = f"pkg:npm/pkg-{i}@1.{i % 7}.{i % 13}"
        lic = MIX[i % len(MIX)]
        component: dict[str, Any] = {
            "bom-ref": purl,
            "type": "library",
            "name": f"pkg-{i}",
            "version": f"1.{i % 7}.{i % 13}",
            "purl": purl,
        }
        if lic:
            component["licenses"] = [{"expression": lic}] if " " in lic else [{"license": {"id": lic}}]
        components.append(component)
        if i % 20 == 0:
            vulns.append(
                {
                    "id": f"CVE-2026-{10000 + i}",
                    "ratings": [{"source": {"name": "nvd"}, "score": 7.5, "severity": "high", "method": "CVSSv31"}],
                    "recommendation": f"Upgrade pkg-{i} to version 2.0.0",
                    "affects": [{"ref": purl, "versions": [{"version": component["version"], "status": "affected"}]}],
                }
            )
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"bom-ref": "root", "type": "application", "name": "."}},
        "components": components,
        "dependencies": [{"ref": "app", "dependsOn": [c["bom-ref"] for c in components[1:]]}],
        "vulnerabilities": vulns,
    }


def spdx(n: int) -> dict[str, Any]:
    packages: list[dict[str, Any]] = [
        {
            "SPDXID": "SPDXRef-Application-1",
            "name": "package-lock.json",
            "downloadLocation": "NONE",
            "primaryPackagePurpose": "APPLICATION",
        }
    ]
    relationships = []
    for i in range(n):
        lic = MIX[i % len(MIX)] or "NOASSERTION"
        ref = f"SPDXRef-Package-{i}"
        packages.append(
            {
                "SPDXID": ref,
                "name": f"pkg-{i}",
                "versionInfo": f"1.{i % 7}.{i % 13}",
                "downloadLocation": "NONE",
                "licenseConcluded": lic,
                "licenseDeclared": lic,
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": f"pkg:npm/pkg-{i}@1",
                    }
                ],
                "primaryPackagePurpose": "LIBRARY",
            }
        )
        relationships.append(
            {"spdxElementId": "SPDXRef-Application-1", "relationshipType": "CONTAINS", "relatedSpdxElement": ref}
        )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": ".",
        "documentNamespace": "https://example.invalid/bench",
        "creationInfo": {"creators": ["Tool: trivy-0.76.0"], "created": "2026-12-01T00:00:00Z"},
        "packages": packages,
        "relationships": relationships,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--components", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    from gate.ingest import load_report

    folder = Path(tempfile.mkdtemp(prefix="bench-sbom-"))
    try:
        print(f"{args.components:,} components per SBOM")
        head = f"{'format':10} {'size MiB':>9} {'findings':>9} {'read s':>7}"
        print(f"{head} | {'gate wall s':>11} {'CPU s':>6} {'RSS MiB':>8} exit")
        for name, build in (("cyclonedx", cyclonedx), ("spdx", spdx)):
            path = folder / f"{name}.json"
            path.write_text(json.dumps(build(args.components)))
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                report = load_report(path)
                times.append(time.perf_counter() - start)
            cmd = [
                str(BIN / "container-gate"),
                "gate",
                str(path),
                "--license-allowed",
                "MIT",
                "--license-allowed",
                "Apache-2.0",
                "--license-allowed",
                "BSD-3-Clause",
                "--license-allowed",
                "ISC",
                "--license-forbidden",
                "SSPL-1.0",
                "--json",
                str(folder / f"{name}.result.json"),
            ]
            runs = [measure(cmd) for _ in range(args.repeat)]
            wall, rss, code, cpu, _ = min(runs)
            size = path.stat().st_size / 2**20
            row = f"{name:10} {size:9.1f} {len(report.findings):9,} {min(times):7.3f}"
            print(f"{row} | {wall:11.2f} {cpu:6.2f} {rss:8.0f} {code}")
        if args.keep:
            shutil.copytree(folder, args.keep, dirs_exist_ok=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
