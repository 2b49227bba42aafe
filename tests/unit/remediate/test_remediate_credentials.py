"""Credentials: Docker's config.json `auths` (base64 or fields), helpers noted, env variables win."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from remediate.credentials import env_key, from_docker_config, from_env
from remediate.registry import Credential


def test_docker_config_auths_and_helpers(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hubuser:hubpass").decode()},
                    "ghcr.io": {"username": "me", "password": "pat"},
                    "quay.io": {"identitytoken": "x"},
                    "broken.io": {"auth": "!!!"},
                },
                "credHelpers": {"123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login"},
            }
        )
    )
    creds, notes = from_docker_config({"DOCKER_CONFIG": str(tmp_path)})
    assert creds == {
        "docker.io": Credential(username="hubuser", password="hubpass"),
        "ghcr.io": Credential(username="me", password="pat"),
    }
    assert any("quay.io: identity token not used" in n for n in notes)
    assert any("broken.io: auth is not base64" in n for n in notes)
    assert any("ecr-login" not in n and "credential helper not used" in n for n in notes)
    assert "hubpass" not in repr(creds) and "pat" not in repr(creds["ghcr.io"])


def test_missing_config_is_no_credentials(tmp_path: Path) -> None:
    assert from_docker_config({"DOCKER_CONFIG": str(tmp_path)}) == ({}, [])


def test_environment_variables() -> None:
    env = {
        "CONTAINER_GATE_REGISTRY_GHCR_IO_TOKEN": "tok",
        "CONTAINER_GATE_REGISTRY_LOCALHOST_5000_USERNAME": "u",
        "CONTAINER_GATE_REGISTRY_LOCALHOST_5000_PASSWORD": "p",
        "UNRELATED": "x",
    }
    found = from_env(env)
    assert found["GHCR_IO"] == Credential(token="tok")
    assert found["LOCALHOST_5000"] == Credential(username="u", password="p")


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("ghcr.io", "GHCR_IO"),
        ("localhost:5000", "LOCALHOST_5000"),
        ("europe-docker.pkg.dev", "EUROPE__DOCKER_PKG_DEV"),
        ("europe.docker-pkg.dev", "EUROPE_DOCKER__PKG_DEV"),
        ("xn--80ak6aa92e.example", "XN____80AK6AA92E_EXAMPLE"),
        ("127.0.0.1:5000", "127_0_0_1_5000"),
        ("Registry.Example.COM", "REGISTRY_EXAMPLE_COM"),
    ],
)
def test_env_keys_are_one_to_one_on_host_names(host: str, key: str) -> None:
    assert env_key(host) == key


@pytest.mark.parametrize("host", ["host.5000", "a_b.example", "-bad.example", "bad-.example", "a..b", "", "a b"])
def test_hosts_that_could_be_read_two_ways_get_no_variables(host: str) -> None:
    assert env_key(host) is None


def test_two_look_alike_hosts_never_share_a_credential() -> None:
    from remediate.credentials import collect

    env = {"CONTAINER_GATE_REGISTRY_EUROPE__DOCKER_PKG_DEV_TOKEN": "real"}
    creds, _ = collect(env, {"europe-docker.pkg.dev", "europe.docker-pkg.dev"})
    assert set(creds) == {"europe-docker.pkg.dev"}
