"""The command line: argparse, exit codes, and the one place where errors become messages."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from gate import __version__, options
from gate.errors import ERROR, MAX_MESSAGE, GateError
from gate.model import MOST_SEVERE_FIRST

SEVERITIES = (*(s.name for s in MOST_SEVERE_FIRST), "NONE")
PLUGIN_GROUP = "container_gate.commands"


def _add_gate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gate",
        help="judge reports, Dockerfiles and config files; exit 0 pass, 1 blocked, 2 error",
        description="Read Trivy/Grype/Conftest/SARIF/hadolint reports (detected by content), check Dockerfiles, "
        "evaluate Rego policies, and decide one verdict.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="reports, Dockerfiles, config files or folders (default .)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: the nearest .container-gate.yml from the first PATH up to the repository root)",
    )
    p.add_argument(
        "--policy",
        action="append",
        metavar="DIR",
        help="Rego policy folder/file, builtin:NAME, or Gatekeeper ConstraintTemplate/constraint YAML (repeatable)",
    )
    p.add_argument(
        "--inventory",
        action="append",
        metavar="PATH",
        help="Kubernetes objects only for Gatekeeper's data.inventory, never reviewed (repeatable)",
    )
    p.add_argument("--namespace", action="append", metavar="NS", help="Rego namespace, globs allowed (default main)")
    p.add_argument("--all-namespaces", action="store_true", default=False, help="evaluate every Rego namespace")
    p.add_argument("--data", action="append", metavar="FILE", help="JSON/YAML data for Rego policies (repeatable)")
    p.add_argument(
        "--fail-on",
        type=str.upper,
        choices=SEVERITIES,
        default=None,
        help="lowest severity that blocks (default HIGH; NONE never blocks)",
    )
    p.add_argument("--only-fixed", action="store_true", default=False, help="only vulnerabilities with a fix can block")
    p.add_argument(
        "--ignore-file",
        action="append",
        metavar="FILE",
        help=".trivyignore[.yaml], our YAML list, or a Harbor CVE allowlist (system or project JSON)",
    )
    p.add_argument(
        "--license-allowed",
        action="append",
        metavar="ID",
        help="an allowed license (SPDX id or Trivy category); adds to licenses.allowed",
    )
    p.add_argument(
        "--license-forbidden",
        action="append",
        metavar="ID",
        help="a forbidden license (SPDX id or Trivy category); adds to licenses.forbidden",
    )
    p.add_argument("--vex", action="append", metavar="FILE", help="OpenVEX document (repeatable)")
    p.add_argument("--baseline", metavar="FILE", help="an earlier --json result: only new findings can block")
    p.add_argument(
        "--kev",
        action="append",
        metavar="FILE",
        help="CISA KEV catalog JSON (repeatable): listed vulnerabilities block whatever the severity",
    )
    p.add_argument(
        "--epss",
        action="append",
        metavar="FILE",
        help="FIRST EPSS scores CSV, plain or .gz (repeatable); Grype's own EPSS counts without it",
    )
    p.add_argument(
        "--epss-threshold",
        type=_probability,
        metavar="P",
        help="an unsuppressed vulnerability with EPSS >= P (0-1) blocks whatever its severity",
    )
    options.add_arguments(p)
    p.add_argument(
        "--upload-sarif", action="store_true", default=False, help="upload the SARIF to GitHub code scanning"
    )
    p.set_defaults(func=_run_gate)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}")
    return value


def _add_policy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("policy", help="Rego policy tools (Conftest-compatible)")
    psub = p.add_subparsers(dest="policy_command", required=True, metavar="{verify,parse}")
    verify = psub.add_parser("verify", help="run test_ rules in *_test.rego files, like `conftest verify`")
    verify.add_argument("dirs", nargs="+", metavar="DIR")
    verify.add_argument("--data", action="append", metavar="FILE")
    verify.set_defaults(func=_run_verify)
    parse = psub.add_parser(
        "parse",
        help="print the input a policy sees for each FILE, like `conftest parse`",
        description="One FILE: its parsed JSON. Several: one JSON object keyed by each FILE as given "
        "(Conftest's format). --combine: a list of {path, contents}, the input `conftest --combine` evaluates.",
    )
    parse.add_argument("files", nargs="+", metavar="FILE")
    parse.add_argument("--combine", action="store_true", default=False, help="print the files as one combined input")
    parse.set_defaults(func=_run_parse)


def _add_plugins(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Subcommands of other packages (remediate) arrive through entry points: gate never imports them."""
    from importlib.metadata import entry_points

    for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
        try:
            ep.load()(sub)
        except ImportError as exc:
            # A broken plugin must not take the gate down with it; using the command reports why.
            broken = sub.add_parser(ep.name, help=f"(unavailable: {exc})")
            broken.set_defaults(func=_unavailable(ep.name, exc))


