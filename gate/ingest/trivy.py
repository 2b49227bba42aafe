"""Reads Trivy JSON reports (SchemaVersion 2, the `trivy k8s` shape, the pre-0.20 bare list) into findings."""

from __future__ import annotations

import posixpath
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from gate.errors import InputError
from gate.ingest.base import (
    Unreadable,
    broken,
    clip,
    file_path,
    kind_of,
    objects,
    one_of,
    opt_line,
    opt_obj,
    opt_str,
    req_str,
    str_list,
    unreadable,
    wrong,
)
from gate.ingest.base import score as _score_field
from gate.model import (
    Finding,
    FixState,
    Kind,
    Location,
    Report,
    Severity,
    Skipped,
    Source,
    Suppression,
    canonical_id,
    normal_path,
    rule_key,
)
from gate.speed import collector_paused

_SEVERITY = {s.name: s for s in Severity}

# Trivy's `Status` (pkg/types/vulnerability.go). `not_affected` is the vendor's own statement, so
# such a finding is kept but marked suppressed by the tool (Trivy itself hides it by default).
_STATUS = {
    "fixed": FixState.FIXED,
    "affected": FixState.NOT_FIXED,
    "fix_deferred": FixState.NOT_FIXED,
    "will_not_fix": FixState.WONT_FIX,
    "end_of_life": FixState.WONT_FIX,
    "under_investigation": FixState.UNKNOWN,
    "not_affected": FixState.UNKNOWN,
    "unknown": FixState.UNKNOWN,
}

# Package types of OS package managers, used to tell os-pkgs from lang-pkgs in the legacy list,
# which predates the `Class` field.
_OS_TYPES = frozenset(
    "alpine wolfi chainguard debian ubuntu redhat centos rocky alma oracle amazon fedora photon "
    "suse opensuse opensuse-leap opensuse-tumbleweed sles cbl-mariner azurelinux bottlerocket echo "
    "minimos".split()
)

_LEGACY_HINT = "re-run with Trivy >= 0.20, whose `--format json` writes SchemaVersion 2"
_K8S_LISTS = ("Resources", "Findings", "Vulnerabilities", "Misconfigurations")
_K8S_SCHEMAS = (0, 2)


class Declined(Exception):
    """The typed path met JSON it does not decode the way orjson does (a nested value too deep for
    msgspec, a number out of range inside raw JSON): the file is read again the general way, so that
    both paths end with the same error."""


