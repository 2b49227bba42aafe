package containergate.dockerfile_test

import rego.v1

import data.containergate.dockerfile as df

cmd(c, value, stage) := {"Cmd": c, "SubCmd": "", "JSON": false, "Flags": [], "Value": value, "Stage": stage}

good := [
	cmd("from", ["python:3.12-slim", "AS", "build"], 0),
	cmd("run", ["pip install --no-cache-dir -r requirements.txt"], 0),
	cmd("from", ["gcr.io/distroless/python3-debian12:nonroot"], 1),
	cmd("env", ["PASSWORD_FILE", "/run/secrets/db", "=", "GPG_KEY", "A035C8C19219BA821ECEA86B64E628F8D684696D", "="], 1),
	cmd("expose", ["8080"], 1),
	cmd("user", ["65532:65532"], 1),
]


test_good_dockerfile_has_no_findings if {
	count(df.deny_root_user) + count(df.deny_latest_tag) + count(df.deny_add_url) == 0 with input as good
	count(df.deny_curl_pipe_shell) + count(df.deny_secret_env) + count(df.deny_secret_arg) == 0 with input as good
	count(df.deny_sudo) + count(df.deny_expose_ssh) + count(df.deny_chmod_777) == 0 with input as good
}

test_no_user_is_root if {
	{r.id | some r in df.deny_root_user} == {"dockerfile/root-user"} with input as [cmd("from", ["alpine:3.20"], 0)]
}

test_user_root_last_is_root if {
	inp := [cmd("from", ["alpine:3.20"], 0), cmd("user", ["app"], 0), cmd("user", ["0:0"], 0)]
	{r.msg | some r in df.deny_root_user} == {"The final stage runs as root (USER 0:0): switch to a non-root user last"} with input as inp
}

test_user_in_earlier_stage_does_not_count_unless_inherited if {
	other := [cmd("from", ["alpine:3.20", "AS", "build"], 0), cmd("user", ["app"], 0), cmd("from", ["debian:12"], 1)]
	count(df.deny_root_user) == 1 with input as other
	inherited := [cmd("from", ["alpine:3.20", "AS", "base"], 0), cmd("user", ["app"], 0), cmd("from", ["base"], 1)]
	count(df.deny_root_user) == 0 with input as inherited
}

test_scratch_final_stage_not_flagged_for_user if {
	count(df.deny_root_user) == 0 with input as [cmd("from", ["golang:1.22", "AS", "b"], 0), cmd("from", ["scratch"], 1)]
}

test_latest_and_missing_tags if {
	inp := [
		cmd("from", ["node:latest", "AS", "deps"], 0),
		cmd("from", ["ubuntu"], 1),
		cmd("from", ["deps"], 2),
		cmd("from", ["alpine@sha256:abcd"], 3),
		cmd("from", ["registry:5000/team/app:1.0"], 4),
		cmd("from", ["${BASE_IMAGE}"], 5),
		cmd("from", ["scratch"], 6),
	]
	{r.msg | some r in df.deny_latest_tag} == {
		"FROM node:latest uses the latest tag: pin a version tag or a digest",
		"FROM ubuntu has no tag, so it pulls latest: pin a version tag or a digest",
	} with input as inp
}

test_add_url if {
	add := {"Cmd": "add", "SubCmd": "", "JSON": false, "Flags": [], "Value": ["https://example.com/tool.tgz", "/opt/"], "Stage": 0}
	count(df.deny_add_url) == 1 with input as [cmd("from", ["alpine:3.20"], 0), add]
	checked := object.union(add, {"Flags": ["--checksum=sha256:0123"]})
	count(df.deny_add_url) == 0 with input as [cmd("from", ["alpine:3.20"], 0), checked]
	local := object.union(add, {"Value": ["app.tgz", "/opt/"]})
	count(df.deny_add_url) == 0 with input as [cmd("from", ["alpine:3.20"], 0), local]
}

test_curl_pipe_shell if {
	count(df.deny_curl_pipe_shell) == 1 with input as [cmd("from", ["a:1"], 0), cmd("run", ["curl -fsSL https://get.example.com | bash -s --"], 0)]
	count(df.deny_curl_pipe_shell) == 1 with input as [cmd("from", ["a:1"], 0), cmd("run", ["wget -qO- https://x | sudo sh"], 0)]
	count(df.deny_curl_pipe_shell) == 0 with input as [cmd("from", ["a:1"], 0), cmd("run", ["curl -fsSLo /tmp/x https://x && sha256sum -c x.sha && sh /tmp/x"], 0)]
	count(df.deny_curl_pipe_shell) == 0 with input as [cmd("from", ["a:1"], 0), cmd("run", ["curl -s https://x | tar -xz"], 0)]
}

test_secrets_in_env_and_arg if {
	inp := [
		cmd("from", ["a:1"], 0),
		cmd("arg", ["NPM_TOKEN"], 0),
		cmd("arg", ["VERSION=1.0"], 0),
		cmd("env", ["DB_PASSWORD", "hunter2", "=", "APP_PORT", "8080", "="], 0),
		cmd("env", ["API_KEY", "abc", ""], 0),
	]
	{r.msg | some r in df.deny_secret_arg} == {"ARG NPM_TOKEN looks like a secret and is recorded in the image history: use RUN --mount=type=secret instead"} with input as inp
	{r.id | some r in df.deny_secret_env} == {"dockerfile/secret-in-env"} with input as inp
	count(df.deny_secret_env) == 2 with input as inp
}

test_sudo if {
	count(df.deny_sudo) == 1 with input as [cmd("from", ["a:1"], 0), cmd("run", ["apt-get update && sudo apt-get install -y curl"], 0)]
	count(df.deny_sudo) == 0 with input as [cmd("from", ["a:1"], 0), cmd("run", ["apt-get install -y sudo"], 0)]
}

test_expose_ssh if {
	count(df.deny_expose_ssh) == 1 with input as [cmd("from", ["a:1"], 0), cmd("expose", ["80", "22/tcp"], 0)]
	count(df.deny_expose_ssh) == 0 with input as [cmd("from", ["a:1"], 0), cmd("expose", ["2222", "8022"], 0)]
}

test_chmod_777 if {
	count(df.deny_chmod_777) == 1 with input as [cmd("from", ["a:1"], 0), cmd("run", ["chmod -R 777 /app"], 0)]
	count(df.deny_chmod_777) == 0 with input as [cmd("from", ["a:1"], 0), cmd("run", ["chmod 755 /app"], 0)]
}

test_not_a_dockerfile if {
	count(df.deny_root_user) == 0 with input as {"kind": "Deployment"}
}
