"""Selection: newest allowed tag, digest handling (tag@digest, digest-only, pin/unpin), findings gate."""

from __future__ import annotations

from gate.dockerfile import parse
from remediate.discover import base_images
from remediate.model import BaseImageUse, Bump, SkippedImage
from remediate.select import decide, follow_tag
from remediate.versioning import Rules

DIGESTS = {t: "sha256:" + f"{i:x}" * 64 for i, t in enumerate(["3.18.4", "3.18.6", "3.19.1", "3.19", "3", "latest"], 1)}
DIGESTS = {k: v[:71] for k, v in DIGESTS.items()}
TAGS = ["3", "3.18.4", "3.18.6", "3.19", "3.19.1", "latest", "edge"]


def use(line: str) -> BaseImageUse:
    uses, _ = base_images(parse(line + "\n"))
    return uses[0]


def run(line: str, update: str = "minor", **kw: object) -> Bump | SkippedImage:
    return decide(use(line), TAGS, rules=Rules(update=update), digest_of=DIGESTS.__getitem__, **kw)  # type: ignore[arg-type]


def test_tag_bump_without_digest() -> None:
    out = run("FROM alpine:3.18.4")
    assert isinstance(out, Bump) and out.new.tag == "3.19.1" and out.new.digest is None and out.why == "minor update"
    patch = run("FROM alpine:3.18.4", "patch")
    assert isinstance(patch, Bump) and patch.new.tag == "3.18.6"


def test_tag_at_digest_gets_the_new_tags_digest() -> None:
    out = run(f"FROM alpine:3.18.4@{DIGESTS['3.18.4']}")
    assert isinstance(out, Bump) and (out.new.tag, out.new.digest) == ("3.19.1", DIGESTS["3.19.1"])


def test_rolling_tag_digest_refresh_and_pin_unpin() -> None:
    old = "sha256:" + "0" * 64
    refresh = run(f"FROM alpine:3@{old}")
    assert isinstance(refresh, Bump) and refresh.new.digest == DIGESTS["3"] and refresh.why == "digest refresh"
    pinned = run("FROM alpine:3", pin=True)
    assert isinstance(pinned, Bump) and pinned.new.digest == DIGESTS["3"] and pinned.why == "pin digest"
    unpinned = run(f"FROM alpine:3.18.4@{DIGESTS['3.18.4']}", pin=False)
    assert isinstance(unpinned, Bump) and unpinned.new.digest is None and unpinned.new.tag == "3.19.1"


def test_up_to_date_and_non_version_tags_are_skipped_with_reasons() -> None:
    latest = run("FROM alpine:3.19.1")
    assert isinstance(latest, SkippedImage) and latest.reason.startswith("up to date")
    edge = run("FROM alpine:edge")
    assert isinstance(edge, SkippedImage) and "not a version" in edge.reason
    bare = run("FROM alpine")
    assert isinstance(bare, SkippedImage) and "no tag" in bare.reason


def test_digest_only_follows_the_most_precise_matching_tag() -> None:
    assert follow_tag(DIGESTS["3.18.4"], TAGS, DIGESTS.__getitem__) == "3.18.4"
    out = run(f"FROM alpine@{DIGESTS['3.18.4']}")
    assert isinstance(out, Bump) and out.new.tag is None and out.new.digest == DIGESTS["3.19.1"]
    assert "3.19.1" in out.why
    lost = run("FROM alpine@sha256:" + "9" * 64)
    assert isinstance(lost, SkippedImage) and "no tag points at that digest" in lost.reason


def test_findings_gate() -> None:
    none = run("FROM alpine:3.18.4", fixes=())
    assert isinstance(none, SkippedImage) and "no fixable" in none.reason
    some = run("FROM alpine:3.18.4", fixes=("CVE-2024-1",))
    assert isinstance(some, Bump) and some.fixes == ("CVE-2024-1",)
