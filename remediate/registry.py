"""OCI distribution client: tag lists (every page), manifest digests, Bearer/Basic auth, mirrors, one cache.

A thin client on a `requests.Session` the caller passes in (see `retrying_session` for the one the CLI
builds: urllib3 retries with backoff on 429/5xx that honour `Retry-After`). We did not use `oras` or
`python-dxf`: both build their own sessions, neither follows `Link` pagination to the end, honours
`Retry-After` or knows about mirrors (see docs/remediate.md).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from urllib3.util.retry import Retry

from gate.urls import credential_url_problem
from remediate.errors import RegistryError
from remediate.imageref import api_host, is_loopback
from remediate.model import ImageRef

if TYPE_CHECKING:
    import requests

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
"""All four, so a multi-arch tag answers with its index digest, never a single-arch fallback."""
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


class RegistryClient(Protocol):
    """What remediation asks of a registry."""

    def list_tags(self, ref: ImageRef) -> tuple[str, ...]:
        """Every tag of the image's repository."""
        ...

    def digest(self, ref: ImageRef, tag: str) -> str:
        """The digest a tag points at now (the index digest for a multi-arch tag)."""
        ...


@dataclass(frozen=True, slots=True)
class Credential:
    """Credentials for one registry host: a username/password for the token service (or Basic), or a
    ready registry token sent as `Authorization: Bearer`."""

    username: str | None = None
    password: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never print a secret, even in a traceback
        return f"Credential(username={self.username!r}, password=***, token={'***' if self.token else None})"


class RegistryRetry(Retry):
    """urllib3 `Retry` that also reads `RateLimit-Reset` when `Retry-After` is missing, and never waits
    longer than `MAX_WAIT` seconds for one retry (Docker Hub's windows are hours long)."""

    MAX_WAIT = 60.0

    def get_retry_after(self, response: Any) -> float | None:
        """Seconds to wait before the next try, from `Retry-After` or `RateLimit-Reset`."""
        wait = super().get_retry_after(response)
        if wait is None:
            reset = response.headers.get("RateLimit-Reset")
            if reset and reset.split(";")[0].strip().isdigit():
                wait = float(reset.split(";")[0])
        return None if wait is None else min(wait, self.MAX_WAIT)


def retrying_session(*, retries: int = 4, backoff: float = 0.5) -> requests.Session:
    """The session the CLI hands to `OciRegistryClient`: retries 429 and 5xx on GET/HEAD with exponential
    backoff, honouring `Retry-After`; after the last try the response comes back so we can report it."""
    import requests
    from requests.adapters import HTTPAdapter

    policy = RegistryRetry(
        total=retries,
        connect=min(retries, 2),  # an unreachable host will not come back within this run
        backoff_factor=backoff,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "container-gate-remediate"
    return session


def parse_mirror(text: str) -> tuple[str, str]:
    """`HOST=URL` → (host, base URL); plain http only to loopback. Raises ValueError naming the problem."""
    host, sep, url = text.partition("=")
    parts = urlsplit(url.strip())
    if not sep or not host.strip() or parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"registry mirror {text!r}: expected HOST=URL, e.g. docker.io=http://127.0.0.1:5000")
    problem = credential_url_problem(url.strip())
    if problem is not None:
        raise ValueError(f"registry mirror {text!r}: the URL {problem}")
    host = host.strip().lower()
    host = "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host
    return host, url.strip().rstrip("/")


