"""The finding model every reader produces and every output consumes: frozen values, no I/O."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from functools import lru_cache


class Severity(IntEnum):
    """Ordered severities: comparisons (`>=`) mean "at least as severe"."""

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str | None) -> Severity:
        """Map a tool's severity word to ours; anything unrecognised is UNKNOWN, never dropped.

        Grype's `Negligible` and SARIF/hadolint's `info`/`style`/`note` are below LOW in their tools,
        so they land on LOW: the lowest severity that still counts as a real finding.
        """
        if not text:
            return cls.UNKNOWN
        return _SEVERITY_WORDS.get(text.strip().lower(), cls.UNKNOWN)

    @classmethod
    def from_score(cls, score: float) -> Severity:
        """CVSS v3 qualitative bands (also what GitHub uses for `security-severity`)."""
        if score >= 9.0:
            return cls.CRITICAL
        if score >= 7.0:
            return cls.HIGH
        if score >= 4.0:
            return cls.MEDIUM
        if score > 0.0:
            return cls.LOW
        return cls.UNKNOWN


_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "low": Severity.LOW,
    "negligible": Severity.LOW,
    "info": Severity.LOW,
    "informational": Severity.LOW,
    "unknown": Severity.UNKNOWN,
}


class Kind(StrEnum):
    """What a finding is about; `policy` covers Rego results and the built-in Dockerfile checks."""

    VULNERABILITY = "vulnerability"
    MISCONFIGURATION = "misconfiguration"
    SECRET = "secret"  # noqa: S105 (a kind name, not a credential)
    LICENSE = "license"
    POLICY = "policy"


class FixState(StrEnum):
    """Whether the upstream has a fix, normalised across Trivy's Status and Grype's fix.state."""

    FIXED = "fixed"
    NOT_FIXED = "not-fixed"
    WONT_FIX = "wont-fix"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding sits in the repository or the scanned artifact."""

    path: str
    """Repository-relative file path when known, otherwise the path inside the artifact."""
    start_line: int | None = None
    """1-based first line, when the tool knows it."""
    end_line: int | None = None
    """1-based last line (inclusive)."""


