package main

import rego.v1

test_root_is_denied if {
	count(deny) == 1 with input as {"kind": "Deployment", "metadata": {"name": "app"}, "spec": {"template": {"spec": {}}}}
}

test_non_root_passes if {
	count(deny) == 0 with input as {
		"kind": "Deployment", "metadata": {"name": "app"},
		"spec": {"template": {"spec": {"securityContext": {"runAsNonRoot": true}}}},
	}
}
