"""Fixtures for the act end-to-end tests: a running Docker engine, the local base image, fixture repositories."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, missing, require_root, require_tool

SETUP_SCRIPT = REPO / ".ci" / "setup-docker.sh"
WORKFLOWS = Path(__file__).resolve().parent / "workflows"
HOSTED_RUNNER_UID = 1001
"""The uid of GitHub's hosted runner user, who owns the workspace there (see docs/action.md)."""

# What the image build needs from the project (the Dockerfile's COPY lines), plus what the workflows use.
PROJECT_FILES = (
    "Dockerfile",
    ".dockerignore",
    ".trivyignore.yaml",
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "action.yml",
)
PROJECT_DIRS = ("gate", "remediate", "requirements", "examples", ".github")
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".ruff_cache", ".pytest_cache")


def _engine_up(docker: str) -> bool:
    probe = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def base_image() -> str:
    """A running engine and the local Debian base image, made by .ci/setup-docker.sh when we may (as root)."""
    docker = shutil.which("docker")
    if docker is None:
        missing("the docker client (apt-get install docker.io)")
    assert docker is not None
    if os.geteuid() == 0:
        done = subprocess.run(["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"setup-docker.sh failed:\n{done.stderr[-3000:]}"
        return done.stdout.strip().splitlines()[-1]
    if not _engine_up(docker):
        missing("a running Docker engine (run .ci/setup-docker.sh as root)")
    name = os.environ.get("CG_BASE_IMAGE", "container-gate-e2e-base:bookworm")
    if subprocess.run([docker, "image", "inspect", name], capture_output=True, check=False).returncode != 0:
        missing(f"the local base image {name} (run .ci/setup-docker.sh as root)")
    return name


def substitute_base(dockerfile: Path, image: str) -> None:
    """Point `ARG BASE_IMAGE` at the local image, and give the build stage's pip this machine's CA bundle.

    act builds local actions itself and passes no build arguments, so the defaults are rewritten in the copy."""
    text = dockerfile.read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^ARG BASE_IMAGE=\S+$", f"ARG BASE_IMAGE={image}", text)
    assert count == 1, "Dockerfile must declare exactly one `ARG BASE_IMAGE=` default"
    text, count = re.subn(r"(?m)^ARG PIP_CERT$", "ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt", text)
    assert count == 1, "Dockerfile must declare `ARG PIP_CERT` (no default)"
    dockerfile.write_text(text, encoding="utf-8")


def make_fixture_repo(
    root: Path, image: str, workflows: Iterable[str], files: dict[str, Path | str], *, owner: int | None = None
) -> Path:
    """A git repository holding this project (so `uses: ./` finds action.yml) plus fixture files.

    `files` maps repository paths to a source file (read in place, e.g. from the corpus) or literal text.
    `owner` hands the whole checkout to that uid and gid, as a runner running as that user would have it; by
    default it stays with whoever runs the tests (root on CI: act's default layout)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        shutil.copy2(REPO / name, root / name)
    for name in PROJECT_DIRS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name, ignore=_SKIP, dirs_exist_ok=True)
    substitute_base(root / "Dockerfile", image)
    (root / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
    for workflow in workflows:
        # act names its containers after the workflow and job: a name of this fixture's own lets tests that run
        # the same workflow in parallel (pytest -n) keep out of each other's containers.
        text = (WORKFLOWS / workflow).read_text(encoding="utf-8")
        tag = hashlib.sha256(str(root).encode()).hexdigest()[:8]  # leaf names repeat across pytest workers
        text, count = re.subn(r"(?m)^name: (.*)$", rf"name: \1 ({tag})", text, count=1)
        assert count == 1, f"{workflow} needs a top-level name:"
        (root / ".github" / "workflows" / workflow).write_text(text, encoding="utf-8")
    for relative, source in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copy2(source, target)
        else:
            target.write_text(source, encoding="utf-8")
    (root / "out").mkdir(exist_ok=True)
    git_commit(root)
    if owner is not None:
        require_root(f"to hand the workspace to uid {owner}")
        subprocess.run(["chown", "-R", f"{owner}:{owner}", str(root)], check=True)
    return root


def git_commit(root: Path, remote: str = "https://github.com/container-gate/fixture.git") -> None:
    """`root` as a fresh git repository with one commit of everything in it and an `origin` remote."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "e2e", "GIT_AUTHOR_EMAIL": "e2e@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "e2e", "GIT_COMMITTER_EMAIL": "e2e@example.invalid"}
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["commit", "-q", "-m", "fixture"],
        ["remote", "add", "origin", remote],
    ):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@dataclass(frozen=True, slots=True)
class ActRun:
    """One finished `act` run: its exit status, its log, and how long it took."""

    returncode: int
    log: str
    seconds: float

    def outputs(self) -> dict[str, str]:
        """Step outputs as act prints them (`::set-output:: name=value`)."""
        return dict(re.findall(r"::set-output:: ([\w-]+)=(.*)", self.log))

    def annotations(self, level: str) -> list[str]:
        """Workflow-command annotations of one level (`error`, `warning`, `notice`) as act relays them."""
        return re.findall(rf"::{level}(?: [^:\n]*)?::[^\n]*", self.log)

    def summary(self) -> str:
        """The step summary text act prints after `Summary - ` (up to the next log line of act's own)."""
        match = re.search(r"Summary - (.*?)(?=\n\[)", self.log, re.S)
        return match.group(1) if match else ""


