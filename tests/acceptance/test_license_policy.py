"""The license policy end to end on real Trivy output: a small npm tree scanned by the trivy binary in three shapes
(its JSON license results, CycloneDX, SPDX JSON), judged by our CLI with allowed [MIT, Apache-2.0], forbidden
[SSPL-1.0], unknown: warn.

In each shape exactly the packages whose expression cannot be satisfied block, the unresolvable ones warn without
blocking, the allowed ones raise no finding (none in the SARIF file) and are counted in the inventory instead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_tool

REPO = Path(__file__).resolve().parents[2]

TREE: dict[str, str | None] = {
    "a-mit": "MIT",
    "b-either": "(MIT OR GPL-2.0-only)",
    "c-both": "(Apache-2.0 AND LGPL-2.1-only)",
    "d-sspl": "SSPL-1.0",
    "e-ref": "LicenseRef-foo",
    "f-none": None,
    "g-apache": "Apache-2.0",
    "h-mit-too": "MIT",
    "i-see": "SEE LICENSE IN LICENSE.txt",
}
ALLOWED = {"a-mit", "b-either", "g-apache", "h-mit-too"}
BLOCKING = {"c-both", "d-sspl"}
SHAPES = {"json": "trivy-licenses.json", "cyclonedx": "trivy.cdx.json", "spdx-json": "trivy.spdx.json"}
POLICY = "licenses:\n  allowed: [MIT, Apache-2.0]\n  forbidden: [SSPL-1.0]\n  unknown: warn\n  severity: HIGH\n"


def _tree(root: Path) -> Path:
    """node_modules/*/package.json and the package-lock.json (v3) npm writes for them."""
    app = root / "app"
    deps = dict.fromkeys(TREE, "1.0.0")
    packages: dict[str, Any] = {"": {"name": "app", "version": "1.0.0", "dependencies": deps}}
    for name, license_text in TREE.items():
        manifest: dict[str, str] = {"name": name, "version": "1.0.0"}
        entry = {"version": "1.0.0", "resolved": f"https://registry.npmjs.org/{name}/-/{name}-1.0.0.tgz"}
        if license_text is not None:
            manifest["license"] = entry["license"] = license_text
        (app / "node_modules" / name).mkdir(parents=True)
        (app / "node_modules" / name / "package.json").write_text(json.dumps(manifest))
        packages[f"node_modules/{name}"] = entry
    lock = {"name": "app", "version": "1.0.0", "lockfileVersion": 3, "requires": True, "packages": packages}
    (app / "package.json").write_text(json.dumps({"name": "app", "version": "1.0.0", "dependencies": deps}))
    (app / "package-lock.json").write_text(json.dumps(lock, indent=2))
    return app


def _trivy(root: Path, shape: str) -> Path:
    """`trivy fs --scanners license` (the SBOM formats list the packages whatever the scanners): no vulnerability
    database is needed, nothing is downloaded."""
    report = root / SHAPES[shape]
    cmd = [require_tool("trivy"), "fs", "--scanners", "license", "--format", shape, "--output", str(report)]
    cmd += ["--offline-scan", "--skip-db-update", "--cache-dir", str(root / "cache"), "--quiet", "app"]
    # In the tree's folder: the repository's own trivy.yaml is not read.
    subprocess.run(cmd, cwd=root, check=True, capture_output=True, timeout=120)
    return report


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("licenses")
    _tree(root)
    for shape in SHAPES:
        _trivy(root, shape)
    (root / ".container-gate.yml").write_text(POLICY)
    return root


def _gate(root: Path, *extra: str, report: str = SHAPES["json"]) -> tuple[int, dict[str, Any], dict[str, Any], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI"))}
    cmd = [sys.executable, "-m", "gate", "gate", report, "--json", "out.json"]
    cmd += ["--sarif", "out.sarif", "--summary", "summary.md", *extra]
    run = subprocess.run(cmd, cwd=root, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    result = json.loads((root / "out.json").read_text())
    sarif = json.loads((root / "out.sarif").read_text())
    return run.returncode, result, sarif, (root / "summary.md").read_text()


def test_trivy_reports_every_named_license_as_written(scanned: Path) -> None:
    doc = json.loads((scanned / "trivy-licenses.json").read_text())
    seen = {lic["PkgName"]: lic["Name"] for r in doc["Results"] for lic in r.get("Licenses") or ()}
    # Trivy keeps the expressions whole and says nothing of a package that names no license.
    assert seen == {name: text for name, text in TREE.items() if text is not None}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_only_unsatisfiable_expressions_block(scanned: Path, shape: str) -> None:
    code, result, sarif, summary = _gate(scanned, report=SHAPES[shape])
    assert code == 1 and result["verdict"] == "fail"
    findings = {f["package"]: f for f in result["findings"]}
    # A package naming no license: Trivy's JSON leaves it out, an SBOM lists it with none (NOASSERTION).
    warned = {"e-ref", "i-see"} | ({"f-none"} if shape != "json" else set())
    assert set(findings) == BLOCKING | warned  # allowed ones raise no finding
    assert {p for p, f in findings.items() if f["blocking"]} == BLOCKING
    assert all(f["kind"] == "license" and f["severity"] == "HIGH" for f in findings.values())
    assert "LGPL-2.1-only: not in licenses.allowed" in findings["c-both"]["title"]
    assert "SSPL-1.0 is forbidden" in findings["d-sspl"]["title"]
    for package in warned:
        warn = findings[package]
        assert not warn["blocking"] and warn["suppressed"] is None, package
        assert warn["properties"]["license_warn"] == "true"

    results = [r for run in sarif["runs"] for r in run["results"]]
    assert len(results) == len(findings)
    text = json.dumps(sarif)
    assert not any(name in text for name in ALLOWED)

    inventory = result["license_inventory"]
    assert inventory["policy"] is True and inventory["packages"] == 8 + (shape != "json")
    assert inventory["licenses"][0] == {"license": "MIT", "packages": 2, "violations": 0, "unknown": 0, "excepted": 0}
    rows = inventory["licenses"]
    assert sum(r["packages"] for r in rows) == len(ALLOWED) + len(BLOCKING) + len(warned)
    assert sum(r["violations"] for r in rows) == len(BLOCKING)
    assert sum(r["unknown"] for r in rows) == len(warned)
    by_license = {r["license"].strip("()"): (r["packages"], r["violations"], r["unknown"]) for r in rows}
    assert by_license["MIT OR GPL-2.0-only"] == (1, 0, 0)
    assert by_license["Apache-2.0 AND LGPL-2.1-only"] == (1, 1, 0)
    assert by_license["SSPL-1.0"] == (1, 1, 0)
    assert by_license["Apache-2.0"] == (1, 0, 0)
    assert by_license["LicenseRef-foo"] == (1, 0, 1)
    licenses = len(rows)
    assert f"<details><summary>{inventory['packages']} packages, {licenses} licenses, most packages first" in summary
    assert "| MIT | 2 | 0 | 0 | 0 |" in summary


def test_fail_on_above_the_license_severity_passes(scanned: Path) -> None:
    code, result, _, _ = _gate(scanned, "--fail-on", "CRITICAL")
    assert code == 0 and result["counts"]["blocking"] == 0
    assert len(result["findings"]) == 4


def test_exceptions_per_package_with_expiry(scanned: Path) -> None:
    (scanned / "exceptions.yaml").write_text(
        "- id: license:SSPL-1.0\n  packages: ['d-*']\n  reason: internal tool, vetted\n  expires: 2999-01-01\n"
        "- id: license:LGPL-2.1-only\n  packages: [c-both]\n  reason: old waiver\n  expires: 2020-01-01\n"
    )
    code, result, _, summary = _gate(scanned, "--ignore-file", "exceptions.yaml")
    findings = {f["package"]: f for f in result["findings"]}
    assert code == 1 and {p for p, f in findings.items() if f["blocking"]} == {"c-both"}
    assert findings["d-sspl"]["suppressed"] == {
        "by": "ignore",
        "reason": "internal tool, vetted (exceptions.yaml)",
        "expires": "2999-01-01",
    }
    assert [e["id"] for e in result["expired_ignores"]] == ["license:LGPL-2.1-only"]
    sspl = next(r for r in result["license_inventory"]["licenses"] if r["license"] == "SSPL-1.0")
    assert (sspl["violations"], sspl["excepted"]) == (0, 1)
    assert "internal tool, vetted" in summary


def test_flags_add_to_the_policy(scanned: Path) -> None:
    # --license-allowed adds to licenses.allowed: LGPL-2.1-only allowed, the AND is satisfied.
    code, result, _, _ = _gate(scanned, "--license-allowed", "LGPL-2.1-only")
    assert code == 1
    assert {f["package"] for f in result["findings"] if f["blocking"]} == {"d-sspl"}
