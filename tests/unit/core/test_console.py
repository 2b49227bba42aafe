"""One log writer: untrusted text cannot start a line, hide our commands or escape a mask (issue 13, 1)."""

from __future__ import annotations

import io

import pytest

from gate.console import Console, clean, command, escape_property

EVIL = "evil\n::stop-commands::pwn\n::warning::injected"


def test_clean_keeps_untrusted_text_on_one_line() -> None:
    assert clean(EVIL) == "evil ⏎ ::stop-commands::pwn ⏎ ::warning::injected"
    assert clean("a\r\nb\rc\u2028d") == "a ⏎ b ⏎ c ⏎ d"
    assert clean("\x1b[31mred\x1b[0m \u202etxt.exe\x07") == "[31mred[0m txt.exe"


def test_no_printed_line_starts_a_command_unless_we_made_it() -> None:
    out = io.StringIO()
    console = Console(out, actions=True)
    console.mask(["s3cr3t"])
    console.line(f"  HIGH CVE-1 at x: {clean(EVIL)}")
    console.line(clean("::error::from a file name at the start"))
    console.line(clean("##[warning]legacy form"))
    console.command("warning", "ours\n::error::not ours", [("title", "a:b,c")])

    lines = out.getvalue().splitlines()
    commands = [line for line in lines if line.startswith(("::", "##["))]
    assert commands == ["::add-mask::s3cr3t", "::warning title=a%3Ab%2Cc::ours%0A::error::not ours"]
    assert lines[1] == "  HIGH CVE-1 at x: evil ⏎ ::stop-commands::pwn ⏎ ::warning::injected"
    assert lines[2] == " ::error::from a file name at the start"


def test_masks_come_first_or_not_at_all() -> None:
    console = Console(io.StringIO(), actions=True)
    console.line("hello")
    with pytest.raises(RuntimeError):
        console.mask(["late"])


def test_multi_line_secrets_are_masked_line_by_line() -> None:
    out = io.StringIO()
    Console(out, actions=True).mask(["line one\nline two"])
    assert out.getvalue().splitlines() == [
        "::add-mask::line one",
        "::add-mask::line one%0Aline two",
        "::add-mask::line two",
    ]


def test_outside_actions_nothing_is_a_command() -> None:
    out = io.StringIO()
    console = Console(out, actions=False)
    console.mask(["s"])
    console.command("warning", "upload skipped\n::x::")
    console.line("::looks like one")
    assert out.getvalue() == "upload skipped ⏎ ::x::\n::looks like one\n"


def test_command_names_and_properties_are_ours() -> None:
    with pytest.raises(ValueError):
        command("error file=x", "m")
    assert escape_property("50%\n,:") == "50%25%0A%2C%3A"
    assert command("notice", "\x1b[2Jcleared") == "::notice::[2Jcleared"
