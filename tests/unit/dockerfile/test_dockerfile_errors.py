"""Syntax errors name the right line with a handful of parses, whatever the file's length (issue: 21 s and 600 MB
for a 2,000-line file with an unterminated heredoc at the end, one re-parse per line)."""

from __future__ import annotations

from collections.abc import Iterator

import dockerfile as bk
import pytest

from gate.dockerfile import parse
from gate.errors import InputError

BODY = "".join(f"RUN echo {i}\n" for i in range(10_000))


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Counts BuildKit parses (what made the old locator quadratic)."""
    calls: list[int] = []
    real = bk.parse_string

    def counting(text: str) -> object:
        calls.append(len(text))
        return real(text)

    monkeypatch.setattr(bk, "parse_string", counting)
    yield calls


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FROM a\n" + BODY + "RUN <<EOF\nabc\n", 10_002),
        # A terminated heredoc earlier does not count; the one that never closes does.
        ("FROM a\nRUN <<EOF\necho\nEOF\n" + BODY + "RUN <<EOT\nabc\n", 10_005),
        # `<<` inside the open heredoc's body is text, not another heredoc.
        ("FROM a\nRUN <<EOF\n" + "cat <<X\n" * 10_000, 2),
        # Two heredocs on one line: the second never closes.
        ("FROM a\nCOPY <<-EOF /x\n\tabc\n\tEOF\nRUN <<'A' <<B\na\nA\nb\n", 5),
    ],
)
def test_unterminated_heredoc_is_named_at_its_line_in_a_few_parses(text: str, line: int, parses: list[int]) -> None:
    with pytest.raises(InputError) as caught:
        parse(text)

    assert f"line {line}: unterminated heredoc" in str(caught.value)
    assert len(parses) <= 4, len(parses)


def test_an_over_long_line_is_named_without_reparsing(parses: list[int]) -> None:
    with pytest.raises(InputError, match="line 10002: dockerfile line greater than max allowed size"):
        parse("FROM a\n" + BODY + "RUN " + "x" * 70_000 + "\n")
    assert len(parses) == 1


def test_a_valid_long_file_is_one_parse(parses: list[int]) -> None:
    df = parse("FROM alpine:3.20\nARG V=1\nENV A=${V}\n" + BODY)
    assert len(df.instructions) == 10_003 and len(parses) == 1
    assert df.env_at(df.instructions[-1]) == {"A": "1", "V": "1"}


def test_env_at_is_what_each_instruction_sees_on_a_long_stage() -> None:
    lines = ["FROM a AS base", "ARG V=1"]
    for i in range(3_000):
        lines += [f"ENV X=${{V}}{i}", f"RUN echo {i}"]
    lines += ["FROM base", "RUN echo child"]
    df = parse("\n".join(lines) + "\n")
    runs = [ins for ins in df.instructions if ins.cmd == "run"]

    assert df.env_at(runs[0]) == {"V": "1", "X": "10"}
    assert df.env_at(runs[2_999]) == {"V": "1", "X": "12999"}
    # ENV passes to the child stage, the parent's ARG does not.
    assert df.env_at(runs[-1]) == {"X": "12999"}
