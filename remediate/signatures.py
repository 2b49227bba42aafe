"""Whether a candidate base image carries a cosign signature, and whether it verifies.

cosign stores a signature of `repo@sha256:<hex>` in the same repository, either under the tag
`sha256-<hex>.sig` (its default) or as an OCI 1.1 referrer with artifact type
`application/vnd.dev.cosign.artifact.sig.v1+json`. Each layer of that manifest is a "simple signing" payload
(`application/vnd.dev.cosign.simplesigning.v1+json`: JSON whose `critical.image.docker-manifest-digest` names
the signed digest) with the base64 signature in the annotation `dev.cosignproject.cosign/signature`. A
signature counts when its payload names the candidate's digest and, with a public key, when the signature
over the payload bytes verifies (ECDSA P-256/SHA-256 as `cosign generate-key-pair` makes, or RSA). Without a
key, a signature is only looked for, which says someone with push rights signed it, not who: give `--cosign-key`.
Keyless (Fulcio certificate) signatures and Rekor inclusion are not checked.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from gate.errors import ConfigError
from remediate.errors import RegistryError
from remediate.model import ImageRef

SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
SIGNATURE_ARTIFACT = "application/vnd.dev.cosign.artifact.sig.v1+json"
MAX_LAYERS = 20


class SignatureSource(Protocol):
    """What the check needs from a registry client (`OciRegistryClient` has it)."""

    def manifest(self, ref: ImageRef, reference: str) -> dict[str, Any] | None: ...
    def blob(self, ref: ImageRef, digest: str) -> bytes | None: ...
    def referrers(self, ref: ImageRef, digest: str, artifact_type: str) -> list[dict[str, Any]] | None: ...


def load_key(path: Path) -> Any:
    """A PEM public key (`cosign.pub`): ECDSA or RSA."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError("cosign public key not found", path=str(path)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"not a PEM public key ({type(exc).__name__})", path=str(path)) from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ConfigError("a cosign key is ECDSA or RSA", path=str(path))
    return key


def checker(source: SignatureSource, ref: ImageRef, key: Any | None) -> Callable[[str], str | None]:
    """`reason(digest)`: None when `ref`'s repository holds a valid signature of that digest, else why not."""

    def reason(digest: str) -> str | None:
        try:
            found = list(_signatures(source, ref, digest))
        except RegistryError as exc:
            return f"signatures unreadable ({exc.reason})"
        if not found:
            return "unsigned (no cosign signature)"
        problems = [p for p in (_problem(payload, sig, digest, key) for payload, sig in found) if p]
        if len(problems) < len(found):
            return None
        return problems[0]

    return reason


def _signatures(source: SignatureSource, ref: ImageRef, digest: str) -> list[tuple[bytes, str]]:
    manifests: list[dict[str, Any]] = []
    referred = source.referrers(ref, digest, SIGNATURE_ARTIFACT)
    for entry in (referred or [])[:MAX_LAYERS]:
        d = entry.get("digest")
        if isinstance(d, str) and d.startswith("sha256:"):
            m = source.manifest(ref, d)
            if m is not None:
                manifests.append(m)
    tagged = source.manifest(ref, digest.replace(":", "-", 1) + ".sig")
    if tagged is not None:
        manifests.append(tagged)
    found = []
    for m in manifests:
        layers = m.get("layers")
        for layer in layers[:MAX_LAYERS] if isinstance(layers, list) else ():
            if not isinstance(layer, dict) or layer.get("mediaType") != SIMPLE_SIGNING:
                continue
            annotations = layer.get("annotations")
            sig = annotations.get(SIGNATURE_ANNOTATION) if isinstance(annotations, dict) else None
            blob = layer.get("digest")
            if isinstance(sig, str) and isinstance(blob, str) and blob.startswith("sha256:"):
                payload = source.blob(ref, blob)
                if payload is not None:
                    found.append((payload, sig))
    return found


def _problem(payload: bytes, signature: str, digest: str, key: Any | None) -> str | None:
    try:
        claims = json.loads(payload)
        signed = claims["critical"]["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return "a signature whose payload is not cosign's simple signing"
    if signed != digest:
        return f"a signature of another digest ({str(signed)[:80]})"
    if key is None:
        return None
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return "a signature that is not base64"
    return None if _verifies(key, raw, payload) else "a signature that does not verify with the cosign key"


def _verifies(key: Any, signature: bytes, payload: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, padding

    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
            return True
        for pad in (padding.PKCS1v15(), padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO)):
            try:
                key.verify(signature, payload, pad, hashes.SHA256())
                return True
            except InvalidSignature:
                continue
        return False
    except InvalidSignature:
        return False
