"""Folders from a pull request are attacker-shaped. A FIFO named Dockerfile used to hang the run forever and an
unreadable subfolder was skipped with a pass; symlinks could lead the walk out of the repository. Each case runs
the real CLI in a child process with a timeout, so a regression fails here instead of hanging the suite."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gate.walk import is_dockerfile, walk
from remediate.discover import find
from tests.conftest import require_root

REPO = Path(__file__).resolve().parents[2]
# Trivy's JSON shape (SchemaVersion 2), one HIGH vulnerability: a walk that misses it passes wrongly.
TRIVY_HIGH = json.dumps(
    {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Results": [
            {
                "Target": "app:1 (debian 12.5)",
                "Class": "os-pkgs",
                "Type": "debian",
                "Vulnerabilities": [
                    {
                        "VulnerabilityID": "CVE-2024-1111",
                        "PkgName": "openssl",
                        "InstalledVersion": "1",
                        "FixedVersion": "2",
                        "Severity": "HIGH",
                    }
                ],
            }
        ],
    }
)


def gate(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gate", "gate", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def gate_as(uid: int, cwd: Path, *args: str) -> tuple[int, str]:
    """The CLI in a forked child that became `uid` (the interpreter may not be executable by that uid).

    The same run goes once here first, as root, so every module it imports is loaded before the fork: the other uid
    may not be able to read the interpreter's standard library (it lives under /root on this machine)."""
    from gate.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["gate", str(cwd), "--fail-on", "NONE"])
    err = cwd.parent / "stderr.txt"
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        code = 3
        try:
            sys.stderr = err.open("w")  # noqa: SIM115 (the child ends with os._exit)
            os.chdir(cwd)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            code = main(["gate", *args])
            sys.stderr.flush()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err.read_text()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "scan").mkdir(parents=True)
    (root / "scan" / "trivy.json").write_text(TRIVY_HIGH)
    return root


def test_special_files_are_listed_as_skipped_never_opened(tree: Path) -> None:
    os.mkfifo(tree / "Dockerfile")
    os.mkfifo(tree / "scan" / "grype.json")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tree / "scan" / "report.sarif"))
    try:
        done = gate(tree, ".", "--json", "out.json")
    finally:
        server.close()
    assert done.returncode == 1, done.stderr  # the real report still blocks
    skipped = {Path(s["report"]).name: s["reason"] for s in json.loads((tree / "out.json").read_text())["skipped"]}
    assert "FIFO" in skipped["Dockerfile"] and "FIFO" in skipped["grype.json"]
    assert "socket" in skipped["report.sarif"]
    assert "skipped: " in done.stdout


def test_a_fifo_named_explicitly_is_an_error_not_a_hang(tree: Path) -> None:
    os.mkfifo(tree / "Dockerfile")
    done = gate(tree, "Dockerfile")
    assert done.returncode == 2
    assert "Dockerfile: is a FIFO" in done.stderr and done.stderr.count("\n") == 1


def test_an_unreadable_folder_is_an_error_not_a_pass(tree: Path) -> None:
    require_root("to run the gate as another uid that cannot read the folder")
    (tree / "locked").mkdir()
    (tree / "locked" / "trivy.json").write_text(TRIVY_HIGH)
    (tree / "scan" / "trivy.json").unlink()
    (tree / "ok").mkdir()
    (tree / "ok" / "Dockerfile").write_text("FROM alpine:3.20\nUSER 1000\n")
    os.chmod(tree / "locked", 0)
    for folder in (tree.parent.parent, tree.parent, tree, tree / "ok"):
        folder.chmod(0o777)  # the other uid may enter and write its log; only `locked` is closed
    try:
        code, err = gate_as(4321, tree, ".")
    finally:
        (tree / "locked").chmod(0o700)
    assert code == 2, err
    assert "locked: cannot read folder: Permission denied" in err


