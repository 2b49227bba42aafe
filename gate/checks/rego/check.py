"""Evaluates Conftest-compatible Rego policies in process (regorus) and turns the results into findings.

Semantics follow Conftest's `policy/engine.go`: rules named `deny`, `violation` or `warn` (optionally `_suffix`)
in the selected namespaces; string or object results (`msg` required, `_loc`, other keys are metadata);
`exception` rules whose `exception[_][_]` names a rule (without its `deny_`/`violation_`/`warn_` prefix, `""` for
the bare rule) hide that rule's results; a top-level list in an input is evaluated element by element.
"""

from __future__ import annotations

import gc
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from gate import speed
from gate.checks.rego.documents import (
    Document,
    is_policy_input,
    load_documents,
    parse_input,
    parsed_dockerfiles,
    take_parsed_dockerfiles,
)
from gate.checks.rego.engine import BUILTIN_PREFIX, RULE_KINDS, PolicySet, load, policy_error
from gate.checks.rego.limits import MAX_BATCHES, Limits, Progress, Standby
from gate.errors import PolicyError
from gate.model import Finding, Kind, Location, Report, Severity, Source, Suppression

if TYPE_CHECKING:  # imported when first used: `gate` runs never verify
    from gate.checks.rego.verify import TestOutcome, VerifyResult, format_verify, verify

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
K = TypeVar("K")
_VERIFY = ("TestOutcome", "VerifyResult", "format_verify", "verify")


def __getattr__(name: str) -> Any:
    if name in _VERIFY:
        from gate.checks.rego import verify as module

        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@speed.fast_init
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
    field_line: int | None = None
    """The line of the result's `field` metadata in a YAML input, when it has one and no `_loc` line (see
    `_field_lines`)."""

    def meta(self, key: str) -> Any:
        """One metadata value, or None."""
        for k, v in self.metadata:
            if k == key:
                return v
        return None

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its fields: a third of the cost of pickle's default for slotted dataclasses (workers send
        # thousands of these back).
        return (RegoResult, (self.msg, self.namespace, self.rule, self.metadata, self.loc_file, self.loc_line,
                             self.document_line, self.field_line))  # fmt: skip


@speed.fast_init
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

    def __reduce__(self) -> tuple[Any, ...]:
        return (CheckResult, (self.filename, self.namespace, self.successes, self.failures, self.warnings,
                              self.exceptions, self.excepted))  # fmt: skip


class RegoRun(NamedTuple):
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
    standby: RegoStandby | None = None,
) -> RegoRun:
    """The Reports of `evaluate`, plus the namespaces with rules that were left out.

    Policies compile once for the whole run; compiling and evaluating run in a child bounded in time and
    memory (`limits`, None for the defaults; see `gate.checks.rego.limits`). A `builtin:` pack is always
    evaluated in its own namespace, whatever `--namespace` says, so `--policy builtin:kubernetes` works on its own.
    `standby`: the compile `prestart` began for these arguments (else one begins here).
    """
    maker = _FindingMaker(root)
    # Each batch's results become findings as soon as a worker sends them back, while the others still work.
    parts, unevaluated = _check(
        inputs,
        policies,
        namespaces,
        all_namespaces,
        data,
        root,
        rego_version,
        limits,
        workers,
        keep=lambda results: [(result.filename, maker.findings(result)) for result in results],
        standby=standby,
    )
    by_file: dict[str, list[Finding]] = {}
    for part in parts:
        for name, found in part:
            by_file.setdefault(name, []).extend(found)
    reports = tuple(Report(tool=TOOL, path=name, findings=tuple(found)) for name, found in by_file.items())
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
    parts, _ = _check(
        inputs, policies, namespaces, all_namespaces, data, root, rego_version, limits, workers, keep=tuple
    )
    return tuple(result for part in parts for result in part)


