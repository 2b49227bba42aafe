"""Every example in README.md and docs/*.md runs or is validated as written.

Fenced blocks are found by their info string and content:

* shell blocks (`sh`, `shell`, `console`, or no info string) with `container-gate` commands: each command
  runs with the real CLI in a workspace holding a copy of examples/app and the files the docs name
  (tests/acceptance/doc_examples); a command must reach a verdict (exit 0 or 1), never an error;
* YAML `.container-gate.yml` settings: validated against gate/schemas/config.schema.json;
* YAML ignore files (`.trivyignore.yaml`, our list): read by the gate's own ignore reader;
* YAML GitLab `include:` of our component: every input named exists in templates/<name>/template.yml and
  its value fits the declared type, options and regex; the job script then runs with those inputs;
* YAML GitHub workflow steps using `org/container-gate`: every `with:` key is an input of the action;
* YAML action metadata (`runs:`): the same `using` and `args` as action.yml;
* JSON samples of the remediation plan or the gate's result: their keys or the result schema.

`text` blocks are synopses, not examples. A block that cannot run here says so with
`<!-- example: skip (reason) -->` on the line before its fence; those are listed as skipped with the reason.
Any other block fails: an example nobody checks is an example that rots.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from gate.schemas import load
from tests.conftest import corpus_file, require_tool

REPO = Path(__file__).resolve().parents[2]
SCENERY = Path(__file__).resolve().parent / "doc_examples"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL = {"sh", "shell", "console", "bash", ""}
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_SKIP = re.compile(r"^<!--\s*example:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
_TRIVYIGNORE_SECTIONS = ("misconfigurations", "vulnerabilities", "secrets", "licenses")
_ACTIONS = {
    "org/container-gate": REPO / "action.yml",
    "org/container-gate/remediate": REPO / "remediate" / "action.yml",
}


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its info string, its text, and the skip reason written above it."""

    path: Path
    line: int
    info: str
    text: str
    skip: str | None

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def blocks() -> list[Block]:
    found: list[Block] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = [row for row in text[: match.start()].splitlines() if row.strip()]
            marker = _SKIP.match(before[-1].strip()) if before else None
            found.append(Block(path, line, match.group(1), match.group(2), marker.group("reason") if marker else None))
    return [b for b in found if b.info != "text"]


EXAMPLES = blocks()


def test_the_examples_are_found() -> None:
    # The README alone shows a shell command, the config file, the action and the component.
    readme = [b for b in EXAMPLES if b.path.name == "README.md"]
    assert len(readme) >= 5 and {b.info for b in readme} >= {"sh", "yaml"}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder like a user's repository: the example app at its root (and under examples/app), plus the
    policies, manifests and data files the docs' commands name."""
    root = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "app", root)
    shutil.copytree(REPO / "examples", root / "examples")
    shutil.copytree(SCENERY, root, dirs_exist_ok=True)
    (root / "README.md").unlink()
    return root


@pytest.mark.parametrize("block", EXAMPLES, ids=lambda b: b.where)
def test_example(block: Block, workspace: Path) -> None:
    if block.skip:
        pytest.skip(f"{block.where}: {block.skip}")
    if block.info in SHELL:
        _shell(block, workspace)
    elif block.info == "yaml":
        _yaml(block, workspace)
    elif block.info == "json":
        _json(block)
    else:
        pytest.fail(f"{block.where}: a ```{block.info} block is no known kind of example; fence it as text or mark it")


def _commands(block: Block) -> list[str]:
    lines = [row.strip().removeprefix("$ ") for row in block.text.replace("\\\n", " ").splitlines()]
    return [row for row in lines if row and not row.startswith("#")]


