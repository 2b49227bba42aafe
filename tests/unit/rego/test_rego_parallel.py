"""Rego inputs split over worker processes give the same results, in the same order, as one worker; errors and
time limits behave as in a single child; the batches, the queue and the worker count follow their rules."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from gate import speed
from gate.checks.rego.check import check, prestart, run
from gate.checks.rego.engine import load, may_read_file_info
from gate.checks.rego.limits import MAX_BATCHES, Limits, Standby, bounded_batches
from gate.errors import InputError, PolicyError

V1 = "package main\nimport rego.v1\n\n"

POLICY = V1 + (
    'deny contains sprintf("%s runs as root", [input.metadata.name]) if input.spec.runAsRoot\n'
    'warn_team contains sprintf("%s has no team label", [input.metadata.name]) if not input.metadata.labels.team\n'
    'violation contains {"msg": sprintf("%s: %d replicas", [input.metadata.name, input.spec.replicas]),'
    ' "severity": "low"} if input.spec.replicas > 3\n'
    'exception contains ["team"] if input.metadata.labels.skip == "yes"\n'
)
FILE_INFO = V1 + 'deny contains sprintf("seen %s", [data.conftest.file.name]) if input.kind\n'


def manifests(folder: Path, count: int) -> list[Path]:
    """Files that differ in what fails, with multi-document files and exceptions among them."""
    folder.mkdir()
    paths = []
    for i in range(count):
        doc = (
            f"kind: Deployment\nmetadata:\n  name: app-{i}\n  labels: {{team: {'x' if i % 3 else 'null'}, "
            f"skip: '{'yes' if i % 7 == 0 else 'no'}'}}\nspec:\n  runAsRoot: {str(i % 2 == 0).lower()}\n"
            f"  replicas: {i % 6}\n"
        )
        if i % 5 == 0:
            doc += f"---\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  replicas: 9\n"
        path = folder / f"m{i:03d}.yaml"
        path.write_text(doc)
        paths.append(path)
    return paths


@pytest.fixture
def workload(tmp_path: Path) -> tuple[list[Path], Path]:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(POLICY)
    (tmp_path / "info").mkdir()
    (tmp_path / "info" / "p.rego").write_text(FILE_INFO)
    return manifests(tmp_path / "m", 40), tmp_path


@pytest.mark.parametrize("policy", ["policy", "info"], ids=["shared-engine", "engine-per-file"])
def test_any_number_of_workers_gives_the_sequential_results(workload: tuple[list[Path], Path], policy: str) -> None:
    inputs, root = workload
    policies = [str(root / policy)]
    one = check(inputs, policies=policies, root=root, workers=1)
    assert sum(len(r.failures) for r in one) > 10 and (policy == "info" or sum(len(r.exceptions) for r in one) > 0)
    for workers in (2, 3, 7):
        assert check(inputs, policies=policies, root=root, workers=workers) == one
    reports = run(inputs, policies=policies, root=root, workers=1).reports
    assert run(inputs, policies=policies, root=root, workers=4).reports == reports
    assert [r.path for r in reports] == [p.relative_to(root).as_posix() for p in inputs]


def test_a_shared_engine_leaks_nothing_from_one_file_to_the_next(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(V1 + 'deny contains "root" if input.spec.runAsRoot\n')
    bad, good = tmp_path / "a.yaml", tmp_path / "b.yaml"
    bad.write_text("spec: {runAsRoot: true}\n")
    good.write_text("spec: {}\n")
    results = check([bad, good], policies=[str(tmp_path / "p.rego")], root=tmp_path, workers=1)
    assert [len(r.failures) for r in results] == [1, 0]


def test_the_first_bad_input_in_order_is_the_error_whichever_worker_meets_it(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(POLICY)
    inputs = manifests(tmp_path / "m", 30)
    inputs[20].write_text("a: [unclosed\n")
    inputs[8].write_text("b: {unclosed\n")
    for workers in (1, 3):
        with pytest.raises(InputError) as caught:
            check(inputs, policies=[str(tmp_path / "p.rego")], root=tmp_path, workers=workers)
        assert "m008.yaml" in caught.value.diagnostics()


def test_a_bad_policy_is_one_error_not_one_per_worker(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text(V1 + "deny contains x if {\n")
    inputs = manifests(tmp_path / "m", 10)
    with pytest.raises(PolicyError) as caught:
        check(inputs, policies=[str(tmp_path / "p.rego")], root=tmp_path, workers=3)
    assert caught.value.diagnostics().count("p.rego") == 1


def test_a_step_over_time_in_one_worker_ends_every_worker(tmp_path: Path) -> None:
    slow = "some a in numbers.range(1, 100000); some b in numbers.range(1, 100000); a * b < 0"
    (tmp_path / "p.rego").write_text(
        V1 + f'deny contains "x" if {{ input.slow; {slow} }}\ndeny contains "y" if input.kind\n'
    )
    inputs = manifests(tmp_path / "m", 30)
    inputs[25].write_text("kind: Pod\nslow: true\n")
    before = _children()
    start = time.monotonic()
    with pytest.raises(PolicyError) as caught:
        check(inputs, policies=[str(tmp_path / "p.rego")], root=tmp_path, workers=3, limits=Limits(seconds=1.0))
    assert time.monotonic() - start < 10
    assert "m/m025.yaml" in caught.value.diagnostics() and "did not finish within 1 s" in caught.value.diagnostics()
    # Every worker was killed and reaped: this process has no child it did not have before (running or zombie).
    assert _children() <= before


def _children() -> set[int]:
    """Child processes of this process, from every thread's /proc children list (Linux)."""
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def test_batches_are_small_enough_to_share_and_few_enough_to_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    assert speed.rego_batch(1, 1, MAX_BATCHES) == 1
    assert speed.rego_batch(40, 2, MAX_BATCHES) == 3  # about 8 a worker
    assert speed.rego_batch(1_000, 2, MAX_BATCHES) == speed.REGO_MAX_BATCH
    assert speed.rego_batch(1_000_000, 2, MAX_BATCHES) * MAX_BATCHES >= 1_000_000
    monkeypatch.setattr(speed, "ENABLED", False)
    assert speed.rego_batch(1_000, 2, MAX_BATCHES) == 1_000  # plain: one batch, sent back at the end


