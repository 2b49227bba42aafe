"""`container-gate remediate`: argparse wiring, the session and registry client, outputs and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gate.errors import ERROR, ConfigError, GateError, OutputError

if TYPE_CHECKING:
    from remediate.model import FileEdit, Plan
    from remediate.registry import OciRegistryClient

FORGES = ("github", "gitlab", "git")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `remediate` subcommand (the gate's CLI finds this through an entry point)."""
    p = subparsers.add_parser(
        "remediate",
        help="bump Dockerfile base images to the newest allowed tag (and digest)",
        description="Find Dockerfiles, ask the registry for newer base image tags, and print or apply "
        "the edits, or open one PR/MR per update with --forge. Exit 0 done, 1 some forge updates failed, 2 error.",
    )
    p.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="repo roots or Dockerfiles (default .)")
    p.add_argument(
        "--findings",
        action="append",
        default=[],
        metavar="FILE",
        help="Trivy/Grype report of a built image: only bases with fixable OS-package vulnerabilities move",
    )
    p.add_argument(
        "--kev",
        action="append",
        default=[],
        metavar="FILE",
        help="CISA KEV catalog JSON (repeatable): updates that fix listed vulnerabilities go first",
    )
    p.add_argument(
        "--epss",
        action="append",
        default=[],
        metavar="FILE",
        help="FIRST EPSS scores CSV, plain or .gz (repeatable): among the rest, likelier exploits go first",
    )
    p.add_argument("--update", choices=("patch", "minor", "major"), help="how far a tag may move (default minor)")
    p.add_argument(
        "--require-signature",
        action="store_true",
        help="propose only bases whose digest carries a cosign signature (verified with --cosign-key)",
    )
    p.add_argument(
        "--cosign-key", metavar="PUBKEY", help="cosign public key (PEM, ECDSA or RSA) signatures must verify with"
    )
    p.add_argument(
        "--pin-digest",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add (or, with --no-pin-digest, drop) digests; default: keep what the file does",
    )
    p.add_argument(
        "--registry-mirror",
        action="append",
        default=[],
        metavar="HOST=URL",
        help="serve HOST's images from URL (pull-through cache); plain http only to loopback",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="print the plan and a unified diff (the default)")
    mode.add_argument("--write", action="store_true", help="apply the edits to the files in place")
    mode.add_argument(
        "--forge",
        choices=FORGES,
        help="commit each update on its own branch and open or update its PR/MR (git: push branches, no API); "
        "nothing is written to the checkout",
    )
    forge = p.add_argument_group("forge (with --forge; the same keys work under remediate: in the config)")
    forge.add_argument(
        "--repo", metavar="OWNER/NAME|ID|REMOTE", help="default GITHUB_REPOSITORY / CI_PROJECT_ID / origin"
    )
    forge.add_argument(
        "--api-url", metavar="URL", help="default GITHUB_API_URL / CI_API_V4_URL; plain http only to loopback"
    )
    forge.add_argument("--base-branch", metavar="B", help="branch the PRs target (default: the repository's default)")
    forge.add_argument("--group", action="store_true", default=None, help="one branch and PR/MR for all updates")
    forge.add_argument(
        "--labels", "--label", action="append", default=[], metavar="L", help="labels (repeatable or comma-separated)"
    )
    forge.add_argument(
        "--reviewers", "--reviewer", action="append", default=[], metavar="U", help="reviewers (GitLab: user ids)"
    )
    forge.add_argument("--assignees", action="append", default=[], metavar="U", help="assignees (GitLab: user ids)")
    forge.add_argument("--max-open", type=int, metavar="N", help="at most N of our PRs/MRs open at once (default 10)")
    forge.add_argument("--max-new", type=int, metavar="N", help="at most N new PRs/MRs per run (default 2)")
    forge.add_argument("--branch-prefix", metavar="P", help="prefix of our branch names (default container-gate/)")
    p.add_argument("--json", metavar="FILE", help="write the plan as JSON ('-' for stdout)")
    p.add_argument(
        "--config",
        metavar="FILE",
        help="config file with a remediate: section (default: the nearest .container-gate.yml from the first PATH "
        "up to the repository root, as the gate finds it)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, print, and write what was asked; a `GateError` prints one line and returns 2."""
    try:
        return _run(args)
    except GateError as exc:
        print(f"container-gate remediate: {exc.diagnostics()}", file=sys.stderr)
        return ERROR


def _run(args: argparse.Namespace) -> int:
    from gate.config import discover
    from remediate import config as cfg
    from remediate import findings as fnd
    from remediate import render
    from remediate.plan import Options, plan

    found = Path(args.config) if args.config else discover(Path((args.paths or ["."])[0]), cwd=Path.cwd())
    conf = cfg.load(found, required=args.config is not None)
    mirrors = cfg.mirrors_from([*conf.registry_mirrors, *(_mirror_arg(m) for m in args.registry_mirror)])
    if (args.kev or args.epss) and not args.findings:
        raise ConfigError("--kev and --epss rank the vulnerabilities of --findings reports: give --findings too")
    reports = fnd.load([Path(f) for f in args.findings], kev=args.kev, epss=args.epss) if args.findings else None
    options = Options(
        update=args.update or conf.update,
        pin=args.pin_digest if args.pin_digest is not None else conf.pin_digest,
        config=conf,
    )
    client, notes = _registry_client(mirrors)
    if args.cosign_key and not args.require_signature:
        raise ConfigError("--cosign-key verifies the signatures --require-signature asks for: give both")
    if args.require_signature:
        from remediate import signatures

        key = signatures.load_key(Path(args.cosign_key)) if args.cosign_key else None
        if key is None:
            notes.append("--require-signature without --cosign-key: a signature is looked for, not verified")
        options = replace(options, signatures=lambda ref: signatures.checker(client, ref, key))
    try:
        result = plan([Path(p) for p in args.paths], registry=client, findings=reports, options=options)
    finally:
        client.session.close()
    # with `--json -` stdout carries only the JSON document; the readable plan goes to stderr
    human = sys.stderr if args.json == "-" else sys.stdout
    human.write(render.table(result))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if result.edits and not args.write and not args.forge:
        human.write("\n" + render.diff(result))
    if args.json == "-":
        sys.stdout.write(render.json_text(result))
    _write_files(result.edits if args.write else (), args.json if args.json not in (None, "-") else None, result)
    if result.registry_down:
        # nothing could be checked: a nightly run must not pass quietly when its registry is unreachable
        first = next(s for s in result.skipped if s.registry_error)
        print(f"container-gate remediate: no registry lookup succeeded: {first.reason}", file=sys.stderr)
        return ERROR
    if args.forge:
        from remediate.forge.cli import run_forge

        return run_forge(args, conf, result, reports or (), human)
    return 0


def _mirror_arg(text: str) -> tuple[str, str]:
    host, sep, url = text.partition("=")
    if not sep:
        raise ConfigError(f"--registry-mirror {text!r}: expected HOST=URL, e.g. docker.io=http://127.0.0.1:5000")
    return host, url


def _registry_client(mirrors: dict[str, str]) -> tuple[OciRegistryClient, list[str]]:
    from remediate import credentials
    from remediate.registry import Credential, OciRegistryClient, retrying_session

    env = dict(os.environ)
    from_config, notes = credentials.from_docker_config(env)
    from_env = credentials.from_env(env)

    def lookup(host: str) -> Credential | None:
        key = credentials.env_key(host)
        return (from_env.get(key) if key is not None else None) or from_config.get(host)

    return OciRegistryClient(retrying_session(), mirrors=mirrors, credentials=lookup), notes


def _write_files(edits: Sequence[FileEdit], json_path: str | None, result: Plan) -> None:
    """The edited Dockerfiles (keeping their modes) and the JSON plan, published together by the one writer
    (`gate.atomic`): an output that cannot be written leaves every Dockerfile as it was."""
    if not edits and json_path is None:
        return
    from gate.atomic import Staged
    from remediate import render

    with Staged() as staged:
        for edit in edits:
            target = Path(edit.path)
            try:
                mode = target.stat().st_mode & 0o7777
            except OSError as exc:
                raise OutputError(f"cannot write: {exc.strerror}", path=edit.display) from None
            staged.add(target, edit.after, mode=mode)
        if json_path is not None:
            staged.add(Path(json_path), render.json_text(result))
        staged.publish()


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (`python -m remediate`): the same subcommand on its own parser."""
    parser = argparse.ArgumentParser(prog="container-gate")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except Exception as exc:
        if args.debug:
            raise
        print(f"container-gate remediate: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return ERROR
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