def _check(
    inputs: Sequence[Path],
    policies: Sequence[str],
    namespaces: Sequence[str],
    all_namespaces: bool,
    data: Sequence[Path],
    root: Path,
    rego_version: str,
    limits: Limits | None,
    workers: int | None,
    *,
    keep: Callable[[tuple[CheckResult, ...]], K],
    standby: RegoStandby | None = None,
) -> tuple[list[K], tuple[str, ...]]:
    """`keep(results)` of every batch of inputs, in input order, and the namespaces left out.

    The inputs are cut into contiguous batches (`speed.rego_batch`); workers (`speed.rego_workers`, one per core)
    share one compile of the policies (`limits.Standby`: `standby`'s, started with the same arguments while the
    caller read its inputs, else one started here) and take the next batch whenever they are free; `keep` runs
    in this process on each batch as it comes back, so the caller turns results into findings while the workers
    go on. Joined by batch number, the kept values are those of one worker taking every batch in order."""
    from gate.checks.rego import review_set
    from gate.checks.rego.engine import policy_files

    partners = ""
    if review_set.uses_review_set([source for _, source in policy_files(policies)]):
        partners = json.dumps({review_set.KEY: review_set.review_set(inputs)})

    count = speed.rego_workers(len(inputs)) if workers is None else workers
    size = speed.rego_batch(len(inputs), count, MAX_BATCHES)
    batches = [tuple(inputs[start : start + size]) for start in range(0, len(inputs), size)]
    count = min(count, max(len(batches), 1))
    key = _standby_key(policies, namespaces, all_namespaces, data, rego_version, limits)
    if standby is None or not standby.fits(key):
        standby = RegoStandby(key, most=count)
    job = _Job(tuple(batches), root, partners, parsed_dockerfiles(inputs) if standby.inherits_go else {})
    kept: dict[int, K] = {}
    with standby:
        unevaluated = standby.standby.run(
            job, len(batches), lambda index, results: kept.__setitem__(index, keep(results)), workers=count
        )
    return [kept[index] for index in range(len(batches))], unevaluated


_Key = tuple[tuple[str, ...], tuple[str, ...], bool, tuple[Path, ...], str, "Limits | None"]


def _standby_key(
    policies: Sequence[str],
    namespaces: Sequence[str],
    all_namespaces: bool,
    data: Sequence[Path],
    rego_version: str,
    limits: Limits | None,
) -> _Key:
    return (tuple(policies), tuple(namespaces), all_namespaces, tuple(data), rego_version, limits)


def prestart(
    *,
    policies: Sequence[str],
    namespaces: Sequence[str] = ("main",),
    all_namespaces: bool = False,
    data: Sequence[Path] = (),
    rego_version: str = "auto",
    limits: Limits | None = None,
) -> RegoStandby:
    """Start compiling `policies` now, in a bounded child, for a `run` with the same arguments to come: the
    compile then overlaps the caller's reading of its inputs. A run with other arguments starts its own; the
    caller closes this one (`with`) in any case."""
    key = _standby_key(policies, namespaces, all_namespaces, data, rego_version, limits)
    return RegoStandby(key, most=speed.rego_workers(1 << 30))


class _Job(NamedTuple):
    """What the workers learn only once the inputs are known."""

    batches: tuple[tuple[Path, ...], ...]
    root: Path
    partners: str
    """The review set's JSON (`review_set`), or "" when no policy reads it."""
    dockerfiles: dict[str, Any]
    """Dockerfiles parsed here (see `documents.parsed_dockerfiles`)."""


