"""`container-gate remediate --forge ...` end to end: real registry, real git, contract-validated fakes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from remediate.cli import main
from tests.fakes.github import PullRequestsFake
from tests.fakes.gitlab import MergeRequestsFake
from tests.integration.registry.servers import RegistryServer

pytestmark = pytest.mark.registry

GH_TOKEN = "ghp_secretvalue_for_forge_tests_0001"
GL_TOKEN = "glpat-secretvalue-for-forge-tests-02"
FILES = {"Dockerfile": "FROM alpine:3.14\nRUN true\n", "api/Dockerfile": "FROM alpine:3.19 AS base\n"}
ENV_NAMES = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "INPUT_TOKEN",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITLAB_TOKEN",
    "CI_JOB_TOKEN",
    "CI_PROJECT_ID",
    "CI_API_V4_URL",
    "CI_SERVER_URL",
)


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "checkout"
    for path, text in FILES.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    monkeypatch.chdir(root)
    return root


def remediate(registry: RegistryServer, *args: str) -> int:
    return main(["remediate", "--registry-mirror", f"docker.io={registry.url}", *args])


def untouched(root: Path) -> None:
    assert {p: (root / p).read_text() for p in FILES} == FILES


def test_github_first_run_opens_one_pr_per_file_and_the_second_changes_nothing(
    alpine_registry: RegistryServer, checkout: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = PullRequestsFake(token=GH_TOKEN)
    with server:
        server.seed(FILES)
        monkeypatch.setenv("GITHUB_TOKEN", GH_TOKEN)
        monkeypatch.setenv("GITHUB_REPOSITORY", "org/app")
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        assert remediate(alpine_registry, "--forge", "github", "--labels", "deps,docker") == 0
        untouched(checkout)
        assert len(server.pulls) == 2
        by_branch = {p["head"]["ref"]: p for p in server.pulls.values()}
        assert set(by_branch) == {"container-gate/dockerfile/alpine-3.20", "container-gate/api-dockerfile/alpine-3.20"}
        assert server.file_on("container-gate/dockerfile/alpine-3.20", "Dockerfile") == "FROM alpine:3.20\nRUN true\n"
        assert server.file_on("container-gate/dockerfile/alpine-3.20", "api/Dockerfile") == FILES["api/Dockerfile"]
        assert (
            server.file_on("container-gate/api-dockerfile/alpine-3.20", "api/Dockerfile")
            == "FROM alpine:3.20 AS base\n"
        )
        assert "alpine:3.14 → alpine:3.20" in by_branch["container-gate/dockerfile/alpine-3.20"]["body"]
        assert by_branch["container-gate/dockerfile/alpine-3.20"]["labels"] == ["deps", "docker"]

        writes = len(server.writes())
        assert remediate(alpine_registry, "--forge", "github") == 0
        assert len(server.writes()) == writes and len(server.pulls) == 2

        server.close(1)
        assert remediate(alpine_registry, "--forge", "github") == 0
        assert len(server.writes()) == writes and len(server.pulls) == 2 and server.pulls[1]["state"] == "closed"
        assert server.violations == []
        captured = capsys.readouterr()
        assert GH_TOKEN not in captured.out + captured.err
        assert all(GH_TOKEN not in repr(r.body) for r in server.requests)
        assert "opened" in captured.out and "unchanged" in captured.out


def test_github_failures_exit_1_naming_the_update_and_bad_token_exits_2(
    alpine_registry: RegistryServer, checkout: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.fakes.github import Reply

    server = PullRequestsFake(token=GH_TOKEN)
    with server:
        server.seed(FILES)
        monkeypatch.setenv("GITHUB_REPOSITORY", "org/app")
        monkeypatch.setenv("GITHUB_API_URL", server.url)
        monkeypatch.setenv("GH_TOKEN", "not-the-token-value")
        assert remediate(alpine_registry, "--forge", "github") == 2
        assert "not-the-token-value" not in "".join(capsys.readouterr())

        monkeypatch.setenv("GH_TOKEN", GH_TOKEN)
        server.queue(
            "pulls/create", Reply(403, {"message": "Resource not accessible by integration", "documentation_url": ""})
        )
        assert remediate(alpine_registry, "--forge", "github") == 1
        err = capsys.readouterr().err
        assert "container-gate/api-dockerfile/alpine-3.20" in err and "pull-requests: write" in err
        assert len(server.open_pulls()) == 1


def test_forge_needs_a_repository(
    alpine_registry: RegistryServer, checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert remediate(alpine_registry, "--forge", "github") == 2
    assert "GITHUB_REPOSITORY" in capsys.readouterr().err


def test_plain_http_api_off_loopback_is_refused(
    alpine_registry: RegistryServer, checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert remediate(alpine_registry, "--forge", "github", "--repo", "o/r", "--api-url", "http://gh.example.com") == 2
    assert "loopback" in capsys.readouterr().err


def test_gitlab_through_ci_variables(
    alpine_registry: RegistryServer, checkout: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = MergeRequestsFake(token=GL_TOKEN)
    with server:
        server.seed(FILES)
        monkeypatch.setenv("GITLAB_TOKEN", GL_TOKEN)
        monkeypatch.setenv("CI_PROJECT_ID", "7")
        monkeypatch.setenv("CI_API_V4_URL", f"{server.url}/api/v4")
        assert remediate(alpine_registry, "--forge", "gitlab", "--max-new", "1") == 0
        assert len(server.mrs) == 1
        assert remediate(alpine_registry, "--forge", "gitlab", "--max-new", "1") == 0
        assert len(server.mrs) == 2
        writes = len(server.writes())
        assert remediate(alpine_registry, "--forge", "gitlab") == 0
        assert len(server.writes()) == writes
        untouched(checkout)
        assert server.violations == []
        captured = capsys.readouterr()
        assert GL_TOKEN not in captured.out + captured.err and "held back by --max-new 1" in captured.out


def git(*args: str, cwd: Path | None = None) -> str:
    env = {"GIT_AUTHOR_NAME": "J", "GIT_AUTHOR_EMAIL": "j@x", "GIT_COMMITTER_NAME": "J", "GIT_COMMITTER_EMAIL": "j@x"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True
    ).stdout


def test_git_forge_pushes_to_the_checkouts_remote(
    alpine_registry: RegistryServer, checkout: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "remote.git"
    git("init", "--bare", "-q", "-b", "main", str(bare))
    git("init", "-q", "-b", "main", cwd=checkout)
    git("add", ".", cwd=checkout)
    git("commit", "-q", "-m", "init", cwd=checkout)
    git("remote", "add", "origin", str(bare), cwd=checkout)
    git("push", "-q", "origin", "main", cwd=checkout)
    status = git("status", "--porcelain", cwd=checkout)
    assert remediate(alpine_registry, "--forge", "git", "--group") == 0
    assert (
        git("--git-dir", str(bare), "show", "container-gate/base-images:Dockerfile") == "FROM alpine:3.20\nRUN true\n"
    )
    assert (
        git("--git-dir", str(bare), "show", "container-gate/base-images:api/Dockerfile") == "FROM alpine:3.20 AS base\n"
    )
    assert git("status", "--porcelain", cwd=checkout) == status
    assert git("for-each-ref", "--format=%(refname)", cwd=checkout).split() == [
        "refs/heads/main",
        "refs/remotes/origin/main",
    ]
    untouched(checkout)
    head = git("--git-dir", str(bare), "rev-parse", "container-gate/base-images")
    assert remediate(alpine_registry, "--forge", "git", "--group") == 0
    assert git("--git-dir", str(bare), "rev-parse", "container-gate/base-images") == head


def test_a_repository_path_given_from_elsewhere_keeps_repository_relative_paths(
    alpine_registry: RegistryServer, checkout: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = PullRequestsFake(token=GH_TOKEN)
    with server:
        server.seed(FILES)
        monkeypatch.chdir(tmp_path)
        env = {"GITHUB_TOKEN": GH_TOKEN, "GITHUB_REPOSITORY": "org/app", "GITHUB_API_URL": server.url}
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        assert remediate(alpine_registry, "--forge", "github", "--max-new", "5", str(checkout)) == 0
        assert sorted(p["head"]["ref"] for p in server.pulls.values()) == [
            "container-gate/api-dockerfile/alpine-3.20",
            "container-gate/dockerfile/alpine-3.20",
        ]
        assert server.file_on("container-gate/dockerfile/alpine-3.20", "Dockerfile") == "FROM alpine:3.20\nRUN true\n"
        assert server.violations == []


def test_an_unreachable_forge_exits_2(
    alpine_registry: RegistryServer, checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert (
        remediate(alpine_registry, "--forge", "github", "--repo", "o/r", "--api-url", f"http://127.0.0.1:{port}") == 2
    )
    assert "cannot reach GitHub" in capsys.readouterr().err


def test_findings_put_the_expected_fixes_in_the_body_most_severe_first(
    alpine_registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import corpus_file

    report = corpus_file("trivy/trivy-golden_alpine-310.json")
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "one"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM alpine:3.14\n")
    monkeypatch.chdir(root)
    server = PullRequestsFake(token=GH_TOKEN)
    with server:
        server.seed({"Dockerfile": "FROM alpine:3.14\n"})
        for name, value in {
            "GITHUB_TOKEN": GH_TOKEN,
            "GITHUB_REPOSITORY": "org/app",
            "GITHUB_API_URL": server.url,
        }.items():
            monkeypatch.setenv(name, value)
        assert remediate(alpine_registry, "--forge", "github", "--findings", str(report)) == 0
        [pr] = server.pulls.values()
        body = pr["body"]
        assert "### Vulnerabilities this is expected to fix" in body
        rows = [line for line in body.splitlines() if line.startswith("| [") or line.startswith("| CVE")]
        severities = [line.split(" | ")[1] for line in rows]
        order = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
        assert rows and severities == sorted(severities, key=order.index)
        assert server.violations == []


def test_kev_puts_known_exploited_fixes_in_the_title_and_first_in_the_body(
    alpine_registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import corpus_file
    from tests.unit.decide.test_exploits import kev_catalog

    report = corpus_file("trivy/trivy-golden_alpine-310.json")  # CVE-2019-1549 and CVE-2019-1551, both MEDIUM
    kev = kev_catalog(tmp_path / "kev.json", [{"cveID": "CVE-2019-1551"}])
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path / "one"
    root.mkdir()
    (root / "Dockerfile").write_text("FROM alpine:3.14\n")
    monkeypatch.chdir(root)
    server = PullRequestsFake(token=GH_TOKEN)
    with server:
        server.seed({"Dockerfile": "FROM alpine:3.14\n"})
        for name, value in {
            "GITHUB_TOKEN": GH_TOKEN,
            "GITHUB_REPOSITORY": "org/app",
            "GITHUB_API_URL": server.url,
        }.items():
            monkeypatch.setenv(name, value)
        assert remediate(alpine_registry, "--forge", "github", "--findings", str(report), "--kev", str(kev)) == 0
        [pr] = server.pulls.values()
        assert pr["title"].endswith("(fixes 1 known-exploited vulnerability)")
        rows = [line for line in pr["body"].splitlines() if line.startswith(("| [CVE", "| CVE"))]
        assert "CVE-2019-1551" in rows[0] and rows[0].endswith("| known (CISA KEV) |")
        assert server.violations == []


def test_two_images_in_one_file_get_two_branches_each_with_only_its_own_change(
    alpine_registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    text = "FROM busybox:1.35.0 AS tools\nFROM alpine:3.14\nCOPY --from=tools /bin/sh /bin/sh\n"
    root = tmp_path / "two"
    root.mkdir()
    (root / "Dockerfile").write_text(text)
    monkeypatch.chdir(root)
    server = PullRequestsFake(token=GH_TOKEN)
    with server:
        server.seed({"Dockerfile": text})
        for name, value in {
            "GITHUB_TOKEN": GH_TOKEN,
            "GITHUB_REPOSITORY": "org/app",
            "GITHUB_API_URL": server.url,
        }.items():
            monkeypatch.setenv(name, value)
        assert remediate(alpine_registry, "--forge", "github") == 0
        assert server.file_on("container-gate/dockerfile/busybox-1.36.1", "Dockerfile") == text.replace(
            "busybox:1.35.0", "busybox:1.36.1"
        )
        assert server.file_on("container-gate/dockerfile/alpine-3.20", "Dockerfile") == text.replace(
            "alpine:3.14", "alpine:3.20"
        )
        assert (root / "Dockerfile").read_text() == text and server.violations == []
