"""Fetch the shared test corpus from its upstream repositories, for CI machines that do not have ../shared.

The corpus is never copied into this repository. `.ci/corpus.lock` (kept here, written by `--update` from the
corpus's own SOURCES.md and files) holds, per corpus file, its sha256 and where it came from: repository,
commit, path. This script downloads each file from `raw.githubusercontent.com/<repo>/<commit>/<path>` (or
from `--mirror`, a copy of the corpus folder served over HTTPS, for the files that were derived rather than
copied: a docs code block, a README table, notes written for the corpus), checks the digest and writes it
under DEST/corpus. Any file that cannot be fetched or does not match fails the run: a partial corpus must not
let conformance tests skip.

    python .ci/fetch_corpus.py DEST [--base URL] [--mirror URL]     then  CONTAINER_GATE_SHARED=DEST make test
    python .ci/fetch_corpus.py --update ../shared/corpus            when the corpus changes
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "corpus.lock"
RAW = "https://raw.githubusercontent.com"
LIMIT = 32 * 2**20
"""No corpus file is near this size; a larger answer is not the file we asked for."""


@dataclass(frozen=True)
class Entry:
    """One corpus file: its digest and where it came from (SOURCES.md's first four columns)."""

    sha256: str
    file: str
    repository: str
    commit: str
    path: str

    @property
    def owner_name(self) -> str:
        """The repository's `owner/name` (SOURCES.md may add words after it: "(GitHub mirror of ...)")."""
        return self.repository.split(" ", 1)[0]

    @property
    def commit_id(self) -> str:
        """The commit's hex id (SOURCES.md may explain it in words after it)."""
        return self.commit.split(" ", 1)[0]

    @property
    def verbatim(self) -> bool:
        """A plain file at a commit, fetchable as it is (not a fenced block, a table or notes)."""
        return bool(
            re.fullmatch(r"[0-9a-f]{40}", self.commit_id)
            and re.fullmatch(r"[\w.+-]+(/[\w.+-]+)*", self.path)
            and re.fullmatch(r"[\w.-]+/[\w.-]+", self.owner_name)
        )

    def urls(self, base: str, mirror: str | None) -> list[str]:
        found = [f"{base}/{self.owner_name}/{self.commit_id}/{self.path}"] if self.verbatim else []
        return found + ([f"{mirror.rstrip('/')}/{self.file}"] if mirror else [])


def sources_rows(text: str) -> list[tuple[str, str, str, str]]:
    """(file, repository, path, commit) of each SOURCES.md table row."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) >= 4 and cells[0] not in ("file", "---"):
            out.append((cells[0], cells[1], cells[2], cells[3]))
    return out


def read_lock(text: str) -> list[Entry]:
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != 5 or not re.fullmatch(r"[0-9a-f]{64}", cells[0]):
            raise SystemExit(f"{LOCK}:{number}: expected sha256, file, repository, commit, path separated by tabs")
        entries.append(Entry(*cells))
    return entries


def fetch(url: str) -> bytes:
    if not url.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
        raise OSError("https only (plain http only to this machine)")
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (scheme checked above)
        data: bytes = answer.read(LIMIT + 1)
    if len(data) > LIMIT:
        raise OSError(f"larger than {LIMIT // 2**20} MiB")
    return data


def target(dest: Path, relative: str) -> Path:
    """DEST/corpus/<relative>, refusing names that climb out of it."""
    root = (dest / "corpus").resolve()
    path = (root / relative).resolve()
    if root not in path.parents:
        raise SystemExit(f"fetch-corpus: refusing {relative!r}: outside {root}")
    return path


def get(entry: Entry, base: str, mirror: str | None) -> bytes | str:
    """The verified bytes, or what went wrong."""
    urls = entry.urls(base, mirror)
    if not urls:
        return f"derived from {entry.repository} ({entry.path}), not a file to fetch: give --mirror"
    problem = ""
    for url in urls:
        try:
            data = fetch(url)
        except OSError as exc:
            problem = f"{url}: {exc}"
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest == entry.sha256:
            return data
        problem = f"{url}: sha256 {digest}, expected {entry.sha256}"
    return problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, nargs="?")
    parser.add_argument("--base", default=RAW, help="where REPOSITORY/COMMIT/PATH is served (default GitHub raw)")
    parser.add_argument("--mirror", help="the corpus folder over HTTPS, for files not copied verbatim")
    parser.add_argument("--update", type=Path, metavar="CORPUS", help="rewrite corpus.lock from a local corpus")
    args = parser.parse_args(argv)
    if args.update:
        return update(args.update)
    if args.dest is None:
        parser.error("DEST is required")
    problems = []
    entries = read_lock(LOCK.read_text())
    for entry in entries:
        got = get(entry, args.base, args.mirror)
        if isinstance(got, str):
            problems.append(f"{entry.file}: {got}")
            continue
        path = target(args.dest, entry.file)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(got)
    for problem in problems:
        print(f"fetch-corpus: {problem}", file=sys.stderr)
    if problems:
        print(f"fetch-corpus: {len(problems)} of {len(entries)} files missing or wrong", file=sys.stderr)
        return 2
    print(f"fetch-corpus: {len(entries)} files verified into {args.dest / 'corpus'}")
    return 0


def update(corpus: Path) -> int:
    """corpus.lock from the corpus's SOURCES.md and its files (run when the shared corpus changes)."""
    lines = ["# sha256, corpus file, source repository, commit, path in source (from SOURCES.md); see fetch_corpus.py"]
    for file, repository, path, commit in sorted(sources_rows((corpus / "SOURCES.md").read_text())):
        digest = hashlib.sha256((corpus / file).read_bytes()).hexdigest()
        lines.append("\t".join((digest, file, repository, commit, path)))
    LOCK.write_text("\n".join(lines) + "\n")
    print(f"fetch-corpus: {len(lines) - 1} entries written to {LOCK}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
