"""The GitLab CI/CD components: headers and bodies are valid GitLab CI, inputs map to real flags, scripts are safe.

Every component in templates/<name>/template.yml is checked the same way (`COMPONENTS`); the gate's own behaviour
(its reports, its CLI mapping, its script run with the real CLI) and the scan's SBOM follow. gitlab-ci-local runs
them for real in tests/e2e/test_gitlab_ci_local.py.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.cli import build_parser
from gate.options import OUTPUTS
from tests.conftest import corpus_file, go_tool, require_tool

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = REPO / "templates"
COMPONENTS = ("gate", "scan", "remediate", "provenance")
TEMPLATE = TEMPLATES / "gate" / "template.yml"
JOB_SETTINGS = {"stage", "needs", "job-name", "image", "version", "allow-failure"}
"""Inputs of the gate that shape the job itself rather than pass a flag."""
OUTPUT_FLAGS = {output.flag for output in OUTPUTS} | {"--upload-sarif", "--config"}
INPUT = re.compile(r"\$\[\[ inputs\.([a-z0-9-]+) \]\]")
INPUT_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "boolean": bool,
    "number": (int, float),
    "array": list,
}

GITLAB_OWN = {
    "gl-container-scanning-report.json",
    "gl-code-quality-report.json",
    "gl-sbom-report.cdx.json",
    "gl-dependency-scanning-report.json",
    "gl-sast-report.json",
    "gl-secret-detection-report.json",
}
"""What GitLab's own scanner and Code Quality jobs write: inputs of the gate, never a component's outputs."""

RENDERINGS = [
    pytest.param("gate", {}, id="gate"),
    pytest.param("scan", {}, id="scan"),
    pytest.param("scan", {"sbom-format": "cyclonedx"}, id="scan-cyclonedx"),
    pytest.param("scan", {"sbom-format": "spdx-json", "sbom-report": "sbom.spdx.json"}, id="scan-spdx"),
    pytest.param("remediate", {}, id="remediate"),
    pytest.param("provenance", {}, id="provenance"),
    pytest.param("provenance", {"verdict": "container-gate.json", "sbom-format": "spdx-json"}, id="provenance-verdict"),
]


# --- reading and rendering a component ------------------------------------------------------------------------


def template(component: str) -> Path:
    return TEMPLATES / component / "template.yml"


def split(component: str) -> tuple[str, str]:
    """The spec header and the body, as GitLab separates them (a `---` line)."""
    header, body = template(component).read_text(encoding="utf-8").split("\n---\n", 1)
    return header, body


def documents(component: str = "gate") -> tuple[dict[str, Any], dict[str, Any]]:
    spec, jobs = yaml.safe_load_all(template(component).read_text(encoding="utf-8"))
    return spec, jobs


def inputs_of(component: str) -> dict[str, dict[str, Any]]:
    inputs: dict[str, dict[str, Any]] = documents(component)[0]["spec"]["inputs"]
    return inputs


def interpolate(node: Any, values: dict[str, Any]) -> Any:
    """GitLab's interpolation of `$[[ inputs.NAME ]]`: after parsing, in keys and values; a value that is one
    input alone takes the input's type (arrays and booleans stay YAML values), inside text it becomes text."""
    if isinstance(node, dict):
        return {interpolate(k, values): interpolate(v, values) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(item, values) for item in node]
    if isinstance(node, str):
        whole = INPUT.fullmatch(node)
        if whole:
            return copy.deepcopy(values[whole.group(1)])

        def text(match: re.Match[str]) -> str:
            value = values[match.group(1)]
            return json.dumps(value) if isinstance(value, bool | list) else str(value)

        return INPUT.sub(text, node)
    return node


