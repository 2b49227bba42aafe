"""Dockerfile reader and built-in checks on long files: parse time, and the whole `gate` command.

Shapes: a valid 10,000-line file (ENV and RUN alternating, as rules ask for the environment at every RUN), the
same with an unterminated heredoc on its last line, and one with an over-long last line. Each figure is the median
of five runs in this process (parse) or of three fresh `container-gate gate` processes (wall time, start-up
included). Goal (hostile-input issue): under 0.5 s for the reader on 10,000 lines, valid or not."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _valid(lines: int) -> str:
    out = ["FROM alpine:3.20 AS base", "ARG V=1"]
    for i in range(lines // 2):
        out += [f"ENV X{i % 50}=${{V}}{i}", f"RUN apk add --no-cache pkg{i} && echo $X{i % 50}"]
    return "\n".join([*out, "USER 1000"]) + "\n"


SHAPES = {
    "valid": _valid(10_000),
    "heredoc error at end": _valid(10_000) + "RUN <<EOF\nnever closed\n",
    "long line at end": _valid(10_000) + "RUN " + "x" * 70_000 + "\n",
}


def _parse_seconds(text: str) -> float:
    from gate.dockerfile import parse
    from gate.errors import InputError

    times = []
    for _ in range(5):
        started = time.perf_counter()
        try:
            parse(text)
        except InputError:
            pass
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _gate_seconds(path: Path) -> float:
    cli = shutil.which("container-gate") or str(Path(sys.executable).with_name("container-gate"))
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([cli, "gate", str(path)], capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    print(f"{'shape':<22} {'lines':>6} {'parse s':>8} {'gate s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in SHAPES.items():
            path = Path(tmp) / "Dockerfile"
            path.write_text(text, encoding="utf-8")
            lines = text.count("\n")
            print(f"{name:<22} {lines:>6} {_parse_seconds(text):>8.3f} {_gate_seconds(path):>7.3f}")


if __name__ == "__main__":
    main()
