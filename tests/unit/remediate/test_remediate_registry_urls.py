"""Where the client sends each registry's requests (no network needed), and mirror flag parsing."""

from __future__ import annotations

import pytest
import requests

from remediate.registry import Credential, OciRegistryClient, parse_mirror


def test_base_urls_mirrors_and_loopback() -> None:
    with requests.Session() as s:
        client = OciRegistryClient(s, mirrors={"docker.io": "http://127.0.0.1:5000", "myreg:5000": "http://[::1]:9"})
        assert client.base_url("docker.io") == "http://127.0.0.1:5000"
        assert client.base_url("registry-1.docker.io") == "http://127.0.0.1:5000"
        assert client.base_url("MyReg:5000") == "http://[::1]:9"
        assert client.base_url("ghcr.io") == "https://ghcr.io"
        assert client.base_url("localhost:5000") == "http://localhost:5000"
        assert OciRegistryClient(s).base_url("docker.io") == "https://registry-1.docker.io"


def test_parse_mirror() -> None:
    assert parse_mirror("index.docker.io=http://localhost:5000/") == ("docker.io", "http://localhost:5000")
    bad_ones: tuple[str, ...] = (
        "docker.io",
        "docker.io=ftp://x",
        "=http://127.0.0.1",
        "docker.io=http://10.0.0.1:5000",
    )
    # Userinfo that looks like loopback names another host: http://[::1]@evil.example/ is evil.example.
    bad_ones += ("docker.io=http://[::1]@evil.example/", "docker.io=http://127.0.0.1@evil.example")
    for bad in bad_ones:
        with pytest.raises(ValueError, match="registry mirror"):
            parse_mirror(bad)


def test_credential_repr_hides_secrets() -> None:
    text = repr(Credential(username="u", password="hunter2", token="tok-123"))
    assert "hunter2" not in text and "tok-123" not in text and "'u'" in text