class OciRegistryClient:
    """Talks the distribution API to each image's registry (or its mirror), caching every answer per run."""

    def __init__(
        self,
        session: requests.Session,
        *,
        mirrors: Mapping[str, str] | None = None,
        credentials: Callable[[str], Credential | None] | None = None,
        page_size: int = 1000,
        max_pages: int = 1000,
        timeout: float = 30.0,
    ) -> None:
        self.session = session
        self.mirrors = dict(mirrors or {})
        self.credentials = credentials or (lambda host: None)
        self.page_size = page_size
        self.max_pages = max_pages
        self.timeout = timeout
        self._tags: dict[tuple[str, str], tuple[str, ...] | RegistryError] = {}
        self._digests: dict[tuple[str, str, str], str | RegistryError] = {}
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def mirror_of(self, registry: str) -> str | None:
        """The mirror serving `registry`, if one was given (Docker Hub under any of its host names)."""
        name = registry.lower()
        if name in ("registry-1.docker.io", "index.docker.io") and name not in self.mirrors:
            name = "docker.io"
        return self.mirrors.get(name)

    def base_url(self, registry: str) -> str:
        """Where the API for `registry` is served: its mirror, else https (http for loopback hosts)."""
        mirror = self.mirror_of(registry)
        if mirror is not None:
            return mirror
        host = api_host(registry)
        return f"{'http' if is_loopback(host) else 'https'}://{host}"

    def list_tags(self, ref: ImageRef) -> tuple[str, ...]:
        """See `RegistryClient.list_tags`; pages are followed through `Link: <…>; rel="next"` to the end."""
        base = self.base_url(ref.registry)
        return _remembered(self._tags, (base, ref.repository), lambda: self._fetch_tags(ref, base))

    def digest(self, ref: ImageRef, tag: str) -> str:
        """See `RegistryClient.digest`: a HEAD (free on Docker Hub) reading `Docker-Content-Digest`."""
        base = self.base_url(ref.registry)
        return _remembered(self._digests, (base, ref.repository, tag), lambda: self._fetch_digest(ref, base, tag))

    def manifest(self, ref: ImageRef, reference: str) -> dict[str, Any] | None:
        """The manifest (or index) a tag or digest names, as JSON; None when the registry has none (404).
        Fetched by digest, its bytes must hash to that digest."""
        base = self.base_url(ref.registry)
        url = f"{base}/v2/{ref.repository}/manifests/{reference}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        body = self._small(self._optional("GET", url, ref, f"read manifest {reference} of", headers), ref, base)
        if body is None:
            return None
        _check_digest(body, reference, self._error(ref, base, f"read manifest {reference} of", "digest mismatch"))
        return _json_bytes(body, ref, base, self._error)

    def blob(self, ref: ImageRef, digest: str) -> bytes | None:
        """A small blob (a signature payload) by digest, checked against it; None when absent."""
        base = self.base_url(ref.registry)
        url = f"{base}/v2/{ref.repository}/blobs/{digest}"
        body = self._small(self._optional("GET", url, ref, f"read blob {digest} of"), ref, base)
        if body is not None:
            _check_digest(body, digest, self._error(ref, base, f"read blob {digest} of", "digest mismatch"))
        return body

    def referrers(self, ref: ImageRef, digest: str, artifact_type: str) -> list[dict[str, Any]] | None:
        """OCI 1.1 referrers of `digest` with that artifact type; None when the registry has no referrers API."""
        base = self.base_url(ref.registry)
        url = f"{base}/v2/{ref.repository}/referrers/{digest}?{urlencode({'artifactType': artifact_type})}"
        resp = self._optional("GET", url, ref, f"list referrers of {digest} in")
        body = self._small(resp, ref, base)
        if body is None or resp is None or "json" not in resp.headers.get("Content-Type", "json"):
            return None
        index = _json_bytes(body, ref, base, self._error)
        manifests = index.get("manifests")
        return [m for m in manifests if isinstance(m, dict)] if isinstance(manifests, list) else []

    def _optional(
        self, method: str, url: str, ref: ImageRef, operation: str, headers: dict[str, str] | None = None
    ) -> requests.Response | None:
        try:
            return self._request(method, url, ref, operation, headers=headers)
        except RegistryError as exc:
            if exc.status == 404:
                return None
            raise

    def _small(self, resp: requests.Response | None, ref: ImageRef, base: str) -> bytes | None:
        # A registry chosen by a pull request's Dockerfile may answer with anything: signatures and their
        # manifests are a few KiB, so a megabyte is refused rather than held.
        if resp is None:
            return None
        if len(resp.content) > MAX_SMALL_BODY:
            raise self._error(ref, base, "read", f"an answer larger than {MAX_SMALL_BODY} bytes")
        return resp.content

    def _fetch_tags(self, ref: ImageRef, base: str) -> tuple[str, ...]:
        url = f"{base}/v2/{ref.repository}/tags/list?n={self.page_size}"
        tags: list[str] = []
        for _ in range(self.max_pages):
            resp = self._request("GET", url, ref, "list tags of")
            body = _json(resp, ref, base, "list tags of")
            tags.extend(t for t in body.get("tags") or () if isinstance(t, str))
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                return tuple(dict.fromkeys(tags))
            nxt_url = urljoin(url, nxt)
            if urlsplit(nxt_url).netloc != urlsplit(url).netloc:
                raise self._error(ref, base, "list tags of", f"next page is on another host ({nxt_url})")
            url = nxt_url
        raise self._error(ref, base, "list tags of", f"more than {self.max_pages} pages of tags")

    def _fetch_digest(self, ref: ImageRef, base: str, tag: str) -> str:
        url = f"{base}/v2/{ref.repository}/manifests/{tag}"
        headers = {"Accept": ", ".join(MANIFEST_TYPES)}
        resp = self._request("HEAD", url, ref, f"resolve tag {tag!r} of", headers=headers)
        digest = resp.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        # older registries omit the header on HEAD: the digest is the sha256 of the exact manifest bytes
        resp = self._request("GET", url, ref, f"resolve tag {tag!r} of", headers=headers)
        return resp.headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(resp.content).hexdigest()

    def _request(
        self, method: str, url: str, ref: ImageRef, operation: str, *, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """One API call, answering a 401 challenge once (Bearer token or Basic) and turning failures into
        `RegistryError`s that name the image and the registry."""
        base = url.split("/v2/", 1)[0]
        hdrs = dict(headers or {})
        scope = f"repository:{ref.repository}:pull"
        auth = self._cached_auth(base, scope, ref)
        if auth:
            hdrs["Authorization"] = auth
        resp = self._send(method, url, hdrs, ref, base, operation)
        if resp.status_code == 401:
            hdrs["Authorization"] = self._answer_challenge(resp, base, scope, ref, operation)
            resp = self._send(method, url, hdrs, ref, base, operation)
        if resp.status_code >= 400:
            raise self._error(ref, base, operation, _explain(resp), resp.status_code)
        return resp

    def _send(
        self, method: str, url: str, headers: dict[str, str], ref: ImageRef, base: str, operation: str
    ) -> requests.Response:
        import requests

        try:
            return self.session.request(method, url, headers=headers, timeout=self.timeout, allow_redirects=True)
        except requests.RequestException as exc:
            reason = type(exc).__name__
            raise self._error(
                ref, base, operation, f"cannot connect ({reason}); the network or a proxy may block it"
            ) from None

    def _credential(self, base: str, ref: ImageRef) -> Credential | None:
        netloc = urlsplit(base).netloc
        mirrored = self.mirror_of(ref.registry) is not None
        return self.credentials(netloc if mirrored else ref.registry)

    def _cached_auth(self, base: str, scope: str, ref: ImageRef) -> str | None:
        # Only a token this registry's own challenge led to: a configured secret is never sent before the
        # registry has asked for it (a first request may be redirected or answered by something else).
        cached = self._tokens.get((base, scope))
        if cached and cached[1] > time.monotonic():
            return f"Bearer {cached[0]}"
        return None

    def _answer_challenge(self, resp: requests.Response, base: str, scope: str, ref: ImageRef, operation: str) -> str:
        header = resp.headers.get("WWW-Authenticate", "")
        scheme = header.split(" ", 1)[0].lower()
        params = dict(_CHALLENGE.findall(header))
        cred = self._credential(base, ref)
        if scheme == "basic" and cred and cred.username is not None:
            return _basic(cred)
        if scheme == "bearer" and cred and cred.token:
            return f"Bearer {cred.token}"
        if scheme != "bearer" or "realm" not in params:
            why = "authentication required and no credentials for it" if scheme == "basic" else header
            raise self._error(ref, base, operation, f"unauthorized: {why or 'no challenge'}", 401)
        return f"Bearer {self._token(params, base, scope, ref, cred, operation)}"

    def _token(
        self,
        params: dict[str, str],
        base: str,
        scope: str,
        ref: ImageRef,
        cred: Credential | None,
        operation: str,
    ) -> str:
        """Fetch a token from the challenge's realm (distribution token spec), with Basic credentials when
        we have them and anonymously otherwise; cached per registry and scope until it expires."""
        realm = params["realm"]
        if credential_url_problem(realm) is not None:
            raise self._error(ref, base, operation, f"token realm {realm} is not https")
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        hdrs = {"Authorization": _basic(cred)} if cred and cred.username is not None else {}
        url = realm + ("&" if "?" in realm else "?") + urlencode({k: v for k, v in query.items() if v})
        resp = self._send("GET", url, hdrs, ref, base, operation)
        if resp.status_code >= 400:
            raise self._error(ref, base, operation, f"token service refused: {_explain(resp)}", resp.status_code)
        body = _json(resp, ref, base, operation)
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._error(ref, base, operation, "token service answered without a token")
        expires = body.get("expires_in")
        life = float(expires) if isinstance(expires, int | float) and expires > 0 else 60.0
        self._tokens[(base, query["scope"])] = (token, time.monotonic() + life - 5)
        self._tokens[(base, scope)] = (token, time.monotonic() + life - 5)
        return token

    def _error(
        self, ref: ImageRef, base: str, operation: str, message: str, status: int | None = None
    ) -> RegistryError:
        mirror = f" (mirror {base})" if self.mirror_of(ref.registry) is not None else ""
        return RegistryError(
            message, operation=operation, registry=ref.registry + mirror, image=ref.familiar, status=status
        )


_Key = TypeVar("_Key")
_Value = TypeVar("_Value")


def _remembered(cache: dict[_Key, _Value | RegistryError], key: _Key, fetch: Callable[[], _Value]) -> _Value:
    """`fetch` once per key and run: later asks get the same answer, or the same error again (an
    unreachable registry is asked once, not once per Dockerfile naming it)."""
    if key not in cache:
        try:
            cache[key] = fetch()
        except RegistryError as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, RegistryError):
        raise found
    return found


MAX_SMALL_BODY = 1 << 20


def _check_digest(body: bytes, reference: str, error: RegistryError) -> None:
    if reference.startswith("sha256:") and "sha256:" + hashlib.sha256(body).hexdigest() != reference:
        raise error


def _json_bytes(body: bytes, ref: ImageRef, base: str, error: Callable[..., RegistryError]) -> dict[str, Any]:
    import json

    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise error(ref, base, "read", "an answer that is not JSON") from None
    if not isinstance(value, dict):
        raise error(ref, base, "read", "an answer that is not a JSON object")
    return value


def _basic(cred: Credential) -> str:
    import base64

    raw = f"{cred.username or ''}:{cred.password or ''}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _json(resp: requests.Response, ref: ImageRef, base: str, operation: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise RegistryError(
            "answer is not a JSON object", operation=operation, registry=ref.registry, image=ref.familiar
        )
    return body


def _explain(resp: requests.Response) -> str:
    """The registry's own error message (distribution error body), else the HTTP reason."""
    try:
        errors = resp.json().get("errors") or []
        first = errors[0]
        return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except (ValueError, AttributeError, IndexError, TypeError):
        return resp.reason or "request failed"
