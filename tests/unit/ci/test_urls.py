"""Tokens go to https, or plain http on this machine only, decided on the parsed host (hostile-input issue, 8)."""

from __future__ import annotations

import pytest
import requests
from requests.adapters import BaseAdapter

from gate.ci.upload import upload_sarif
from gate.errors import OutputError
from gate.urls import credential_url_problem, is_loopback_host


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.github.com", True),
        ("https://ghes.example.com/api/v3", True),
        ("http://127.0.0.1:8080/api", True),
        ("http://127.9.9.9", True),
        ("http://localhost:5000", True),
        ("http://[::1]:8443/", True),
        ("http://ghes.example.com/api/v3", False),
        # Userinfo that looks like loopback: the host is evil.example.
        ("http://[::1]@evil.example/", False),
        ("http://127.0.0.1@evil.example/", False),
        ("http://localhost.evil.example/", False),
        ("http://127.0.0.1.evil.example/", False),
        ("https://user:pw@api.github.com", False),
        ("ftp://127.0.0.1/", False),
        ("file:///etc/passwd", False),
        ("http://127.0.0.1:notaport/", False),
        ("", False),
    ],
)
def test_credential_urls(url: str, allowed: bool) -> None:
    assert (credential_url_problem(url) is None) is allowed, credential_url_problem(url)


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]", "::1", "LOCALHOST", "127.1.2.3"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["", None, "10.0.0.1", "localhost.example", "0.0.0.0", "evil"])  # noqa: S104
def test_other_hosts(host: str | None) -> None:
    assert not is_loopback_host(host)


class _Refuse(BaseAdapter):
    """Records every request the session would have sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def send(self, request: requests.PreparedRequest, *args: object, **kwargs: object) -> requests.Response:
        self.sent.append(str(request.url))
        raise AssertionError("no request may be sent")

    def close(self) -> None:
        pass


@pytest.mark.parametrize("api_url", ["http://ghes.example.com/api/v3", "http://[::1]@evil.example/"])
def test_upload_refuses_plain_http_before_any_token_leaves(api_url: str) -> None:
    adapter = _Refuse()
    with requests.Session() as session:
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        with pytest.raises(OutputError, match="GITHUB_API_URL (uses plain http|must not carry)"):
            upload_sarif(
                session,
                api_url=api_url,
                repository="octo/app",
                token="ghs_secret",
                sarif_text="{}",
                commit_sha="a" * 40,
                ref="refs/heads/main",
                checkout_uri=None,
                tool_name="container-gate",
                started_at=None,
            )
    assert adapter.sent == []
