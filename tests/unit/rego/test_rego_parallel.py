"""Rego inputs split over worker processes give the same results, in the same order, as one worker; errors and
time limits behave as in a single child; the split and the worker count follow their rules."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gate import speed
from gate.checks.rego.check import check, run, shares
from gate.checks.rego.engine import load, may_read_file_info
from gate.checks.rego.limits import Limits
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


def test_shares_are_contiguous_cover_every_input_and_weigh_alike(tmp_path: Path) -> None:
    paths = []
    for i, size in enumerate([10, 10, 10, 10, 500, 10, 10, 10, 10, 10, 10, 500]):
        path = tmp_path / f"f{i:02d}.yaml"
        path.write_text("x" * size)
        paths.append(path)
    cut = shares(paths, 2)
    assert [p for share in cut for p in share] == paths
    weights = [sum(p.stat().st_size for p in share) for share in cut]
    assert len(cut) == 2 and max(weights) < 0.75 * sum(weights)
    assert shares(paths, 1) == [paths] and shares(paths[:1], 4) == [paths[:1]]
    assert len(shares(paths, 50)) <= len(paths)


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
