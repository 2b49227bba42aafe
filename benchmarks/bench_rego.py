"""Rego mode against `conftest test`: the same manifests and policies, side by side, same failures required.

The manifest sets are Conftest's own `examples/kubernetes/deployment.yaml` (from the shared corpus, read in place)
copied N times, each copy renamed (`metadata.name: hello-kubernetes-<i>`) so no two files are alike; the policies
are that example's `policy/` folder. Both tools run from the set's folder on the same relative path, alternating,
`--repeat` times each; the script fails (exit 1) unless both report the same (file, message) failures and warnings.

    python benchmarks/bench_rego.py [--sizes 1000 10000] [--repeat 3] [--conftest PATH] [--keep DIR]

conftest is built from the Go module proxy at the pinned version by `.ci/build-go-tools.sh conftest` (into
`~/.cache/container-gate/go/bin`, or `$CONTAINER_GATE_TOOLS/bin`); without it the script says so and exits 2.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gate import measure  # noqa: E402 (this folder's shared timer)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CONTAINER_GATE_SHARED", REPO.parent / "shared"))
EXAMPLE = SHARED / "corpus" / "conftest" / "examples" / "kubernetes"
BIN = Path(sys.executable).parent


def conftest_binary(given: str | None) -> Path | None:
    """The conftest to compare with: `--conftest`, the build script's folder, then PATH."""
    if given:
        return Path(given)
    tools = Path(os.environ.get("CONTAINER_GATE_TOOLS", Path.home() / ".cache" / "container-gate" / "go"))
    built = tools / "bin" / "conftest"
    if built.is_file():
        return built
    found = shutil.which("conftest")
    return Path(found) if found else None


def make_set(count: int, folder: Path) -> None:
    """`count` renamed copies of the example deployment in `folder`."""
    text = (EXAMPLE / "deployment.yaml").read_text()
    if "name: hello-kubernetes\n" not in text:
        raise SystemExit(f"bench_rego: {EXAMPLE / 'deployment.yaml'} changed: no 'name: hello-kubernetes' line")
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        renamed = text.replace("name: hello-kubernetes\n", f"name: hello-kubernetes-{index}\n", 1)
        (folder / f"deployment-{index:05d}.yaml").write_text(renamed)


def conftest_results(path: Path) -> Counter[tuple[str, str, str]]:
    """(file, kind, message) of every failure and warning in `conftest test -o json` output."""
    found: Counter[tuple[str, str, str]] = Counter()
    for entry in json.loads(path.read_text()):
        for kind in ("failures", "warnings"):
            for result in entry.get(kind) or []:
                found[(entry["filename"], kind, result["msg"])] += 1
    return found


def gate_results(path: Path) -> Counter[tuple[str, str, str]]:
    """The same triples from our JSON result (Rego failures are HIGH, warnings MEDIUM, as documented)."""
    found: Counter[tuple[str, str, str]] = Counter()
    for finding in json.loads(path.read_text())["findings"]:
        if "rego" in finding["sources"]:
            kind = "failures" if finding["severity"] == "HIGH" else "warnings"
            found[(finding["target"], kind, finding["title"])] += 1
    return found


def run(sizes: list[int], repeat: int, conftest: Path, keep: Path | None) -> int:
    work = keep or Path(tempfile.mkdtemp(prefix="bench-rego-"))
    policy = EXAMPLE / "policy"
    rows = []
    for size in sizes:
        folder = work / str(size)
        shutil.rmtree(folder, ignore_errors=True)
        make_set(size, folder / "m")
        os.chdir(folder)
        gate = [str(BIN / "container-gate"), "gate", "m", "--policy", str(policy), "--fail-on", "NONE"]
        gate += ["--json", "gate.json"]
        theirs = [str(conftest), "test", "m", "-p", str(policy), "-o", "json"]
        gate_runs, conftest_runs = [], []
        # (Not `conftest.json`: conftest reads any `conftest.*` in its working folder as its own config.)
        for _ in range(repeat):
            gate_runs.append(measure(gate))
            conftest_runs.append(_to_file(theirs, folder / "theirs.json"))
        gate_runs.append(measure(gate, sample=True))
        conftest_runs.append(_to_file(theirs, folder / "theirs.json", sample=True))
        ours, reference = gate_results(folder / "gate.json"), conftest_results(folder / "theirs.json")
        if ours != reference:
            missing, extra = reference - ours, ours - reference
            print(
                f"bench_rego: {size} files: results differ: {len(missing)} missing, {len(extra)} extra", file=sys.stderr
            )
            for item in list(missing.elements())[:3] + list(extra.elements())[:3]:
                print(f"  {item}", file=sys.stderr)
            return 1
        rows.append((size, sum(reference.values()), _summary(gate_runs), _summary(conftest_runs)))
    print(f"manifests: {EXAMPLE / 'deployment.yaml'} renamed copies; policies: {policy}")
    print(f"median of {repeat} timed runs each; CPU = user + system s; PSS = process tree sum, sampled in one more run")
    print(
        f"{'files':>6} {'results':>8} | {'gate s':>6} {'CPU':>5} {'PSS MiB':>7} | {'conftest s':>10} {'CPU':>5} "
        f"{'PSS MiB':>7} | time x  CPU x  PSS x"
    )
    for size, results, (gw, gc, gp), (cw, cc, cp) in rows:
        print(
            f"{size:>6} {results:>8} | {gw:>6.2f} {gc:>5.2f} {gp:>7.0f} | {cw:>10.2f} {cc:>5.2f} {cp:>7.0f} | "
            f"{gw / cw:5.2f}  {gc / cc:5.2f}  {gp / max(cp, 1):5.2f}"
        )
    return 0


def _to_file(cmd: list[str], out: Path, *, sample: bool = False) -> tuple[float, float, int, float, float]:
    return measure(cmd, sample=sample, stdout=out)


def _summary(runs: list[tuple[float, float, int, float, float]]) -> tuple[float, float, float]:
    """Median wall and CPU of the timed runs (all but the last), the sampled run's tree PSS."""
    timed, sampled = runs[:-1], runs[-1]
    return statistics.median(r[0] for r in timed), statistics.median(r[3] for r in timed), sampled[4]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--conftest", help="the conftest binary (default: .ci/build-go-tools.sh's, then PATH)")
    parser.add_argument("--keep", type=Path, help="folder for the manifest sets and outputs")
    args = parser.parse_args()
    if not (EXAMPLE / "policy").is_dir():
        print(f"bench_rego: the shared corpus is missing ({EXAMPLE})", file=sys.stderr)
        return 2
    conftest = conftest_binary(args.conftest)
    if conftest is None or not conftest.is_file():
        print("bench_rego: conftest is missing: build it with `.ci/build-go-tools.sh conftest`", file=sys.stderr)
        return 2
    return run(args.sizes, args.repeat, conftest, args.keep)


if __name__ == "__main__":
    sys.exit(main())
