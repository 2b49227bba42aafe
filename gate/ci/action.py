"""The container actions' entrypoint: turns `INPUT_*` variables into `container-gate` arguments, no shell involved.

The image's ENTRYPOINT runs this module. `runs.args` in action.yml selects the action
(`github-action gate` or `github-action remediate`); any other arguments go to the CLI unchanged, so the image
also works as a plain `container-gate` (`docker run IMAGE --version`, `docker run IMAGE gate .`).

The input tables below are plain data: gate never imports remediate, and the remediate flags are reached
through the CLI's argv like any user would. A unit test checks both tables against `gate.cli.build_parser()`.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from gate.errors import ERROR, ConfigError
from gate.options import OUTPUTS

ACTION_MODE = "github-action"


class Kind(Enum):
    """How one input's text becomes arguments."""

    PATHS = "paths"
    """Newline-separated paths and globs, expanded in the workspace; positional arguments."""
    LIST = "list"
    """Newline-separated values; the flag repeated once per value."""
    VALUE = "value"
    """One value; the flag with that value, or nothing when empty."""
    FLAG = "flag"
    """`true` adds the flag, `false` (or empty) does not."""
    TRISTATE = "tristate"
    """`true` adds `--X`, `false` adds `--no-X`, empty adds nothing (keep the command's own default)."""
    ENV = "env"
    """Not an argument: the CLI reads it from the environment itself (the token)."""


@dataclass(frozen=True, slots=True)
class Input:
    """One action input and the CLI option it feeds."""

    name: str
    kind: Kind
    flag: str | None = None
    """The option (`--fail-on`); None for positional paths and environment-only inputs."""
    unless: str | None = None
    """A boolean input that, when true or unset, drops this one (the forge inputs mean nothing in a dry run)."""
    writes: bool = False
    """The value is a file the CLI writes: it must lie inside the workspace."""


GATE_INPUTS: tuple[Input, ...] = (
    Input("paths", Kind.PATHS),
    Input("config", Kind.VALUE, "--config"),
    Input("policy", Kind.LIST, "--policy"),
    Input("namespace", Kind.LIST, "--namespace"),
    Input("all-namespaces", Kind.FLAG, "--all-namespaces"),
    Input("data", Kind.LIST, "--data"),
    Input("inventory", Kind.LIST, "--inventory"),
    Input("fail-on", Kind.VALUE, "--fail-on"),
    Input("only-fixed", Kind.FLAG, "--only-fixed"),
    Input("ignore-file", Kind.LIST, "--ignore-file"),
    Input("license-allowed", Kind.LIST, "--license-allowed"),
    Input("license-forbidden", Kind.LIST, "--license-forbidden"),
    Input("vex", Kind.LIST, "--vex"),
    Input("baseline", Kind.VALUE, "--baseline"),
    Input("kev", Kind.LIST, "--kev"),
    Input("epss", Kind.LIST, "--epss"),
    Input("epss-threshold", Kind.VALUE, "--epss-threshold"),
    *(Input(output.input, Kind.VALUE, output.flag, writes=True) for output in OUTPUTS),
    Input("upload-sarif", Kind.FLAG, "--upload-sarif"),
    Input("token", Kind.ENV),
)

# The forge inputs (pull requests) reach the CLI only when `dry-run` is false; the CLI's default mode is
# the dry run, so an unset `dry-run` is one too.
REMEDIATE_INPUTS: tuple[Input, ...] = (
    Input("paths", Kind.PATHS),
    Input("config", Kind.VALUE, "--config"),
    Input("findings", Kind.LIST, "--findings"),
    Input("kev", Kind.LIST, "--kev"),
    Input("epss", Kind.LIST, "--epss"),
    Input("update", Kind.VALUE, "--update"),
    Input("pin-digest", Kind.TRISTATE, "--pin-digest"),
    Input("registry-mirror", Kind.LIST, "--registry-mirror"),
    Input("require-signature", Kind.FLAG, "--require-signature"),
    Input("cosign-key", Kind.VALUE, "--cosign-key"),
    Input("dry-run", Kind.FLAG, "--dry-run"),
    Input("json", Kind.VALUE, "--json", writes=True),
    Input("forge", Kind.VALUE, "--forge", unless="dry-run"),
    Input("repo", Kind.VALUE, "--repo", unless="dry-run"),
    Input("api-url", Kind.VALUE, "--api-url", unless="dry-run"),
    Input("base-branch", Kind.VALUE, "--base-branch", unless="dry-run"),
    Input("group", Kind.FLAG, "--group", unless="dry-run"),
    Input("labels", Kind.LIST, "--label", unless="dry-run"),
    Input("reviewers", Kind.LIST, "--reviewer", unless="dry-run"),
    Input("assignees", Kind.LIST, "--assignees", unless="dry-run"),
    Input("max-open", Kind.VALUE, "--max-open", unless="dry-run"),
    Input("max-new", Kind.VALUE, "--max-new", unless="dry-run"),
    Input("branch-prefix", Kind.VALUE, "--branch-prefix", unless="dry-run"),
    Input("token", Kind.ENV),
)

COMMANDS: dict[str, tuple[Input, ...]] = {"gate": GATE_INPUTS, "remediate": REMEDIATE_INPUTS}

_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_GLOB_CHARS = frozenset("*?[")


def env_name(name: str) -> str:
    """The variable the runner sets for an input: upper case, spaces to `_`, hyphens kept (`INPUT_FAIL-ON`)."""
    return "INPUT_" + name.replace(" ", "_").upper()


