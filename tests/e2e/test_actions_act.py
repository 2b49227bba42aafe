"""The gate and remediate actions run for real: act, a real Docker engine, the image built from our Dockerfile."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import REPO, corpus_file, require_tool
from tests.e2e.conftest import (
    HOSTED_RUNNER_UID,
    IMAGE_TAG,
    containers_mounting,
    make_fixture_repo,
    pin_prebuilt_image,
    push_by_digest,
    run_act,
)

pytestmark = [pytest.mark.act, pytest.mark.docker, pytest.mark.corpus]

BLOCKED_REPORT = "trivy/trivy-golden_debian-buster.json"
"""One CRITICAL (CVE-2019-18224, libidn2-0, fixed) and one LOW (CVE-2019-18276, bash): blocks at HIGH."""
PASSING_REPORT = "trivy/trivy-golden_alpine-310.json"
"""Four MEDIUM openssl findings: passes at HIGH, shown as four warnings."""


def _env_file(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)


def _assert_sarif(path: Path, rule_id: str) -> None:
    sarif = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads(corpus_file("schemas/sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    assert rule_id in {r["ruleId"] for run in sarif["runs"] for r in run["results"]}


@pytest.mark.parametrize(
    "owner",
    [
        pytest.param(None, id="act-default"),
        pytest.param(HOSTED_RUNNER_UID, id="hosted-1001"),
        pytest.param(1234, id="self-hosted-1234"),
    ],
)
def test_gate_action_blocks_and_reports(tmp_path: Path, base_image: str, owner: int | None) -> None:
    """Whoever owns the workspace (act's default: whoever runs act, root on CI), the action blocks, reports, and
    leaves its files to that owner."""
    files: dict[str, Path | str] = {"fixtures/blocked/debian-buster.json": corpus_file(BLOCKED_REPORT)}
    repo = make_fixture_repo(tmp_path, base_image, ["gate-blocked.yml"], files, owner=owner)
    expected_owner = (repo.stat().st_uid, repo.stat().st_gid)

    run = run_act(repo, "gate-blocked.yml", base_image)

    assert run.returncode != 0, run.log[-3000:]
    assert "exit with `FAILURE`: 1" in run.log, run.log[-3000:]
    # act keeps a failed job's container unless told not to: one left per blocked run, idling for ever on CI.
    assert containers_mounting(repo) == []
    assert run.outputs() == {
        "verdict": "fail",
        "blocking": "1",
        "critical": "1",
        "high": "0",
        "sarif-file": "container-gate.sarif",
    }
    errors = run.annotations("error")
    assert len(errors) == 1 and "CVE-2019-18224" in errors[0] and "libidn2-0" in errors[0]
    assert any("CVE-2019-18276" in n for n in run.annotations("notice"))
    assert "blocked by 1 finding" in run.summary() and "CVE-2019-18224" in run.summary()
    # The outputs as a later step saw them, and the files the action wrote into the workspace.
    assert _env_file(repo / "out" / "outputs.env") == {
        "OUT_OUTCOME": "failure",
        "OUT_VERDICT": "fail",
        "OUT_BLOCKING": "1",
        "OUT_CRITICAL": "1",
        "OUT_HIGH": "0",
        "OUT_SARIF_FILE": "container-gate.sarif",
    }
    _assert_sarif(repo / "container-gate.sarif", "CVE-2019-18224")
    result = json.loads((repo / "out" / "result.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "fail" and result["counts"]["blocking"] == 1
    for written in (repo / "container-gate.sarif", repo / "out" / "result.json"):
        assert (written.stat().st_uid, written.stat().st_gid) == expected_owner, written


def test_gate_action_under_act_with_no_options(tmp_path: Path, base_image: str) -> None:
    """act exactly as a new user runs it: no --bind, so the job gets a root-owned copy of the checkout."""
    files: dict[str, Path | str] = {"fixtures/blocked/debian-buster.json": corpus_file(BLOCKED_REPORT)}
    repo = make_fixture_repo(tmp_path, base_image, ["gate-blocked.yml"], files)

    run = run_act(repo, "gate-blocked.yml", base_image, bind=False)

    assert run.returncode != 0 and "exit with `FAILURE`: 1" in run.log, run.log[-3000:]
    assert "Permission denied" not in run.log, run.log[-3000:]
    outputs = run.outputs()
    assert (outputs["verdict"], outputs["blocking"], outputs["sarif-file"]) == ("fail", "1", "container-gate.sarif")
    written = {name: owner for owner, name in re.findall(r"written-by=(\d+:\d+) (\S+)", run.log)}
    assert written == {"container-gate.sarif": "0:0", "out/result.json": "0:0"}, run.log[-3000:]
    # Nothing was written into the host checkout: act worked on its copy.
    assert not (repo / "container-gate.sarif").exists()


def test_gate_action_passes(tmp_path: Path, base_image: str) -> None:
    repo = make_fixture_repo(
        tmp_path, base_image, ["gate-pass.yml"], {"fixtures/pass/alpine-310.json": corpus_file(PASSING_REPORT)}
    )

    run = run_act(repo, "gate-pass.yml", base_image)

    assert run.returncode == 0, run.log[-3000:]
    assert run.outputs() == {
        "verdict": "pass",
        "blocking": "0",
        "critical": "0",
        "high": "0",
        "sarif-file": "container-gate.sarif",
    }
    warnings = run.annotations("warning")
    assert len(warnings) == 4 and all("MEDIUM" in w for w in warnings)
    assert not run.annotations("error")
    assert "passed" in run.summary() and "4 active findings" in run.summary()
    assert _env_file(repo / "out" / "outputs.env")["OUT_OUTCOME"] == "success"
    _assert_sarif(repo / "container-gate.sarif", "CVE-2019-1549")


def test_selftest_workflow_runs_green(tmp_path: Path, base_image: str) -> None:
    """Our own .github/workflows/selftest.yml: the known-bad example blocks, our Dockerfile passes."""
    repo = make_fixture_repo(tmp_path, base_image, [], {})

    run = run_act(repo, "selftest.yml", base_image)

    assert run.returncode == 0, run.log[-4000:]
    assert "Success - Main Check the known-bad outputs" in run.log
    assert "Success - Main Check our own Dockerfile passes" in run.log
    assert json.loads((repo / "selftest-bad.json").read_text(encoding="utf-8"))["verdict"] == "fail"


@pytest.mark.registry
def test_remediate_action_dry_run_against_local_registry(tmp_path: Path, base_image: str) -> None:
    from tests.integration.registry.oci import Pusher
    from tests.integration.registry.servers import start_registry, stop

    server = start_registry(tmp_path / "registry")
    try:
        pusher = Pusher(server.url)
        for tag in ("3.11.1-slim", "3.11.4-slim", "3.12.0-slim", "3.13.0rc1-slim", "4.0.0-slim"):
            pusher.image("library/python", tag)
        dockerfile = "FROM python:3.11.1-slim\nRUN python -V\n"
        repo = make_fixture_repo(
            tmp_path / "repo", base_image, ["remediate-dry-run.yml"], {"fixtures/remediate/Dockerfile": dockerfile}
        )

        run = run_act(repo, "remediate-dry-run.yml", base_image, "--env", f"CG_REGISTRY={server.url}")
    finally:
        stop(server)

    assert run.returncode == 0, run.log[-4000:]
    assert "+FROM python:3.12.0-slim" in run.log and "-FROM python:3.11.1-slim" in run.log
    plan = json.loads((repo / "out" / "plan.json").read_text(encoding="utf-8"))
    updates = [(u["from"], u["to"], u["line"]) for u in plan["updates"]]
    assert updates == [("python:3.11.1-slim", "python:3.12.0-slim", 1)]
    assert (repo / "fixtures" / "remediate" / "Dockerfile").read_text(encoding="utf-8") == dockerfile


@pytest.mark.registry
def test_prebuilt_image_by_digest_is_pulled_not_built(tmp_path: Path, base_image: str, action_image: str) -> None:
    """The release path: `image: docker://REGISTRY/container-gate@sha256:...` starts without any build."""
    from tests.integration.registry.servers import start_registry, stop

    server = start_registry(tmp_path / "registry")
    try:
        reference = push_by_digest(action_image, server.host)
        files: dict[str, Path | str] = {"fixtures/pass/alpine-310.json": corpus_file(PASSING_REPORT)}
        repo = make_fixture_repo(tmp_path / "repo", base_image, ["gate-pass.yml"], files)
        pin_prebuilt_image(repo / "action.yml", reference)
        run = run_act(repo, "gate-pass.yml", base_image)
    finally:
        subprocess.run(["docker", "rmi", reference], capture_output=True, check=False)
        stop(server)

    assert run.returncode == 0, run.log[-3000:]
    assert f"docker pull image={reference}" in run.log
    assert "docker build" not in run.log
    assert run.outputs()["verdict"] == "pass"
    # The pinned form is what zizmor and Scorecard accept: no unpinned-images finding.
    zizmor = subprocess.run(
        [require_tool("zizmor"), "--offline", "--persona=pedantic", str(repo / "action.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert zizmor.returncode == 0, zizmor.stdout


# The reusable .github/workflows/gate.yml, called from tests/e2e/workflows/gate-workflow.yml with `reports:` (the
# scans cannot run here: no scanner database can be downloaded) and the action image built from our Dockerfile.


def _trivy_report(vulnerabilities: list[dict[str, str]]) -> str:
    """A hand-made Trivy image report (schema 2) of one Debian image."""
    result: dict[str, object] = {"Target": "ghcr.io/acme/app:1.0.0 (debian 12.5)", "Class": "os-pkgs", "Type": "debian"}
    if vulnerabilities:
        result["Vulnerabilities"] = vulnerabilities
    report = {
        "SchemaVersion": 2,
        "ArtifactName": "ghcr.io/acme/app:1.0.0",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}, "RepoTags": ["ghcr.io/acme/app:1.0.0"]},
        "Results": [result],
    }
    return json.dumps(report, indent=2)


FIXABLE_HIGH = _trivy_report(
    [
        {
            "VulnerabilityID": "CVE-2024-5535",
            "PkgName": "libssl3",
            "InstalledVersion": "3.0.11-1~deb12u2",
            "FixedVersion": "3.0.13-1~deb12u1",
            "Status": "fixed",
            "Severity": "HIGH",
            "Title": "openssl: SSL_select_next_proto buffer overread",
        }
    ]
)
"""One HIGH with a fixed version: blocks at fail-on HIGH."""
CLEAN = _trivy_report([])
"""The same image with nothing found."""
APP_DOCKERFILE = (
    f'FROM debian:12-slim@sha256:{"a" * 64}\nRUN useradd --system app\nHEALTHCHECK NONE\nUSER app\nCMD ["/bin/true"]\n'
)
"""A Dockerfile the built-in checks find nothing in, so the report alone decides."""


def _reusable_gate_repo(root: Path, base_image: str, report: str) -> Path:
    # act names a called workflow's job containers after that workflow's name: a name of this repository's own
    # keeps parallel runs (pytest -n) out of each other's containers, as make_fixture_repo does for the callers.
    tag = hashlib.sha256(str(root).encode()).hexdigest()[:8]
    called = (REPO / ".github" / "workflows" / "gate.yml").read_text(encoding="utf-8")
    called, count = re.subn(r"(?m)^name: (.*)$", rf"name: \1 ({tag})", called, count=1)
    assert count == 1
    files: dict[str, Path | str] = {
        ".github/workflows/gate.yml": called,
        "fixtures/reports/trivy.json": report,
        "fixtures/app/Dockerfile": APP_DOCKERFILE,
    }
    return make_fixture_repo(root, base_image, ["gate-workflow.yml"], files)


def test_reusable_gate_workflow_blocks_a_fixable_high(
    tmp_path: Path, base_image: str, action_image: str, runner_image: str
) -> None:
    assert action_image == IMAGE_TAG  # what gate-workflow.yml passes as gate-image
    repo = _reusable_gate_repo(tmp_path, base_image, FIXABLE_HIGH)

    run = run_act(repo, "gate-workflow.yml", runner_image)

    assert run.returncode != 0 and "Job 'container-gate' failed" in run.log, run.log[-4000:]
    outputs = run.outputs()
    assert (outputs["mode"], outputs["verdict"], outputs["blocking"], outputs["sarif"]) == (
        "reports",
        "fail",
        "1",
        "true",
    )
    summary = run.summary()
    assert "blocked by 1 finding" in summary and "CVE-2024-5535" in summary, summary
    result = json.loads((repo / ".container-gate" / "gate.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "fail"
    blocking = [f for f in result["findings"] if f["blocking"]]
    assert [(f["id"], f["fixed_version"]) for f in blocking] == [("CVE-2024-5535", "3.0.13-1~deb12u1")]
    # the report and the Dockerfile (clean) were read, and nothing was built, pulled or scanned
    assert [(r["path"], r["findings"]) for r in result["reports"]] == [
        ("fixtures/reports/trivy.json", 1),
        ("fixtures/app/Dockerfile", 0),
    ]
    assert "docker build" not in run.log and "docker pull --" not in run.log
    # the SARIF went from the gate job, as an artifact, to the one job allowed to upload it
    _assert_sarif(repo / ".container-gate" / "gate.sarif", "CVE-2024-5535")
    assert "would upload container-gate-results/gate.sarif with 1 results" in run.log, run.log[-4000:]
    # act ends the run when a called workflow fails, so the caller's `if: always()` job does not start here (on
    # GitHub it does); the passing case below checks the workflow-level outputs through that job.


def test_reusable_gate_workflow_passes_a_clean_report(
    tmp_path: Path, base_image: str, action_image: str, runner_image: str
) -> None:
    assert action_image == IMAGE_TAG
    repo = _reusable_gate_repo(tmp_path, base_image, CLEAN)

    run = run_act(repo, "gate-workflow.yml", runner_image)

    assert run.returncode == 0, run.log[-4000:]
    outputs = run.outputs()
    assert (outputs["verdict"], outputs["blocking"], outputs["sarif"]) == ("pass", "0", "true")
    assert "passed" in run.summary() and "none blocking" in run.summary()
    assert "would upload container-gate-results/gate.sarif with 0 results" in run.log
    # the workflow's own outputs (on.workflow_call.outputs), as the calling workflow's next job saw them
    assert _env_file(repo / "out" / "workflow-outputs.env") == {
        "OUT_RESULT": "success",
        "OUT_VERDICT": "pass",
        "OUT_BLOCKING": "0",
    }