@dataclass(frozen=True, slots=True)
class Source:
    """One tool's sighting of a finding; a deduplicated finding keeps every sighting."""

    tool: str
    """Tool name in lower case: `trivy`, `grype`, `conftest`, `hadolint`, `container-gate`, or a SARIF driver."""
    report: str
    """The input file it came from (for people; never part of the fingerprint)."""
    tool_version: str | None = None
    original_id: str | None = None
    """The id as this tool spelled it (e.g. a GHSA id where another tool said CVE)."""
    original_severity: str | None = None
    """The tool's own severity word (e.g. Grype's `Negligible`)."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding does not count: an ignore entry, a VEX statement, a tool exception, a pragma."""

    by: str
    """`ignore`, `vex`, `tool`, `inline` or `config`."""
    reason: str
    expires: str | None = None
    """ISO date after which the suppression no longer applies, when it has one."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem, as every tool that saw it agrees on it."""

    id: str
    """The rule or vulnerability id (CVE preferred over GHSA when a tool gives both)."""
    kind: Kind
    severity: Severity
    title: str
    target: str
    """What was scanned: an image name, a lock file, a Dockerfile, a config file."""
    package: str | None = None
    installed_version: str | None = None
    fixed_version: str | None = None
    fix_state: FixState = FixState.UNKNOWN
    location: Location | None = None
    aliases: tuple[str, ...] = ()
    sources: tuple[Source, ...] = ()
    description: str = ""
    references: tuple[str, ...] = ()
    help_uri: str | None = None
    cvss_score: float | None = None
    package_class: str | None = None
    """`os-pkgs` or `lang-pkgs` for vulnerabilities, when known (remediation bumps only OS packages)."""
    epss: float | None = None
    kev: bool = False
    tool_suppression: Suppression | None = None
    """Set when the tool itself marked the finding excepted (Conftest exceptions, SARIF suppressions)."""
    properties: tuple[tuple[str, str], ...] = ()
    """Extra tool data kept for outputs (e.g. the OS of an image), as sorted key/value pairs."""
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    @classmethod
    def create(cls, *, id: str, aliases: Iterable[str] = (), **kwargs: object) -> Finding:
        """Build a finding with a canonical id: a CVE wins over GHSA and vendor ids, the rest become aliases."""
        canonical, rest = canonical_id(id, aliases)
        return cls(id=canonical, aliases=rest, **kwargs)  # type: ignore[arg-type]

    @property
    def fixable(self) -> bool:
        """True when a fixed version exists (only vulnerabilities can be unfixable)."""
        if self.kind is not Kind.VULNERABILITY:
            return True
        return bool(self.fixed_version) or self.fix_state is FixState.FIXED

    @property
    def tools(self) -> tuple[str, ...]:
        """Distinct tools that reported it, in a stable order."""
        if len(self.sources) == 1:
            return (self.sources[0].tool,)
        return tuple(sorted({s.tool for s in self.sources}))

    @property
    def fingerprint(self) -> str:
        """Stable identity: same finding, same value, whatever the report order, report path or run."""
        if self._fingerprint is None:
            # Memoised on the frozen value: outputs sort and key by it many times on 100k-finding runs.
            object.__setattr__(self, "_fingerprint", fingerprint(self))
        assert self._fingerprint is not None
        return self._fingerprint

    def prop(self, key: str) -> str | None:
        """Look up one extra property."""
        for k, v in self.properties:
            if k == key:
                return v
        return None

    def merged(self, other: Finding) -> Finding:
        """The same finding seen by another tool: keep the more severe view and every source."""
        first, second = (self, other) if self.severity >= other.severity else (other, self)
        aliases = {*first.aliases, *second.aliases, second.id} - {first.id}
        sources = tuple(dict.fromkeys((*first.sources, *second.sources)))
        props = dict(second.properties) | dict(first.properties)
        return replace(
            first,
            aliases=tuple(sorted(aliases)),
            sources=sources,
            fixed_version=first.fixed_version or second.fixed_version,
            fix_state=first.fix_state if first.fix_state is not FixState.UNKNOWN else second.fix_state,
            location=first.location or second.location,
            description=first.description or second.description,
            references=tuple(dict.fromkeys((*first.references, *second.references))),
            help_uri=first.help_uri or second.help_uri,
            cvss_score=first.cvss_score if first.cvss_score is not None else second.cvss_score,
            package_class=first.package_class or second.package_class,
            epss=first.epss if first.epss is not None else second.epss,
            kev=first.kev or second.kev,
            tool_suppression=first.tool_suppression or second.tool_suppression,
            properties=tuple(sorted(props.items())),
        )


def _finding_init(
    self: Finding,
    id: str,
    kind: Kind,
    severity: Severity,
    title: str,
    target: str,
    package: str | None = None,
    installed_version: str | None = None,
    fixed_version: str | None = None,
    fix_state: FixState = FixState.UNKNOWN,
    location: Location | None = None,
    aliases: tuple[str, ...] = (),
    sources: tuple[Source, ...] = (),
    description: str = "",
    references: tuple[str, ...] = (),
    help_uri: str | None = None,
    cvss_score: float | None = None,
    package_class: str | None = None,
    epss: float | None = None,
    kev: bool = False,
    tool_suppression: Suppression | None = None,
    properties: tuple[tuple[str, str], ...] = (),
) -> None:
    # The dataclass's own __init__ for a frozen class calls object.__setattr__ per field (a generic
    # attribute lookup each time); the slot descriptors' setters do the same work at a third of the
    # cost, which counts at 100k findings. Same signature and defaults (a test compares them).
    _set_id(self, id)
    _set_kind(self, kind)
    _set_severity(self, severity)
    _set_title(self, title)
    _set_target(self, target)
    _set_package(self, package)
    _set_installed_version(self, installed_version)
    _set_fixed_version(self, fixed_version)
    _set_fix_state(self, fix_state)
    _set_location(self, location)
    _set_aliases(self, aliases)
    _set_sources(self, sources)
    _set_description(self, description)
    _set_references(self, references)
    _set_help_uri(self, help_uri)
    _set_cvss_score(self, cvss_score)
    _set_package_class(self, package_class)
    _set_epss(self, epss)
    _set_kev(self, kev)
    _set_tool_suppression(self, tool_suppression)
    _set_properties(self, properties)
    _set__fingerprint(self, None)


