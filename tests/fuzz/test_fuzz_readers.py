"""Property tests over every report reader, through the whole gate (`cli.main`) in process.

Inputs: random bytes, random JSON, and structure-aware mutations of the real corpus reports (a node replaced
by a value of another type, a key deleted, nesting deepened, numbers JSON cannot hold). Properties: the exit
is 0, 1 or 2; stderr holds no traceback and no "internal error", and at most one line; a pass or a block
writes a verdict; each example ends within a bounded time; and when the mutation made an entry of a
recognised report unreadable (the test knows which node it changed), the exit is 2 and the one line names
the file and the entry's JSON path. `make fuzz` runs the same tests with the long profile (see conftest.py)."""

from __future__ import annotations

import contextlib
import io
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.cli import main
from tests.conftest import corpus_dir

pytestmark = pytest.mark.corpus

Step = str | int
Where = tuple[Step, ...]

REPORTS = (
    "trivy/*.json",
    "grype/*.json",
    "sarif/*.sarif",
    "conftest/defectdojo/conftest_*.json",
    "conftest/outputs/*.json",
    "hadolint/defectdojo_*.json",
    "schemas/trivy-golden_alpine-310.gitlab-container-scanning.json",
)
"""Corpus reports the gate reads (not the corpus's schemas, expectations or policies)."""

SECONDS = 60
"""One example is one gate run on a report of at most a few thousand entries: far less than this, unless it hangs."""

HUGE = "\x00HUGE\x00"
"""Placeholder replaced in the serialised text by a number JSON can write and a double cannot hold."""
DEEP = "\x00DEEP\x00"
"""Placeholder replaced by nesting deeper than orjson's 1024 levels."""


# The fields each reader reads inside an entry, by the entry's JSON path pattern (`*` is any index). A
# value of another type there (or null where the field is required) must end the run with exit 2.
@dataclass(frozen=True)
class EntryFields:
    pattern: tuple[str, ...]
    read: frozenset[str]
    required: frozenset[str] = frozenset()


ENTRIES = (
    EntryFields(
        ("Results", "*", "Vulnerabilities", "*"),
        frozenset(
            "VulnerabilityID PkgName InstalledVersion FixedVersion Status Severity SeveritySource PkgPath"
            " PrimaryURL Title Description VendorIDs References CVSS PkgIdentifier".split()
        ),
        frozenset({"VulnerabilityID", "PkgName"}),
    ),
    EntryFields(
        ("Results", "*", "Misconfigurations", "*"),
        frozenset("Status Message Description Resolution Severity Title PrimaryURL References CauseMetadata".split()),
    ),
    EntryFields(
        ("Results", "*", "Secrets", "*"),
        frozenset("RuleID Category Severity Title StartLine EndLine".split()),
        frozenset({"RuleID"}),
    ),
    EntryFields(
        ("Results", "*", "Licenses", "*"),
        frozenset("Name PkgName Category FilePath Severity Link".split()),
        frozenset({"Name"}),
    ),
    EntryFields(
        ("matches", "*"),
        frozenset({"vulnerability", "artifact", "relatedVulnerabilities", "matchDetails"}),
        frozenset({"vulnerability", "artifact"}),
    ),
    EntryFields(
        ("matches", "*", "vulnerability"),
        frozenset("id severity description dataSource urls fix cvss epss".split()),
        frozenset({"id"}),
    ),
    EntryFields(
        ("matches", "*", "artifact"), frozenset("name version type purl locations".split()), frozenset({"name"})
    ),
    EntryFields(
        ("vulnerabilities", "*"),
        frozenset("identifiers severity name description location solution id links".split()),
        frozenset({"identifiers", "location"}),
    ),
    EntryFields(
        ("runs", "*", "results", "*"),
        frozenset("ruleId ruleIndex level kind message locations properties suppressions baselineState".split()),
    ),
    EntryFields(
        ("*",), frozenset("code level message line column file".split()), frozenset({"code", "level", "message"})
    ),
    EntryFields(("*", "failures", "*"), frozenset({"msg", "loc"}), frozenset({"msg"})),
    EntryFields(("*", "warnings", "*"), frozenset({"msg", "loc"}), frozenset({"msg"})),
)


@dataclass(frozen=True)
class Corpus:
    """Each report's bytes and every node path in it (computed once: the mutations pick among them)."""

    files: dict[str, bytes]
    nodes: dict[str, list[Where]]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    root = corpus_dir()
    paths = sorted({p for pattern in REPORTS for p in root.glob(pattern)})
    files = {str(p.relative_to(root)): p.read_bytes() for p in paths}
    assert len(files) >= 25, sorted(files)
    return Corpus(files, {name: list(_nodes(orjson.loads(data))) for name, data in files.items()})


