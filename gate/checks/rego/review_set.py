"""The run's partner objects for cross-object Kubernetes rules (`data.containergate_review`): NetworkPolicies,
Istio PeerAuthentications and AuthorizationPolicies among every input, and whether any Istio object is there.

Only files whose bytes name one of those kinds (or Istio's API group) are parsed a second time, so a run
without them pays a substring search per file; each partner keeps only what the rules read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gate.errors import InputError

KEY = "containergate_review"
_PARTNERS = {"NetworkPolicy", "PeerAuthentication", "AuthorizationPolicy"}
_MARKERS = (b"NetworkPolicy", b"istio.io/")
_STRUCTURED = (".yaml", ".yml", ".json")


def uses_review_set(sources: Sequence[str]) -> bool:
    """Whether any policy text reads the partner document."""
    return any(KEY in source for source in sources)


def review_set(inputs: Sequence[Path]) -> dict[str, Any]:
    """`{"objects": [...], "istio": bool}` over every structured input; a file the engine will refuse anyway is
    left for that error, so the message names it once, where it is evaluated."""
    from gate.checks.rego.documents import load_documents

    objects: list[dict[str, Any]] = []
    istio = False
    for path in inputs:
        if path.suffix.lower() not in _STRUCTURED:
            continue
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        if not any(marker in raw for marker in _MARKERS):
            continue
        try:
            documents = load_documents(path)
        except InputError:
            continue
        for document in documents:
            value = document.value
            if not isinstance(value, dict):
                continue
            api = value.get("apiVersion")
            istio = istio or (isinstance(api, str) and ".istio.io/" in api)
            if value.get("kind") in _PARTNERS:
                objects.append(_partner(value))
    return {"objects": objects, "istio": istio}


def _partner(value: dict[str, Any]) -> dict[str, Any]:
    meta = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    return {
        "apiVersion": value.get("apiVersion"),
        "kind": value.get("kind"),
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace") or "default"},
        "spec": value.get("spec") if isinstance(value.get("spec"), dict) else {},
    }
