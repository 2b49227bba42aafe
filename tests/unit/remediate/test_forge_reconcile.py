"""The reconcile step on its own: wanted updates against the PRs a forge has, no HTTP, no git."""

from __future__ import annotations

from remediate.forge import BranchState, ChangeRequest, Entry, FileChange, Meta, Update, render
from remediate.forge.reconcile import (
    DEFAULT_LIMITS,
    Action,
    Keep,
    Limits,
    Open,
    Refresh,
    Skip,
    needs_branch_check,
    reconcile,
)

PREFIX = "container-gate/"


def update(
    image: str = "alpine",
    old: str = "3.14",
    new: str = "3.20",
    *,
    file: str = "Dockerfile",
    fixes: tuple[str, ...] = (),
    text: str | None = None,
) -> Update:
    entry = Entry(file, f"docker.io/library/{image}", f"{image}:{old}", f"{image}:{new}", 1, "minor update", fixes)
    return render.make_update(
        render.branch_for(PREFIX, entry), [entry], [FileChange(file, text or f"FROM {image}:{new}\n")]
    )


def body_of(u: Update, commit: str) -> str:
    return render.body(u, commit=commit)


def pr(
    u: Update,
    number: int = 1,
    *,
    state: str = "open",
    head: str = "c1",
    meta_commit: str = "c1",
    content: str | None = None,
    closed: str = "",
    title: str | None = None,
    body: str | None = None,
) -> ChangeRequest:
    meta = Meta(u.entries, meta_commit, u.content if content is None else content, closed)
    text = body if body is not None else render.body(u, commit=meta_commit, closed=closed)
    return ChangeRequest(number, u.branch, state, title or u.title, text, head, f"https://forge/pr/{number}", meta)  # type: ignore[arg-type]


def run(
    updates: list[Update],
    existing: list[ChangeRequest],
    branches: dict[str, BranchState] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Action]:
    return list(reconcile(updates, existing, branches=branches or {}, body_of=body_of, limits=limits))


def test_nothing_open_opens_one_per_update() -> None:
    a, b = update("alpine"), update("debian", "11", "12")
    actions = run([a, b], [])
    assert [type(x) for x in actions] == [Open, Open]


def test_unchanged_open_pr_is_kept_without_any_write() -> None:
    a = update()
    assert run([a], [pr(a)]) == [Keep(a, pr(a))]


def test_changed_files_push_and_edit() -> None:
    a = update(text="FROM alpine:3.20\nRUN true\n")
    existing = pr(a, content="something else")
    [action] = run([a], [existing])
    assert isinstance(action, Refresh) and action.push and action.edit


def test_only_the_body_differs_edits_without_pushing() -> None:
    a = update()
    existing = pr(a, body="edited by hand")
    [action] = run([a], [existing])
    assert isinstance(action, Refresh) and not action.push and action.edit


def test_title_differs_edits() -> None:
    a = update()
    [action] = run([a], [pr(a, title="old title")])
    assert isinstance(action, Refresh) and action.edit and not action.push


def test_newer_target_supersedes_the_open_pr_of_the_same_file_and_image() -> None:
    old, new = update(new="3.19"), update(new="3.20")
    existing = pr(old, 7)
    [action] = run([new], [existing])
    assert isinstance(action, Open) and action.supersedes == (existing,)


def test_other_file_same_image_is_not_superseded() -> None:
    other, new = update(file="api/Dockerfile", new="3.19"), update(new="3.20")
    [action] = run([new], [pr(other, 3)])
    assert isinstance(action, Open) and action.supersedes == ()


def test_user_closed_means_that_exact_move_is_skipped() -> None:
    a = update()
    [action] = run([a], [pr(a, 4, state="closed")])
    assert isinstance(action, Skip) and action.kind == "ignored" and "#4" in action.reason


def test_user_closed_older_version_does_not_block_a_newer_one() -> None:
    old, new = update(new="3.19"), update(new="3.20")
    [action] = run([new], [pr(old, 4, state="closed")])
    assert isinstance(action, Open)


def test_pr_we_closed_as_superseded_is_not_a_users_no() -> None:
    a = update()
    [action] = run([a], [pr(a, 4, state="closed", closed="superseded")])
    assert isinstance(action, Open)


def test_merged_pr_ends_its_update() -> None:
    a = update()
    [action] = run([a], [pr(a, 5, state="merged")])
    assert isinstance(action, Skip) and action.kind == "merged"


def test_closed_pr_without_metadata_on_the_same_branch_is_ignored() -> None:
    a = update()
    bare = ChangeRequest(9, a.branch, "closed", "x", "no metadata", "c9")
    [action] = run([a], [bare])
    assert isinstance(action, Skip) and action.kind == "ignored"


def test_branch_with_someone_elses_commit_is_left_alone() -> None:
    a = update()
    existing = pr(a, head="c2", meta_commit="c1", content="old")
    assert needs_branch_check([existing]) == [a.branch]
    branches = {a.branch: BranchState(a.branch, "c2", ours=False, authors=("Jane",))}
    [action] = run([a], [existing], branches)
    assert isinstance(action, Skip) and action.kind == "foreign" and "Jane" in action.reason


