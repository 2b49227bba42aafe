"""The finding model every reader produces and every output consumes: frozen values, no I/O."""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum, StrEnum
from functools import lru_cache

from gate.speed import fast_init


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
    logical: str | None = None
    """The place inside the file named without lines, when known: a Dockerfile's stage and instruction, a
    manifest's object and field. Part of a finding's identity, where lines never are."""


@dataclass(frozen=True, slots=True)
class Landmark:
    """A named span of a file (one Dockerfile instruction): findings that only know a line take its name."""

    path: str
    start_line: int
    end_line: int
    logical: str


@fast_init
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


@fast_init
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
    landmarks: tuple[Landmark, ...] = ()
    """Line-free names of the spans of the files it read (see `Location.logical`), for other tools' findings."""


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


MOST_SEVERE_FIRST: tuple[Severity, ...] = tuple(sorted(Severity, reverse=True))
"""CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN: the one order every table and flag lists severities in."""
SEVERITY_NAME = {s: s.name for s in Severity}
"""`Severity.name` as a plain lookup: enum `.name` is a descriptor call, costly on per-finding paths."""
KIND_VALUE = {k: k.value for k in Kind}
"""`Kind.value` as a plain lookup, for the same reason."""
_VULNERABILITY = Kind.VULNERABILITY.value
OWN_TOOL = "container-gate"
"""`Source.tool` of the built-in Dockerfile rules."""
_VULN_KIND = Kind.VULNERABILITY
_CONFIG_KINDS = frozenset({Kind.MISCONFIGURATION, Kind.POLICY})
"""Kinds whose findings several tools report about the same Dockerfile or manifest (merged across tools)."""

_AVD_ID = re.compile(r"^AVD-([A-Za-z]+)-(\d+)$")
_TRIVY_SHORT_ID = re.compile(r"^(DS|KSV|KCV)-?(\d+)$", re.IGNORECASE)


@lru_cache(maxsize=8192)
def rule_key(rule_id: str) -> str:
    """A rule id spelt one way. Trivy has named each check three ways over the years (`DS002`, the AVD id
    `AVD-DS-0002`, now `DS-0002`): all three are `DS-0002`, and so for every DS, KSV and KCV id and every
    `AVD-` id. Any other id comes back as it is (stripped)."""
    text = rule_id.strip()
    m = _AVD_ID.match(text) or _TRIVY_SHORT_ID.match(text)
    if m is None:
        return text
    return f"{m[1].upper()}-{int(m[2]):04d}"


@lru_cache(maxsize=4096)
def normal_path(path: str) -> str:
    """A file path spelt one way: forward slashes, no `./` or doubled slashes (`.\\app//Dockerfile` is
    `app/Dockerfile`), so tools that name one file differently meet on it."""
    text = path.strip().replace("\\", "/")
    return posixpath.normpath(text) if text else text


def relative_path(path: str, cwd: str) -> str:
    """`normal_path`, and an absolute path inside `cwd` made relative to it (tools that were given an
    absolute folder write absolute paths; the gate names files relative to where it runs)."""
    text = normal_path(path)
    root = normal_path(cwd).rstrip("/") + "/"
    return text[len(root) :] if text.startswith(root) and len(text) > len(root) else text


def dedupe_key(finding: Finding) -> tuple[str, ...]:
    """What makes two sightings the same finding (see `fingerprint`)."""
    if finding.kind is _VULN_KIND:
        return (
            _VULNERABILITY,
            finding.id.upper(),
            (finding.package or "").lower(),
            finding.installed_version or "",
            image_key(finding.target),
        )
    return _identity(finding)


def _identity(finding: Finding) -> tuple[str, ...]:
    # Never a line number: lines move with every edit above them, and a baseline or a code-scanning
    # alert keyed on them breaks on a comment. What the finding is: its rule, its file, the line-free
    # place inside it (`Location.logical`) and what it says there.
    loc = finding.location
    kind = finding.kind
    if kind is Kind.POLICY:
        detail = finding.title
    elif kind is Kind.MISCONFIGURATION:
        # Trivy's Message names the offending object or command ("Container 'web' of Deployment 'web'
        # should set ..."), where its Title is the check's name.
        detail = finding.prop("message") or finding.title
    else:
        detail = ""
    key = (
        KIND_VALUE[kind],
        rule_key(finding.id),
        normal_path(loc.path if loc else finding.target),
        (loc.logical or "") if loc else "",
        detail,
    )
    # Licenses are keyed by license name, so two packages under one license in one target would
    # otherwise merge; the package is what tells them apart.
    return (*key, finding.package) if finding.package else key


