"""Parse + verdict time and peak memory of the gate core on generated 20k and 100k finding reports.

Each size runs in a fresh interpreter so peak RSS belongs to that size alone. Prints a table."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reports import write_trivy  # noqa: E402

CHILD = r"""
import datetime as dt, json, resource, sys, time
from pathlib import Path
t0 = time.perf_counter()
from gate.ingest import load_report
from gate.decide.verdict import Policy, evaluate
report = load_report(Path(sys.argv[1]))
t1 = time.perf_counter()
verdict = evaluate([report], Policy(), today=dt.date(2026, 11, 29))
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"parse": t1 - t0, "verdict": t2 - t1, "findings": len(verdict.decisions),
                  "blocking": len(verdict.blocking), "rss_mib": rss}))
"""


def main() -> None:
    """Run each size and print the figures."""
    print(f"{'findings':>9} {'parse s':>8} {'verdict s':>9} {'total s':>8} {'peak MiB':>9} {'blocking':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (20_000, 100_000):
            path = write_trivy(Path(tmp) / f"trivy-{count}.json", count)
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout)
            total = r["parse"] + r["verdict"]
            print(
                f"{r['findings']:>9} {r['parse']:>8.2f} {r['verdict']:>9.2f} {total:>8.2f} "
                f"{r['rss_mib']:>9.0f} {r['blocking']:>9}"
            )


if __name__ == "__main__":
    main()
