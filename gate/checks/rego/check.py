"""Evaluates Conftest-compatible Rego policies in process (regorus) and turns the results into findings.

Semantics follow Conftest's `policy/engine.go`: rules named `deny`, `violation` or `warn` (optionally `_suffix`)
in the selected namespaces; string or object results (`msg` required, `_loc`, other keys are metadata);
`exception` rules whose `exception[_][_]` names a rule (without its `deny_`/`violation_`/`warn_` prefix, `""` for
the bare rule) hide that rule's results; a top-level list in an input is evaluated element by element.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any

from gate import speed
from gate.checks.rego.documents import Document, is_policy_input, load_documents, parse_input
from gate.checks.rego.engine import BUILTIN_PREFIX, RULE_KINDS, PolicySet, load, policy_error
from gate.checks.rego.limits import Limits, Progress, bounded_all
from gate.checks.rego.verify import TestOutcome, VerifyResult, format_verify, verify
from gate.errors import PolicyError
from gate.model import Finding, Kind, Location, Report, Severity, Source, Suppression

__all__ = [
    "CheckResult",
    "RegoResult",
    "RegoRun",
    "TestOutcome",
    "VerifyResult",
    "check",
    "evaluate",
    "format_summary",
    "format_verify",
    "is_policy_input",
    "parse_input",
    "run",
    "unevaluated_namespaces",
    "verify",
]

TOOL = "rego"
_GLOB = set("*?[")


@dataclass(frozen=True, slots=True)
class RegoResult:
    """One message a deny/violation/warn rule returned for one input document."""

    msg: str
    namespace: str
    rule: str
    metadata: tuple[tuple[str, Any], ...] = ()
    """Every key of an object result except `msg` and `_loc`, plus Conftest's `query`."""
    loc_file: str | None = None
    loc_line: int | None = None
    document_line: int | None = None
    """Where the document starts, for files holding several YAML documents."""

    def meta(self, key: str) -> Any:
        """One metadata value, or None."""
        return dict(self.metadata).get(key)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Conftest's tally for one input file in one namespace (`conftest test -o json` entry)."""

    filename: str
    namespace: str
    successes: int
    failures: tuple[RegoResult, ...] = ()
    warnings: tuple[RegoResult, ...] = ()
    exceptions: tuple[str, ...] = ()
    """Conftest records each matching exception under the exception query's text."""
    excepted: tuple[RegoResult, ...] = ()
    """The results an exception hid (Conftest drops them; we keep them as suppressed findings)."""


@dataclass(frozen=True, slots=True)
class RegoRun:
    """What one run of the policies gave: a Report per input, and the namespaces nobody asked for."""

    reports: tuple[Report, ...]
    unevaluated: tuple[str, ...] = ()
    """Namespaces that hold deny/violation/warn rules but were not selected (`--namespace`, `--all-namespaces`):
    Conftest passes them over in silence, which hides a misnamed `package` as a pass."""


def evaluate(
    inputs: Sequence[Path],
    *,
    policies: Sequence[str],
    namespaces: Sequence[str] = ("main",),
    all_namespaces: bool = False,
    data: Sequence[Path] = (),
    root: Path,
    rego_version: str = "auto",
    limits: Limits | None = None,
    workers: int | None = None,
) -> tuple[Report, ...]:
    """One Report per input with a finding per message, as `conftest test` would print them (see `run`)."""
    return run(
        inputs,
        policies=policies,
        namespaces=namespaces,
        all_namespaces=all_namespaces,
        data=data,
        root=root,
        rego_version=rego_version,
        limits=limits,
        workers=workers,
    ).reports