class RegoStandby:
    """A compile of one policy set in a bounded child (`limits.Standby`), waiting for the inputs to evaluate."""

    def __init__(self, key: _Key, *, most: int) -> None:
        policies, namespaces, all_namespaces, data, rego_version, limits = key
        self.key = key
        # BuildKit's Dockerfile parser is a Go library: a child forked after this process called it must never
        # call it (its runtime hangs there), and gets this process's parses in the job instead.
        self.inherits_go = "dockerfile" in sys.modules
        doing = f"evaluating {', '.join(policies)}"

        # Compiling is inside the bounds too: regorus's parser is exponential in nesting depth.
        def setup(progress: Progress) -> _Worker:
            if speed.ENABLED:
                # The workers build and drop per-file values that reference counting frees; the collector's passes
                # would only walk (and, in a fork, copy the pages of) the heap every worker inherits from here.
                gc.freeze()
                gc.disable()
                # What every worker needs for its first input, loaded once here and inherited by the others:
                # orjson (`_input_json`; it loads uuid and platform) and the YAML loader (PyYAML's import alone
                # is ~10 ms).
                import orjson  # noqa: F401

                from gate.safe_yaml import first_document

                first_document("{}\n", "(warm-up)", go_yaml=True)
            compiled = load(policies, data=data, rego_version=rego_version, progress=progress, text_verbs=True)
            selected = select_namespaces(compiled, namespaces, all_namespaces=all_namespaces)
            selected += tuple(ns for ns in _builtin_namespaces(compiled, policies) if ns not in selected)
            return _Worker(compiled, selected, _Plan(compiled, selected), (), Path())

        def prepare(worker: _Worker, job: _Job) -> _Worker:
            if job.partners:
                worker.compiled.add_data_json(job.partners)
            take_parsed_dockerfiles(job.dockerfiles)
            return worker._replace(batches=job.batches, root=job.root)

        def handle(worker: _Worker, index: int, progress: Progress) -> tuple[CheckResult, ...]:
            out: list[CheckResult] = []
            root = worker.root
            for path in worker.batches[index]:
                display = _relative(path, root)
                progress(display, doing)
                out += check_file(worker.compiled, path, worker.selected, display=display, root=root, plan=worker.plan)
            return tuple(out)

        def finish(worker: _Worker) -> tuple[str, ...]:
            return unevaluated_namespaces(worker.compiled, worker.selected)

        self.standby: Standby[_Worker, _Job, _Worker, tuple[CheckResult, ...], tuple[str, ...]] = Standby(
            setup, prepare, handle, finish, most=most, limits=limits
        )

    def fits(self, key: _Key) -> bool:
        """Started for a run with these arguments, and not run yet."""
        return key == self.key and not self.standby.used

    def close(self) -> None:
        self.standby.close()

    def __enter__(self) -> RegoStandby:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class _Worker(NamedTuple):
    """What one worker compiled and worked out once, and the job's batches, for every batch it takes."""

    compiled: PolicySet
    selected: tuple[str, ...]
    plan: _Plan
    batches: tuple[tuple[Path, ...], ...]
    root: Path


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
    """The namespaces of the built-in packs asked for, each once (a pack's files share their namespace)."""
    packs = [p for p in policies if p.startswith(BUILTIN_PREFIX)]
    found = [m.namespace for m in compiled.modules if any(m.path.startswith(p + "/") for p in packs)]
    return list(dict.fromkeys(found))


def check_file(
    compiled: PolicySet,
    path: Path,
    namespaces: Sequence[str],
    *,
    display: str,
    root: Path,
    plan: _Plan | None = None,
) -> list[CheckResult]:
    """Evaluate every document of one file in every namespace; results aggregate per namespace. (`plan`: what
    `_Plan(compiled, namespaces)` works out, made once by the caller that checks many files.)"""
    documents = load_documents(path)
    active = compiled.in_use()
    if active is not compiled or plan is None:
        plan = _Plan(active, namespaces)
    try:
        tallies = _evaluate(active, path, documents, namespaces, plan)
    except PolicyError as failed:
        tallies = _again(active, path, documents, namespaces, failed)
    _field_lines(tallies.values(), display, root)
    return [tallies[ns].result(display, ns) for ns in namespaces]


