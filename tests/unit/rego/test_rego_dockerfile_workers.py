"""Dockerfiles judged by Rego policies in forked workers after this process has used the Dockerfile parser.

The parser is BuildKit's, a Go library: a child forked after the Go runtime has run inherits none of its
threads, and its next call into the library hangs at the runtime's first garbage collection. `gate` always
parses Dockerfiles here first (the built-in checks), so before the fix a repository with ~40 Dockerfiles and
`--policy` timed out in the workers ("evaluating policy did not finish within 10 s"); these tests make that
many and more, the way a user's run does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gate import dockerfile as model
from gate.checks.rego.check import run
from gate.checks.rego.limits import Limits
from gate.errors import InputError

COUNT = 120

POLICY = """package main
import rego.v1

deny contains msg if {
\tsome i
\tinput[i].Cmd == "from"
\tcontains(input[i].Value[0], "openjdk")
\tmsg := sprintf("base image %s is not allowed", [input[i].Value[0]])
}

warn contains msg if {
\tsome i
\tinput[i].Cmd == "run"
\tcontains(concat(" ", input[i].Value), "curl")
\tmsg := "RUN downloads with curl"
}
"""


def dockerfiles(folder: Path, count: int) -> list[Path]:
    """Every third one from openjdk, every other one running curl; each with several stages and comments so
    the parser allocates enough for the Go runtime to collect."""
    folder.mkdir()
    paths = []
    for i in range(count):
        base = "openjdk:17" if i % 3 == 0 else "debian:12"
        text = (
            f"# build {i}\nFROM {base} AS build\nRUN {'curl -fsSL https://example.test/x' if i % 2 else 'true'}\n"
            "COPY . /src\nRUN make -C /src\n\nFROM debian:12-slim\nCOPY --from=build /src/out /app\n"
            'USER 1000\nENTRYPOINT ["/app/run"]\n'
        )
        path = folder / f"Dockerfile.{i:03d}"
        path.write_text(text)
        paths.append(path)
    return paths


def _expected(count: int) -> tuple[int, int]:
    return sum(1 for i in range(count) if i % 3 == 0), sum(1 for i in range(count) if i % 2)


def test_workers_judge_dockerfiles_this_process_parsed(tmp_path: Path) -> None:
    paths = dockerfiles(tmp_path / "d", COUNT)
    (tmp_path / "policy.rego").write_text(POLICY)
    for path in paths:  # what the built-in Dockerfile checks do before the policies run
        model.parse_file(path)

    result = run(paths, policies=[str(tmp_path / "policy.rego")], root=tmp_path, limits=Limits(seconds=5))

    titles = [f.title for r in result.reports for f in r.findings]
    denied, warned = _expected(COUNT)
    assert titles.count("base image openjdk:17 is not allowed") == denied
    assert titles.count("RUN downloads with curl") == warned
    assert len(result.reports) == COUNT


def test_a_broken_dockerfile_is_the_error_a_sequential_run_meets(tmp_path: Path) -> None:
    paths = dockerfiles(tmp_path / "d", COUNT)
    (tmp_path / "policy.rego").write_text(POLICY)
    for path in paths:
        model.parse_file(path)
    paths[70].write_text("# nothing but a comment\n")  # BuildKit: "file with no instructions"

    with pytest.raises(InputError) as caught:
        run(paths, policies=[str(tmp_path / "policy.rego")], root=tmp_path, limits=Limits(seconds=5))
    assert caught.value.path == str(paths[70])
    assert "invalid Dockerfile" in caught.value.message


def test_gate_over_a_folder_of_dockerfiles_with_a_policy(tmp_path: Path) -> None:
    dockerfiles(tmp_path / "d", COUNT)
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "base.rego").write_text(POLICY)
    cfg = tmp_path / ".container-gate.yml"
    cfg.write_text("rego:\n  timeout-seconds: 5\n")

    done = subprocess.run(
        [sys.executable, "-m", "gate", "gate", "d", "--policy", "policy", "--config", str(cfg), "--json", "g.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 1, done.stderr  # blocked by the deny results, not an error (2)
    findings = json.loads((tmp_path / "g.json").read_text())["findings"]
    rego = [f for f in findings if any(s["tool"] == "rego" for s in f["sightings"])]
    denied, warned = _expected(COUNT)
    assert len(rego) == denied + warned