@dataclass(slots=True)
class _Scope:
    """What the findings of one Results list share: the report, the scanned artifact and its OS."""

    origin: str
    tool_version: str | None
    artifact: str | None
    image: bool
    """True when the artifact is a container image: vulnerabilities then target the image name."""
    os: str | None = None
    prefix: str = ""
    """Prepended to config targets (a k8s resource's namespace) so equal names stay apart."""
    base: str = ""
    """The scanned folder config and secret targets are relative to (`ArtifactName` of a filesystem scan)."""
    paths: dict[str, str] = field(default_factory=dict)
    """Config targets joined with `base`, by target (one per Results entry, not per finding)."""
    findings: list[Finding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    references: dict[bytes, tuple[str, ...]] = field(default_factory=dict)
    scores: dict[tuple[bytes, str | None], float | None] = field(default_factory=dict)
    """Decoded reference lists by their raw JSON (one per distinct list; see `_TypedVuln`)."""

    def skip(self, reason: str) -> None:
        """Record what the report itself says was not scanned (a k8s resource Trivy could not reach)."""
        self.skipped.append(Skipped(report=self.origin, reason=reason))


class TrivyParser:
    """Trivy's JSON report: detected by `SchemaVersion`/`ArtifactName`, `ClusterName`, or the legacy list."""

    name = "trivy"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        if doc is None:
            # Trivy < 0.20 printed a bare `null` when it found nothing to scan.
            return True
        if isinstance(doc, dict):
            if "ClusterName" in doc:
                return True
            return "SchemaVersion" in doc or ("ArtifactName" in doc and "Results" in doc)
        if isinstance(doc, list) and doc:
            first = doc[0]
            return isinstance(first, dict) and "Target" in first and "filename" not in first
        return False

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        with collector_paused():
            return self._parse(doc, origin)

    def _parse(self, doc: Any, origin: str) -> Report:
        if doc is None:
            raise InputError(
                f"Trivy report is `null` (written by Trivy < 0.20 for an empty scan); {_LEGACY_HINT}", path=origin
            )
        if isinstance(doc, list):
            return _parse_legacy(doc, origin)
        if not isinstance(doc, dict):
            raise InputError("not a Trivy report: expected a JSON object", path=origin)
        if "ClusterName" in doc:
            return _parse_k8s(doc, origin)
        return _parse_v2(doc, origin)


def _parse_v2(doc: dict[str, Any], origin: str) -> Report:
    if "SchemaVersion" not in doc:
        raise InputError(
            f"Trivy JSON without SchemaVersion (Trivy < 0.20 or edited by hand); {_LEGACY_HINT}", path=origin
        )
    version = doc["SchemaVersion"]
    if version != 2 or isinstance(version, bool):
        raise InputError(f"Trivy SchemaVersion {version!r} is not supported (this reader knows 2)", path=origin)
    results = doc.get("Results")
    if results is not None and not isinstance(results, list):
        raise InputError("Trivy report: `Results` must be a list", path=origin)
    scope = _header(doc, origin)
    _read_results(scope, results or (), where="Results")
    return _report(scope)


def _header(doc: dict[str, Any], origin: str) -> _Scope:
    """The report's own fields every finding shares; a wrong type there is an error like an entry's."""
    try:
        meta = opt_obj(doc, "Metadata")
        artifact = opt_str(doc, "ArtifactName")
        artifact_type = opt_str(doc, "ArtifactType")
        return _Scope(
            origin=origin,
            tool_version=_tool_version(doc),
            artifact=artifact,
            image=artifact is not None and _is_image(artifact_type, meta),
            os=_os_name(meta),
            base=_config_base(artifact, artifact_type),
        )
    except Unreadable as exc:
        raise unreadable(exc, "", origin) from None


_NotList = dict[str, Any] | str | int | float | bool | None
"""A value that should be a list but is not: kept, and handled as the general path handles it."""


class _Scores(msgspec.Struct, gc=False):
    """One CVSS source's scores; its vectors are skipped by the decoder. Read like the dict it replaces."""

    V3Score: Any = None
    V40Score: Any = None
    V2Score: Any = None

    def get(self, name: str) -> Any:
        """`dict.get` for the three scores (absent and null are both None, as in a dict)."""
        return getattr(self, name, None)


_Cvss = dict[str, _Scores | str | int | float | bool | list[Any] | None] | str | int | float | bool | list[Any] | None
"""The CVSS table with typed entries; anything else is kept as it is and ignored as in the general path."""


class _Vuln(msgspec.Struct, gc=False):
    """The fields of a vulnerability entry this reader uses; the others (Layer, DataSource, CweIDs,
    VendorSeverity, dates…) are skipped by the decoder without building objects for them.

    The fields are `Any` on purpose: a wrong type reaches the same checks as in the general path and
    becomes the same `Skipped` entry."""

    VulnerabilityID: Any = None
    VendorIDs: Any = None
    PkgName: Any = None
    PkgPath: Any = None
    PkgIdentifier: Any = None
    InstalledVersion: Any = None
    FixedVersion: Any = None
    Status: Any = None
    Severity: Any = None
    SeveritySource: Any = None
    PrimaryURL: Any = None
    Title: Any = None
    Description: Any = None
    CVSS: _Cvss = None
    References: Any = None
    """Decoded by `_TypedVuln` as raw JSON: see `_references`."""


class _TypedVuln(_Vuln, gc=False):
    """`_Vuln` as the typed decoder builds it: `References` and `CVSS` kept as raw JSON, each decoded
    once per distinct value (see `_references` and `_score`).

    A CVE's reference list and CVSS table are the same for every package it affects (the list runs to
    dozens of URLs): decoding each copy was a fifth of the decode, and most of the findings' memory."""

    References: msgspec.Raw = msgspec.Raw(b"null")
    CVSS: msgspec.Raw = msgspec.Raw(b"null")  # type: ignore[assignment]


_Entry = _TypedVuln | str | int | float | bool | list[Any] | None
"""A Vulnerabilities item: anything but an object is kept as it is and skipped as the general path does."""


class _Result(msgspec.Struct, gc=False):
    """One Results entry as the typed path reads it: vulnerabilities typed, the rare kinds left as JSON."""

    Target: Any = None
    Class: Any = None
    Type: Any = None
    Vulnerabilities: list[_Entry] | _NotList = None
    Misconfigurations: Any = None
    Secrets: Any = None
    Licenses: Any = None
    ExperimentalModifiedFindings: Any = None


class _Document(msgspec.Struct, gc=False):
    """A SchemaVersion 2 report as the typed path reads it (see `decode_typed`)."""

    SchemaVersion: Any = msgspec.UNSET
    ClusterName: Any = msgspec.UNSET
    runs: Any = msgspec.UNSET
    """Present in SARIF, which detection tries first: such a document is not taken here."""
    ArtifactName: Any = None
    ArtifactType: Any = None
    Metadata: Any = None
    Trivy: Any = None
    Results: list[_Result | str | int | float | bool | list[Any] | None] | None = None


_DECODER: msgspec.json.Decoder[_Document] = msgspec.json.Decoder(_Document)
_CVSS_DECODER: msgspec.json.Decoder[_Cvss] = msgspec.json.Decoder(_Cvss)


def decode_typed(data: bytes | memoryview) -> _Document | None:
    """The typed fast path's document, or None when the general path must read this file.

    The typed path decodes only the fields the reader uses, straight into small structs (no dict per
    entry, unused fields never become objects): at 20,000 vulnerabilities it is about twice as fast as
    JSON-to-dicts and needs about half the memory. It takes only what detection would hand to this
    reader as a plain SchemaVersion 2 report with well-formed lists; anything else (another format,
    invalid JSON, a non-object entry, a list that is not one, an unknown version, nesting deeper than
    msgspec's recursion allows) returns None and goes the general way, which gives the same findings
    and the same errors."""
    with collector_paused(), _nesting_bounded():
        try:
            doc = _DECODER.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
    version = doc.SchemaVersion
    if doc.ClusterName is not msgspec.UNSET or doc.runs is not msgspec.UNSET or version is msgspec.UNSET:
        return None
    if version != 2 or isinstance(version, bool):
        return None
    return doc


NESTING = 1000
"""Nesting the typed path decodes; deeper documents go the general way, where orjson stops at 1024 levels
and says so. msgspec's own limit is Python's recursion limit, which callers (and Hypothesis) raise."""


@contextmanager
def _nesting_bounded() -> Iterator[None]:
    # msgspec counts one recursive call per nesting level against the interpreter's limit: a limit just
    # above the current stack bounds it below orjson's, so the typed path never reads what orjson refuses.
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + NESTING)
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def parse_typed(doc: _Document, origin: str) -> Report:
    """Read a document from `decode_typed`: the same report `TrivyParser.parse` makes of its JSON.

    Raises `Declined` when raw JSON kept for later cannot be decoded here (see `Declined`)."""
    with collector_paused():
        header = {"Metadata": doc.Metadata, "ArtifactName": doc.ArtifactName, "ArtifactType": doc.ArtifactType}
        scope = _header({**header, "Trivy": doc.Trivy}, origin)
        for index, result in enumerate(doc.Results or ()):
            if not isinstance(result, _Result):
                raise InputError(f"Results[{index}]: expected an object, got {kind_of(result)}", path=origin)
            _read_typed_result(scope, result, index)
        return _report(scope)


