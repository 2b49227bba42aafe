"""Real-registry test support: start Debian's `docker-registry`, a token issuer, and a spec front server."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.conftest import missing

REGISTRY_BIN = "/usr/bin/docker-registry"
# Harbor robot accounts are named `robot$<name>` (`robot$<project>+<name>` in a project); the token service
# below checks Basic credentials as Harbor's does, so every authenticated test runs as one.
TOKEN_USER, TOKEN_PASSWORD = "robot$shop+nightly", "s3cret-pass"


def require_registry() -> str:
    """The registry binary; skips when missing, except under CI=true where a missing component fails."""
    found = shutil.which("docker-registry") or (REGISTRY_BIN if Path(REGISTRY_BIN).exists() else None)
    if found is None:
        missing("docker-registry (apt-get install docker-registry)")
    assert found is not None
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class RegistryServer:
    """A running `docker-registry serve` on 127.0.0.1."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


def start_registry(tmp: Path, auth: dict[str, Any] | None = None) -> RegistryServer:
    binary = require_registry()
    port = free_port()
    (tmp / "data").mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(tmp / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "secret": uuid.uuid4().hex},
    }
    if auth:
        config["auth"] = auth
    cfg = tmp / "config.yml"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    log = tmp / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([binary, "serve", str(cfg)], stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{url}/v2/", timeout=1).status_code in (200, 401):
                return RegistryServer(url, port, proc, log)
        except requests.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("docker-registry did not answer /v2/ within 20 s")


def stop(server: RegistryServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@dataclass
class TokenIssuer:
    """A token service after the distribution token spec: RS256 JWTs with an x5c chain the registry trusts."""

    key: Any
    cert_der: bytes
    service: str = "test-registry"
    issuer: str = "test-issuer"
    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/token"

    def issue(self, scope: str, authorized: bool) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        if scope:
            kind, name, actions = scope.split(":", 2)
            # anonymous callers may pull anything but `private/*`; authenticated ones get what they ask
            allowed = [a for a in actions.split(",") if authorized or (a == "pull" and not name.startswith("private/"))]
            access.append({"type": kind, "name": name, "actions": allowed})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        claims = {
            "iss": self.issuer,
            "sub": TOKEN_USER if authorized else "",
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(sig)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _make_issuer(tmp: Path) -> tuple[TokenIssuer, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test token issuer")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    bundle = tmp / "issuer.pem"
    bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return TokenIssuer(key=key, cert_der=cert.public_bytes(serialization.Encoding.DER)), bundle


def _serve_issuer(issuer: TokenIssuer) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            auth = self.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{TOKEN_USER}:{TOKEN_PASSWORD}".encode()).decode()
            issuer.requests.append({"query": query, "authorization": auth})
            if auth and auth != expected:
                self.send_response(401)
                self.end_headers()
                return
            if query.get("service", [""])[0] != issuer.service:
                self.send_response(400)
                self.end_headers()
                return
            token = issuer.issue(query.get("scope", [""])[0], authorized=bool(auth))
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Front:
    """A small HTTP server in front of a real registry, for behaviour Debian's registry (distribution
    2.8) lacks: it ignores `n` on tag lists and never sends `Link`, so `paginate` serves tag lists in
    pages as the distribution spec says (lexical order, `n`, `last`, `Link: <…>; rel="next"`); and
    `throttle` answers the first requests with 429 and the given headers. Everything else is forwarded."""

    def __init__(
        self, upstream: str, *, paginate: bool = False, throttle: int = 0, headers: dict[str, str] | None = None
    ):
        self.upstream, self.paginate, self.throttle = upstream, paginate, throttle
        self.headers = headers or {}
        self.seen = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front.answer(self, body=True)

            def do_HEAD(self) -> None:
                front.answer(self, body=False)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def answer(self, h: BaseHTTPRequestHandler, *, body: bool) -> None:
        self.seen += 1
        if self.seen <= self.throttle:
            self._send(h, 429, self.headers, b"", body)
            return
        parts = urlsplit(h.path)
        up = requests.request(h.command, self.upstream + parts.path, headers=dict(h.headers), timeout=10)
        if self.paginate and parts.path.endswith("/tags/list") and up.status_code == 200:
            self._page(h, parts.path, parse_qs(parts.query), up.json(), body)
            return
        keep = {
            k: v
            for k, v in up.headers.items()
            if k.lower() not in ("transfer-encoding", "connection", "content-length")
        }
        self._send(h, up.status_code, keep, up.content, body)

    def _page(
        self, h: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]], doc: dict[str, Any], body: bool
    ) -> None:
        tags = sorted(doc.get("tags") or [])
        last = query.get("last", [""])[0]
        n = int(query.get("n", ["0"])[0]) or len(tags)
        rest = [t for t in tags if t > last] if last else tags
        page = rest[:n]
        headers = {"Content-Type": "application/json"}
        if len(rest) > n:
            headers["Link"] = f'<{path}?n={n}&last={page[-1]}>; rel="next"'
        self._send(h, 200, headers, json.dumps({"name": doc["name"], "tags": page}).encode(), body)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes, body: bool) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if body:
            h.wfile.write(data)
