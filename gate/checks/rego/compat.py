"""Rego that OPA runs and regorus 0.9 does not, respelled before compiling: calls through imports, deprecated
built-ins.

OPA resolves `import data.lib.helpers.is_update` then `is_update(x)`, or `import data.lib.helpers as h` then
`h.name(x)`; regorus 0.9 answers "could not find function" for both, while `data.lib.helpers.is_update(x)` works.
Gatekeeper's library and many Conftest policy sets call their libs this way, so before a module is compiled
every call whose head is a data import's name is rewritten to the import's full path. Strings and comments are
left alone; lines never move, so regorus's line numbers stay the author's (columns after a rewritten call shift).
Rule references through imports (`helpers.allowed`, no call) already work and are not touched.

OPA still accepts the deprecated `re_match` and `net.cidr_overlap` in Rego v0, and Gatekeeper templates (v0 by
definition) use them; they are renamed to the built-ins they were deprecated for, unless the module defines a
function of that name itself; the deprecated `any` and `all` become functions appended to the module. Other
deprecated built-ins (`set_diff`, `cast_*`) are left to fail with regorus's "could not find function", which
names the file and line.

regorus's `sprintf` refuses Go's `%q` verb ("Go-syntax format verbs ... are not supported") that OPA's accepts
and Conftest policies use for names and images (`"image %q is not allowed"`). A `%q` string argument is formatted
as `json.marshal` writes it (a double-quoted string with quotes and backslashes escaped, as Go's `%q` for printable
text) and the rest by regorus's own `sprintf`; a `%q` of a non-string reads as `%s`. Where the format is a
literal, as it nearly always is, the verbs are read here, once: each distinct format gets an appended function
that quotes the arguments at the positions read and calls `sprintf` on the format with `%q` spelled `%s`; a call
whose format has no `%q` keeps the built-in. (`%-20q` and other flags are left to regorus's refusal: its `sprintf`
ignores widths, so they could not be formatted as Go does.)
Only a format computed at run time goes to the general function, which finds the verbs with a regular expression
on every call: three times the evaluation time of a typical policy when every call went through it.

regorus compiles the pattern of `regex.match` on every call, OPA once. A call whose pattern is a literal that
`plain_regex` reads (a literal, a character class anchored at an end, alternatives of those) goes to an appended
function testing the same thing with string built-ins; the pattern stays the call's first argument, and a value
that is not a string goes on to `regex.match` itself, so it fails with the built-in's own message.
"""

from __future__ import annotations

import json
import re

from gate.checks.rego.plain_regex import conditions

_IMPORT = re.compile(
    r"^[ \t]*import[ \t]+data(?P<path>(?:\.[A-Za-z_]\w*)+)(?:[ \t]+as[ \t]+(?P<alias>[A-Za-z_]\w*))?[ \t]*(?:#.*)?$",
    re.M,
)
# Strings and comments match first and come back unchanged; a call head must not follow `.` or a word character,
# so `data.lib.f(` and `x.alias(` keep their meaning.
_TOKEN = re.compile(
    r'"(?:\\.|[^"\\\n])*"|`[^`]*`|#[^\n]*|(?<![\w.])(?P<head>[A-Za-z_]\w*)(?P<tail>(?:\.[A-Za-z_]\w*)*)\('
)


_RENAMED = {"re_match": "regex.match", "net.cidr_overlap": "net.cidr_contains"}
# OPA's deprecated `any`/`all` (true when some/every element of an array or set is `true`; `all` of nothing is
# true), which regorus lacks; Gatekeeper's library still calls them. Each becomes a function appended to the
# module, after its last line so no line moves; `:=` reads the same in Rego v0 and v1.
_SUPPLIED = {
    "any": ("cg_compat_any", "cg_compat_any(c) := count([e | e := c[_]; e == true]) > 0"),
    "all": ("cg_compat_all", "cg_compat_all(c) := count([e | e := c[_]; e != true]) == 0"),
}


# Expressions only (no rule bodies), so they read the same in Rego v0 and v1; `%%` takes no argument.
_QUOTE = "cg_compat_quote(q, a) := {true: {true: json.marshal(a), false: a}[is_string(a)], false: a}[q]"
_VERB = re.compile(r"%[-+# 0-9.]*[a-zA-Z%]")
# A string literal (Rego's double-quoted strings escape as JSON's do; raw strings escape nothing) opening the
# argument list, and the comma after it.
_FORMAT_LITERAL = re.compile(r'[ \t]*(?:"(?P<quoted>(?:\\.|[^"\\\n])*)"|`(?P<raw>[^`]*)`)[ \t]*,')
# The general function, for a format computed at run time: the same verbs found by regorus on every call.
_SPRINTF_Q = (
    "cg_compat_sprintf",
    'cg_compat_sprintf(f, args) := sprintf(replace(f, "%q", "%s"), '
    '[cg_compat_quote(cg_compat_verbs(f)[i] == "%q", a) | a := args[i]])\n'
    f'cg_compat_verbs(f) := [v | v := regex.find_n(`{_VERB.pattern}`, f, -1)[_]; v != "%%"]\n' + _QUOTE,
)


def _defines(source: str, name: str) -> bool:
    # A definition's head is followed by a body or a value; a call on a line of its own is not.
    head = rf"^[ \t]*{re.escape(name)}[ \t]*\([^()\n]*\)[ \t]*(?:\{{|:?=(?!=)|if\b)"
    return re.search(head, source, re.M) is not None