def _read_typed_result(scope: _Scope, typed: _Result, index: int) -> None:
    result = {
        "Target": typed.Target,
        "Class": typed.Class,
        "Type": typed.Type,
        "Misconfigurations": typed.Misconfigurations,
        "Secrets": typed.Secrets,
        "Licenses": typed.Licenses,
        "ExperimentalModifiedFindings": typed.ExperimentalModifiedFindings,
    }
    where = f"Results[{index}]"
    target = _target(scope, result, where)
    vulnerabilities = typed.Vulnerabilities
    if isinstance(vulnerabilities, list):
        _read_typed_vulnerabilities(scope, result, target, vulnerabilities, f"{where}.Vulnerabilities")
    elif vulnerabilities is not None:
        raise unreadable(wrong("Vulnerabilities", vulnerabilities, "a list"), where, scope.origin)
    _read_kinds(scope, result, target, _READERS[1:], where)


def _read_typed_vulnerabilities(
    scope: _Scope, result: dict[str, Any], target: str, entries: list[_Entry], where: str
) -> None:
    append = scope.findings.append
    pkg_class: str | None = None
    for index, entry in enumerate(entries):
        try:
            if not isinstance(entry, _TypedVuln):
                raise wrong("", entry, "an object")
            if pkg_class is None:
                pkg_class = _pkg_class(result)
            append(_vuln_finding(scope, pkg_class, target, entry))
        except Unreadable as exc:
            raise unreadable(exc, f"{where}[{index}]", scope.origin) from None
        except (msgspec.DecodeError, RecursionError):
            raise Declined from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise broken(exc, f"{where}[{index}]", scope.origin) from None


def _parse_legacy(doc: list[Any], origin: str) -> Report:
    # Trivy < 0.20 wrote the Results list alone; the entries carry the same field names, so they are
    # read as they are. The image name is the first OS target without its `(os version)` suffix.
    artifact = None
    for result in doc:
        target = result.get("Target") if isinstance(result, dict) else None
        target = target.strip() if isinstance(target, str) else None
        if target and target.endswith(")") and " (" in target:
            artifact = target.rsplit(" (", 1)[0]
            break
    scope = _Scope(origin=origin, tool_version=None, artifact=artifact, image=artifact is not None)
    _read_results(scope, doc, where="")
    return _report(scope)


