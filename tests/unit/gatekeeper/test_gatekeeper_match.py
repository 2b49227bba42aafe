"""Gatekeeper's matcher rules (`pkg/mutation/match/match.go` upstream): each criterion alone, then together."""

from __future__ import annotations

from typing import Any

import pytest

from gate.checks.gatekeeper.match import matches


def obj(
    kind: str = "Pod", api: str = "v1", name: str = "web", ns: str | None = "prod", **labels: str
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": api, "kind": kind, "metadata": meta}


PROD = obj("Namespace", name="prod", ns=None, team="a")


@pytest.mark.parametrize(
    ("kinds", "target", "selected"),
    [
        ([{"apiGroups": [""], "kinds": ["Pod"]}], obj(), True),
        ([{"apiGroups": ["apps"], "kinds": ["Pod"]}], obj(), False),
        ([{"apiGroups": ["apps"], "kinds": ["Deployment"]}], obj("Deployment", "apps/v1"), True),
        ([{"apiGroups": ["*"], "kinds": ["*"]}], obj("Ingress", "networking.k8s.io/v1"), True),
        ([{"apiGroups": [""], "kinds": ["Service"]}, {"apiGroups": [""], "kinds": ["Pod"]}], obj(), True),
        ([{"kinds": ["Pod"]}], obj("Pod", "example.com/v1"), True),  # no apiGroups means any group
    ],
)
def test_kinds(kinds: list[dict[str, Any]], target: dict[str, Any], selected: bool) -> None:
    assert matches({"kinds": kinds}, target, PROD)[0] is selected


def test_namespace_globs_prefix_suffix_and_exact() -> None:
    staging = obj(ns="shop-staging")
    assert matches({"namespaces": ["*-staging"]}, staging, None)[0]
    assert matches({"namespaces": ["shop-*"]}, staging, None)[0]
    assert not matches({"namespaces": ["shop"]}, staging, None)[0]
    assert not matches({"excludedNamespaces": ["*-staging"]}, staging, None)[0]
    assert matches({"excludedNamespaces": ["kube-*"]}, staging, None)[0]


def test_a_namespace_is_matched_by_its_own_name_and_cluster_objects_are_never_disqualified() -> None:
    assert matches({"namespaces": ["prod"]}, PROD, None)[0]
    assert not matches({"excludedNamespaces": ["prod"]}, PROD, None)[0]
    role = obj("ClusterRole", "rbac.authorization.k8s.io/v1", ns=None)
    assert matches({"namespaces": ["prod"]}, role, None)[0]
    assert matches({"excludedNamespaces": ["*"]}, role, None)[0]


def test_scope() -> None:
    role = obj("ClusterRole", "rbac.authorization.k8s.io/v1", ns=None)
    assert matches({"scope": "Cluster"}, PROD, None)[0]
    assert matches({"scope": "Cluster"}, role, None)[0]  # the webhook's answer; gator passes an empty Namespace
    assert not matches({"scope": "Cluster"}, obj(), PROD)[0]
    assert matches({"scope": "Namespaced"}, obj(), PROD)[0]
    assert not matches({"scope": "Namespaced"}, PROD, None)[0]
    assert matches({"scope": "cluster"}, obj(), PROD)[0]  # an unknown scope is `*`, as upstream


def expr(op: str, *values: str) -> dict[str, Any]:
    return {"labelSelector": {"matchExpressions": [{"key": "tier", "operator": op, "values": list(values)}]}}


def test_label_selector_operators() -> None:
    web = obj(app="web", tier="front")
    assert matches({"labelSelector": {"matchLabels": {"app": "web"}}}, web, None)[0]
    assert not matches({"labelSelector": {"matchLabels": {"app": "api"}}}, web, None)[0]
    assert matches(expr("In", "front", "back"), web, None)[0]
    assert not matches(expr("NotIn", "front"), web, None)[0]
    assert matches(expr("NotIn", "front"), obj(), None)[0]  # NotIn selects objects without the key
    assert matches(expr("Exists"), web, None)[0]
    assert not matches(expr("DoesNotExist"), web, None)[0]
    assert matches({"labelSelector": {}}, web, None)[0]


def test_namespace_selector_reads_the_namespace_object() -> None:
    selector = {"namespaceSelector": {"matchLabels": {"team": "a"}}}
    assert matches(selector, obj(), PROD)[0]
    assert not matches(selector, obj(), obj("Namespace", name="prod", ns=None, team="b"))[0]
    assert matches(selector, PROD, None)[0]  # a Namespace is matched on its own labels
    assert matches(selector, obj("ClusterRole", "rbac.authorization.k8s.io/v1", ns=None), None)[0]
    selected, problem = matches(selector, obj(ns="elsewhere"), None)
    assert not selected
    assert problem is not None and "elsewhere" in problem


def test_name_glob_and_all_criteria_together() -> None:
    assert matches({"name": "web-*"}, obj(name="web-1"), None)[0]
    assert not matches({"name": "web-*"}, obj(name="api"), None)[0]
    together = {
        "kinds": [{"apiGroups": [""], "kinds": ["Pod"]}],
        "namespaces": ["prod"],
        "labelSelector": {"matchLabels": {"app": "web"}},
        "namespaceSelector": {"matchLabels": {"team": "a"}},
        "name": "web",
    }
    assert matches(together, obj(app="web"), PROD)[0]
    assert not matches(together, obj(app="api"), PROD)[0]
    assert not matches(together, obj("Service", app="web"), PROD)[0]
