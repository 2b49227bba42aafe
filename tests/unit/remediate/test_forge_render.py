"""How PRs read: branch names, messages, bodies, clipping, escaping and the metadata round trip."""

from __future__ import annotations

from remediate.findings import FixableVuln
from remediate.forge import Entry, FileChange, Meta, render


def entry(
    old: str = "alpine:3.14",
    new: str = "alpine:3.20",
    file: str = "services/api/Dockerfile",
    fixes: tuple[str, ...] = (),
) -> Entry:
    return Entry(file, "docker.io/library/alpine", old, new, 3, "minor update", fixes)


def test_branch_names_file_slug_image_and_tag() -> None:
    assert render.branch_for("container-gate/", entry()) == "container-gate/services-api-dockerfile/alpine-3.20"


def test_branch_of_a_digest_refresh_carries_the_digest() -> None:
    e = entry("alpine:3.20@sha256:" + "a" * 64, "alpine:3.20@sha256:" + "b" * 64)
    assert render.branch_for("cg/", e) == "cg/services-api-dockerfile/alpine-3.20-bbbbbbb"


def test_branch_of_a_registry_image_uses_the_last_path_part() -> None:
    e = Entry("Dockerfile", "ghcr.io/org/app", "ghcr.io/org/app:1.2", "ghcr.io/org/app:1.3")
    assert render.branch_for("cg/", e) == "cg/dockerfile/app-1.3"


def test_conventional_commit_message() -> None:
    assert render.commit_message([entry(file="Dockerfile")]) == "fix(docker): bump alpine 3.14 → 3.20 in Dockerfile"


def test_commit_message_of_a_digest_move() -> None:
    e = entry("alpine:3.20@sha256:" + "a" * 64, "alpine:3.20@sha256:" + "b" * 64, file="Dockerfile")
    assert render.commit_message([e]) == "fix(docker): bump alpine:3.20 digest → bbbbbbbbbbbb in Dockerfile"


def test_group_commit_message() -> None:
    assert render.commit_message([entry(), entry(file="Dockerfile")]) == "fix(docker): bump 2 base images in 2 files"


def test_metadata_round_trips_and_is_hidden() -> None:
    e = entry(new="alpine:3.20-->x<b>")
    comment = render.meta_comment(Meta((e,), "abc", "def"))
    assert comment.count("-->") == 1 and comment.endswith(" -->") and "<b>" not in comment
    meta = render.parse_meta(f"text\n{comment}\nmore")
    assert meta is not None and meta.commit == "abc" and meta.content == "def"
    assert [(m.file, m.image, m.old, m.new) for m in meta.entries] == [(e.file, e.image, e.old, e.new)]


def test_other_versions_and_garbage_are_not_ours() -> None:
    assert render.parse_meta('<!-- container-gate:remediate {"v":99,"updates":[]} -->') is None
    assert render.parse_meta("<!-- container-gate:remediate {nope} -->") is None
    assert render.parse_meta(None) is None


def test_body_has_the_table_the_ignore_snippet_and_the_metadata() -> None:
    u = render.make_update("b", [entry()], [FileChange("services/api/Dockerfile", "x")])
    text = render.body(u, commit="c1")
    assert (
        "| services/api/Dockerfile:3 | docker.io/library/alpine | alpine:3.14 → alpine:3.20 | minor update | - |"
        in text
    )
    assert 'ignore-versions: ["3.20"]' in text
    meta = render.parse_meta(text)
    assert meta is not None and meta.commit == "c1" and meta.content == u.content


def test_vulnerabilities_sorted_by_severity_with_links() -> None:
    fixes = ("CVE-1", "CVE-2", "CVE-3")
    u = render.make_update("b", [entry(fixes=fixes)], [FileChange("f", "x")])
    vulns = {
        "CVE-1": FixableVuln("CVE-1", "LOW", "zlib", "1.0", "1.1"),
        "CVE-2": FixableVuln("CVE-2", "CRITICAL", "openssl", "3.0.1", "3.0.2", "https://avd.example/CVE-2"),
    }
    text = render.body(u, commit="c", vulns=vulns)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "CVE-" in line]
    assert rows[0].startswith("| [CVE-2](https://avd.example/CVE-2) | CRITICAL | openssl | 3.0.1 → 3.0.2 |")
    assert "CVE-1" in rows[1] and "CVE-3" in rows[2]


def test_body_is_clipped_under_the_limit_with_a_count_of_the_rest() -> None:
    fixes = tuple(f"CVE-2024-{i:05d}" for i in range(5000))
    vulns = {f: FixableVuln(f, "HIGH", "p" * 40, "1.0.0-r0", "1.0.1-r0", f"https://avd.example/{f}") for f in fixes}
    u = render.make_update("b", [entry(fixes=fixes)], [FileChange("f", "x")])
    text = render.body(u, commit="c", vulns=vulns)
    assert len(text) <= render.BODY_LIMIT
    shown = sum(1 for line in text.splitlines() if line.startswith("| [CVE"))
    assert 0 < shown < 5000 and f"…and {5000 - shown} more" in text
    assert render.parse_meta(text) is not None


def test_untrusted_report_text_is_escaped() -> None:
    u = render.make_update("b", [entry(fixes=("X",))], [FileChange("f", "x")])
    evil = FixableVuln(
        "X", "HIGH", "<img src=x onerror=alert(1)>|[click](http://evil)", "@org/team", "`1`", "javascript:alert(1)"
    )
    text = render.body(u, commit="c", vulns={"X": evil})
    assert "<img" not in text and "](http://evil)" not in text and "javascript:" not in text
    assert "@org" not in text and "@\u200borg" in text


def test_replace_meta_marks_a_body_superseded() -> None:
    u = render.make_update("b", [entry()], [FileChange("f", "x")])
    text = render.replace_meta(render.body(u, commit="c"), Meta(u.entries, "c", u.content, "superseded"))
    meta = render.parse_meta(text)
    assert meta is not None and meta.closed == "superseded" and text.count("container-gate:remediate") == 1