def _parse_k8s(doc: dict[str, Any], origin: str) -> Report:
    version = doc.get("SchemaVersion", 0)
    if version not in _K8S_SCHEMAS or isinstance(version, bool):
        raise InputError(
            f"Trivy k8s report SchemaVersion {version!r} is not supported (this reader knows 2)", path=origin
        )
    try:
        cluster = opt_str(doc, "ClusterName") or "cluster"
        tool_version = _tool_version(doc)
    except Unreadable as exc:
        raise unreadable(exc, "", origin) from None
    scope = _Scope(origin=origin, tool_version=tool_version, artifact=cluster, image=False)
    for key in _K8S_LISTS:
        resources = doc.get(key)
        if resources is None:
            continue
        if not isinstance(resources, list):
            raise InputError(f"Trivy k8s report: `{key}` must be a list", path=origin)
        for index, resource in enumerate(resources):
            _read_resource(scope, resource, f"{key}[{index}]", cluster)
    return _report(scope)


def _read_resource(scope: _Scope, resource: Any, where: str, cluster: str) -> None:
    try:
        sub = _resource_scope(scope, resource, where, cluster)
    except Unreadable as exc:
        raise unreadable(exc, where, scope.origin) from None
    results = resource.get("Results")
    if results is not None and not isinstance(results, list):
        raise unreadable(wrong("Results", results, "a list"), where, scope.origin)
    _read_results(sub, results or (), where=f"{where}.Results")
    scope.findings.extend(sub.findings)
    scope.skipped.extend(sub.skipped)
    scope.os = scope.os or sub.os


def _resource_scope(scope: _Scope, resource: Any, where: str, cluster: str) -> _Scope:
    if not isinstance(resource, dict):
        raise wrong("", resource, "an object")
    parts = [opt_str(resource, k) for k in ("Namespace", "Kind", "Name")]
    name = "/".join(p for p in parts if p) or where
    error = opt_str(resource, "Error")
    if error:
        # Trivy's own word that it could not scan the resource: readable, and shown with the verdict.
        scope.skip(f"{cluster}/{name}: Trivy could not scan it: {error}")
    meta = opt_obj(resource, "Metadata")
    image = _first_text(meta, "RepoTags") or _first_text(meta, "RepoDigests")
    namespace = parts[0]
    return _Scope(
        origin=scope.origin,
        tool_version=scope.tool_version,
        artifact=image or f"{cluster}/{name}",
        image=image is not None,
        os=_os_name(meta),
        prefix=f"{namespace}/" if namespace else "",
    )


def _read_results(scope: _Scope, results: Iterable[Any], where: str) -> None:
    """Each Results entry; `where` is the list's JSON path (empty for the legacy bare list)."""
    for index, result in enumerate(results):
        path = f"{where}[{index}]"
        if not isinstance(result, dict):
            raise unreadable(wrong("", result, "an object"), path, scope.origin)
        _read_kinds(scope, result, _target(scope, result, path), _READERS, path)


def _target(scope: _Scope, result: dict[str, Any], where: str) -> str:
    try:
        opt_str(result, "Class")
        opt_str(result, "Type")
        return opt_str(result, "Target") or where
    except Unreadable as exc:
        raise unreadable(exc, where, scope.origin) from None


def _read_kinds(
    scope: _Scope, result: dict[str, Any], target: str, readers: Iterable[tuple[str, _Builder]], where: str
) -> None:
    """Each finding list of one Results entry that `readers` name, then what Trivy suppressed.

    `where` is the entry's JSON path (`Results[0]`), which every error names."""
    for key, build in readers:
        entries = result.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise unreadable(wrong(key, entries, "a list"), where, scope.origin)
        _read_entries(scope, result, target, key, entries, build, where)
    _read_modified(scope, result, target, where)


def _read_entries(
    scope: _Scope,
    result: dict[str, Any],
    target: str,
    key: str,
    entries: list[Any],
    build: _Builder,
    where: str,
) -> None:
    append = scope.findings.append
    for index, entry in enumerate(entries):
        path = f"{where}.{key}[{index}]"
        try:
            if not isinstance(entry, dict):
                raise wrong("", entry, "an object")
            finding = build(scope, result, target, entry)
        except Unreadable as exc:
            raise unreadable(exc, path, scope.origin) from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            # A shape our checks did not foresee: still the entry's error, never a pass.
            raise broken(exc, path, scope.origin) from None
        if finding is not None:
            append(finding)


