"""The gate and remediate actions run for real: act, a real Docker engine, the image built from our Dockerfile."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest

from tests.conftest import corpus_file, require_tool
from tests.e2e.conftest import HOSTED_RUNNER_UID, make_fixture_repo, pin_prebuilt_image, push_by_digest, run_act

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