def render(component: str, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body as GitLab includes it: every input replaced by the value given, else by its default."""
    values = {name: decl.get("default") for name, decl in inputs_of(component).items()} | (given or {})
    rendered: dict[str, Any] = interpolate(yaml.safe_load(split(component)[1]), values)
    return rendered


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`extends` merging: hashes merge key by key, anything else (arrays too) is replaced."""
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def effective_jobs(pipeline: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The visible jobs with `extends` resolved (GitLab fails a pipeline whose extends names no job)."""

    def resolve(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        assert name in pipeline, f"extends names {name!r}, which the component does not define"
        assert name not in seen, f"extends loops through {name}"
        job = dict(pipeline[name])
        parents = job.pop("extends", [])
        merged: dict[str, Any] = {}
        for parent in [parents] if isinstance(parents, str) else parents:
            merged = deep_merge(merged, resolve(parent, (*seen, name)))
        return deep_merge(merged, job)

    return {name: resolve(name) for name in pipeline if not name.startswith(".")}


def visible_jobs(component: str) -> dict[str, dict[str, Any]]:
    """The unrendered visible jobs (names and values still hold `$[[ inputs... ]]`)."""
    return {name: job for name, job in documents(component)[1].items() if not name.startswith(".")}


JOBS = [
    pytest.param(c, name, id=f"{c}:{name.split(']]', 1)[-1] or 'job'}") for c in COMPONENTS for name in visible_jobs(c)
]


def check_jsonschema(tmp_path: Path, doc: dict[str, Any], name: str = ".gitlab-ci.yml") -> None:
    check = require_tool("check-jsonschema")
    target = tmp_path / name
    target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        [check, "--builtin-schema", "vendor.gitlab-ci", str(target)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- every component: GitLab's schema, the header, the inputs -------------------------------------------------


@pytest.mark.tool
@pytest.mark.parametrize(("component", "given"), RENDERINGS)
def test_body_is_valid_gitlab_ci(tmp_path: Path, component: str, given: dict[str, Any]) -> None:
    pipeline = render(component, given)
    text = yaml.safe_dump(pipeline)
    assert "$[[" not in text
    check_jsonschema(tmp_path, pipeline)
    jobs = effective_jobs(pipeline)
    assert jobs and all("script" in job for job in jobs.values())


@pytest.mark.tool
@pytest.mark.parametrize("component", COMPONENTS)
def test_spec_header_is_valid_gitlab_ci(tmp_path: Path, component: str) -> None:
    header = yaml.safe_load(split(component)[0])
    assert set(header) == {"spec"} and set(header["spec"]) == {"inputs"}
    check_jsonschema(tmp_path, header, "spec.yml")


@pytest.mark.parametrize("component", COMPONENTS)
def test_inputs_are_described_typed_and_constrained(component: str) -> None:
    for name, decl in inputs_of(component).items():
        assert re.fullmatch(r"[a-z][a-z0-9-]*", name), name
        assert isinstance(decl.get("description"), str) and len(decl["description"]) >= 10, f"{name}: describe it"
        assert set(decl) <= {"description", "type", "default", "options", "regex"}, name
        kind = decl.get("type", "string")
        assert kind in INPUT_TYPES, f"{name}: type {kind}"
        assert "default" in decl, f"{name}: every input has a default, so including the component needs none"
        default = decl["default"]
        assert isinstance(default, INPUT_TYPES[kind]), f"{name}: default {default!r} is no {kind}"
        assert kind == "boolean" or not isinstance(default, bool), f"{name}: YAML read {default!r} as a boolean"
        if "options" in decl:
            assert kind == "string" and default in decl["options"], f"{name}: {default!r} not in its options"
            assert all(isinstance(o, str) for o in decl["options"]), name
        if "regex" in decl:
            assert kind == "string", f"{name}: GitLab checks regex on strings only"
            pattern = re.compile(decl["regex"])  # GitLab uses RE2: keep to what both understand
            assert decl["regex"].startswith("^") and decl["regex"].endswith("$"), f"{name}: anchor the regex"
            assert pattern.search(default), f"{name}: the default {default!r} fails its own regex"


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_input_is_used_and_every_use_declared(component: str) -> None:
    declared = set(inputs_of(component))
    used = set(INPUT.findall(split(component)[1]))
    assert used == declared, f"unused: {declared - used}; undeclared: {used - declared}"
    assert "$[[" not in INPUT.sub("", split(component)[1]), "an interpolation GitLab would not read as an input"


@pytest.mark.parametrize(("component", "job_name"), JOBS)
def test_free_text_inputs_reach_the_shell_only_through_variables(component: str, job_name: str) -> None:
    job = visible_jobs(component)[job_name]
    shell = "\n".join(job.get("before_script", []) + job["script"] + job.get("after_script", []))
    assert "$[[" not in shell  # interpolating input text into a script would be shell injection
    for name, value in job.get("variables", {}).items():
        value = str(value)
        if "$[[" in value or name.startswith("CG_"):
            assert INPUT.fullmatch(value), f"{name}: a variable carries exactly one input, as data"
            assert re.search(rf"\${{?{name}\b", shell), f"{name} is never used"


@pytest.mark.parametrize("component", COMPONENTS)
def test_only_constrained_inputs_shape_the_job(component: str) -> None:
    """Outside `variables`, inputs name jobs, images, paths and cache keys: each is bounded by a regex, options or
    its type, except the stage and the image, which GitLab itself resolves (never a shell)."""
    inputs = inputs_of(component)
    body = yaml.safe_load(split(component)[1])
    for job_name, job in body.items():
        outside = {k: v for k, v in job.items() if k != "variables"}
        for name in set(INPUT.findall(job_name + json.dumps(outside))):
            decl = inputs[name]
            bounded = "regex" in decl or "options" in decl or decl.get("type", "string") != "string"
            assert bounded or name in {"stage", "image"}, f"{job_name}: unbounded input {name} outside variables"
        if "stage" in job:
            assert job["stage"] == "$[[ inputs.stage ]]"
        if "image" in job:
            assert job["image"].get("entrypoint") == [""], f"{job_name}: the runner's shell, not the image's entrypoint"


@pytest.mark.parametrize("component", COMPONENTS)
def test_outputs_never_take_the_names_of_gitlab_scanner_reports(component: str) -> None:
    inputs = inputs_of(component)
    defaults = {str(d.get("default")) for n, d in inputs.items() if n.endswith("-report")}
    assert not defaults & GITLAB_OWN
    for job in effective_jobs(render(component)).values():
        artifacts = job.get("artifacts", {})
        written = set(artifacts.get("paths", [])) | set(artifacts.get("reports", {}).values())
        assert not written & GITLAB_OWN
        assert not any(name in "\n".join(job["script"]) for name in GITLAB_OWN)


# --- every flag an input feeds is a real flag of the program that reads it ----------------------------------


TOOL = re.compile(r'container-gate "\$@"|trivy image|cosign (?:sign|attest|login)|"\$CG_GRYPE"')
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
GRYPE_FLAGS = {"--output"}
"""Grype cannot be installed here (no wheel; its Go build is not in .ci/build-go-tools.sh): the one flag the scan
job passes, `--output FORMAT=FILE`, is pinned instead (grype --help: `-o, --output stringArray`)."""


@functools.cache
def real_flags(tool: str) -> frozenset[str]:
    if tool.startswith("container-gate "):
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return frozenset(o for a in sub.choices[tool.split()[1]]._actions for o in a.option_strings)
    if tool == "grype":
        return frozenset(GRYPE_FLAGS)
    program = require_tool("trivy") if tool.startswith("trivy") else go_tool("cosign")
    argv = [program, *tool.split()[1:], "--help"]
    done = subprocess.run(
        argv, capture_output=True, text=True, check=True, cwd="/", env={**os.environ, "NO_COLOR": "1"}
    )
    return frozenset(FLAG.findall(done.stdout + done.stderr))


def flags_by_tool(script: list[str]) -> dict[str, set[str]]:
    """Which flags each program in the script is given: flags on its own command line, and those collected with
    `set -- "$@" --flag ...` into the argument list it takes as "$@"."""
    collected: set[str] = set()
    subcommand = ""
    used: dict[str, set[str]] = {}
    for line in script:
        start = re.match(r'set -- (?!"\$@")(\w+)', line)
        if start:
            subcommand = start.group(1)
            collected = set(FLAG.findall(line))
            continue
        if 'set -- "$@"' in line and not TOOL.search(line):
            collected |= set(FLAG.findall(line))
            continue
        for segment in re.split(r";|\|\|?|&&|\bthen\b", line):
            found = TOOL.search(segment)
            if not found:
                continue
            tool = {'container-gate "$@"': f"container-gate {subcommand}", '"$CG_GRYPE"': "grype"}.get(
                found[0], found[0]
            )
            flags = set(FLAG.findall(segment[found.end() :].split(" -- ", 1)[0]))
            if '"$@"' in segment:
                flags |= collected
            used.setdefault(tool, set()).update(flags)
    return used


@pytest.mark.tool
@pytest.mark.parametrize(("component", "job_name"), JOBS)
def test_every_flag_in_a_script_is_a_real_flag(component: str, job_name: str) -> None:
    job = visible_jobs(component)[job_name]
    used = flags_by_tool(job["script"])
    assert used, "the job runs none of the programs this test knows"
    for tool, flags in used.items():
        unknown = flags - real_flags(tool)
        assert not unknown, f"{tool} has no {sorted(unknown)}"


def input_variables(job: dict[str, Any]) -> dict[str, str]:
    """The job's variables that carry an input, and the input each carries."""
    found = {name: INPUT.fullmatch(str(value)) for name, value in job.get("variables", {}).items()}
    return {name: match.group(1) for name, match in found.items() if match}


def direct_flags(job: dict[str, Any]) -> set[tuple[str, str]]:
    """(flag, input) for every `--flag "...$CG_VAR..."` on a command line of the script."""
    variables = input_variables(job)
    pairs = re.findall(r'(--[a-z][a-z0-9-]*) "[^"$]*\$(CG_\w+)', "\n".join(job["script"]))
    return {(flag, variables[var]) for flag, var in pairs if var in variables}  # not the ones the script derives


FLAG_INPUTS = {
    ("scan", "trivy"): {
        ("--cache-dir", "cache-dir"),
        ("--scanners", "scanners"),
        ("--severity", "severity"),
        ("--timeout", "timeout"),
        ("--output", "trivy-report"),
        ("--format", "sbom-format"),
        ("--output", "sbom-report"),
    },
    ("scan", "grype"): {("--output", "grype-report")},
    ("provenance", "sbom"): {("--format", "sbom-format"), ("--output", "sbom-report")},
    ("provenance", "sign"): {
        ("--fulcio-url", "fulcio-url"),
        ("--rekor-url", "rekor-url"),
        ("--predicate", "sbom-report"),
    },
}
"""The scan's and provenance's inputs that become flags of Trivy, Grype and cosign (the test above checks that
each flag is one of the real program's)."""


@pytest.mark.parametrize(("component", "suffix"), list(FLAG_INPUTS))
def test_scanner_and_signer_inputs_feed_these_flags(component: str, suffix: str) -> None:
    (job,) = [j for name, j in visible_jobs(component).items() if name.endswith(f"]]-{suffix}")]
    assert direct_flags(job) == FLAG_INPUTS[component, suffix]


@pytest.mark.parametrize("component", ["gate", "remediate"])
def test_inputs_passed_as_flags_carry_the_flags_names(component: str) -> None:
    """The gate's and remediate's inputs are their flags without the dashes (the action contract)."""
    job = next(iter(visible_jobs(component).values()))
    script = "\n".join(job["script"])
    variables = input_variables(job)
    pairs = re.findall(
        r'\$(CG_\w+)"?; do set -- "\$@" (--[\w-]+)|"\$(CG_\w+)"[^;]*\]; then set -- "\$@" (--[\w-]+)', script
    )
    mapped = {(a or c): (b or d) for a, b, c, d in pairs}
    assert mapped, "no flag found"
    for variable, flag in mapped.items():
        assert flag == f"--{variables[variable]}", f"input {variables[variable]} feeds {flag}"
        assert flag in real_flags(f"container-gate {component}")


# --- the gate -------------------------------------------------------------------------------------------------


def gate_options() -> dict[str, argparse.Action]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {opt: a for a in sub.choices["gate"]._actions for opt in a.option_strings if opt.startswith("--")}


def test_every_input_is_a_gate_flag_and_every_policy_flag_an_input() -> None:
    inputs = documents()[0]["spec"]["inputs"]
    options = gate_options()
    flag_inputs = set(inputs) - JOB_SETTINGS - {"paths"}
    assert {f"--{name}" for name in flag_inputs} <= set(options)
    # every flag that changes the verdict can be set from the component (outputs are fixed files)
    assert set(options) - {"--help"} - OUTPUT_FLAGS <= {f"--{n}" for n in flag_inputs} | {"--config"}
    assert "config" in inputs


def test_choices_and_booleans_agree_with_the_cli() -> None:
    inputs = documents()[0]["spec"]["inputs"]
    options = gate_options()
    assert set(inputs["fail-on"]["options"]) - {""} == set(options["--fail-on"].choices or ())
    for name in ("only-fixed", "all-namespaces"):
        assert inputs[name]["type"] == "boolean" and isinstance(options[f"--{name}"], argparse._StoreTrueAction)


def test_reports_are_declared_for_gitlab() -> None:
    job = next(iter(documents()[1].values()))
    reports = {
        "container_scanning": "gl-container-gate-report.json",
        "codequality": "gl-container-gate-codequality.json",
        # JUnit: GitLab's test widget in every tier (the security widget is Ultimate-only)
        "junit": "gl-container-gate-junit.xml",
    }
    assert job["artifacts"]["reports"] == reports
    assert job["artifacts"]["when"] == "always"
    # GitLab keeps report-only files for its widgets: listed as paths too, later jobs and people can read them.
    assert set(reports.values()) <= set(job["artifacts"]["paths"])
    script = " ".join(job["script"])
    for flag, report in (
        ("--gitlab-report", "container_scanning"),
        ("--codequality", "codequality"),
        ("--junit", "junit"),
    ):
        assert f"{flag} {reports[report]}" in script


def test_the_gate_waits_for_the_scanners() -> None:
    spec, jobs = documents()
    inputs = spec["spec"]["inputs"]
    job = next(iter(jobs.values()))
    # GitLab's scanner job is container_scanning in stage test: needs makes the gate wait for it and get its
    # artifacts (without needs, a job of the same stage starts alongside it and finds no report).
    assert inputs["needs"]["type"] == "array" and inputs["needs"]["default"] == ["container_scanning"]
    assert job["needs"] == "$[[ inputs.needs ]]" and job["stage"] == "$[[ inputs.stage ]]"
    assert inputs["stage"]["default"] == "test"


def test_version_input_cannot_leave_the_repository_archive() -> None:
    pattern = documents()[0]["spec"]["inputs"]["version"]["regex"]
    assert re.fullmatch(pattern, "v1") and re.fullmatch(pattern, "0123abcd" * 5) and re.fullmatch(pattern, "1.2.3")
    for bad in ("../../evil/repo/archive/x", "v1 --index-url http://x", "v1;id", ""):
        assert not re.fullmatch(pattern, bad), bad


def run_job_script(tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the job's script lines in one POSIX shell, as the GitLab runner does, with the real CLI."""
    job = next(iter(documents()[1].values()))
    env = {"PATH": f"{Path(require_tool('container-gate')).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    for name in job["variables"]:
        env[name] = variables.get(name, "")
    script = "set -e\n" + "\n".join(job["script"]) + "\n"
    return subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


TRIVY = json.dumps(
    {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "app:1 (alpine 3.20.0)",
                "Class": "os-pkgs",
                "Type": "alpine",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2024-1",
                        "PkgName": "musl",
                        "InstalledVersion": "1.2.5-r0",
                        "FixedVersion": "1.2.5-r1",
                        "Severity": "HIGH",
                    }
                ],
            }
        ],
    }
)