def _again(
    compiled: PolicySet, path: Path, documents: Sequence[Document], namespaces: Sequence[str], failed: PolicyError
) -> dict[str, _Tally]:
    """The file's tallies after its evaluation by `compiled` stopped at `failed`.

    A `%s` argument that is not text stops the policies that take such arguments as text (`load`'s `text_verbs`):
    the file goes again through the policies that write it as Go does. regorus stops at a built-in's error
    (`startswith` of a number, `count(null)`) where OPA, as Conftest runs it, makes that expression undefined and
    goes on: the file is evaluated again by the lenient policies, and when they fail too, the first error that
    is not one of our own text verbs' stands."""
    from gate.checks.rego.compat import TEXT_VERB_ERROR

    if compiled.exact is not None and TEXT_VERB_ERROR in failed.message:
        exact = compiled.go_verbs()
        try:
            return _evaluate(exact, path, documents, namespaces, _Plan(exact, namespaces))
        except PolicyError as again:
            return _again(exact, path, documents, namespaces, again)
    lenient = compiled.lenient()
    if lenient is None:
        raise failed
    try:
        return _evaluate(lenient, path, documents, namespaces, _Plan(lenient, namespaces))
    except PolicyError:
        raise failed from None


def _evaluate(
    compiled: PolicySet, path: Path, documents: Sequence[Document], namespaces: Sequence[str], plan: _Plan
) -> dict[str, _Tally]:
    if compiled.reads_file_info:
        engine = compiled.session()
        file_info = {"conftest": {"file": {"name": path.name, "dir": _real_parent(path)}}}
        engine.add_data_json(json.dumps(file_info))
    else:
        engine = compiled.shared_session()
    tallies = {ns: _Tally() for ns in namespaces}
    for document in documents:
        engine.set_input_json(_input_json(document.value))
        for ns, steps, count, has_exceptions in plan.namespaces:
            excepted = _exceptions(engine, ns) if has_exceptions else {}
            _check_document(engine, ns, steps, count, document, excepted, tallies[ns])
    return tallies


def _input_json(value: Any) -> str:
    """The document as JSON for the engine: orjson where it can (regorus reads the numbers and strings back to the
    same values whichever encoder spelled them), Python's encoder for what orjson refuses (integers past 64 bits,
    lone surrogates)."""
    if speed.ENABLED:
        import orjson

        try:
            return orjson.dumps(value).decode()
        except TypeError:
            pass
    return json.dumps(value)


class _Plan:
    """Per selected namespace, what evaluating a document asks: (namespace, steps, rule heads, has exceptions),
    each step `(rule, query, exception text, fails)` worked out once per worker instead of once per document."""

    __slots__ = ("namespaces",)

    def __init__(self, compiled: PolicySet, namespaces: Sequence[str]) -> None:
        self.namespaces: list[tuple[str, tuple[_Step, ...], int, bool]] = []
        for ns in namespaces:
            rules, count = compiled.check_rules(ns)
            steps = tuple(_step(ns, rule) for rule in rules)
            self.namespaces.append((ns, steps, count, compiled.has_rule(ns, "exception")))


_Step = tuple[str, str, str, str, bool]
"""(rule, query, exception name, exception text, fails)."""


def _step(ns: str, rule: str) -> _Step:
    name = _exception_name(rule)
    kinds = RULE_KINDS.match(rule)
    # Conftest asks `exception[_][_] == name` and records one exception per solution, under the query's text.
    text = f"data.{ns}.exception[_][_] == {json.dumps(name)}"
    return rule, f"data.{ns}.{rule}", name, text, bool(kinds and kinds["fail"])


class _Tally:
    """One file's results in one namespace, as they add up document by document."""

    __slots__ = ("excepted", "exceptions", "failures", "successes", "warnings")

    def __init__(self) -> None:
        self.successes = 0
        self.failures: list[RegoResult] = []
        self.warnings: list[RegoResult] = []
        self.exceptions: list[str] = []
        self.excepted: list[RegoResult] = []

    def result(self, filename: str, namespace: str) -> CheckResult:
        return CheckResult(
            filename,
            namespace,
            self.successes,
            tuple(self.failures),
            tuple(self.warnings),
            tuple(self.exceptions),
            tuple(self.excepted),
        )


