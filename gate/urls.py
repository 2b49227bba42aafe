"""Where a token may be sent: https anywhere, plain http only to this machine (local fakes, mirrors in tests).

One rule for every client that carries credentials (code-scanning upload, forges, registries), decided on the
parsed host, never on the text: `http://[::1]@evil.example/` names the host `evil.example`, whatever it starts with."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str | None) -> bool:
    """`localhost` or a loopback address (127.0.0.0/8, ::1); False for anything else, names included."""
    if not host:
        return False
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def credential_url_problem(url: str) -> str | None:
    """Why a token must not be sent to `url` (None when it may): not http(s), credentials in it, or plain http
    to a host other than loopback."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not host:
        return "must be an https URL"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.scheme == "http" and not is_loopback_host(host):
        return "uses plain http, which is only allowed to loopback hosts; use https"
    return None
