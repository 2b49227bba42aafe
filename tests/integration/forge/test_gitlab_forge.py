"""`--forge gitlab` through python-gitlab against the contract-validated fake, over several nightly runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from remediate.forge import Entry, FileChange, ForgeError, Update, render
from remediate.forge.clients import gitlab_client
from remediate.forge.gitlab import GitLabForge
from remediate.forge.reconcile import Limits
from remediate.forge.runner import Outcome, run
from tests.fakes.gitlab import GLReply, MergeRequestsFake

TOKEN = "glpat-fake-0123456789abcdef"
PREFIX = "container-gate/"


@pytest.fixture
def fake() -> Iterator[MergeRequestsFake]:
    server = MergeRequestsFake(token=TOKEN)
    with server:
        server.seed({"Dockerfile": "FROM alpine:3.14\nRUN true\n", "README.md": "hi\n"})
        yield server
        assert server.violations == []


def update(new: str, *, file: str = "Dockerfile", fixes: tuple[str, ...] = ()) -> Update:
    e = Entry(file, "docker.io/library/alpine", "alpine:3.14", f"alpine:{new}", 1, "minor update", fixes)
    return render.make_update(render.branch_for(PREFIX, e), [e], [FileChange(file, f"FROM alpine:{new}\nRUN true\n")])


def forge_for(fake: MergeRequestsFake, **kw: object) -> GitLabForge:
    return GitLabForge(gitlab_client(fake.url, TOKEN), "org/app", **kw)  # type: ignore[arg-type]


def nightly(fake: MergeRequestsFake, updates: list[Update], **kw: object) -> list[Outcome]:
    forge = forge_for(fake, **kw)
    return run(forge, updates, base=forge.default_branch(), prefix=PREFIX, limits=Limits())


def test_open_rerun_supersede_close_and_foreign_push(fake: MergeRequestsFake) -> None:
    u = update("3.19")
    [o] = nightly(fake, [u], labels=["deps", "docker"], reviewers=["12"], assignees=["13"])
    assert o.status == "opened" and o.url.endswith("/merge_requests/1")
    mr = fake.mrs[1]
    assert mr["labels"] == ["deps", "docker"] and mr["reviewer_ids"] == [12] and mr["assignee_ids"] == [13]
    assert fake.file_on(u.branch, "Dockerfile") == "FROM alpine:3.19\nRUN true\n"
    assert fake.file_on(u.branch, "README.md") == "hi\n"
    [commit] = fake.calls("create-commit")
    assert commit.args["start_branch"] == "main" and len(commit.args["actions"]) == 1

    before = len(fake.writes())
    [o] = nightly(fake, [u])
    assert o.status == "unchanged" and len(fake.writes()) == before

    newer = update("3.20")
    [o] = nightly(fake, [newer])
    assert o.status == "opened" and fake.mrs[1]["state"] == "closed" and "merge_requests/2" in fake.notes[1][0]

    fake.close(2)
    before = len(fake.writes())
    [o] = nightly(fake, [newer])
    assert o.status == "skipped" and "#2" in o.detail and len(fake.writes()) == before


def test_a_person_pushing_to_the_branch_is_left_alone(fake: MergeRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    head = fake.push_as("Jane", u.branch, {"Dockerfile": "FROM alpine:3.20\nRUN mine\n"})
    changed = render.make_update(u.branch, u.entries, [FileChange("Dockerfile", "FROM alpine:3.20\n")])
    before = len(fake.writes())
    [o] = nightly(fake, [changed])
    assert o.status == "skipped" and "Jane" in o.detail
    assert len(fake.writes()) == before and fake.branches[u.branch] == head


def test_changed_content_rewrites_the_branch_from_the_base(fake: MergeRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    changed = render.make_update(u.branch, u.entries, [FileChange("Dockerfile", "FROM alpine:3.20\nRUN x\n")])
    [o] = nightly(fake, [changed])
    assert o.status == "updated" and fake.file_on(u.branch, "Dockerfile") == "FROM alpine:3.20\nRUN x\n"
    assert fake.calls("create-commit")[-1].args["force"] is True
    assert fake.commits[fake.branches[u.branch]]["parents"] == [fake.branches["main"]]


def test_merged_mr_ends_the_update(fake: MergeRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    fake.merge(1)
    [o] = nightly(fake, [u])
    assert o.status == "skipped" and "merged" in o.detail


def test_one_failure_does_not_stop_the_others(fake: MergeRequestsFake) -> None:
    a, b = update("3.20", file="a/Dockerfile"), update("3.20", file="b/Dockerfile")
    fake.seed({"a/Dockerfile": "FROM alpine:3.14\n", "b/Dockerfile": "FROM alpine:3.14\n"})
    fake.queue("create-merge-request", GLReply(403, {"message": "403 Forbidden"}))
    outcomes = nightly(fake, [a, b])
    assert [o.status for o in outcomes] == ["failed", "opened"]
    assert "api scope" in outcomes[0].detail


def test_5xx_is_retried(fake: MergeRequestsFake) -> None:
    fake.queue("create-commit", GLReply(502, {"message": "bad gateway"}))
    [o] = nightly(fake, [update("3.20")])
    assert o.status == "opened" and len(fake.calls("create-commit")) == 2


def test_bad_token_is_fatal_and_never_shown(fake: MergeRequestsFake) -> None:
    forge = GitLabForge(gitlab_client(fake.url, "wrong-token-value"), "org/app")
    with pytest.raises(ForgeError) as err:
        forge.default_branch()
    assert err.value.fatal and "wrong-token-value" not in str(err.value) and "401" in str(err.value)


def test_usernames_are_noted_not_sent(fake: MergeRequestsFake) -> None:
    forge = forge_for(fake, reviewers=["alice"])
    run(forge, [update("3.20")], base="main", prefix=PREFIX)
    assert "reviewer_ids" not in fake.calls("create-merge-request")[0].args
    assert any("alice" in n for n in forge.notes)
    assert all(TOKEN not in repr(r.body) for r in fake.requests)


def test_a_forks_merge_request_on_our_prefix_is_not_ours(fake: MergeRequestsFake) -> None:
    u = update("3.20")
    nightly(fake, [u])
    fake.mrs[1]["source_project_id"] = 99
    fake.mrs[1]["state"] = "closed"
    [o] = nightly(fake, [u])
    assert o.status == "opened" and len(fake.mrs) == 2


@pytest.mark.parametrize(
    ("operation", "status"), [("create-commit", 404), ("create-commit", 403), ("create-merge-request", 422)]
)
def test_an_error_at_any_step_fails_that_update_only_and_the_next_night_recovers(
    fake: MergeRequestsFake, operation: str, status: int
) -> None:
    fake.seed({"a/Dockerfile": "FROM alpine:3.14\n", "b/Dockerfile": "FROM alpine:3.14\n"})
    first, second = update("3.20", file="a/Dockerfile"), update("3.20", file="b/Dockerfile")
    fake.queue(operation, GLReply(status, {"message": "injected"}))
    outcomes = nightly(fake, [first, second])
    assert [o.status for o in outcomes] == ["failed", "opened"]
    outcomes = nightly(fake, [first, second])
    assert [o.status for o in outcomes] == ["opened", "unchanged"]
    assert fake.file_on(first.branch, "a/Dockerfile") == "FROM alpine:3.20\nRUN true\n"


def test_a_branch_left_without_its_merge_request_is_rebuilt(fake: MergeRequestsFake) -> None:
    u = update("3.20")
    fake.branches[u.branch] = fake.branches["main"]
    [o] = nightly(fake, [u])
    assert o.status == "opened" and fake.calls("create-commit")[-1].args.get("force") is True
    assert fake.file_on(u.branch, "Dockerfile") == "FROM alpine:3.20\nRUN true\n"


def test_a_configured_author_is_sent_with_the_commit(fake: MergeRequestsFake) -> None:
    forge = forge_for(fake, author=("Deps Bot", "deps@example.com"))
    run(forge, [update("3.20")], base="main", prefix=PREFIX)
    args = fake.calls("create-commit")[0].args
    assert (args["author_name"], args["author_email"]) == ("Deps Bot", "deps@example.com")