@pytest.fixture(scope="module", autouse=True)
def plain_environment() -> Iterator[None]:
    # Outside CI: no step summary, annotations or report files besides the ones asked for.
    with pytest.MonkeyPatch.context() as patch:
        for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CI", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
            patch.delenv(name, raising=False)
        yield


def _nodes(value: Any, where: Where = ()) -> Iterator[Where]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield (*where, key)
        yield from _nodes(child, (*where, key))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@dataclass(frozen=True)
class Run:
    code: int
    err: str
    out: Path


class _Hang(Exception):
    """An example ran past `SECONDS`."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang(f"one gate run took more than {SECONDS} s")


def _gate(folder: Path, name: str, data: bytes) -> Run:
    path = folder / name
    path.write_bytes(data)
    out = folder / "out" / "result.json"
    out.parent.mkdir(exist_ok=True)
    err = io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["gate", str(path), "--json", str(out)])
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return Run(code, err.getvalue(), out)


def _holds_always(run: Run) -> None:
    assert run.code in (0, 1, 2), run
    assert "Traceback" not in run.err and "internal error" not in run.err, run.err
    assert run.err.count("\n") <= 1, run.err
    if run.code in (0, 1):
        assert orjson.loads(run.out.read_bytes())["verdict"] in ("pass", "fail")
    else:
        assert run.err.startswith("container-gate: error: "), run.err
        assert not run.out.exists()


@contextlib.contextmanager
def _folder() -> Iterator[Path]:
    # Not pytest's tmp_path: a function-scoped fixture would be shared by every example.
    with tempfile.TemporaryDirectory(prefix="fuzz-") as name:
        yield Path(name)


@given(data=st.binary(max_size=2048), name=st.sampled_from(["report.json", "scan.sarif", "trivy.json"]))
def test_random_bytes(data: bytes, name: str) -> None:
    with _folder() as folder:
        run = _gate(folder, name, data)
        _holds_always(run)
    if run.code == 2:
        assert str(folder / name) in run.err


@given(doc=JSON)
def test_random_json(doc: Any) -> None:
    with _folder() as folder:
        run = _gate(folder, "report.json", orjson.dumps(doc))
        _holds_always(run)


@dataclass(frozen=True)
class Mutation:
    report: str
    where: Where
    how: str
    value: Any = None


def _mutations(corpus: Corpus) -> st.SearchStrategy[Mutation]:
    @st.composite
    def build(draw: st.DrawFn) -> Mutation:
        report = draw(st.sampled_from(sorted(corpus.files)))
        where = draw(st.sampled_from(corpus.nodes[report]))
        how = draw(st.sampled_from(["replace", "replace", "replace", "delete", "deepen", "deepen-past-limit", "huge"]))
        value = draw(JSON) if how == "replace" else draw(st.integers(1, 40)) if how == "deepen" else None
        return Mutation(report, where, how, value)

    return build()


def _apply(corpus: Corpus, mutation: Mutation) -> tuple[bytes, Any, Any]:
    """The mutated file's bytes, the node's value before and after (`...` when the key was deleted)."""
    doc = orjson.loads(corpus.files[mutation.report])
    holder = doc
    for step in mutation.where[:-1]:
        holder = holder[step]
    last = mutation.where[-1]
    before = holder[last]
    after: Any
    if mutation.how == "delete":
        if isinstance(holder, list):
            assert isinstance(last, int)
            holder.pop(last)
        else:
            del holder[last]
        after = ...
    elif mutation.how == "replace":
        after = mutation.value
    elif mutation.how == "deepen":
        after = before
        for _ in range(mutation.value):
            after = [after]
    elif mutation.how == "deepen-past-limit":
        after = DEEP
    else:
        after = HUGE
    if after is not ...:
        holder[last] = after
    text = orjson.dumps(doc, default=str)
    text = text.replace(orjson.dumps(HUGE), b"-1e999" if len(mutation.where) % 2 else b"1e999")
    text = text.replace(orjson.dumps(DEEP), b"[" * 1100 + orjson.dumps(before) + b"]" * 1100)
    return text, before, after


def _entry(where: Where) -> tuple[str, EntryFields] | None:
    """The JSON path of the reader entry holding the changed field, when `where` is a field an entry reads."""
    for fields in ENTRIES:
        pattern = fields.pattern
        if len(where) != len(pattern) + 1 or not isinstance(where[-1], str) or where[-1] not in fields.read:
            continue
        if all((p == "*" and isinstance(s, int)) or p == s for p, s in zip(pattern, where, strict=False)):
            entry = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in where[:-1]).lstrip(".")
            return entry, fields
    return None


def _unreadable(where: Where, before: Any, after: Any) -> str | None:
    """The entry's JSON path when the mutation made a field the reader reads unreadable, else None."""
    found = _entry(where)
    if found is None:
        return None
    entry, fields = found
    field = where[-1]
    if after is ... or after is None:
        return entry if field in fields.required else None
    if after in (HUGE, DEEP):
        return None  # the whole file is not JSON a gate can read: checked by the message instead
    return entry if _kind(after) != _kind(before) else None


