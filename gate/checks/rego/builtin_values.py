"""The argument values OPA's built-ins refuse, as tests written in Rego, for the lenient policies (`compat`).

OPA outside strict mode (as Conftest runs it) makes a built-in's error an undefined expression: `to_number("abc")`
or `semver.compare("latest", "1.0.0")` is simply not true. regorus stops the whole evaluation at the same error.
`builtin_args` already guards the argument types; these tests guard the values of a type the built-in takes but
cannot read. Each is Rego that is never itself an error for an argument of the declared type, reads the same in
Rego v0 and v1, and accepts what both engines read alike (tests/unit/rego/test_rego_lenient_values.py holds each
to the real `opa eval` on good and bad values). Where OPA reads more than regorus (`semver.compare` of
`v1.2.3`), `value` is the call that reads it as OPA does.
"""

from __future__ import annotations

from typing import NamedTuple


class ValueGuard(NamedTuple):
    tests: tuple[str, ...]
    """Rego expressions over the parameters `a0`, `a1`, ...; all must hold for the built-in to be called."""
    value: str | None = None
    """The call in place of `builtin(a0, ...)`, or None for that."""
    text_value: str | None = None
    """The call in place of `builtin(a0)` when `a0` is text (the value of a second clause), or None for `value`."""


# What OPA's `to_number` reads of text: a sign, digits with single `_` between them, a fraction that may be
# empty on either side of the point (`.5`, `5.`), leading zeros (`022`), and an exponent that keeps the number
# finite (so at most 308).
_DIGITS = r"[0-9](_?[0-9])*"
_NUMBER = rf"^[-+]?({_DIGITS}(\.({_DIGITS})?)?|\.{_DIGITS})([eE][-+]?([0-9]{{1,2}}|[0-2][0-9]{{2}}|30[0-8]))?$"
# The same text in JSON's syntax, which regorus reads: no `_` or `+`, no leading zeros, a digit on both sides of
# the point or none.
_AS_JSON = (
    'regex.replace(regex.replace(regex.replace(trim_prefix(replace(a0, "_", ""), "+"), `^(-?)0+([0-9])`, "${1}${2}"),'
    ' `^(-?)\\.`, "${1}0."), `\\.([eE]|$)`, "${1}")'
)
# A decimal with an optional SI or IEC unit (`units.parse_bytes`: `10KiB`, `1.5Mi`, `512M`; `units.parse`: `500m`).
_UNITS = r"^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]+)?([kKmMgGtTpPeE][iI]?)?[bB]?$"
# Go's `time.Parse(time.RFC3339, ...)`: upper-case T and Z, fields in range (not each month's length).
_RFC3339 = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[-+]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
# Go's `time.ParseDuration`: `1h30m`, `1.5h`, `-300ms`, `0`.
_DURATION = r"^[-+]?(0|([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$"


def _matches(pattern: str, param: str) -> str:
    return f"regex.match(`{pattern}`, {param})"


def _ip_or_cidr(param: str) -> str:
    # (`net.cidr_contains` takes an address or a network as its second argument; an address is a /32 or /128.)
    return (
        " + ".join(
            f"count([1 | net.cidr_is_valid({text})])"
            for text in (param, f'concat("", [{param}, "/32"])', f'concat("", [{param}, "/128"])')
        )
        + " > 0"
    )


VALUES: dict[str, ValueGuard] = {
    "to_number": ValueGuard(
        (f"count([1 | not is_string(a0)]) + count([1 | is_string(a0); {_matches(_NUMBER, 'a0')}]) > 0",),
        text_value=f"to_number({_AS_JSON})",
    ),
    # OPA's semver reads a leading `v`; regorus's does not.
    "semver.compare": ValueGuard(
        ('semver.is_valid(trim_prefix(a0, "v"))', 'semver.is_valid(trim_prefix(a1, "v"))'),
        'semver.compare(trim_prefix(a0, "v"), trim_prefix(a1, "v"))',
    ),
    "base64.decode": ValueGuard(("base64.is_valid(a0)",)),
    "json.unmarshal": ValueGuard(("json.is_valid(a0)",)),
    "yaml.unmarshal": ValueGuard(("yaml.is_valid(a0)",)),
    "units.parse": ValueGuard((_matches(_UNITS, "a0"),)),
    "units.parse_bytes": ValueGuard((_matches(_UNITS, "a0"),)),
    "time.parse_rfc3339_ns": ValueGuard((_matches(_RFC3339, "a0"),)),
    "time.parse_duration_ns": ValueGuard((_matches(_DURATION, "a0"),)),
    "net.cidr_contains": ValueGuard(("net.cidr_is_valid(a0)", _ip_or_cidr("a1"))),
    "regex.match": ValueGuard(("regex.is_valid(a0)",)),
    "regex.find_n": ValueGuard(("regex.is_valid(a0)",)),
    "regex.find_all_string_submatch_n": ValueGuard(("regex.is_valid(a0)",)),
    "regex.split": ValueGuard(("regex.is_valid(a0)",)),
    "regex.replace": ValueGuard(("regex.is_valid(a1)",)),
}
