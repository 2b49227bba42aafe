package containergate.kubernetes_cluster_test

import rego.v1

import data.containergate.kubernetes as k8s

deployment(ns, meta) := {
	"apiVersion": "apps/v1",
	"kind": "Deployment",
	"metadata": object.union({"name": "web", "namespace": ns}, meta),
	"spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
}

deny_all(ns) := {
	"apiVersion": "networking.k8s.io/v1",
	"kind": "NetworkPolicy",
	"metadata": {"name": "default-deny", "namespace": ns},
	"spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}

review(objects, istio) := {"objects": objects, "istio": istio}

strict(ns) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "PeerAuthentication",
	"metadata": {"name": "default", "namespace": ns},
	"spec": {"mtls": {"mode": "STRICT"}},
}

test_default_deny_in_the_namespace_satisfies if {
	count(k8s.deny_no_default_deny_network_policy) == 0 with input as deployment("shop", {})
		with data.containergate_review as review([deny_all("shop")], false)
}

test_missing_default_deny_is_reported_on_the_workload if {
	some r in k8s.deny_no_default_deny_network_policy with input as deployment("shop", {})
		with data.containergate_review as review([deny_all("other")], false)
	r.id == "k8s/default-deny-network-policy"
	contains(r.msg, "namespace shop")
}

test_a_policy_with_a_selector_one_direction_or_rules_is_not_default_deny if {
	some bad in [
		object.union(deny_all("shop"), {"spec": {"podSelector": {"matchLabels": {"app": "web"}}}}),
		object.union(deny_all("shop"), {"spec": {"policyTypes": ["Ingress"]}}),
		object.union(deny_all("shop"), {"spec": {"ingress": [{}]}}),
	]
	count(k8s.deny_no_default_deny_network_policy) == 1 with input as deployment("shop", {})
		with data.containergate_review as review([bad], false)
}

test_no_namespace_means_default if {
	unplaced := object.union(deployment("x", {}), {"metadata": {"name": "web"}})
	bare := object.union(object.remove(unplaced, ["metadata"]), {"metadata": {"name": "web"}})
	count(k8s.deny_no_default_deny_network_policy) == 0 with input as bare
		with data.containergate_review as review([deny_all("default")], false)
	count(k8s.deny_no_default_deny_network_policy) == 1 with input as bare
		with data.containergate_review as review([deny_all("shop")], false)
}

test_without_the_review_document_cross_object_rules_are_silent if {
	count(k8s.deny_no_default_deny_network_policy) == 0 with input as deployment("shop", {})
	count(k8s.deny_no_strict_mtls) == 0 with input as deployment("shop", {})
}

test_untrusted_workload_needs_a_sandbox if {
	marked := deployment("shop", {"labels": {"container-gate.io/untrusted": "true"}})
	some r in k8s.deny_untrusted_not_sandboxed with input as marked
	r.id == "k8s/untrusted-sandbox"
	sandboxed := object.union(marked, {"spec": {"template": {"spec": {"runtimeClassName": "gvisor"}}}})
	count(k8s.deny_untrusted_not_sandboxed) == 0 with input as sandboxed
	count(k8s.deny_untrusted_not_sandboxed) == 0 with input as deployment("shop", {})
}

test_the_sandbox_classes_and_marker_are_configurable if {
	marked := deployment("shop", {"annotations": {"example.com/tenant-code": "true"}})
	runsc := object.union(marked, {"spec": {"template": {"spec": {"runtimeClassName": "gvisor"}}}})
	settings := {"kubernetes": {"untrusted_key": "example.com/tenant-code", "sandbox_runtime_classes": ["runsc"]}}
	count(k8s.deny_untrusted_not_sandboxed) == 1 with input as runsc with data.containergate_settings as settings
}

test_istio_namespaces_need_strict_mtls if {
	some r in k8s.deny_no_strict_mtls with input as deployment("shop", {})
		with data.containergate_review as review([], true)
	r.id == "k8s/istio-strict-mtls"
	count(k8s.deny_no_strict_mtls) == 0 with input as deployment("shop", {})
		with data.containergate_review as review([strict("shop")], true)
	count(k8s.deny_no_strict_mtls) == 0 with input as deployment("shop", {})
		with data.containergate_review as review([strict("istio-system")], true)
	permissive := object.union(strict("shop"), {"spec": {"mtls": {"mode": "PERMISSIVE"}}})
	count(k8s.deny_no_strict_mtls) == 1 with input as deployment("shop", {})
		with data.containergate_review as review([permissive], true)
}

test_without_istio_objects_mtls_is_not_asked if {
	count(k8s.deny_no_strict_mtls) == 0 with input as deployment("shop", {})
		with data.containergate_review as review([], false)
}

authz(action, rules) := {
	"apiVersion": "security.istio.io/v1",
	"kind": "AuthorizationPolicy",
	"metadata": {"name": "p", "namespace": "shop"},
	"spec": object.union({"rules": rules}, action),
}

test_an_allow_rule_without_conditions_allows_all if {
	count(k8s.deny_authorization_allows_all) == 1 with input as authz({}, [{}])
	count(k8s.deny_authorization_allows_all) == 1 with input as authz({"action": "ALLOW"}, [{"from": []}])
	count(k8s.deny_authorization_allows_all) == 0 with input as authz({"action": "DENY"}, [{}])
	count(k8s.deny_authorization_allows_all) == 0 with input as authz({}, [{"from": [{"source": {"namespaces": ["shop"]}}]}])
	no_rules := object.union(object.remove(authz({}, []), ["spec"]), {"spec": {}})
	count(k8s.deny_authorization_allows_all) == 0 with input as no_rules
}

test_namespaces_need_audit_and_warn_restricted_too if {
	ns := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}
	lows := [r | some r in k8s.deny_namespace_pod_security with input as ns; r.severity == "LOW"]
	count(lows) == 2
	full := {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {
		"pod-security.kubernetes.io/enforce": "restricted",
		"pod-security.kubernetes.io/audit": "restricted",
		"pod-security.kubernetes.io/warn": "restricted",
	}}}
	count(k8s.deny_namespace_pod_security) == 0 with input as full
}
