"""`--forge github` through PyGithub against the stateful contract-validated fake, over several nightly runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remediate.forge import Entry, FileChange, ForgeError, Update, render
from remediate.forge.clients import check_api_url, github_client
from remediate.forge.github import GitHubForge
from remediate.forge.reconcile import Limits
from remediate.forge.runner import Outcome, run
from tests.fakes.github import PullRequestsFake, Reply

TOKEN = "ghs_fake_token_0123456789abcdef"
PREFIX = "container-gate/"
BASE = "FROM alpine:3.14\nRUN true\n"


@pytest.fixture
def fake() -> Iterator[PullRequestsFake]:
    server = PullRequestsFake(token=TOKEN)
    with server:
        server.seed({"Dockerfile": BASE, "README.md": "hi\n"})
        yield server
        assert server.violations == []


def update(new: str, *, file: str = "Dockerfile", fixes: tuple[str, ...] = ()) -> Update:
    e = Entry(file, "docker.io/library/alpine", "alpine:3.14", f"alpine:{new}", 1, "minor update", fixes)
    return render.make_update(render.branch_for(PREFIX, e), [e], [FileChange(file, f"FROM alpine:{new}\nRUN true\n")])


def nightly(fake: PullRequestsFake, updates: list[Update], **kw: object) -> list[Outcome]:
    forge = GitHubForge(github_client(fake.url, TOKEN), "org/app", **kw)  # type: ignore[arg-type]
    return run(forge, updates, base=forge.default_branch(), prefix=PREFIX, limits=Limits())


def test_open_rerun_supersede_close_and_foreign_push(fake: PullRequestsFake) -> None:
    u = update("3.19")
    [o] = nightly(fake, [u], labels=["deps"], reviewers=["alice"])
    assert o.status == "opened" and o.url.endswith("/pull/1")
    pr = fake.pulls[1]
    assert pr["head"]["ref"] == u.branch and pr["labels"] == ["deps"] and pr["reviewers"] == ["alice"]
    assert fake.file_on(u.branch, "Dockerfile") == "FROM alpine:3.19\nRUN true\n"
    assert fake.file_on(u.branch, "README.md") == "hi\n"
    assert "3.14 → 3.19" in pr["body"] and render.parse_meta(pr["body"]) is not None
    ops = [r.operation.operation_id for r in fake.writes()]
    assert ops[:4] == ["git/create-blob", "git/create-tree", "git/create-commit", "git/create-ref"]

    before = len(fake.writes())
    [o] = nightly(fake, [u])
    assert o.status == "unchanged" and len(fake.writes()) == before
    assert len(fake.calls("pulls/list")) == 2  # one listing per run, no per-PR polling

    newer = update("3.20")
    [o] = nightly(fake, [newer])
    assert o.status == "opened"
    assert fake.pulls[1]["state"] == "closed" and f"heads/{u.branch}" not in fake.refs
    assert "pull/2" in fake.comments[1][0]
    assert render.parse_meta(fake.pulls[1]["body"]).closed == "superseded"  # type: ignore[union-attr]

    fake.close(2)
    before = len(fake.writes())
    [o] = nightly(fake, [newer])
    assert o.status == "skipped" and "#2" in o.detail and len(fake.writes()) == before
    assert [p["state"] for p in fake.pulls.values()] == ["closed", "closed"]


def test_a_person_pushing_to_the_branch_is_left_alone(fake: PullRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    head = fake.push_as("Jane", u.branch, {"Dockerfile": "FROM alpine:3.20\nRUN mine\n"})
    changed = render.make_update(u.branch, u.entries, [FileChange("Dockerfile", "FROM alpine:3.20\n")])
    before = len(fake.writes())
    [o] = nightly(fake, [changed])
    assert o.status == "skipped" and "jane" in o.detail.lower()
    assert len(fake.writes()) == before and fake.refs[f"heads/{u.branch}"] == head


def test_changed_content_force_updates_and_edits(fake: PullRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    changed = render.make_update(u.branch, u.entries, [FileChange("Dockerfile", "FROM alpine:3.20\nRUN x\n")])
    [o] = nightly(fake, [changed])
    assert o.status == "updated" and fake.file_on(u.branch, "Dockerfile") == "FROM alpine:3.20\nRUN x\n"
    assert [r.operation.operation_id for r in fake.writes()][-2:] == ["git/update-ref", "pulls/update"]
    assert len(fake.pulls) == 1


def test_merged_pr_ends_the_update(fake: PullRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    fake.merge(1)
    [o] = nightly(fake, [u])
    assert o.status == "skipped" and "merged" in o.detail


def test_limits_security_first(fake: PullRequestsFake) -> None:
    plain = [update("3.20", file=f"s{i}/Dockerfile") for i in range(3)]
    secure = update("3.20", file="z/Dockerfile", fixes=("CVE-2024-0001",))
    outcomes = nightly(fake, [*plain, secure])
    assert [o.status for o in outcomes] == ["opened", "opened", "skipped", "skipped"]
    assert outcomes[0].update == secure and len(fake.open_pulls()) == 2


def test_one_failure_does_not_stop_the_others(fake: PullRequestsFake) -> None:
    a, b = update("3.20", file="a/Dockerfile"), update("3.20", file="b/Dockerfile")
    fake.queue(
        "pulls/create", Reply(403, {"message": "Resource not accessible by integration", "documentation_url": ""})
    )
    outcomes = nightly(fake, [a, b])
    assert [o.status for o in outcomes] == ["failed", "opened"]
    assert "pull-requests: write" in outcomes[0].detail


def test_5xx_is_retried(fake: PullRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    fake.push_as("Jane", u.branch, {"Dockerfile": "FROM alpine:3.20\nRUN mine\n"})
    fake.queue("repos/get-commit", Reply(503, {"message": "busy", "documentation_url": ""}))
    [o] = nightly(fake, [u])
    assert o.status == "skipped" and len(fake.calls("repos/get-commit")) == 2


def test_existing_branch_without_pr_is_reused(fake: PullRequestsFake) -> None:
    u = update("3.20")
    fake.refs[f"heads/{u.branch}"] = fake.refs["heads/main"]
    [o] = nightly(fake, [u])
    assert o.status == "opened" and fake.file_on(u.branch, "Dockerfile") == "FROM alpine:3.20\nRUN true\n"


def test_bad_token_is_fatal_and_never_shown(fake: PullRequestsFake) -> None:
    forge = GitHubForge(github_client(fake.url, "wrong-token-value"), "org/app")
    with pytest.raises(ForgeError) as err:
        run(forge, [update("3.20")], base=forge.default_branch(), prefix=PREFIX)
    assert err.value.fatal and "wrong-token-value" not in str(err.value)


def test_token_never_reaches_a_request_body(fake: PullRequestsFake) -> None:
    nightly(fake, [update("3.20")])
    assert all(TOKEN not in repr(r.body) for r in fake.requests)


def test_api_url_rules() -> None:
    assert check_api_url("http://127.0.0.1:8080/", "--api-url") == "http://127.0.0.1:8080"
    with pytest.raises(ForgeError, match="loopback"):
        check_api_url("http://github.example.com/api/v3", "--api-url")
    with pytest.raises(ForgeError, match="user name or password") as err:
        check_api_url("https://user:pw@github.example.com", "--api-url")
    assert "pw" not in str(err.value)


def test_a_nightly_over_200_dockerfiles_with_20_open_prs_lists_once_and_writes_nothing(
    fake: PullRequestsFake,
) -> None:
    from collections import Counter

    updates = [update("3.20", file=f"svc{i:03d}/Dockerfile") for i in range(200)]
    forge = GitHubForge(github_client(fake.url, TOKEN), "org/app")
    run(forge, updates, base="main", prefix=PREFIX, limits=Limits(max_new=20, max_open=20))
    assert len(fake.open_pulls()) == 20
    fake.requests.clear()
    forge = GitHubForge(github_client(fake.url, TOKEN), "org/app")
    outcomes = run(forge, updates, base=forge.default_branch(), prefix=PREFIX, limits=Limits(max_new=20, max_open=20))
    assert Counter(o.status for o in outcomes) == {"unchanged": 20, "skipped": 180}
    assert Counter(r.operation.operation_id for r in fake.requests) == {"repos/get": 1, "pulls/list": 1}


def test_secondary_rate_limit_waits_as_retry_after_says(fake: PullRequestsFake) -> None:
    limited = Reply(
        403,
        {"message": "You have exceeded a secondary rate limit.", "documentation_url": ""},
        {"Retry-After": "0"},
    )
    fake.queue("pulls/create", limited)
    [o] = nightly(fake, [update("3.20")])
    assert o.status == "opened" and len(fake.calls("pulls/create")) == 2


def test_a_refused_reviewer_is_a_note_not_a_failure(fake: PullRequestsFake) -> None:
    fake.queue("pulls/request-reviewers", Reply(422))
    forge = GitHubForge(github_client(fake.url, TOKEN), "org/app", reviewers=["not-a-collaborator"])
    [o] = run(forge, [update("3.20")], base="main", prefix=PREFIX)
    assert o.status == "opened" and any("reviewers not requested" in n for n in forge.notes)


def test_a_branch_that_cannot_be_checked_is_not_overwritten(fake: PullRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    head = fake.push_as("Jane", u.branch, {"Dockerfile": "FROM alpine:3.20\nRUN mine\n"})
    fake.queue("repos/get-commit", Reply(404, {"message": "Not Found", "documentation_url": ""}))
    changed = render.make_update(u.branch, u.entries, [FileChange("Dockerfile", "FROM alpine:3.20\n")])
    [o] = nightly(fake, [changed])
    assert o.status == "failed" and "404" in o.detail and fake.refs[f"heads/{u.branch}"] == head


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        ("git/create-blob", 409),
        ("git/create-tree", 422),
        ("git/create-commit", 409),
        ("git/create-ref", 409),
        ("pulls/create", 403),
    ],
)
def test_an_error_at_any_step_fails_that_update_only_and_the_next_night_recovers(
    fake: PullRequestsFake, operation: str, status: int
) -> None:
    first, second = update("3.20", file="a/Dockerfile"), update("3.20", file="b/Dockerfile")
    fake.queue(operation, Reply(status, {"message": "injected", "documentation_url": ""}))
    outcomes = nightly(fake, [first, second])
    assert [o.status for o in outcomes] == ["failed", "opened"]
    assert f"HTTP {status}" in outcomes[0].detail
    outcomes = nightly(fake, [first, second])
    assert [o.status for o in outcomes] == ["opened", "unchanged"]
    assert sorted(p["head"]["ref"] for p in fake.open_pulls()) == sorted([first.branch, second.branch])
    assert fake.file_on(first.branch, "a/Dockerfile") == "FROM alpine:3.20\nRUN true\n"


def test_a_configured_author_signs_the_commit_and_none_leaves_it_to_github(fake: PullRequestsFake) -> None:
    a, b = update("3.20", file="a/Dockerfile"), update("3.20", file="b/Dockerfile")
    nightly(fake, [a])
    forge = GitHubForge(github_client(fake.url, TOKEN), "org/app", author=("Deps Bot", "deps@example.com"))
    run(forge, [a, b], base="main", prefix=PREFIX)
    first, second = (fake.calls("git/create-commit")[i].body for i in (0, 1))
    assert "author" not in first and "committer" not in first
    assert second["author"]["name"] == "Deps Bot" and second["committer"]["email"] == "deps@example.com"
