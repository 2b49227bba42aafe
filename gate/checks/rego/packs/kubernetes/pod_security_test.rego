package containergate.kubernetes_test

import rego.v1

import data.containergate.kubernetes as k8s

secure_container := {
	"name": "app",
	"image": "registry.example.com/app:1.2.3",
	"resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
	"securityContext": {
		"allowPrivilegeEscalation": false,
		"readOnlyRootFilesystem": true,
		"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
	},
}

secure_pod_spec := {
	"securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
	"containers": [secure_container],
}

with_containers(cs) := object.union(secure_pod_spec, {"containers": cs})

deployment(spec) := {"kind": "Deployment", "metadata": {"name": "web"}, "spec": {"template": {"spec": spec}}}



test_secure_deployment_passes if {
	count(k8s.deny_run_as_root) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_privilege_escalation) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_writable_root_filesystem) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_capabilities_not_dropped) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_capabilities_added) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_seccomp) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_missing_limits) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_image_tag) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_host_namespaces) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_host_path) == 0 with input as deployment(secure_pod_spec)
	count(k8s.deny_privileged) == 0 with input as deployment(secure_pod_spec)
}

test_run_as_non_root_missing if {
	spec := object.union(secure_pod_spec, {"securityContext": {"runAsNonRoot": false}})
	{r.msg | some r in k8s.deny_run_as_root} == {"Deployment web: container app must set securityContext.runAsNonRoot: true (on the container or the pod)"} with input as deployment(spec)
}

test_container_overrides_pod_run_as_non_root if {
	spec := with_containers([object.union(secure_container, {"securityContext": {"runAsNonRoot": false}})])
	count(k8s.deny_run_as_root) == 1 with input as deployment(spec)
}

test_container_level_run_as_non_root_is_enough if {
	c := object.union(secure_container, {"securityContext": {"runAsNonRoot": true}})
	spec := {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [c]}
	count(k8s.deny_run_as_root) == 0 with input as deployment(spec)
}

test_run_as_uid_zero if {
	spec := with_containers([object.union(secure_container, {"securityContext": {"runAsUser": 0}})])
	"Deployment web: container app runs as UID 0 (securityContext.runAsUser: 0)" in {r.msg | some r in k8s.deny_run_as_root} with input as deployment(spec)
}

test_privilege_escalation_and_readonly_and_caps if {
	spec := {"securityContext": secure_pod_spec.securityContext, "containers": [{"name": "bad", "image": "x:1", "resources": secure_container.resources, "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}
	count(k8s.deny_privilege_escalation) == 1 with input as deployment(spec)
	count(k8s.deny_writable_root_filesystem) == 1 with input as deployment(spec)
	count(k8s.deny_capabilities_not_dropped) == 1 with input as deployment(spec)
	{r.msg | some r in k8s.deny_capabilities_added} == {"Deployment web: container bad adds capability SYS_ADMIN (only NET_BIND_SERVICE may be added)"} with input as deployment(spec)
}

test_seccomp_from_pod_or_container if {
	no_pod := {"containers": [secure_container], "securityContext": {"runAsNonRoot": true}}
	count(k8s.deny_seccomp) == 1 with input as deployment(no_pod)
	c := object.union(secure_container, {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}})
	count(k8s.deny_seccomp) == 0 with input as deployment({"containers": [c], "securityContext": {"runAsNonRoot": true}})
	unconfined := object.union(secure_pod_spec, {"securityContext": {"seccompProfile": {"type": "Unconfined"}}})
	count(k8s.deny_seccomp) == 1 with input as deployment(unconfined)
}

test_host_settings if {
	spec := object.union(secure_pod_spec, {"hostNetwork": true, "hostIPC": true, "volumes": [{"name": "sock", "hostPath": {"path": "/var/run/docker.sock"}}]})
	{r.msg | some r in k8s.deny_host_namespaces} == {"Deployment web: must not set hostNetwork: true", "Deployment web: must not set hostIPC: true"} with input as deployment(spec)
	{r.msg | some r in k8s.deny_host_path} == {"Deployment web: volume sock mounts the host path /var/run/docker.sock"} with input as deployment(spec)
}

test_privileged if {
	spec := with_containers([object.union(secure_container, {"securityContext": {"privileged": true}})])
	count(k8s.deny_privileged) == 1 with input as deployment(spec)
}

test_limits_missing if {
	c := object.union(object.remove(secure_container, ["resources"]), {"resources": {"limits": {"memory": "1Gi"}}})
	spec := with_containers([c])
	{r.msg | some r in k8s.deny_missing_limits} == {"Deployment web: container app must set resources.limits.cpu"} with input as deployment(spec)
}

test_image_tags if {
	latest := object.union(secure_container, {"image": "nginx:latest"})
	untagged := object.union(secure_container, {"image": "registry:5000/team/nginx"})
	digest := object.union(secure_container, {"image": "nginx@sha256:0123"})
	spec := with_containers([latest, untagged, digest])
	count(k8s.deny_image_tag) == 2 with input as deployment(spec)
}

test_init_and_ephemeral_containers_checked if {
	bare := {"name": "init", "image": "busybox:1.36"}
	spec := object.union(secure_pod_spec, {"initContainers": [bare], "ephemeralContainers": [object.union(bare, {"name": "debug"})]})
	{r.msg | some r in k8s.deny_privilege_escalation} == {
		"Deployment web: initContainer init must set securityContext.allowPrivilegeEscalation: false",
		"Deployment web: ephemeralContainer debug must set securityContext.allowPrivilegeEscalation: false",
	} with input as deployment(spec)
	# ephemeral containers cannot declare resources, so only the init container is asked for limits
	count(k8s.deny_missing_limits) == 2 with input as deployment(spec)
}

test_pod_and_cronjob_shapes if {
	pod := {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
	count(k8s.deny_run_as_root) == 1 with input as pod
	cron := {"kind": "CronJob", "metadata": {"name": "nightly"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}}}
	msgs := {r.msg | some r in k8s.deny_run_as_root with input as cron}
	msgs == {"CronJob nightly: container c must set securityContext.runAsNonRoot: true (on the container or the pod)"}
}

test_other_kinds_ignored if {
	count(k8s.deny_run_as_root) == 0 with input as {"kind": "Service", "metadata": {"name": "s"}, "spec": {}}
}

enforce_results(ns) := [r | some r in k8s.deny_namespace_pod_security with input as ns; r.severity == "MEDIUM"]

test_namespace_label if {
	count(enforce_results({"kind": "Namespace", "metadata": {"name": "team"}})) == 1
	count(enforce_results({"kind": "Namespace", "metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "baseline"}}})) == 1
	count(enforce_results({"kind": "Namespace", "metadata": {"name": "team", "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}})) == 0
}
