"""The license policy: which license expressions pass, which violate, which are unknown (pure, no I/O).

Rules (documented in docs/licenses.md):

- list entries are SPDX ids, Trivy category names (expanded through `CATEGORIES`) or common spellings
  (normalised through `ALIASES`); `X+` is `X-or-later`, and the deprecated bare `GPL-2.0` is `GPL-2.0-only`;
- an allowed `X-or-later` allows `X-only`, `X-or-later` and the later versions of the family in `LATER`;
- `OR` is satisfied by one allowed branch, `AND` needs every part; `A WITH E` passes when `A WITH E` itself
  is listed or its base `A` is allowed (an exception only ever grants more), and is forbidden when either is;
- forbidden beats allowed; `LicenseRef-*`, `NOASSERTION`, `NONE`, empty text, "SEE LICENSE IN ..." and
  anything the parser cannot read are unknown, handled by the policy's `unknown` setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

import license_expression

from gate.model import Finding, Kind, Report, Severity

# Our own table after Trivy's classification (aquasecurity/trivy pkg/licensing/category.go, itself taken
# from google/licenseclassifier license_type.go), ids respelled in current SPDX form.
_CC_NC = [f"CC-BY-NC{v}-{n}" for v in ("", "-ND", "-SA") for n in ("1.0", "2.0", "2.5", "3.0", "4.0")]
_CC_ND_SA = [f"CC-BY{v}-{n}" for v in ("-ND", "-SA") for n in ("1.0", "2.0", "2.5", "3.0", "4.0")]
CATEGORIES: dict[str, frozenset[str]] = {
    "forbidden": frozenset(
        ["AGPL-1.0-only", "AGPL-3.0-only", "AGPL-3.0-or-later", "Commons-Clause", "WTFPL"]
        + ["Facebook-2-Clause", "Facebook-3-Clause", "Facebook-Examples", *_CC_NC]
    ),
    "restricted": frozenset(
        ["BCL", "GPL-1.0-only", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later"]
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
    _allowed: frozenset[str] = field(init=False, repr=False, compare=False)
    _forbidden: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allowed", _expand(self.allowed))
        object.__setattr__(self, "_forbidden", _expand(self.forbidden))

    @property
    def active(self) -> bool:
        """Whether a policy is configured at all."""
        return bool(self.allowed or self.forbidden)

    def judge(self, expression: str) -> Judgement:
        """Judge one license expression as written by the tool or SBOM."""
        text = expression.strip()
        if text.lower() in _UNKNOWN_WORDS or text.upper().startswith("SEE LICENSE IN"):
            return Judgement(Outcome.UNKNOWN, f"license {text or '(none)'!r} cannot be resolved")
        try:
            parsed = _LICENSING.parse(_respell(text), validate=False)
        except license_expression.ExpressionError:
            return Judgement(Outcome.UNKNOWN, f"license {text!r} cannot be parsed")
        if parsed is None:
            return Judgement(Outcome.UNKNOWN, "license (none) cannot be resolved")
        return self._node(parsed)

    def _node(self, node: object) -> Judgement:
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
        if base.startswith("LicenseRef-") or base.lower() in _UNKNOWN_WORDS:
            return Judgement(Outcome.UNKNOWN, f"license {name!r} cannot be resolved")
        forbidden = _covered(base, self._forbidden) or (whole is not None and whole in self._forbidden)
        if forbidden:
            return Judgement(Outcome.VIOLATION, f"{name} is forbidden")
        if not self.allowed:
            return Judgement(Outcome.ALLOWED)
        if _covered(base, self._allowed) or (whole is not None and whole in self._allowed):
            return Judgement(Outcome.ALLOWED)
        return Judgement(Outcome.VIOLATION, f"{name}: not in licenses.allowed")


def _worst(results: list[Judgement]) -> Judgement:
    # A violation explains more than an unknown; the first of that kind gives the words.
    for outcome in (Outcome.VIOLATION, Outcome.UNKNOWN):
        for result in results:
            if result.outcome is outcome:
                return result
    return results[0]


def _respell(text: str) -> str:
    # A whole expression that is itself an alias ("Apache License 2.0") becomes its SPDX id before parsing.
    alias = ALIASES.get(text.lower())
    return alias if alias is not None else text


_LICENSING = license_expression.Licensing()


def apply(findings: tuple[Finding, ...], policy: LicensePolicy) -> tuple[Finding, ...]:
    """License findings judged by the policy (it replaces Trivy's categories); others pass through.

    Without a policy, SBOM license facts (property `from` = `sbom`) are inventory only and dropped. With one,
    an allowed expression is dropped, a violation becomes a finding at the policy's severity naming why, and
    an unknown one follows `unknown` (`warn` is marked with the property `license_warn` = `true`).
    """
    out: list[Finding] = []
    for finding in findings:
        if finding.kind is not Kind.LICENSE:
            out.append(finding)
            continue
        props = dict(finding.properties)
        if not policy.active:
            if props.get("from") != "sbom":
                out.append(finding)
            continue
        expression = props.get("license_expression", finding.id)
        judgement = policy.judge(expression)
        if judgement.outcome is Outcome.ALLOWED:
            continue
        if judgement.outcome is Outcome.UNKNOWN and policy.unknown is Unknown.ALLOW:
            continue
        where = " ".join(p for p in (finding.package, finding.installed_version) if p)
        title = f"{expression} in {where}: {judgement.reason}" if where else judgement.reason
        extra: tuple[tuple[str, str], ...] = ()
        if judgement.outcome is Outcome.UNKNOWN and policy.unknown is Unknown.WARN:
            extra = (("license_warn", "true"),)
        out.append(replace(finding, severity=policy.severity, title=title, properties=finding.properties + extra))
    return tuple(out)


def judge_reports(reports: tuple[Report, ...], run: object) -> tuple[Report, ...]:
    """Every report's license findings judged by the policy built from the run's settings."""
    policy = LicensePolicy(
        allowed=tuple(getattr(run, "license_allowed", ())),
        forbidden=tuple(getattr(run, "license_forbidden", ())),
        unknown=Unknown(getattr(run, "license_unknown", "warn")),
        severity=getattr(run, "license_severity", Severity.HIGH),
    )
    return tuple(replace(r, findings=apply(r.findings, policy)) for r in reports)