def fingerprint(finding: Finding) -> str:
    """sha256 over the dedupe key: vulnerabilities by id, package, version and image repository;
    everything else by rule id (one spelling, see `rule_key`), file, the line-free place in it when known,
    what it says (a rule can say several things about one place) and the package when there is one. No
    line number is ever part of it; where nothing else tells two findings of one rule in one file apart,
    `dedupe` numbers them in line order instead."""
    return _key_hash(dedupe_key(finding))


def _key_hash(key: tuple[str, ...]) -> str:
    import hashlib  # (here: OpenSSL loads in ~4 ms, and the first fingerprint comes long after start-up)

    return hashlib.sha256("\x1f".join(key).encode()).hexdigest()


AliasTable = Mapping[str, frozenset[str]]
"""Rule ids (as `rule_key` spells them) to the groups of ids that mean the same problem: the built-in rules
(`CG-DF-...`) whose equivalents they are, or the Trivy id of a hadolint/Trivy pair without one of ours."""


def dedupe(
    findings: Iterable[Finding],
    *,
    landmarks: Sequence[Landmark] = (),
    aliases: Callable[[], AliasTable] | None = None,
) -> tuple[Finding, ...]:
    """Merge sightings of the same finding into one with every source.

    Vulnerabilities meet by key: a Grype match keyed by GHSA with a related CVE and a Trivy match keyed
    by the CVE meet because `Finding.create` already made the CVE canonical on both. The other kinds
    take a second pass (`_dedupe_others`): line-free identities, then one finding per problem across
    tools (our rule, hadolint and `trivy config` on one instruction). `landmarks` name the spans of the
    files our own checks parsed; `aliases` gives the alias table, asked for only when some file has
    findings of two tools."""
    merged: dict[tuple[str, ...], Finding] = {}
    others: list[Finding] = []
    for f in findings:
        if f.kind is not _VULN_KIND:
            # A placeholder keeps the finding's place in the order of first appearance.
            merged[("", str(len(others)))] = f
            others.append(f)
            continue
        key = dedupe_key(f)
        seen = merged.get(key)
        merged[key] = f if seen is None else seen.merged(f)
    if not others:
        for key, f in merged.items():
            # A merged finding keeps its first sighting's identity fields, so its key is this key: the
            # fingerprint is memoised here rather than recomputing the key for every output.
            if f._fingerprint is None:
                object.__setattr__(f, "_fingerprint", _key_hash(key))
        return tuple(merged.values())
    placed = _dedupe_others(others, landmarks, aliases)
    out: list[Finding] = []
    for key, f in merged.items():
        if key[0]:
            if f._fingerprint is None:
                object.__setattr__(f, "_fingerprint", _key_hash(key))
            out.append(f)
        else:
            found = placed.get(int(key[1]))
            if found is not None:
                out.append(found)
    return tuple(out)


@dataclass(slots=True)
class _Seen:
    """One finding of the second pass: where it first appeared, its identity, and the finding so far."""

    pos: int
    key: tuple[str, ...]
    finding: Finding
    start: int | None
    end: int | None
    tools: frozenset[str]


def _dedupe_others(
    others: Sequence[Finding], landmarks: Sequence[Landmark], aliases: Callable[[], AliasTable] | None
) -> dict[int, Finding]:
    """Findings by the position of their first sighting, each with its fingerprint memoised."""
    marks = _landmark_index(landmarks)
    items = [_named(f, marks) for f in others] if marks else others
    spans = [_lines(f) for f in items]
    keys = _numbered_keys(items, spans)
    exact: dict[tuple[str, ...], _Seen] = {}
    for pos, f in enumerate(items):
        key = keys[pos]
        seen = exact.get(key)
        if seen is None:
            start, end = spans[pos]
            exact[key] = _Seen(pos, key, f, start, end, _tools(f))
        else:
            seen.finding = seen.finding.merged(f)
            seen.tools |= _tools(f)
    entries = _across_tools(list(exact.values()), aliases)
    placed: dict[int, Finding] = {}
    for entry in entries:
        object.__setattr__(entry.finding, "_fingerprint", _key_hash(entry.key))
        placed[entry.pos] = entry.finding
    return placed