_UNTOUCHED: dict[str, int] = {}


def _untouched_code(corpus: Corpus, report: str) -> int:
    if report not in _UNTOUCHED:
        with _folder() as folder:
            _UNTOUCHED[report] = _gate(folder, Path(report).name, corpus.files[report]).code
    return _UNTOUCHED[report]


def test_mutations_of_every_corpus_report(corpus: Corpus) -> None:
    seen: set[str] = set()

    @given(mutation=_mutations(corpus))
    def check(mutation: Mutation) -> None:
        data, before, after = _apply(corpus, mutation)
        name = Path(mutation.report).name
        with _folder() as folder:
            run = _gate(folder, name, data)
            _holds_always(run)
        seen.add(mutation.report)
        if mutation.how in ("huge", "deepen-past-limit"):
            if run.code == 2:
                assert f"{folder / name}: not valid JSON" in run.err, run.err
            else:
                # The typed Trivy path skips fields no reader uses without decoding them (that is its speed), so a
                # number no double holds there changes nothing: the verdict must be the untouched report's.
                assert mutation.how == "huge" and _entry(mutation.where) is None, (mutation, run)
                assert run.code == _untouched_code(corpus, mutation.report), (mutation, run)
            return
        entry = _unreadable(mutation.where, before, after)
        if entry is None:
            return
        # A recognised report's entry that cannot be read: never a pass, and the line says where.
        assert run.code == 2, (mutation, run)
        assert f"{folder / name}: " in run.err, run.err
        assert f": {entry}" in run.err or "not a report we know" in run.err, (mutation, run.err)

    check()
    assert len(seen) >= 5  # the mutations reached many reports, not one


def test_known_unreadable_entries_of_every_corpus_report(corpus: Corpus) -> None:
    """Deterministic companion of the mutation property: in every report, each field an entry reads (its
    first occurrence), given a value of another type, ends the run with exit 2 naming the file and entry."""
    checked = 0
    with _folder() as folder:
        for report, data in sorted(corpus.files.items()):
            tried: set[tuple[EntryFields, str | int]] = set()
            for where in corpus.nodes[report]:
                found = _entry(where)
                if found is None or (found[1], where[-1]) in tried:
                    continue
                tried.add((found[1], where[-1]))
                doc = orjson.loads(data)
                holder = doc
                for step in where[:-1]:
                    holder = holder[step]
                holder[where[-1]] = 7 if isinstance(holder[where[-1]], list | str) else []
                name = Path(report).name
                run = _gate(folder, name, orjson.dumps(doc))
                _holds_always(run)
                assert run.code == 2, (report, where, run)
                assert f"{folder / name}: {found[0]}" in run.err or "not a report we know" in run.err, run.err
                checked += 1
    assert checked >= 100


@pytest.fixture(scope="module")
def sboms(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """CycloneDX and SPDX documents written by the real Trivy (the corpus holds no SBOM), mutated like the reports."""
    from tests.conftest import require_tool
    from tests.unit.ingest.test_ingest_sbom import lock_tree, trivy_license_scan, vulnerable_bom

    trivy = require_tool("trivy")
    base = tmp_path_factory.mktemp("fuzz-sbom")
    tree = lock_tree(base / "tree")
    files: dict[str, bytes] = {"vulnerable.cdx.json": orjson.dumps(vulnerable_bom(state="in_triage"))}
    for fmt in ("cyclonedx", "spdx-json"):
        target = trivy_license_scan(tree, fmt, base / f"{fmt}.json", trivy=trivy)
        files[target.name] = target.read_bytes()
    return Corpus(files, {name: list(_nodes(orjson.loads(data))) for name, data in files.items()})


def test_mutations_of_sboms_end_in_a_verdict_or_one_line_error(sboms: Corpus) -> None:
    @given(mutation=_mutations(sboms))
    def check(mutation: Mutation) -> None:
        data, _, _ = _apply(sboms, mutation)
        with _folder() as folder:
            run = _gate(folder, Path(mutation.report).name, data)
            _holds_always(run)
            if run.code == 2:
                assert mutation.report in run.err

    check()
