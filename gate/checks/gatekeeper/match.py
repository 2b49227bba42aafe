"""Which Kubernetes objects a Gatekeeper constraint's `spec.match` selects (pure).

The rules are Gatekeeper's own (`pkg/mutation/match`, shared by validation and the gator CLI): every criterion
given must hold; kinds by API group and kind with `*`; `scope` `Cluster`/`Namespaced` (anything else is `*`);
`namespaces`/`excludedNamespaces` with prefix or suffix globs, tested against a Namespace's own name, else the
object's namespace, and never disqualifying a cluster-scoped object; `labelSelector` on the object's labels;
`namespaceSelector` on the labels of the object's Namespace (the object itself when it is one; cluster-scoped
objects always pass); `name` with a prefix or suffix glob."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

WILDCARD = "*"


def group_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def is_namespace(obj: Mapping[str, Any]) -> bool:
    return obj.get("kind") == "Namespace" and group_version(str(obj.get("apiVersion", "")))[0] == ""


def matches(
    match: Mapping[str, Any], obj: Mapping[str, Any], namespace: Mapping[str, Any] | None
) -> tuple[bool, str | None]:
    """(selected, problem): `namespace` is the object's Namespace when it is among the objects read. A
    `namespaceSelector` on a namespaced object whose Namespace is unknown is not selected, with the reason."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    ns_name = str(meta.get("namespace") or "")
    own = is_namespace(obj)
    checks = (
        _kinds(match.get("kinds"), obj),
        _scope(match.get("scope"), own, bool(ns_name) or namespace is not None),
        _namespaces(match.get("namespaces"), obj, own, ns_name, wanted=True),
        _namespaces(match.get("excludedNamespaces"), obj, own, ns_name, wanted=False),
        _selector(match.get("labelSelector"), _labels(obj)),
        _glob(str(match["name"]), str(meta.get("name") or "")) if match.get("name") else True,
    )
    if not all(checks):
        return False, None
    selector = match.get("namespaceSelector")
    if selector is None or (not own and not ns_name and namespace is None):
        return True, None
    if own:
        return _selector(selector, _labels(obj)), None
    if namespace is None:
        return False, f"namespaceSelector needs the Namespace {ns_name!r}, which is not among the objects read"
    return _selector(selector, _labels(namespace)), None


def _labels(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return labels if isinstance(labels, Mapping) else {}


def _kinds(kinds: Any, obj: Mapping[str, Any]) -> bool:
    if not kinds:
        return True
    group = group_version(str(obj.get("apiVersion", "")))[0]
    kind = obj.get("kind")
    for entry in kinds if isinstance(kinds, Sequence) else ():
        if not isinstance(entry, Mapping):
            continue
        names = entry.get("kinds") or []
        groups = entry.get("apiGroups") or []
        if (not names or WILDCARD in names or kind in names) and (not groups or WILDCARD in groups or group in groups):
            return True
    return False


def _scope(scope: Any, own: bool, has_namespace: bool) -> bool:
    if scope == "Cluster":
        return own or not has_namespace
    if scope == "Namespaced":
        return not own and has_namespace
    return True


def _namespaces(patterns: Any, obj: Mapping[str, Any], own: bool, ns_name: str, *, wanted: bool) -> bool:
    if not patterns:
        return True
    name = str((obj.get("metadata") or {}).get("name") or "") if own else ns_name
    if not own and not ns_name:
        return True  # a cluster-scoped object: no namespace to disqualify it
    hit = any(_glob(str(p), name) for p in patterns if isinstance(p, str))
    return hit if wanted else not hit


def _glob(pattern: str, value: str) -> bool:
    """Gatekeeper's Wildcard: `kube-*` is a prefix, `*-system` a suffix, `*x*` a substring, else the exact name."""
    if len(pattern) > 1 and pattern.startswith(WILDCARD) and pattern.endswith(WILDCARD):
        return pattern[1:-1] in value
    if pattern.startswith(WILDCARD):
        return value.endswith(pattern[1:])
    if pattern.endswith(WILDCARD):
        return value.startswith(pattern[:-1])
    return pattern == value


def _selector(selector: Any, labels: Mapping[str, Any]) -> bool:
    """A Kubernetes LabelSelector: `matchLabels` and every `matchExpressions` entry (In, NotIn, Exists,
    DoesNotExist); an empty selector selects everything."""
    if selector is None:
        return True
    if not isinstance(selector, Mapping):
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or ():
        if not isinstance(expression, Mapping):
            return False
        key, op = str(expression.get("key")), expression.get("operator")
        values = expression.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            return False
    return True
