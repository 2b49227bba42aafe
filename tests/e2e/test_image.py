"""The action image itself: what it runs as, what it contains, and what it leaves out."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from gate import __version__
from tests.conftest import corpus_file, require_root

pytestmark = pytest.mark.docker


def _docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([shutil.which("docker") or "docker", *args], capture_output=True, text=True, check=False)


def _inspect(image: str) -> dict[str, object]:
    done = _docker("image", "inspect", image)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)[0]
    assert isinstance(data, dict)
    return data


def _config(image: str) -> dict[str, object]:
    config = _inspect(image)["Config"]
    assert isinstance(config, dict)
    return config


def test_version_answers(action_image: str) -> None:
    done = _docker("run", "--rm", action_image, "--version")
    assert (done.returncode, done.stdout) == (0, f"container-gate {__version__}\n")


def test_starts_as_root_only_to_become_the_workspace_owner(action_image: str, tmp_path: Path) -> None:
    """No USER in the image (the entrypoint switches); files written in a workspace of uid 1234 belong to 1234."""
    require_root("to hand a workspace to uid 1234")
    config = _config(action_image)
    assert config["User"] == ""
    assert config["Healthcheck"] == {"Test": ["NONE"]}
    assert config["Entrypoint"] == ["/opt/venv/bin/python", "-I", "-m", "gate.ci.action"]
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "empty.json").write_text(
        '{"SchemaVersion": 2, "ArtifactName": "x", "ArtifactType": "container_image", "Results": []}'
    )
    subprocess.run(["chown", "-R", "1234:2345", str(workspace)], check=True)
    done = _docker(
        "run", "--rm", "-v", f"{workspace}:/github/workspace", "-w", "/github/workspace",
        "-e", "GITHUB_WORKSPACE=/github/workspace", "-e", "INPUT_PATHS=empty.json",
        "-e", "INPUT_SARIF=container-gate.sarif", "-e", "INPUT_JSON=out/result.json",
        action_image, "github-action", "gate",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for written in (workspace / "container-gate.sarif", workspace / "out" / "result.json", workspace / "out"):
        assert (written.stat().st_uid, written.stat().st_gid) == (1234, 2345), written


def test_oci_labels(action_image: str) -> None:
    labels = _config(action_image)["Labels"]
    assert isinstance(labels, dict)
    for key in ("title", "description", "source", "licenses", "version", "revision"):
        assert labels.get(f"org.opencontainers.image.{key}"), key


def test_no_build_tools_caches_or_build_settings_in_the_final_image(action_image: str) -> None:
    script = (
        "import os, shutil, sys;"
        "paths = ('/wheels', '/src', '/opt/build', '/root/.cache/pip', '/opt/venv/bin/pip');"
        "bad = [p for p in paths if os.path.exists(p)];"
        "bad += [t for t in ('gcc', 'cc', 'make') if shutil.which(t)];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = _docker("run", "--rm", "--entrypoint", "/opt/venv/bin/python", action_image, "-c", script)
    assert done.returncode == 0, done.stdout + done.stderr
    env = _config(action_image)["Env"]
    assert isinstance(env, list)
    assert not [e for e in env if str(e).startswith("PIP_")]


def test_hyphenated_input_variables_reach_the_entrypoint(action_image: str) -> None:
    # `INPUT_FAIL-ON` cannot be read by a POSIX shell; the Python entrypoint must see it anyway.
    done = _docker(
        "run", "--rm", "-e", "INPUT_FAIL-ON=bogus", "-e", "INPUT_PATHS=.", action_image, "github-action", "gate"
    )
    assert done.returncode == 2
    assert "--fail-on: invalid choice: 'BOGUS'" in done.stderr


def test_the_image_adds_little_to_its_base(action_image: str, base_image: str) -> None:
    added = int(str(_inspect(action_image)["Size"])) - int(str(_inspect(base_image)["Size"]))
    assert 0 < added < 120 * 1024 * 1024, f"the image adds {added / 2**20:.1f} MiB to its base"


@pytest.mark.corpus
def test_an_unwritable_workspace_fails_closed_with_one_line(action_image: str, tmp_path: Path) -> None:
    """A workspace its own owner cannot write: exit 2 and a one-line reason, never a pass."""
    require_root("to hand a workspace to uid 1234")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    shutil.copy2(corpus_file("trivy/trivy-golden_alpine-310.json"), workspace / "report.json")
    subprocess.run(["chown", "-R", "1234:1234", str(workspace)], check=True)
    workspace.chmod(0o555)
    done = _docker(
        "run", "--rm", "-v", f"{workspace}:/github/workspace", "-w", "/github/workspace",
        "-e", "GITHUB_WORKSPACE=/github/workspace", "-e", "INPUT_PATHS=report.json",
        "-e", "INPUT_SARIF=container-gate.sarif", action_image, "github-action", "gate",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith("container-gate: error: container-gate.sarif: cannot write: Permission denied")
    assert done.stderr.count("\n") == 1


def test_every_module_imports_in_the_image(action_image: str) -> None:
    """The image holds only what pyproject.toml declares: an undeclared dependency shows up here by name."""
    script = (
        "import importlib, pkgutil, sys\n"
        "failed = []\n"
        "for top in ('gate', 'remediate'):\n"
        "    package = importlib.import_module(top)\n"
        "    for info in pkgutil.walk_packages(package.__path__, top + '.'):\n"
        "        if info.name.endswith('__main__'):\n"
        "            continue\n"
        "        try:\n"
        "            importlib.import_module(info.name)\n"
        "        except ImportError as exc:\n"
        "            failed.append(f'{info.name}: {exc}')\n"
        "print('\\n'.join(failed)); sys.exit(1 if failed else 0)\n"
    )
    done = _docker("run", "--rm", "--entrypoint", "/opt/venv/bin/python", action_image, "-c", script)
    assert done.returncode == 0, f"modules that do not import in the image:\n{done.stdout}{done.stderr}"
