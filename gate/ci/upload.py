"""Uploads SARIF to GitHub code scanning and waits for GitHub to process it; the session is passed in.

Retries are done here rather than with urllib3's `Retry` adapter: a secondary rate limit and a
read-only token both answer 403, and only the headers (`Retry-After`, `x-ratelimit-remaining: 0`) tell
them apart, which `Retry`'s status list cannot; and the wait must go through the injected `sleep`
so tests neither sleep nor mount adapters on the caller's session.
"""

from __future__ import annotations

import base64
import gzip
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from gate.errors import OutputError
from gate.urls import credential_url_problem

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
MAX_ATTEMPTS = 5
POLL_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 30.0, 30.0, 30.0, 30.0)
"""Backoff between status checks: about three minutes in all, then we report `pending`."""
MAX_RETRY_AFTER = 120.0
READ_ONLY_HINTS = ("resource not accessible by integration", "must have admin rights", "not authorized")


@dataclass(frozen=True, slots=True)
class UploadResult:
    """How the upload ended: `complete`, `failed` (GitHub's processing errors), `pending`, or `skipped`."""

    status: str
    sarif_id: str | None = None
    errors: tuple[str, ...] = ()
    """GitHub's processing errors when `failed`."""
    warning: str | None = None
    """Why nothing was uploaded (`skipped`), for a notice rather than a failure."""
    url: str | None = None

    @property
    def ok(self) -> bool:
        """True when GitHub stored the results."""
        return self.status == "complete"


def encode_sarif(sarif_text: str) -> str:
    """gzip, then base64: what the endpoint's `sarif` field wants."""
    return base64.b64encode(gzip.compress(sarif_text.encode("utf-8"))).decode("ascii")


def upload_sarif(
    session: requests.Session,
    *,
    api_url: str,
    repository: str,
    token: str,
    sarif_text: str,
    commit_sha: str,
    ref: str,
    checkout_uri: str | None,
    tool_name: str,
    started_at: str | None,
    sleep: Callable[[float], None] = time.sleep,
) -> UploadResult:
    """POST the SARIF to `/repos/{owner}/{repo}/code-scanning/sarifs`, then poll until processed."""
    if repository.count("/") != 1:
        raise OutputError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}")
    problem = credential_url_problem(api_url)
    if problem is not None:
        # Checked before the request is built: the token must never leave towards such a URL.
        raise OutputError(f"GITHUB_API_URL {problem}")
    base = f"{api_url.rstrip('/')}/repos/{repository}/code-scanning/sarifs"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    body: dict[str, Any] = {
        "commit_sha": commit_sha,
        "ref": ref,
        "sarif": encode_sarif(sarif_text),
        "tool_name": tool_name,
    }
    if checkout_uri:
        body["checkout_uri"] = checkout_uri
    if started_at:
        body["started_at"] = started_at
    response = _send(session, "POST", base, headers, sleep, json=body)
    if response.status_code == 403 and _read_only(response):
        return UploadResult("skipped", warning=_read_only_warning(response))
    if response.status_code != 202:
        raise OutputError(f"code scanning refused the SARIF upload: {_describe(response)}")
    receipt = _json(response)
    sarif_id = str(receipt.get("id") or "")
    if not sarif_id:
        raise OutputError("code scanning accepted the upload but returned no id to follow")
    return _poll(session, f"{base}/{sarif_id}", headers, sarif_id, sleep)


def _poll(
    session: requests.Session, url: str, headers: dict[str, str], sarif_id: str, sleep: Callable[[float], None]
) -> UploadResult:
    for delay in POLL_DELAYS:
        sleep(delay)
        response = _send(session, "GET", url, headers, sleep)
        if response.status_code == 404:
            # Right after the POST the id may not be visible yet; keep waiting.
            continue
        if response.status_code != 200:
            raise OutputError(f"cannot read the SARIF upload's status: {_describe(response)}")
        status = _json(response)
        state = status.get("processing_status")
        if state == "complete":
            return UploadResult("complete", sarif_id, url=status.get("analyses_url"))
        if state == "failed":
            errors = tuple(str(e) for e in status.get("errors") or ()) or ("no reason given",)
            return UploadResult("failed", sarif_id, errors=errors)
    return UploadResult(
        "pending", sarif_id, warning="GitHub had not finished processing the SARIF when we stopped waiting"
    )


def _send(
    session: requests.Session,
    method: str,
    url: str,
    headers: dict[str, str],
    sleep: Callable[[float], None],
    **kwargs: Any,
) -> requests.Response:
    """One request with retries on 5xx, secondary rate limits and connection errors."""
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = session.request(method, url, headers=headers, timeout=60, **kwargs)
        except requests.ConnectionError as exc:
            if attempt == MAX_ATTEMPTS:
                raise OutputError(f"cannot reach {_host(url)}: {type(exc).__name__}") from None
            sleep(_backoff(attempt))
            continue
        wait = _retry_wait(response, attempt)
        if wait is None or attempt == MAX_ATTEMPTS:
            return response
        log.info("GitHub answered %s to %s; retrying in %.0f s", response.status_code, method, wait)
        sleep(wait)
    raise AssertionError("unreachable")


def _retry_wait(response: requests.Response, attempt: int) -> float | None:
    status = response.status_code
    if status >= 500:
        return _retry_after(response) or _backoff(attempt)
    if status in (403, 429):
        retry_after = _retry_after(response)
        if retry_after is not None:
            return retry_after
        if response.headers.get("x-ratelimit-remaining") == "0":
            reset = response.headers.get("x-ratelimit-reset", "")
            until = float(reset) - time.time() if reset.isdigit() else 60.0
            return min(max(until, 1.0), MAX_RETRY_AFTER)
        if status == 429:
            return _backoff(attempt)
    return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return min(float(value), MAX_RETRY_AFTER) if value.isdigit() else None


def _backoff(attempt: int) -> float:
    return float(min(2 ** (attempt - 1), 30))


def _read_only(response: requests.Response) -> bool:
    text = str(_json(response).get("message", "")).lower()
    return any(hint in text for hint in READ_ONLY_HINTS) or not text


def _read_only_warning(response: requests.Response) -> str:
    message = str(_json(response).get("message") or "403 Forbidden")
    return (
        f"SARIF not uploaded: the token cannot write code scanning results ({message}). "
        "Pull requests from forks and Dependabot get a read-only token; grant `security-events: write` "
        "or upload the SARIF from a trusted workflow. The gate's verdict is unaffected."
    )


def _describe(response: requests.Response) -> str:
    message = _json(response).get("message")
    return f"HTTP {response.status_code}" + (f": {message}" if message else "")


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url
