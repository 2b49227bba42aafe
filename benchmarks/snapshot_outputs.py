"""Every output of the gate on every corpus report, the examples and the Dockerfile fixtures, into one folder.

Usage: python benchmarks/snapshot_outputs.py OUT_DIR [--shared DIR]
Then `diff -r BEFORE AFTER`: a refactoring that changes no behaviour leaves the two folders byte-identical.

Each input runs in a fresh `container-gate gate` process outside GitHub Actions, with a fixed clock-free setup
(no ignores with dates, no network), writing SARIF, GitLab container scanning, code quality, JSON and the summary,
plus the console's stdout/stderr and the exit code. Paths are given relative to the input's folder so the
snapshot does not depend on where the checkout lives."""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SCAN_TIME = re.compile(r'("(?:start|end)_time": )"[0-9T:-]+"')
OUTPUTS = {
    "--sarif": "out.sarif",
    "--gitlab-report": "gl-cs.json",
    "--codequality": "gl-cq.json",
    "--json": "result.json",
    "--summary": "summary.md",
    "--junit": "junit.xml",
}


def _inputs(shared: Path) -> list[tuple[str, Path, list[str]]]:
    """(snapshot name, folder to run in, PATH arguments) for every case."""
    corpus = shared / "corpus"
    cases = [
        (str(path.relative_to(corpus)).replace("/", "__"), path.parent, [path.name])
        for path in sorted(corpus.rglob("*"))
        if path.suffix in (".json", ".sarif") and path.parent.name != "schemas" and path.name != "EXPECTATIONS.json"
    ]
    fixtures = ROOT / "tests" / "unit" / "dockerfile" / "fixtures"
    cases += [(f"dockerfile__{path.name}", fixtures, [path.name]) for path in sorted(fixtures.glob("*.Dockerfile"))]
    cases.append(("examples__app", ROOT / "examples" / "app", ["."]))
    return cases


def _big(folder: Path, count: int) -> tuple[str, Path, list[str]]:
    """A generated Trivy report large enough for every size-driven path (mapped read, forked JSON render)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_gate import generate

    folder.mkdir(parents=True, exist_ok=True)
    generate(count, folder / "big-trivy.json")
    return (f"generated__trivy-{count}", folder, ["big-trivy.json"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--big", type=int, default=0, metavar="N", help="add a generated report of N vulnerabilities")
    parser.add_argument("--only", default="", metavar="TEXT", help="only the cases whose name contains TEXT")
    args = parser.parse_args()
    cli = shutil.which("container-gate") or str(Path(sys.executable).with_name("container-gate"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "GITLAB_", "CI"))}
    args.out.mkdir(parents=True, exist_ok=True)
    cases = [c for c in _inputs(args.shared) if args.only in c[0]]
    if args.big:
        cases.append(_big(args.out / "_inputs", args.big))
    for name, folder, paths in cases:
        target = (args.out / name).resolve()
        target.mkdir(exist_ok=True)
        flags = [item for flag, file in OUTPUTS.items() for item in (flag, str(target / file))]
        done = subprocess.run(
            [cli, "gate", *flags, *paths], cwd=folder, env=env, capture_output=True, text=True, check=False
        )
        console = done.stdout.replace(str(target), "OUT") + "---\n" + done.stderr.replace(str(target), "OUT")
        (target / "console.txt").write_text(f"exit {done.returncode}\n{console}", encoding="utf-8")
        for file in target.iterdir():
            if file.suffix in (".json", ".sarif", ".md", ".xml"):
                text = file.read_text(encoding="utf-8").replace(str(target), "OUT")
                # The GitLab scan's own start and end: the only wall-clock values in any output.
                text = _SCAN_TIME.sub(r'\1"TIME"', text)
                file.write_text(text, encoding="utf-8")
    print(f"{len(cases)} cases written to {args.out}")


if __name__ == "__main__":
    main()