STUBS = Path(__file__).resolve().parent / "stubs"
HARDEN_RUNNER = "step-security/harden-runner@9af89fc71515a100421586dfdb3dc9c984fbf411"
"""The pin every workflow uses (a unit test checks they agree); act resolves it to the stand-in in stubs/."""
STAND_INS = {
    "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684": STUBS / "cache",
    "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02": STUBS / "upload-artifact",
    "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093": STUBS / "download-artifact",
    "github/codeql-action@181d5eefc20863364f96762470ba6f862bdef56b": STUBS / "codeql-action",
}
"""The other remote actions the reusable workflows use, by repository and the workflows' pin (a unit test checks
each against the workflows), and their stand-ins: act cannot fetch them here, and there is no cache service,
artifact storage or code scanning in a local run. Sub-actions (`actions/cache/restore@...`) resolve to the
stand-in's folder of that name."""


def run_act(repo: Path, workflow: str, image: str, *extra: str, timeout: float = 900, bind: bool = True) -> ActRun:
    """`act push -W <workflow> -P ubuntu-latest=<image> --pull=false --rm [--bind]` in `repo`.

    --bind mounts the fixture repository as the workspace, so files the action writes are visible here; without
    it (act's default) act copies the checkout into the job container, root-owned, and only the log tells."""
    act = require_tool("act")
    argv = [act, "push", "-W", f".github/workflows/{workflow}", "-P", f"ubuntu-latest={image}", "--pull=false"]
    # (act keeps a failed job's container otherwise, and the blocked cases fail on purpose.)
    argv.append("--rm")
    argv += ["--local-repository", f"{HARDEN_RUNNER}={STUBS / 'harden-runner'}"]
    for pin, stand_in in STAND_INS.items():
        argv += ["--local-repository", f"{pin}={stand_in}"]
    argv += ["--bind", *extra] if bind else list(extra)
    started = time.monotonic()
    done = subprocess.run(argv, cwd=repo, capture_output=True, text=True, timeout=timeout, check=False)
    return ActRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)


def containers_mounting(folder: Path) -> list[str]:
    """Ids of the Docker containers (running or not) that mount `folder`: what a job run on it left behind."""
    docker = shutil.which("docker") or "docker"
    argv = [docker, "ps", "-aq", "--filter", f"volume={folder}"]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()


IMAGE_TAG = "container-gate-e2e:test"


def build_image(context: Path, tag: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """`docker build` with the classic builder, the one act uses for local actions."""
    docker = shutil.which("docker") or "docker"
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    argv = [docker, "build", "-q", "-t", tag, *extra, str(context)]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.fixture(scope="session")
def action_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The action image built from our Dockerfile on the local base (once per session)."""
    context = make_fixture_repo(tmp_path_factory.mktemp("image"), base_image, [], {})
    done = build_image(context, IMAGE_TAG)
    assert done.returncode == 0, f"docker build failed:\n{done.stderr[-3000:]}"
    return IMAGE_TAG


def pin_prebuilt_image(action_yml: Path, reference: str) -> None:
    """Point `runs.image` at a prebuilt image by digest, as the release workflow does (docs/action.md)."""
    assert re.fullmatch(r"[^@\s]+@sha256:[0-9a-f]{64}", reference), reference
    text, count = re.subn(r"(?m)^  image: Dockerfile$", f"  image: docker://{reference}", action_yml.read_text())
    assert count == 1, "action.yml must build from `image: Dockerfile` on main"
    action_yml.write_text(text, encoding="utf-8")


def push_by_digest(image: str, registry_host: str) -> str:
    """Push `image` to a local registry and drop the local copy of that name: returns `host/name@sha256:...`."""
    docker = shutil.which("docker") or "docker"
    tagged = f"{registry_host}/container-gate:e2e"
    subprocess.run([docker, "tag", image, tagged], check=True, capture_output=True)
    pushed = subprocess.run([docker, "push", tagged], check=True, capture_output=True, text=True).stdout
    found = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed)
    assert found, pushed
    subprocess.run([docker, "rmi", tagged], check=True, capture_output=True)
    return f"{registry_host}/container-gate@{found.group(1)}"


RUNNER_TAG = "container-gate-e2e-runner:bookworm"


@pytest.fixture(scope="session")
def runner_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The local base image plus the host's Docker client, for jobs whose steps call `docker run` themselves (the
    reusable gate.yml), as GitHub's hosted runners can. act mounts the engine's socket into the job container."""
    client = shutil.which("docker")
    assert client is not None
    context = tmp_path_factory.mktemp("runner")
    shutil.copy2(Path(client).resolve(), context / "docker")
    (context / "Dockerfile").write_text(f"FROM {base_image}\nCOPY docker /usr/local/bin/docker\n", encoding="utf-8")
    done = build_image(context, RUNNER_TAG)
    assert done.returncode == 0, f"docker build failed:\n{done.stderr[-3000:]}"
    probe = subprocess.run(
        ["docker", "run", "--rm", RUNNER_TAG, "docker", "--version"], capture_output=True, text=True, check=False
    )
    assert probe.returncode == 0, f"the host's Docker client ({client}) does not run in {base_image}: {probe.stderr}"
    return RUNNER_TAG