def _shell(block: Block, workspace: Path) -> None:
    commands = _commands(block)
    if not any(c.split()[0] == "container-gate" for c in commands):
        pytest.skip(f"{block.where}: runs no container-gate command (not an example of the CLI)")
    others = [c for c in commands if c.split()[0] != "container-gate"]
    assert not others, f"{block.where}: also runs {others}; mark the block with <!-- example: skip (why) -->"
    env = {**os.environ, "PATH": f"{Path(require_tool('container-gate')).parent}:/usr/bin:/bin"}
    env.pop("GITHUB_ACTIONS", None)
    for command in commands:
        # Through a shell, as a reader would paste it: globs such as k8s/*.yaml expand, comments drop.
        run = subprocess.run(["sh", "-c", command], cwd=workspace, env=env, capture_output=True, text=True, check=False)
        assert run.returncode in (0, 1), f"{block.where}: `{command}` exited {run.returncode}: {run.stderr.strip()}"


def _yaml(block: Block, workspace: Path) -> None:
    from gate.safe_yaml import load_text

    # The gate's YAML reading (no implicit dates: `expires: 2027-03-31` stays the text the schema checks).
    doc = load_text(block.text, block.where)
    if isinstance(doc, dict) and "include" in doc:
        _gitlab_include(block, doc, workspace)
    elif _steps(doc):
        _github_steps(block, _steps(doc))
    elif isinstance(doc, dict) and "runs" in doc:
        _action_metadata(block, doc)
    elif isinstance(doc, dict) and any(isinstance(doc.get(k), list) for k in _TRIVYIGNORE_SECTIONS):
        # Lists under Trivy's section names; `licenses:` holding a mapping is our config's license policy.
        _ignore_file(block, workspace, ".trivyignore.yaml")
    elif isinstance(doc, list) and doc and all(isinstance(e, dict) and "id" in e for e in doc):
        _ignore_file(block, workspace, "ignores.yaml")
    elif isinstance(doc, dict):
        _config_file(block, doc, workspace)
    else:
        pytest.fail(f"{block.where}: a YAML block that is no known kind of example; mark it")


def _config_file(block: Block, doc: dict[str, Any], workspace: Path) -> None:
    """Settings: read by the gate's own loader, which validates against the shipped schema (exit 2 if not)."""
    from gate.config import load_config

    unknown = set(doc) - set(load("config.schema.json")["properties"])
    assert not unknown, f"{block.where}: not a .container-gate.yml (unknown keys {sorted(unknown)}); mark it"
    path = workspace / ".container-gate.yml"
    path.write_text(block.text, encoding="utf-8")
    load_config(path)


def _ignore_file(block: Block, workspace: Path, name: str) -> None:
    from gate.decide.ignores import read_ignore_file

    path = workspace / name
    path.write_text(block.text, encoding="utf-8")
    assert read_ignore_file(path), f"{block.where}: an ignore file with no entries"


def _steps(doc: Any) -> list[dict[str, Any]]:
    """The workflow steps of a job list, a workflow, or a bare list of steps that use container-gate."""
    steps: list[Any] = []
    if isinstance(doc, list):
        steps = doc
    elif isinstance(doc, dict):
        for job in (doc.get("jobs") or {}).values():
            steps.extend(job.get("steps") or [])
    ours = [s for s in steps if isinstance(s, dict) and _action_of(s.get("uses")) is not None]
    return ours


def _action_of(uses: Any) -> Path | None:
    if not isinstance(uses, str) or "@" not in uses:
        return None
    return _ACTIONS.get(uses.split("@", 1)[0])


def _github_steps(block: Block, steps: list[dict[str, Any]]) -> None:
    for step in steps:
        action = _action_of(step["uses"])
        assert action is not None
        inputs = yaml.safe_load(action.read_text())["inputs"]
        unknown = set(step.get("with") or {}) - set(inputs)
        assert not unknown, f"{block.where}: {step['uses']} has no inputs {sorted(unknown)}"


def _action_metadata(block: Block, doc: dict[str, Any]) -> None:
    runs = yaml.safe_load((REPO / "action.yml").read_text())["runs"]
    assert doc["runs"]["using"] == runs["using"] and doc["runs"].get("args") == runs["args"], block.where


