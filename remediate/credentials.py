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
<HOST> is the registry host in upper case with `.` and `:` as `_` and `-` as `__` (`GHCR_IO`, `LOCALHOST_5000`,
`EUROPE__DOCKER_PKG_DEV`)."""

_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?")


def env_key(host: str) -> str | None:
    """The `<HOST>` part of the environment variable names for a registry host; None when it has none.

    The mapping is one-to-one on valid host names, so two hosts can never share a credential
    (`europe-docker.pkg.dev` and `europe.docker-pkg.dev` once both read `EUROPE_DOCKER_PKG_DEV`): a run of one
    `_` is a `.` or the `:` before the port, a run of 2n is n hyphens (labels never start or end with one). A
    host whose last label is all digits could be read with or without a port, so it gets no variables at all
    (except IPv4 addresses, whose last label before a port is always a number)."""
    name = host.lower()
    if not _HOST.fullmatch(name):
        return None
    bare = name.rsplit(":", 1)[0]
    if bare.rsplit(".", 1)[-1].isdigit() and not _ipv4(bare):
        return None
    return name.upper().replace("-", "__").replace(".", "_").replace(":", "_")


def _ipv4(text: str) -> bool:
    import ipaddress

    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv4Address)
    except ValueError:
        return False


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
        key = env_key(host)
        if key is not None and key in by_key:
            creds[host] = by_key[key]
    return creds, notes
