"""Tests for gate.dockerfile: stages, ARG scoping, directives, spans and errors."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from gate.dockerfile import Dockerfile, expand, parse, parse_file, unquote
from gate.errors import GateError, InputError


def span_text(df: Dockerfile, start: int, end: int) -> str:
    return df.text[start:end]


def assert_from_spans(df: Dockerfile) -> None:
    for st in df.stages:
        f = st.from_
        assert df.text[f.image_span.start : f.image_span.end] == f.image


SPAN_CASES = {
    "lf": "FROM alpine:3.19\nRUN true\n",
    "crlf": "FROM alpine:3.19 AS base\r\nRUN true\r\nFROM base\r\n",
    "tabs": "\tFROM\talpine:3.19\tAS\tbuild\n",
    "lower": "from python:3.12-slim as builder\nfrom builder\n",
    "platform": "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
    "args": "ARG REGISTRY=ghcr.io\nARG TAG=1.2\nFROM ${REGISTRY}/app:${TAG}\n",
    "continuation": "FROM \\\n  --platform=linux/amd64 \\\n  nginx:1.25 \\\n  AS web\n",
    "continuation-crlf": "FROM \\\r\n  # a comment\r\n\r\n  nginx:1.25@sha256:" + "a" * 64 + " \\\r\n  AS web\r\n",
    "escape-backtick": "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\n",
    "leading-comments": "# hello\n\n  # more\nFROM debian:12\n",
}


@pytest.mark.parametrize("name", sorted(SPAN_CASES))
def test_from_image_span_is_byte_exact(name: str) -> None:
    df = parse(SPAN_CASES[name])
    assert_from_spans(df)
    # a rewrite at the span changes only that token
    f = df.stages[0].from_
    rewritten = df.text[: f.image_span.start] + "X" + df.text[f.image_span.end :]
    assert parse(rewritten).stages[0].from_.image == "X"


def test_from_fields() -> None:
    df = parse(SPAN_CASES["platform"])
    f = df.stages[0].from_
    assert (f.image, f.platform, f.alias, f.stage, f.stage_ref) == ("golang:1.22", "$BUILDPLATFORM", "build", 0, None)
    assert f.unresolved == ()  # BUILDPLATFORM is BuildKit's own


def test_lowercase_from_as_and_stage_reference() -> None:
    df = parse(SPAN_CASES["lower"])
    assert [s.name for s in df.stages] == ["builder", None]
    second = df.stages[1].from_
    assert second.stage_ref == 0 and not second.is_external
    assert df.final_stage() is df.stages[1]


def test_stage_reference_is_case_insensitive() -> None:
    df = parse(
        "FROM alpine:3 AS Build\nFROM BUILD\nCOPY --from=build /a /b\nCOPY --from=0 /c /d\nCOPY --from=nginx:1 /e /f\n"
    )
    assert df.stages[1].from_.stage_ref == 0
    copies = [i for i in df.instructions if i.cmd == "copy"]
    assert [s.index if s else None for s in map(df.copy_from_stage, copies)] == [0, 0, None]


def test_scratch_and_external() -> None:
    df = parse("FROM scratch\nFROM Scratch\n")
    assert all(s.from_.is_scratch and not s.from_.is_external for s in df.stages)


ARG_CASES = [
    ('ARG X="a b"\nFROM x\n', "X", "a b", "a b"),
    ("ARG X='a b'\nFROM x\n", "X", "a b", "a b"),
    ("ARG X=plain\r\nFROM x\r\n", "X", "plain", "plain"),
    ("ARG\tX=tab\nFROM x\n", "X", "tab", "tab"),
    ("ARG A=1 X=two\nFROM x\n", "X", "two", "two"),
    ("ARG X=\nFROM x\n", "X", "", ""),
    ("FROM x\nARG X=in-stage\n", "X", "in-stage", "in-stage"),
    ("ARG \\\n  X=3.19\nFROM x\n", "X", "3.19", "3.19"),
]


@pytest.mark.parametrize(("text", "name", "default", "raw"), ARG_CASES)
def test_arg_default_and_span(text: str, name: str, default: str, raw: str) -> None:
    df = parse(text)
    (decl,) = [a for a in df.args if a.name == name]
    assert decl.default == default
    assert decl.default_span is not None
    assert df.text[decl.default_span.start : decl.default_span.end] == raw


def test_arg_without_default_and_scoping() -> None:
    df = parse("ARG BASE=debian:12\nARG UNSET\nFROM $BASE\nARG BASE\nFROM ${UNSET:-alpine:3}\n")
    assert [a.stage for a in df.args] == [-1, -1, 0]
    assert [a.name for a in df.global_args] == ["BASE", "UNSET"]
    assert df.args[1].default is None and df.args[1].default_span is None
    first, second = (s.from_ for s in df.stages)
    assert (first.resolved, first.arg_refs) == ("debian:12", ("BASE",))
    assert (second.resolved, second.unresolved) == ("alpine:3", ("UNSET",))


def test_stage_args_are_not_seen_by_from() -> None:
    df = parse("FROM alpine:3\nARG TAG=9\nFROM nginx:${TAG}\n")
    assert df.stages[1].from_.resolved == "nginx:"
    assert df.stages[1].from_.unresolved == ("TAG",)


@pytest.mark.parametrize(
    ("word", "values", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("$A/b", {"A": "x"}, "x/b"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A:-d}", {}, "d"),
        ("${A:+yes}", {"A": "x"}, "yes"),
        ("${A:+yes}", {}, ""),
        ("${A+yes}", {"A": ""}, "yes"),
        ("${A:-${B}}", {"B": "b"}, "b"),
        ("pre${MISSING}post", {}, "prepost"),
    ],
)
def test_expand(word: str, values: dict[str, str], expected: str) -> None:
    assert expand(word, values)[0] == expected


def test_unquote() -> None:
    assert unquote('"a b"') == "a b"
    assert unquote("'a $b'") == "a $b"
    assert unquote("a\\ b") == "a b"
    assert unquote('"a\\"b"') == 'a"b'
    assert unquote('a`"b', escape="`") == 'a"b'


def test_env_at_follows_stages_and_order() -> None:
    text = (
        "ARG VERSION=1.0\n"
        "FROM alpine:3 AS base\n"
        'ENV HOME_DIR=/srv APP="my app"\n'
        "ARG VERSION\n"
        "ARG LOCAL=x\n"
        "ENV FULL=${HOME_DIR}/v$VERSION\n"
        "RUN true\n"
        "FROM base\n"
        "RUN true\n"
    )
    df = parse(text)
    run1, run2 = (i for i in df.instructions if i.cmd == "run")
    assert df.env_at(run1) == {"HOME_DIR": "/srv", "APP": "my app", "VERSION": "1.0", "LOCAL": "x", "FULL": "/srv/v1.0"}
    # ENV is inherited through FROM <stage>; ARGs are not
    assert df.env_at(run2) == {"HOME_DIR": "/srv", "APP": "my app", "FULL": "/srv/v1.0"}
    first_env = next(i for i in df.instructions if i.cmd == "env")
    assert df.env_at(first_env) == {}


def test_directives_only_at_top() -> None:
    df = parse("# syntax=docker/dockerfile:1.7\n# Escape = `\nFROM a\n")
    assert df.directives == {"syntax": "docker/dockerfile:1.7", "escape": "`"}
    df = parse("# a comment\n# syntax=docker/dockerfile:1\nFROM a\n")
    assert df.directives == {}
    df = parse("FROM a\n# syntax=x\n")
    assert df.directives == {}


def test_duplicate_directive_is_an_error() -> None:
    with pytest.raises(InputError, match="only one syntax"):
        parse("# syntax=a\n# syntax=b\nFROM a\n", "df")


def test_instruction_fields() -> None:
    df = parse(
        'FROM a\nRUN ["echo", "x"]\nONBUILD RUN make\nRUN <<EOF\necho hi\nEOF\nRUN --mount=type=cache,target=/x'
        " --mount=type=secret,id=t true\n"
    )
    js, onbuild, heredoc, mounts = df.instructions[1:]
    assert js.json and js.value == ("echo", "x")
    assert (onbuild.cmd, onbuild.sub_cmd) == ("onbuild", "run")
    assert heredoc.heredocs == ("echo hi\n",) and (heredoc.start_line, heredoc.end_line) == (4, 6)
    assert mounts.flag_values("mount") == ("type=cache,target=/x", "type=secret,id=t")
    assert all(i.stage == 0 for i in df.instructions)


def test_from_ignore_comment() -> None:
    df = parse("# container-gate: ignore\nFROM a:1\n# container-gate ignore=CG-DF-002 x\nFROM b:1\nFROM c:1\n")
    assert [s.from_.ignored for s in df.stages] == [True, False, False]


def test_line_text_handles_crlf() -> None:
    df = parse("FROM a\r\nRUN b\r\n")
    assert df.line_text(2) == "RUN b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no instructions"),
        ("# only a comment\n", "no instructions"),
        ("RUN echo\n", "line 1: RUN before the first FROM"),
        ("FROM a\nFROOM b\n", "line 2: unknown instruction: FROOM"),
        ("FROM a\nRUN x\nENV X\n", "line 3: ENV must have two arguments"),
        ("FROM\n", "line 1: FROM requires an image"),
        ("FROM a b c d\n", "line 1"),
        ("FROM a bs c\n", "line 1: FROM expects"),
        ("FROM a\nRUN <<EOF\nabc\n", "line 2: unterminated heredoc"),
        ("ARG =x\nFROM a\n", "line 1: ARG without a name"),
        ("# escape=x\nFROM a\n", "invalid escape"),
        ("FROM a\n\x00\n", "NUL"),
    ],
)
def test_errors_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        parse(text, "sub/Dockerfile")
    assert info.value.path == "sub/Dockerfile"
    assert message in info.value.diagnostics()


def test_parse_file_keeps_crlf_and_reports_unreadable(tmp_path: Path) -> None:
    p = tmp_path / "Dockerfile"
    p.write_bytes(b"ARG T=1\r\nFROM a:${T}\r\n")
    df = parse_file(p, "Dockerfile")
    assert df.text.count("\r\n") == 2 and df.stages[0].from_.resolved == "a:1"
    p.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="cannot read"):
        parse_file(p)
    with pytest.raises(InputError, match="cannot read"):
        parse_file(tmp_path / "missing")


def _mutations(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    base = [
        "FROM alpine:3.19 AS b\n",
        'ARG X="a b"\n',
        "RUN apt-get update && apt-get install -y curl\n",
        "COPY --from=b /a /b\n",
        "ENV A=1 B=2\n",
        "RUN <<EOF\necho\nEOF\n",
        "USER 1000\n",
        "# escape=`\n",
        'CMD ["x"]\n',
    ]
    alphabet = "FROMRUN ${}:-\\`\"'=\n\r\t#<>[],@/ax0"
    out = []
    for _ in range(count):
        text = base[0] + "".join(rng.choice(base) for _ in range(rng.randint(0, 6)))
        chars = list(text)
        for _ in range(rng.randint(0, 5)):
            pos = rng.randint(0, len(chars))
            if chars and rng.random() < 0.5:
                del chars[min(pos, len(chars) - 1)]
            else:
                chars.insert(pos, rng.choice(alphabet))
        out.append("".join(chars))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_garbage_only_raises_input_error(seed: int) -> None:
    parsed = 0
    for text in _mutations(seed, 100):
        try:
            df = parse(text, "fuzz")
        except GateError as exc:
            assert isinstance(exc, InputError) and exc.path == "fuzz"
            continue
        parsed += 1
        # every parse that succeeds still gives spans that point at the tokens
        assert_from_spans(df)
        for a in df.args:
            assert a.default is None or a.default_span is not None
    assert parsed > 0


def test_onbuild_keeps_the_wrapped_instructions_kind_and_flags() -> None:
    df = parse("FROM x\nONBUILD COPY --from=b --chown=1 . .\nONBUILD RUN --mount=type=cache,target=/c make\n")
    copy, run = df.instructions[1:]
    assert (copy.cmd, copy.kind, copy.flag("from"), copy.value) == ("onbuild", "copy", "b", (".", "."))
    assert (run.kind, run.flag_values("mount")) == ("run", ("type=cache,target=/c",))