def _read_modified(scope: _Scope, result: dict[str, Any], target: str, where: str) -> None:
    # `--show-suppressed` lists findings Trivy suppressed (.trivyignore, VEX) here: keep them, suppressed.
    try:
        modified = objects(result, "ExperimentalModifiedFindings")
    except Unreadable as exc:
        raise unreadable(exc, where, scope.origin) from None
    builders = {
        "vulnerability": _vulnerability,
        "misconfiguration": _misconfiguration,
        "secret": _secret,
        "license": _license,
    }
    for index, item in enumerate(modified):
        path = f"{where}.ExperimentalModifiedFindings[{index}]"
        try:
            kind = one_of(req_str(item, "Type"), "Type", builders)
            build = builders[kind or ""]
            if not isinstance(inner := item.get("Finding"), dict):
                raise wrong("Finding", inner, "an object")
            try:
                finding = build(scope, result, target, inner)
            except Unreadable as exc:
                raise Unreadable(f"Finding.{exc.field}" if exc.field else "Finding", exc.message) from None
            status = opt_str(item, "Status") or "ignored"
            why = "; ".join(t for t in (opt_str(item, "Statement"), opt_str(item, "Source")) if t)
        except Unreadable as exc:
            raise unreadable(exc, path, scope.origin) from None
        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise broken(exc, path, scope.origin) from None
        if finding is not None:
            reason = f"suppressed by Trivy ({status}{': ' + why if why else ''})"
            scope.findings.append(replace(finding, tool_suppression=Suppression(by="tool", reason=reason)))


def _vulnerability(scope: _Scope, result: dict[str, Any], target: str, v: dict[str, Any]) -> Finding:
    # A plain struct call does not check types: wrong ones reach `_vuln_finding`'s checks as they are.
    return _vuln_finding(scope, _pkg_class(result), target, _Vuln(*[v.get(k) for k in _Vuln.__struct_fields__]))


def _pkg_class(result: dict[str, Any]) -> str:
    pkg_class = result.get("Class")
    if pkg_class in ("os-pkgs", "lang-pkgs"):
        return str(pkg_class)
    return "os-pkgs" if result.get("Type") in _OS_TYPES else "lang-pkgs"


_TEXT_FIELDS = ("InstalledVersion", "FixedVersion", "Status", "SeveritySource", "PkgPath", "PrimaryURL", "Title")
_str = str
_is_str = str.__instancecheck__
_TEXT_TYPES = frozenset({str, type(None)})


def _checked(v: _Vuln) -> None:
    """Refuse a vulnerability whose fields have types Trivy never writes, naming the first such field.

    One cheap test covers the common entry (every field a string or null, 100k times per large report);
    the named error is worked out only when it fails."""
    vid, package, word = v.VulnerabilityID, v.PkgName, v.Severity
    texts = (v.InstalledVersion, v.FixedVersion, v.Status, v.SeveritySource, v.PkgPath, v.PrimaryURL, v.Title)
    if (
        type(vid) is not _str
        or type(package) is not _str
        or not vid.strip()
        or not package.strip()
        or (word is not None and word not in _SEVERITY)
        or not all(map(_TEXT_TYPES.__contains__, map(type, texts)))
        or (v.Description is not None and type(v.Description) is not _str)
    ):
        _name_the_field(v)
    vendor_ids, ident = v.VendorIDs, v.PkgIdentifier
    if vendor_ids is not None and (type(vendor_ids) is not list or not all(map(_is_str, vendor_ids))):
        str_list({"VendorIDs": vendor_ids}, "VendorIDs")
    if ident is not None:
        purl = opt_obj({"PkgIdentifier": ident}, "PkgIdentifier").get("PURL")
        if purl is not None and type(purl) is not _str:
            raise wrong("PkgIdentifier.PURL", purl, "a string")


def _name_the_field(v: _Vuln) -> None:
    req_str({"VulnerabilityID": v.VulnerabilityID}, "VulnerabilityID")
    req_str({"PkgName": v.PkgName}, "PkgName")
    for name in _TEXT_FIELDS:
        value = getattr(v, name)
        if value is not None and type(value) is not str:
            raise wrong(name, value, "a string")
    if v.Description is not None and type(v.Description) is not str:
        raise wrong("Description", v.Description, "a string")
    _trivy_severity(v.Severity, "Severity")


