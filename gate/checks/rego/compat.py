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

regorus's `sprintf` also stops the whole evaluation when the array holds fewer or more arguments than the format
has verbs, where OPA's prints Go's `%!s(MISSING)` and `%!(EXTRA string=x)` into the message: a call whose format
and arguments are written in it gets that text spelled into the format and an appended function for the extras.

regorus compiles the pattern of `regex.match` on every call, OPA once. A call whose pattern is a literal that
`plain_regex` reads (a literal, a character class anchored at an end, alternatives of those) goes to an appended
function testing the same thing with string built-ins; the pattern stays the call's first argument, and a value
that is not a string goes on to `regex.match` itself, so it fails with the built-in's own message.

A call indexed in place by a literal (`split(image, "/")[0]`) goes through an appended function that indexes its
argument (`_AT`): regorus's path for the indexed call costs some ten times the call itself.

Two regorus answers that differ from OPA's are respelled here too: a `not` inside `every` (see `negation`) and
`[path, value] := walk(x)`, written as the relation `walk(x, [path, value])`. With `lenient` (the files whose
evaluation stopped at a built-in's error, see `spell_out_imported_calls`), typed built-in calls are guarded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from gate.checks.rego import negation, shapes
from gate.checks.rego.builtin_args import ARGS
from gate.checks.rego.builtin_values import VALUES
from gate.checks.rego.plain_regex import conditions

_IMPORT = re.compile(
    r"^[ \t]*import[ \t]+data(?P<path>(?:\.[A-Za-z_]\w*)+)(?:[ \t]+as[ \t]+(?P<alias>[A-Za-z_]\w*))?[ \t]*(?:#.*)?$",
    re.M,
)
# Strings and comments match first and come back unchanged; a call head must not follow `.` or a word character,
# so `data.lib.f(` and `x.alias(` keep their meaning.
_TOKEN = re.compile(
    r'"(?:\\.|[^"\\\n])*"|`[^`]*`|#[^\n]*'
    # `some x in ref` (lenient mode wraps the ref)
    r"|(?<![\w.])(?P<some>some[ \t]+[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)?[ \t]+in[ \t]+)"
    r"(?P<ref>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]\n]*\])*)(?![\w.(\[])"
    # `some x in f(...)` (lenient mode wraps the call's value)
    r"|(?<![\w.])(?P<somecall>some[ \t]+[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)?[ \t]+in[ \t]+)"
    r"(?=[A-Za-z_][\w.]*\()"
    r"|(?<![\w.])(?P<every>every)(?=[ \t])"
    r"|(?<![\w.])(?P<neg>not)(?=[ \t])"
    r"|(?<![\w.])(?P<head>[A-Za-z_]\w*)(?P<tail>(?:\.[A-Za-z_]\w*)*)\("
)


_RENAMED = {"re_match": "regex.match", "net.cidr_overlap": "net.cidr_contains"}
# OPA's deprecated `any`/`all` (true when some/every element of an array or set is `true`; `all` of nothing is
# true), which regorus lacks; Gatekeeper's library still calls them. Each becomes a function appended to the
# module, after its last line so no line moves; `:=` reads the same in Rego v0 and v1.
_SUPPLIED = {
    "any": ("cg_compat_any", "cg_compat_any(c) := count([e | e := c[_]; e == true]) > 0"),
    "all": ("cg_compat_all", "cg_compat_all(c) := count([e | e := c[_]; e != true]) == 0"),
    # CIDR blocks are nested or apart: two meet exactly when one holds the other.
    "net.cidr_intersects": (
        "cg_compat_cidr_intersects",
        "cg_compat_cidr_intersects(a, b) := "
        "count([1 | net.cidr_contains(a, b)]) + count([1 | net.cidr_contains(b, a)]) > 0",
    ),
    # OPA's semver reads `v1.2.3` and answers false for a value that is not text; regorus refuses both.
    "semver.is_valid": (
        "cg_compat_semver_is_valid",
        'cg_compat_semver_is_valid(v) := count([1 | is_string(v); semver.is_valid(trim_prefix(v, "v"))]) > 0',
    ),
}

# Rego v0's deprecated built-ins that regorus lacks (OPA refuses them in v1 modules): each is undefined for a value
# of another kind, as OPA's error is outside strict mode.
_SUPPLIED_V0 = {
    "cast_array": (
        "cg_compat_cast_array",
        # (The comprehension in the body: regorus cannot schedule one in a function's head.)
        "cg_compat_cast_array(x) = x { is_array(x) } else = y { is_set(x); y := [e | e := x[_]] }",
    ),
    "cast_set": (
        "cg_compat_cast_set",
        "cg_compat_cast_set(x) = x { is_set(x) } else = y { is_array(x); y := {e | e := x[_]} }",
    ),
    "cast_string": ("cg_compat_cast_string", "cg_compat_cast_string(x) = x { is_string(x) }"),
    "cast_boolean": ("cg_compat_cast_boolean", "cg_compat_cast_boolean(x) = x { is_boolean(x) }"),
    "cast_null": ("cg_compat_cast_null", "cg_compat_cast_null(x) = x { is_null(x) }"),
    "cast_object": ("cg_compat_cast_object", "cg_compat_cast_object(x) = x { is_object(x) }"),
    "set_diff": ("cg_compat_set_diff", "cg_compat_set_diff(a, b) = a - b { is_set(a); is_set(b) }"),
}


# A rule body in each version's syntax: regorus evaluates the expression-only spelling (an object literal picked
# from by `is_string`) twenty times slower (~90 µs a call). `%%` takes no argument.
# (OPA hands Go anything but a string or number as its Rego text, so `%q` of null is `"null"`.)
_QUOTE = (
    "cg_compat_quote(q, a) {a} json.marshal(a) {i}{{ q; is_string(a) }} "
    'else {a} json.marshal(sprintf("%v", [a])) {i}{{ q; not is_number(a) }} else {a} a',
)
# Go's `%!(EXTRA type=value, ...)` for arguments no verb takes, with the types OPA's `sprintf` hands Go: a string,
# an int64 or float64 (a `*big.Int` past int64), and anything else as its Rego text.
_EXTRA_BODY = (
    ("string=", "x", "is_string(x)"),
    ("int64=", "format_int(x, 10)", "is_number(x); round(x) == x; abs(x) < 9223372036854775808"),
    ("float64=", 'sprintf("%v", [x])', "is_number(x); round(x) != x"),
    ("*big.Int=", 'sprintf("%v", [x])', "is_number(x)"),
)
_EXTRA_ANY = ("string=", 'sprintf("%v", [x])')
_EXTRA_ALL = 'cg_compat_extra(a) {} concat("", ["%!(EXTRA ", concat(", ", [cg_compat_extra_one(x) | x := a[_]]), ")"])'
_EXTRA_V1 = (
    _EXTRA_ALL.format(":="),
    "cg_compat_extra_one(x) := "
    + " else := ".join(f'concat("", ["{t}", {v}]) if {{ {c} }}' for t, v, c in _EXTRA_BODY)
    + ' else := concat("", ["{}", {}])'.format(*_EXTRA_ANY),
)
_EXTRA_V0 = (
    _EXTRA_ALL.format("="),
    "cg_compat_extra_one(x) = "
    + " else = ".join(f'concat("", ["{t}", {v}]) {{ {c} }}' for t, v, c in _EXTRA_BODY)
    + ' else = concat("", ["{}", {}])'.format(*_EXTRA_ANY),
)
# `[path, value] := walk(x)` is OPA's spelling of the relation `walk(x, [path, value])`; regorus finds no
# solution for the first (a rule walking the input for a value never fires), so a statement of that form on its
# own line is respelled as the second.
_WALK = re.compile(
    r"^(?P<indent>[ \t]*)(?P<lhs>\[[^\[\]\n]*\]|[A-Za-z_]\w*)[ \t]*:?=[ \t]*walk\((?P<arg>[^()\n]*)\)"
    r"(?P<rest>[ \t]*(?:#[^\n]*)?)$",
    re.M,
)
# `some x in c` over something that is not a collection: OPA finds no `x`, regorus stops with an error.
_LENIENT_IN_V1 = 'cg_lenient_in(c) := c if { {"array", "object", "set"}[type_name(c)] } else := []'
_LENIENT_IN_V0 = 'cg_lenient_in(c) = c { {"array", "object", "set"}[type_name(c)] } else = []'
_VERB = re.compile(r"%[-+# 0-9.]*[a-zA-Z%]")
# A string literal (Rego's double-quoted strings escape as JSON's do; raw strings escape nothing) opening the
# argument list, and the comma after it.
_FORMAT_LITERAL = re.compile(r'(?P<lead>[ \t\r\n]*)(?:"(?P<quoted>(?:\\.|[^"\\\n])*)"|`(?P<raw>[^`]*)`)[ \t]*,')
# The general function, for a format computed at run time: the same verbs found by regorus on every call.
_SPRINTF_Q = (
    "cg_compat_sprintf",
    'cg_compat_sprintf(f, args) := sprintf(replace(f, "%q", "%s"), '
    '[cg_compat_quote(cg_compat_verbs(f)[i] == "%q", a) | a := args[i]])\n'
    f'cg_compat_verbs(f) := [v | v := regex.find_n(`{_VERB.pattern}`, f, -1)[_]; v != "%%"]',
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


def spell_out_imported_calls(
    source: str, *, v0: bool = False, lenient: bool = False, text_verbs: bool = False, tag: str = ""
) -> str:
    """`source` with every call through a data import written with the import's full path, and deprecated
    built-ins under their current names; `v0`: the module is read as Rego v0 (the syntax of what is appended).

    `lenient`: every call of a built-in with typed arguments (`builtin_args`) goes through a function that is
    undefined when an argument's type is not one the built-in takes (or its value one it cannot read), so does
    every arithmetic operation (`arithmetic`), and `some x in ref` iterates nothing when
    `ref` is not a collection, as OPA's evaluation (not in strict mode, as Conftest runs it) answers a built-in's
    error; regorus stops the whole evaluation with the error instead.

    `text_verbs` (not with `lenient`): a `%s` or `%q` argument of a literal format is taken as text, and one that
    is not text stops the evaluation (`_AS_TEXT`), for a caller that then evaluates the same input again with
    the functions that write any value as Go does (`_TYPED_VERBS`, `cg_compat_quote`): those cost a call each.

    `tag`: appended to the name of every function defined here for the module's calls (see `_HELPER`)."""
    text_verbs = text_verbs and not lenient
    if "rego.metadata.rule()" in source:
        from gate.checks.rego import metadata

        source = metadata.respell(source, v0=v0)
    source = shapes.spell_out_imported_refs(source, imported_names(source))
    source = shapes.give_bodies(source, v0=v0)
    arithmetic_used: set[str] = set()
    if lenient:
        from gate.checks.rego import arithmetic

        source, arithmetic_used = arithmetic.guard(source, v0=v0)
    renamed = {old: new for old, new in _RENAMED.items() if old in source and not _defines(source, old)}
    supplies = {**_SUPPLIED, **_SUPPLIED_V0} if v0 else dict(_SUPPLIED)
    renamed |= {old: new for old, (new, _) in supplies.items() if old in source and not _defines(source, old)}
    quotes = "%q" in source and "sprintf" in source
    if quotes:
        renamed["sprintf"] = _SPRINTF_Q[0]
        supplies["sprintf"] = _SPRINTF_Q
    regexes = ("regex.match" in source or "re_match" in renamed) and not lenient
    sprintfs = "sprintf" in source
    everys = "every" in source or "walk(" in source or "not" in source
    indexes = ")[" in source
    if not renamed and not regexes and not lenient and not sprintfs and not everys and not indexes:
        return source
    used: set[str] = set()
    formats: dict[str, tuple[str, str]] = {}
    """(name, definition) of the function made for each literal format with `%q`, and for each pattern read."""
    patterns: dict[str, tuple[str, str]] = {}
    guarded: dict[str, str] = {}
    """Per built-in, the definition of its lenient function."""
    needs: set[str] = set()
    """What the calls respelled in place use: `quote` (`cg_compat_quote`), `extra` (`cg_compat_extra`)."""
    iterates = False
    locals_made = 0

    def local() -> str:
        """A new local for a term moved out of a `not` (no policy names its own with our prefix)."""
        nonlocal locals_made
        locals_made += 1
        return f"cg_not_{locals_made}"

    indexed_at_start = False
    """The call at the start of the text being rewritten is the inside of an `_AT` respelling: not again."""

    def replace(m: re.Match[str], text: str) -> tuple[str, int]:
        """What `m` (a token of `text`) becomes, and where in `text` the scan goes on."""
        nonlocal iterates, indexed_at_start
        if m["every"] is not None:
            span = negation.every_body(text, m.start())
            if span is None:
                return m[0], m.end()
            opened, closed = span
            head = rewrite(text[m.end() : opened + 1])
            return m[0] + head + negation.count_negations(rewrite(text[opened + 1 : closed])) + "}", closed + 1
        if m["neg"] is not None:
            code, trail, end = negation.negated(text, m.start())
            spans = negation.guard_spans(code)
            terms = [code[start:stop] for start, stop in spans]
            if not terms or any("\n" in term for term in terms):
                return m[0], m.end()
            keyword = text[m.start() : end - len(trail) - len(code)]
            if negation.modified(code):
                # (Under `with`, the term is guarded where it stands: bound outside, it would lose the modifier.)
                bindings = "".join(f"_ = {rewrite(term)}; " for term in terms)
            else:
                pairs, code = negation.bind(code, spans, local)
                bindings = "".join(f"{name} := {rewrite(term)}; " for name, term in pairs)
            statement = f"{bindings}{keyword}{rewrite(code)}"
            return (f"{{ {statement} }}" if negation.after_if(text, m.start()) else statement) + trail, end
        if m["some"] is not None:
            if not lenient:
                return m[0], m.end()
            iterates = True
            return f"{m['some']}cg_lenient_in({m['ref']})", m.end()
        if m["somecall"] is not None:
            close = _call_end(text, m.end()) if lenient else None
            if close is None:
                return m[0], m.end()
            iterates = True
            return f"{m['somecall']}cg_lenient_in({rewrite(text[m.end() : close])})", close
        head = m["head"]
        if head is None:
            return m[0], m.end()
        if indexed_at_start and m.start() == 0:
            indexed_at_start = False
        elif indexes:
            indexed = _indexed_call(text, m.start())
            if indexed is not None:
                close, keys, end = indexed
                indexed_at_start = True
                inner = rewrite(text[m.start() : close])
                used.add("cg_compat_at")
                for key in keys:
                    inner = f"cg_compat_at({inner}, {key})"
                return inner, end
        if sprintfs and head == "sprintf" and not m["tail"]:
            literal = _FORMAT_LITERAL.match(text, m.end())
            fmt = _literal_text(literal) if literal else None
            if literal is not None and fmt is not None:
                in_place = _sprintf_in_place(fmt, text, literal, rewrite, needs, text_verbs=text_verbs)
                if in_place is not None:
                    return in_place
                return _literal_sprintf(fmt, formats) + "(", m.end()
        if regexes and renamed.get(head + m["tail"], head + m["tail"]) == "regex.match":
            literal = _FORMAT_LITERAL.match(text, m.end())
            pattern = _literal_text(literal) if literal else None
            plain = _plain_regex(pattern, patterns) if pattern is not None else None
            if plain is not None:
                return plain + "(", m.end()
        call = head + m["tail"]
        new = renamed.get(call)
        if lenient and (new or call) in ARGS and not _defines(source, call):
            if new:
                used.add(call)
            return _guarded(new or call, guarded, v0) + "(", m.end()
        if new is None:
            return m[0], m.end()
        used.add(call)
        return new + "(", m.end()

    def rewrite(text: str) -> str:
        return _rewrite(text, replace)

    out = rewrite(_WALK.sub(r"\g<indent>walk(\g<arg>, \g<lhs>)\g<rest>", source) if "walk(" in source else source)
    supplied = [supplies[name][1] for name in sorted(used) if name in supplies]
    if "cg_compat_at" in used:
        supplied += _in_syntax(_AT, v0)
    supplied += [definition for _, definition in formats.values()]
    if formats or "quote" in needs or "sprintf" in used:
        supplied += _in_syntax(_QUOTE, v0)
    if "extra" in needs:
        supplied += _EXTRA_V0 if v0 else _EXTRA_V1
    if "pad" in needs:
        supplied += _in_syntax(_PAD, v0)
    if "%f" in needs:
        supplied += _in_syntax(_VERB_F, v0)
    if "pad" in needs or "%f" in needs:
        supplied += _in_syntax(_REPEAT, v0)
    supplied += [_typed_verb(verb, v0) for verb in sorted(needs) if verb in _TYPED_VERBS]
    supplied += [definition for _, definition in patterns.values()]
    supplied += list(guarded.values())
    if iterates:
        supplied.append(_LENIENT_IN_V0 if v0 else _LENIENT_IN_V1)
    if arithmetic_used:
        from gate.checks.rego import arithmetic

        supplied += arithmetic.definitions(arithmetic_used, v0=v0)
    spelled = out + "".join(f"\n{definition}" for definition in supplied) + ("\n" if supplied else "")
    return _HELPER.sub(lambda m: m[0] + tag, spelled) if tag and supplied else spelled


_HELPER = re.compile(r"\bcg_(?:compat|lenient)_\w+")
"""A function this module defines for its calls. Each file names its own (`tag`): regorus mixes up the evaluation
plans of one function defined alike in several files of one package and called from each (`binding plan not
found`, `invalid schedule`): Conftest's own kubernetes example met it once its `%s` arguments went through one."""


def _rewrite(text: str, replace: Callable[[re.Match[str], str], tuple[str, int]]) -> str:
    """`text` with each token `replace`d; a replacement may take in more of the text than its token (a call's
    arguments), and the scan goes on where it says."""
    out, at = [], 0
    while (m := _TOKEN.search(text, at)) is not None:
        made, end = replace(m, text)
        out += [text[at : m.start()], made]
        at = end
    out.append(text[at:])
    return "".join(out)


def _literal_text(m: re.Match[str]) -> str | None:
    """The text of a string literal `_FORMAT_LITERAL` matched, or None when its escapes are not JSON's."""
    if m["raw"] is not None:
        return m["raw"]
    try:
        text = json.loads(f'"{m["quoted"]}"')
    except ValueError:
        return None  # (an escape JSON lacks: regorus names it when it compiles the call)
    return text if isinstance(text, str) else None


def _sprintf_in_place(
    fmt: str,
    text: str,
    literal: re.Match[str],
    rewrite: Callable[[str], str],
    needs: set[str],
    *,
    text_verbs: bool = False,
) -> tuple[str, int] | None:
    """`sprintf(fmt, [a, b])` respelled where it stands, and the end of the call in `text`: `%q` spelled `%s` with
    its argument quoted, and, when the array holds fewer or more arguments than the format has verbs, Go's
    `%!s(MISSING)` and `%!(EXTRA string=x)` written as OPA's `sprintf` writes them (regorus's stops the evaluation
    instead). The call unchanged when none of that applies; None (the format's function) when the arguments are not
    an array literal, or the format spans lines (a one-line literal in its place would move every line after it).
    `text_verbs`: see `spell_out_imported_calls`."""
    verbs = [v for v in _VERB.finditer(fmt) if v[0] != "%%"]
    quoted = {i for i, v in enumerate(verbs) if v[0] == "%q"}
    unchanged = ("sprintf(" + text[literal.start() : literal.end()], literal.end())
    elements = _array_elements(text, literal.end())
    if elements is None or "\n" in literal[0][len(literal["lead"]) :]:
        return None if quoted else unchanged
    opened, spans, close = elements
    typed = {
        i: v[0]
        for i, v in enumerate(verbs[: len(spans)])
        if v[0] in _TYPED_VERBS and not _PRINTS_ALIKE[v[0]].fullmatch(text[spans[i][0] : spans[i][1]].strip())
    }
    padded = {i: m for i, v in enumerate(verbs[: len(spans)]) if (m := _PADDED.fullmatch(v[0]))}
    floats = {i: m for i, v in enumerate(verbs[: len(spans)]) if (m := _FLOAT_VERB.fullmatch(v[0]))}
    if len(spans) == len(verbs) and not quoted and not typed and not padded and not floats:
        return unchanged
    made: list[str] = []  # the arguments' code as it will be, each with what follows it up to the next one
    for i, (start, end) in enumerate(spans):
        code = rewrite(text[start:end])
        if i in quoted and text_verbs:
            code = f"json.marshal({_AS_TEXT.format(code)})"
        elif i in quoted:
            needs.add("quote")
            code = f"cg_compat_quote(true, {code})"
        elif i in typed and typed[i] == "%s" and text_verbs:
            code = _AS_TEXT.format(code)
        elif i in typed:
            needs.add(typed[i])
            code = f"{_TYPED_VERBS[typed[i]][0]}({code})"
        elif i in floats:
            precision = floats[i]["precision"]
            needs.add("%f")
            fmt_f = f"%.{precision}f" if precision is not None else "%.6f"
            code = f'cg_compat_verb_f({code}, {precision if precision is not None else -1}, "{fmt_f}")'
        elif i in padded:
            pad = padded[i]
            verb = f"%{pad['kind']}"
            if verb in _TYPED_VERBS:
                needs.add(verb)
                code = f"{_TYPED_VERBS[verb][0]}({code})"
            else:
                code = f'sprintf("%v", [{code}])'
            needs.add("pad")
            code = f"cg_compat_pad({code}, {pad['width']}, {'true' if pad['left'] else 'false'})"
        made.append(code)
    between = [text[end : spans[i + 1][0]] for i, (_, end) in enumerate(spans[:-1])]
    as_text = quoted | {i for i, verb in typed.items() if verb == "%d"} | set(padded) | set(floats)
    spelled = _respell(fmt, verbs, as_text, len(spans))
    if len(spans) > len(verbs):
        needs.add("extra")
        n = len(verbs)
        extra = made[n] + "".join(sep + code for sep, code in zip(between[n:], made[n + 1 :], strict=True))
        made, between = [*made[:n], f"cg_compat_extra([{extra}])"], between[:n]
        spelled += "%s"
    head = text[opened + 1 : spans[0][0]] if spans else ""
    tail = text[spans[-1][1] : close - 1] if spans else text[opened + 1 : close - 1]
    body = made[0] + "".join(sep + code for sep, code in zip(between, made[1:], strict=True)) if made else ""
    lead = literal["lead"]  # (a format on the line after `sprintf(` stays there)
    return f"sprintf({lead}{json.dumps(spelled)},{text[literal.end() : opened]}[{head}{body}{tail}]", close


def _respell(fmt: str, verbs: list[re.Match[str]], quoted: set[int], given: int) -> str:
    """`fmt` with its verbs at `quoted` (`%q`, `%d`: their arguments come as text) spelled `%s`, and the verbs from
    `given` on (no argument for them) spelled as the text Go prints for them, `%!d(MISSING)`."""
    spelled, last = [], 0
    for i, verb in enumerate(verbs):
        if i >= given:
            instead = f"%%!{verb[0][-1]}(MISSING)"
        elif i in quoted:
            instead = "%s"
        else:
            continue
        spelled += [fmt[last : verb.start()], instead]
        last = verb.end()
    spelled.append(fmt[last:])
    return "".join(spelled)


# What Go prints for a bare `%s` or `%d` given a value of another kind, as OPA's `sprintf` hands values to Go: an
# integer as int64 (a `*big.Int` past it, which prints its digits), another number as float64, and anything but a
# string or number as its Rego text (so `%s` of `true` is `true` in both engines). regorus prints `3` for `%s` of 3
# and nothing for `%d` of "x". Each argument goes through the function of its verb; `%d` is then spelled `%s`.
_INT64 = "is_number(x); round(x) == x; abs(x) < 9223372036854775808"
_TYPED_VERBS = {
    "%s": (
        "cg_compat_verb_s",
        (
            ("x", "is_string(x)"),  # (first: the common case, one test; a call here costs ~1.5 µs)
            ('concat("", ["%!s(int64=", format_int(x, 10), ")"])', _INT64),
            ('concat("", ["%!s(float64=", sprintf("%v", [x]), ")"])', "is_number(x); round(x) != x"),
            ("x", ""),
        ),
    ),
    "%d": (
        "cg_compat_verb_d",
        (
            ("format_int(x, 10)", _INT64),
            ('sprintf("%v", [x])', "is_number(x); round(x) == x"),
            ('concat("", ["%!d(float64=", sprintf("%v", [x]), ")"])', "is_number(x)"),
            ('concat("", ["%!d(string=", x, ")"])', "is_string(x)"),
            ('concat("", ["%!d(string=", sprintf("%v", [x]), ")"])', ""),
        ),
    ),
}
# A `%s` or `%q` argument taken as text without a function call: the same text for a string (what nearly every
# argument is), and for anything else regorus's error "`trim_prefix` expects string argument", which the caller
# (`check.check_file`) answers by evaluating that input again with the functions above (see `TEXT_VERB_ERROR`).
_AS_TEXT = 'trim_prefix({}, "")'
TEXT_VERB_ERROR = "`trim_prefix` expects string argument"
# A verb with a width (`%-40s`, `%8d`), which regorus does not read (it prints `40s` and drops the argument): the
# argument written as its verb writes it, then padded with spaces to the width, on the left unless `-` says right.
_PADDED = re.compile(r"%(?P<left>-?)(?P<width>[1-9][0-9]{0,2})(?P<kind>[sdv])")
_PAD = (
    'cg_compat_pad(s, w, left) {a} concat("", [s, cg_compat_repeat(" ", w - count(s))]) {i}{{ left }} '
    'else {a} concat("", [cg_compat_repeat(" ", w - count(s)), s])',
)
# `n` copies of `c` (none for n <= 0), for the widths and the precisions. (The comprehension in the body: regorus
# cannot schedule one in a function's head.)
_REPEAT = ('cg_compat_repeat(c, n) {a} r {i}{{ n > 0; r := concat("", [c | numbers.range(1, n)[_]]) }} else {a} ""',)
# `%f` and `%.Nf` given a value that is no float, as Go writes it (regorus writes `6` and nothing): an integer as
# `%!f(int64=06)` (its digits zero-padded to the precision), one past int64 as `%!f(big.Int=...)`, anything else as
# its text cut to the precision (`%!f(string=50)`); a float through `%.Nf` (bare `%f` is Go's `%.6f`).
_FLOAT_VERB = re.compile(r"%(?:\.(?P<precision>[0-9]{1,2}))?f")
_VERB_F = (
    'cg_compat_verb_f(x, p, f) {a} concat("", ["%!f(int64=", cg_compat_digits(x, p), ")"]) {i}{{ ' + _INT64 + " }} "
    'else {a} concat("", ["%!f(big.Int=", sprintf("%v", [x]), ")"]) {i}{{ is_number(x); round(x) == x }} '
    "else {a} sprintf(f, [x]) {i}{{ is_number(x) }} "
    'else {a} concat("", ["%!f(string=", cg_compat_cut(x, p), ")"]) {i}{{ is_string(x) }} '
    'else {a} concat("", ["%!f(string=", cg_compat_cut(sprintf("%v", [x]), p), ")"])',
    "cg_compat_digits(x, p) {a} s {i}{{ d := format_int(abs(x), 10); "
    's := concat("", [cg_compat_minus(x), cg_compat_repeat("0", p - count(d)), d]) }}',
    'cg_compat_minus(x) {a} "-" {i}{{ x < 0 }} else {a} ""',
    "cg_compat_cut(s, p) {a} substring(s, 0, p) {i}{{ p >= 0 }} else {a} s",
)


def _in_syntax(definitions: tuple[str, ...], v0: bool) -> list[str]:
    """Definitions written with `{a}` (the head's assignment) and `{i}` (before a body) in the module's syntax."""
    return [d.format(a="=", i="") if v0 else d.format(a=":=", i="if ") for d in definitions]


# Literal arguments both engines print alike under the verb: text under `%s`, an integer under `%d`.
_PRINTS_ALIKE = {
    "%s": re.compile(r'"(?:\\.|[^"\\\n])*"|`[^`]*`'),
    "%d": re.compile(r"[0-9]{1,18}"),  # (not a negative one: regorus writes `--2` for -2)
}


def _typed_verb(verb: str, v0: bool) -> str:
    """The definition of `verb`'s function (`_TYPED_VERBS`) in the module's own syntax."""
    name, cases = _TYPED_VERBS[verb]
    assign, cond = ("=", "{{ {} }}") if v0 else (":=", "if {{ {} }}")
    parts = [f"{value} {cond.format(test)}" if test else value for value, test in cases]
    return f"{name}(x) {assign} " + f" else {assign} ".join(parts)


# regorus evaluates a call's value indexed in place (`split(image, "/")[0]`, `f(x)["k"]`) some ten times slower
# than the same value bound first and then indexed (~14 µs against ~1.5 µs a call): a Conftest policy's commonest
# idiom for an image's registry or tag. Indexed by a literal, such a call goes through a function that indexes
# its argument: the same value, undefined where the index is (out of range, a key or member not there).
_AT = ("cg_compat_at(x, k) {a} x[k]",)
_INDEX = re.compile(r'\[(?:0|[1-9][0-9]{0,8}|"(?:\\.|[^"\\\n])*")\]')


def _indexed_call(text: str, at: int) -> tuple[int, list[str], int] | None:
    """For the call that starts at `at`: where it ends, the literal indices right after it, and where they end;
    None when no literal index follows (or the call does not end on its own line)."""
    close = _call_end(text, at)
    if close is None:
        return None
    keys: list[str] = []
    end = close
    while (index := _INDEX.match(text, end)) is not None:
        keys.append(index[0][1:-1])
        end = index.end()
    return (close, keys, end) if keys else None


def _call_end(text: str, at: int) -> int | None:
    """The end of the call that starts at `at` (a name, then its bracketed arguments), or None when it does not end
    on its own line."""
    opened = text.find("(", at)
    closed = negation.matching_bracket(text, opened) if opened >= 0 else None
    return None if closed is None or "\n" in text[at:closed] else closed + 1


def _array_elements(text: str, at: int) -> tuple[int, list[tuple[int, int]], int] | None:
    """For the array literal that opens at `at` (after blanks): where its `[` is, the span of each element's code
    (without the blanks and comments around it), and the end of its `]`; None when something else is there (a
    variable, a comprehension) or it does not end."""
    i = at
    while i < len(text) and text[i] in " \t\n\r":
        i += 1
    if i >= len(text) or text[i] != "[":
        return None
    opened = i
    spans: list[tuple[int, int]] = []
    first = last = -1  # the current element's first and last code character
    depth = 0
    i += 1
    while i < len(text):
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if c in " \t\r\n":
            i += 1
            continue
        if depth == 0 and c in ",]":
            if first >= 0:
                spans.append((first, last + 1))
            elif c == ",":
                return None  # (an empty element, `[,]`; before `]`, nothing is `[]` or a trailing comma)
            if c == "]":
                return opened, spans, i + 1
            first = last = -1
            i += 1
            continue
        if depth == 0 and c == "|":
            return None  # (a comprehension)
        if first < 0:
            first = i
        if c == '"' or c == "`":
            closed = _string_end(text, i)
            if closed is None:
                return None
            last, i = closed - 1, closed
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        last = i
        i += 1
    return None


def _string_end(text: str, at: int) -> int | None:
    """Where the string literal opening at `at` ends (after its closing quote)."""
    if text[at] == "`":
        end = text.find("`", at + 1)
        return None if end < 0 else end + 1
    i = at + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        elif text[i] == "\n":
            return None
        else:
            i += 1
    return None


def _literal_sprintf(fmt: str, formats: dict[str, tuple[str, str]]) -> str:
    """The function to call for `sprintf(fmt, ...)`: the built-in when `fmt` has no `%q` verb, else the one made
    for this format (kept in `formats`, by the format it calls `sprintf` with and the positions it quotes)."""
    verbs = [v for v in _VERB.finditer(fmt) if v[0] != "%%"]
    # Only a bare `%q`: regorus's `sprintf` ignores flags and width (`%-8s` gives "8s"), so `%-8q` is left to
    # fail with regorus's own message rather than be formatted wrong.
    quoted = [i for i, v in enumerate(verbs) if v[0] == "%q"]
    if not quoted:
        return "sprintf"
    body = json.dumps(_respell(fmt, verbs, set(quoted), len(verbs)))
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


def _guarded(builtin: str, guarded: dict[str, str], v0: bool) -> str:
    """The lenient function for `builtin` (its definition kept in `guarded`): the built-in's value when every
    typed argument has one of its types and a value it reads (`builtin_values`), else undefined."""
    name = "cg_lenient_" + builtin.replace(".", "_")
    if builtin not in guarded:
        types = ARGS[builtin]
        params = [f"a{i}" for i in range(len(types))]
        tests = [_type_test(p, t) for p, t in zip(params, types, strict=True) if t]
        values = VALUES.get(builtin)
        if values is not None:
            tests += values.tests
        head = f"{name}({', '.join(params)})"
        value = (values.value if values is not None else None) or f"{builtin}({', '.join(params)})"
        clauses = [(value, tests)]
        if values is not None and values.text_value is not None:
            # (Text takes a clause of its own: the two conditions never hold together.)
            clauses = [(value, [*tests, "not is_string(a0)"]), (values.text_value, [*tests, "is_string(a0)"])]
        guarded[builtin] = "\n".join(
            f"{head} = {call} {{ {'; '.join(body)} }}" if v0 else f"{head} := {call} if {{ {'; '.join(body)} }}"
            for call, body in clauses
        )
    return name


def _type_test(param: str, types: str) -> str:
    names = types.split("|")
    if len(names) == 1:
        return f'type_name({param}) == "{names[0]}"'
    return "{" + ", ".join(f'"{n}"' for n in names) + f"}}[type_name({param})]"
