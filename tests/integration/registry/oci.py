"""Test helper: push small OCI images (and multi-arch indexes) to a real registry over the HTTP API."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

import requests

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass
class Pusher:
    """Pushes to one registry; answers Bearer challenges with `username`/`password` when given."""

    base_url: str
    session: requests.Session = field(default_factory=requests.Session)
    username: str | None = None
    password: str | None = None
    _tokens: dict[str, str] = field(default_factory=dict)

    def _call(self, method: str, url: str, repo: str, **kwargs: object) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        if repo in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[repo]}"
        resp = self.session.request(method, url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]
        if resp.status_code == 401 and "Bearer" in resp.headers.get("WWW-Authenticate", ""):
            params = dict(re.findall(r'(\w+)="([^"]*)"', resp.headers["WWW-Authenticate"]))
            auth = (self.username, self.password or "") if self.username else None
            scope = f"repository:{repo}:pull,push"
            tok = self.session.get(
                params["realm"], params={"service": params["service"], "scope": scope}, auth=auth, timeout=30
            )
            tok.raise_for_status()
            self._tokens[repo] = tok.json()["token"]
            headers["Authorization"] = f"Bearer {self._tokens[repo]}"
            resp = self.session.request(method, url, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]
        if resp.status_code >= 400:
            raise AssertionError(f"{method} {url}: {resp.status_code} {resp.text[:300]}")
        return resp

    def blob(self, repo: str, data: bytes) -> str:
        """Upload a blob (POST then monolithic PUT) and return its digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = self._call("POST", f"{self.base_url}/v2/{repo}/blobs/uploads/", repo)
        location = requests.compat.urljoin(self.base_url + "/", start.headers["Location"])
        sep = "&" if "?" in location else "?"
        self._call(
            "PUT",
            f"{location}{sep}digest={digest}",
            repo,
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return digest

    def manifest(self, repo: str, ref: str, body: dict[str, object], media_type: str) -> str:
        """PUT a manifest under a tag (or digest) and return the digest the registry computed."""
        data = json.dumps(body, sort_keys=True).encode()
        resp = self._call(
            "PUT", f"{self.base_url}/v2/{repo}/manifests/{ref}", repo, data=data, headers={"Content-Type": media_type}
        )
        digest = resp.headers["Docker-Content-Digest"]
        assert digest == "sha256:" + hashlib.sha256(data).hexdigest()
        return digest

    def image(self, repo: str, tag: str, *, arch: str = "amd64", salt: str = "", by_digest: bool = False) -> str:
        """Push a one-layer OCI image whose config names the tag, so every tag has its own digest
        (`by_digest` stores it untagged, as a multi-arch index's children are)."""
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "config": {"Labels": {"tag": tag, "salt": salt}},
                "rootfs": {"type": "layers", "diff_ids": []},
            },
            sort_keys=True,
        ).encode()
        layer = f"layer of {repo}:{tag} {arch} {salt}".encode()
        body = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.blob(repo, config), "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": self.blob(repo, layer), "size": len(layer)}],
        }
        if by_digest:
            digest = "sha256:" + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            return self.manifest(repo, digest, body, OCI_MANIFEST)
        return self.manifest(repo, tag, body, OCI_MANIFEST)

    def multiarch(self, repo: str, tag: str, *, arches: tuple[str, ...] = ("amd64", "arm64"), salt: str = "") -> str:
        """Push one image per architecture (by digest) and an OCI index under `tag`; returns the index digest."""
        entries = []
        for arch in arches:
            child = self.image(repo, tag, arch=arch, salt=salt, by_digest=True)
            data = self._call(
                "GET", f"{self.base_url}/v2/{repo}/manifests/{child}", repo, headers={"Accept": OCI_MANIFEST}
            ).content
            entries.append(
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child,
                    "size": len(data),
                    "platform": {"architecture": arch, "os": "linux"},
                }
            )
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        return self.manifest(repo, tag, index, OCI_INDEX)