def _vuln_finding(scope: _Scope, pkg_class: str, target: str, v: _Vuln) -> Finding:
    _checked(v)
    vid: str = v.VulnerabilityID
    package: str = v.PkgName
    installed = v.InstalledVersion
    word = v.Severity
    fixed = v.FixedVersion or None
    status = v.Status
    fix_state = _STATUS.get(status, FixState.UNKNOWN) if status else (FixState.FIXED if fixed else FixState.UNKNOWN)
    path = v.PkgPath or (target if pkg_class == "lang-pkgs" else None)
    vendor_ids = v.VendorIDs
    primary = v.PrimaryURL
    title = v.Title
    description = v.Description
    aliases = vendor_ids if vendor_ids else ()
    if not aliases and vid == vid.strip():
        # Without aliases the id is already canonical: `canonical_id`'s set-and-sort work is skipped,
        # which matters at 100k findings.
        canonical, rest = vid, _NO_ALIASES
    else:
        canonical, rest = canonical_id(vid, aliases)
    sev = _SEVERITY.get(word) if isinstance(word, str) else Severity.UNKNOWN
    # Positional: a 21-argument keyword call costs a quarter more, once per vulnerability.
    return Finding(
        canonical,
        _VULNERABILITY,
        sev if sev is not None else _trivy_severity(word, "Severity"),
        title if isinstance(title, str) and title else f"{vid} in {package}",
        scope.artifact if scope.image and scope.artifact else target,
        package,  # package
        installed or None,  # installed_version
        fixed,  # fixed_version
        fix_state,
        Location(path) if path else None,  # location
        rest,  # aliases
        (Source("trivy", scope.origin, scope.tool_version, vid, word if isinstance(word, str) else None),),
        description or "",
        _references(scope, v.References),
        primary if isinstance(primary, str) and primary else None,  # help_uri
        _score(scope, v.CVSS, v.SeveritySource),  # cvss_score
        pkg_class,  # package_class
        None,  # epss
        False,  # kev
        _NOT_AFFECTED if status == "not_affected" else None,  # tool_suppression
        _vuln_properties(scope, v.PkgIdentifier, status),  # properties
    )


_VULNERABILITY = Kind.VULNERABILITY
_NOT_AFFECTED = Suppression(
    by="tool", reason="the vendor states the package is not affected (Trivy Status not_affected)"
)


def _vuln_properties(scope: _Scope, ident: Any, status: Any) -> tuple[tuple[str, str], ...]:
    props: list[tuple[str, str]] = []
    if scope.os:
        props.append(("os", scope.os))
    if isinstance(ident, dict) and isinstance(ident.get("PURL"), str) and ident["PURL"]:
        props.append(("purl", ident["PURL"]))
    if isinstance(status, str) and status:
        props.append(("status", status))
    return tuple(props)


def _score(scope: _Scope, table: Any, own: Any) -> float | None:
    """`_cvss` of a CVSS value, which the typed decoder leaves as raw JSON (once per distinct table)."""
    if type(table) is not msgspec.Raw:
        return _cvss(table, own)
    key = (bytes(table), own if isinstance(own, str) else None)
    if key in scope.scores:
        return scope.scores[key]
    try:
        with _nesting_bounded():
            decoded = _CVSS_DECODER.decode(key[0])
    except (msgspec.DecodeError, RecursionError):
        raise Declined from None  # msgspec.ValidationError is a DecodeError: `1e999` lands here
    found = scope.scores[key] = _cvss(decoded, own)
    return found


_SCORE_TYPES = (dict, _Scores)
"""A CVSS entry: JSON's object in the general path, the typed `_Scores` in the fast one."""
_SCORE_NAMES = ("V3Score", "V40Score", "V2Score")


def _check_scores(table: dict[str, Any]) -> None:
    """Every source's scores are numbers from 0 to 10: a score is what ranks a finding (SARIF's
    security-severity), so one that cannot be read is the entry's error."""
    for source, entry in table.items():
        if not isinstance(entry, _SCORE_TYPES):
            raise wrong(f"CVSS.{source}", entry, "an object")
        values = {n: entry.get(n) for n in _SCORE_NAMES}
        try:
            for name in _SCORE_NAMES:
                _score_field(values, name)
        except Unreadable as exc:
            raise Unreadable(f"CVSS.{source}.{exc.field}", exc.message) from None


