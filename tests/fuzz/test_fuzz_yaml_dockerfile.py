"""Property tests of the YAML loader (config and Rego inputs), the config and the Dockerfile parser: whatever the
text, the answer is a value or one GateError line, never another exception, and quickly."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import GateError

YAML_PIECES = st.sampled_from(
    [
        "a: 1\n",
        "- x\n",
        "&a [1, 2]\n",
        "*a\n",
        "b: &b {c: *b}\n",
        "---\n",
        "...\n",
        ".nan\n",
        "!!binary aGk=\n",
        "!!python/object:os.system x\n",
        "k: [[[[",
        "]]]]\n",
        "  - - -\n",
        "? complex\n: key\n",
        "'unterminated\n",
        "\t tab: x\n",
        "ключ: значение\n",
        "x: 2026-13-45\n",
        "\x00\n",
        "|\n  block\n",
        "%YAML 1.1\n",
        "fail-on: HIGH\n",
        "ignore:\n  - id: CVE-1\n    reason: r\n",
        "budgets: {HIGH: -1}\n",
        "rego: {memory-mib: 1}\n",
    ]
)
TEXTS = st.one_of(st.text(max_size=400), st.lists(YAML_PIECES, max_size=30).map("".join))


@pytest.fixture(autouse=True)
def _bounded() -> Iterator[None]:
    # A hang is a failure too: no example may take more than 20 s.
    def stop(*_: object) -> None:
        raise TimeoutError("an example ran for more than 20 s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@given(TEXTS)
def test_yaml_documents_are_values_or_one_line_errors(text: str) -> None:
    from gate.safe_yaml import load_documents

    try:
        docs = load_documents(text, "x.yaml")
    except GateError as exc:
        assert "\n" not in exc.diagnostics()
    else:
        assert all(line >= 1 for _, line in docs)


@given(TEXTS)
def test_configs_are_settings_or_one_line_errors(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    from gate.config import load_config

    path = Path(tmp_path_factory.mktemp("cfg")) / ".container-gate.yml"
    path.write_bytes(text.encode("utf-8", "replace"))
    try:
        load_config(path)
    except GateError as exc:
        assert "\n" not in exc.diagnostics()


DOCKER_PIECES = st.sampled_from(
    [
        "FROM alpine:3.20\n",
        "FROM ${BASE:-x}\n",
        "ARG BASE=a\n",
        "RUN <<EOF\n",
        "EOF\n",
        "RUN echo \\\n",
        "\\\n",
        "COPY --from=0 / /\n",
        "USER\n",
        "ENV A=1 B\n",
        "# syntax=docker/dockerfile:1\n",
        "ONBUILD ONBUILD RUN x\n",
        "FROM scratch AS a\n",
        "FROM a\n",
        "HEALTHCHECK NONE\n",
        'CMD ["a",\n',
        "\x00\n",
        "   \n",
        "from x as y\n",
    ]
)


@given(st.one_of(st.text(max_size=300), st.lists(DOCKER_PIECES, max_size=40).map("".join)))
def test_dockerfiles_parse_or_fail_with_one_line(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    from gate import dockerfile

    path = Path(tmp_path_factory.mktemp("df")) / "Dockerfile"
    path.write_bytes(text.encode("utf-8", "replace"))
    try:
        dockerfile.parse_file(path)
    except GateError as exc:
        assert "\n" not in exc.diagnostics()