def _check_document(
    engine: Any,
    ns: str,
    steps: Sequence[_Step],
    rule_count: int,
    doc: Document,
    excepted: dict[str, int],
    tally: _Tally,
) -> None:
    """Add one document's results in one namespace to the file's tally."""
    counted = 0
    successes = 0
    for rule, query, name, text, fails in steps:
        hidden = excepted.get(name, 0) if excepted else 0
        messages, passed = _rule_results(engine, ns, rule, query, doc)
        if hidden:
            tally.exceptions += (text,) * hidden
            tally.excepted += messages
            counted += hidden
            continue
        successes += passed
        counted += len(messages)
        (tally.failures if fails else tally.warnings).extend(messages)
    # Conftest counts a rule that produced nothing as passed: each rule head is one "test".
    counted += successes
    tally.successes += successes + max(rule_count - counted, 0)


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
        raw = engine.eval_rule_as_json(rule)
    except RuntimeError as exc:
        raise policy_error(exc) from None
    # (An empty set, what most rules give for most documents, needs no JSON parser.)
    value = [] if raw == "[]" and speed.ENABLED else json.loads(raw)
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


def _rule_results(engine: Any, ns: str, rule: str, query: str, doc: Document) -> tuple[list[RegoResult], int]:
    """(messages, passed results): a set/array yields one result per string or object element; anything
    else, or an empty collection, is one passed result; an empty `msg` also counts as passed."""
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
        return RegoResult(item, ns, rule, (("query", query),), None, None, doc.line)
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


def _field_lines(tallies: Iterable[_Tally], display: str, root: Path) -> None:
    """Fill in `field_line` on the results of one file that name a `field` (a list of keys and indices, as the
    built-in Kubernetes pack gives) and no `_loc` line, so a finding points at `privileged: true` rather than
    at the top of the manifest: the YAML input is parsed once more for all of them, in the worker."""
    wanted: list[tuple[list[RegoResult], int, Sequence[str | int]]] = []
    for tally in tallies:
        for results in (tally.failures, tally.warnings, tally.excepted):
            for index, r in enumerate(results):
                if r.loc_line or r.loc_file:
                    continue
                found = r.meta("field")
                if isinstance(found, list) and all(isinstance(s, str | int) for s in found):
                    wanted.append((results, index, found))
    if not wanted:
        return
    # The file as the finding will name it (the same file `path` is, by way of `_relative`).
    path = Path(display) if Path(display).is_absolute() else root / display
    if path.suffix.lower() not in (".yaml", ".yml"):
        return
    from gate.safe_yaml import field_lines

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return
    lines = field_lines(text, [(results[index].document_line, found) for results, index, found in wanted])
    for (results, index, _), line in zip(wanted, lines, strict=True):
        if line is not None:
            r = results[index]
            results[index] = RegoResult(
                r.msg, r.namespace, r.rule, r.metadata, r.loc_file, r.loc_line, r.document_line, line
            )


# --- findings ------------------------------------------------------------------------------------------