def _tools(f: Finding) -> frozenset[str]:
    sources = f.sources
    if len(sources) == 1:
        return _one_tool(sources[0].tool)
    return frozenset(s.tool for s in sources)


@lru_cache(maxsize=256)
def _one_tool(tool: str) -> frozenset[str]:
    return frozenset((tool,))


def _lines(f: Finding) -> tuple[int | None, int | None]:
    loc = f.location
    start = loc.start_line if loc is not None and loc.start_line and loc.start_line > 0 else None
    if start is None or loc is None:
        return None, None
    end = loc.end_line if loc.end_line and loc.end_line >= start else start
    return start, end


def _landmark_index(landmarks: Sequence[Landmark]) -> dict[str, tuple[list[int], list[Landmark]]]:
    by_path: dict[str, list[Landmark]] = {}
    for mark in landmarks:
        by_path.setdefault(normal_path(mark.path), []).append(mark)
    index = {}
    for path, marks in by_path.items():
        marks.sort(key=lambda m: m.start_line)
        index[path] = ([m.start_line for m in marks], marks)
    return index


def _named(f: Finding, marks: Mapping[str, tuple[list[int], list[Landmark]]]) -> Finding:
    """A finding that knows only a line, given the line-free name of the span it falls in."""
    loc = f.location
    if loc is None or loc.logical is not None or not loc.start_line:
        return f
    found = marks.get(normal_path(loc.path))
    if found is None:
        return f
    starts, spans = found
    i = bisect.bisect_right(starts, loc.start_line) - 1
    if i < 0 or spans[i].end_line < loc.start_line:
        return f
    return replace(f, location=replace(loc, logical=spans[i].logical))


def _numbered_keys(items: Sequence[Finding], spans: Sequence[tuple[int | None, int | None]]) -> list[tuple[str, ...]]:
    """Each finding's identity; where one tool's report has several findings of one identity on different
    lines (a rule firing on two identical RUN lines, a generic message about two containers), they are
    numbered in line order, which an edit above them does not change."""
    keys = [_identity(f) for f in items]
    first: dict[tuple[object, ...], int] = {}
    several: dict[tuple[object, ...], set[int]] = {}
    for f, key, (start, _) in zip(items, keys, spans, strict=True):
        group = (key, _sighting(f))
        line = start or 0
        seen = first.setdefault(group, line)
        if seen != line:
            several.setdefault(group, {seen}).add(line)
    if not several:
        return keys
    ranks = {group: {line: n for n, line in enumerate(sorted(found))} for group, found in several.items()}
    out = []
    for f, key, (start, _) in zip(items, keys, spans, strict=True):
        rank = ranks.get((key, _sighting(f)))
        n = rank[start or 0] if rank else 0
        out.append((*key, f"#{n}") if n else key)
    return out


def _sighting(f: Finding) -> tuple[str, str]:
    first = f.sources[0] if f.sources else None
    return (first.tool, first.report) if first is not None else ("", "")


def _across_tools(entries: list[_Seen], aliases: Callable[[], AliasTable] | None) -> list[_Seen]:
    """One finding per problem: misconfiguration and policy findings of different tools in one file,
    linked by the alias table (or by their own ids and aliases), on the same or overlapping lines or one
    of them about the whole file, become one. Each tool's sighting joins at most one other finding."""
    by_path: dict[str, list[_Seen]] = {}
    out: list[_Seen] = []
    for entry in entries:
        if entry.finding.kind in _CONFIG_KINDS:
            by_path.setdefault(entry.key[2], []).append(entry)
        else:
            out.append(entry)
    table: AliasTable | None = None
    for group in by_path.values():
        if len(group) < 2 or len({t for e in group for t in e.tools}) < 2:
            out.extend(group)
            continue
        if table is None:
            table = aliases() if aliases is not None else {}
        known: dict[tuple[str, tuple[str, ...]], frozenset[str]] = {}
        tokens = [_tokens(e.finding, table, known) for e in group]
        if _shared(group, tokens):
            out.extend(_clusters(group, tokens))
        else:
            out.extend(group)
    return out


def _shared(group: Sequence[_Seen], tokens: Sequence[frozenset[str]]) -> bool:
    """True when some id links findings of two tools (else there is nothing to merge in this file)."""
    tools_of: dict[str, frozenset[str]] = {}
    for entry, found in zip(group, tokens, strict=True):
        for token in found:
            seen = tools_of.get(token)
            if seen is None:
                tools_of[token] = entry.tools
            elif seen != entry.tools:
                return True
    return False


