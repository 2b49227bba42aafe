# Secure pod settings for Kubernetes manifests (Pod Security Standards "restricted" and common hardening).
#
# Usable from container-gate (`--policy builtin:kubernetes`) and from Conftest
# (`conftest test --namespace containergate.kubernetes -p <this folder> manifests/`).
# Every result is an object: `msg` (what is wrong, naming kind/name/container), `id` (stable rule id) and
# `severity`. Exempt a rule with an `exception` in this package, e.g.
#   exception contains rules if { input.metadata.name == "node-exporter"; rules := ["host_namespaces"] }
package containergate.kubernetes

import rego.v1

workload_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.spec.template.spec if input.kind in workload_kinds

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

# Where pod_spec sits, so each finding can name the field it is about (`field`: container-gate shows it at
# that line of the manifest; Conftest keeps it as a plain result key).
pod_path := ["spec"] if input.kind == "Pod"

pod_path := ["spec", "template", "spec"] if input.kind in workload_kinds

pod_path := ["spec", "jobTemplate", "spec", "template", "spec"] if input.kind == "CronJob"

subject := sprintf("%s %s", [input.kind, object.get(input, ["metadata", "name"], "(unnamed)")])

containers contains {"type": "container", "spec": c, "path": array.concat(pod_path, ["containers", i])} if some i, c in pod_spec.containers

containers contains {"type": "initContainer", "spec": c, "path": array.concat(pod_path, ["initContainers", i])} if some i, c in pod_spec.initContainers

containers contains {"type": "ephemeralContainer", "spec": c, "path": array.concat(pod_path, ["ephemeralContainers", i])} if some i, c in pod_spec.ephemeralContainers

label(ct) := sprintf("%s %s", [ct.type, object.get(ct.spec, "name", "(unnamed)")])

finding(id, severity, msg) := {"msg": msg, "id": id, "severity": severity}

finding_at(id, severity, msg, field) := object.union(finding(id, severity, msg), {"field": field})

# A container's own securityContext wins over the pod's (runAsNonRoot, runAsUser, seccompProfile).
effective(ct, field) := value if {
	value := ct.spec.securityContext[field]
} else := value if {
	value := pod_spec.securityContext[field]
}

# (A rule of its own rather than `not effective(...) == true`: OPA evaluates a call under `not` before the `not`,
# so that spelling never fires where the field is unset, the case it is for.)
runs_as_non_root(ct) if effective(ct, "runAsNonRoot") == true

deny_run_as_root contains result if {
	some ct in containers
	not runs_as_non_root(ct)
	result := finding_at("k8s/run-as-non-root", "HIGH", sprintf(
		"%s: %s must set securityContext.runAsNonRoot: true (on the container or the pod)",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "runAsNonRoot"]))
}

deny_run_as_root contains result if {
	some ct in containers
	effective(ct, "runAsUser") == 0
	result := finding_at("k8s/run-as-non-root", "HIGH", sprintf(
		"%s: %s runs as UID 0 (securityContext.runAsUser: 0)",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "runAsNonRoot"]))
}

deny_privilege_escalation contains result if {
	some ct in containers
	object.get(ct.spec, ["securityContext", "allowPrivilegeEscalation"], null) != false
	result := finding_at("k8s/no-privilege-escalation", "HIGH", sprintf(
		"%s: %s must set securityContext.allowPrivilegeEscalation: false",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "allowPrivilegeEscalation"]))
}

deny_writable_root_filesystem contains result if {
	some ct in containers
	object.get(ct.spec, ["securityContext", "readOnlyRootFilesystem"], false) != true
	result := finding_at("k8s/read-only-root-filesystem", "MEDIUM", sprintf(
		"%s: %s must set securityContext.readOnlyRootFilesystem: true",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "readOnlyRootFilesystem"]))
}

drops_all(ct) if {
	some cap in ct.spec.securityContext.capabilities.drop
	upper(cap) == "ALL"
}

deny_capabilities_not_dropped contains result if {
	some ct in containers
	not drops_all(ct)
	result := finding_at("k8s/drop-all-capabilities", "MEDIUM", sprintf(
		"%s: %s must drop all capabilities (securityContext.capabilities.drop: [\"ALL\"])",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "capabilities", "drop"]))
}

