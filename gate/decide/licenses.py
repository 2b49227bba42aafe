"""The license policy: which license expressions pass, which violate, which are unknown (pure, no I/O).

Rules (documented in docs/licenses.md):

- list entries are SPDX ids, Trivy category names (expanded through `CATEGORIES`) or common spellings
  (normalised through `ALIASES`); `X+` is `X-or-later`, and the deprecated bare `GPL-2.0` is `GPL-2.0-only`;
- an allowed `X-or-later` allows `X-only`, `X-or-later` and the later versions of the family in `LATER`;
- `OR` is satisfied by one allowed branch, `AND` needs every part; `A WITH E` passes when `A WITH E` itself
  is listed or its base `A` is allowed (an exception only ever grants more), and is forbidden when either is;
- forbidden beats allowed; `LicenseRef-*`, `NOASSERTION`, `NONE`, empty text, "SEE LICENSE IN ..." and
  anything the parser cannot read are unknown, handled by the policy's `unknown` setting;
- an exception (`license:ID` ignore entry, narrowed to packages) beats both for the packages it names: the
  expression is judged again with ID acceptable, and a finding it then passes is kept as suppressed;
- every license fact read, allowed or not, is counted in the inventory (`inventory`), so the allowed ones
  need no finding.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gate.model import Finding, Kind, Report, Severity, Suppression

if TYPE_CHECKING:
    from gate.decide.ignores import IgnoreEntry

# Our own table after Trivy's classification (aquasecurity/trivy pkg/licensing/category.go, itself taken
# from google/licenseclassifier license_type.go), ids respelled in current SPDX form.
_CC_NC = [f"CC-BY-NC{v}-{n}" for v in ("", "-ND", "-SA") for n in ("1.0", "2.0", "2.5", "3.0", "4.0")]
_CC_ND_SA = [f"CC-BY{v}-{n}" for v in ("-ND", "-SA") for n in ("1.0", "2.0", "2.5", "3.0", "4.0")]
CATEGORIES: dict[str, frozenset[str]] = {
    "forbidden": frozenset(
        ["AGPL-1.0-only", "AGPL-1.0-or-later", "AGPL-3.0-only", "AGPL-3.0-or-later", "Commons-Clause", "WTFPL"]
        + ["Facebook-2-Clause", "Facebook-3-Clause", "Facebook-Examples", *_CC_NC]
    ),
    "restricted": frozenset(
        [
            "BCL",
            "GPL-1.0-only",
            "GPL-1.0-or-later",
            "GPL-2.0-only",
            "GPL-2.0-or-later",
            "GPL-3.0-only",
            "GPL-3.0-or-later",
        ]
        + ["LGPL-2.0-only", "LGPL-2.1-only", "LGPL-3.0-only", "LGPL-2.0-or-later", "LGPL-2.1-or-later"]
        + ["LGPL-3.0-or-later", "NPL-1.0", "NPL-1.1", "OSL-1.0", "OSL-1.1", "OSL-2.0", "OSL-2.1"]
        + ["OSL-3.0", "QPL-1.0", "Sleepycat", *_CC_ND_SA]
    ),
    "reciprocal": frozenset(
        ["APSL-1.0", "APSL-1.1", "APSL-1.2", "APSL-2.0", "CDDL-1.0", "CDDL-1.1", "CPL-1.0", "EPL-1.0"]
        + ["EPL-2.0", "FreeImage", "IPL-1.0", "MPL-1.0", "MPL-1.1", "MPL-2.0", "Ruby"]
    ),
    "notice": frozenset(
        ["AFL-1.1", "AFL-1.2", "AFL-2.0", "AFL-2.1", "AFL-3.0", "Apache-1.0", "Apache-1.1", "Apache-2.0"]
        + ["Artistic-1.0-cl8", "Artistic-1.0-Perl", "Artistic-1.0", "Artistic-2.0", "BSL-1.0"]
        + ["BSD-2-Clause-FreeBSD", "BSD-2-Clause-NetBSD", "BSD-2-Clause", "BSD-3-Clause-Attribution"]
        + ["BSD-3-Clause-Clear", "BSD-3-Clause-LBNL", "BSD-3-Clause", "BSD-4-Clause", "BSD-4-Clause-UC"]
        + ["BSD-Protection", "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-3.0", "CC-BY-4.0", "FTL"]
        + ["ISC", "ImageMagick", "Libpng", "Lil-1.0", "Linux-OpenIB", "LPL-1.02", "LPL-1.0", "MS-PL"]
        + ["MIT", "NCSA", "OpenSSL", "PHP-3.01", "PHP-3.0", "PIL", "Python-2.0", "Python-2.0-complete"]
        + ["PostgreSQL", "SGI-B-1.0", "SGI-B-1.1", "SGI-B-2.0", "Unicode-DFS-2015", "Unicode-DFS-2016"]
        + ["Unicode-TOU", "UPL-1.0", "W3C-19980720", "W3C-20150513", "W3C", "X11", "Xnet", "Zend-2.0"]
        + ["zlib-acknowledgement", "Zlib", "ZPL-1.1", "ZPL-2.0", "ZPL-2.1"]
    ),
    "permissive": frozenset(),  # empty in Trivy's table too
    "unencumbered": frozenset(["CC0-1.0", "Unlicense", "0BSD"]),
}

# Common non-SPDX spellings (compared case-insensitively) → SPDX.
ALIASES: dict[str, str] = {
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "mit license": "MIT",
    "the mit license": "MIT",
    "expat": "MIT",
    "bsd": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "3-clause bsd": "BSD-3-Clause",
    "simplified bsd": "BSD-2-Clause",
    "isc license": "ISC",
    "gplv2": "GPL-2.0-only",
    "gplv2+": "GPL-2.0-or-later",
    "gplv3": "GPL-3.0-only",
    "gplv3+": "GPL-3.0-or-later",
    "lgplv2.1": "LGPL-2.1-only",
    "lgplv3": "LGPL-3.0-only",
    "agplv3": "AGPL-3.0-only",
    "mpl 2.0": "MPL-2.0",
    "public domain": "Unlicense",
}

# Versions of a family in order: an allowed `X-or-later` allows the ones after X.
LATER: dict[str, tuple[str, ...]] = {
    "GPL": ("1.0", "2.0", "3.0"),
    "LGPL": ("2.0", "2.1", "3.0"),
    "AGPL": ("1.0", "3.0"),
    "GFDL": ("1.1", "1.2", "1.3"),
}

_DEPRECATED_BARE = {f"{fam}-{v}" for fam, vs in LATER.items() for v in vs}
_UNKNOWN_WORDS = {"", "noassertion", "none", "unknown", "unlicensed", "other"}


class Unknown(StrEnum):
    """What a license we cannot resolve does: a blocking finding, a finding that never blocks, nothing."""

    BLOCK = "block"
    WARN = "warn"
    ALLOW = "allow"


class Outcome(StrEnum):
    """The policy's answer for one expression."""

    ALLOWED = "allowed"
    VIOLATION = "violation"
    UNKNOWN = "unknown"
    EXCEPTED = "excepted"
    """A violation or unknown that an exception lets pass (for the inventory; `judge` never answers it)."""


