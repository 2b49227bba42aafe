"""What the console tells a new user besides the findings: the config it used, skipped files, expired
ignores, Rego packages left out; and usage errors found before the run rather than after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.cli import main

# Trivy's JSON shape (SchemaVersion 2) with one HIGH, fixable vulnerability.
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
                        "InstalledVersion": "3.0.11-1",
                        "FixedVersion": "3.0.13-1",
                        "Severity": "HIGH",
                        "Title": "a title",
                    }
                ],
            }
        ],
    }
)


def gate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["gate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "services" / "app").mkdir(parents=True)
    (root / "services" / "app" / "trivy.json").write_text(TRIVY_HIGH)
    monkeypatch.chdir(root)
    return root


def test_config_beside_the_path_given_is_used_from_the_repository_root(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "services" / "app" / ".container-gate.yml").write_text("fail-on: CRITICAL\n")
    code, out, err = gate(capsys, "services/app")
    assert code == 0, out + err
    assert "  config: services/app/.container-gate.yml" in out.splitlines()


def test_config_is_looked_up_to_the_repository_root_and_no_further(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo.parent / ".container-gate.yml").write_text("fail-on: CRITICAL\n")  # above the repository: not ours
    code, out, _ = gate(capsys, "services/app/trivy.json")
    assert code == 1
    assert "  config: none found (defaults apply)" in out.splitlines()
    (repo / ".container-gate.yml").write_text("fail-on: CRITICAL\n")
    code, out, _ = gate(capsys, "services/app/trivy.json")
    assert code == 0
    assert "  config: .container-gate.yml" in out.splitlines()


def test_paths_inside_a_found_config_are_relative_to_it(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    app = repo / "services" / "app"
    (app / "waivers.yaml").write_text(
        "vulnerabilities:\n  - id: CVE-2024-1111\n    statement: not reachable\n    expired_at: 2099-01-01\n"
    )
    (app / ".container-gate.yml").write_text("ignore-file: waivers.yaml\n")
    code, out, err = gate(capsys, "services/app")
    assert code == 0, out + err


def test_outside_any_repository_the_search_stops_at_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".container-gate.yml").write_text("fail-on: CRITICAL\n")
    work = tmp_path / "work"
    (work / "scan").mkdir(parents=True)
    (work / "scan" / "trivy.json").write_text(TRIVY_HIGH)
    monkeypatch.chdir(work)
    assert gate(capsys, "scan")[0] == 1  # tmp_path's config is above the current folder: not read
    monkeypatch.chdir(tmp_path)
    assert gate(capsys, "work/scan")[0] == 0


def test_console_lists_expired_ignores_and_skipped_files(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".container-gate.yml").write_text(
        "ignore:\n  - id: CVE-2024-1111\n    reason: waiting for the base image\n    expires: 2020-01-01\n"
    )
    (repo / "services" / "app" / "tsconfig.json").write_text("{ // not strict JSON\n}\n")
    code, out, _ = gate(capsys, ".")
    lines = out.splitlines()
    assert code == 1
    expired = [line for line in lines if line.startswith("  expired ignore: CVE-2024-1111")]
    assert expired and "2020-01-01" in expired[0] and ".container-gate.yml" in expired[0]
    skipped = [line for line in lines if line.startswith("  skipped: ")]
    assert len(skipped) == 1 and "tsconfig.json" in skipped[0]


def test_rego_packages_left_out_are_named_once(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    policy = repo / "policy"
    policy.mkdir()
    (policy / "deploy.rego").write_text(
        'package kubernetes.deploy\n\ndeny contains msg if {\n  input.kind == "Deployment"\n  msg := "no"\n}\n'
    )
    (policy / "helpers.rego").write_text('package lib\n\nis_pod(x) if x.kind == "Pod"\n')
    (repo / "deploy.yaml").write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
    summary = repo / "summary.md"
    code, out, _ = gate(capsys, "deploy.yaml", "--policy", "policy", "--summary", str(summary))
    assert code == 0  # nothing was evaluated: a pass, but not a silent one
    notes = [line for line in out.splitlines() if line.startswith("  note: ")]
    assert len(notes) == 1, out
    assert "kubernetes.deploy" in notes[0] and "--namespace kubernetes.deploy" in notes[0]
    assert "lib" not in notes[0].replace("deploy", "")  # a helper package holds no rules: never listed
    assert "kubernetes.deploy" in summary.read_text()
    code, out, _ = gate(capsys, "deploy.yaml", "--policy", "policy", "--namespace", "kubernetes.deploy")
    assert code == 1 and "  note: " not in out


def test_upload_sarif_usage_errors_come_before_any_input_is_read(
    repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_SHA", "GITHUB_REF", "GITHUB_EVENT_NAME"):
        monkeypatch.delenv(name, raising=False)
    broken = repo / "broken.json"
    broken.write_text('{"SchemaVersion": 2, "Results": [')  # read first, it would be the error reported
    code, _, err = gate(capsys, str(broken), "--upload-sarif")
    assert code == 2 and "--upload-sarif needs --sarif" in err
    out = repo / "o.sarif"
    code, _, err = gate(capsys, str(broken), "--upload-sarif", "--sarif", str(out))
    assert code == 2 and "GITHUB_TOKEN" in err and "broken.json" not in err
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    monkeypatch.setenv("GITHUB_REPOSITORY", "org/app")
    code, _, err = gate(capsys, str(broken), "--upload-sarif", "--sarif", str(out))
    assert code == 2 and "GITHUB_SHA" in err
    monkeypatch.setenv("GITHUB_SHA", "a" * 40)
    monkeypatch.setenv("GITHUB_REF", "refs/heads/main")
    monkeypatch.setenv("GITHUB_API_URL", "http://api.example.com")
    code, _, err = gate(capsys, str(broken), "--upload-sarif", "--sarif", str(out))
    assert code == 2 and "GITHUB_API_URL" in err and "t0ken" not in err
    assert not out.exists()


def test_report_text_cannot_start_a_workflow_command(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(TRIVY_HIGH)
    doc["Results"][0]["Vulnerabilities"][0]["Title"] = "evil\n::stop-commands::pwn\n::warning::injected"
    doc["Results"][0]["Vulnerabilities"][0]["PkgName"] = "pkg\r::error::x"
    (repo / "evil.json").write_text(json.dumps(doc))
    code, out, _ = gate(capsys, "evil.json")
    assert code == 1
    assert not [line for line in out.splitlines() if line.startswith("::")], out


def test_notes_are_in_the_json_result(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "p.rego").write_text('package other\n\ndeny contains "x" if true\n')
    (repo / "c.yaml").write_text("a: 1\n")
    out = repo / "r.json"
    assert gate(capsys, "c.yaml", "--policy", "p.rego", "--json", str(out))[0] == 0
    notes = json.loads(out.read_text())["notes"]
    assert len(notes) == 1 and "other" in notes[0]