class _FindingMaker:
    """Findings from CheckResults, one file's at a time. What depends on the rule alone (id, severity,
    description, properties) is worked out once per rule and metadata, and equal locations and sources are one
    object each: a run's 100k findings share their few distinct values (plain mode: each worked out anew)."""

    __slots__ = ("locations", "root", "rules", "share", "sources", "suppressions")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.share = speed.ENABLED
        self.rules: dict[tuple[Any, ...], tuple[str, Severity, str, tuple[tuple[str, str], ...], str]] = {}
        self.locations: dict[tuple[str, int | None], Location] = {}
        self.sources: dict[tuple[str, str, str], tuple[Source, ...]] = {}
        self.suppressions: dict[str, Suppression] = {}

    def findings(self, result: CheckResult) -> list[Finding]:
        target = result.filename
        found = [self.finding(r, target, Severity.HIGH, "failure") for r in result.failures]
        found += [self.finding(r, target, Severity.MEDIUM, "warning") for r in result.warnings]
        for r in result.excepted:
            failing = RULE_KINDS.match(r.rule)
            default = Severity.HIGH if failing and failing["fail"] else Severity.MEDIUM
            found.append(self.finding(r, target, default, "exception", self.suppression(r.namespace)))
        return found

    def finding(
        self, r: RegoResult, target: str, default: Severity, kind: str, suppression: Suppression | None = None
    ) -> Finding:
        rule_id, severity, description, properties, original = self.rule(r, default)
        path = _relative(Path(r.loc_file), self.root) if r.loc_file else target
        return Finding(
            id=rule_id,
            kind=Kind.POLICY,
            severity=severity,
            title=r.msg,
            target=target,
            location=self.location(path, r.loc_line or r.field_line or r.document_line),
            sources=self.source(target, original, kind),
            description=description,
            tool_suppression=suppression,
            properties=properties,
        )

    def rule(self, r: RegoResult, default: Severity) -> tuple[str, Severity, str, tuple[tuple[str, str], ...], str]:
        """(id, severity, description, properties, original id): a function of the rule, its metadata and the
        default severity, kept per rule and metadata (see `_metadata_key`)."""
        key: tuple[Any, ...] | None = None
        if self.share:
            metadata = _metadata_key(r.metadata)
            if metadata is not None:
                key = (r.namespace, r.rule, metadata, default)
                known = self.rules.get(key)
                if known is not None:
                    return known
        meta = dict(r.metadata)
        given = meta.get("id")
        description = meta.get("description")
        made = (
            given if isinstance(given, str) and given else f"{r.namespace}.{r.rule}",
            _severity(meta.get("severity"), default),
            description if isinstance(description, str) else "",
            _properties(r),
            f"data.{r.namespace}.{r.rule}",
        )
        if key is not None:
            self.rules[key] = made
        return made

    def location(self, path: str, line: int | None) -> Location:
        if not self.share:
            return Location(path=path, start_line=line)
        known = self.locations.get((path, line))
        if known is None:
            known = self.locations[(path, line)] = Location(path=path, start_line=line)
        return known

    def source(self, target: str, original: str, kind: str) -> tuple[Source, ...]:
        key = (target, original, kind)
        known = self.sources.get(key) if self.share else None
        if known is None:
            known = (Source(tool=TOOL, report=target, original_id=original, original_severity=kind),)
            if self.share:
                self.sources[key] = known
        return known

    def suppression(self, namespace: str) -> Suppression:
        known = self.suppressions.get(namespace) if self.share else None
        if known is None:
            known = Suppression(by="tool", reason=f"conftest exception in {namespace}")
            if self.share:
                self.suppressions[namespace] = known
        return known


def _metadata_key(metadata: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, Any], ...] | None:
    """Metadata as a key that tells apart what JSON tells apart: text as it is, any other value as its JSON with
    sorted keys (`1` and `1.0`, `1` and `true` are equal in Python but not in JSON; a `details` object is not
    hashable at all); None when orjson cannot write a value (an integer past 64 bits), so nothing is shared."""
    if all(type(value) is str for _, value in metadata):
        return metadata
    import orjson

    try:
        return tuple(
            (k, v) if type(v) is str else (k, orjson.dumps(v, option=orjson.OPT_SORT_KEYS)) for k, v in metadata
        )
    except TypeError:
        return None


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
    """`path` as the findings name it: the real file relative to the real `root`, else as given."""
    if speed.ENABLED:
        fast = _relative_text(str(path), str(root))
        if fast is not None:
            return fast
    try:
        return _real(path).relative_to(_real_dir(str(root))).as_posix()
    except ValueError:
        return path.as_posix()


def _relative_text(path: str, root: str) -> str | None:
    """`_relative` on text for a file that is not a link (a fifth of the cost with pathlib, once per input in the
    workers); None where only pathlib's own answer will do (a link, an error, a path starting with `//`)."""
    try:
        if stat.S_ISLNK(os.lstat(path).st_mode):
            return None
    except OSError:
        return None  # pathlib's `is_symlink` decides which errors are errors
    folder, name = os.path.split(path)
    real = os.path.join(_real_text(folder or "."), name)
    base = _real_text(root)
    if real.startswith("//") or base.startswith("//"):
        return None
    if real == base:
        return "."
    prefix = base if base.endswith("/") else base + "/"
    return real[len(prefix) :] if real.startswith(prefix) else path


@lru_cache(maxsize=4096)
def _real_text(folder: str) -> str:
    return str(_real_dir(folder))


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
