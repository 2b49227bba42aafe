"""Credentials: Docker's config.json `auths` (base64 or fields), helpers noted, env variables win."""

from __future__ import annotations

import base64
import json
from pathlib import Path

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
    assert found[env_key("ghcr.io")] == Credential(token="tok")
    assert found[env_key("localhost:5000")] == Credential(username="u", password="p")
