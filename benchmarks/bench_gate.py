"""Times the whole gate against `trivy convert --format sarif` on generated Trivy reports (not a test).

Reports of N vulnerabilities are built by repeating the real entries of the corpus's Trivy goldens with
new CVE ids and package names (so dedupe keeps every one), keeping the corpus's packages per CVE
unless `--packages-per-cve N` asks for a denser report (see `generate`). Each command runs as a child process;
wall time and peak RSS come from `os.wait4` on that child, so the two tools are measured the same way.

    .venv/bin/python benchmarks/bench_gate.py [--sizes 20000 100000] [--repeat 3] [--packages-per-cve N]
        [--keep DIR] [--in-process]

Without a CLI that writes the outputs (or with --in-process) the gate side is this script's own
`--pipeline` mode: read, dedupe, verdict, SARIF, JSON (when available), summary, in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("CONTAINER_GATE_SHARED", REPO.parent / "shared")) / "corpus"
SOURCES = ("alpine-310", "debian-buster", "ubuntu-1804", "centos-7")
BIN = REPO / ".venv" / "bin"


def generate(count: int, path: Path, per_cve: int | None = None) -> float:
    """A Trivy JSON v2 image report with `count` distinct vulnerabilities.

    The corpus goldens' real entries are repeated; each repetition gets its own CVE ids and package
    names, so dedupe keeps every entry. By default entries that share a CVE in the corpus share one
    in each copy: 2 packages per CVE on average, as in real image reports (the corpus's have 1 to 2.5).
    `per_cve` forces N packages on every CVE instead: a dense report with few distinct rules, the
    case where trivy's per-rule cost is smallest against ours. Returns the packages per CVE."""
    docs = [json.loads((CORPUS / "trivy" / f"trivy-golden_{name}.json").read_text()) for name in SOURCES]
    base = docs[0]
    pool: list[dict[str, Any]] = [v for d in docs for r in d["Results"] for v in r.get("Vulnerabilities") or []]
    known: dict[str, int] = {}
    slots = [known.setdefault(v["VulnerabilityID"], len(known)) for v in pool]
    severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN", "MEDIUM", "LOW"]
    vulns = []
    for i in range(count):
        copy_no, j = divmod(i, len(pool))
        v = copy.deepcopy(pool[j])
        number = i // per_cve if per_cve else copy_no * len(known) + slots[j]
        v["VulnerabilityID"] = f"CVE-2099-{number:07d}"
        suffix = i % per_cve if per_cve else copy_no
        v["PkgName"] = f"{v['PkgName']}-{suffix}"
        v["PkgID"] = f"{v['PkgName']}@{v.get('InstalledVersion', '')}"
        v["Severity"] = severities[number % len(severities)]
        vulns.append(v)
    result = copy.deepcopy(base["Results"][0])
    result["Vulnerabilities"] = vulns
    doc = dict(base, Results=[result])
    path.write_text(json.dumps(doc))
    return count / len({v["VulnerabilityID"] for v in vulns})


def measure(
    cmd: list[str], *, sample: bool = False, stdout: Path | None = None
) -> tuple[float, float, int, float, float]:
    """(wall seconds, peak RSS MiB, exit code, CPU seconds, peak tree PSS MiB) of one child process.

    Peak RSS is `wait4`'s: the largest of the process and its own children, not their sum. With
    `sample`, the tree PSS is sampled every 20 ms over the process and all its descendants, so a forked
    helper's private memory is added (and shared pages counted once): the honest total when work is
    split in processes. Sampling reads every process's page tables, CPU taken from the measured tools
    on a two-core machine, so timed runs are not sampled (PSS is then 0). `stdout`: a file for the tool's
    standard output (else it is discarded)."""
    sink = stdout.open("wb") if stdout else None
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=sink or subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = _TreeSampler(proc.pid)
    if sample:
        sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if sink is not None:
        sink.close()
    if sample:
        sampler.done.set()
        sampler.join()
    if proc.stderr is not None:
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) not in (0, 1):
            print(err, file=sys.stderr)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, proc.returncode, cpu, sampler.peak / 1024


class _TreeSampler(threading.Thread):
    """Largest sum of PSS (KiB) seen over a process tree while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, sum(_pss(p) for p in _tree(self.pid)))


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        todo.extend(int(c) for c in children)
    return found


def _pss(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:")), 0)


def gate_command(report: Path, out: Path, in_process: bool) -> list[str]:
    """The gate invocation: the real CLI, or this script's in-process pipeline."""
    outputs = ["--sarif", str(out / "gate.sarif"), "--json", str(out / "gate.json"), "--summary", str(out / "gate.md")]
    if in_process:
        return [sys.executable, __file__, "--pipeline", str(report), str(out)]
    return [str(BIN / "container-gate"), "gate", str(report), *outputs]