def test_symlinks_never_lead_out_of_the_walked_folder_and_loops_end(tree: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "trivy.json").write_text(TRIVY_HIGH.replace("HIGH", "CRITICAL"))
    (tree / "escape.json").symlink_to(outside / "trivy.json")
    (tree / "escape-dir").symlink_to(outside, target_is_directory=True)
    (tree / "loop-a.json").symlink_to(tree / "loop-b.json")
    (tree / "loop-b.json").symlink_to(tree / "loop-a.json")
    (tree / "self").symlink_to(tree, target_is_directory=True)
    (tree / "again.json").symlink_to(tree / "scan" / "trivy.json")  # inside: read, but only once
    done = gate(tree, ".", "--json", "out.json")
    assert done.returncode == 1, done.stderr
    result = json.loads((tree / "out.json").read_text())
    assert [f["severity"] for f in result["findings"]] == ["HIGH"]  # the outside CRITICAL was never read
    assert [r["tool"] for r in result["reports"] if r["tool"] == "trivy"] == ["trivy"]  # the linked copy: once
    reasons = {Path(s["report"]).name: s["reason"] for s in result["skipped"]}
    assert "leaves the walked folder" in reasons["escape.json"]
    assert "loops" in reasons["loop-a.json"] and "loops" in reasons["loop-b.json"]


def test_remediation_walks_the_same_way(tree: Path, tmp_path: Path) -> None:
    for rel in (
        "Dockerfile",
        "svc/Dockerfile-dev",
        "third_party/x/Dockerfile",
        "venv/Dockerfile",
        "docs/Dockerfile.md",
    ):
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("FROM alpine:3.19\n")
    os.mkfifo(tree / "svc" / "Containerfile")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "Dockerfile").write_text("FROM alpine:3.19\n")
    (tree / "linked.Dockerfile").symlink_to(tmp_path / "elsewhere" / "Dockerfile")
    found = sorted(p.relative_to(tree).as_posix() for p in find([tree]))
    assert found == ["Dockerfile", "svc/Dockerfile-dev"]
    assert [p for p in walk(tree).files if is_dockerfile(p.name)] == [
        tree / "Dockerfile",
        tree / "svc" / "Dockerfile-dev",
    ]


def test_a_report_with_a_byte_order_mark_or_a_lone_surrogate_is_read_not_skipped(tmp_path: Path) -> None:
    # Windows tools write a UTF-8 BOM; a lone `\ud800` escape is U+FFFD to Go's decoder. Both were skipped in a
    # folder walk ("not valid JSON") and the run passed; Conftest and Trivy's readers take both.
    tree = tmp_path / "t"
    tree.mkdir()
    (tree / "bom.json").write_bytes(b"\xef\xbb\xbf" + TRIVY_HIGH.encode())
    (tree / "surrogate.json").write_text(TRIVY_HIGH.replace('"openssl"', '"openssl\\ud800"').replace("1111", "2222"))
    done = gate(tree, ".", "--json", "out.json")
    assert done.returncode == 1, done.stderr
    result = json.loads((tree / "out.json").read_text())
    assert sorted(f["id"] for f in result["findings"]) == ["CVE-2024-1111", "CVE-2024-2222"]
    assert {f["package"] for f in result["findings"]} == {"openssl", "openssl\ufffd"}
    assert result["skipped"] == []


def test_files_in_formats_only_conftest_reads_are_named_not_silently_left_out(tmp_path: Path) -> None:
    tree = tmp_path / "t"
    (tree / "policy").mkdir(parents=True)
    (tree / "policy" / "p.rego").write_text('package main\nimport rego.v1\ndeny contains "x" if input.kind == "Pod"\n')
    (tree / "pod.yaml").write_text("kind: Pod\n")
    (tree / "main.tf").write_text('resource "aws_s3_bucket" "b" {}\n')
    (tree / "app.ini").write_text("[a]\nb = 1\n")
    done = gate(tree, ".", "--policy", "policy", "--fail-on", "NONE", "--json", "out.json")
    assert done.returncode == 0, done.stderr
    notes = json.loads((tree / "out.json").read_text())["notes"]
    assert any("2 file(s)" in n and ".ini, .tf" in n and "conftest" in n for n in notes), notes
    assert ".tf" in done.stdout + done.stderr
