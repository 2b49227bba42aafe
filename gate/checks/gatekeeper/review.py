"""Gatekeeper's input for one object (`input.review`, as gator builds it, with the admission operation) and
`data.inventory` over every object of the run (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gate.checks.gatekeeper.match import group_version, is_namespace

ADMISSION_REVIEW = "AdmissionReview"


@dataclass(frozen=True, slots=True)
class Subject:
    """One object to review: the object the constraints match on, the review the templates see, and where it is."""

    obj: dict[str, Any]
    review: dict[str, Any]
    path: str
    line: int | None

    @property
    def label(self) -> str:
        """`Kind/namespace/name` (or `Kind/name`): which object of a file a finding is about."""
        meta = self.obj.get("metadata") or {}
        parts = [str(self.obj.get("kind") or "?"), str(meta.get("namespace") or ""), str(meta.get("name") or "")]
        return "/".join(p for p in parts if p)


def is_object(value: Any) -> bool:
    """A Kubernetes object: a map with apiVersion, kind and metadata."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("apiVersion"), str)
        and isinstance(value.get("kind"), str)
        and isinstance(value.get("metadata"), dict)
    )


def subject(
    value: dict[str, Any], path: str, line: int | None, namespaces: Mapping[str, dict[str, Any]]
) -> Subject | None:
    """The review of an object (operation CREATE, as admission sees a new object), or of an AdmissionReview's
    request as it says (UPDATE, oldObject, userInfo); None for what is neither."""
    if value.get("kind") == ADMISSION_REVIEW and isinstance(value.get("request"), dict):
        request = dict(value["request"])
        obj = request.get("object") if isinstance(request.get("object"), dict) else request.get("oldObject")
        if not isinstance(obj, dict):
            return None
        review = _base(obj, namespaces) | request
        return Subject(obj, review, path, line)
    if not is_object(value):
        return None
    return Subject(value, _base(value, namespaces) | {"operation": "CREATE"}, path, line)


def _base(obj: dict[str, Any], namespaces: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Every key gator's review has, so a template reading `userInfo` or `oldObject` sees what Gatekeeper shows."""
    group, version = group_version(str(obj.get("apiVersion", "")))
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    return {
        "kind": {"group": group, "version": version, "kind": obj.get("kind")},
        "name": meta.get("name") or "",
        "namespace": namespace,
        "namespaceObject": namespaces.get(namespace, {}),
        "object": obj,
        "oldObject": None,
        "operation": "",
        "options": None,
        "resource": {"group": "", "resource": "", "version": ""},
        "uid": "",
        "userInfo": {},
    }


def namespaces_of(objects: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Namespace objects by name."""
    return {str(o["metadata"].get("name")): o for o in objects if is_object(o) and is_namespace(o)}


def inventory(objects: Iterable[Any]) -> dict[str, Any]:
    """Gatekeeper's `data.inventory`: `namespace[ns][apiVersion][kind][name]` for namespaced objects,
    `cluster[apiVersion][kind][name]` for the others (the last of two same-named objects wins, as a sync would)."""
    namespaced: dict[str, Any] = {}
    cluster: dict[str, Any] = {}
    for obj in objects:
        if not is_object(obj) or obj.get("kind") == ADMISSION_REVIEW:
            continue
        meta = obj["metadata"]
        name = str(meta.get("name") or "")
        ns = meta.get("namespace")
        where = namespaced.setdefault(str(ns), {}) if ns else cluster
        where.setdefault(obj["apiVersion"], {}).setdefault(obj["kind"], {})[name] = obj
    return {"cluster": cluster, "namespace": namespaced}
