"""`.ci/fetch_corpus.py`: the corpus lock agrees with the shared corpus, and a fetch from a served copy of the
upstream layout (`REPOSITORY/COMMIT/PATH`, as raw.githubusercontent.com serves it) writes exactly the corpus,
refusing a tampered file, a derived file without a mirror and a path that climbs out of the destination."""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO, corpus_dir

pytestmark = pytest.mark.corpus


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_corpus", REPO / ".ci" / "fetch_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fetch_corpus"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


fetch_corpus = _module()


def test_the_lock_names_every_corpus_file_with_its_digest_and_source() -> None:
    corpus = corpus_dir()
    files = {str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file()} - {"SOURCES.md"}
    locked = {e.file: e for e in fetch_corpus.read_lock(fetch_corpus.LOCK.read_text())}
    assert set(locked) == files, "run: python .ci/fetch_corpus.py --update ../shared/corpus"
    for name, entry in locked.items():
        assert entry.sha256 == hashlib.sha256((corpus / name).read_bytes()).hexdigest(), name
    rows = {r[0]: r for r in fetch_corpus.sources_rows((corpus / "SOURCES.md").read_text())}
    for name, entry in locked.items():
        assert (entry.repository, entry.path, entry.commit) == (rows[name][1], rows[name][2], rows[name][3])
    assert sum(e.verbatim for e in locked.values()) >= 50  # the rest are derived: docs blocks, tables, notes


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local server holding each verbatim file at REPOSITORY/COMMIT/PATH and the whole corpus under mirror/."""
    corpus = corpus_dir()
    root = tmp_path / "served"
    for entry in fetch_corpus.read_lock(fetch_corpus.LOCK.read_text()):
        data = (corpus / entry.file).read_bytes()
        mirrored = root / "mirror" / entry.file
        mirrored.parent.mkdir(parents=True, exist_ok=True)
        mirrored.write_bytes(data)
        if entry.verbatim:
            raw = root / entry.owner_name / entry.commit_id / entry.path
            raw.parent.mkdir(parents=True, exist_ok=True)
            raw.write_bytes(data)
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        pass


def test_a_fetch_writes_the_corpus_byte_for_byte(upstream: tuple[str, Path], tmp_path: Path) -> None:
    base, _ = upstream
    dest = tmp_path / "shared"
    assert fetch_corpus.main([str(dest), "--base", base, "--mirror", f"{base}/mirror"]) == 0
    corpus = corpus_dir()
    for entry in fetch_corpus.read_lock(fetch_corpus.LOCK.read_text()):
        assert (dest / "corpus" / entry.file).read_bytes() == (corpus / entry.file).read_bytes()


def test_a_tampered_upstream_file_fails_the_fetch_naming_it(
    upstream: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, root = upstream
    entry = next(e for e in fetch_corpus.read_lock(fetch_corpus.LOCK.read_text()) if e.file.startswith("trivy/"))
    (root / entry.owner_name / entry.commit_id / entry.path).write_bytes(b'{"SchemaVersion": 2, "Results": []}')
    (root / "mirror" / entry.file).write_bytes(b"{}")
    assert fetch_corpus.main([str(tmp_path / "shared"), "--base", base, "--mirror", f"{base}/mirror"]) == 2
    err = capsys.readouterr().err
    assert f"fetch-corpus: {entry.file}: " in err and "expected " + entry.sha256 in err


def test_derived_files_need_a_mirror(
    upstream: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = upstream
    assert fetch_corpus.main([str(tmp_path / "shared"), "--base", base]) == 2
    err = capsys.readouterr().err
    assert "conftest/EXPECTATIONS.json: derived from open-policy-agent/conftest" in err and "give --mirror" in err
    assert "trivy/trivy-golden_alpine-310.json" not in err  # verbatim files came from the base


def test_a_lock_entry_cannot_write_outside_the_destination(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="outside"):
        fetch_corpus.target(tmp_path, "../../etc/passwd")
    with pytest.raises(OSError, match="https only"):
        fetch_corpus.fetch("http://example.com/x")
