"""The GitLab components run for real: gitlab-ci-local 4.70.1, a real Docker engine, the image built from our
Dockerfile.

A fixture project (tests/e2e/gitlab/) includes the components from its own tree with `include: local:` and
`inputs:`, as GitLab does; gitlab-ci-local renders the includes (spec:inputs, defaults, extends) and runs a job in a
container of the image the job names, copying its artifacts back (--artifacts-to-source).

Two things gitlab-ci-local needs that this machine cannot pull: its helper image (docker.io/firecow/
gitlab-ci-local-util, which chowns the build volume and runs rsync to export artifacts) is replaced with
--helper-image by one made here from the local Debian base and the host's rsync; and the job's own image is local,
so --pull-policy if-not-present keeps it from being pulled (gitlab-ci-local's default too, said explicitly).
gitlab-ci-local does not check spec:inputs:regex (it warns "no-op"): the unit tests do.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.conftest import REPO, corpus_file, require_tool
from tests.e2e.conftest import build_image, git_commit
from tests.unit.templates.test_gitlab_component import effective_jobs, render

FIXTURES = Path(__file__).resolve().parent / "gitlab"
NPM_PREFIX = Path(os.environ.get("CONTAINER_GATE_NPM") or Path.home() / ".cache" / "container-gate" / "npm")
"""Where .ci/run installs gitlab-ci-local (npm --prefix); a gitlab-ci-local on PATH is taken first."""
HELPER_TAG = "container-gate-e2e-gcl-helper:bookworm"
GITLAB_REPORT_SCHEMA = "schemas/gitlab_container-scanning-report-format_15.0.7.json"

pytestmark = [pytest.mark.tool]  # gitlab-ci-local; the tests that run jobs need Docker too


def gitlab_ci_local() -> str:
    found = shutil.which("gitlab-ci-local") or shutil.which("gitlab-ci-local", path=str(NPM_PREFIX / "bin"))
    return found or require_tool("gitlab-ci-local")  # skips here, fails under CI=true


@pytest.fixture(scope="session")
def helper_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """gitlab-ci-local's helper image, made locally: the Debian base plus this machine's rsync and the libraries it
    links (kept apart, on its own LD_LIBRARY_PATH, so nothing of the base changes)."""
    rsync = require_tool("rsync")
    context = tmp_path_factory.mktemp("gcl-helper")
    (context / "lib").mkdir()
    shutil.copy2(Path(rsync).resolve(), context / "rsync")
    linked = subprocess.run(["ldd", rsync], capture_output=True, text=True, check=True).stdout
    for library in re.findall(r"=> (/\S+)", linked):
        if not re.search(r"/(libc|ld-linux[^/]*)\.so", library):
            shutil.copy2(library, context / "lib" / Path(library).name)
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\n"
        "COPY rsync /usr/local/libexec/rsync\n"
        "COPY lib/ /usr/local/lib/rsync/\n"
        "RUN printf '#!/bin/sh\\nLD_LIBRARY_PATH=/usr/local/lib/rsync exec /usr/local/libexec/rsync \"$@\"\\n'"
        " > /usr/local/bin/rsync && chmod 755 /usr/local/bin/rsync && rsync --version\n",
        encoding="utf-8",
    )
    done = build_image(context, HELPER_TAG)
    assert done.returncode == 0, f"helper image build failed:\n{done.stderr[-3000:]}"
    return HELPER_TAG


def make_project(root: Path, *files: str) -> Path:
    """A git repository holding our templates/ and the named fixtures (paths under tests/e2e/gitlab)."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "templates", root / "templates")
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(FIXTURES / name, root / name)
    git_commit(root, remote="https://gitlab.example.com/org/fixture.git")
    return root


@dataclass(frozen=True, slots=True)
class Run:
    """One gitlab-ci-local run: its exit status, what it printed (stdout: jobs' logs, or --preview's YAML), its
    messages (stderr) and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def job_exit(self, job: str) -> int:
        """The job's own exit code as gitlab-ci-local reports it (`<job> finished in … FAIL <code>`), 0 on PASS."""
        failed = re.search(rf"^{re.escape(job)} finished in [^\n]*FAIL (\d+)", self.log, re.M)
        if failed:
            return int(failed.group(1))
        assert re.search(rf"^ PASS  {re.escape(job)}\b", self.log, re.M), self.log[-3000:]
        return 0


