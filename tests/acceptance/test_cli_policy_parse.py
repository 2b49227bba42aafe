"""`container-gate policy parse`: several files like `conftest parse`, and a reader that leaves early is no error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gate.cli import main

REPO = Path(__file__).resolve().parents[2]
CLI = REPO / ".venv" / "bin" / "container-gate"


def _files(tmp_path: Path) -> tuple[Path, Path]:
    pod = tmp_path / "pod.yaml"
    pod.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n")
    docker = tmp_path / "Dockerfile"
    docker.write_text("FROM alpine:3.20\nUSER app\n")
    return pod, docker


def test_one_file_prints_its_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pod, _ = _files(tmp_path)
    assert main(["policy", "parse", str(pod)]) == 0
    assert json.loads(capsys.readouterr().out) == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}


def test_several_files_print_one_object_keyed_by_path_and_combine_prints_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod, docker = _files(tmp_path)
    assert main(["policy", "parse", str(pod), str(docker)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == sorted([str(pod), str(docker)])
    assert out[str(pod)]["kind"] == "Pod"
    assert [c["Cmd"] for c in out[str(docker)][0]] == ["from", "user"]
    assert main(["policy", "parse", "--combine", str(pod), str(docker)]) == 0
    combined = json.loads(capsys.readouterr().out)
    assert [c["path"] for c in combined] == [str(pod), str(docker)]
    assert combined[0]["contents"]["metadata"]["name"] == "web"


def test_a_bad_file_among_several_is_one_error_line_and_prints_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod, _ = _files(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\n")
    assert main(["policy", "parse", str(pod), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and str(bad) in captured.err and captured.err.count("\n") == 1


@pytest.mark.parametrize("command", [[str(CLI)], ["python", "-m", "gate"]])
def test_parse_into_head_exits_quietly(command: list[str], tmp_path: Path) -> None:
    # Far more than a pipe holds (64 KiB), so the writer is still writing when `head` leaves.
    big = tmp_path / "big.yaml"
    big.write_text("".join(f"key{i}: {'x' * 60}\n" for i in range(20_000)))
    other = tmp_path / "other.yaml"
    other.write_text(big.read_text())
    exe = [str(REPO / ".venv" / "bin" / "python"), *command[1:]] if command[0] == "python" else command
    writer = subprocess.Popen(
        [*exe, "policy", "parse", str(big), str(other)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert writer.stdout is not None
    head = subprocess.run(["head", "-n1"], stdin=writer.stdout, capture_output=True, check=False)
    writer.stdout.close()  # only head held the read end: once it exits, every write fails with EPIPE
    assert writer.stderr is not None
    with writer.stderr:
        err = writer.stderr.read()
    writer.wait(timeout=60)
    assert head.stdout == b"{\n"
    assert writer.returncode == 0, err
    assert err == b""