def test_job_script_runs_the_gate_and_writes_the_reports(tmp_path: Path) -> None:
    (tmp_path / "trivy.json").write_text(TRIVY)
    blocked = run_job_script(tmp_path, CG_PATHS="trivy.json", CG_FAIL_ON="HIGH")
    assert blocked.returncode == 1, blocked.stderr
    assert "CVE-2024-1" in blocked.stdout
    for name in ("gl-container-gate-report.json", "gl-container-gate-codequality.json", "container-gate.sarif"):
        assert (tmp_path / name).is_file()
    passed = run_job_script(tmp_path, CG_PATHS="trivy.json", CG_FAIL_ON="NONE", CG_ONLY_FIXED="true")
    assert passed.returncode == 0, passed.stderr


def test_job_script_treats_input_text_as_data(tmp_path: Path) -> None:
    (tmp_path / "trivy.json").write_text(TRIVY)
    result = run_job_script(
        tmp_path, CG_PATHS="trivy.json", CG_CONFIG="x.yml; touch pwned", CG_BASELINE="$(touch pwned2)"
    )
    assert result.returncode == 2
    assert "x.yml; touch pwned" in result.stderr
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_job_script_reads_gitlab_scanner_report_and_leaves_it_alone(tmp_path: Path) -> None:
    own = tmp_path / "gl-container-scanning-report.json"
    own.write_bytes(corpus_file("schemas/trivy-golden_alpine-310.gitlab-container-scanning.json").read_bytes())
    before = own.read_bytes()
    result = run_job_script(tmp_path, CG_PATHS="gl-container-scanning-report.json", CG_FAIL_ON="MEDIUM")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "4 blocking (4 MEDIUM)" in result.stdout
    assert own.read_bytes() == before
    written = json.loads((tmp_path / "gl-container-gate-report.json").read_text())
    assert len(written["vulnerabilities"]) == 4