@dataclass(frozen=True)
class Judgement:
    """One expression judged: the outcome and, for a violation or unknown, why in words."""

    outcome: Outcome
    reason: str = ""


def normalise(text: str) -> str:
    """One license id or spelling in canonical SPDX form (aliases, `+`, deprecated bare GPL ids)."""
    word = text.strip()
    word = ALIASES.get(word.lower(), word)
    if word.endswith("+"):
        word = word[:-1] + "-or-later"
    if word in _DEPRECATED_BARE:
        word = word + "-only"
    return word


def _expand(entries: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for entry in entries:
        category = CATEGORIES.get(entry.strip().lower())
        if category is not None:
            out |= category
        else:
            out.add(normalise(entry))
    return frozenset(out)


def _covered(license_id: str, listed: frozenset[str]) -> bool:
    if license_id in listed:
        return True
    # X-or-later listed covers X-only and the later versions of the family.
    for family, versions in LATER.items():
        for i, version in enumerate(versions):
            if f"{family}-{version}-or-later" not in listed:
                continue
            for later in versions[i:]:
                if license_id in (f"{family}-{later}-only", f"{family}-{later}-or-later"):
                    return True
    return False


@dataclass(frozen=True)
class LicensePolicy:
    """The configured policy; `active` when allowed or forbidden is non-empty (then it replaces Trivy's categories)."""

    allowed: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    unknown: Unknown = Unknown.WARN
    severity: Severity = Severity.HIGH
    excepted: tuple[str, ...] = ()
    """Licenses an exception accepts for one package: pass even when forbidden, unlisted or a `LicenseRef-*`;
    `*` accepts any license, and an entry equal to the whole expression as written accepts it."""
    _allowed: frozenset[str] = field(init=False, repr=False, compare=False)
    _forbidden: frozenset[str] = field(init=False, repr=False, compare=False)
    _excepted: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allowed", _expand(self.allowed))
        object.__setattr__(self, "_forbidden", _expand(self.forbidden))
        object.__setattr__(self, "_excepted", frozenset(normalise(e) for e in self.excepted))

    @property
    def active(self) -> bool:
        """Whether a policy is configured at all."""
        return bool(self.allowed or self.forbidden)

    def judge(self, expression: str) -> Judgement:
        """Judge one license expression as written by the tool or SBOM."""
        text = expression.strip()
        if self._excepted and ("*" in self._excepted or normalise(text) in self._excepted):
            return Judgement(Outcome.ALLOWED)
        if text.lower() in _UNKNOWN_WORDS or _see_license(text):
            return Judgement(Outcome.UNKNOWN, f"license {text or '(none)'!r} cannot be resolved")
        try:
            parsed = _licensing().parse(_respell(text), validate=False)
        except _expressions().ExpressionError:
            return Judgement(Outcome.UNKNOWN, f"license {text!r} cannot be parsed")
        if parsed is None:
            return Judgement(Outcome.UNKNOWN, "license (none) cannot be resolved")
        return self._node(parsed)

    def _node(self, node: object) -> Judgement:
        license_expression = _expressions()
        if isinstance(node, license_expression.OR):
            results = [self._node(a) for a in node.args]
            return next((r for r in results if r.outcome is Outcome.ALLOWED), _worst(results))
        if isinstance(node, license_expression.AND):
            results = [self._node(a) for a in node.args]
            bad = [r for r in results if r.outcome is not Outcome.ALLOWED]
            return _worst(bad) if bad else Judgement(Outcome.ALLOWED)
        if isinstance(node, license_expression.LicenseWithExceptionSymbol):
            base = normalise(str(node.license_symbol.key))
            whole = f"{base} WITH {node.exception_symbol.key}"
            return self._leaf(base, whole)
        return self._leaf(normalise(str(getattr(node, "key", node))), None)

    def _leaf(self, base: str, whole: str | None) -> Judgement:
        name = whole or base
        if self._excepted and (base in self._excepted or (whole is not None and whole in self._excepted)):
            return Judgement(Outcome.ALLOWED)
        if base.startswith("LicenseRef-") or base.lower() in _UNKNOWN_WORDS or _see_license(base):
            return Judgement(Outcome.UNKNOWN, f"license {name!r} cannot be resolved")
        forbidden = _covered(base, self._forbidden) or (whole is not None and whole in self._forbidden)
        if forbidden:
            return Judgement(Outcome.VIOLATION, f"{name} is forbidden")
        if _covered(base, self._allowed) or (whole is not None and whole in self._allowed):
            return Judgement(Outcome.ALLOWED)
        if base.lower() not in _spdx_ids():
            # A name outside the SPDX list ("Proprietary", "Acme-EULA") says nothing we can judge: unknown, as
            # LicenseRef-* is, so `unknown:` decides it; listing it in `allowed` or `forbidden` still decides first.
            return Judgement(Outcome.UNKNOWN, f"license {name!r} is not an SPDX license id")
        if not self.allowed:
            return Judgement(Outcome.ALLOWED)
        return Judgement(Outcome.VIOLATION, f"{name}: not in licenses.allowed")


@functools.cache
def _spdx_ids() -> frozenset[str]:
    """Every SPDX license id, lower-cased (license-expression's bundled list; loaded once, ~80 ms, when needed)."""
    known = _expressions().get_spdx_licensing().known_symbols
    return frozenset(key.lower() for key in known if not key.startswith("LicenseRef-"))


def _see_license(text: str) -> bool:
    # npm's "SEE LICENSE IN <file>"; Trivy's CycloneDX writes it as one name, `SEE-LICENSE-IN-LICENSE.txt`.
    return _SEPARATORS.sub(" ", text[:20]).upper().startswith("SEE LICENSE IN ")


_SEPARATORS = re.compile(r"[-_\s]+")


def _worst(results: list[Judgement]) -> Judgement:
    # A violation explains more than an unknown; the first of that kind gives the words.
    for outcome in (Outcome.VIOLATION, Outcome.UNKNOWN):
        for result in results:
            if result.outcome is outcome:
                return result
    return results[0]


def _respell(text: str) -> str:
    # A whole expression that is itself an alias ("Apache License 2.0") becomes its SPDX id before parsing,
    # and SPDX's deprecated `GPL-2.0-with-classpath-exception` ids (in Trivy's restricted list) their WITH form.
    alias = ALIASES.get(text.lower())
    if alias is not None:
        return alias
    if "-with-" in text.lower():
        return _DEPRECATED_WITH.sub(lambda m: f"({_WITH_FORMS[m[0].lower()]})", text)
    return text


# SPDX's deprecated ids with an exception built in, as the license list maps them.
_WITH_FORMS = {
    "gpl-2.0-with-autoconf-exception": "GPL-2.0-only WITH Autoconf-exception-2.0",
    "gpl-2.0-with-bison-exception": "GPL-2.0-or-later WITH Bison-exception-2.2",
    "gpl-2.0-with-classpath-exception": "GPL-2.0-only WITH Classpath-exception-2.0",
    "gpl-2.0-with-font-exception": "GPL-2.0-only WITH Font-exception-2.0",
    "gpl-2.0-with-gcc-exception": "GPL-2.0-only WITH GCC-exception-2.0",
    "gpl-3.0-with-autoconf-exception": "GPL-3.0-only WITH Autoconf-exception-3.0",
    "gpl-3.0-with-gcc-exception": "GPL-3.0-only WITH GCC-exception-3.1",
}
_DEPRECATED_WITH = re.compile("|".join(re.escape(k) for k in _WITH_FORMS), re.IGNORECASE)


def _expressions() -> ModuleType:
    """license-expression, imported on the first expression judged: a run without a license policy never pays
    for it (~10 ms at start-up)."""
    import license_expression

    module: ModuleType = license_expression
    return module


@functools.cache
def _licensing() -> Any:
    return _expressions().Licensing()


@dataclass(frozen=True, slots=True)
class LicenseUse:
    """One license fact as read (a package and one of its license expressions), with the policy's outcome."""

    license: str
    """The expression as the tool or SBOM wrote it."""
    package: str
    """The package name, or the file for a license found in a file."""
    version: str
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class LicensedReport(Report):
    """A report after the license stage: its findings judged, and every license it named counted, the allowed
    ones included (they are findings no more, so this is the only place they are seen)."""

    license_uses: tuple[LicenseUse, ...] = ()
    license_policy: bool = False
    """Whether a license policy judged them (else Trivy's categories did)."""


@dataclass(frozen=True, slots=True)
class InventoryRow:
    """One license and how many packages carry it; how many of those the policy refused or could not resolve
    (`excepted`: refused or unresolved, but let pass by an exception)."""

    license: str
    packages: int
    violations: int = 0
    unknown: int = 0
    excepted: int = 0


@dataclass(frozen=True, slots=True)
class Inventory:
    """Every license of the run, most packages first; a package seen in several reports counts once."""

    rows: tuple[InventoryRow, ...] = ()
    packages: int = 0
    """Distinct packages with at least one license fact."""
    policy: bool = False


def inventory(reports: Iterable[Report]) -> Inventory:
    """The license inventory of the reports that went through `judge_reports`."""
    seen: dict[tuple[str, str, str], Outcome] = {}
    policy = False
    for report in reports:
        if not isinstance(report, LicensedReport):
            continue
        policy = policy or report.license_policy
        for use in report.license_uses:
            key = (use.license, use.package, use.version)
            # The same package twice (two reports of one tree): the stricter outcome is the one counted.
            if _RANK[use.outcome] > _RANK[seen.get(key, Outcome.ALLOWED)] or key not in seen:
                seen[key] = use.outcome
    totals: dict[str, list[int]] = {}
    for (license_text, _, _), outcome in seen.items():
        row = totals.setdefault(license_text, [0, 0, 0, 0])
        row[0] += 1
        if outcome is not Outcome.ALLOWED:
            row[_COLUMN[outcome]] += 1
    rows = sorted((InventoryRow(lic, *n) for lic, n in totals.items()), key=lambda r: (-r.packages, r.license))
    packages = len({(package, version) for _, package, version in seen})
    return Inventory(rows=tuple(rows), packages=packages, policy=policy)


_RANK = {Outcome.ALLOWED: 0, Outcome.EXCEPTED: 1, Outcome.UNKNOWN: 2, Outcome.VIOLATION: 3}
_COLUMN = {Outcome.VIOLATION: 1, Outcome.UNKNOWN: 2, Outcome.EXCEPTED: 3}


def _use(finding: Finding, expression: str, outcome: Outcome) -> LicenseUse:
    package = finding.package or (finding.location.path if finding.location else finding.target)
    # Trivy's license results name no version: the target then tells two lock files' packages apart.
    version = finding.installed_version or ("" if finding.package is None else f"({finding.target})")
    return LicenseUse(license=expression.strip(), package=package, version=version, outcome=outcome)


def apply(
    findings: tuple[Finding, ...], policy: LicensePolicy, exceptions: Sequence[IgnoreEntry] = ()
) -> tuple[Finding, ...]:
    """License findings judged by the policy (it replaces Trivy's categories); others pass through.

    Without a policy, SBOM license facts (property `from` = `sbom`) are inventory only and dropped. With one,
    an allowed expression is dropped, a violation becomes a finding at the policy's severity naming why, and
    an unknown one follows `unknown` (`warn` is marked with the property `license_warn` = `true`). A violation
    or unknown that `exceptions` (live `license:` ignore entries) let pass is kept, suppressed by them.
    """
    return _apply(findings, policy, exceptions)[0]


def _apply(
    findings: tuple[Finding, ...], policy: LicensePolicy, exceptions: Sequence[IgnoreEntry]
) -> tuple[tuple[Finding, ...], tuple[LicenseUse, ...]]:
    out: list[Finding] = []
    uses: list[LicenseUse] = []
    # One parse per distinct expression: an SBOM of 20,000 packages names a few dozen licenses.
    judged: dict[str, Judgement] = {}
    license_exceptions = [e for e in exceptions if e.license_id is not None]
    for finding in findings:
        if finding.kind is not Kind.LICENSE:
            out.append(finding)
            continue
        props = dict(finding.properties)
        expression = props.get("license_expression", finding.id)
        judgement = judged.get(expression)
        if judgement is None:
            judgement = judged[expression] = policy.judge(expression)
        if not policy.active:
            uses.append(_use(finding, expression, judgement.outcome))
            if props.get("from") != "sbom":
                out.append(finding)
            continue
        if judgement.outcome is Outcome.ALLOWED:
            uses.append(_use(finding, expression, Outcome.ALLOWED))
            continue
        if judgement.outcome is Outcome.UNKNOWN and policy.unknown is Unknown.ALLOW:
            uses.append(_use(finding, expression, Outcome.UNKNOWN))
            continue
        suppression = _exception(finding, expression, policy, license_exceptions)
        uses.append(_use(finding, expression, Outcome.EXCEPTED if suppression else judgement.outcome))
        where = " ".join(p for p in (finding.package, finding.installed_version) if p)
        title = f"{expression} in {where}: {judgement.reason}" if where else judgement.reason
        extra: tuple[tuple[str, str], ...] = ()
        if judgement.outcome is Outcome.UNKNOWN and policy.unknown is Unknown.WARN:
            extra = (("license_warn", "true"),)
        out.append(
            replace(
                finding,
                severity=policy.severity,
                title=title,
                properties=finding.properties + extra,
                tool_suppression=finding.tool_suppression or suppression,
            )
        )
    return tuple(out), tuple(uses)


def _exception(
    finding: Finding, expression: str, policy: LicensePolicy, entries: Sequence[IgnoreEntry]
) -> Suppression | None:
    """The suppression when the exceptions for this package make the expression pass; only the entries it
    needs are named (an `AND` of two excepted licenses needs both)."""
    wanted = [e for e in entries if e.covers(finding)]
    if not wanted or not _passes(expression, policy, wanted):
        return None
    needed = list(wanted)
    for entry in wanted:
        rest = [e for e in needed if e is not entry]
        if rest and _passes(expression, policy, rest):
            needed = rest
    parts = [e.suppression() for e in needed]
    dates = [p.expires for p in parts if p.expires]
    return Suppression(by="ignore", reason="; ".join(p.reason for p in parts), expires=min(dates) if dates else None)


def _passes(expression: str, policy: LicensePolicy, entries: Sequence[IgnoreEntry]) -> bool:
    ids = tuple(e.license_id or "" for e in entries)
    return replace(policy, excepted=policy.excepted + ids).judge(expression).outcome is Outcome.ALLOWED


def judge_reports(
    reports: tuple[Report, ...],
    policy: LicensePolicy,
    *,
    exceptions: Sequence[IgnoreEntry] = (),
    today: dt.date | None = None,
) -> tuple[Report, ...]:
    """Every report's license findings judged by `policy`, with the exceptions among the ignore entries that
    have not expired by `today`; reports with license facts come back as `LicensedReport`s carrying them for
    the inventory."""
    live = tuple(e for e in exceptions if today is None or not e.expired(today))
    out: list[Report] = []
    for report in reports:
        if not any(f.kind is Kind.LICENSE for f in report.findings):
            out.append(report)
            continue
        judged, uses = _apply(report.findings, policy, live)
        base = {f.name: getattr(report, f.name) for f in fields(Report)}
        out.append(LicensedReport(**{**base, "findings": judged}, license_uses=uses, license_policy=policy.active))
    return tuple(out)
