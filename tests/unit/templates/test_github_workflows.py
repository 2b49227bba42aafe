"""Every shipped GitHub workflow, example caller and action: schema-valid, actionlint and zizmor clean, hardened and
pinned; the reusable workflows' inputs are real CLI flags, and their callers pass only inputs that exist."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.cli import build_parser
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
ALL_WORKFLOWS = [*WORKFLOWS, *EXAMPLES]
ACTIONS = [ROOT / "action.yml", ROOT / "remediate" / "action.yml"]
ZIZMOR_CONFIG = ROOT / ".github" / "zizmor.yml"
DOCS = [ROOT / "README.md", ROOT / "docs" / "workflows.md"]
HARDEN = "step-security/harden-runner@"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
SLSA_GENERATOR = "slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml"
"""The one reference by tag (the generator refuses a SHA); .github/zizmor.yml documents why."""
SLSA_CALLER = "provenance-slsa.yml"
OURS = re.compile(r"^org/container-gate/\.github/workflows/(?P<file>[\w.-]+\.yml)@")
ENDPOINT = re.compile(r"^(\*\.)?[a-z0-9.-]+\.[a-z]{2,}:\d{2,5}$")
DIGEST_PINNED = re.compile(r"^[a-z0-9./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$")

GATE_WORKFLOW_SETTINGS = {
    "gate-image",
    "image",
    "context",
    "dockerfile",
    "reports",
    "upload-sarif",
    "artifact-name",
    "registry",
    "registry-username",
    "allowed-endpoints",
}
"""Reusable-gate inputs that name what to build, pull, scan and judge, or shape the upload, the login or the egress
policy, rather than pass a flag (dockerfile and reports become PATH arguments; upload-sarif is the sarif job,
codeql-action's upload, not --upload-sarif)."""
GATE_WORKFLOW_LISTS = {"policy", "namespace", "data", "ignore-file", "vex"}
"""Reusable-gate inputs that are space-separated lists, each word one repeated flag."""
REMEDIATE_WORKFLOW_SETTINGS = {
    "gate-image",
    "repositories",
    "repositories-file",
    "max-parallel",
    "paths",
    "app-id",
    "registry-endpoints",
}
"""Reusable-remediate inputs that shape the matrix, the token or the egress policy (paths: PATH arguments)."""
REMEDIATE_GATE_FLAGS = {"fail-on"}
"""Reusable-remediate inputs that are the gate's flags (the gate judges the images' scan reports)."""
PROVENANCE_SETTINGS = {"image", "digest", "sbom-format", "sbom-tool", "registry-username", "registry-endpoints"}
"""provenance.yml's inputs: none is a container-gate flag (they feed Trivy or Syft, cosign and the attestations)."""


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def workflow(name: str) -> dict[Any, Any]:
    return load(ROOT / ".github" / "workflows" / name)


def call_spec(doc: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on` as True
    spec = doc[True]["workflow_call"]
    assert isinstance(spec, dict)
    return spec


def called_file(uses: str) -> str | None:
    """`remediate.yml` for `org/container-gate/.github/workflows/remediate.yml@...`, None for anything else."""
    match = OURS.match(uses)
    return match["file"] if match else None


def uses_lines(path: Path) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"^\s*(?:- )?uses:\s*(.+)$", path.read_text(), re.M)]


def steps(doc: dict[Any, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield name, step


def scripts(doc: dict[Any, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for _, step in steps(doc))


def subcommand_options(command: str) -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {opt: a for a in sub.choices[command]._actions for opt in a.option_strings if opt.startswith("--")}


def gate_options() -> dict[str, argparse.Action]:
    return subcommand_options("gate")


def zizmor(*paths: Path, config: bool = True) -> subprocess.CompletedProcess[str]:
    tool = require_tool("zizmor")
    settings = ["--config", str(ZIZMOR_CONFIG)] if config else ["--no-config"]
    argv = [tool, "--offline", "--persona", "pedantic", *settings, "--format", "json", *map(str, paths)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)


def test_there_are_reusable_scheduled_and_provenance_workflows() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"gate.yml", "remediate.yml", "provenance.yml", SLSA_CALLER, "ci.yml", "selftest.yml"} <= names
    assert "nightly-remediation.yml" in {p.name for p in EXAMPLES}
    assert "schedule" in workflow("nightly.yml")[True]  # our own scheduled run, not only an example
    for name in ("gate.yml", "remediate.yml", "provenance.yml", SLSA_CALLER):
        assert "workflow_call" in workflow(name)[True], name


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_workflow_is_valid_against_the_schema(path: Path) -> None:
    tool = require_tool("check-jsonschema")
    for schema in ("vendor.github-workflows", "custom.github-workflows-require-timeout"):
        result = subprocess.run([tool, "--builtin-schema", schema, str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.parent.name or p.name)
def test_action_is_valid_against_the_schema(path: Path) -> None:
    tool = require_tool("check-jsonschema")
    result = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-actions", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing() -> None:
    tool = require_tool("actionlint")
    result = subprocess.run([tool, *map(str, ALL_WORKFLOWS)], capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_zizmor_pedantic_finds_nothing() -> None:
    result = zizmor(*ALL_WORKFLOWS, *ACTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_the_zizmor_config_allows_exactly_the_slsa_generator_by_tag() -> None:
    policies = load(ZIZMOR_CONFIG)["rules"]["unpinned-uses"]["config"]["policies"]
    assert policies == {SLSA_GENERATOR: "ref-pin", "*": "hash-pin"}
    # The reason is written next to the exception.
    assert "refuses to run" in ZIZMOR_CONFIG.read_text() and SLSA_CALLER in ZIZMOR_CONFIG.read_text()
    # Without the config, that one reference is the only finding in the whole repository.
    result = zizmor(*ALL_WORKFLOWS, *ACTIONS, config=False)
    findings = json.loads(result.stdout)
    assert [f["ident"] for f in findings] == ["unpinned-uses"], result.stdout[-3000:]
    assert SLSA_CALLER in json.dumps(findings[0]["locations"])


def test_the_slsa_generator_is_called_by_a_full_release_tag() -> None:
    job = workflow(SLSA_CALLER)["jobs"]["provenance"]
    target, _, ref = job["uses"].partition("@")
    assert target == SLSA_GENERATOR and re.fullmatch(r"v\d+\.\d+\.\d+", ref)
    assert job["permissions"] == {"actions": "read", "id-token": "write", "packages": "write"}


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_permissions_are_empty_at_the_top_and_set_per_job(path: Path) -> None:
    doc = load(path)
    assert doc.get("permissions") == {}
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} has no permissions"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_job_starts_with_harden_runner_blocking_egress(path: Path) -> None:
    for name, job in load(path)["jobs"].items():
        if "uses" in job:  # a job calling a reusable workflow has no steps of its own
            assert "steps" not in job
            continue
        first = job["steps"][0]
        assert str(first.get("uses", "")).startswith(HARDEN), f"{path.name}: job {name} does not start with it"
        assert "if" not in first, f"{path.name}: job {name} must always harden the runner"
        assert first["with"]["egress-policy"] == "block", f"{path.name}: job {name}"
        # an input may add the caller's registries (`${{ inputs.registry-endpoints }}`); the rest are literal
        literal = re.sub(r"\$\{\{.*?\}\}", " ", first["with"]["allowed-endpoints"])
        endpoints = literal.split()
        assert endpoints, f"{path.name}: job {name} allows no endpoint"
        for endpoint in endpoints:
            assert ENDPOINT.match(endpoint), f"{path.name}: job {name}: {endpoint} is not host:port"
        assert len(endpoints) == len(set(endpoints)), f"{path.name}: job {name} lists an endpoint twice"


def test_every_workflow_uses_one_harden_runner_commit() -> None:
    pins = {line for path in ALL_WORKFLOWS for line in uses_lines(path) if line.startswith(HARDEN)}
    assert len(pins) == 1, pins


@pytest.mark.parametrize("path", [*ALL_WORKFLOWS, *ACTIONS], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_remote_uses_is_pinned_by_sha_with_a_version(path: Path) -> None:
    for line in uses_lines(path):
        if line.startswith(("./", "docker://")):
            continue
        if path.name == SLSA_CALLER and line.startswith(f"{SLSA_GENERATOR}@"):
            continue  # the documented exception (see test_the_zizmor_config_allows_exactly_the_slsa_generator_by_tag)
        assert PINNED.match(line), f"{path.name}: {line}"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_images_the_jobs_run_are_pinned_by_digest(path: Path) -> None:
    for _, step in steps(load(path)):
        for name, value in (step.get("env") or {}).items():
            if name.endswith("_IMAGE") and "${{" not in str(value):
                assert DIGEST_PINNED.match(str(value)), f"{path.name}: {name}={value}"


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_checkout_never_keeps_credentials(path: Path) -> None:
    for _, step in steps(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", ALL_WORKFLOWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_inputs_reach_run_only_through_env(path: Path) -> None:
    for _, step in steps(load(path)):
        assert "${{" not in step.get("run", ""), f"{path.name}: expression in run: of {step.get('name')}"


def test_reusable_gate_inputs_are_real_gate_flags() -> None:
    doc = workflow("gate.yml")
    inputs = call_spec(doc)["inputs"]
    options = gate_options()
    assert GATE_WORKFLOW_SETTINGS <= set(inputs)
    flags = set(inputs) - GATE_WORKFLOW_SETTINGS
    assert {f"--{n}" for n in flags} <= set(options), sorted({f"--{n}" for n in flags} - set(options))
    assert {"fail-on", "only-fixed", "policy", "config"} <= flags  # what issue 15 names
    assert set(inputs["fail-on"].get("options", options["--fail-on"].choices or ())) <= set(
        options["--fail-on"].choices or ()
    )
    text = scripts(doc)
    for name in flags:
        assert f"--{name}" in text, f"input {name} never reaches the CLI"
        action = options[f"--{name}"]
        if isinstance(action, argparse._StoreTrueAction):
            assert inputs[name]["type"] == "boolean", name
        else:
            assert inputs[name]["type"] == "string", name
        if name in GATE_WORKFLOW_LISTS:
            assert isinstance(action, argparse._AppendAction), f"--{name} is not repeatable"
    assert inputs["gate-image"]["required"] is True
    assert inputs["upload-sarif"]["type"] == "boolean"


def _step(doc: dict[Any, Any], job: str, key: str) -> dict[str, Any]:
    """The step of a job with this id or name."""
    found: list[dict[str, Any]] = [s for s in doc["jobs"][job]["steps"] if key in (s.get("id"), s.get("name"))]
    assert len(found) == 1, f"{job}: no single step {key}"
    return found[0]


def _run_step(
    step: dict[str, Any], tmp_path: Path, env: dict[str, str], path: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """A step's script with bash (as the runner runs it), in tmp_path, with its env names set as given (the rest
    empty): its result, what it wrote to GITHUB_OUTPUT, and to GITHUB_STEP_SUMMARY."""
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.write_text("")
    summary.write_text("")
    values = dict.fromkeys(step.get("env") or {}, "") | env
    assert set(env) <= set(values), sorted(set(env) - set(step.get("env") or {}))
    base = {"PATH": f"{path}:/usr/bin:/bin" if path else "/usr/bin:/bin", "HOME": str(tmp_path)}
    files = {"GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary), "RUNNER_TEMP": str(tmp_path)}
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
        cwd=tmp_path,
        env=base | files | values,
        capture_output=True,
        text=True,
        check=False,
    )
    written = dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)
    return done, written, summary.read_text()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"REPORTS": "a.json b.json"}, {"mode": "reports", "target": ""}),
        (
            {"IMAGE": "ghcr.io/acme/api:1.2@sha256:" + "0" * 64},
            {"mode": "pull", "target": "ghcr.io/acme/api:1.2@sha256:" + "0" * 64},
        ),
        ({"CONTEXT": ".", "DOCKERFILE": "Dockerfile"}, {"mode": "build", "target": "acme/web-app:" + "f" * 40}),
        ({"REPORTS": "a.json", "IMAGE": "alpine"}, None),  # one or the other
        ({"IMAGE": "alpine;id"}, None),  # not a reference
        ({"CONTEXT": "."}, None),  # a build needs a Dockerfile
    ],
    ids=["reports", "pull", "build", "both", "bad-image", "no-dockerfile"],
)
def test_the_reusable_gate_picks_what_to_scan_from_its_inputs(
    tmp_path: Path, given: dict[str, str], expected: dict[str, str] | None
) -> None:
    step = _step(workflow("gate.yml"), "gate", "plan")
    env = {"REPOSITORY": "Acme/Web-App", "SHA": "f" * 40} | given
    done, written, _ = _run_step(step, tmp_path, env)
    if expected is None:
        assert done.returncode == 1 and "::error title=container-gate::" in done.stdout, done.stdout + done.stderr
        return
    assert done.returncode == 0, done.stderr
    assert {k: written[k] for k in ("mode", "target")} == expected
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", written["day"])  # the cache keys' day


_FAKE_DOCKER = """#!/bin/sh
# records the gate's command line, writes what the gate would, exits as told
printf '%s\\n' "$@" > "$ARGV_FILE"
if [ "$FAKE_RC" != 2 ]; then
  mkdir -p .container-gate
  printf '{"verdict": "%s", "counts": {"blocking": %s}}' "$FAKE_VERDICT" "$FAKE_BLOCKING" > .container-gate/gate.json
  echo '{"version": "2.1.0"}' > .container-gate/gate.sarif
  echo '## container-gate: the summary' > .container-gate/gate.md
fi
exit "$FAKE_RC"
"""


def _fake_docker(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(_FAKE_DOCKER)
    docker.chmod(0o755)
    return bin_dir


def _gate_step_with_fake_docker(
    tmp_path: Path, env: dict[str, str], rc: int, verdict: str = "fail", blocking: int = 0
) -> tuple[subprocess.CompletedProcess[str], list[str], dict[str, str], str]:
    step = _step(workflow("gate.yml"), "gate", "gate")
    fake = {"ARGV_FILE": str(tmp_path / "argv"), "FAKE_RC": str(rc), "FAKE_VERDICT": verdict}
    fake["FAKE_BLOCKING"] = str(blocking)
    step = {**step, "env": {**step["env"], **dict.fromkeys(fake, "")}}
    done, written, summary = _run_step(step, tmp_path, {**env, **fake}, _fake_docker(tmp_path))
    argv = (tmp_path / "argv").read_text().splitlines() if (tmp_path / "argv").exists() else []
    return done, argv, written, summary


def test_the_reusable_gate_passes_every_input_as_its_flag(tmp_path: Path) -> None:
    env = {
        "GATE_IMAGE": "ghcr.io/org/container-gate@sha256:" + "1" * 64,
        "MODE": "reports",
        "REPORTS": "reports/trivy.json reports/grype.json",
        "DOCKERFILE": "services/api/Dockerfile",
        "FAIL_ON": "CRITICAL",
        "ONLY_FIXED": "true",
        "POLICY": "policy builtin:dockerfile",
        "NAMESPACE": "main docker.*",
        "ALL_NAMESPACES": "true",
        "DATA": "data/a.yaml data/b.json",
        "IGNORE_FILE": ".trivyignore.yaml",
        "VEX": "a.openvex.json b.openvex.json",
        "CONFIG": "ci/gate.yml",
    }
    done, argv, written, summary = _gate_step_with_fake_docker(tmp_path, env, rc=1, blocking=3)

    assert done.returncode == 1, done.stderr  # the gate's exit status is the job's
    image = argv.index(env["GATE_IMAGE"])
    assert argv[:image] == ["run", "--rm", "--network", "none", "-v", f"{tmp_path}:/work", "-w", "/work"]
    assert argv[image + 1 :] == [
        "gate",
        *("--fail-on", "CRITICAL", "--json", ".container-gate/gate.json", "--sarif", ".container-gate/gate.sarif"),
        *("--summary", ".container-gate/gate.md", "--only-fixed", "--all-namespaces", "--config", "ci/gate.yml"),
        *("--policy", "policy", "--policy", "builtin:dockerfile", "--namespace", "main", "--namespace", "docker.*"),
        *("--data", "data/a.yaml", "--data", "data/b.json", "--ignore-file", ".trivyignore.yaml"),
        *("--vex", "a.openvex.json", "--vex", "b.openvex.json"),
        *("--", "reports/trivy.json", "reports/grype.json", "services/api/Dockerfile"),
    ]
    # every flag the parser knows is spelled as it knows it
    options = gate_options()
    assert {a for a in argv[image + 2 :] if a.startswith("--") and a != "--"} <= set(options)
    assert written == {"verdict": "fail", "blocking": "3", "sarif": "true"}
    assert summary == "## container-gate: the summary\n"


def test_the_reusable_gate_judges_its_own_scans_and_the_defaults_add_no_flag(tmp_path: Path) -> None:
    env = {"GATE_IMAGE": "gate@sha256:" + "1" * 64, "MODE": "build", "DOCKERFILE": "Dockerfile", "FAIL_ON": "HIGH"}
    env |= {"ONLY_FIXED": "false", "ALL_NAMESPACES": "false"}
    done, argv, written, _ = _gate_step_with_fake_docker(tmp_path, env, rc=0, verdict="pass")

    assert done.returncode == 0, done.stderr
    assert argv[argv.index("--summary") + 2 :] == [
        "--",
        ".container-gate/trivy.json",
        ".container-gate/grype.json",
        "Dockerfile",
    ]
    assert written == {"verdict": "pass", "blocking": "0", "sarif": "true"}


def test_the_reusable_gate_says_error_when_the_gate_cannot_decide(tmp_path: Path) -> None:
    env = {"GATE_IMAGE": "gate@sha256:" + "1" * 64, "MODE": "reports", "REPORTS": "missing.json", "FAIL_ON": "HIGH"}
    done, _, written, summary = _gate_step_with_fake_docker(tmp_path, env, rc=2)

    assert done.returncode == 2
    assert written == {"verdict": "error", "blocking": "", "sarif": "false"}
    assert "could not decide (exit 2)" in summary


def test_the_reusable_gate_scans_with_pinned_trivy_and_grype_and_caches_their_databases_per_day() -> None:
    doc = workflow("gate.yml")
    job = doc["jobs"]["gate"]
    names = [str(s.get("name") or s.get("uses")) for s in job["steps"]]
    order = ["Build or pull the image", "Restore Trivy's database", "Restore Grype's database"]
    order += ["Scan the image (Trivy and Grype)", "Gate"]
    assert [names.index(n) for n in order] == sorted(names.index(n) for n in order)  # build before anything is written
    scan = _step(doc, "gate", "Scan the image (Trivy and Grype)")
    # the same Trivy as remediate.yml and provenance.yml (one pin to bump), Grype by digest
    trivy = {str(s["env"]["TRIVY_IMAGE"]) for _, s in steps(doc) if "TRIVY_IMAGE" in (s.get("env") or {})}
    others = {
        str(s["env"]["TRIVY_IMAGE"])
        for name in ("remediate.yml", "provenance.yml")
        for _, s in steps(workflow(name))
        if "TRIVY_IMAGE" in (s.get("env") or {})
    }
    assert len(trivy) == 1 and trivy == others
    assert re.fullmatch(r"ghcr\.io/anchore/grype:v[\d.]+@sha256:[0-9a-f]{64}", scan["env"]["GRYPE_IMAGE"])
    images = {"trivy": next(iter(trivy)), "grype": scan["env"]["GRYPE_IMAGE"]}
    for tool, path in (("trivy", ".trivy-cache/db"), ("grype", ".grype-cache")):
        version = images[tool].split("@")[0].rsplit(":", 1)[1].removeprefix("v")
        restore = [s for s in job["steps"] if s.get("id") == f"{tool}-db"]
        save = [
            s
            for s in job["steps"]
            if str(s.get("uses", "")).startswith("actions/cache/save@") and path == s["with"]["path"]
        ]
        assert len(restore) == len(save) == 1
        key = f"{tool}-db-{version}-${{{{ steps.plan.outputs.day }}}}"
        assert restore[0]["with"] == {"path": path, "key": key, "restore-keys": f"{tool}-db-{version}-"}
        # saved right after the download, not at the end of a job a blocked gate fails
        assert save[0]["with"] == {"path": path, "key": key}
        assert f"steps.{tool}-db.outputs.cache-hit != 'true'" in save[0]["if"]
        assert names.index(str(save[0].get("name"))) < names.index("Scan the image (Trivy and Grype)")
    # the remediate workflow shares the Trivy database's cache entry
    remediate = next(
        s for _, s in steps(workflow("remediate.yml")) if str(s.get("uses", "")).startswith("actions/cache@")
    )
    assert remediate["with"]["path"] == ".trivy-cache/db"
    version = images["trivy"].split("@")[0].rsplit(":", 1)[1]
    assert f"key=trivy-db-{version}-$(date -u +%Y-%m-%d)" in scripts(workflow("remediate.yml"))
    # no scan, no build, no pull with pre-made reports
    for step in job["steps"]:
        if step.get("name") in ("Build or pull the image", "Scan the image (Trivy and Grype)") or step.get("id") in (
            "trivy-db",
            "grype-db",
        ):
            assert "steps.plan.outputs.mode != 'reports'" in step["if"], step.get("name")
    text = scan["run"]
    assert "--input /scan/image.tar" in text and "docker-archive:/scan/image.tar" in text
    assert "/var/run/docker.sock" not in scripts(doc)  # the scanners read an archive, never the engine


def test_only_the_sarif_job_may_write_security_events_and_it_runs_nothing_of_the_callers() -> None:
    doc = workflow("gate.yml")
    jobs = doc["jobs"]
    writes = {name: job["permissions"] for name, job in jobs.items() if "write" in job["permissions"].values()}
    assert writes == {"sarif": {"security-events": "write", "actions": "read"}}
    assert jobs["gate"]["permissions"] == {"contents": "read", "packages": "read"}
    sarif = jobs["sarif"]
    assert [str(s.get("uses", "")).split("@")[0] for s in sarif["steps"]] == [
        "step-security/harden-runner",
        "actions/download-artifact",
        "github/codeql-action/upload-sarif",
    ]
    assert not any("run" in s for s in sarif["steps"])
    assert sarif["needs"] == "gate" and "always()" in sarif["if"] and "inputs.upload-sarif" in sarif["if"]
    upload = next(s for s in jobs["gate"]["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    download = sarif["steps"][1]
    assert upload["if"] == "always()" and upload["with"]["name"] == download["with"]["name"]
    assert sarif["steps"][2]["with"]["sarif_file"] == f"{download['with']['path']}/gate.sarif"
    # the outputs users read
    outputs = call_spec(doc)["outputs"]
    assert set(outputs) == {"verdict", "blocking"}
    for name, output in outputs.items():
        assert output["value"] == f"${{{{ jobs.gate.outputs.{name} }}}}"
        assert jobs["gate"]["outputs"][name] == f"${{{{ steps.gate.outputs.{name} }}}}"


def test_reusable_remediate_inputs_are_real_cli_flags() -> None:
    doc = workflow("remediate.yml")
    inputs = call_spec(doc)["inputs"]
    remediate = subcommand_options("remediate")
    gate = gate_options()
    flags = set(inputs) - REMEDIATE_WORKFLOW_SETTINGS - REMEDIATE_GATE_FLAGS
    assert {f"--{n}" for n in flags} <= set(remediate), sorted({f"--{n}" for n in flags} - set(remediate))
    assert {f"--{n}" for n in REMEDIATE_GATE_FLAGS} <= set(gate)
    assert REMEDIATE_WORKFLOW_SETTINGS <= set(inputs)
    # each flag is passed somewhere in the legs' scripts (pin-digest also as --no-pin-digest)
    text = scripts(doc)
    for name in flags | REMEDIATE_GATE_FLAGS:
        assert f"--{name}" in text, f"input {name} never reaches the CLI"
    for name in ("findings", "forge", "repo", "json"):
        assert f"--{name}" in text  # the scan reports drive the bumps, and the PRs go to each leg's repository
    # types agree with the parser
    for name in flags:
        action = remediate[f"--{name}"]
        if isinstance(action, argparse._StoreTrueAction):
            assert inputs[name]["type"] == "boolean", name
        elif action.type is int:
            assert inputs[name]["type"] == "number", name
        else:
            assert inputs[name]["type"] == "string", name
    assert inputs["max-parallel"]["type"] == "number"
    assert inputs["gate-image"]["required"] is True


def test_remediate_token_and_secrets_are_documented() -> None:
    secrets = call_spec(workflow("remediate.yml"))["secrets"]
    assert set(secrets) == {"token", "app-private-key"}
    assert "contents" in secrets["token"]["description"] and "pull-requests" in secrets["token"]["description"]
    leg = workflow("remediate.yml")["jobs"]["remediate"]
    app = next(s for s in leg["steps"] if str(s.get("uses", "")).startswith("actions/create-github-app-token@"))
    # a token per leg, for that leg's repository only
    assert app["with"]["owner"] == "${{ matrix.owner }}" and app["with"]["repositories"] == "${{ matrix.name }}"
    assert app["with"]["permission-contents"] == "write" and app["with"]["permission-pull-requests"] == "write"


def test_remediate_matrix_fans_out_without_fail_fast_and_the_summary_always_runs() -> None:
    jobs = workflow("remediate.yml")["jobs"]
    leg = jobs["remediate"]
    assert leg["strategy"]["fail-fast"] is False
    assert leg["strategy"]["max-parallel"] == "${{ inputs.max-parallel }}"
    assert leg["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    assert "plan" in leg["needs"]
    checkout = next(s for s in leg["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["repository"] == "${{ matrix.repository }}"
    # the scan comes before the pull requests, and every leg uploads its result even when it failed
    names = [str(s.get("name", s.get("uses", ""))) for s in leg["steps"]]
    assert names.index("Scan the images (Trivy)") < names.index("Open pull requests")
    upload = next(s for s in leg["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    summary = jobs["summary"]
    assert summary["if"] == "always()" and {"plan", "remediate"} <= set(summary["needs"])
    assert "GITHUB_STEP_SUMMARY" in scripts({"jobs": {"summary": summary}})
    # the plan turns the list into the matrix from env alone
    plan = next(s for s in jobs["plan"]["steps"] if s.get("id") == "plan")
    assert {"REPOSITORIES", "REPOSITORIES_FILE"} <= set(plan["env"])


def test_the_trivy_database_is_cached_once_and_restored_by_every_leg() -> None:
    jobs = workflow("remediate.yml")["jobs"]
    db = [s for s in jobs["trivy-db"]["steps"] if str(s.get("uses", "")).startswith("actions/cache@")]
    restore = [s for s in jobs["remediate"]["steps"] if str(s.get("uses", "")).startswith("actions/cache/restore@")]
    assert len(db) == len(restore) == 1 and db[0]["with"]["path"] == restore[0]["with"]["path"]
    assert restore[0]["with"]["key"] == "${{ needs.trivy-db.outputs.key }}"


def test_provenance_inputs_feed_the_scanners_and_signers_not_our_cli() -> None:
    doc = workflow("provenance.yml")
    inputs = call_spec(doc)["inputs"]
    assert set(inputs) == PROVENANCE_SETTINGS  # a new input must be classified (and, if it is one, tested as a flag)
    assert {f"--{n}" for n in inputs} & set(gate_options()) == set()
    text = scripts(doc)
    for value in ("spdx-json", "cyclonedx", "trivy", "syft"):
        assert re.search(rf"\b{value}\b", text), value
    assert text.count('*) echo "::error') == 2  # any other sbom-format or sbom-tool is refused
    assert "cosign sign --yes" in text and "cosign attest --yes" in text


def test_provenance_write_permissions_only_where_the_signing_happens() -> None:
    jobs = workflow("provenance.yml")["jobs"]
    writes = {name for name, job in jobs.items() if "write" in job["permissions"].values()}
    assert writes == {"attest"}
    assert jobs["attest"]["permissions"] == {"id-token": "write", "attestations": "write", "packages": "write"}
    used = [str(s.get("uses", "")).split("@")[0] for s in jobs["attest"]["steps"]]
    assert {"sigstore/cosign-installer", "actions/attest-build-provenance", "actions/attest-sbom"} <= set(used)
    for step in jobs["attest"]["steps"]:
        if str(step.get("uses", "")).startswith(("actions/attest-build-provenance@", "actions/attest-sbom@")):
            assert step["with"]["push-to-registry"] is True


def test_the_nightly_example_is_scheduled_and_dispatchable() -> None:
    doc = load(ROOT / "examples" / "workflows" / "nightly-remediation.yml")
    assert doc[True]["schedule"][0]["cron"] and "workflow_dispatch" in doc[True]
    assert called_file(doc["jobs"]["remediate"]["uses"]) == "remediate.yml"


def _callers() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every job that calls one of our reusable workflows: in the examples, and in the docs' YAML blocks."""
    for path in EXAMPLES:
        for name, job in load(path)["jobs"].items():
            if called_file(str(job.get("uses", ""))):
                yield f"{path.name}:{name}", job
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^```yaml\n(.*?)^```", text, re.M | re.S):
            doc = yaml.safe_load(match.group(1))
            if not isinstance(doc, dict) or not isinstance(doc.get("jobs"), dict):
                continue
            for name, job in doc["jobs"].items():
                if isinstance(job, dict) and called_file(str(job.get("uses", ""))):
                    line = text.count("\n", 0, match.start()) + 1
                    yield f"{path.name}:{line}:{name}", job


CALLERS = list(_callers())


def test_the_callers_are_found() -> None:
    called = {called_file(job["uses"]) for _, job in CALLERS}
    assert {"gate.yml", "remediate.yml", "provenance.yml", SLSA_CALLER} <= called
    assert any(where.startswith("workflows.md") for where, _ in CALLERS)


@pytest.mark.parametrize(("where", "job"), CALLERS, ids=[where for where, _ in CALLERS])
def test_callers_pass_only_inputs_and_secrets_the_workflow_declares(where: str, job: dict[str, Any]) -> None:
    file = called_file(job["uses"])
    assert file is not None
    assert re.search(r"@[0-9a-f]{40}$", job["uses"]), f"{where}: pin our workflow by its full 40-hex commit"
    spec = call_spec(workflow(file))
    inputs, secrets = spec.get("inputs") or {}, spec.get("secrets") or {}
    given = job.get("with") or {}
    assert set(given) <= set(inputs), f"{where}: no inputs {sorted(set(given) - set(inputs))}"
    missing = {n for n, i in inputs.items() if i.get("required")} - set(given)
    assert not missing, f"{where}: required inputs {sorted(missing)} missing"
    for name, value in given.items():
        kind = inputs[name]["type"]
        if isinstance(value, str) and value.startswith("${{"):
            continue
        expected = {"boolean": bool, "number": int, "string": str}[kind]
        assert isinstance(value, expected), f"{where}: {name} must be a {kind}"
    assert set(job.get("secrets") or {}) <= set(secrets), f"{where}: undeclared secrets"


def test_the_act_stand_in_replaces_the_exact_harden_runner_pin_the_workflows_use() -> None:
    from tests.e2e.conftest import HARDEN_RUNNER, STUBS

    pins = {line.split(" ", 1)[0] for path in WORKFLOWS for line in uses_lines(path) if line.startswith(HARDEN)}
    assert pins == {HARDEN_RUNNER}
    stand_in = yaml.safe_load((STUBS / "harden-runner" / "action.yml").read_text())
    assert set(stand_in["inputs"]) >= {"egress-policy", "allowed-endpoints"}


def _remote_steps(paths: list[Path]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(owner/repo, sub-path, with:) of every remote action step, with the pinned SHA as owner/repo@sha."""
    for path in paths:
        for _, step in steps(load(path)):
            uses = str(step.get("uses", ""))
            if not uses or uses.startswith(("./", "docker://")) or "/.github/workflows/" in uses:
                continue
            target, _, sha = uses.partition("@")
            owner, name, *sub = target.split("/")
            yield f"{owner}/{name}@{sha}", "/".join(sub), step.get("with") or {}


def test_every_act_stand_in_replaces_the_exact_pin_the_workflows_use_and_takes_their_inputs() -> None:
    from tests.e2e.conftest import HARDEN_RUNNER, STAND_INS, STUBS

    used = list(_remote_steps(WORKFLOWS))
    shas: dict[str, set[str]] = {}
    for pin, _, _ in used:
        repository, _, sha = pin.partition("@")
        shas.setdefault(repository, set()).add(sha)
    for pin, folder in STAND_INS.items():
        repository, _, sha = pin.partition("@")
        assert shas.get(repository) == {sha}, f"{repository}: the workflows use {shas.get(repository)}, act maps {sha}"
        assert folder.parent == STUBS
        for used_pin, sub, given in used:
            if used_pin != pin:
                continue
            stand_in = folder / sub / "action.yml"
            assert stand_in.is_file(), f"{pin} {sub}: no stand-in at {stand_in.relative_to(STUBS)}"
            text = stand_in.read_text(encoding="utf-8")
            assert "Stand-in for" in text and "act" in text, f"{stand_in}: say what it stands in for and why"
            inputs = set(yaml.safe_load(text)["inputs"])
            assert set(given) <= inputs, f"{stand_in}: takes no {sorted(set(given) - inputs)}"
    # What act runs of ours (the reusable gate): every remote action has a stand-in, but actions/checkout, which
    # act replaces itself with the repository under test.
    ran = {pin for pin, _, _ in _remote_steps([ROOT / ".github" / "workflows" / "gate.yml"])}
    assert ran - {*STAND_INS, HARDEN_RUNNER} <= {p for p in ran if p.startswith("actions/checkout@")}


def test_ci_fetches_the_corpus_and_the_tests_read_it() -> None:
    job = workflow("ci.yml")["jobs"]["test"]
    names = [str(s.get("name", s.get("uses", ""))) for s in job["steps"]]
    fetch = next(s for s in job["steps"] if ".ci/fetch_corpus.py" in str(s.get("run", "")))
    tests = next(s for s in job["steps"] if s.get("name") == "Tests")
    assert names.index(str(fetch["name"])) < names.index("Tests")
    assert 'python .ci/fetch_corpus.py "$RUNNER_TEMP/shared"' in fetch["run"]
    assert tests["env"]["CONTAINER_GATE_SHARED"] == "${{ runner.temp }}/shared"
    assert tests["run"] == "make test"
    endpoints = job["steps"][0]["with"]["allowed-endpoints"].split()
    assert "raw.githubusercontent.com:443" in endpoints  # where the upstream files are fetched from
    assert "${{ vars.CORPUS_MIRROR_ENDPOINT }}" in job["steps"][0]["with"]["allowed-endpoints"]
    assert fetch["env"] == {"CORPUS_MIRROR": "${{ vars.CORPUS_MIRROR }}"}


def test_ci_installs_the_tools_the_suite_needs_as_ci_run_does() -> None:
    # Under CI=true a test whose tool is missing fails: the job must build the Go reference tools and install
    # gitlab-ci-local (the same script .ci/run calls) before the tests, with their registries let through.
    job = workflow("ci.yml")["jobs"]["test"]
    runs = [str(s.get("run", "")) for s in job["steps"]]
    install = next(i for i, run in enumerate(runs) if "bash .ci/install-test-tools.sh" in run)
    assert install < next(i for i, s in enumerate(job["steps"]) if s.get("name") == "Tests")
    assert "bash .ci/install-test-tools.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    script = (ROOT / ".ci" / "install-test-tools.sh").read_text(encoding="utf-8")
    assert "gitlab-ci-local@4.70.1" in script
    built = next(line for line in script.splitlines() if line.startswith("bash .ci/build-go-tools.sh")).split()[2:]
    # Every reference tool a test asks `go_tool` for is among those built.
    asked = {m for f in (ROOT / "tests").rglob("*.py") for m in re.findall(r'go_tool\("(\w+)"\)', f.read_text())}
    assert asked and asked <= set(built), asked - set(built)
    endpoints = job["steps"][0]["with"]["allowed-endpoints"].split()
    assert {"registry.npmjs.org:443", "proxy.golang.org:443", "sum.golang.org:443"} <= set(endpoints)
    apt = next(run for run in runs if "apt-get install" in run)
    assert "rsync" in apt.split()  # gitlab-ci-local exports artifacts with it


# release.yml: our own release on a version tag.

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


def _git(cwd: Path, *args: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), **GIT_ENV}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _project(tmp_path: Path) -> Path:
    """A repository with this project's two action files on main at v1.2.0, and a side branch tagged v9.9.9;
    cloned as the release jobs' checkout (fetch-depth 0: origin/main and every tag), at v1.2.0."""
    upstream = tmp_path / "upstream"
    (upstream / "remediate").mkdir(parents=True)
    for name in ("action.yml", "remediate/action.yml"):
        (upstream / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    _git(upstream, "init", "-q", "-b", "main")
    _git(upstream, "add", "-A")
    _git(upstream, "commit", "-q", "-m", "main")
    _git(upstream, "tag", "-a", "v1.2.0", "-m", "v1.2.0")
    _git(upstream, "switch", "-q", "-c", "side")
    (upstream / "side.txt").write_text("not reviewed\n")
    _git(upstream, "add", "side.txt")
    _git(upstream, "commit", "-q", "-m", "side")
    _git(upstream, "tag", "v9.9.9")
    _git(upstream, "switch", "-q", "main")
    _git(tmp_path, "clone", "-q", "--bare", str(upstream), str(tmp_path / "remote.git"))
    _git(tmp_path, "clone", "-q", str(tmp_path / "remote.git"), str(tmp_path / "work"))
    work = tmp_path / "work"
    _git(work, "checkout", "-q", "v1.2.0")
    return work


def _release_step(job: str, key: str) -> dict[str, Any]:
    return _step(workflow("release.yml"), job, key)


def test_release_runs_on_version_tags_with_write_permissions_only_where_needed() -> None:
    doc = workflow("release.yml")
    assert doc[True] == {"push": {"tags": ["v*.*.*"]}}
    assert doc["concurrency"] == {"group": "release", "cancel-in-progress": False}
    jobs = doc["jobs"]
    assert {name: job["permissions"] for name, job in jobs.items()} == {
        "check": {"contents": "read"},
        "image": {"contents": "read", "packages": "write"},
        "provenance": {"id-token": "write", "attestations": "write", "packages": "write"},
        "pin": {"contents": "write"},
    }
    assert jobs["pin"]["needs"] == ["check", "image", "provenance"]  # nothing is pinned that is not signed
    # the image: both platforms, pushed to ghcr.io under the repository's (lower-case) name, no BuildKit extras
    build = _release_step("image", "build")
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64" and build["with"]["push"] is True
    assert build["with"]["tags"] == "${{ needs.check.outputs.image }}:${{ needs.check.outputs.version }}"
    assert (build["with"]["provenance"], build["with"]["sbom"]) == (False, False)
    used = [str(s.get("uses", "")).split("@")[0] for s in jobs["image"]["steps"]]
    assert {"docker/setup-qemu-action", "docker/setup-buildx-action", "docker/build-push-action"} <= set(used)
    # the images those actions start are pinned by digest too
    qemu = next(s for s in jobs["image"]["steps"] if str(s.get("uses", "")).startswith("docker/setup-qemu-action@"))
    buildx = next(s for s in jobs["image"]["steps"] if str(s.get("uses", "")).startswith("docker/setup-buildx-action@"))
    assert DIGEST_PINNED.match(qemu["with"]["image"])
    assert DIGEST_PINNED.match(buildx["with"]["driver-opts"].removeprefix("image="))
    # signing and attestations: our own provenance.yml, called with inputs it declares
    provenance = jobs["provenance"]
    assert provenance["uses"] == "./.github/workflows/provenance.yml"
    spec = call_spec(workflow("provenance.yml"))["inputs"]
    assert set(provenance["with"]) <= set(spec)
    assert {n for n, i in spec.items() if i.get("required")} <= set(provenance["with"])
    assert provenance["with"]["digest"] == "${{ needs.image.outputs.digest }}"


def test_release_rewrite_pins_the_actions_as_pin_prebuilt_image_does(tmp_path: Path) -> None:
    from tests.e2e.conftest import pin_prebuilt_image

    reference = "ghcr.io/org/container-gate@sha256:" + "ab" * 32
    (tmp_path / "remediate").mkdir()
    for name in ("action.yml", "remediate/action.yml"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    expected = tmp_path / "expected-action.yml"
    expected.write_text((ROOT / "action.yml").read_text(encoding="utf-8"), encoding="utf-8")
    pin_prebuilt_image(expected, reference)

    done, _, _ = _run_step(_release_step("pin", "rewrite"), tmp_path, {"IMAGE_REF": reference})

    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "action.yml").read_text(encoding="utf-8") == expected.read_text(encoding="utf-8")
    remediate = (ROOT / "remediate" / "action.yml").read_text(encoding="utf-8")
    wanted, count = re.subn(r"(?m)^  image: \.\./Dockerfile.*$", f"  image: docker://{reference}", remediate)
    assert count == 1
    assert (tmp_path / "remediate" / "action.yml").read_text(encoding="utf-8") == wanted
    # what the release commit ships is still a valid action, and zizmor has nothing to say about its image
    for name in ("action.yml", "remediate/action.yml"):
        test_action_is_valid_against_the_schema(tmp_path / name)
    result = zizmor(tmp_path / "action.yml", tmp_path / "remediate" / "action.yml")
    assert result.returncode == 0 and json.loads(result.stdout) == [], result.stdout
    # a second run finds nothing to pin (the files no longer build from source) and a bad reference is refused
    again, _, _ = _run_step(_release_step("pin", "rewrite"), tmp_path, {"IMAGE_REF": reference})
    assert again.returncode != 0 and "must build from `image: Dockerfile`" in again.stderr
    bad, _, _ = _run_step(_release_step("pin", "rewrite"), tmp_path, {"IMAGE_REF": "ghcr.io/org/container-gate:v1"})
    assert bad.returncode != 0 and "not an image reference by digest" in bad.stderr


@pytest.mark.parametrize(
    ("checkout", "ref", "problem"),
    [
        ("v1.2.0", "refs/tags/v1.2.0", None),
        ("v9.9.9", "refs/tags/v9.9.9", "is not on main"),
        ("v1.2.0", "refs/tags/v1.2", "is not vX.Y.Z"),
        ("v1.2.0", "refs/tags/v1.2.0-pinned", "is not vX.Y.Z"),
        ("v1.2.0", "refs/heads/main", "is not a tag"),
    ],
    ids=["on-main", "side-branch", "short", "pinned", "branch"],
)
def test_release_refuses_anything_but_a_version_tag_on_main(
    tmp_path: Path, checkout: str, ref: str, problem: str | None
) -> None:
    work = _project(tmp_path)
    _git(work, "checkout", "-q", checkout)
    step = _release_step("check", "tag")
    done, written, _ = _run_step(step, work, {"REF": ref, "REPOSITORY": "Org/Container-Gate"})
    if problem is None:
        assert done.returncode == 0, done.stdout + done.stderr
        assert written == {"version": "1.2.0", "major": "v1", "image": "ghcr.io/org/container-gate"}
    else:
        assert done.returncode == 1 and problem in done.stdout, done.stdout + done.stderr


def test_release_refuses_a_tag_whose_actions_are_already_pinned(tmp_path: Path) -> None:
    work = _project(tmp_path)
    _git(work, "switch", "-q", "main")
    text = (work / "action.yml").read_text(encoding="utf-8")
    (work / "action.yml").write_text(text.replace("  image: Dockerfile\n", "  image: docker://x@sha256:1\n"))
    _git(work, "commit", "-q", "-am", "pinned on main by mistake")
    _git(work, "push", "-q", "origin", "main")
    _git(work, "tag", "v1.3.0")
    done, _, _ = _run_step(_release_step("check", "tag"), work, {"REF": "refs/tags/v1.3.0", "REPOSITORY": "o/r"})
    assert done.returncode == 1 and "does not build from the Dockerfile" in done.stdout


_FAKE_GIT = """#!/bin/bash
# git, but `git push` goes to the local FAKE_REMOTE instead of github.com, and records what it was asked
if [ "$1" = push ]; then
  printf '%s\\n' "$@" > "$PUSH_RECORD"
  env | grep '^GIT_CONFIG_' | sort > "$PUSH_RECORD.env"
  set -- push --atomic "$FAKE_REMOTE" "${@:4}"
fi
exec /usr/bin/git "$@"
"""


def _pin_and_push(
    tmp_path: Path, work: Path, tag: str, digest: str = "sha256:" + "cd" * 32
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    image = "ghcr.io/org/container-gate"
    rewrite, _, _ = _run_step(_release_step("pin", "rewrite"), work, {"IMAGE_REF": f"{image}@{digest}"})
    assert rewrite.returncode == 0, rewrite.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "git").write_text(_FAKE_GIT)
    (bin_dir / "git").chmod(0o755)
    step = _release_step("pin", "Commit, tag the release commit, move the major tag")
    fake = {"FAKE_REMOTE": str(tmp_path / "remote.git"), "PUSH_RECORD": str(tmp_path / "push")}
    step = {**step, "env": {**step["env"], **dict.fromkeys(fake, "")}}
    env = {"TAG": tag, "MAJOR": "v1", "IMAGE": image, "DIGEST": digest, "REPOSITORY": "org/container-gate"}
    env |= {"TOKEN": "ghs_not-a-real-token"} | fake
    done, _, _ = _run_step(step, work, env, bin_dir)
    return done, (tmp_path / "push").read_text().splitlines() if (tmp_path / "push").exists() else []


def test_release_commits_the_pinned_actions_tags_them_and_moves_only_the_major_tag(tmp_path: Path) -> None:
    work = _project(tmp_path)
    remote = tmp_path / "remote.git"
    version_commit = _git(remote, "rev-parse", "refs/tags/v1.2.0^{commit}")
    version_tag_object = _git(remote, "rev-parse", "refs/tags/v1.2.0")

    done, pushed = _pin_and_push(tmp_path, work, "v1.2.0")

    assert done.returncode == 0, done.stdout + done.stderr
    release = _git(remote, "rev-parse", "refs/tags/v1.2.0-pinned^{commit}")
    assert _git(remote, "rev-parse", "refs/tags/v1^{commit}") == release
    assert _git(remote, "rev-parse", f"{release}^") == version_commit  # on top of the tagged commit
    changed = _git(remote, "diff", "--name-only", version_commit, release).splitlines()
    assert changed == ["action.yml", "remediate/action.yml"]
    shipped = _git(remote, "show", f"{release}:action.yml")
    assert "  image: docker://ghcr.io/org/container-gate@sha256:" + "cd" * 32 in shipped.splitlines()
    # the version tag did not move; the one forced ref is the major tag; the token never was on a command line
    assert _git(remote, "rev-parse", "refs/tags/v1.2.0") == version_tag_object
    assert pushed[:3] == ["push", "--atomic", "https://github.com/org/container-gate.git"]
    assert pushed[3:] == ["refs/tags/v1.2.0-pinned:refs/tags/v1.2.0-pinned", f"+{release}:refs/tags/v1"]
    assert not any("ghs_not-a-real-token" in word for word in pushed)
    header = (tmp_path / "push.env").read_text()
    assert "GIT_CONFIG_KEY_0=http.https://github.com/.extraheader" in header
    assert "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX25vdC1hLXJlYWwtdG9rZW4=" in header  # x-access-token:...
    assert ".extraheader" not in (work / ".git" / "config").read_text()


def test_release_moves_the_major_tag_forward_only(tmp_path: Path) -> None:
    work = _project(tmp_path)
    remote = tmp_path / "remote.git"
    # v1 already at the release commit of v1.3.0
    _git(work, "tag", "-a", "v1.3.0-pinned", "-m", "newer")
    _git(work, "tag", "v1", "v1.3.0-pinned^{commit}")
    _git(work, "push", "-q", "origin", "v1.3.0-pinned", "v1")
    newer = _git(remote, "rev-parse", "refs/tags/v1^{commit}")

    done, pushed = _pin_and_push(tmp_path, work, "v1.2.0")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "v1 stays at v1.3.0, newer than v1.2.0" in done.stdout
    assert pushed[3:] == ["refs/tags/v1.2.0-pinned:refs/tags/v1.2.0-pinned"]
    assert _git(remote, "rev-parse", "refs/tags/v1^{commit}") == newer
    # and a re-run that rebuilt the image (another digest) cannot rewrite the release: the new tag is never forced
    _git(work, "tag", "-d", "v1.2.0-pinned")
    _git(work, "checkout", "-q", "v1.2.0")
    again, _ = _pin_and_push(tmp_path, work, "v1.2.0", digest="sha256:" + "ef" * 32)
    assert again.returncode != 0 and "already exists" in again.stderr, again.stdout + again.stderr
    assert "cd" * 32 in _git(remote, "show", "refs/tags/v1.2.0-pinned:action.yml")


def test_the_documented_verify_commands_name_the_release_signer() -> None:
    text = (ROOT / "docs" / "action.md").read_text(encoding="utf-8")
    section = text[text.index("## Releases and verifying the image you run") :]
    section = section[: section.index("\n## ", 1)]
    assert "gh attestation verify oci://ghcr.io/org/container-gate@sha256:DIGEST --repo org/container-gate" in section
    assert "cosign verify ghcr.io/org/container-gate@sha256:DIGEST" in section
    assert "cosign verify-attestation --type spdxjson" in section  # provenance.yml's SBOM type for spdx-json
    assert "trivy-action" in section and "2026-03-19" in section
    # the identity regexp matches the signing job of a release (provenance.yml called at a version tag), only that
    patterns = set(re.findall(r"--certificate-identity-regexp '([^']+)'", section))
    assert len(patterns) == 1
    identity = re.compile(patterns.pop())
    signer = "https://github.com/org/container-gate/.github/workflows/provenance.yml@refs/tags/v"
    assert identity.fullmatch(f"{signer}1.2.3")
    for other in (f"{signer}1.2.3-pinned", signer.replace("refs/tags/v", "refs/heads/main"), f"{signer}1.2"):
        assert not identity.fullmatch(other), other
    # what the release calls to sign is what the docs verify, and the SBOM format it asks for is the one verified
    provenance = workflow("release.yml")["jobs"]["provenance"]
    assert provenance["uses"].startswith("./.github/workflows/provenance.yml")
    assert provenance["with"]["sbom-format"] == "spdx-json"


MIGRATED = {
    "trivy-action": {"image-ref", "severity", "ignore-unfixed", "format", "exit-code", "trivyignores"},
    "scan-action": {"image", "fail-build", "severity-cutoff", "only-fixed", "output-format"},
    "hadolint-action": {"dockerfile", "failure-threshold", "ignore"},
    "conftest": {"--policy", "--namespace", "--data", "--all-namespaces"},
    "Container-Scanning": {"CS_IMAGE", "CS_SEVERITY_THRESHOLD", "CS_IGNORE_UNFIXED"},
}
"""Each peer's inputs the README's migration tables must map (issue 15), by the header of the table's first column."""


def _component_inputs(name: str) -> set[str]:
    spec = next(yaml.safe_load_all((ROOT / "templates" / name / "template.yml").read_text(encoding="utf-8")))
    return set(spec["spec"]["inputs"])


def test_the_migration_tables_name_only_inputs_and_flags_that_exist() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Migrating\n") :]
    section = section[: section.index("\n## ", 1)]
    ours = {
        "action input": set(load(ROOT / "action.yml")["inputs"]),
        "`gate.yml` input": set(call_spec(workflow("gate.yml"))["inputs"]),
        "CLI flag": set(gate_options()) | {"PATH"},
        "`scan` component": _component_inputs("scan"),
        "`gate` component": _component_inputs("gate"),
    }
    tables: dict[str, list[dict[str, str]]] = {}
    for block in re.findall(r"(?m)((?:^\|.*\|\n)+)", section):
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.splitlines()]
        header, rows = rows[0], rows[2:]
        tables[header[0]] = [dict(zip(header, row, strict=True)) for row in rows]
        assert set(header) & set(ours), f"{header[0]}: no column of ours"
        for row in rows:
            for column, cell in zip(header, row, strict=True):
                if column not in ours:
                    continue
                if cell == "none":
                    continue
                names = re.fullmatch(r"`[^`]+`(?:, `[^`]+`)*", cell)
                assert names, f"{header[0]} {row[0]}: {column} is {cell!r}: names in backticks, or none"
                for name in re.findall(r"`([^`]+)`", cell):
                    assert name in ours[column], f"{header[0]} {row[0]}: no {column} {name!r}"
    for peer, wanted in MIGRATED.items():
        assert peer in tables, f"no table for {peer}"
        mapped = {n for row in tables[peer] for n in re.findall(r"`([^`]+)`", row[peer])}
        assert wanted <= mapped, f"{peer}: {sorted(wanted - mapped)} not mapped"


_FAKE_SCANNERS = """#!/bin/sh
# records each `docker run` of a scanner and writes the report it would, naming the archive as the scanners do
printf '%s\\n' "$*" >> "$ARGV_FILE"
case "$*" in
  *--input\\ /scan/image.tar*) cp "$TRIVY_REPORT" .container-gate/trivy.json ;;
  *docker-archive:/scan/image.tar*) cp "$GRYPE_REPORT" .container-gate/grype.json ;;
  *) exit 3 ;;
esac
"""


def test_the_reusable_gate_scans_one_archive_and_names_the_image_in_both_reports(tmp_path: Path) -> None:
    archive = {"ArtifactName": "/scan/image.tar", "ArtifactType": "container_image", "SchemaVersion": 2}
    vulnerability = {"VulnerabilityID": "CVE-2024-5535", "PkgName": "libssl3", "Severity": "HIGH"}
    vulnerability |= {"InstalledVersion": "3.0.11-1~deb12u2", "FixedVersion": "3.0.13-1~deb12u1", "Status": "fixed"}
    result_entry = {"Target": "/scan/image.tar (debian 12.5)", "Class": "os-pkgs", "Type": "debian"}
    trivy = archive | {
        "Metadata": {"OS": {"Family": "debian", "Name": "12.5"}},
        "Results": [result_entry | {"Vulnerabilities": [vulnerability]}],
    }
    grype = {
        "matches": [
            {
                "vulnerability": {"id": "CVE-2024-5535", "severity": "High", "fix": {"versions": ["3.0.13-1~deb12u1"]}},
                "artifact": {"name": "libssl3", "version": "3.0.11-1~deb12u2", "type": "deb"},
            }
        ],
        "source": {"type": "image", "target": {"userInput": "/scan/image.tar"}},
        "distro": {"name": "debian", "version": "12"},
        "descriptor": {"name": "grype", "version": "0.120.0"},
    }
    (tmp_path / "t.json").write_text(json.dumps(trivy))
    (tmp_path / "g.json").write_text(json.dumps(grype))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text(_FAKE_SCANNERS)
    (bin_dir / "docker").chmod(0o755)
    step = _step(workflow("gate.yml"), "gate", "Scan the image (Trivy and Grype)")
    fake = {"ARGV_FILE": str(tmp_path / "argv"), "TRIVY_REPORT": str(tmp_path / "t.json")}
    fake["GRYPE_REPORT"] = str(tmp_path / "g.json")
    step = {**step, "env": {**step["env"], **dict.fromkeys(fake, "")}}
    target = "acme/web:" + "f" * 40
    env = {"TARGET": target} | {k: str(v) for k, v in step["env"].items() if k.endswith("_IMAGE")} | fake

    done, _, _ = _run_step(step, tmp_path, env, bin_dir)

    assert done.returncode == 0, done.stdout + done.stderr
    trivy_run, grype_run = (tmp_path / "argv").read_text().splitlines()
    mounts = f"-v {tmp_path}/container-gate/image:/scan:ro"
    assert mounts in trivy_run and mounts in grype_run  # the one archive, read-only
    assert "--skip-db-update" in trivy_run and "--scanners vuln,secret --format json" in trivy_run
    assert "--network none" in grype_run and "-e GRYPE_DB_AUTO_UPDATE=false" in grype_run
    assert "docker.sock" not in trivy_run + grype_run
    assert json.loads((tmp_path / ".container-gate" / "trivy.json").read_text())["ArtifactName"] == target
    renamed = json.loads((tmp_path / ".container-gate" / "grype.json").read_text())
    assert renamed["source"]["target"]["userInput"] == target
    # the gate merges the two scanners' sightings into one finding on the image
    result = tmp_path / "result.json"
    gate = subprocess.run(
        [require_tool("container-gate"), "gate", "--json", str(result), ".container-gate/trivy.json"]
        + [".container-gate/grype.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert gate.returncode == 1, gate.stdout + gate.stderr
    findings = json.loads(result.read_text())["findings"]
    assert [(f["id"], f["target"], sorted(f["sources"])) for f in findings] == [
        ("CVE-2024-5535", target, ["grype", "trivy"])
    ]


def test_our_nightly_run_calls_remediate_of_this_commit_with_declared_inputs_only() -> None:
    doc = workflow("nightly.yml")
    assert doc[True]["schedule"][0]["cron"] and "workflow_dispatch" in doc[True]
    job = doc["jobs"]["remediate"]
    assert job["uses"] == "./.github/workflows/remediate.yml"
    spec = call_spec(workflow("remediate.yml"))
    inputs, secrets = spec.get("inputs") or {}, spec.get("secrets") or {}
    assert set(job["with"]) <= set(inputs)
    assert {n for n, i in inputs.items() if i.get("required")} <= set(job["with"])
    assert set(job.get("secrets") or {}) <= set(secrets)