deny_capabilities_added contains result if {
	some ct in containers
	some cap in ct.spec.securityContext.capabilities.add
	trim_prefix(upper(cap), "CAP_") != "NET_BIND_SERVICE"
	result := finding_at("k8s/added-capability", "HIGH", sprintf(
		"%s: %s adds capability %s (only NET_BIND_SERVICE may be added)",
		[subject, label(ct), cap],
	), array.concat(ct.path, ["securityContext", "capabilities", "add"]))
}

seccomp_confined(ct) if effective(ct, "seccompProfile").type in {"RuntimeDefault", "Localhost"}

deny_seccomp contains result if {
	some ct in containers
	not seccomp_confined(ct)
	result := finding_at("k8s/seccomp-runtime-default", "MEDIUM", sprintf(
		"%s: %s must run with seccompProfile.type: RuntimeDefault (on the container or the pod)",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "seccompProfile"]))
}

deny_privileged contains result if {
	some ct in containers
	ct.spec.securityContext.privileged == true
	result := finding_at("k8s/privileged", "CRITICAL", sprintf(
		"%s: %s must not run privileged (securityContext.privileged: true)",
		[subject, label(ct)],
	), array.concat(ct.path, ["securityContext", "privileged"]))
}

deny_host_namespaces contains result if {
	some field in ["hostPID", "hostNetwork", "hostIPC"]
	pod_spec[field] == true
	result := finding_at(
		"k8s/host-namespaces", "HIGH", sprintf("%s: must not set %s: true", [subject, field]),
		array.concat(pod_path, [field]),
	)
}

deny_host_path contains result if {
	some v, volume in pod_spec.volumes
	volume.hostPath
	result := finding_at("k8s/host-path", "HIGH", sprintf(
		"%s: volume %s mounts the host path %s",
		[subject, object.get(volume, "name", "(unnamed)"), object.get(volume.hostPath, "path", "(no path)")],
	), array.concat(pod_path, ["volumes", v, "hostPath"]))
}

deny_missing_limits contains result if {
	some ct in containers
	ct.type != "ephemeralContainer" # ephemeral containers cannot declare resources
	some resource in ["cpu", "memory"]
	not ct.spec.resources.limits[resource]
	result := finding_at("k8s/resource-limits", "MEDIUM", sprintf(
		"%s: %s must set resources.limits.%s",
		[subject, label(ct), resource],
	), array.concat(ct.path, ["resources", "limits", resource]))
}

image_tag(image) := tag if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}

deny_image_tag contains result if {
	some ct in containers
	image := ct.spec.image
	not contains(image, "@")
	image_tag(image) == "latest"
	result := finding_at("k8s/image-tag", "MEDIUM", sprintf(
		"%s: %s uses image %s: pin a version tag or a digest instead of latest",
		[subject, label(ct), image],
	), array.concat(ct.path, ["image"]))
}

deny_image_tag contains result if {
	some ct in containers
	image := ct.spec.image
	not contains(image, "@")
	not image_tag(image)
	result := finding_at("k8s/image-tag", "MEDIUM", sprintf(
		"%s: %s uses image %s without a tag, which pulls latest: pin a version tag or a digest",
		[subject, label(ct), image],
	), array.concat(ct.path, ["image"]))
}

deny_namespace_pod_security contains result if {
	input.kind == "Namespace"
	object.get(input, ["metadata", "labels", "pod-security.kubernetes.io/enforce"], "") != "restricted"
	result := finding("k8s/namespace-pod-security", "MEDIUM", sprintf(
		"%s: must carry the label pod-security.kubernetes.io/enforce: restricted (Pod Security Standards)",
		[subject],
	))
}

# audit and warn at the same level make Pod Security Admission say so in the audit log and to kubectl too
# (kubernetes.io/docs/concepts/security/pod-security-admission/#pod-security-admission-labels-for-namespaces).
deny_namespace_pod_security contains result if {
	input.kind == "Namespace"
	some mode in ["audit", "warn"]
	label_key := concat("", ["pod-security.kubernetes.io/", mode])
	object.get(input, ["metadata", "labels", label_key], "") != "restricted"
	result := finding("k8s/namespace-pod-security", "LOW", sprintf(
		"%s: should carry the label %s: restricted, so Pod Security Admission also reports what enforce would reject",
		[subject, label_key],
	))
}
