"""SARIF upload against the contract-validated local fake of GitHub's code-scanning endpoints."""

from __future__ import annotations

import base64
import gzip
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fakes.github import (  # type: ignore[import-not-found]  # noqa: E402
    CodeScanningFake,
    ContractValidator,
    ContractViolation,
    Reply,
)

from gate.ci.upload import encode_sarif, upload_sarif  # noqa: E402
from gate.errors import OutputError  # noqa: E402

TOKEN = "ghs_" + "Q7x9" * 9
SARIF = json.dumps({"version": "2.1.0", "runs": []})


@pytest.fixture
def fake() -> Iterator[CodeScanningFake]:
    with CodeScanningFake(token=TOKEN) as server:
        yield server
        assert server.violations == []


def upload(fake: CodeScanningFake, sleeps: list[float] | None = None, **overrides: object) -> object:
    args: dict[str, object] = {
        "api_url": fake.url,
        "repository": "octo/app",
        "token": TOKEN,
        "sarif_text": SARIF,
        "commit_sha": "a" * 40,
        "ref": "refs/pull/7/head",
        "checkout_uri": "file:///github/workspace/",
        "tool_name": "container-gate",
        "started_at": "2024-05-06T07:08:09Z",
        "sleep": (sleeps if sleeps is not None else []).append,
    }
    args.update(overrides)
    with requests.Session() as session:
        return upload_sarif(session, **args)  # type: ignore[arg-type]


def test_upload_is_gzip_base64_and_polled_until_complete(fake: CodeScanningFake) -> None:
    sleeps: list[float] = []
    result = upload(fake, sleeps)
    assert result.status == "complete" and result.ok  # type: ignore[attr-defined]
    (stored,) = fake.uploads.values()
    assert stored.sarif == json.loads(SARIF)
    assert stored.fields == {
        "commit_sha": "a" * 40,
        "ref": "refs/pull/7/head",
        "checkout_uri": "file:///github/workspace/",
        "tool_name": "container-gate",
        "started_at": "2024-05-06T07:08:09Z",
    }
    assert len(fake.calls("code-scanning/get-sarif")) == 2
    assert sleeps == [1.0, 2.0]
    assert fake.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_processing_errors_are_reported(fake: CodeScanningFake) -> None:
    fake.processing = [
        {"processing_status": "failed", "errors": ["locationFromSarifResult: expected at least one location"]}
    ]
    result = upload(fake)
    assert result.status == "failed"  # type: ignore[attr-defined]
    assert result.errors == ("locationFromSarifResult: expected at least one location",)  # type: ignore[attr-defined]


def test_unknown_id_right_after_upload_is_waited_for(fake: CodeScanningFake) -> None:
    fake.queue("code-scanning/get-sarif", Reply(404), Reply(404))
    assert upload(fake).status == "complete"  # type: ignore[attr-defined]
    assert len(fake.calls("code-scanning/get-sarif")) == 4


def test_server_errors_and_secondary_rate_limits_are_retried(fake: CodeScanningFake) -> None:
    fake.queue(
        "code-scanning/upload-sarif",
        Reply(503, {"message": "Service unavailable"}),
        Reply(403, {"message": "You have exceeded a secondary rate limit."}, {"Retry-After": "7"}),
        Reply(403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "0"}),
    )
    sleeps: list[float] = []
    assert upload(fake, sleeps).status == "complete"  # type: ignore[attr-defined]
    assert len(fake.calls("code-scanning/upload-sarif")) == 4
    assert sleeps[:3] == [1.0, 7.0, 1.0]


def test_read_only_token_is_a_warning_not_a_crash(fake: CodeScanningFake) -> None:
    fake.queue("code-scanning/upload-sarif", Reply(403, {"message": "Resource not accessible by integration"}))
    result = upload(fake)
    assert result.status == "skipped"  # type: ignore[attr-defined]
    assert "read-only token" in result.warning and "security-events: write" in result.warning  # type: ignore[attr-defined]
    assert fake.calls("code-scanning/get-sarif") == []