def _cvss(table: Any, own: Any) -> float | None:
    """The score behind the severity: the SeveritySource's CVSS v3, else NVD's, else v4.0, else v2."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise wrong("CVSS", table, "an object")
    _check_scores(table)
    if not table:
        return None
    first = table.get(own) if isinstance(own, str) else None
    if isinstance(first, _SCORE_TYPES):
        # The common case, answered without building the candidate lists below.
        score = first.V3Score if type(first) is _Scores else first.get("V3Score")
        if isinstance(score, float) and score > 0:
            return score
    preferred = [table.get(own) if isinstance(own, str) else None, table.get("nvd")]
    everyone = list(table.values())
    for field_name, candidates in (
        ("V3Score", preferred),
        ("V40Score", preferred),
        ("V3Score", everyone),
        ("V40Score", everyone),
        ("V2Score", preferred),
    ):
        for entry in candidates:
            if isinstance(entry, _SCORE_TYPES):
                score = entry.get(field_name)
                if isinstance(score, int | float) and not isinstance(score, bool) and score > 0:
                    return float(score)
    return None


def _misconfiguration(scope: _Scope, result: dict[str, Any], target: str, m: dict[str, Any]) -> Finding | None:
    # Only FAIL is a finding; EXCEPTION is one the user excepted in Rego, kept as suppressed by the tool.
    # A missing Status (never written by Trivy >= 0.20) counts as FAIL so nothing passes unread.
    status = one_of(opt_str(m, "Status"), "Status", ("FAIL", "PASS", "EXCEPTION")) or "FAIL"
    avd = opt_str(m, "AVDID")
    raw = opt_str(m, "ID") or avd
    if raw is None:
        raise Unreadable("ID", "missing (and no AVDID)")
    # One spelling of the check (DS002 and AVD-DS-0002 are DS-0002); the others stay as aliases.
    rule = rule_key(raw)
    aliases = {t for t in (raw, avd) if t and t != rule}
    cause = opt_obj(m, "CauseMetadata")
    resource = opt_str(cause, "Resource")
    message = opt_str(m, "Message")
    description = "\n\n".join(t for t in (message, opt_str(m, "Description")) if t)
    resolution = opt_str(m, "Resolution")
    word = opt_str(m, "Severity")
    severity = _trivy_severity(word, "Severity")
    start, end = _lines(cause, "CauseMetadata.")
    title = opt_str(m, "Title")
    help_uri = opt_str(m, "PrimaryURL")
    references = _texts(m.get("References"), "References")
    if status == "PASS":
        return None  # read all the same: an entry that cannot be read is an error whatever it says
    path = scope.prefix + _config_path(scope, target)
    props = [("resolution", m["Resolution"])] if resolution else []
    if resource:
        props.append(("resource", cause["Resource"]))
    if message:
        props.append(("message", message))
    return Finding.create(
        id=rule,
        aliases=sorted(aliases),
        kind=Kind.MISCONFIGURATION,
        severity=severity,
        title=title or message or rule,
        target=scope.artifact if scope.image and scope.artifact else path,
        location=Location(path=path, start_line=start, end_line=end, logical=resource),
        sources=(Source("trivy", scope.origin, scope.tool_version, raw, word),),
        description=description,
        references=references,
        help_uri=help_uri,
        tool_suppression=Suppression(by="tool", reason="excepted by a Trivy policy exception (Status EXCEPTION)")
        if status == "EXCEPTION"
        else None,
        properties=tuple(sorted(props)),
    )


def _secret(scope: _Scope, result: dict[str, Any], target: str, s: dict[str, Any]) -> Finding:
    # The secret itself lives in `Match` and `Code.Lines`: neither is ever copied into a finding.
    rule = req_str(s, "RuleID")
    category = opt_str(s, "Category")
    word = opt_str(s, "Severity")
    severity = _trivy_severity(word, "Severity")
    title = opt_str(s, "Title")
    start, end = _lines(s, "")
    path = _config_path(scope, target)
    return Finding.create(
        id=rule,
        kind=Kind.SECRET,
        severity=severity,
        title=title or rule,
        target=scope.artifact if scope.image and scope.artifact else path,
        location=Location(path=path, start_line=start, end_line=end),
        sources=(Source("trivy", scope.origin, scope.tool_version, rule, word),),
        properties=(("category", category),) if category else (),
    )


def _license(scope: _Scope, result: dict[str, Any], target: str, lic: dict[str, Any]) -> Finding:
    name = req_str(lic, "Name")
    package = opt_str(lic, "PkgName")
    category = opt_str(lic, "Category")
    file = opt_str(lic, "FilePath")
    word = opt_str(lic, "Severity")
    severity = _trivy_severity(word, "Severity")
    where = package or file or target
    props = [("category", category)] if category else []
    return Finding.create(
        id=name,
        kind=Kind.LICENSE,
        severity=severity,
        title=f"{name} license{f' ({category})' if category else ''} in {where}",
        target=scope.artifact if scope.image and scope.artifact else target,
        package=package,
        location=Location(path=file or scope.prefix + target),
        sources=(Source("trivy", scope.origin, scope.tool_version, name, word),),
        help_uri=opt_str(lic, "Link"),
        properties=tuple(props),
    )


_Builder = Callable[[_Scope, dict[str, Any], str, dict[str, Any]], "Finding | None"]
_READERS: tuple[tuple[str, _Builder], ...] = (
    ("Vulnerabilities", _vulnerability),
    ("Misconfigurations", _misconfiguration),
    ("Secrets", _secret),
    ("Licenses", _license),
)


def _config_base(artifact: str | None, artifact_type: Any) -> str:
    """The folder a filesystem or local repository scan's targets are relative to (`trivy config DIR`
    writes `Target: Dockerfile` for DIR/Dockerfile); nothing for images, clusters and remote repositories,
    whose targets are already what the user's tree calls them."""
    if artifact is None or artifact_type not in ("filesystem", "repository"):
        return ""
    if "://" in artifact or artifact.startswith("git@"):
        return ""
    return artifact