def run(
    inputs: Sequence[Path],
    *,
    policies: Sequence[str],
    namespaces: Sequence[str] = ("main",),
    all_namespaces: bool = False,
    data: Sequence[Path] = (),
    root: Path,
    rego_version: str = "auto",
    limits: Limits | None = None,
    workers: int | None = None,
) -> RegoRun:
    """The Reports of `evaluate`, plus the namespaces with rules that were left out.

    Policies compile once for the whole run; compiling and evaluating run in a child bounded in time and
    memory (`limits`, None for the defaults; see `gate.checks.rego.limits`). A `builtin:` pack is always
    evaluated in its own namespace, whatever `--namespace` says, so `--policy builtin:kubernetes` works on its own.
    """
    results, unevaluated = _check(
        inputs, policies, namespaces, all_namespaces, data, root, rego_version, limits, workers
    )
    by_file: dict[str, list[CheckResult]] = {}
    for result in results:
        by_file.setdefault(result.filename, []).append(result)
    reports = tuple(
        Report(tool=TOOL, path=name, findings=tuple(f for r in rs for f in _findings(r, root)))
        for name, rs in by_file.items()
    )
    return RegoRun(reports, unevaluated)


def check(
    inputs: Sequence[Path],
    *,
    policies: Sequence[str],
    namespaces: Sequence[str] = ("main",),
    all_namespaces: bool = False,
    data: Sequence[Path] = (),
    root: Path,
    rego_version: str = "auto",
    limits: Limits | None = None,
    workers: int | None = None,
) -> tuple[CheckResult, ...]:
    """Conftest's per-file, per-namespace tallies (successes, failures, warnings, exceptions)."""
    return _check(inputs, policies, namespaces, all_namespaces, data, root, rego_version, limits, workers)[0]


def _check(
    inputs: Sequence[Path],
    policies: Sequence[str],
    namespaces: Sequence[str],
    all_namespaces: bool,
    data: Sequence[Path],
    root: Path,
    rego_version: str,
    limits: Limits | None = None,
    workers: int | None = None,
) -> tuple[tuple[CheckResult, ...], tuple[str, ...]]:
    doing = f"evaluating {', '.join(policies)}"
    from gate.checks.rego import review_set
    from gate.checks.rego.engine import policy_files

    partners = ""
    if review_set.uses_review_set([source for _, source in policy_files(policies)]):
        partners = json.dumps({review_set.KEY: review_set.review_set(inputs)})

    # Compiling is inside the bounds too: regorus's parser is exponential in nesting depth. Each worker compiles
    # once and evaluates one contiguous share of the inputs, so joining the shares keeps the sequential order.
    def work_on(share: Sequence[Path]) -> Callable[[Progress], tuple[tuple[CheckResult, ...], tuple[str, ...]]]:
        def work(progress: Progress) -> tuple[tuple[CheckResult, ...], tuple[str, ...]]:
            compiled = load(policies, data=data, rego_version=rego_version, progress=progress)
            if partners:
                compiled.engine.add_data_json(partners)
            selected = select_namespaces(compiled, namespaces, all_namespaces=all_namespaces)
            selected += tuple(ns for ns in _builtin_namespaces(compiled, policies) if ns not in selected)
            out: list[CheckResult] = []
            for path in share:
                display = _relative(path, root)
                progress(display, doing)
                out += check_file(compiled, path, selected, display=display)
            return tuple(out), unevaluated_namespaces(compiled, selected)

        return work

    count = speed.rego_workers(len(inputs)) if workers is None else workers
    parts = bounded_all([work_on(share) for share in shares(inputs, count)], limits)
    return tuple(r for results, _ in parts for r in results), parts[0][1]


def shares(inputs: Sequence[Path], count: int) -> list[Sequence[Path]]:
    """`inputs` cut into at most `count` contiguous runs of about equal bytes (always at least one run)."""
    if count <= 1 or len(inputs) <= 1:
        return [inputs]
    # An empty or unreadable file weighs one byte: it still costs a step.
    sizes = [max(_size(path), 1) for path in inputs]
    total = sum(sizes)
    cuts: list[Sequence[Path]] = []
    start, running = 0, 0
    for index, size in enumerate(sizes):
        running += size
        if len(cuts) < count - 1 and running >= total * (len(cuts) + 1) / count:
            cuts.append(inputs[start : index + 1])
            start = index + 1
    cuts.append(inputs[start:])
    return [cut for cut in cuts if cut]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the worker that reads it reports the error


