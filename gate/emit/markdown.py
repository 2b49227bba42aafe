"""Untrusted text (report titles, ids, paths, server messages) made inert for GitHub-flavoured Markdown.

Report text comes from images and pull requests an attacker may control. Rendered raw in a job summary or a PR
comment it could link anywhere, pull an image from a tracking server (`![](https://…)`, `<img>`), notify a team
(`@org/team`), cross-reference issues (`#123`, `org/repo#1`), break a table (`|`, a newline), or restyle the page.
Every such text goes through `text` (plain cells and paragraphs) or `code` (inside a code span): what it says is
kept, readable, and does nothing.

Mentions and references are broken with a zero-width space after `@` and `#`, as Renovate does: GitHub finds them in
rendered text nodes, so escaping the character alone would not stop them. Autolinks are broken the same way at
`://` and `www.`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

_ZWSP = "\u200b"

# One pass, in this order: the backslash first, so the escapes added after it are not escaped again.
_TEXT_ESCAPES = (
    ("\\", "\\\\"),
    ("|", "\\|"),
    ("<", "&lt;"),
    (">", "&gt;"),
    ("[", "\\["),
    ("]", "\\]"),
    ("!", "\\!"),
    ("`", "\\`"),
    ("*", "\\*"),
    ("_", "\\_"),
    ("~", "\\~"),
    ("\r", " "),
    ("\n", " "),
)
_MENTION = re.compile(r"([@#])(?=[\w/.-])")
_AUTOLINK = re.compile(r"(://|www\.)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0/C1 controls (ANSI escapes start with ESC) and bidirectional overrides (Trojan Source): never shown."""


def text(value: str) -> str:
    """`value` as literal Markdown text: safe in a table cell, a list item or a paragraph."""
    value = _CONTROL.sub("", value)
    for char, escaped in _TEXT_ESCAPES:
        if char in value:
            value = value.replace(char, escaped)
    if "@" in value or "#" in value:
        value = _MENTION.sub(rf"\1{_ZWSP}", value)
    if "://" in value or "www." in value.lower():
        value = _AUTOLINK.sub(lambda m: m.group(1)[0] + _ZWSP + m.group(1)[1:], value)
    return value


def code(value: str, *, table: bool = True) -> str:
    """`value` for the inside of a single-backtick code span: no backticks or line breaks (and no bare pipe in a
    table, where GitHub reads `\\|` as a pipe even inside code).

    Inside a code span nothing renders (no links, mentions or HTML), and backslashes are shown as they are, so
    only what would end the span or the table cell is replaced."""
    value = _CONTROL.sub("", value).replace("`", "'").replace("\r", " ").replace("\n", " ")
    return value.replace("|", "\\|") if table else value


ADVISORY_HOSTS = frozenset(
    {
        "avd.aquasec.com",
        "nvd.nist.gov",
        "www.cve.org",
        "cve.mitre.org",
        "github.com",
        "osv.dev",
        "security-tracker.debian.org",
        "ubuntu.com",
        "access.redhat.com",
        "bugzilla.redhat.com",
        "alas.aws.amazon.com",
        "security.alpinelinux.org",
        "www.suse.com",
        "docs.docker.com",
        "kubernetes.io",
    }
)
"""Where a finding's help link may point. A link is the one thing from a report we render as Markdown, so it must
lead to an advisory database or rule documentation, never to an address of the report author's choosing."""


def link(label: str, url: str | None) -> str:
    """`label` linked to `url` when it is an https address on `ADVISORY_HOSTS`, else `label` as plain text."""
    shown = text(label)
    if not url or not url.startswith("https://"):
        return shown
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or host not in ADVISORY_HOSTS:
        return shown
    # Percent-encoding what could end the destination or start a title keeps the URL one token.
    target = quote(url, safe="/:?#[]@!$&'*+,;=%-._~")
    return f"[{shown}]({target.replace('(', '%28').replace(')', '%29').replace(chr(39), '%27')})"