def imported_names(source: str) -> dict[str, str]:
    """The name each `import data...` statement binds, with the full `data.` path it stands for."""
    names: dict[str, str] = {}
    for m in _IMPORT.finditer(source):
        path = "data" + m["path"]
        names[m["alias"] or path.rsplit(".", 1)[1]] = path
    return names


def spell_out_imported_calls(source: str) -> str:
    """`source` with every call through a data import written with the import's full path, and deprecated
    built-ins under their current names."""
    names = imported_names(source)
    renamed = {old: new for old, new in _RENAMED.items() if old in source and not _defines(source, old)}
    renamed |= {old: new for old, (new, _) in _SUPPLIED.items() if old in source and not _defines(source, old)}
    supplies = dict(_SUPPLIED)
    quotes = "%q" in source and "sprintf" in source
    if quotes:
        renamed["sprintf"] = _SPRINTF_Q[0]
        supplies["sprintf"] = _SPRINTF_Q
    regexes = "regex.match" in source or "re_match" in renamed
    if not names and not renamed and not regexes:
        return source
    used: set[str] = set()
    formats: dict[str, tuple[str, str]] = {}
    """(name, definition) of the function made for each literal format with `%q`, and for each pattern read."""
    patterns: dict[str, tuple[str, str]] = {}

    def replace(m: re.Match[str]) -> str:
        head = m["head"]
        if head is None:
            return m[0]
        if head in names:
            return names[head] + m["tail"] + "("
        if quotes and head == "sprintf" and not m["tail"]:
            literal = _format_literal(source, m.end())
            if literal is not None:
                return _literal_sprintf(literal, formats) + "("
        if regexes and renamed.get(head + m["tail"], head + m["tail"]) == "regex.match":
            literal = _format_literal(source, m.end())
            plain = _plain_regex(literal, patterns) if literal is not None else None
            if plain is not None:
                return plain + "("
        new = renamed.get(head + m["tail"])
        if new is None:
            return m[0]
        used.add(head + m["tail"])
        return new + "("

    out = _TOKEN.sub(replace, source)
    supplied = [supplies[name][1] for name in sorted(used) if name in supplies]
    if formats:
        supplied += [definition for _, definition in formats.values()]
        if "sprintf" not in used:  # (the general function brings `cg_compat_quote` along)
            supplied.append(_QUOTE)
    supplied += [definition for _, definition in patterns.values()]
    return out + "".join(f"\n{definition}" for definition in supplied) + ("\n" if supplied else "")


def _format_literal(source: str, at: int) -> str | None:
    """The text of the format string a call's arguments open with at `at`, or None when it is not a literal."""
    m = _FORMAT_LITERAL.match(source, at)
    if m is None:
        return None
    if m["raw"] is not None:
        return m["raw"]
    try:
        text = json.loads(f'"{m["quoted"]}"')
    except ValueError:
        return None  # (an escape JSON lacks: regorus names it when it compiles the call)
    return text if isinstance(text, str) else None


def _literal_sprintf(fmt: str, formats: dict[str, tuple[str, str]]) -> str:
    """The function to call for `sprintf(fmt, ...)`: the built-in when `fmt` has no `%q` verb, else the one made
    for this format (kept in `formats`, by the format it calls `sprintf` with and the positions it quotes)."""
    verbs = [v for v in _VERB.finditer(fmt) if v[0] != "%%"]
    # Only a bare `%q`: regorus's `sprintf` ignores flags and width (`%-8s` gives "8s"), so `%-8q` is left to
    # fail with regorus's own message rather than be formatted wrong.
    quoted = [i for i, v in enumerate(verbs) if v[0] == "%q"]
    if not quoted:
        return "sprintf"
    spelled, last = [], 0
    for i in quoted:
        spelled += [fmt[last : verbs[i].start()], "%s"]
        last = verbs[i].end()
    spelled.append(fmt[last:])
    body = json.dumps("".join(spelled))
    positions = ", ".join(map(str, quoted))
    key = f"{body} {positions}"
    if key not in formats:
        name = f"cg_compat_sprintf_{len(formats) + 1}"
        quote = f"cg_compat_quote(count({{i}} & {{{positions}}}) > 0, a)"
        formats[key] = (name, f"{name}(f, args) := sprintf({body}, [{quote} | a := args[i]])")
    return formats[key][0]


def _plain_regex(pattern: str, patterns: dict[str, tuple[str, str]]) -> str | None:
    """The function to call for `regex.match(pattern, ...)` instead of the built-in (kept in `patterns`), or None
    when `plain_regex` does not read the pattern."""
    if pattern not in patterns:
        branches = conditions(pattern)
        if branches is None:
            return None
        name = f"cg_compat_regex_{len(patterns) + 1}"
        # Comprehension bodies read the same in Rego v0 and v1; each counts 1 when its alternative matches.
        counts = ["count([1 | not is_string(x); regex.match(p, x)])"]
        counts += [f"count([1 | {'; '.join(['is_string(x)', *tests])}])" for tests in branches]
        patterns[pattern] = (name, f"{name}(p, x) := {' + '.join(counts)} > 0")
    return patterns[pattern][0]