def test_every_batch_is_handled_once_and_handed_on_as_it_comes() -> None:
    seen: list[int] = []

    def handle(state: int, index: int, _progress: object) -> tuple[int, int]:
        time.sleep(0.002 * (index % 3))  # workers finish out of order
        return state, index * index

    def consume(index: int, result: tuple[int, int]) -> None:
        assert result[1] == index * index
        seen.append(index)

    done = bounded_batches(lambda _p: 7, handle, 60, consume, finish=lambda state: state + 1, workers=3)
    assert done == 8 and sorted(seen) == list(range(60))
    assert bounded_batches(lambda _p: 0, handle, 0, consume, finish=lambda state: "none", workers=2) == "none"


def test_the_lowest_failing_batch_is_the_error_and_it_comes_without_waiting_for_the_rest() -> None:
    def handle(_state: None, index: int, _progress: object) -> int:
        if index in (5, 30):
            raise InputError(f"bad batch {index}", path=f"f{index}")
        if index > 40:
            time.sleep(1)  # would hold the run for seconds if the error waited for every batch
        return index

    start = time.monotonic()
    with pytest.raises(InputError) as caught:
        bounded_batches(lambda _p: None, handle, 200, lambda _i, _r: None, finish=lambda _s: None, workers=2)
    assert "bad batch 5" in caught.value.diagnostics()
    assert time.monotonic() - start < 5


def test_a_failing_setup_fails_before_any_batch() -> None:
    def setup(_progress: object) -> None:
        raise PolicyError("cannot compile", path="p.rego")

    with pytest.raises(PolicyError, match="cannot compile"):
        bounded_batches(setup, lambda _s, i, _p: i, 10, lambda _i, _r: None, finish=lambda _s: None, workers=3)