def _component(block: Block, include: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    name = include["component"].rsplit("@", 1)[0].rsplit("/", 1)[-1]
    template = REPO / "templates" / name / "template.yml"
    assert template.is_file(), f"{block.where}: no component {name} in templates/"
    spec, jobs = yaml.safe_load_all(template.read_text())
    return spec["spec"]["inputs"], jobs


_TYPES: dict[str, type | tuple[type, ...]] = {"string": str, "boolean": bool, "number": (int, float), "array": list}


def _gitlab_include(block: Block, doc: dict[str, Any], workspace: Path) -> None:
    ours = [i for i in doc["include"] if isinstance(i, dict) and "/org/container-gate/" in str(i.get("component"))]
    assert ours, f"{block.where}: an include without our component; mark it"
    for include in ours:
        declared, jobs = _component(block, include)
        given = include.get("inputs") or {}
        for name, value in given.items():
            assert name in declared, f"{block.where}: the component has no input {name!r}"
            decl = declared[name]
            kind = _TYPES[decl.get("type", "string")]
            assert isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)), (
                f"{block.where}: input {name!r} wants a {decl.get('type', 'string')}, got {value!r}"
            )
            if "options" in decl:
                assert value in decl["options"], f"{block.where}: {name}={value!r} is not one of {decl['options']}"
            if "regex" in decl:
                assert re.search(decl["regex"], str(value)), f"{block.where}: {name}={value!r} fails {decl['regex']}"
        missing = [n for n, d in declared.items() if "default" not in d and n not in given]
        assert not missing, f"{block.where}: required inputs not given: {missing}"
        _run_component(block, jobs, {**{n: d.get("default") for n, d in declared.items()}, **given}, workspace)


def _run_component(block: Block, jobs: dict[str, Any], inputs: dict[str, Any], workspace: Path) -> None:
    """The job's script with these inputs, in a folder holding what the named jobs would hand over."""
    (job,) = jobs.values()
    if "container_scanning" in inputs.get("needs", []):
        # GitLab's scanner job leaves its report as an artifact: a real one (Trivy's template output).
        golden = corpus_file("schemas/trivy-golden_alpine-310.gitlab-container-scanning.json")
        shutil.copyfile(golden, workspace / "gl-container-scanning-report.json")
    env = {"PATH": f"{Path(require_tool('container-gate')).parent}:/usr/bin:/bin", "HOME": str(workspace)}
    for variable, value in job["variables"].items():
        name = re.fullmatch(r"\$\[\[ inputs\.([a-z-]+) \]\]", value)
        assert name is not None, f"{variable} is not an input"
        given = inputs[name.group(1)]
        env[variable] = json.dumps(given) if isinstance(given, bool) else str(given)
    before = {p.name: p.read_bytes() for p in workspace.glob("gl-*.json")}
    script = "set -e\n" + "\n".join(job["script"]) + "\n"
    run = subprocess.run(["sh", "-c", script], cwd=workspace, env=env, capture_output=True, text=True, check=False)
    assert run.returncode in (0, 1), f"{block.where}: the job exited {run.returncode}: {run.stderr.strip()}"
    assert {p.name: p.read_bytes() for p in workspace.glob("gl-*.json") if p.name in before} == before
    for report in job["artifacts"]["reports"].values():
        assert (workspace / report).is_file(), f"{block.where}: the job wrote no {report}"
    for path in shlex.split(str(inputs["paths"])):
        assert path == "." or (workspace / path).exists(), f"{block.where}: the example names {path}, never made"


def _json(block: Block) -> None:
    doc = json.loads(block.text)
    if isinstance(doc, dict) and "verdict" in doc:
        jsonschema.Draft202012Validator(load("result.schema.json")).validate(doc)
    elif isinstance(doc, dict) and "updates" in doc:
        # The remediation plan (`remediate --json`): the core fields every update and skip carries.
        assert all({"file", "line", "from", "to", "fixes"} <= set(u) for u in doc["updates"]), block.where
        assert all({"file", "line", "image", "reason"} <= set(s) for s in doc.get("skipped", [])), block.where
    else:
        pytest.fail(f"{block.where}: a JSON block that is no known output; mark it")


def test_skipped_examples_say_why() -> None:
    skipped = [b for b in EXAMPLES if b.skip is not None]
    for block in skipped:
        assert len(block.skip or "") >= 10, f"{block.where}: say why the example cannot run here"
