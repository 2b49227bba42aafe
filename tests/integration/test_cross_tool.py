"""Real `trivy config` and hadolint reports beside the Dockerfile they judged: each problem is one finding,
a baseline survives ordinary edits, and `trivy config DIR` findings land on the right file."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from gate.cli import main
from gate.ingest import load_report
from gate.ingest.trivy import PARSER as TRIVY
from tests.conftest import require_tool

pytestmark = pytest.mark.tool

# An ordinary Node image as the issue describes it: the ENV secret on line 9, apt-get without
# --no-install-recommends on line 10, port 22 exposed, no HEALTHCHECK, and root on line 14.
NODE = """FROM node:20-bookworm

WORKDIR /usr/src/app

COPY package*.json ./

ARG NODE_ENV=production

ENV API_TOKEN=sk_live_51HxQ2aZ9vR8kT3mNpQ7wX4yB6cD
RUN apt-get update && apt-get install -y curl
RUN npm ci --omit=dev
COPY . .
EXPOSE 22 3000
USER root
CMD ["node", "server.js"]
"""

MANIFEST = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.25
          securityContext:
            privileged: true
"""

PROBLEMS = {
    "root user (line 14)": {"CG-DF-001", "DS-0002", "DL3002"},
    "ENV secret (line 9)": {"CG-DF-004", "DS-0031", "DL3064"},
    "no --no-install-recommends (line 10)": {"CG-DF-005", "DS-0029", "DL3015"},
    "no HEALTHCHECK": {"CG-DF-014", "DS-0026"},
    "port 22": {"CG-DF-013", "DS-0004"},
}


