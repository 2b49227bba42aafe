"""Times the container action: image build (cold and cached), image size, `--version` cold start, act run wall time.

Needs a running Docker engine and the local base image (`sudo .ci/setup-docker.sh`). The image is built from a
copy of the project whose `ARG BASE_IMAGE` points at that local image, with the classic builder act uses.
Prints a table (not a test).

    .venv/bin/python benchmarks/bench_action.py [--runs 5] [--skip-act]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.e2e.conftest import (  # noqa: E402
    build_image,
    make_fixture_repo,
    pin_prebuilt_image,
    push_by_digest,
    run_act,
)

TAG = "container-gate-bench:latest"
CORPUS_REPORT = REPO.parent / "shared" / "corpus" / "trivy" / "trivy-golden_alpine-310.json"


def _base_image() -> str:
    done = subprocess.run(["bash", str(REPO / ".ci" / "setup-docker.sh")], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"setup-docker.sh failed (run as root with docker.io and debootstrap):\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def _timed_build(context: Path, *extra: str) -> float:
    started = time.perf_counter()
    done = build_image(context, TAG, *extra)
    if done.returncode != 0:
        sys.exit(f"docker build failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def _size_mib(image: str) -> float:
    out = subprocess.run(["docker", "image", "inspect", image], capture_output=True, text=True, check=True).stdout
    return float(json.loads(out)[0]["Size"]) / 2**20


def _cold_starts(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(["docker", "run", "--rm", TAG, "--version"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def _act_wall_times(base: str, workdir: Path) -> list[tuple[float, int]]:
    """Two runs: the first builds the action image from the Dockerfile (as every GitHub job does), the
    second finds it in the layer cache (what a prebuilt `docker://` image costs, minus the pull)."""
    files: dict[str, Path | str] = {"fixtures/pass/alpine-310.json": CORPUS_REPORT}
    repo = make_fixture_repo(workdir / "act", base, ["gate-pass.yml"], files)
    subprocess.run(["docker", "image", "rm", "-f", "act-dockeraction:latest"], capture_output=True, check=False)
    runs = [run_act(repo, "gate-pass.yml", base) for _ in range(2)]
    return [(run.seconds, run.returncode) for run in runs] + [_act_prebuilt(base, workdir, files)]


def _act_prebuilt(base: str, workdir: Path, files: dict[str, Path | str]) -> tuple[float, int]:
    """The release path: action.yml pinned to `docker://HOST/container-gate@sha256:...` and pulled from a local
    registry. The engine already holds the layers (the image was built here), so this times the pull's
    manifest resolution and the start, not a cold download from ghcr.io."""
    from tests.integration.registry.servers import start_registry, stop

    server = start_registry(workdir / "registry")
    try:
        reference = push_by_digest(TAG, server.host)
        repo = make_fixture_repo(workdir / "prebuilt", base, ["gate-pass.yml"], files)
        pin_prebuilt_image(repo / "action.yml", reference)
        run = run_act(repo, "gate-pass.yml", base)
        subprocess.run(["docker", "rmi", reference], capture_output=True, check=False)
    finally:
        stop(server)
    return run.seconds, run.returncode


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="docker run repetitions for the cold start")
    parser.add_argument("--skip-act", action="store_true", help="do not time an act run")
    args = parser.parse_args()
    if shutil.which("docker") is None:
        sys.exit("docker is not installed")
    base = _base_image()
    with tempfile.TemporaryDirectory() as tmp:
        context = make_fixture_repo(Path(tmp) / "image", base, [], {})
        cold = _timed_build(context, "--no-cache")
        cached = _timed_build(context)
        starts = _cold_starts(args.runs)
        act = [] if args.skip_act else _act_wall_times(base, Path(tmp))
    size, base_size = _size_mib(TAG), _size_mib(base)
    print(f"{'measure':<62} {'value':>12}")
    print(f"{'image build, no cache (s)':<62} {cold:>12.1f}")
    print(f"{'image build, layer cache (s)':<62} {cached:>12.1f}")
    print(f"{'image size (MiB)':<62} {size:>12.1f}")
    print(f"{'  of which the local base image (MiB)':<62} {base_size:>12.1f}")
    print(f"{'  added by container-gate (MiB)':<62} {size - base_size:>12.1f}")
    print(f"{'docker run --rm IMAGE --version, median (s)':<62} {statistics.median(starts):>12.2f}")
    print(f"{'docker run --rm IMAGE --version, min (s)':<62} {min(starts):>12.2f}")
    labels = ("image built in the run", "image cached", "prebuilt image by digest (layers local)")
    for label, (seconds, code) in zip(labels, act, strict=False):
        print(f"{'act run of gate-pass.yml, ' + label + ' (s)':<62} {seconds:>12.1f}  (exit {code})")


if __name__ == "__main__":
    main()
