"""Byte-exact rewrites: only the tag/digest text (on the FROM line or in the ARG feeding it) changes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gate.dockerfile import parse
from remediate.discover import base_images
from remediate.imageref import parse as parse_ref
from remediate.model import BaseImageUse, Bump
from remediate.plan import new_reference
from remediate.rewrite import RewriteError, apply, edits_for

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def rewrite(text: str, line: int, tag: str | None, digest: str | None = None) -> str:
    uses, _ = base_images(parse(text))
    use = next(u for u in uses if u.line == line)
    bump = Bump(use=use, new=use.ref.with_version(tag, digest), why="test")
    edits = edits_for(use.segments, use.resolved, new_reference(bump), use.token_end, use.line)
    return apply(text, edits)


def changed_lines(before: str, after: str) -> list[int]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b), "line structure must not change"
    return [i + 1 for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def test_only_the_tag_changes_with_flags_alias_comment_and_crlf() -> None:
    text = "# top\r\nFROM --platform=linux/amd64   python:3.12.1-slim-bookworm  AS Build\r\nRUN echo hi\r\n"
    out = rewrite(text, 2, "3.13.0-slim-bookworm")
    assert out == text.replace("3.12.1-slim-bookworm", "3.13.0-slim-bookworm")
    assert changed_lines(text, out) == [2]


def test_lowercase_from_as_and_tabs() -> None:
    text = "from\tnode:20.11.1 as base\nfrom base as final\n"
    assert rewrite(text, 1, "20.12.2") == "from\tnode:20.12.2 as base\nfrom base as final\n"


def test_arg_default_holds_the_whole_reference() -> None:
    text = 'ARG BASE="node:20.11.1-alpine"\nFROM $BASE\n'
    assert rewrite(text, 2, "20.12.2-alpine") == 'ARG BASE="node:20.12.2-alpine"\nFROM $BASE\n'


def test_arg_holds_only_the_version_part() -> None:
    text = "ARG NODE_VERSION=20.11.1\nFROM node:${NODE_VERSION}-alpine\n"
    out = rewrite(text, 2, "20.12.2-alpine")
    assert out == "ARG NODE_VERSION=20.12.2\nFROM node:${NODE_VERSION}-alpine\n"


def test_two_args_only_the_changed_one_is_edited() -> None:
    text = "ARG A=3.12\nARG P=3.8.5\nFROM python:${P}-alpine${A}\n"
    assert rewrite(text, 3, "3.8.16-alpine3.12") == "ARG A=3.12\nARG P=3.8.16\nFROM python:${P}-alpine${A}\n"


def test_default_word_in_the_from_token() -> None:
    text = "FROM ${BASE_IMAGE:-python:3.11-slim}\n"
    assert rewrite(text, 1, "3.12-slim") == "FROM ${BASE_IMAGE:-python:3.12-slim}\n"


def test_registry_from_arg_and_digest_on_the_from_line() -> None:
    text = f"ARG REGISTRY=docker.io\nFROM ${{REGISTRY}}/ubuntu:22.04@{D1}\n"
    out = rewrite(text, 2, "22.04", D2)
    assert out == f"ARG REGISTRY=docker.io\nFROM ${{REGISTRY}}/ubuntu:22.04@{D2}\n"


def test_tag_and_digest_together_and_digest_only() -> None:
    assert rewrite(f"FROM node:20.11.1@{D1}\n", 1, "20.12.2", D2) == f"FROM node:20.12.2@{D2}\n"
    assert rewrite(f"FROM gcr.io/distroless/java17@{D1} AS x\n", 1, None, D2) == (
        f"FROM gcr.io/distroless/java17@{D2} AS x\n"
    )


def test_pin_adds_digest_and_unpin_removes_it() -> None:
    assert rewrite("FROM redis:7.2.4 AS r\n", 1, "7.2.4", D1) == f"FROM redis:7.2.4@{D1} AS r\n"
    assert rewrite(f"FROM redis:7.2.4@{D1}\n", 1, "7.2.5") == "FROM redis:7.2.5\n"
    assert rewrite("ARG B=redis:7.2.4\nFROM $B\n", 2, "7.2.4", D1) == f"ARG B=redis:7.2.4@{D1}\nFROM $B\n"
    assert rewrite("ARG T=7.2.4\nFROM redis:$T\n", 2, "7.2.4", D1) == f"ARG T=7.2.4\nFROM redis:$T@{D1}\n"


def test_number_widening_edits_whole_numbers() -> None:
    assert rewrite("ARG V=1.9\nFROM golang:${V}\n", 2, "1.10") == "ARG V=1.10\nFROM golang:${V}\n"
    assert rewrite("ARG V=2\nFROM x/y:${V}-a\n", 2, "12-a") == "ARG V=12\nFROM x/y:${V}-a\n"


def test_registry_with_port_and_localhost_keep_their_spelling() -> None:
    text = "FROM localhost:5000/app:1.0.0\nFROM registry2.something.info:5005/node:8\n"
    out = rewrite(text, 1, "1.0.1")
    assert out == "FROM localhost:5000/app:1.0.1\nFROM registry2.something.info:5005/node:8\n"


def test_continuation_lines_keep_layout() -> None:
    text = "FROM \\\n  --platform=linux/arm64 \\\n  python:3.12-slim \\\n  AS app\n"
    out = rewrite(text, 1, "3.13-slim")
    assert out == text.replace("3.12-slim", "3.13-slim") and changed_lines(text, out) == [3]


def test_change_spanning_two_args_edits_each_its_share() -> None:
    text = "ARG MAJ=3\nARG MIN=18\nFROM alpine:${MAJ}.${MIN}-slim\n"
    assert rewrite(text, 3, "4.0-slim") == "ARG MAJ=4\nARG MIN=0\nFROM alpine:${MAJ}.${MIN}-slim\n"
    assert rewrite(text, 3, "3.19-slim") == "ARG MAJ=3\nARG MIN=19\nFROM alpine:${MAJ}.${MIN}-slim\n"


def test_changes_that_do_not_fit_the_args_are_refused() -> None:
    glued = "ARG A=1\nARG B=2\nFROM x/y:${A}${B}\n"
    with pytest.raises(RewriteError, match="spans several parts"):
        rewrite(glued, 3, "13")
    literal = "ARG MAJ=3\nFROM alpine:${MAJ}.18-slim\n"
    with pytest.raises(RewriteError, match="spans several parts"):
        rewrite(literal, 2, "4.0-alpine")


def test_conflicting_edits_are_refused() -> None:
    text = "ARG V=1.0\nFROM a:${V}\nFROM b:${V}\n"
    uses, _ = base_images(parse(text))
    first = edits_for(uses[0].segments, uses[0].resolved, "a:1.1", uses[0].token_end, 2)
    second = edits_for(uses[1].segments, uses[1].resolved, "b:1.2", uses[1].token_end, 3)
    same = edits_for(uses[1].segments, uses[1].resolved, "b:1.1", uses[1].token_end, 3)
    assert apply(text, [*first, *same]) == "ARG V=1.1\nFROM a:${V}\nFROM b:${V}\n"
    with pytest.raises(RewriteError, match="conflicting"):
        apply(text, [*first, *second])


def test_name_change_is_refused() -> None:
    uses, _ = base_images(parse("FROM alpine:3.18\n"))
    use: BaseImageUse = uses[0]
    with pytest.raises(RewriteError, match="name would change"):
        edits_for(use.segments, use.resolved, "busybox:1", use.token_end, 1)
    assert replace(use, ref=parse_ref("alpine:3.19")).ref.tag == "3.19"


def test_bom_crlf_and_arg_in_one_file() -> None:
    text = "\ufeff# syntax=docker/dockerfile:1\r\nARG TAG=3.19.4\r\nFROM alpine:${TAG} AS a\r\n"
    out = rewrite(text, 3, "3.20.3")
    assert out == text.replace("TAG=3.19.4", "TAG=3.20.3") and out.startswith("\ufeff")
    assert changed_lines(text, out) == [2]