def run_gcl(project: Path, pipeline: str, *args: str, timeout: float = 600) -> Run:
    argv = [gitlab_ci_local(), "--file", pipeline, "--no-color", "--home", str(project.parent / "gcl-home"), *args]
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
    started = time.monotonic()
    done = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def in_docker(helper: str, image: str) -> tuple[str, ...]:
    return (
        "--pull-policy",
        "if-not-present",
        "--helper-image",
        helper,
        "--artifacts-to-source",
        "--variable",
        f"CG_E2E_IMAGE={image}",
    )


def validate_gitlab_report(path: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads(corpus_file(GITLAB_REPORT_SCHEMA).read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER).validate(report)
    return report


# --- the gate component in the action image -------------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.corpus
@pytest.mark.parametrize(
    ("job", "exit_code", "vulnerabilities"),
    [pytest.param("gate-blocked", 1, 2, id="blocked"), pytest.param("gate-clean", 0, 0, id="clean")],
)
def test_gate_component_runs_in_the_action_image(
    tmp_path: Path, action_image: str, helper_image: str, job: str, exit_code: int, vulnerabilities: int
) -> None:
    project = make_project(
        tmp_path / "project", "gate.gitlab-ci.yml", "reports/trivy-fixable-high.json", "reports/trivy-clean.json"
    )

    run = run_gcl(project, "gate.gitlab-ci.yml", *in_docker(helper_image, action_image), job)

    assert f"{job} starting {action_image} (test)" in run.log, run.log[-3000:]  # a container, not the shell
    assert "docker pull" not in run.log, run.log[-3000:]
    assert run.job_exit(job) == exit_code, run.log[-3000:]
    assert (run.returncode != 0) == (exit_code != 0)
    report = validate_gitlab_report(project / "gl-container-gate-report.json")
    assert len(report["vulnerabilities"]) == vulnerabilities
    result = json.loads((project / "container-gate.json").read_text(encoding="utf-8"))
    if exit_code:
        assert "FAIL: 1 blocking (1 HIGH)" in run.log
        assert result["verdict"] == "fail" and result["counts"]["blocking"] == 1
        (blocking,) = [f for f in result["findings"] if f["blocking"]]
        assert (blocking["id"], blocking["package"], blocking["fixed_version"]) == (
            "CVE-2024-6119",
            "libssl3",
            "3.0.14-1~deb12u2",
        )
        assert {v["identifiers"][0]["value"] for v in report["vulnerabilities"]} == {"CVE-2024-6119", "CVE-2011-3374"}
    else:
        assert "PASS: nothing blocks" in run.log and result["verdict"] == "pass"
    for name in ("gl-container-gate-codequality.json", "gl-container-gate-junit.xml", "container-gate.sarif"):
        assert (project / name).is_file(), name
    # The report it read stays as it was, and nothing escaped the job's artifacts.
    assert (project / "reports" / "trivy-fixable-high.json").read_bytes() == (
        FIXTURES / "reports" / "trivy-fixable-high.json"
    ).read_bytes()


# --- the scan component's SBOM, read by the gate component ------------------------------------------------------


@pytest.mark.docker
def test_scan_sbom_feeds_the_gate_component(
    tmp_path: Path, base_image: str, action_image: str, helper_image: str
) -> None:
    """The Trivy job runs with the shell executor (the real Trivy of this venv scanning the local base image through
    the Docker engine; the aquasec/trivy image cannot be pulled here), then the gate job in the action image takes
    the SBOM from the Trivy job's artifacts (needs:)."""
    require_tool("trivy")
    project = make_project(tmp_path / "project", "sbom.gitlab-ci.yml")

    scan = run_gcl(
        project,
        "sbom.gitlab-ci.yml",
        "--force-shell-executor",
        "--variable",
        f"CG_E2E_SCANNED={base_image}",
        "container-gate-trivy",
    )

    assert scan.job_exit("container-gate-trivy") == 0, scan.log[-3000:]
    kept = project / ".gitlab-ci-local" / "artifacts" / "container-gate-trivy"
    assert sorted(p.name for p in kept.iterdir()) == ["gl-sbom-container-gate.cdx.json", "trivy.json"]
    sbom = json.loads((kept / "gl-sbom-container-gate.cdx.json").read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX" and not sbom.get("vulnerabilities")  # no database, no scan
    assert {"bash", "coreutils"} <= {c["name"] for c in sbom["components"]}
    # One image analysis, two outputs: the second Trivy run found the layers in the shared cache.
    assert (project / ".cache" / "container-gate" / "trivy" / "fanal").is_dir()

    gate = run_gcl(project, "sbom.gitlab-ci.yml", *in_docker(helper_image, action_image), "gate-sbom")

    assert "gate-sbom imported artifacts" in gate.log, gate.log[-3000:]
    assert gate.job_exit("gate-sbom") == 1, gate.log[-3000:]
    result = json.loads((project / "container-gate.json").read_text(encoding="utf-8"))
    blocked = {f["package"] for f in result["findings"] if f["blocking"]}
    assert {"bash", "coreutils"} <= blocked
    assert all(f["kind"] == "license" for f in result["findings"] if f["blocking"])
    validate_gitlab_report(project / "gl-container-gate-report.json")


# --- gitlab-ci-local renders every component as the unit tests do ---------------------------------------------


def normalised(job: dict[str, Any]) -> dict[str, Any]:
    """GitLab's own expansion of short forms, which gitlab-ci-local's preview prints: needs as objects, cache as a
    list with its defaults, variables as the strings a job sees."""
    job = dict(job)
    if "needs" in job:
        job["needs"] = [
            {"artifacts": True, "optional": False} | ({"job": n} if isinstance(n, str) else n) for n in job["needs"]
        ]
    if "cache" in job:
        caches = job["cache"] if isinstance(job["cache"], list) else [job["cache"]]
        job["cache"] = [{"policy": "pull-push", "when": "on_success"} | c for c in caches]
    if "variables" in job:
        job["variables"] = {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in job["variables"].items()}
    return job


def test_gitlab_ci_local_renders_every_component_as_the_unit_tests_do(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", "preview.gitlab-ci.yml")

    run = run_gcl(project, "preview.gitlab-ci.yml", "--preview")

    assert run.returncode == 0, run.log[-3000:]
    preview = yaml.safe_load(run.stdout)
    expected: dict[str, Any] = {}
    for include in yaml.safe_load((FIXTURES / "preview.gitlab-ci.yml").read_text(encoding="utf-8"))["include"]:
        component = include["local"].split("/")[1]
        expected |= effective_jobs(render(component, include.get("inputs")))
    jobs = {name: job for name, job in preview.items() if name != "stages"}
    assert set(jobs) == set(expected)
    for name, job in expected.items():
        assert normalised(jobs[name]) == normalised(job), name
    assert preview["container-gate-trivy"]["artifacts"]["reports"] == {"cyclonedx": "gl-sbom-container-gate.cdx.json"}


COMPONENT = re.compile(r"\$CI_SERVER_FQDN/(?:\$CI_PROJECT_PATH|org/container-gate)/([a-z-]+)@\S+")
_FENCE = re.compile(r"^```yaml\n(.*?)^```$", re.M | re.S)


def pipelines() -> list[Any]:
    """Our own .gitlab-ci.yml and every README example that includes our components."""
    found = [pytest.param(yaml.safe_load((REPO / ".gitlab-ci.yml").read_text(encoding="utf-8")), id="own-pipeline")]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for match in _FENCE.finditer(readme):
        doc = yaml.safe_load(match.group(1))
        if isinstance(doc, dict) and "/org/container-gate/" in json.dumps(doc.get("include", [])):
            found.append(pytest.param(doc, id=f"README.md:{readme.count(chr(10), 0, match.start()) + 1}"))
    return found


@pytest.mark.parametrize("doc", pipelines())
def test_pipelines_we_show_render_under_gitlab_ci_local(tmp_path: Path, doc: dict[str, Any]) -> None:
    """Each with its `component:` includes read from this tree (`local:`); GitLab's own templates, which cannot be
    fetched here, become a stand-in job of the name the example needs."""
    project = make_project(tmp_path / "project")
    doc = json.loads(json.dumps(doc))
    ours = []
    for include in doc["include"]:
        match = COMPONENT.fullmatch(str(include.get("component", "")))
        if match:
            ours.append({"local": f"templates/{match.group(1)}/template.yml", "inputs": include.get("inputs", {})})
    dropped = len(doc["include"]) - len(ours)
    doc["include"] = ours
    expected: dict[str, Any] = {}
    for include in ours:
        expected |= effective_jobs(render(include["local"].split("/")[1], include["inputs"]))
    needed = {n if isinstance(n, str) else n["job"] for job in expected.values() for n in job.get("needs", [])}
    for name in sorted(needed - set(expected) - set(doc)):
        doc[name] = {"stage": "test", "script": ["true"]}  # a job of the user's pipeline or a GitLab template
    assert dropped <= 1
    (project / "shown.gitlab-ci.yml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    run = run_gcl(project, "shown.gitlab-ci.yml", "--preview")

    assert run.returncode == 0, run.log[-3000:]
    preview = yaml.safe_load(run.stdout)
    for name, job in expected.items():
        assert normalised(preview[name]) == normalised(job), name
    assert set(expected) <= set(preview)