def test_a_setup_that_failed_and_exited_before_the_work_came_is_its_error_not_a_broken_pipe() -> None:
    # The race CI met: the first child's compile failed and it had exited before this process wrote the queue,
    # whose read end then had no holder left.
    def setup(_progress: object) -> None:
        raise PolicyError("cannot compile", path="p.rego")

    standby: Standby[None, None, None, int, None] = Standby(
        setup, lambda s, _j: s, lambda _s, i, _p: i, lambda _s: None, most=2
    )
    with standby:
        deadline = time.monotonic() + 10
        while _state(standby.pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _state(standby.pid) == "Z"  # it has exited (not yet reaped): its pipes' read ends are gone
        with pytest.raises(PolicyError, match="cannot compile"):
            standby.run(None, 10, lambda _i, _r: None, workers=2)


def _state(pid: int) -> str:
    """The process state letter Linux gives in /proc/PID/stat (after the name in parentheses)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_worker_that_crashes_names_its_step() -> None:
    import os

    def handle(_state: None, index: int, progress: object) -> int:
        assert callable(progress)
        progress(f"file-{index}", "evaluating p/")
        if index == 3:
            os._exit(9)  # as an engine that dies in the middle of a batch
        return index

    with pytest.raises(PolicyError) as caught:
        bounded_batches(lambda _p: None, handle, 8, lambda _i, _r: None, finish=lambda _s: None, workers=2)
    assert "file-3" in caught.value.diagnostics() and "crashed the policy engine (exit 9)" in caught.value.diagnostics()


def test_worker_count_follows_cores_and_work(monkeypatch: pytest.MonkeyPatch) -> None:
    per = speed.REGO_FILES_PER_WORKER
    assert speed.rego_workers(1, cores=8) == 1
    assert speed.rego_workers(per * 2 - 1, cores=8) == 1
    assert speed.rego_workers(per * 2, cores=8) == 2
    assert speed.rego_workers(per * 100, cores=2) == 2
    assert speed.rego_workers(per * 100, cores=64) == 8
    monkeypatch.setattr(speed, "ENABLED", False)
    assert speed.rego_workers(per * 100, cores=8) == 1


@pytest.mark.parametrize(
    ("source", "reads"),
    [
        ("package main\ndeny contains x if { x := data.lib.name }\n", False),
        ("package main\nimport data.lib\n", False),
        ("package main\nx := data.conftest.file.name\n", True),
        ("package main\nx := data[k]\n", True),
        ("package main\nx := walk(data)\n", True),
        ("package main\nimport data\n", True),
        ("package main\nx := 1\n", False),
    ],
)
def test_only_policies_that_cannot_see_file_info_share_an_engine(tmp_path: Path, source: str, reads: bool) -> None:
    assert may_read_file_info(source) is reads
    (tmp_path / "p.rego").write_text(source)
    # (A bare `data` in a rule is recursive for the static check; only the others compile on their own.)
    if not reads or "conftest" in source:
        assert load([str(tmp_path / "p.rego")]).reads_file_info is reads


def test_a_builtin_pack_is_evaluated_once_though_its_files_share_a_namespace(tmp_path: Path) -> None:
    # The Kubernetes pack has two files in `containergate.kubernetes`: each result once, and Conftest's tally once.
    manifest = tmp_path / "d.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec:\n  template:\n    spec:\n      containers: [{name: web, image: 'web:1'}]\n"
    )
    results = check([manifest], policies=["builtin:kubernetes"], root=tmp_path, workers=1)
    assert [r.namespace for r in results].count("containergate.kubernetes") == 1
    failures = [f.msg for r in results for f in r.failures]
    assert failures and len(failures) == len(set(failures))
    (report,) = run([manifest], policies=["builtin:kubernetes"], root=tmp_path, workers=1).reports
    assert len(report.findings) == len({(f.id, f.title) for f in report.findings})


def test_the_time_this_process_takes_with_a_batch_is_not_a_workers_time() -> None:
    # Each batch is larger than a pipe holds, so a worker waits to write it while this process is busy with the
    # other's; that wait (here 0.6 s a batch, against a 1 s limit) must not end the run as a step over time.
    def handle(_state: None, index: int, progress: object) -> bytes:
        assert callable(progress)
        progress(f"file-{index}", "evaluating p/")
        return bytes(300_000)

    def consume(_index: int, _result: bytes) -> None:
        time.sleep(0.6)

    limits = Limits(seconds=1.0)
    done = bounded_batches(lambda _p: None, handle, 4, consume, finish=lambda _s: "ok", workers=2, limits=limits)
    assert done == "ok"


def test_a_compile_started_early_gives_what_a_compile_started_late_gives(
    workload: tuple[list[Path], Path],
) -> None:
    inputs, root = workload
    policies = [str(root / "policy")]
    late = run(inputs, policies=policies, root=root, workers=2)
    before = _children()
    with prestart(policies=policies) as standby:
        assert standby.fits(standby.key)
        early = run(inputs, policies=policies, root=root, workers=2, standby=standby)
        assert not standby.fits(standby.key)  # it was the one that ran: a standby runs once
    assert early == late and early.reports
    assert _children() <= before


def test_an_early_compile_for_other_arguments_is_not_used_and_leaves_no_process(
    workload: tuple[list[Path], Path],
) -> None:
    inputs, root = workload
    policies = [str(root / "policy")]
    before = _children()
    with prestart(policies=policies, namespaces=("other",)) as standby:
        assert len(_children() - before) == 1  # the one child compiling
        ran = run(inputs, policies=policies, root=root, workers=2, standby=standby)
        assert standby.fits(standby.key)  # not taken: the run compiled its own
    assert ran == run(inputs, policies=policies, root=root, workers=1)
    assert _children() <= before


def test_an_early_compile_never_run_is_stopped_and_its_error_never_raised(tmp_path: Path) -> None:
    (tmp_path / "bad.rego").write_text("package main\ndeny contains if {\n")
    before = _children()
    start = time.monotonic()
    with prestart(policies=[str(tmp_path / "bad.rego")]):
        pass
    assert _children() <= before and time.monotonic() - start < 5


@pytest.mark.parametrize(
    ("sig", "said"),
    [(signal.SIGKILL, "ran out of memory"), (signal.SIGTERM, "crashed the policy engine (signal SIGTERM)")],
)
def test_a_worker_forked_from_the_first_that_dies_of_a_signal_names_its_step(sig: int, said: str) -> None:
    parent = os.getpid()

    def handle(_state: None, index: int, progress: object) -> int:
        assert callable(progress)
        progress(f"file-{index}", "evaluating p/")
        time.sleep(0.02)  # every worker takes batches
        if os.getppid() != parent:  # a clone: its parent is the first child
            os.kill(os.getpid(), sig)
        return index

    before = _children()
    with pytest.raises(PolicyError) as caught:
        bounded_batches(lambda _p: None, handle, 40, lambda _i, _r: None, finish=lambda _s: None, workers=2)
    assert said in caught.value.diagnostics() and "file-" in caught.value.diagnostics()
    assert _children() <= before