_SLOT = Finding.__dict__
(
    _set_id,
    _set_kind,
    _set_severity,
    _set_title,
    _set_target,
    _set_package,
    _set_installed_version,
    _set_fixed_version,
    _set_fix_state,
    _set_location,
    _set_aliases,
    _set_sources,
    _set_description,
    _set_references,
    _set_help_uri,
    _set_cvss_score,
    _set_package_class,
    _set_epss,
    _set_kev,
    _set_tool_suppression,
    _set_properties,
    _set__fingerprint,
) = (_SLOT[name].__set__ for name in Finding.__slots__)
setattr(Finding, "__init__", _finding_init)  # noqa: B010 (assigning the method directly upsets mypy)


def _source_init(
    self: Source,
    tool: str,
    report: str,
    tool_version: str | None = None,
    original_id: str | None = None,
    original_severity: str | None = None,
) -> None:
    # As `_finding_init`: one Source per finding, so its construction is on the same hot path.
    _set_tool(self, tool)
    _set_report(self, report)
    _set_tool_version(self, tool_version)
    _set_original_id(self, original_id)
    _set_original_severity(self, original_severity)


_set_tool, _set_report, _set_tool_version, _set_original_id, _set_original_severity = (
    Source.__dict__[name].__set__ for name in Source.__slots__
)
setattr(Source, "__init__", _source_init)  # noqa: B010 (assigning the method directly upsets mypy)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry a reader could not use: partial failure is data, reported with the verdict."""

    report: str
    reason: str


