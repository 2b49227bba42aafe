"""SBOMs inside in-toto attestations: what `docker buildx --sbom` attaches and `cosign attest --type spdxjson|cyclonedx`
signs, read as the SBOM they carry.

Shapes from the in-toto Attestation Framework (github.com/in-toto/attestation, spec v1: a Statement with
`_type`, `subject`, `predicateType`, `predicate`) and DSSE (github.com/secure-systems-lab/dsse: an envelope with
`payloadType: application/vnd.in-toto+json` and the Statement base64-encoded in `payload`), as `cosign download
attestation` prints it. The signature is not checked here (that is `cosign verify-attestation`'s job); the
gate reads what the SBOM says.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from gate.errors import InputError
from gate.ingest.base import Parser
from gate.ingest.cyclonedx import PARSER as CYCLONEDX
from gate.ingest.spdx import PARSER as SPDX
from gate.model import Report

_STATEMENTS = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
_PAYLOAD_TYPE = "application/vnd.in-toto+json"
_PREDICATES: dict[str, Parser] = {
    "https://spdx.dev/Document": SPDX,
    "https://cyclonedx.org/bom": CYCLONEDX,
}
"""predicateType → reader; versioned forms (`https://spdx.dev/Document/v2.3`, `https://cyclonedx.org/bom/v1.5`)
are matched by prefix."""


class InTotoParser:
    """An in-toto Statement (or a DSSE envelope holding one) whose predicate is an SPDX or CycloneDX SBOM."""

    name = "in-toto"

    def sniff(self, doc: Any) -> bool:
        """See `Parser.sniff`."""
        if not isinstance(doc, dict):
            return False
        return doc.get("_type") in _STATEMENTS or doc.get("payloadType") == _PAYLOAD_TYPE

    def parse(self, doc: Any, origin: str) -> Report:
        """See `Parser.parse`."""
        statement = _unwrap(doc, origin) if "payloadType" in doc else doc
        kind = statement.get("predicateType")
        if not isinstance(kind, str):
            raise InputError("in-toto statement without a predicateType", path=origin)
        reader = next((r for prefix, r in _PREDICATES.items() if kind == prefix or kind.startswith(prefix + "/")), None)
        if reader is None:
            raise InputError(
                f"in-toto statement of predicateType {kind[:100]!r}: only SPDX and CycloneDX SBOM predicates are read",
                path=origin,
            )
        predicate = statement.get("predicate")
        if not reader.sniff(predicate):
            raise InputError(f"in-toto predicate is not the {reader.name} document its predicateType says", path=origin)
        return reader.parse(predicate, origin)


def _unwrap(envelope: dict[str, Any], origin: str) -> dict[str, Any]:
    payload = envelope.get("payload")
    if envelope.get("payloadType") != _PAYLOAD_TYPE or not isinstance(payload, str):
        raise InputError("DSSE envelope without an in-toto payload", path=origin)
    try:
        statement = orjson.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        raise InputError("DSSE payload is not base64-encoded JSON", path=origin) from None
    if not isinstance(statement, dict) or statement.get("_type") not in _STATEMENTS:
        raise InputError("DSSE payload is not an in-toto statement", path=origin)
    return statement


PARSER = InTotoParser()