def read_input(env: Mapping[str, str], name: str) -> str:
    """The input's text with surrounding whitespace removed ('' when the runner did not set it)."""
    return env.get(env_name(name), "").strip()


def lines(text: str) -> list[str]:
    """Non-empty, stripped lines of a newline-separated list input."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def boolean(name: str, text: str) -> bool | None:
    """`true`/`false` as YAML 1.2 spells them (like `core.getBooleanInput`); None when empty."""
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"input {name} must be true or false, got {text!r}")


def expand_paths(patterns: Sequence[str], workspace: Path) -> list[str]:
    """Expand globs relative to the workspace (sorted, `**` recursive); plain paths pass through untouched.

    A glob that matches nothing is an error: a typo must not turn into a gate over nothing."""
    paths: list[str] = []
    for pattern in patterns:
        if not _GLOB_CHARS & set(pattern):
            paths.append(pattern)
            continue
        matches = sorted(glob.glob(pattern, root_dir=workspace, recursive=True))
        if not matches:
            raise ConfigError(f"input paths: no file matches {pattern!r} in {workspace}")
        paths.extend(matches)
    return paths


def inside_workspace(name: str, value: str, workspace: Path) -> str:
    """`value` unchanged when the file it names lies inside the workspace; a ConfigError otherwise.

    The folder is resolved (symlinks included), not the file itself: the CLI replaces the file by renaming over
    it, so a symlink in its place is replaced, never followed. Under a root-owned workspace the action stays root,
    and this is what keeps it from writing anywhere else."""
    root = workspace.resolve()
    target = Path(value) if Path(value).is_absolute() else root / value
    if target.name in ("", ".", ".."):
        raise ConfigError(f"input {name}: {value!r} is not a file name")
    folder = target.parent.resolve()
    if folder != root and root not in folder.parents:
        raise ConfigError(f"input {name}: {value!r} lies outside the workspace {root}")
    return value


def _option(item: Input, text: str) -> list[str]:
    """Arguments for one non-positional input; `--flag=value` so a value starting with '-' stays a value."""
    flag = item.flag
    assert flag is not None, item.name
    if item.kind is Kind.VALUE:
        return [f"{flag}={text}"] if text else []
    if item.kind is Kind.LIST:
        return [f"{flag}={value}" for value in lines(text)]
    chosen = boolean(item.name, text)
    if item.kind is Kind.FLAG:
        return [flag] if chosen else []
    if chosen is None:
        return []
    return [flag] if chosen else ["--no-" + flag.removeprefix("--")]


def build_argv(command: str, env: Mapping[str, str], *, workspace: Path) -> list[str]:
    """The CLI argv for `command` from the `INPUT_*` variables in `env`.

    Positional paths come last, after `--`, so a path can never be read as an option."""
    inputs = COMMANDS.get(command)
    if inputs is None:
        raise ConfigError(f"unknown action {command!r} (expected one of: {', '.join(COMMANDS)})")
    argv = [command]
    paths: list[str] = []
    for item in inputs:
        text = read_input(env, item.name)
        if item.unless is not None and boolean(item.unless, read_input(env, item.unless)) is not False:
            continue
        if item.kind is Kind.PATHS:
            paths = expand_paths(lines(text), workspace)
        elif item.kind is not Kind.ENV:
            if item.writes and text:
                inside_workspace(item.name, text, workspace)
            argv += _option(item, text)
    return [*argv, "--", *paths] if paths else argv


def _workspace(env: Mapping[str, str]) -> Path:
    return Path(env.get("GITHUB_WORKSPACE") or os.getcwd())


def run_action(command: str, env: Mapping[str, str]) -> int:
    """Translate the inputs and run the CLI in this process; input errors exit 2 with one line.

    The token is masked first, so that nothing the CLI prints later can reveal it."""
    token = read_input(env, "token")
    if token and env.get("GITHUB_ACTIONS") == "true":
        from gate.ci.github import mask_commands

        sys.stdout.write(mask_commands((token,)))
        sys.stdout.flush()
    try:
        argv = build_argv(command, env, workspace=_workspace(env))
    except ConfigError as exc:
        print(f"container-gate: error: {exc.diagnostics()}", file=sys.stderr)
        return ERROR
    from gate.cli import main as cli_main

    return cli_main(argv)


def take_workspace_owner(env: Mapping[str, str]) -> None:
    """As root, become the workspace's owner (see `gate.ci.privileges`); as anyone else, change nothing."""
    from gate.ci import privileges

    chosen = privileges.plan(euid=os.geteuid(), workspace=_workspace(env), env=env)
    held = privileges.become(chosen)
    if held:
        from gate.ci.github import hold_file_commands

        hold_file_commands(held)


def main(argv: Sequence[str] | None = None) -> int:
    """`github-action COMMAND` runs an action; anything else is a plain CLI call."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [ACTION_MODE]:
        if len(args) != 2:
            print(f"container-gate: error: usage: {ACTION_MODE} {{{','.join(COMMANDS)}}}", file=sys.stderr)
            return ERROR
        return run_action(args[1], os.environ)
    from gate.cli import main as cli_main

    return cli_main(args)


def entrypoint() -> int:
    """The image's ENTRYPOINT: take the workspace owner's identity before any input is read, then `main`."""
    from gate.ci.privileges import PrivilegeError

    try:
        take_workspace_owner(os.environ)
    except PrivilegeError as exc:
        print(f"container-gate: error: {exc}", file=sys.stderr)
        return ERROR
    return main()


if __name__ == "__main__":
    raise SystemExit(entrypoint())
