# Core Dockerfile security rules over Conftest's Dockerfile input (a flat list of commands with
# Cmd, SubCmd, JSON, Flags, Value, Stage), for container-gate (`--policy builtin:dockerfile`) and Conftest
# (`conftest test --namespace containergate.dockerfile -p <this folder> Dockerfile`).
# Every result is an object with `msg`, a stable `id`, `severity` and the equivalent hadolint/Trivy ids.
package containergate.dockerfile

import rego.v1

is_dockerfile if {
	is_array(input)
	some command in input
	command.Cmd == "from"
}

finding(id, severity, msg, equivalent) := {"msg": msg, "id": id, "severity": severity, "equivalent": equivalent}

commands contains [i, command] if {
	is_dockerfile
	some i, command in input
}

# The shell text of a RUN, in shell form or JSON (exec) form.
run_text(command) := concat(" ", command.Value) if command.Cmd == "run"

final_stage := stage if {
	is_dockerfile
	stages := [c.Stage | some c in input]
	stage := max(stages)
}

stage_names[name] := command.Stage if {
	some [_, command] in commands
	command.Cmd == "from"
	count(command.Value) >= 3
	upper(command.Value[1]) == "AS"
	name := lower(command.Value[2])
}

from_image(stage) := command.Value[0] if {
	some [_, command] in commands
	command.Cmd == "from"
	command.Stage == stage
}

last_user(stage) := users[count(users) - 1] if {
	users := [command.Value[0] | some [_, command] in commands; command.Cmd == "user"; command.Stage == stage]
	count(users) > 0
}

root_user(user) if lower(split(user, ":")[0]) in {"root", "0"}

# The final stage's user: its own last USER, else the last USER of the stage it is built FROM.
final_user := user if {
	user := last_user(final_stage)
} else := user if {
	parent := stage_names[lower(from_image(final_stage))]
	user := last_user(parent)
}

deny_root_user contains result if {
	is_dockerfile
	not final_user
	from_image(final_stage) != "scratch"
	result := finding("dockerfile/root-user", "HIGH", "The final stage has no USER instruction, so the container runs as root: add USER with a non-root user", ["DL3002", "DS-0002"])
}

deny_root_user contains result if {
	root_user(final_user)
	result := finding("dockerfile/root-user", "HIGH", sprintf("The final stage runs as root (USER %s): switch to a non-root user last", [final_user]), ["DL3002", "DS-0002"])
}

image_tag(image) := tag if {
	parts := split(image, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	tag := split(last, ":")[1]
}

external_image(image) if {
	lower(image) != "scratch"
	not stage_names[lower(image)]
	not contains(image, "$") # set through an ARG: the tag is not known here
	not contains(image, "@")
}

deny_latest_tag contains result if {
	some [_, command] in commands
	command.Cmd == "from"
	image := command.Value[0]
	external_image(image)
	image_tag(image) == "latest"
	result := finding("dockerfile/latest-tag", "MEDIUM", sprintf("FROM %s uses the latest tag: pin a version tag or a digest", [image]), ["DL3007", "DS-0001"])
}

deny_latest_tag contains result if {
	some [_, command] in commands
	command.Cmd == "from"
	image := command.Value[0]
	external_image(image)
	not image_tag(image)
	result := finding("dockerfile/latest-tag", "MEDIUM", sprintf("FROM %s has no tag, so it pulls latest: pin a version tag or a digest", [image]), ["DL3006", "DS-0001"])
}

deny_add_url contains result if {
	some [_, command] in commands
	command.Cmd == "add"
	not checksum_given(command)
	some source in array.slice(command.Value, 0, count(command.Value) - 1)
	regex.match(`^(?i)https?://`, source)
	result := finding("dockerfile/add-url", "MEDIUM", sprintf("ADD downloads %s without verifying it: fetch it in a RUN with a checksum check, or use ADD --checksum", [source]), ["DL3020", "DS-0005"])
}

checksum_given(command) if {
	some flag in command.Flags
	startswith(flag, "--checksum=")
}

deny_curl_pipe_shell contains result if {
	some [_, command] in commands
	text := run_text(command)
	regex.match(`(curl|wget)\b[^|;&]*\|\s*(sudo\s+)?(\S*/)?(ba|da|z|k|a)?sh\b`, text)
	result := finding("dockerfile/curl-pipe-shell", "HIGH", sprintf("RUN pipes a download straight into a shell: %s", [text]), ["DL4006"])
}

secret_name(name) if {
	regex.match(`(?i)(passw(or)?d|secret|token|api_?key|access_?key|private_?key|auth_?key|credential)`, name)
	not regex.match(`(?i)_(file|path|dir|url)$`, name)
}

env_pairs(command) := [[command.Value[i], command.Value[i + 1]] |
	some i in numbers.range(0, count(command.Value) - 1)
	i % 3 == 0
]

deny_secret_env contains result if {
	some [_, command] in commands
	command.Cmd == "env"
	some [name, value] in env_pairs(command)
	secret_name(name)
	value != ""
	result := finding("dockerfile/secret-in-env", "HIGH", sprintf("ENV %s looks like a secret and stays in the image: pass it with RUN --mount=type=secret instead", [name]), ["DS-0031"])
}

deny_secret_arg contains result if {
	some [_, command] in commands
	command.Cmd == "arg"
	some word in command.Value
	name := split(word, "=")[0]
	secret_name(name)
	result := finding("dockerfile/secret-in-arg", "HIGH", sprintf("ARG %s looks like a secret and is recorded in the image history: use RUN --mount=type=secret instead", [name]), ["DS-0031"])
}

deny_sudo contains result if {
	some [_, command] in commands
	text := run_text(command)
	regex.match(`(^|&&|\|\||;|\|)\s*sudo\s`, text)
	result := finding("dockerfile/sudo", "MEDIUM", sprintf("RUN uses sudo: %s (the build already runs as the USER in effect; switch USER instead)", [text]), ["DL3004"])
}

deny_chmod_777 contains result if {
	some [_, command] in commands
	text := run_text(command)
	regex.match(`chmod\s+(-[a-zA-Z]+\s+)*0?777\b`, text)
	result := finding("dockerfile/chmod-777", "MEDIUM", sprintf("RUN makes files world-writable: %s", [text]), [])
}

deny_expose_ssh contains result if {
	some [_, command] in commands
	command.Cmd == "expose"
	some port in command.Value
	split(port, "/")[0] == "22"
	result := finding("dockerfile/expose-ssh", "MEDIUM", "EXPOSE 22 publishes SSH: do not run an SSH server in a container", ["DL3011", "DS-0004"])
}