# --- the scan's SBOM ------------------------------------------------------------------------------------------


def test_scan_sbom_inputs() -> None:
    inputs = inputs_of("scan")
    assert inputs["sbom-format"]["options"] == ["none", "cyclonedx", "spdx-json"]
    assert inputs["sbom-format"]["default"] == "none"
    assert inputs["sbom-report"]["default"] == "gl-sbom-container-gate.cdx.json"
    # A relative path inside the project, no shell text
    assert not re.search(inputs["sbom-report"]["regex"], "/etc/passwd")
    assert not re.search(inputs["sbom-report"]["regex"], "x.json; id")


@pytest.mark.parametrize(
    ("sbom_format", "declared_cyclonedx"), [("none", False), ("cyclonedx", True), ("spdx-json", False)]
)
def test_scan_keeps_the_sbom_it_writes(sbom_format: str, declared_cyclonedx: bool) -> None:
    jobs = effective_jobs(render("scan", {"sbom-format": sbom_format}))
    trivy = jobs["container-gate-trivy"]
    artifacts = trivy["artifacts"]
    assert artifacts["when"] == "always"
    wanted = ["trivy.json"] + ([] if sbom_format == "none" else ["gl-sbom-container-gate.cdx.json"])
    assert artifacts["paths"] == wanted
    # A CycloneDX SBOM goes to GitLab's dependency list; an SPDX one is no cyclonedx report.
    assert artifacts.get("reports", {}) == (
        {"cyclonedx": "gl-sbom-container-gate.cdx.json"} if declared_cyclonedx else {}
    )
    assert jobs["container-gate-grype"]["artifacts"]["paths"] == ["grype.json"]


