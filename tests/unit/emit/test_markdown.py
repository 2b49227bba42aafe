"""Report text is inert in Markdown: no links, images, HTML, mentions, references or broken tables (issue 13, 1)."""

from __future__ import annotations

import pytest

from gate.emit.markdown import code, text

ZWSP = "\u200b"


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("see [here](https://evil.example/x)", "see \\[here\\](https:" + ZWSP + "//evil.example/x)"),
        ("![pixel](https://tracker.example/p.png)", "\\!\\[pixel\\](https:" + ZWSP + "//tracker.example/p.png)"),
        ('<img src="https://t.example/p.png">', '&lt;img src="https:' + ZWSP + '//t.example/p.png"&gt;'),
        ("ping @org/security-team now", f"ping @{ZWSP}org/security-team now"),
        ("fixes #123 and org/repo#7", f"fixes #{ZWSP}123 and org/repo#{ZWSP}7"),
        ("a | b\nc", "a \\| b c"),
        ("**bold** _it_ `code` ~~s~~", "\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~"),
        ("visit www.evil.example", f"visit w{ZWSP}ww.evil.example"),
        ("\x1b[31mred\x1b[0m \u202eevil", "[31mred[0m evil".replace("[", "\\[")),
        ("CVE-2024-1234 in openssl 3.0.1", "CVE-2024-1234 in openssl 3.0.1"),
    ],
)
def test_text_keeps_the_words_and_drops_the_effects(raw: str, rendered: str) -> None:
    assert text(raw) == rendered


def test_code_spans_only_lose_what_would_end_them() -> None:
    assert code("a`b|c\nd @team #1 [x](y)") == "a'b\\|c d @team #1 [x](y)"
    assert code("a|b", table=False) == "a|b"
    assert code("\x1b]8;;https://evil\x07x") == "]8;;https://evilx"