def _unavailable(name: str, exc: Exception) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise GateError(f"the {name} command could not be loaded: {exc}")

    return run


BUILTIN_COMMANDS = ("gate", "policy")


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The whole command line; tests compare action.yml inputs and GitLab spec:inputs against it.

    `plugins=False` leaves out entry-point subcommands: discovering them reads every installed
    distribution's metadata (30-40 ms), which a `gate` run does not need."""
    parser = argparse.ArgumentParser(
        prog="container-gate", description="One security gate for container pipelines, and a base-image fixer."
    )
    parser.add_argument("--version", action="version", version=f"container-gate {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{gate,remediate,policy}")
    _add_gate(sub)
    if plugins:
        _add_plugins(sub)
    _add_policy(sub)
    return parser


def _run_gate(args: argparse.Namespace) -> int:
    from gate.run import gate_command

    return gate_command(args, env=os.environ)


def _run_verify(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gate.checks.rego import check as rego

    result = rego.verify(args.dirs, data=[Path(d) for d in args.data or ()])
    _print_to_reader(rego.format_verify(result))
    return 0 if result.ok else 1


def _run_parse(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from gate.checks.rego import check as rego

    # Every file is parsed before anything is printed: a bad one is one error line, not half a document.
    parsed = {name: rego.parse_input(Path(name)) for name in args.files}
    value: object
    if args.combine:
        value = [{"path": name, "contents": doc} for name, doc in parsed.items()]
    elif len(parsed) == 1:
        value = next(iter(parsed.values()))
    else:
        value = dict(sorted(parsed.items()))  # Conftest prints a Go map: keys sorted
    _print_to_reader(json.dumps(value, indent=2))
    return 0


def _print_to_reader(text: str) -> None:
    """Print a command's output; a reader that leaves early (`| head`) ends it quietly, not with a traceback.

    The exit code stays the command's own: under `set -o pipefail` (GitHub's default bash) a reader that
    stopped reading must not fail the step."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Python's documented recipe: stdout onto /dev/null, so the flush at exit cannot raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: exit 0 pass, 1 blocked, 2 for any error (one line, traceback only with --debug)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list == ["--version"]:
        # Answer before argparse and plugin discovery: CI images call this to check the install.
        print(f"container-gate {__version__}")
        return 0
    debug = "--debug" in args_list
    try:
        command = next((a for a in args_list if not a.startswith("-")), None)
        args = build_parser(plugins=command not in BUILTIN_COMMANDS).parse_args(args_list)
        code: int = args.func(args)
        return code
    except GateError as exc:
        if debug:
            _print_traceback()
        print(f"container-gate: error: {exc.diagnostics()}", file=sys.stderr)
        return ERROR
    except KeyboardInterrupt:
        print("container-gate: interrupted", file=sys.stderr)
        return ERROR
    except SystemExit as exc:
        # argparse exits 2 on usage errors already; --help and --version exit 0.
        return int(exc.code) if isinstance(exc.code, int) else ERROR
    except Exception as exc:  # noqa: BLE001 - fail closed: an unexpected error must never look like a pass
        if debug:
            # The traceback, but still exit 2: an escaping exception would exit 1, which means "blocked".
            _print_traceback()
        from gate.console import clean

        detail = clean(str(exc))[:MAX_MESSAGE]
        print(f"container-gate: internal error: {type(exc).__name__}: {detail} (re-run with --debug)", file=sys.stderr)
        return ERROR


def console() -> None:
    """The installed `container-gate` command: `main`, then leave without tearing the heap down (`gate.speed`)."""
    from gate import speed

    speed.exit_now(main())


if __name__ == "__main__":
    raise SystemExit(main())