@dataclass(frozen=True, slots=True)
class Report:
    """What one input file yielded."""

    tool: str
    path: str
    findings: tuple[Finding, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    tool_version: str | None = None
    artifact: str | None = None
    """The scanned artifact (image name, folder), when the report names one."""
    os: str | None = None
    """`family version` of the scanned image, when the report knows it."""


_VULN_ID = re.compile(r"^(CVE|GHSA|OSV|GO|PYSEC|RUSTSEC|ALAS\d*|DSA|DLA|USN|RHSA|ELSA|SUSE)-", re.I)


def canonical_id(primary: str, aliases: Iterable[str] = ()) -> tuple[str, tuple[str, ...]]:
    """Pick the id a finding is known by: the first CVE (sorted), else the tool's own id."""
    ids = {primary.strip(), *(a.strip() for a in aliases)} - {""}
    cves = sorted(i for i in ids if i.upper().startswith("CVE-"))
    chosen = cves[0] if cves else primary.strip()
    return chosen, tuple(sorted(ids - {chosen}))


@lru_cache(maxsize=4096)
def image_key(target: str) -> str:
    """An image reference reduced to its repository, so tags, digests and Trivy's `(os x.y)` suffix
    do not split one image into two (trivy#2357: alerts churn when the tag is in the identity)."""
    text = target.strip()
    text = re.sub(r"\s+\(.*\)$", "", text)
    if "@" in text:
        text = text.split("@", 1)[0]
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        text = text[: len(text) - len(last)] + last.split(":", 1)[0]
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if text.startswith("library/"):
        text = text[len("library/") :]
    return text


SEVERITY_NAME = {s: s.name for s in Severity}
"""`Severity.name` as a plain lookup: enum `.name` is a descriptor call, costly on per-finding paths."""
KIND_VALUE = {k: k.value for k in Kind}
"""`Kind.value` as a plain lookup, for the same reason."""
_VULNERABILITY = Kind.VULNERABILITY.value


def dedupe_key(finding: Finding) -> tuple[str, ...]:
    """What makes two sightings the same finding (see `fingerprint`)."""
    if finding.kind is Kind.VULNERABILITY:
        return (
            _VULNERABILITY,
            finding.id.upper(),
            (finding.package or "").lower(),
            finding.installed_version or "",
            image_key(finding.target),
        )
    loc = finding.location
    key = (
        KIND_VALUE[finding.kind],
        finding.id,
        loc.path if loc else finding.target,
        str(loc.start_line or "") if loc else "",
        finding.title if finding.kind is Kind.POLICY else "",
    )
    # Licenses are keyed by license name, so two packages under one license in one target would
    # otherwise merge; the package is what tells them apart.
    return (*key, finding.package) if finding.package else key


def fingerprint(finding: Finding) -> str:
    """sha256 over the dedupe key: vulnerabilities by id, package, version and image repository;
    everything else by rule id, file, line and package when there is one (and a policy's message, as one
    rule can say several)."""
    return _key_hash(dedupe_key(finding))


def _key_hash(key: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()


def dedupe(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Merge sightings of the same finding (Trivy and Grype on one CVE) into one with both sources.

    A Grype match keyed by GHSA with a related CVE and a Trivy match keyed by the CVE meet because
    `Finding.create` already made the CVE canonical on both."""
    merged: dict[tuple[str, ...], Finding] = {}
    for f in findings:
        key = dedupe_key(f)
        seen = merged.get(key)
        merged[key] = f if seen is None else seen.merged(f)
    for key, f in merged.items():
        # A merged finding keeps its first sighting's identity fields, so its key is this key: the
        # fingerprint is memoised here rather than recomputing the key for every output.
        if f._fingerprint is None:
            object.__setattr__(f, "_fingerprint", _key_hash(key))
    return tuple(merged.values())


@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's judgement of one finding."""

    finding: Finding
    blocking: bool
    suppression: Suppression | None = None
    notes: tuple[str, ...] = ()
    """Why it does not block although it could (e.g. `in baseline`, `no fix available`, `within budget`)."""


def _decision_init(
    self: Decision,
    finding: Finding,
    blocking: bool,
    suppression: Suppression | None = None,
    notes: tuple[str, ...] = (),
) -> None:
    # As `_finding_init`: the verdict makes one Decision per finding.
    _set_finding(self, finding)
    _set_blocking(self, blocking)
    _set_suppression(self, suppression)
    _set_notes(self, notes)


_set_finding, _set_blocking, _set_suppression, _set_notes = (
    Decision.__dict__[name].__set__ for name in Decision.__slots__
)
setattr(Decision, "__init__", _decision_init)  # noqa: B010 (assigning the method directly upsets mypy)


@dataclass(frozen=True, slots=True)
class ExpiredIgnore:
    """An ignore entry whose date has passed: it no longer suppresses, and the summary says so."""

    id: str
    expires: str
    origin: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer, with everything the outputs need to explain it."""

    decisions: tuple[Decision, ...]
    fail_on: Severity | None
    """None means `--fail-on NONE`: nothing blocks on severity alone."""
    reports: tuple[Report, ...] = ()
    expired_ignores: tuple[ExpiredIgnore, ...] = ()
    budget_breaches: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when nothing blocks."""
        return not any(d.blocking for d in self.decisions)

    @property
    def blocking(self) -> tuple[Decision, ...]:
        """Blocking decisions, most severe first."""
        return tuple(sorted((d for d in self.decisions if d.blocking), key=_severity_order))

    @property
    def active(self) -> tuple[Decision, ...]:
        """Decisions that are not suppressed, most severe first."""
        return tuple(sorted((d for d in self.decisions if d.suppression is None), key=_severity_order))

    @property
    def suppressed(self) -> tuple[Decision, ...]:
        """Decisions that are suppressed, most severe first."""
        return tuple(sorted((d for d in self.decisions if d.suppression is not None), key=_severity_order))

    @property
    def skipped(self) -> tuple[Skipped, ...]:
        """Entries readers could not use."""
        return tuple(s for r in self.reports for s in r.skipped)

    def count(self, severity: Severity, *, blocking_only: bool = False) -> int:
        """Active findings of a severity (blocking ones only when asked)."""
        return sum(
            1
            for d in self.decisions
            if d.suppression is None and d.finding.severity is severity and (d.blocking or not blocking_only)
        )


def _severity_order(decision: Decision) -> tuple[int, str, str]:
    f = decision.finding
    return (-int(f.severity), f.id, f.fingerprint)