def unevaluated_namespaces(compiled: PolicySet, selected: Sequence[str]) -> tuple[str, ...]:
    """Namespaces with deny/violation/warn rules that are not among `selected` (helper-only packages and
    `*_test` packages hold none, so they are never listed)."""
    return tuple(ns for ns in compiled.namespaces() if ns not in selected and compiled.check_rules(ns)[0])


def select_namespaces(compiled: PolicySet, patterns: Sequence[str], *, all_namespaces: bool) -> tuple[str, ...]:
    """`--all-namespaces`, or each `--namespace` taken literally unless it holds a glob (`*`, `c*`)."""
    known = compiled.namespaces()
    if all_namespaces:
        return known
    chosen: list[str] = []
    for pattern in patterns:
        chosen += [ns for ns in known if fnmatchcase(ns, pattern)] if _GLOB & set(pattern) else [pattern]
    return tuple(dict.fromkeys(chosen))


def _builtin_namespaces(compiled: PolicySet, policies: Sequence[str]) -> list[str]:
    packs = [p for p in policies if p.startswith(BUILTIN_PREFIX)]
    return [m.namespace for m in compiled.modules if any(m.path.startswith(p + "/") for p in packs)]


def check_file(compiled: PolicySet, path: Path, namespaces: Sequence[str], *, display: str) -> list[CheckResult]:
    """Evaluate every document of one file in every namespace; results aggregate per namespace."""
    documents = load_documents(path)
    if compiled.reads_file_info:
        engine = compiled.session()
        file_info = {"conftest": {"file": {"name": path.name, "dir": _real_parent(path)}}}
        engine.add_data_json(json.dumps(file_info))
    else:
        engine = compiled.shared_session()
    tallies = {ns: _Tally() for ns in namespaces}
    for document in documents:
        engine.set_input_json(json.dumps(document.value))
        for ns in namespaces:
            rules, count = compiled.check_rules(ns)
            excepted = _exceptions(engine, ns) if compiled.has_rule(ns, "exception") else {}
            tallies[ns].add(_check_document(engine, ns, rules, count, document, excepted))
    return [tallies[ns].result(display, ns) for ns in namespaces]


@dataclass(slots=True)
class _Tally:
    successes: int = 0
    failures: tuple[RegoResult, ...] = ()
    warnings: tuple[RegoResult, ...] = ()
    exceptions: tuple[str, ...] = ()
    excepted: tuple[RegoResult, ...] = ()

    def add(self, other: _Tally) -> None:
        self.successes += other.successes
        self.failures += other.failures
        self.warnings += other.warnings
        self.exceptions += other.exceptions
        self.excepted += other.excepted

    def result(self, filename: str, namespace: str) -> CheckResult:
        return CheckResult(
            filename, namespace, self.successes, self.failures, self.warnings, self.exceptions, self.excepted
        )


def _check_document(
    engine: Any, ns: str, rules: Sequence[str], rule_count: int, doc: Document, excepted: dict[str, int]
) -> _Tally:
    tally = _Tally()
    for rule in rules:
        name = _exception_name(rule)
        # Conftest asks `exception[_][_] == name` and records one exception per solution, under the query's text.
        exceptions = (f"data.{ns}.exception[_][_] == {json.dumps(name)}",) * excepted.get(name, 0)
        messages, passed = _rule_results(engine, ns, rule, doc)
        tally.exceptions += exceptions
        if exceptions:
            tally.excepted += tuple(messages)
            continue
        tally.successes += passed
        if RULE_KINDS.match(rule) and RULE_KINDS.match(rule)["fail"]:  # type: ignore[index]
            tally.failures += tuple(messages)
        else:
            tally.warnings += tuple(messages)
    # Conftest counts a rule that produced nothing as passed: each rule head is one "test".
    counted = len(tally.failures) + len(tally.warnings) + len(tally.exceptions) + tally.successes
    tally.successes += max(rule_count - counted, 0)
    return tally