@pytest.mark.parametrize("sbom_format", ["none", "cyclonedx", "spdx-json"])
def test_scan_script_writes_the_sbom_with_the_same_cache(tmp_path: Path, sbom_format: str) -> None:
    """The Trivy job's script with a stand-in `trivy` that records its argument lists."""
    job = effective_jobs(
        render("scan", {"sbom-format": sbom_format, "image": "registry.example/app@sha256:" + "a" * 64})
    )["container-gate-trivy"]
    fake = tmp_path / "bin" / "trivy"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$*" >> "$TRIVY_CALLS"\n', encoding="utf-8")
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    env = {str(k): str(v) for k, v in job["variables"].items()}
    env |= {"PATH": f"{fake.parent}:/usr/bin:/bin", "TRIVY_CALLS": str(calls)}
    subprocess.run(["sh", "-ec", "\n".join(job["script"])], cwd=tmp_path, env=env, check=True, capture_output=True)
    argvs = calls.read_text(encoding="utf-8").splitlines()
    image = "-- registry.example/app@sha256:" + "a" * 64
    assert (
        argvs[0].startswith("image ") and "--format json --output trivy.json" in argvs[0] and argvs[0].endswith(image)
    )
    if sbom_format == "none":
        assert len(argvs) == 1
        return
    assert len(argvs) == 2
    sbom = argvs[1]
    assert sbom == (
        "image --skip-version-check --no-progress --cache-dir .cache/container-gate/trivy --timeout 15m "
        f"--format {sbom_format} --output gl-sbom-container-gate.cdx.json {image}"
    )
    assert "--scanners" not in sbom  # an SBOM needs no vulnerability database
    assert (tmp_path / ".cache" / "container-gate" / "trivy").is_dir()