def trivy_config(target: str, out: Path, cwd: Path, fmt: str = "json") -> None:
    # Offline: no check bundle download (Trivy falls back to the checks embedded in the binary), run in
    # `cwd` so no trivy.yaml or ignore file of this repository applies.
    subprocess.run(
        [
            require_tool("trivy"),
            "config",
            "--skip-check-update",
            "--skip-version-check",
            "--quiet",
            "--cache-dir",
            str(out.parent / "trivy-cache"),
            "--format",
            fmt,
            "--output",
            str(out),
            target,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def hadolint(dockerfile: str, out: Path, cwd: Path) -> None:
    # hadolint exits 1 when it finds something; its JSON is what counts.
    done = subprocess.run(
        [require_tool("hadolint"), "--no-color", "-f", "json", dockerfile], cwd=cwd, capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr
    out.write_text(done.stdout)


def gate(cwd: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.chdir(cwd)
    return main(["gate", *args])


def findings(path: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(path.read_text())["findings"]
    return found


def ids_of(finding: dict[str, Any]) -> set[str]:
    return {finding["id"], *finding["aliases"], *(s["id"] for s in finding["sightings"])}


def test_each_problem_of_an_ordinary_dockerfile_appears_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(NODE)
    reports = tmp_path / "reports"
    reports.mkdir()
    trivy_config(".", reports / "trivy.json", app)
    hadolint("Dockerfile", reports / "hadolint.json", app)
    out, sarif, quality, summary = (reports / n for n in ("r.json", "r.sarif", "cq.json", "summary.md"))
    args = ["Dockerfile", str(reports / "trivy.json"), str(reports / "hadolint.json")]
    outputs = ["--json", str(out), "--sarif", str(sarif), "--codequality", str(quality), "--summary", str(summary)]
    assert gate(app, monkeypatch, *args, *outputs) == 1

    result = findings(out)
    for problem, ids in PROBLEMS.items():
        seen = [f for f in result if ids_of(f) & ids]
        assert len(seen) == 1, f"{problem}: {[(f['id'], f['location']) for f in seen]}"
        (one,) = seen
        assert one["id"] == min(i for i in ids if i.startswith("CG-DF-")) and one["kind"] == "policy"
        assert {s["id"] for s in one["sightings"]} == ids, problem  # every tool's sighting is kept
    assert sorted(f["id"] for f in result) == [
        "CG-DF-001",
        "CG-DF-003",
        "CG-DF-004",
        "CG-DF-005",
        "CG-DF-006",
        "CG-DF-007",
        "CG-DF-008",
        "CG-DF-013",
        "CG-DF-014",
        "DL3008",  # hadolint's own: pin versions (no equivalent)
        "DL3066",  # hadolint's own: non-numeric user
    ]
    by_id = {f["id"]: f for f in result}
    assert by_id["CG-DF-004"]["severity"] == "CRITICAL"  # Trivy's view of the secret wins
    assert by_id["CG-DF-001"]["location"] == {"path": "Dockerfile", "start_line": 14, "end_line": 14}
    assert json.loads(out.read_text())["counts"]["total"] == len(result)

    # Every output shows the merged finding once.
    results = [r for run in json.loads(sarif.read_text())["runs"] for r in run["results"]]
    assert len(results) == len(result)
    assert [r["ruleId"] for r in results].count("CG-DF-001") == 1
    assert len({r["partialFingerprints"]["primaryLocationLineHash"] for r in results}) == len(results)
    issues = json.loads(quality.read_text())
    assert len(issues) == len(result) and len({i["fingerprint"] for i in issues}) == len(issues)
    text = summary.read_text()
    assert "blocked by 3 findings" in text  # the ENV secret, root and --no-install-recommends, once each
    assert text.count("CG-DF-001") == 1 and "DS-0002" not in text and "DL3002" not in text


def test_reports_made_beside_the_dockerfile_meet_it_from_the_folder_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `cd app && trivy config . && hadolint Dockerfile`, then `container-gate gate app` from the folder above:
    # the reports say `Dockerfile`, which from here is app/Dockerfile (it lies beside them).
    app = tmp_path / "app"
    app.mkdir()
    (app / "Dockerfile").write_text(NODE)
    trivy_config(".", app / "trivy.json", app)
    hadolint("Dockerfile", app / "hadolint.json", app)
    out = tmp_path / "r.json"
    assert gate(tmp_path, monkeypatch, "app", "--json", str(out), "--fail-on", "NONE") == 0
    result = findings(out)
    assert {f["location"]["path"] for f in result} == {"app/Dockerfile"}
    for problem, ids in PROBLEMS.items():
        assert len([f for f in result if ids_of(f) & ids]) == 1, problem
    assert len(result) == 11


def edit(root: Path) -> None:
    """Ordinary edits above every problem: comments and a LABEL in the Dockerfile, a label on the Deployment."""
    text = (root / "Dockerfile").read_text()
    text = text.replace(
        "FROM node:20-bookworm\n",
        'FROM node:20-bookworm\nLABEL org.opencontainers.image.source="https://example.com/shop"\n',
        1,
    )
    (root / "Dockerfile").write_text("# syntax=docker/dockerfile:1\n# The shop's front end.\n" + text)
    manifest = root / "k8s" / "deploy.yaml"
    manifest.write_text(
        manifest.read_text().replace("  namespace: shop\n", "  namespace: shop\n  labels:\n    team: shop\n")
    )


def scan(root: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *extra: str) -> tuple[int, Path]:
    trivy_config(".", out / "trivy.json", root)
    hadolint("Dockerfile", out / "hadolint.json", root)
    result = out / "result.json"
    code = gate(
        root,
        monkeypatch,
        "Dockerfile",
        "k8s/deploy.yaml",
        str(out / "trivy.json"),
        str(out / "hadolint.json"),
        "--policy",
        "builtin:kubernetes",
        "--fail-on",
        "LOW",
        "--json",
        str(result),
        "--sarif",
        str(out / "result.sarif"),
        *extra,
    )
    return code, result


def line_hashes(sarif: Path) -> set[str]:
    runs = json.loads(sarif.read_text())["runs"]
    return {r["partialFingerprints"]["primaryLocationLineHash"] for run in runs for r in run["results"]}


def test_a_baseline_survives_ordinary_edits_and_a_new_problem_blocks_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "repo"
    (root / "k8s").mkdir(parents=True)
    (root / "Dockerfile").write_text(NODE)
    (root / "k8s" / "deploy.yaml").write_text(MANIFEST)
    runs = [tmp_path / name for name in ("before", "after", "new")]
    for run in runs:
        run.mkdir()

    code, before = scan(root, runs[0], monkeypatch)
    assert code == 1
    baselined = {f["fingerprint"]: f["id"] for f in findings(before)}
    assert any(f["location"]["path"] == "k8s/deploy.yaml" for f in findings(before))
    assert any(f["location"]["path"] == "Dockerfile" and len(f["sources"]) == 3 for f in findings(before))

    edit(root)
    code, after = scan(root, runs[1], monkeypatch, "--baseline", str(before))
    assert code == 0, [(f["id"], f["location"]) for f in findings(after) if f["blocking"]]
    assert {f["fingerprint"]: f["id"] for f in findings(after)} == baselined
    assert line_hashes(runs[1] / "result.sarif") == line_hashes(runs[0] / "result.sarif")
    assert {f["location"]["start_line"] for f in findings(after) if f["id"] == "CG-DF-001"} == {17}  # lines moved

    dockerfile = root / "Dockerfile"
    dockerfile.write_text(
        dockerfile.read_text().replace("WORKDIR /usr/src/app\n", "WORKDIR /usr/src/app\nRUN sudo mkdir -p /data\n")
    )
    code, new = scan(root, runs[2], monkeypatch, "--baseline", str(before))
    assert code == 1
    blocking = [f for f in findings(new) if f["blocking"]]
    assert [f["id"] for f in blocking] == ["CG-DF-012"]
    assert blocking[0]["sources"] == ["container-gate", "hadolint", "trivy"]  # sudo: ours, DL3004, DS-0010
    assert set(baselined) < {f["fingerprint"] for f in findings(new)}


def test_trivy_config_of_a_folder_puts_each_finding_on_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    for name in ("a", "b"):
        (tree / name).mkdir(parents=True)
        (tree / name / "Dockerfile").write_text("FROM alpine:3.20\nRUN apk add curl\n")
    relative, absolute = tmp_path / "relative.json", tmp_path / "absolute.json"
    trivy_config("tree", relative, tmp_path)  # scanned from outside the tree
    trivy_config(str(tree), absolute, tmp_path)
    assert json.loads(relative.read_text())["Results"][0]["Target"] in ("a/Dockerfile", "b/Dockerfile")

    monkeypatch.chdir(tmp_path)
    typed = load_report(relative)
    general = TRIVY.parse(orjson.loads(relative.read_bytes()), str(relative))
    assert typed == general  # the msgspec path and the plain path agree
    # An absolute folder inside the working tree names the same files.
    assert [(f.id, f.location) for f in load_report(absolute).findings] == [(f.id, f.location) for f in typed.findings]
    root_user = [f for f in typed.findings if f.id == "DS-0002"]
    assert sorted(f.location.path for f in root_user if f.location) == ["tree/a/Dockerfile", "tree/b/Dockerfile"]
    assert len({f.fingerprint for f in root_user}) == 2

    # Trivy's SARIF names the same files: its uris are relative to ROOTPATH, the scanned folder.
    sarif = tmp_path / "tree.sarif"
    trivy_config("tree", sarif, tmp_path, fmt="sarif")
    from_sarif = load_report(sarif)
    assert sorted(f.location.path for f in from_sarif.findings if f.id == "DS-0002" and f.location) == [
        "tree/a/Dockerfile",
        "tree/b/Dockerfile",
    ]

    out = tmp_path / "r.json"
    assert gate(tmp_path, monkeypatch, str(relative), "--json", str(out), "--fail-on", "NONE") == 0
    by_file: dict[str, list[str]] = {}
    for f in findings(out):
        by_file.setdefault(f["location"]["path"], []).append(f["id"])
    assert set(by_file) == {"tree/a/Dockerfile", "tree/b/Dockerfile"}
    assert sorted(by_file["tree/a/Dockerfile"]) == sorted(by_file["tree/b/Dockerfile"])

    # With the Dockerfiles themselves among the inputs, each folder's Trivy findings join our rules there.
    assert gate(tmp_path, monkeypatch, "tree", str(relative), "--json", str(out), "--fail-on", "NONE") == 0
    roots = [f for f in findings(out) if "DS-0002" in ids_of(f)]
    assert sorted((f["id"], f["location"]["path"], tuple(f["sources"])) for f in roots) == [
        ("CG-DF-001", "tree/a/Dockerfile", ("container-gate", "trivy")),
        ("CG-DF-001", "tree/b/Dockerfile", ("container-gate", "trivy")),
    ]
