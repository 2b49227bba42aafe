"""Writing the outputs: the forked JSON render gives the same files, and a failure anywhere writes none."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from emit_helpers import corpus_ctx, corpus_verdict  # type: ignore[import-not-found]

from gate import outputs as run_outputs
from gate.emit import json as json_emitter
from gate.emit import sarif
from gate.errors import OutputError
from gate.options import requested

REPORT = "trivy/trivy-golden_ubuntu-1804.json"
SEQUENTIAL = 10**9


def wanted(folder: Path) -> tuple[tuple[str, Path], ...]:
    """Every output file in `folder`, as the CLI's arguments ask for them."""
    return requested(
        argparse.Namespace(
            sarif=str(folder / "out.sarif"),
            gitlab_report=str(folder / "gl.json"),
            codequality=None,
            json=str(folder / "result.json"),
            summary=str(folder / "summary.md"),
        )
    )


def break_sarif(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the SARIF emitter fail, as a bug in it would."""

    def broken(*args: object) -> str:
        raise RuntimeError("sarif broke")

    monkeypatch.setattr(sarif, "render", broken)
    monkeypatch.setattr(sarif, "render_bytes", broken)


def contents(folder: Path) -> dict[str, bytes]:
    """Every file in the folder (temp files included, so leftovers show)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_forked_json_render_writes_the_same_files(corpus: Path, tmp_path: Path) -> None:
    verdict, ctx = corpus_verdict(corpus, REPORT), corpus_ctx(corpus)
    assert verdict.decisions
    (tmp_path / "seq").mkdir()
    (tmp_path / "fork").mkdir()
    written = run_outputs.render_and_write(wanted(tmp_path / "seq"), verdict, ctx, parallel_from=SEQUENTIAL)
    forked = run_outputs.render_and_write(wanted(tmp_path / "fork"), verdict, ctx, parallel_from=1)
    names = ["out.sarif", "gl.json", "result.json", "summary.md"]
    assert [p.name for p in written] == [p.name for p in forked] == names
    assert contents(tmp_path / "fork") == contents(tmp_path / "seq")
    assert len(contents(tmp_path / "fork")) == 4  # no temp file left behind


def test_the_forked_render_never_follows_a_planted_link(corpus: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".result.json.tmp").symlink_to(victim)  # the name the old forked child wrote through
    run_outputs.render_and_write(wanted(out), corpus_verdict(corpus, REPORT), corpus_ctx(corpus), parallel_from=1)
    assert victim.read_text() == "precious"
    assert (out / "result.json").read_bytes().startswith(b"{")
    assert sorted(contents(out)) == [".result.json.tmp", "gl.json", "out.sarif", "result.json", "summary.md"]


def test_a_failure_in_the_forked_render_writes_nothing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "out.sarif").write_text("last run")

    def broken(self: object, *args: object, **kwargs: object) -> bytes:
        raise ValueError("boom")

    monkeypatch.setattr(json_emitter.JsonEmitter, "render_bytes", broken)
    monkeypatch.setattr(json_emitter.JsonEmitter, "render_chunks", broken)
    with pytest.raises(OutputError) as caught:
        run_outputs.render_and_write(
            wanted(tmp_path), corpus_verdict(corpus, REPORT), corpus_ctx(corpus), parallel_from=1
        )
    assert "result.json" in caught.value.diagnostics() and "ValueError: boom" in caught.value.diagnostics()
    assert contents(tmp_path) == {"out.sarif": b"last run"}  # last run's output untouched, no temp files


def test_a_failure_beside_the_forked_render_writes_nothing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_sarif(monkeypatch)
    with pytest.raises(RuntimeError, match="sarif broke"):
        run_outputs.render_and_write(
            wanted(tmp_path), corpus_verdict(corpus, REPORT), corpus_ctx(corpus), parallel_from=1
        )
    assert contents(tmp_path) == {}  # the child's finished JSON temp file was removed too


def test_the_json_render_can_keep_its_document_for_a_process_about_to_end(corpus: Path) -> None:
    import orjson

    verdict, ctx = corpus_verdict(corpus, REPORT), corpus_ctx(corpus)
    kept: list[object] = []
    data = json_emitter.EMITTER.render_bytes(verdict, ctx, keep=kept)
    assert data == json_emitter.EMITTER.render_bytes(verdict, ctx)
    assert len(kept) == 1 and orjson.loads(orjson.dumps(kept[0])) == orjson.loads(data)


@pytest.mark.parametrize("batch", [1, 2, 3, 4096])
def test_the_json_result_made_in_batches_is_the_same_bytes(corpus: Path, batch: int) -> None:
    verdict, ctx = corpus_verdict(corpus, REPORT), corpus_ctx(corpus)
    assert len(verdict.decisions) == 5  # full and partial batches, one batch, one finding per batch
    whole = json_emitter.EMITTER.render_bytes(verdict, ctx)
    assert b"".join(json_emitter.EMITTER.render_chunks(verdict, ctx, batch=batch, whole_up_to=0)) == whole


def test_a_small_json_result_is_made_in_one_piece(corpus: Path) -> None:
    verdict, ctx = corpus_verdict(corpus, REPORT), corpus_ctx(corpus)
    chunks = list(json_emitter.EMITTER.render_chunks(verdict, ctx, batch=1, whole_up_to=5))
    assert chunks == [json_emitter.EMITTER.render_bytes(verdict, ctx)]
    assert len(list(json_emitter.EMITTER.render_chunks(verdict, ctx, batch=1, whole_up_to=4))) == 7


def test_an_empty_json_result_made_by_render_chunks_is_the_same_bytes(corpus: Path) -> None:
    from gate.model import Severity, Verdict

    verdict, ctx = Verdict(decisions=(), fail_on=Severity.HIGH), corpus_ctx(corpus)
    whole = json_emitter.EMITTER.render_bytes(verdict, ctx)
    assert b'"findings": []' in whole
    assert b"".join(json_emitter.EMITTER.render_chunks(verdict, ctx)) == whole
    assert b"".join(json_emitter.EMITTER.render_chunks(verdict, ctx, whole_up_to=-1)) == whole


def test_the_json_result_alone_is_written_in_batches_here_with_the_same_bytes(corpus: Path, tmp_path: Path) -> None:
    verdict, ctx = corpus_verdict(corpus, REPORT), corpus_ctx(corpus)
    path = tmp_path / "result.json"
    assert run_outputs.render_and_write([("json", path)], verdict, ctx, parallel_from=SEQUENTIAL) == [path]
    assert contents(tmp_path) == {"result.json": json_emitter.EMITTER.render_bytes(verdict, ctx)}


def test_a_failure_beside_the_json_written_here_publishes_nothing(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_sarif(monkeypatch)
    (tmp_path / "result.json").write_text("last run")
    with pytest.raises(RuntimeError, match="sarif broke"):
        run_outputs.render_and_write(
            [("json", tmp_path / "result.json"), ("sarif", tmp_path / "out.sarif")],
            corpus_verdict(corpus, REPORT),
            corpus_ctx(corpus),
            parallel_from=SEQUENTIAL,
        )
    assert contents(tmp_path) == {"result.json": b"last run"}  # the staged JSON was removed, the old one kept