def test_head_moved_by_our_own_earlier_run_is_pushed_again() -> None:
    a = update()
    existing = pr(a, head="c2", meta_commit="c1")
    branches = {a.branch: BranchState(a.branch, "c2", ours=True)}
    [action] = run([a], [existing], branches)
    assert isinstance(action, Refresh) and action.push


def test_untouched_branches_need_no_lookup() -> None:
    a = update()
    assert needs_branch_check([pr(a), pr(a, 2, state="closed", head="x")]) == []


def test_foreign_pr_is_not_closed_as_superseded() -> None:
    old, new = update(new="3.19"), update(new="3.20")
    existing = pr(old, 7, head="c2", meta_commit="c1")
    branches = {old.branch: BranchState(old.branch, "c2", ours=False)}
    [action] = run([new], [existing], branches)
    assert isinstance(action, Open) and action.supersedes == ()


def test_max_new_holds_back_the_rest_security_first() -> None:
    plain = [update(f"img{i}") for i in range(3)]
    secure = update("zz", fixes=("CVE-2024-1",))
    actions = run([*plain, secure], [], limits=Limits(max_new=2, max_open=10))
    opened = [a.update for a in actions if isinstance(a, Open)]
    held = [a for a in actions if isinstance(a, Skip)]
    assert opened[0] == secure and len(opened) == 2
    assert len(held) == 2 and all(h.kind == "held" and "--max-new 2" in h.reason for h in held)


def test_max_open_counts_what_is_already_open() -> None:
    a, b = update("a"), update("b")
    open_ones = [pr(update(f"o{i}"), i) for i in range(10)]
    actions = run([a, b], open_ones, limits=Limits(max_new=5, max_open=11))
    assert [type(x) for x in actions] == [Open, Skip]
    assert isinstance(actions[1], Skip) and "--max-open 11" in actions[1].reason


def test_superseding_does_not_grow_the_open_count() -> None:
    old, new = update(new="3.19"), update(new="3.20")
    open_ones = [pr(old, 1), *(pr(update(f"o{i}"), i + 10) for i in range(9))]
    [first] = [a for a in run([new], open_ones, limits=Limits(max_new=2, max_open=10)) if a.update == new]
    assert isinstance(first, Open)


def test_refresh_also_closes_older_prs_of_the_same_slot() -> None:
    old, new = update(new="3.19"), update(new="3.20")
    [action] = run([new], [pr(old, 1), pr(new, 2)])
    assert isinstance(action, Refresh) and [r.number for r in action.supersedes] == [1]


def test_held_updates_never_write() -> None:
    a = update()
    [action] = run([a], [], limits=Limits(max_new=0))
    assert isinstance(action, Skip) and action.kind == "held"


def test_a_forge_that_trims_or_reflows_line_endings_is_not_edited() -> None:
    a = update()
    existing = pr(a, body=render.body(a, commit="c1").rstrip().replace("\n", "\r\n"))
    assert run([a], [existing]) == [Keep(a, existing)]


def test_a_forge_that_lists_no_head_is_asked_the_branch_and_a_clean_branch_is_kept() -> None:
    a = update()
    listed = pr(a, head="", meta_commit="c1")
    assert needs_branch_check([listed]) == [a.branch]
    branches = {a.branch: BranchState(a.branch, "c1", ours=True)}
    [action] = run([a], [listed], branches)
    assert isinstance(action, Keep)


def test_known_exploited_fixes_open_before_more_fixes_and_say_so_in_the_title() -> None:
    from remediate.findings import FixableVuln

    many = update("many", fixes=("CVE-2024-1", "CVE-2024-2", "CVE-2024-3"))
    likely = update("likely", fixes=("CVE-2024-4",))
    exploited = update("exploited", fixes=("CVE-2024-5",))
    vulns = {
        "CVE-2024-4": FixableVuln("CVE-2024-4", "LOW", "zlib", "1", "2", epss=0.8),
        "CVE-2024-5": FixableVuln("CVE-2024-5", "LOW", "bash", "1", "2", kev=True),
        "CVE-2024-1": FixableVuln("CVE-2024-1", "CRITICAL", "ssl", "1", "2", epss=0.01),
    }
    ranked = [render.with_exploits(u, vulns) for u in (many, likely, exploited)]
    actions = run(ranked, [], limits=Limits(max_new=2, max_open=10))
    opened = [a.update.branch for a in actions if isinstance(a, Open)]
    assert opened == [exploited.branch, likely.branch]  # KEV, then the likeliest exploit; 3 plain fixes wait
    [top] = [u for u in ranked if u.branch == exploited.branch]
    assert top.title.endswith("(fixes 1 known-exploited vulnerability)") and top.exploited == ("CVE-2024-5",)
    assert top.commit_message == exploited.commit_message  # the commit keeps its conventional subject
    body = render.body(top, commit="c1", vulns=vulns)
    assert "**It fixes 1 vulnerability in CISA's Known Exploited Vulnerabilities catalog: CVE-2024-5.**" in body
    assert "| known (CISA KEV) |" in body
    assert render.with_exploits(many, {}) is many
