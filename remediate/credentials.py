"""Registry credentials from the environment and Docker's config.json (the CLI reads them, once)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from remediate.registry import Credential

ENV_PREFIX = "CONTAINER_GATE_REGISTRY_"
"""`CONTAINER_GATE_REGISTRY_<HOST>_TOKEN` (a registry bearer token), or `_USERNAME` + `_PASSWORD`;
<HOST> is the registry host in upper case with every other character as `_` (`GHCR_IO`, `LOCALHOST_5000`)."""


def env_key(host: str) -> str:
    """The `<HOST>` part of the environment variable names for a registry host."""
    return re.sub(r"[^A-Z0-9]", "_", host.upper())


def normalise_host(key: str) -> str:
    """`https://index.docker.io/v1/` → `docker.io`; `ghcr.io` stays."""
    host = urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]
    host = host.lower()
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io", "docker.io") else host


def from_docker_config(env: Mapping[str, str]) -> tuple[dict[str, Credential], list[str]]:
    """`auths` entries of `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`): base64 `auth` or
    `username`/`password`. Credential helpers and identity tokens are not run; a note says so."""
    folder = Path(env["DOCKER_CONFIG"]) if env.get("DOCKER_CONFIG") else Path.home() / ".docker"
    path = folder / "config.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, []
    except (OSError, ValueError) as exc:
        return {}, [f"{path}: not used ({type(exc).__name__})"]
    if not isinstance(doc, dict):
        return {}, [f"{path}: not used (not a JSON object)"]
    creds: dict[str, Credential] = {}
    notes: list[str] = []
    for key, entry in (doc.get("auths") or {}).items():
        cred, note = _entry(entry)
        if cred is not None:
            creds[normalise_host(key)] = cred
        elif note:
            notes.append(f"{path}: {normalise_host(key)}: {note}")
    helpers = dict(doc.get("credHelpers") or {})
    if doc.get("credsStore"):
        notes.append(f"{path}: credsStore {doc['credsStore']!r} not used (credential helpers are not run)")
    notes.extend(f"{path}: {h}: credential helper not used" for h in helpers if normalise_host(h) not in creds)
    return creds, notes


def _entry(entry: object) -> tuple[Credential | None, str | None]:
    if not isinstance(entry, dict):
        return None, "entry is not an object"
    if entry.get("auth"):
        try:
            user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None, "auth is not base64 of user:password"
        return (Credential(username=user, password=password), None) if sep else (None, "auth has no ':'")
    if entry.get("username") is not None and entry.get("password") is not None:
        return Credential(username=str(entry["username"]), password=str(entry["password"])), None
    if entry.get("identitytoken"):
        return None, "identity token not used (needs an OAuth refresh flow)"
    return None, None


def from_env(env: Mapping[str, str]) -> dict[str, Credential]:
    """Credentials from `CONTAINER_GATE_REGISTRY_<HOST>_*` variables, keyed by their `<HOST>` part."""
    found: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        m = re.match(rf"^{ENV_PREFIX}(?P<host>[A-Z0-9_]+)_(?P<kind>TOKEN|USERNAME|PASSWORD)$", name)
        if m and value:
            found.setdefault(m.group("host"), {})[m.group("kind")] = value
    return {
        host: Credential(username=v.get("USERNAME"), password=v.get("PASSWORD"), token=v.get("TOKEN"))
        for host, v in found.items()
    }


def collect(env: Mapping[str, str], hosts: set[str]) -> tuple[dict[str, Credential], list[str]]:
    """Credentials for the hosts a run talks to: environment variables win over config.json."""
    creds, notes = from_docker_config(env)
    by_key = from_env(env)
    for host in hosts:
        if env_key(host) in by_key:
            creds[host] = by_key[env_key(host)]
    return creds, notes