def _exceptions(engine: Any, ns: str) -> dict[str, int]:
    """How many solutions `data.ns.exception[_][_] == name` has, for every name: the rule is evaluated once per
    document instead of once per rule (`[_]` walks a list's items and an object's values, never a string)."""
    counts: dict[str, int] = {}
    for value in _values(engine, f"data.{ns}.exception"):
        for outer in _members(value):
            for name in _members(outer):
                if isinstance(name, str):
                    counts[name] = counts.get(name, 0) + 1
    return counts


def _members(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()
    return value if isinstance(value, list) else ()


def _exception_name(rule: str) -> str:
    if rule in ("deny", "violation", "warn"):
        return ""
    for prefix in ("violation_", "deny_", "warn_"):
        rule = rule.removeprefix(prefix)
    return rule


_UNDEFINED = "<undefined>"


def _values(engine: Any, rule: str) -> list[Any]:
    """The value of a rule (a list of one, or none when it is undefined), as Conftest reads the first expression
    of its query. Evaluated as a rule path (no query to parse: several times faster per document); a rule whose
    value is the text regorus uses for "undefined" is asked again as a query, the only way to tell them apart."""
    try:
        value = json.loads(engine.eval_rule_as_json(rule))
    except RuntimeError as exc:
        raise policy_error(exc) from None
    if value != _UNDEFINED:
        return [value]
    return _query(engine, rule)


def _query(engine: Any, query: str) -> list[Any]:
    """Values of the first expression of every solution (Conftest reads `result.Expressions` the same way)."""
    try:
        answer = json.loads(engine.eval_query_as_json(query))
    except RuntimeError as exc:
        raise policy_error(exc) from None
    return [e["value"] for r in answer.get("result", []) for e in r.get("expressions", [])[:1]]


def _rule_results(engine: Any, ns: str, rule: str, doc: Document) -> tuple[list[RegoResult], int]:
    """(messages, passed results): a set/array yields one result per string or object element; anything
    else, or an empty collection, is one passed result; an empty `msg` also counts as passed."""
    query = f"data.{ns}.{rule}"
    messages: list[RegoResult] = []
    passed = 0
    for value in _values(engine, query):
        if not isinstance(value, list) or not value:
            passed += 1
            continue
        for item in value:
            result = _result(item, ns, rule, query, doc)
            if result is None:
                continue
            if result.msg:
                messages.append(result)
            else:
                passed += 1
    return messages, passed


def _result(item: Any, ns: str, rule: str, query: str, doc: Document) -> RegoResult | None:
    if isinstance(item, str):
        return RegoResult(item, ns, rule, (("query", query),), document_line=doc.line)
    if not isinstance(item, dict):
        return None
    msg = item.get("msg")
    if not isinstance(msg, str):
        raise PolicyError(f'{query}: "msg" field must be present and a string in {json.dumps(item, sort_keys=True)}')
    raw_loc = item.get("_loc")
    loc: dict[str, Any] = raw_loc if isinstance(raw_loc, dict) else {}
    line = loc.get("line")
    file = loc.get("file")
    meta = {k: v for k, v in item.items() if k not in ("msg", "_loc")} | {"query": query}
    return RegoResult(
        msg,
        ns,
        rule,
        tuple(sorted(meta.items())),
        loc_file=file if isinstance(file, str) and file else None,
        loc_line=int(line) if isinstance(line, int | float) and not isinstance(line, bool) else None,
        document_line=doc.line,
    )


# --- findings ------------------------------------------------------------------------------------------


def _findings(result: CheckResult, root: Path) -> list[Finding]:
    found = [_finding(r, result.filename, Severity.HIGH, "failure", root) for r in result.failures]
    found += [_finding(r, result.filename, Severity.MEDIUM, "warning", root) for r in result.warnings]
    for r in result.excepted:
        failing = RULE_KINDS.match(r.rule)
        default = Severity.HIGH if failing and failing["fail"] else Severity.MEDIUM
        reason = f"conftest exception in {r.namespace}"
        found.append(_finding(r, result.filename, default, "exception", root, Suppression(by="tool", reason=reason)))
    return found


def _finding(
    r: RegoResult, target: str, default: Severity, kind: str, root: Path, suppression: Suppression | None = None
) -> Finding:
    rule_id = r.meta("id") if isinstance(r.meta("id"), str) and r.meta("id") else f"{r.namespace}.{r.rule}"
    path = _relative(Path(r.loc_file), root) if r.loc_file else target
    description = r.meta("description")
    return Finding(
        id=rule_id,
        kind=Kind.POLICY,
        severity=_severity(r.meta("severity"), default),
        title=r.msg,
        target=target,
        location=Location(path=path, start_line=r.loc_line or _field_line(r, target, root) or r.document_line),
        sources=(Source(tool=TOOL, report=target, original_id=f"data.{r.namespace}.{r.rule}", original_severity=kind),),
        description=description if isinstance(description, str) else "",
        tool_suppression=suppression,
        properties=_properties(r),
    )


def _field_line(r: RegoResult, target: str, root: Path) -> int | None:
    """The line of the result's `field` (a list of keys and indices, as the built-in Kubernetes pack gives) in
    a YAML input, so a finding points at `privileged: true` rather than at the top of the manifest."""
    field = r.meta("field")
    if r.loc_file or not isinstance(field, list) or not all(isinstance(s, str | int) for s in field):
        return None
    path = Path(target) if Path(target).is_absolute() else root / target
    if path.suffix.lower() not in (".yaml", ".yml"):
        return None
    from gate.safe_yaml import field_line

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    return field_line(text, r.document_line, field)


def _severity(word: Any, default: Severity) -> Severity:
    if not isinstance(word, str):
        return default
    parsed = Severity.parse(word)
    # A word we do not know (`error`, `blocker`) keeps the rule's own grade rather than dropping to UNKNOWN.
    return parsed if parsed is not Severity.UNKNOWN or word.strip().lower() == "unknown" else default


def _properties(r: RegoResult) -> tuple[tuple[str, str], ...]:
    props = {"namespace": r.namespace, "rule": r.rule}
    for key, value in r.metadata:
        if key not in ("id", "severity", "description"):
            props[key] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return tuple(sorted(props.items()))


def _relative(path: Path, root: Path) -> str:
    try:
        return _real(path).relative_to(_real_dir(str(root))).as_posix()
    except ValueError:
        return path.as_posix()


def _real(path: Path) -> Path:
    """`path.resolve()`, with each folder resolved once per run: a thousand manifests in one folder would
    otherwise walk every component of it a thousand times (a file that is itself a link is resolved whole)."""
    if path.is_symlink():
        return path.resolve()
    return _real_dir(str(path.parent)) / path.name


def _real_parent(path: Path) -> str:
    return str(_real(path).parent)


@lru_cache(maxsize=4096)
def _real_dir(folder: str) -> Path:
    return Path(folder).resolve()


# --- Conftest-style text -------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def format_summary(results: Sequence[CheckResult]) -> str:
    """Conftest's stdout: one `FAIL`/`WARN`/`EXCP` line per result, then the tally line."""
    lines = []
    for r in results:
        lines += [f"WARN - {r.filename} - {r.namespace} - {w.msg}" for w in r.warnings]
        lines += [f"FAIL - {r.filename} - {r.namespace} - {f.msg}" for f in r.failures]
        lines += [f"EXCP - {r.filename} - {r.namespace} - {e}" for e in r.exceptions]
    passed = sum(r.successes for r in results)
    warnings = sum(len(r.warnings) for r in results)
    failures = sum(len(r.failures) for r in results)
    exceptions = sum(len(r.exceptions) for r in results)
    total = passed + warnings + failures + exceptions
    tally = (
        f"{_plural(total, 'test')}, {passed} passed, {_plural(warnings, 'warning')}, "
        f"{_plural(failures, 'failure')}, {_plural(exceptions, 'exception')}"
    )
    return "\n".join([*lines, "", tally]) if lines else tally