def test_rejected_upload_is_an_output_error(fake: CodeScanningFake) -> None:
    fake.queue("code-scanning/upload-sarif", Reply(413))
    with pytest.raises(OutputError, match="HTTP 413"):
        upload(fake)


def test_persistent_server_errors_give_up_after_bounded_retries(fake: CodeScanningFake) -> None:
    fake.queue("code-scanning/upload-sarif", *[Reply(503, {"message": "down"})] * 5)
    with pytest.raises(OutputError, match="HTTP 503: down"):
        upload(fake)
    assert len(fake.calls("code-scanning/upload-sarif")) == 5


def test_the_token_never_reaches_output_or_logs(
    fake: CodeScanningFake, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.queue("code-scanning/upload-sarif", Reply(503, {"message": "x"}))
    upload(fake)
    fake.queue("code-scanning/upload-sarif", Reply(400))
    with pytest.raises(OutputError) as excinfo:
        upload(fake)
    captured = capsys.readouterr()
    everything = captured.out + captured.err + caplog.text + str(excinfo.value) + repr(excinfo.value)
    assert "retrying" in caplog.text
    assert TOKEN not in everything


def test_bad_repository_name_is_refused_before_any_request(fake: CodeScanningFake) -> None:
    with pytest.raises(OutputError, match="owner/name"):
        upload(fake, repository="just-a-name")
    assert fake.requests == []


def test_encoding_round_trips() -> None:
    assert gzip.decompress(base64.b64decode(encode_sarif('{"a": "é"}'))).decode() == '{"a": "é"}'


def test_contract_validator_rejects_what_github_would(fake: CodeScanningFake) -> None:
    validator: ContractValidator = fake.validator
    with pytest.raises(ContractViolation, match="commit_sha"):
        validator.check_request(
            "POST", "/repos/o/r/code-scanning/sarifs", {"commit_sha": "abc", "ref": "refs/heads/m", "sarif": "x"}
        )
    with pytest.raises(ContractViolation, match="ref"):
        validator.check_request(
            "POST", "/repos/o/r/code-scanning/sarifs", {"commit_sha": "a" * 40, "ref": "main", "sarif": "x"}
        )
    with pytest.raises(ContractViolation, match="Additional properties"):
        validator.check_request(
            "POST",
            "/repos/o/r/code-scanning/sarifs",
            {"commit_sha": "a" * 40, "ref": "refs/heads/m", "sarif": "x", "x": 1},
        )
    with pytest.raises(ContractViolation, match="not documented"):
        validator.check_response("GET", "/repos/o/r/code-scanning/sarifs/1", 418, None)
    with pytest.raises(ContractViolation, match="processing_status"):
        validator.check_response("GET", "/repos/o/r/code-scanning/sarifs/1", 200, {"processing_status": "done"})
    with pytest.raises(ContractViolation, match="no such operation"):
        validator.check_request("GET", "/repos/o/r/code-scanning/alerts", None)
    validator.check_response(
        "GET", "/repos/o/r/code-scanning/sarifs/1", 200, {"processing_status": "complete", "errors": None}
    )


def test_contract_validator_is_generic_over_other_operations(fake: CodeScanningFake) -> None:
    validator = fake.validator
    op = validator.check_request("GET", "/repos/o/r/git/ref/heads/feature/x", None)
    assert (op.operation_id, op.params["ref"]) == ("git/get-ref", "heads/feature/x")
    validator.check_request("POST", "/repos/o/r/pulls", {"title": "t", "head": "fix", "base": "main"})
    with pytest.raises(ContractViolation, match="base"):
        validator.check_request("POST", "/repos/o/r/pulls", {"title": "t", "head": "fix"})
    with pytest.raises(ContractViolation, match="state"):
        validator.check_request("GET", "/repos/o/r/pulls", None, query={"state": "merged"})