def _clusters(group: list[_Seen], tokens: list[frozenset[str]]) -> list[_Seen]:
    order = sorted(range(len(group)), key=lambda i: (_precedence(group[i]), group[i].start or 0, group[i].key))
    clusters: list[list[_Seen]] = []
    index: dict[str, list[int]] = {}
    for i in order:
        entry = group[i]
        best: tuple[int, int] | None = None
        for token in tokens[i]:
            for n in index.get(token, ()):
                if any(m.tools & entry.tools for m in clusters[n]):
                    continue
                fit = _fit(clusters[n][0], entry)
                if fit is not None and (best is None or (fit, n) < best):
                    best = (fit, n)
        if best is None:
            for token in tokens[i]:
                index.setdefault(token, []).append(len(clusters))
            clusters.append([entry])
        else:
            clusters[best[1]].append(entry)
    return [_joined(c) for c in clusters]


def _precedence(entry: _Seen) -> int:
    # The anchor of a merged finding gives its id, kind, words and fingerprint: our built-in rule when one
    # takes part (its id is documented and stable), else Trivy's, else hadolint's, else any other tool's.
    if OWN_TOOL in entry.tools:
        return 0
    if "trivy" in entry.tools:
        return 1
    return 2 if "hadolint" in entry.tools else 3


def _tokens(f: Finding, table: AliasTable, known: dict[tuple[str, tuple[str, ...]], frozenset[str]]) -> frozenset[str]:
    """The ids a finding can be linked by: its own, its aliases and what the alias table maps them to."""
    ids = (f.id, f.aliases)
    found = known.get(ids)
    if found is None:
        linked: set[str] = set()
        for rule in (f.id, *f.aliases):
            key = rule_key(rule)
            linked.add(key)
            linked.update(table.get(key, ()))
        found = known[ids] = frozenset(linked)
    return found


def _fit(anchor: _Seen, entry: _Seen) -> int | None:
    """How well a sighting sits with a finding: 0 same first line, 1 overlapping lines, 2 one of them is
    about the whole file (Trivy's DS-0026 has no line), None apart."""
    if anchor.start is None or entry.start is None:
        return 2
    if anchor.start == entry.start:
        return 0
    assert anchor.end is not None and entry.end is not None
    return 1 if anchor.start <= entry.end and entry.start <= anchor.end else None


def _joined(members: list[_Seen]) -> _Seen:
    """One finding from a cluster: the anchor's id, kind, words, place and fingerprint; the most severe
    severity of them all; every id, source, reference and property; any tool's own suppression."""
    anchor = members[0]
    if len(members) == 1:
        return anchor
    findings = [m.finding for m in members]
    first = anchor.finding
    worst = max(f.severity for f in findings)
    ids = {i for f in findings for i in (f.id, *f.aliases)} - {first.id}
    props: dict[str, str] = {}
    for f in reversed(findings):
        props.update(f.properties)
    location = first.location
    if anchor.start is None:
        lined = next((f.location for f in findings if _lines(f)[0] is not None), None)
        if lined is not None:
            location = replace(lined, logical=first.location.logical if first.location else None)
    joined = replace(
        first,
        severity=worst,
        aliases=tuple(sorted(ids)),
        sources=tuple(dict.fromkeys(s for f in findings for s in f.sources)),
        location=location,
        description=first.description or next((f.description for f in findings if f.description), ""),
        references=tuple(dict.fromkeys(r for f in findings for r in f.references)),
        help_uri=first.help_uri or next((f.help_uri for f in findings if f.help_uri), None),
        tool_suppression=next((f.tool_suppression for f in findings if f.tool_suppression), None),
        properties=tuple(sorted(props.items())),
    )
    start, end = _lines(joined)
    return _Seen(
        min(m.pos for m in members), anchor.key, joined, start, end, frozenset(t for m in members for t in m.tools)
    )


@fast_init
@dataclass(frozen=True, slots=True)
class Decision:
    """The policy's judgement of one finding."""

    finding: Finding
    blocking: bool
    suppression: Suppression | None = None
    notes: tuple[str, ...] = ()
    """Why it does not block although it could (e.g. `in baseline`, `no fix available`, `within budget`)."""
    reasons: tuple[str, ...] = ()
    """Why it blocks, when it does: `severity`, `kev`, `epss ≥ P` (see `gate.decide.verdict`)."""


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