# --- our own pipeline -----------------------------------------------------------------------------------------


def root_includes() -> list[dict[str, Any]]:
    doc = yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    includes: list[dict[str, Any]] = doc["include"]
    return includes


def check_given_inputs(component: str, given: dict[str, Any]) -> None:
    """What GitLab checks when a pipeline includes a component: known inputs, of their type, options and regex."""
    declared = inputs_of(component)
    for name, value in given.items():
        assert name in declared, f"{component} has no input {name}"
        decl = declared[name]
        kind = decl.get("type", "string")
        assert isinstance(value, INPUT_TYPES[kind]) and (kind == "boolean" or not isinstance(value, bool)), (
            f"{component}: {name}={value!r} is no {kind}"
        )
        if "options" in decl:
            assert value in decl["options"], f"{component}: {name}={value!r} is not one of {decl['options']}"
        if "regex" in decl:
            assert re.search(decl["regex"], str(value)), f"{component}: {name}={value!r} fails {decl['regex']}"


def test_our_pipeline_includes_every_component_at_this_commit_with_valid_inputs() -> None:
    seen = set()
    for include in root_includes():
        match = re.fullmatch(r"\$CI_SERVER_FQDN/\$CI_PROJECT_PATH/([a-z-]+)@\$CI_COMMIT_SHA", include["component"])
        assert match, include["component"]
        seen.add(match.group(1))
        check_given_inputs(match.group(1), include.get("inputs") or {})
    assert seen == set(COMPONENTS)


def test_the_readme_shows_every_component_with_valid_inputs() -> None:
    """Including the examples tests/acceptance/test_doc_examples.py cannot run (they say why); gitlab-ci-local
    renders them all in tests/e2e/test_gitlab_ci_local.py, but checks no regex."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = set()
    for block in re.findall(r"^```yaml\n(.*?)^```$", readme, re.M | re.S):
        doc = yaml.safe_load(block)
        for include in doc.get("include", []) if isinstance(doc, dict) else []:
            match = re.fullmatch(
                r"\$CI_SERVER_FQDN/org/container-gate/([a-z-]+)@[0-9.]+", str(include.get("component"))
            )
            if match:
                shown.add(match.group(1))
                check_given_inputs(match.group(1), include.get("inputs") or {})
    assert shown == set(COMPONENTS)


@pytest.mark.tool
def test_our_pipeline_is_valid_gitlab_ci(tmp_path: Path) -> None:
    check_jsonschema(tmp_path, yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8")))
