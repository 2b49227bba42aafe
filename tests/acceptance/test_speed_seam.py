"""The speed seam (gate/speed.py): every trick on and every trick off give the same bytes.

The corpus, the Dockerfile fixtures, the example app and a generated 6,000-vulnerability Trivy report (19 MB:
large enough to be memory-mapped and to have its JSON rendered in a forked child) go through
`benchmarks/snapshot_outputs.py` twice, as fresh processes: once as shipped, once under `CONTAINER_GATE_PLAIN=1`.
Every output (SARIF, both GitLab reports, JSON, summary, JUnit, the console and the exit code) must be equal.
So must a Rego run over 400 generated manifests (several workers, batches, the YAML, read and path fast paths,
interned findings, field lines from the built-in pack), and its errors (a bad manifest among them, an alias bomb).
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SHARED, corpus_dir

REPO = Path(__file__).resolve().parents[2]


def _snapshot(out: Path, *, plain: bool) -> None:
    env = {**os.environ, "CONTAINER_GATE_PLAIN": "1" if plain else ""}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "snapshot_outputs.py"), str(out), "--shared", str(SHARED),
         "--big", "6000"],
        env=env, capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _differences(left: Path, right: Path) -> list[str]:
    found: list[str] = []

    def walk(cmp: filecmp.dircmp[str], where: str) -> None:
        found.extend(f"{where}{name}: only on one side" for name in cmp.left_only + cmp.right_only)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        found.extend(f"{where}{name}" for name in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            walk(sub, f"{where}{name}/")

    walk(filecmp.dircmp(left, right), "")
    return found


@pytest.mark.corpus
def test_every_output_is_the_same_with_the_tricks_off(tmp_path: Path) -> None:
    corpus_dir()  # skips with its reason, or fails under CI=true
    fast, plain = tmp_path / "fast", tmp_path / "plain"
    _snapshot(fast, plain=False)
    _snapshot(plain, plain=True)
    cases = [p for p in fast.iterdir() if p.is_dir() and not p.name.startswith("_")]
    assert len(cases) > 50
    big = fast / "generated__trivy-6000"
    assert (big / "result.json").stat().st_size > 1_000_000 and (big / "junit.xml").is_file()
    assert _differences(fast, plain) == []


_REGO_POLICY = """package main
import rego.v1

deny contains msg if {
	input.kind == "Deployment"
	not input.metadata.labels.team
	msg := sprintf("%s has no team label", [input.metadata.name])
}

warn_replicas contains {"msg": sprintf("%s: %d replicas", [input.metadata.name, input.spec.replicas]),
	"severity": "low", "id": "replicas", "limits": {"min": 2, "ratio": 0.5}} if {
	input.spec.replicas < 2
}

violation_image contains {"msg": sprintf("%s uses a latest tag", [input.metadata.name]), "_loc": {"line": 3},
	"field": ["spec", "template", "spec", "containers", 0, "image"]} if {
	some c in input.spec.template.spec.containers
	endswith(c.image, ":latest")
}

exception contains ["replicas"] if endswith(input.metadata.name, "7")
"""


def _manifests(folder: Path, count: int) -> None:
    folder.mkdir()
    for i in range(count):
        image = "nginx:latest" if i % 4 == 0 else f"registry.example/app-{i}:1.{i % 7}"
        labels = "  labels: {team: web, big: 1e16, small: 0.1, huge: 123456789012345678901234567890}\n" if i % 3 else ""
        doc = (
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n{labels}spec:\n"
            f"  replicas: {i % 3}\n  template:\n    spec:\n      containers:\n      - name: app\n"
            f"        image: {image}\n        env: [{{name: A, value: 'é\\u2028'}}]\n"
        )
        if i % 5 == 0:
            doc += f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  replicas: 1\n"
        (folder / f"m{i:03d}.yaml").write_text(doc)
    (folder / "list.json").write_text('[{"kind": "Deployment", "metadata": {"name": "from-json"}, "spec": {}}]')


def _rego_outputs(work: Path, out: Path, *, plain: bool, paths: list[str]) -> None:
    out.mkdir()
    env = {**os.environ, "CONTAINER_GATE_PLAIN": "1" if plain else ""}
    command = [sys.executable, "-m", "gate", "gate", *paths, "--policy", "policy", "--policy", "builtin:kubernetes",
               "--fail-on", "NONE", "--json", str(out / "result.json"), "--sarif", str(out / "out.sarif"),
               "--summary", str(out / "summary.md"), "--junit", str(out / "junit.xml")]  # fmt: skip
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False, timeout=300)
    (out / "console.txt").write_text(f"{done.returncode}\n{done.stdout.replace(str(out), 'OUT')}\n{done.stderr}")


def test_rego_outputs_are_the_same_with_the_tricks_off(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(_REGO_POLICY)
    _manifests(tmp_path / "m", 400)
    fast, plain = tmp_path / "fast", tmp_path / "plain"
    _rego_outputs(tmp_path, fast, plain=False, paths=["m"])
    _rego_outputs(tmp_path, plain, plain=True, paths=["m"])
    assert (fast / "console.txt").read_text().startswith("0\n"), (fast / "console.txt").read_text()
    assert (fast / "result.json").stat().st_size > 1_000_000
    assert _differences(fast, plain) == []


def test_rego_errors_are_the_same_with_the_tricks_off(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(_REGO_POLICY)
    _manifests(tmp_path / "m", 300)
    (tmp_path / "m" / "m250.yaml").write_text("a: [unclosed\n")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    (tmp_path / "m" / "m120.yaml").write_text(bomb)
    outputs = []
    for plain in (False, True):
        out = tmp_path / ("plain" if plain else "fast")
        _rego_outputs(tmp_path, out, plain=plain, paths=["m"])
        outputs.append((out / "console.txt").read_text())
    assert outputs[0].startswith("2\n") and "m120.yaml" in outputs[0] and "alias bomb" in outputs[0]
    assert outputs[0] == outputs[1]


def test_the_switch_turns_the_tricks_off() -> None:
    probe = "\n".join(
        [
            "import gc, io",
            "from gate import speed",
            "from gate.model import Finding",
            "init = vars(Finding)['__init__'].__doc__ or ''",
            "with speed.collector_paused():",
            "    paused = not gc.isenabled()",
            "mapped = speed.read_report(io.BytesIO(b'{}'), speed.MAP_FROM)",
            "intern = speed.Interner()",
            "print(speed.ENABLED, 'gate.speed' in init, paused, speed.render_in_child_from() < 10**9,"
            " isinstance(mapped, bytes), speed.rego_batch(1000, 2, 1024) < 1000,"
            " intern.same(tuple([1, 'x'])) is intern.same(tuple([1, 'x'])))",
        ]
    )
    shipped = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "CONTAINER_GATE_PLAIN": ""},
                             capture_output=True, text=True, check=True)  # fmt: skip
    off = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "CONTAINER_GATE_PLAIN": "1"},
                         capture_output=True, text=True, check=True)  # fmt: skip
    # On: the slot initialiser, the paused collector, the forked renderer; (BytesIO cannot be mapped: read either way)
    # and Rego inputs in batches, equal values interned
    assert shipped.stdout.split() == ["True", "True", "True", "True", "True", "True", "True"]
    assert off.stdout.split() == ["False", "False", "False", "False", "True", "False", "False"]
