"""Bad input gets one line naming the file, exit 2, no traceback; nothing unreadable ever passes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gate.cli import main

REPO = Path(__file__).resolve().parents[2]
TRIVY_OK = '{"SchemaVersion": 2, "ArtifactName": "a", "ArtifactType": "container_image", "Results": []}'

BAD_REPORTS: dict[str, bytes] = {
    "empty.json": b"",
    "blank.json": b"  \n\t\n",
    "truncated.json": TRIVY_OK[:40].encode(),
    "unknown-shape.json": b'{"hello": "world"}',
    "list-of-numbers.json": b"[1, 2, 3]",
    "binary.json": bytes(range(256)) * 4,
    "trivy-future.json": b'{"SchemaVersion": 99, "ArtifactName": "a", "Results": []}',
    "trivy-null.json": b"null",
    "not-utf8.json": b'{"SchemaVersion": 2, "ArtifactName": "\xff\xfe"}',
    "string.json": b'"just a string"',
}


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("name", sorted(BAD_REPORTS))
def test_unreadable_report_is_error_naming_the_file(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(BAD_REPORTS[name])
    code, out, err = run(["gate", str(path), "--json", str(tmp_path / "out.json")], capsys)
    assert code == 2
    assert str(path) in err and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert "PASS" not in out
    assert not (tmp_path / "out.json").exists()  # no output claims a verdict for unreadable input


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["gate", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and "nope.json: no such file or directory" in err


def test_folder_with_nothing_to_judge_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "README.md").write_text("hi")
    code, _, err = run(["gate", str(tmp_path)], capsys)
    assert code == 2 and "nothing to judge" in err


def test_yaml_without_policy_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pod.yaml").write_text("kind: Pod\n")
    code, _, err = run(["gate", str(tmp_path / "pod.yaml")], capsys)
    assert code == 2 and "add --policy" in err


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("fail-on: 7\n", "key fail-on"),
        ("only-fixed: sometimes\n", "key only-fixed"),
        ("a: !!python/object/apply:os.system ['echo pwned']\n", "unsafe or unknown YAML tag"),
        (
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(f"b{i}: &b{i} [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n" for i in range(11)),
            "alias",
        ),
    ],
)
def test_bad_config(config: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text(config)
    report = tmp_path / "r.json"
    report.write_text(TRIVY_OK)
    code, _, err = run(["gate", "--config", str(cfg), str(report)], capsys)
    assert code == 2 and str(cfg) in err and message in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("flag", "content", "message"),
    [
        ("--ignore-file", "- reason: no id\n", "needs a string 'id'"),
        ("--vex", '{"@context": "https://openvex.dev/ns/v0.2.0", "statements": "nope"}', ""),
        ("--baseline", '{"findings": []}', "not a container-gate --json result"),
    ],
)
def test_bad_side_inputs(
    flag: str, content: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    side = tmp_path / "side"
    side.write_text(content)
    report = tmp_path / "r.json"
    report.write_text(TRIVY_OK)
    code, _, err = run(["gate", str(report), flag, str(side)], capsys)
    assert code == 2 and str(side) in err and message in err


def test_real_process_prints_no_traceback_and_debug_does(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    cmd = [sys.executable, "-m", "gate", "gate", str(bad)]
    # the installed command leaves through os._exit: same codes, same one-line message
    installed = subprocess.run(
        [str(REPO / ".venv" / "bin" / "container-gate"), "gate", str(bad)], capture_output=True, text=True, check=False
    )
    assert installed.returncode == 2 and str(bad) in installed.stderr and "Traceback" not in installed.stderr
    plain = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr and str(bad) in plain.stderr
    debug = subprocess.run([*cmd[:3], "--debug", *cmd[3:]], capture_output=True, text=True, cwd=REPO, check=False)
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["gate", "--fail-on", "SEVERE", "x"], capsys)
    assert code == 2 and "invalid choice" in err


def test_json_that_is_no_report_is_a_rego_input_only_with_policies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pod = tmp_path / "pod.json"
    pod.write_text('{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}')
    report = tmp_path / "r.json"
    report.write_text(TRIVY_OK)
    code, _, err = run(["gate", str(pod)], capsys)
    assert code == 2 and "not a report we know" in err
    policy = tmp_path / "policy" / "main.rego"
    policy.parent.mkdir()
    policy.write_text(
        'package main\nimport rego.v1\n\ndeny contains msg if { input.kind == "Pod"; msg := "no bare pods" }\n'
    )
    out = tmp_path / "out.json"
    code, _, _ = run(["gate", str(pod), str(report), "--policy", str(policy.parent), "--json", str(out)], capsys)
    import json

    titles = [f["title"] for f in json.loads(out.read_text())["findings"]]
    assert code == 1 and titles == ["no bare pods"]


def test_policies_judge_the_plain_json_files_of_a_walked_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `conftest test m -p p` judges m/deploy.json (JSON is one of its input formats); here the folder's JSON that
    # no report reader knows was dropped, a silent pass. Our own earlier output and a scanner report in the same
    # folder are still not policy inputs, and a file that is not strict JSON is still a noted skip.
    import json

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "deploy.json").write_text('{"kind": "Deployment", "metadata": {"name": "web"}}')
    (tmp_path / "m" / "tsconfig.json").write_text("{ // not strict JSON\n}\n")
    (tmp_path / "m" / "trivy.json").write_text(TRIVY_OK)
    policy = tmp_path / "p" / "labels.rego"
    policy.parent.mkdir()
    policy.write_text('package main\nimport rego.v1\n\ndeny contains "no labels" if not input.metadata.labels\n')
    out = tmp_path / "out.json"
    code, _, err = run(["gate", str(tmp_path / "m"), "--policy", str(policy.parent), "--json", str(out)], capsys)
    result = json.loads(out.read_text())
    assert code == 1, err
    assert [(f["title"], f["target"]) for f in result["findings"]] == [
        ("no labels", str(tmp_path / "m" / "deploy.json"))
    ]
    assert [s["report"] for s in result["skipped"]] == [str(tmp_path / "m" / "tsconfig.json")]
    # Without policies the same JSON is still nobody's business: nothing to judge it by.
    assert run(["gate", str(tmp_path / "m")], capsys)[0] == 0


def test_walked_folder_tolerates_non_report_json_but_not_broken_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    (repo / "web").mkdir(parents=True)
    (repo / "web" / "tsconfig.json").write_text('{\n  // comments are common here\n  "compilerOptions": {}\n}\n')
    (repo / "trivy.json").write_text(TRIVY_OK)
    out = tmp_path / "out.json"
    code, _, err = run(["gate", str(repo), "--json", str(out)], capsys)
    assert code == 0, err
    import json

    skipped = json.loads(out.read_text())["skipped"]
    assert [s["report"] for s in skipped] == [str(repo / "web" / "tsconfig.json")]
    assert "not valid JSON" in skipped[0]["reason"]
    # an earlier run's SARIF in the tree is not read back (explicitly named, it is an error)
    sarif = repo / "out" / "gate.sarif"
    assert run(["gate", str(repo / "trivy.json"), "--sarif", str(sarif)], capsys)[0] == 0
    assert run(["gate", str(repo)], capsys)[0] == 0
    code, _, err = run(["gate", str(sarif)], capsys)
    assert code == 2 and "written by container-gate itself" in err
    # a broken scanner report inside the folder is still an error, never a pass
    (repo / "scan").mkdir()
    (repo / "scan" / "grype.json").write_text('{"matches": [{"vulnerability": {"id": "CVE-1"')
    code, _, err = run(["gate", str(repo)], capsys)
    assert code == 2 and "grype.json" in err


def test_a_closed_log_pipe_ends_the_log_not_the_run(tmp_path: Path) -> None:
    # `container-gate gate . | head -1` in a job: the reader leaves early; the verdict, the files and
    # the GitHub outputs must still follow, and the exit code must stay the verdict's (1 here, not 2).
    report = tmp_path / "trivy.json"
    entries = ",".join(
        f'{{"VulnerabilityID": "CVE-2024-{i:04d}", "PkgName": "p{i}", "InstalledVersion": "1", '
        f'"FixedVersion": "2", "Severity": "CRITICAL"}}'
        for i in range(400)
    )
    report.write_text(
        '{"SchemaVersion": 2, "ArtifactName": "app:1", "ArtifactType": "container_image", '
        f'"Results": [{{"Target": "app:1 (debian 12)", "Class": "os-pkgs", "Vulnerabilities": [{entries}]}}]}}'
    )
    outputs = tmp_path / "github_output"
    read, write = os.pipe()
    os.close(read)
    env = {"PATH": "/usr/bin:/bin", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}
    done = subprocess.run(
        [str(REPO / ".venv" / "bin" / "container-gate"), "gate", str(report), "--sarif", str(tmp_path / "o.sarif")],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    os.close(write)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert (tmp_path / "o.sarif").is_file()
    assert outputs.read_text().startswith("verdict<<") and "\nfail\n" in outputs.read_text()


def test_a_bad_report_beside_rego_policies_is_its_own_error_not_the_policy_compiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The policies start compiling in a child before the reports are read; the run that ends at a bad report
    # stops that child, and the error is still the report's one line.
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text('package main\nimport rego.v1\ndeny contains "x" if input.kind\n')
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "pod.yaml").write_text("kind: Pod\n")
    (tmp_path / "trivy.json").write_text("{bad")
    args = ["gate", str(tmp_path / "m"), str(tmp_path / "trivy.json"), "--policy", str(tmp_path / "policy")]
    code, _, err = run(args, capsys)
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(f"container-gate: error: {tmp_path / 'trivy.json'}: not valid JSON"), line
