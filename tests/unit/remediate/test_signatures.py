"""The signature check on its own: payload claims, key types and hostile registry answers. The manifests and
payloads follow cosign's documented formats (the `sha256-<hex>.sig` tag, simple-signing payload
`{"critical": {"identity": {"docker-reference"}, "image": {"docker-manifest-digest"}, "type"}}`, the signature in
the layer annotation `dev.cosignproject.cosign/signature`);
tests/integration/registry/test_registry_signatures.py runs the real cosign against a real registry."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from gate.errors import ConfigError
from remediate.imageref import parse
from remediate.signatures import SIGNATURE_ANNOTATION, SIMPLE_SIGNING, checker, load_key

REF = parse("registry.example.com/org/app:1.0.0")
DIGEST = "sha256:" + "ab" * 32


def payload(digest: str = DIGEST) -> bytes:
    claims = {
        "critical": {
            "identity": {"docker-reference": "registry.example.com/org/app"},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature",
        },
        "optional": None,
    }
    return json.dumps(claims).encode()


class Registry:
    """Answers like a registry holding the given signature manifests and blobs."""

    def __init__(self, layers: list[tuple[bytes, str]], referrers: list[dict[str, Any]] | None = None) -> None:
        self.blobs = {"sha256:" + hashlib.sha256(p).hexdigest(): p for p, _ in layers}
        self.sig = {
            "schemaVersion": 2,
            "layers": [
                {"mediaType": SIMPLE_SIGNING, "digest": "sha256:" + hashlib.sha256(p).hexdigest(),
                 "annotations": {SIGNATURE_ANNOTATION: s}}
                for p, s in layers
            ],
        }  # fmt: skip
        self.referred = referrers

    def manifest(self, ref: Any, reference: str) -> dict[str, Any] | None:
        return self.sig if reference == DIGEST.replace(":", "-") + ".sig" and self.sig["layers"] else None

    def blob(self, ref: Any, digest: str) -> bytes | None:
        return self.blobs.get(digest)

    def referrers(self, ref: Any, digest: str, artifact_type: str) -> list[dict[str, Any]] | None:
        return self.referred


def ecdsa() -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, key.public_key()


def sign_ec(key: Any, data: bytes) -> str:
    return base64.b64encode(key.sign(data, ec.ECDSA(hashes.SHA256()))).decode()


def test_a_signature_by_the_key_over_a_payload_naming_the_digest_passes() -> None:
    private, public = ecdsa()
    assert checker(Registry([(payload(), sign_ec(private, payload()))]), REF, public)(DIGEST) is None


@pytest.mark.parametrize(
    ("layers", "reason"),
    [
        ([], "unsigned"),
        ([(payload("sha256:" + "cd" * 32), "sig")], "another digest"),
        ([(b"{not json", "sig")], "not cosign's simple signing"),
        ([(payload(), "!!!")], "not base64"),
        ([(payload(), base64.b64encode(b"garbage").decode())], "does not verify"),
    ],
)
def test_what_does_not_count(layers: list[tuple[bytes, str]], reason: str) -> None:
    _, public = ecdsa()
    refused = checker(Registry(layers), REF, public)(DIGEST)
    assert refused is not None and reason in refused


def test_a_signature_by_another_key_does_not_verify_but_counts_without_a_key() -> None:
    other, _ = ecdsa()
    _, ours = ecdsa()
    registry = Registry([(payload(), sign_ec(other, payload()))])
    assert "does not verify" in (checker(registry, REF, ours)(DIGEST) or "")
    assert checker(registry, REF, None)(DIGEST) is None


def test_one_good_signature_among_bad_ones_is_enough_and_rsa_keys_work() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    good = base64.b64encode(key.sign(payload(), padding.PKCS1v15(), hashes.SHA256())).decode()
    registry = Registry([(payload(), "AAAA"), (payload(), good)])
    assert checker(registry, REF, key.public_key())(DIGEST) is None


def test_load_key_reads_pem_and_refuses_the_rest(tmp_path: Path) -> None:
    _, public = ecdsa()
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "cosign.pub").write_bytes(pem)
    assert isinstance(load_key(tmp_path / "cosign.pub"), ec.EllipticCurvePublicKey)
    (tmp_path / "bad.pub").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    with pytest.raises(ConfigError, match="PEM"):
        load_key(tmp_path / "bad.pub")
    with pytest.raises(ConfigError, match="not found"):
        load_key(tmp_path / "missing.pub")