def _config_path(scope: _Scope, target: str) -> str:
    """A config or secret target as the gate names files: joined with the scanned folder, relative to the
    working directory when it lies inside it."""
    found = scope.paths.get(target)
    if found is None:
        if scope.image:
            found = target  # a path inside the image: nothing of the working tree
        else:
            found = file_path(_joined(scope.base, target), scope.origin)
        scope.paths[target] = found
    return found


def _joined(base: str, target: str) -> str:
    if not base:
        return target
    if posixpath.basename(normal_path(base)) == target:
        # `trivy config app/Dockerfile`: the artifact is the file itself and the target its name.
        return base
    return posixpath.join(normal_path(base), target)


def _report(scope: _Scope) -> Report:
    return Report(
        tool="trivy",
        path=scope.origin,
        findings=tuple(scope.findings),
        skipped=tuple(scope.skipped),
        tool_version=scope.tool_version,
        artifact=scope.artifact,
        os=scope.os,
    )


def _trivy_severity(word: Any, key: str) -> Severity:
    """Trivy's five words (any case); none means UNKNOWN, which `--fail-on UNKNOWN` still blocks. A word
    Trivy never writes, or a non-string, could be a CRITICAL read as nothing: the entry's error."""
    if word is None or word == "":
        return Severity.UNKNOWN
    if not isinstance(word, str):
        raise wrong(key, word, "a string")
    found = _SEVERITY.get(word) or _SEVERITY.get(word.strip().upper())
    if found is None:
        raise Unreadable(key, f"unknown severity {clip(word)} (expected CRITICAL, HIGH, MEDIUM, LOW or UNKNOWN)")
    return found


def _lines(entry: dict[str, Any], prefix: str) -> tuple[int | None, int | None]:
    try:
        return opt_line(entry, "StartLine"), opt_line(entry, "EndLine")
    except Unreadable as exc:
        raise Unreadable(prefix + exc.field, exc.message) from None


def _is_image(artifact_type: str | None, meta: dict[str, Any]) -> bool:
    # Reports without ArtifactType (edited or converted ones) still show an image through its ImageID.
    image_id = meta.get("ImageID")
    if image_id is not None and not isinstance(image_id, str):
        raise wrong("Metadata.ImageID", image_id, "a string")
    if artifact_type is None:
        return isinstance(image_id, str)
    return artifact_type in ("container_image", "vm")


def _tool_version(doc: dict[str, Any]) -> str | None:
    try:
        return opt_str(opt_obj(doc, "Trivy"), "Version")
    except Unreadable as exc:
        raise Unreadable("Trivy" if exc.field == "Trivy" else f"Trivy.{exc.field}", exc.message) from None


def _os_name(meta: dict[str, Any]) -> str | None:
    try:
        os_info = opt_obj(meta, "OS")
        words = [w for w in (opt_str(os_info, "Family"), opt_str(os_info, "Name")) if w]
    except Unreadable as exc:
        raise Unreadable(f"Metadata.OS.{exc.field}" if exc.field != "OS" else "Metadata.OS", exc.message) from None
    return " ".join(words) or None


def _references(scope: _Scope, value: Any) -> tuple[str, ...]:
    """`_texts` of a References value, which the typed decoder leaves as raw JSON (see `_TypedVuln`)."""
    if type(value) is not msgspec.Raw:
        return _texts(value)
    key = bytes(value)
    found = scope.references.get(key)
    if found is None:
        try:
            with _nesting_bounded():
                decoded = msgspec.json.decode(key)
        except (msgspec.DecodeError, RecursionError):
            raise Declined from None
        found = scope.references[key] = _texts(decoded)
    return found


def _texts(value: Any, key: str = "References") -> tuple[str, ...]:
    return str_list({key: value}, key)


_NO_ALIASES: tuple[str, ...] = ()


def _first_text(meta: dict[str, Any], key: str) -> str | None:
    try:
        found = str_list(meta, key)
    except Unreadable as exc:
        raise Unreadable(f"Metadata.{exc.field}", exc.message) from None
    return found[0].strip() or None if found else None


PARSER = TrivyParser()
