# Cluster hardening that needs more than one object: a workload's partners (its namespace's default-deny
# NetworkPolicy, Istio's strict mTLS) and the sandbox a workload marked untrusted must run in.
#
# container-gate hands every policy the run's partner objects as `data.containergate_review` (NetworkPolicies,
# PeerAuthentications and AuthorizationPolicies among all inputs, and whether any Istio object is there), so
# a Deployment in one file is judged with the NetworkPolicy in another. Without that document (plain Conftest)
# the cross-object rules stay silent rather than flag every workload.
#
# Settings (optional), as Rego data (`--data settings.yaml`):
#   containergate_settings:
#     kubernetes:
#       sandbox_runtime_classes: [gvisor, kata]        # RuntimeClass names that sandbox a pod
#       untrusted_key: container-gate.io/untrusted     # label or annotation that marks a workload untrusted ("true")
#       istio_root_namespace: istio-system             # where a mesh-wide PeerAuthentication lives
package containergate.kubernetes

import rego.v1

default sandbox_runtime_classes := {"gvisor", "kata"}

sandbox_runtime_classes := classes if {
	configured := data.containergate_settings.kubernetes.sandbox_runtime_classes
	is_array(configured)
	classes := {c | some c in configured}
}

default untrusted_key := "container-gate.io/untrusted"

untrusted_key := data.containergate_settings.kubernetes.untrusted_key if {
	is_string(data.containergate_settings.kubernetes.untrusted_key)
}

default istio_root_namespace := "istio-system"

istio_root_namespace := data.containergate_settings.kubernetes.istio_root_namespace if {
	is_string(data.containergate_settings.kubernetes.istio_root_namespace)
}

# Kubernetes puts an object without metadata.namespace into `default`.
object_namespace(obj) := object.get(obj, ["metadata", "namespace"], "default")

review_objects := data.containergate_review.objects if is_array(data.containergate_review.objects)

empty_selector(selector) if {
	count(object.get(selector, "matchLabels", {})) == 0
	count(object.get(selector, "matchExpressions", [])) == 0
}

# A default-deny policy selects every pod of its namespace, covers both directions and allows nothing
# (kubernetes.io/docs/concepts/services-networking/network-policies/#default-policies).
default_deny(np) if {
	np.kind == "NetworkPolicy"
	empty_selector(object.get(np, ["spec", "podSelector"], {}))
	types := {t | some t in object.get(np, ["spec", "policyTypes"], [])}
	"Ingress" in types
	"Egress" in types
	count(object.get(np, ["spec", "ingress"], [])) == 0
	count(object.get(np, ["spec", "egress"], [])) == 0
}

has_default_deny(ns) if {
	some np in review_objects
	object_namespace(np) == ns
	default_deny(np)
}

deny_no_default_deny_network_policy contains result if {
	pod_spec
	ns := object_namespace(input)
	review_objects
	not has_default_deny(ns)
	result := finding("k8s/default-deny-network-policy", "MEDIUM", sprintf(
		"%s: namespace %s has no default-deny NetworkPolicy among the inputs (podSelector: {}, policyTypes: [Ingress, Egress], no rules)",
		[subject, ns],
	))
}

pod_metadata := input.metadata if input.kind == "Pod"

pod_metadata := object.get(input, ["spec", "template", "metadata"], {}) if input.kind in workload_kinds

pod_metadata := object.get(input, ["spec", "jobTemplate", "spec", "template", "metadata"], {}) if input.kind == "CronJob"

untrusted if {
	some meta in [object.get(input, "metadata", {}), pod_metadata]
	some where in ["labels", "annotations"]
	object.get(meta, [where, untrusted_key], "") == "true"
}

# gVisor and Kata run the pod behind their own kernel boundary; RuntimeClass selects them
# (kubernetes.io/docs/concepts/containers/runtime-class/).
deny_untrusted_not_sandboxed contains result if {
	pod_spec
	untrusted
	not object.get(pod_spec, "runtimeClassName", "") in sandbox_runtime_classes
	result := finding_at("k8s/untrusted-sandbox", "HIGH", sprintf(
		"%s: is marked %s but its runtimeClassName is %s, not a sandboxed class (%s)",
		[
			subject, untrusted_key, object.get(pod_spec, "runtimeClassName", "(unset)"),
			concat(", ", sort([c | some c in sandbox_runtime_classes])),
		],
	), array.concat(pod_path, ["runtimeClassName"]))
}

istio_in_review if data.containergate_review.istio == true

istio_security(obj) if startswith(object.get(obj, "apiVersion", ""), "security.istio.io/")

# A PeerAuthentication without a selector applies to its whole namespace, or to the mesh from the root
# namespace (istio.io/latest/docs/reference/config/security/peer_authentication/).
strict_mtls(ns) if {
	some pa in review_objects
	pa.kind == "PeerAuthentication"
	istio_security(pa)
	object_namespace(pa) in {ns, istio_root_namespace}
	not pa.spec.selector
	pa.spec.mtls.mode == "STRICT"
}

deny_no_strict_mtls contains result if {
	pod_spec
	istio_in_review
	ns := object_namespace(input)
	not strict_mtls(ns)
	result := finding("k8s/istio-strict-mtls", "HIGH", sprintf(
		"%s: namespace %s has no PeerAuthentication with mtls.mode STRICT (namespace-wide, or mesh-wide in %s) among the inputs",
		[subject, ns, istio_root_namespace],
	))
}

# An ALLOW rule with no from, to or when matches every request
# (istio.io/latest/docs/reference/config/security/authorization-policy/).
allows_everything(rule) if {
	count(object.get(rule, "from", [])) == 0
	count(object.get(rule, "to", [])) == 0
	count(object.get(rule, "when", [])) == 0
}

deny_authorization_allows_all contains result if {
	input.kind == "AuthorizationPolicy"
	istio_security(input)
	object.get(input, ["spec", "action"], "ALLOW") == "ALLOW"
	some i, rule in object.get(input, ["spec", "rules"], [])
	allows_everything(rule)
	result := finding_at("k8s/istio-allow-all", "HIGH", sprintf(
		"%s: rule %d allows every request (no from, to or when)",
		[subject, i],
	), ["spec", "rules", i])
}