def pipeline(report: Path, out: Path) -> None:
    """read → dedupe → verdict → SARIF, JSON (if the emitter exists), summary; files written as the CLI would."""
    import datetime as dt

    from gate.decide.verdict import Policy, evaluate
    from gate.emit import sarif, summary
    from gate.emit.base import EmitContext
    from gate.ingest import load_report

    verdict = evaluate([load_report(report)], Policy(), today=dt.date.today())
    ctx = EmitContext(tool_version="bench", repo_root=str(REPO), now=dt.datetime.now(dt.UTC).isoformat())
    (out / "gate.sarif").write_text(sarif.render(verdict, ctx))
    try:
        from gate.emit import json as json_emitter

        (out / "gate.json").write_text(json_emitter.render(verdict, ctx))  # type: ignore[attr-defined]
    except (ImportError, AttributeError):
        pass
    (out / "gate.md").write_text(summary.render(verdict, ctx))


def cli_writes_outputs(report: Path, out: Path) -> bool:
    """True when the CLI exists and writes the SARIF we ask for (it is being wired up in parallel)."""
    if not (BIN / "container-gate").exists():
        return False
    subprocess.run(gate_command(report, out, False), capture_output=True, check=False)
    return (out / "gate.sarif").is_file()


def run(sizes: list[int], keep: Path | None, in_process: bool, repeat: int, per_cve: int | None = None) -> None:
    """Generate, measure both tools per size (alternating, `repeat` times each), print a table."""
    work = keep or Path(tempfile.mkdtemp(prefix="bench-gate-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    quickest: list[tuple[int, float, float]] = []
    for size in sizes:
        report = work / f"trivy-{size}.json"
        density = generate(size, report, per_cve)
        use_pipeline = in_process or not cli_writes_outputs(report, work)
        trivy = [str(BIN / "trivy"), "convert", "--format", "sarif", "--output", str(work / "trivy.sarif"), str(report)]
        gate_runs, trivy_runs = [], []
        for _ in range(repeat):
            # Interleaved, so a burst of load on a shared machine hits both tools alike.
            gate_runs.append(measure(gate_command(report, work, use_pipeline)))
            trivy_runs.append(measure(trivy))
        # One more run of each with the PSS sampler, for memory only (its wall time is not counted).
        gate = _summary(gate_runs, measure(gate_command(report, work, use_pipeline), sample=True))
        trivy_m = _summary(trivy_runs, measure(trivy, sample=True))
        rows.append((size, "pipeline" if use_pipeline else "cli", gate, trivy_m))
        print(f"{size} vulnerabilities: {density:.1f} packages per CVE", file=sys.stderr)
        quickest.append((size, min(r[0] for r in gate_runs), min(r[0] for r in trivy_runs)))
    print(f"reports: corpus entries repeated, {'packages per CVE forced' if per_cve else 'grouped as in the corpus'}")
    print(
        f"median of {repeat} timed runs each; CPU = user + system seconds; RSS = wait4 peak; "
        "PSS = tree sum sampled in one extra run"
    )
    head = f"{'vulns':>7} {'gate':>8} {'wall s':>7} {'CPU s':>6} {'RSS MiB':>8} {'PSS MiB':>8} {'rc':>3}"
    print(f"{head} | {'trivy s':>8} {'CPU s':>6} {'RSS MiB':>8} {'PSS MiB':>8} | time x  RSS x  PSS x")
    for size, mode, (gw, gr, rc, gc, gp), (tw, tr, _, tc, tp) in rows:
        ratios = f"{gw / tw:5.2f}  {gr / tr:5.2f}  {gp / max(tp, 1):5.2f}"
        gate_cols = f"{size:>7} {mode:>8} {gw:>7.2f} {gc:>6.2f} {gr:>8.0f} {gp:>8.0f} {rc:>3}"
        print(f"{gate_cols} | {tw:>8.2f} {tc:>6.2f} {tr:>8.0f} {tp:>8.0f} | {ratios}")
    # On a shared machine the medians move with the neighbours' load; the quickest runs show the code.
    for size, gate_min, trivy_min in quickest:
        ratio = gate_min / trivy_min
        print(f"{size:>7} quickest runs: gate {gate_min:.2f} s, trivy {trivy_min:.2f} s, time x {ratio:.2f}")


Measured = tuple[float, float, int, float, float]


def _summary(runs: list[Measured], sampled: Measured) -> Measured:
    """Median wall and CPU time of the timed runs, the largest peak RSS of all, the sampled run's tree
    PSS, the last exit code."""
    return (
        statistics.median(r[0] for r in runs),
        max(r[1] for r in (*runs, sampled)),
        runs[-1][2],
        statistics.median(r[3] for r in runs),
        sampled[4],
    )


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--keep", type=Path, help="folder for the generated reports and outputs")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool per size (median reported)")
    parser.add_argument(
        "--packages-per-cve", type=int, metavar="N", help="every CVE on N packages (default: as in the corpus)"
    )
    parser.add_argument("--in-process", action="store_true", help="time the pipeline instead of the CLI")
    parser.add_argument("--pipeline", nargs=2, type=Path, metavar=("REPORT", "OUTDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pipeline:
        pipeline(*args.pipeline)
        return
    run(args.sizes, args.keep, args.in_process, args.repeat, args.packages_per_cve)


if __name__ == "__main__":
    main()
