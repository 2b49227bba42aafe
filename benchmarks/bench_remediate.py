"""Benchmark: plan 200 generated Dockerfiles sharing 30 base images against a local docker-registry.

Prints the number of registry requests (counted by a session hook), the wall time of the plan, and
whether every repository's tag list was fetched exactly once. Run: `.venv/bin/python benchmarks/bench_remediate.py`.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from remediate.plan import Options, plan  # noqa: E402
from remediate.registry import OciRegistryClient, retrying_session  # noqa: E402
from tests.integration.registry.oci import Pusher  # noqa: E402
from tests.integration.registry.servers import start_registry, stop  # noqa: E402

IMAGES = 30
FILES = 200
TAGS_PER_IMAGE = ("1.0.0", "1.0.1", "1.1.0", "1.2.3", "2.0.0", "1.2.3-slim", "1.3.0-slim", "latest")


def fill(url: str) -> dict[str, dict[str, str]]:
    """Push every tag of every image; returns repo → tag → digest."""
    repos = [f"library/base{i:02d}" for i in range(IMAGES)]
    with requests.Session() as s:
        pusher = Pusher(url, session=s)
        return {repo: {tag: pusher.image(repo, tag) for tag in TAGS_PER_IMAGE} for repo in repos}


def write_dockerfiles(root: Path, digests: dict[str, dict[str, str]], rng: random.Random) -> None:
    """FROM lines in the forms people write: plain tags, ARG-built tags, and a quarter pinned by digest."""
    for n in range(FILES):
        stages = rng.sample(sorted(digests), k=rng.randint(1, 3))
        lines = ["# generated", "ARG V=1.0.0"]
        for i, repo in enumerate(stages):
            name = repo.removeprefix("library/")
            tag = rng.choice(["1.0.0", "1.1.0", "1.2.3-slim", "${V}"])
            pin = f"@{digests[repo]['1.0.0']}" if tag == "1.0.0" and rng.random() < 0.5 else ""
            lines += [f"FROM {name}:{tag}{pin} AS s{i}", f"RUN echo {n}-{i}"]
        folder = root / f"svc{n:03d}"
        folder.mkdir()
        (folder / "Dockerfile").write_text("\n".join(lines) + "\n")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_registry(Path(tmp) / "registry")
        try:
            t0 = time.perf_counter()
            digests = fill(server.url)
            print(
                f"filled {len(digests)} repositories x {len(TAGS_PER_IMAGE)} tags in {time.perf_counter() - t0:.1f} s"
            )
            root = Path(tmp) / "repo"
            root.mkdir()
            write_dockerfiles(root, digests, random.Random(7))
            calls: list[tuple[str, str]] = []
            session = retrying_session()
            session.hooks["response"].append(lambda r, *a, **k: calls.append((r.request.method, r.request.url)))
            client = OciRegistryClient(session, mirrors={"docker.io": server.url})
            t1 = time.perf_counter()
            result = plan([root], registry=client, options=Options(update="minor"))
            wall = time.perf_counter() - t1
            session.close()
        finally:
            stop(server)
    tag_lists = Counter(url.split("/v2/", 1)[1].split("/tags/", 1)[0] for _, url in calls if "/tags/list" in url)
    heads = Counter(url for method, url in calls if method == "HEAD")
    uses = len(result.bumps) + sum(1 for s in result.skipped if s.line)
    print(f"dockerfiles: {FILES}, base image uses: {uses}, distinct images: {len(tag_lists)}")
    print(f"updates: {len(result.bumps)}, skipped: {len(result.skipped)}, files edited: {len(result.edits)}")
    print(
        f"registry requests: {len(calls)} (tag lists: {sum(tag_lists.values())}, manifest HEADs: {sum(heads.values())})"
    )
    print(f"plan wall time: {wall * 1000:.0f} ms")
    print(f"each tag list fetched once: {all(c == 1 for c in tag_lists.values())} (max {max(tag_lists.values())})")
    print(f"each digest resolved once: {all(c == 1 for c in heads.values())} (max {max(heads.values(), default=0)})")


if __name__ == "__main__":
    main()
