"""`remediate --require-signature` against a real registry whose images the real cosign (v2.6.5, built by
.ci/build-go-tools.sh) signed with keys the test generates: the newest signed candidate is proposed, unsigned
ones and ones signed by another key are passed over with the reason, and an image with no signed candidate is
skipped. The signatures are exactly what cosign writes (the `sha256-<hex>.sig` tag with a simple-signing layer)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from remediate.cli import main
from tests.conftest import go_tool
from tests.integration.registry.oci import Pusher
from tests.integration.registry.servers import RegistryServer

pytestmark = pytest.mark.registry


def cosign(*args: str, cwd: Path) -> str:
    """The real cosign with a test key password and no prompts; what it printed (fails the test on an error)."""
    env = {**os.environ, "COSIGN_PASSWORD": "test-only", "COSIGN_YES": "true", "SIGSTORE_NO_CACHE": "1"}
    done = subprocess.run(
        [go_tool("cosign"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def signed(registry: RegistryServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """org/signed: 1.0.0 (current), 1.1.0 signed with our key, 1.2.0 signed with another key, 1.3.0 unsigned;
    org/unsigned: 1.0.0, 1.1.0, none signed."""
    ours, theirs = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("theirs")
    cosign("generate-key-pair", cwd=ours)
    cosign("generate-key-pair", cwd=theirs)
    host = f"localhost:{registry.port}"
    with requests.Session() as s:
        pusher = Pusher(registry.url, session=s)
        digests = {t: pusher.image("org/signed", t, salt="sig") for t in ("1.0.0", "1.1.0", "1.2.0", "1.3.0")}
        for t in ("1.0.0", "1.1.0"):
            pusher.image("org/unsigned", t, salt="sig")
    flags = ("--tlog-upload=false", "--allow-http-registry", "--allow-insecure-registry")
    cosign("sign", "--key", "cosign.key", *flags, f"{host}/org/signed@{digests['1.1.0']}", cwd=ours)
    cosign("sign", "--key", "cosign.key", *flags, f"{host}/org/signed@{digests['1.2.0']}", cwd=theirs)
    yield {"host": host, "key": ours / "cosign.pub", "digests": digests}


def plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], image: str, *args: str) -> Any:
    (tmp_path / "Dockerfile").write_text(f"FROM {image}\nRUN true\n")
    out = tmp_path / "plan.json"
    code = main(["remediate", str(tmp_path / "Dockerfile"), "--update", "minor", "--json", str(out), *args])
    err = capsys.readouterr().err
    assert code == 0, err
    return json.loads(out.read_text()) | {"stderr": err}


def test_the_newest_candidate_signed_with_our_key_is_proposed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signed: dict[str, Any]
) -> None:
    host = signed["host"]
    unchecked = plan(tmp_path, capsys, f"{host}/org/signed:1.0.0")
    assert [u["to"] for u in unchecked["updates"]] == [f"{host}/org/signed:1.3.0"]
    verified = plan(
        tmp_path, capsys, f"{host}/org/signed:1.0.0", "--require-signature", "--cosign-key", str(signed["key"])
    )
    [update] = verified["updates"]
    assert update["to"] == f"{host}/org/signed:1.1.0"
    assert "1.3.0: unsigned" in update["why"]
    assert "1.2.0: a signature that does not verify" in update["why"]


def test_without_a_key_any_signature_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signed: dict[str, Any]
) -> None:
    host = signed["host"]
    result = plan(tmp_path, capsys, f"{host}/org/signed:1.0.0", "--require-signature")
    assert [u["to"] for u in result["updates"]] == [f"{host}/org/signed:1.2.0"]
    assert "a signature is looked for, not verified" in result["stderr"]


def test_an_image_without_signed_candidates_is_skipped_with_the_reasons(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signed: dict[str, Any]
) -> None:
    host = signed["host"]
    result = plan(
        tmp_path, capsys, f"{host}/org/unsigned:1.0.0", "--require-signature", "--cosign-key", str(signed["key"])
    )
    assert result["updates"] == []
    [skipped] = result["skipped"]
    assert skipped["reason"].startswith("no signed candidate: 1.1.0: unsigned")


def test_a_bad_key_file_is_one_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine:3.18.4\n")
    (tmp_path / "key.pub").write_text("not a key\n")
    code = main(
        ["remediate", str(tmp_path / "Dockerfile"), "--require-signature", "--cosign-key", str(tmp_path / "key.pub")]
    )
    err = capsys.readouterr().err
    assert code == 2 and "key.pub" in err and "PEM" in err and "Traceback" not in err
