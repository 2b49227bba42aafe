"""The `gate` command: read every input, apply the policy, write every output, return the exit code."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from gate import __version__
from gate.console import clean
from gate.emit.base import EmitContext, Emitter, ImageAnchor
from gate.errors import BLOCKED, ERROR, PASS, GateError, InputError, OutputError, OwnOutputError
from gate.gcpause import collector_paused
from gate.inputs import Inputs, collect, refuse_overwrites
from gate.model import Decision, Report, Severity, Skipped, Verdict, image_key
from gate.policy.config import DEFAULT_FILE, GateConfig, discover, load_config
from gate.policy.verdict import Policy, evaluate

if TYPE_CHECKING:  # the parser is imported only when a Dockerfile is among the inputs
    from gate.dockerfile import Dockerfile

OUTPUT_FLAGS = {"sarif": "sarif", "gitlab_report": "gitlab", "codequality": "codequality", "json": "json"}


@dataclass(frozen=True, slots=True)
class Settings:
    """Flags merged over the config file over the defaults (flags win)."""

    fail_on: Severity | None
    only_fixed: bool
    ignore_files: tuple[str, ...]
    vex: tuple[str, ...]
    baseline: str | None
    policy: tuple[str, ...]
    namespaces: tuple[str, ...]
    all_namespaces: bool
    data: tuple[str, ...]


def _fail_on(text: str) -> Severity | None:
    return None if text.upper() == "NONE" else Severity[text.upper()]


def merge(args: argparse.Namespace, config: GateConfig) -> Settings:
    """Combine flags and file; lists from both are joined, scalars from flags win."""
    fail_on = args.fail_on or config.fail_on or "HIGH"
    return Settings(
        fail_on=_fail_on(fail_on),
        only_fixed=bool(args.only_fixed or config.only_fixed),
        ignore_files=tuple(args.ignore_file or ()) + config.ignore_files,
        vex=tuple(args.vex or ()) + config.vex,
        baseline=args.baseline or config.baseline,
        policy=tuple(args.policy or ()) + config.policy,
        namespaces=tuple(args.namespace or ()) or config.namespace or ("main",),
        all_namespaces=bool(args.all_namespaces or config.all_namespaces),
        data=tuple(args.data or ()) + config.data,
    )


def read_config(args: argparse.Namespace) -> GateConfig:
    """The config named by `--config`, else the `.container-gate.yml` that governs the first PATH (see
    `gate.policy.config.discover`), else defaults."""
    if args.config:
        return load_config(Path(args.config))
    found = discover(Path((args.paths or ["."])[0]), cwd=Path.cwd())
    return load_config(found) if found is not None else GateConfig()


def build_policy(settings: Settings, config: GateConfig) -> Policy:
    """Load ignore files, VEX documents and the baseline named by the settings."""
    from gate.policy import ignores

    entries = ignores.from_config(config.ignores, config.path or DEFAULT_FILE)
    for name in settings.ignore_files:
        entries += ignores.read_ignore_file(Path(name))
    suppressors: tuple[Any, ...] = ()
    if settings.vex:
        from gate.policy.vex import load_vex_rules

        suppressors = load_vex_rules([Path(v) for v in settings.vex])
    baseline = frozenset[str]()
    if settings.baseline:
        from gate.policy.baseline import read_baseline

        baseline = read_baseline(Path(settings.baseline))
    return Policy(
        fail_on=settings.fail_on,
        only_fixed=settings.only_fixed,
        ignores=entries,
        suppressors=suppressors,
        baseline=baseline,
        budgets=dict(config.budgets),
    )


def parse_dockerfiles(paths: Sequence[Path]) -> dict[Path, Dockerfile]:
    """Each Dockerfile parsed once: the built-in checks and the SARIF anchors both use the model."""
    if not paths:
        return {}  # a report alone: no Dockerfile parser to import
    from gate import dockerfile

    return {path: dockerfile.parse_file(path) for path in paths}


def read_reports(
    inputs: Inputs,
    settings: Settings,
    config: GateConfig,
    dockerfiles: Mapping[Path, Dockerfile],
    notes: list[str] | None = None,
) -> list[Report]:
    """Every report, Dockerfile check and Rego evaluation the inputs call for (each file read once);
    what the run should tell the user besides findings is appended to `notes`."""
    from gate.ingest import load_report

    reports: list[Report] = []
    rego_json: list[Path] = []
    for path in inputs.reports:
        # With policies, an explicit JSON file that is no report is a config document for Rego.
        as_config = bool(settings.policy) and path.suffix.lower() == ".json"
        report = load_report(path, unknown_ok=as_config)
        if report is None:
            rego_json.append(path)
        else:
            reports.append(report)
    reports.extend(r for r in (_walked_json(p) for p in inputs.found_json) if r is not None)
    reports.extend(_dockerfile_reports(dockerfiles, config))
    if settings.policy:
        reports.extend(
            _rego_reports(
                [*inputs.configs, *inputs.explicit_configs, *inputs.dockerfiles, *rego_json],
                settings,
                notes if notes is not None else [],
            )
        )
    elif inputs.explicit_configs:
        raise InputError(
            "a configuration file is judged by Rego policies: add --policy DIR", path=str(inputs.explicit_configs[0])
        )
    return reports


_REPORT_MARKERS = (b'"SchemaVersion"', b'"matches"', b'"Results"', b"sarif", b'"failures"', b'"code"')
"""Keys that only scanner reports start with: a walked JSON file showing one is a broken report."""


def _walked_json(path: Path) -> Report | None:
    """A JSON file met while walking a folder: a report, nothing (other JSON), or a noted skip.

    Repositories hold JSON that is not strict JSON (tsconfig.json with comments, templates) and
    that nobody asked the gate to judge: such a file is listed as skipped instead of failing the
    run. But a file whose opening bytes look like a scanner report is a broken report, and a broken
    report must never let the gate pass: that stays an error."""
    from gate.ingest import load_report

    try:
        return load_report(path, unknown_ok=True)
    except OwnOutputError:
        return None  # an earlier run's SARIF lying in the tree: never judged again
    except InputError as exc:
        try:
            with path.open("rb") as handle:
                head = handle.read(4096)
        except OSError:
            raise exc from None
        if not head.strip() or any(marker in head for marker in _REPORT_MARKERS):
            raise
        reason = f"not read: {exc.message} (not a report; found while walking a folder)"
        return Report(tool="container-gate", path=str(path), skipped=(Skipped(str(path), reason),))


def _dockerfile_reports(dockerfiles: Mapping[Path, Dockerfile], config: GateConfig) -> list[Report]:
    if not dockerfiles:
        return []
    from gate.checks import dockerfile_rules

    rules_config = dockerfile_rules.RulesConfig.from_mapping(dict(config.dockerfile), path=config.path)
    return [dockerfile_rules.check(model, rules_config) for model in dockerfiles.values()]


def _rego_reports(targets: Sequence[Path], settings: Settings, notes: list[str]) -> list[Report]:
    from gate.checks import rego

    result = rego.run(
        targets,
        policies=settings.policy,
        namespaces=settings.namespaces,
        all_namespaces=settings.all_namespaces,
        data=[Path(d) for d in settings.data],
        root=Path.cwd(),
    )
    if result.unevaluated:
        # Conftest passes over such packages in silence: a misspelt `package` would look like a pass.
        names = ", ".join(result.unevaluated)
        first = result.unevaluated[0]
        notes.append(
            f"Rego package(s) {names} hold deny/violation/warn rules but were not evaluated "
            f"(evaluated: {', '.join(settings.namespaces)}); add --namespace {first} or --all-namespaces"
        )
    return list(result.reports)


def anchors(dockerfiles: Mapping[Path, Dockerfile], config: GateConfig) -> tuple[ImageAnchor, ...]:
    """Final FROM lines on which image vulnerabilities are shown (see `gate.emit.base.ImageAnchor`).

    The config's `images:` mapping names which Dockerfile builds which image; a Dockerfile is also an
    anchor for its own final base image; and when exactly one Dockerfile is among the inputs it
    anchors every image (image `*`), the common one-image repository."""
    paths = list(dict.fromkeys([*dockerfiles, *(Path(p) for _, p in config.images)]))
    if not paths:
        return ()  # a report alone: no Dockerfile parser to import
    found: list[ImageAnchor] = []
    named = {Path(p).resolve(): image for image, p in config.images}
    for path in paths:
        if path not in dockerfiles and not path.is_file():
            raise InputError("Dockerfile named in the config `images:` does not exist", path=str(path))
        model = dockerfiles.get(path) or parse_dockerfiles([path])[path]
        final = model.final_stage()
        if final is None:
            continue
        rel = os.path.relpath(path.resolve(), Path.cwd())
        line = final.from_.line
        if path.resolve() in named:
            found.append(ImageAnchor(image=image_key(named[path.resolve()]), path=rel, line=line))
        found.append(ImageAnchor(image=image_key(final.from_.resolved), path=rel, line=line))
        if len(dockerfiles) == 1 and not config.images:
            found.append(ImageAnchor(image="*", path=rel, line=line))
    return tuple(found)


def emit_context(config: GateConfig, dockerfiles: Mapping[Path, Dockerfile], now: dt.datetime) -> EmitContext:
    """What the emitters need besides the verdict."""
    return EmitContext(
        tool_version=__version__,
        repo_root=str(Path.cwd()),
        anchors=anchors(dockerfiles, config),
        category_prefix=config.category_prefix or "container-gate",
        now=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def render_outputs(args: argparse.Namespace, verdict: Verdict, ctx: EmitContext) -> dict[Path, str]:
    """Render every requested file before writing any, so a failing emitter never leaves half the set."""
    from gate.emit.registry import emitter

    return {path: emitter(name).render(verdict, ctx) for name, path in requested_outputs(args)}


def requested_outputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    """(emitter name, file) for every output flag given, in the order they are written and listed."""
    found = [(name, Path(getattr(args, flag))) for flag, name in OUTPUT_FLAGS.items() if getattr(args, flag)]
    return found + [("summary", Path(args.summary))] if args.summary else found


def write_outputs(files: Mapping[Path, str | bytes]) -> list[Path]:
    """Write every file whole and publish them together (see `gate.atomic`): never through a planted link."""
    from gate.atomic import write_files

    return write_files(files)


def _render(output: Emitter, verdict: Verdict, ctx: EmitContext) -> str | bytes:
    # Large documents (SARIF) come as bytes when the emitter offers them: no decode and re-encode.
    as_bytes = getattr(output, "render_bytes", None)
    return output.render(verdict, ctx) if as_bytes is None else bytes(as_bytes(verdict, ctx))


PARALLEL_FROM = 5_000
"""Decisions from which the JSON result is rendered by a forked process beside the other outputs."""


def render_and_write(
    args: argparse.Namespace, verdict: Verdict, ctx: EmitContext, *, parallel_from: int = PARALLEL_FROM
) -> list[Path]:
    """Render every requested output, then publish them all at once (none if any failed).

    On large verdicts with the JSON result and another output asked for, a forked child renders the JSON
    into a temporary file made here (so the one writer, `gate.atomic`, owns every name) while this process
    renders the rest: the two biggest documents are built on two cores (the child shares the verdict
    copy-on-write). Without `os.fork` it all runs here."""
    wanted = requested_outputs(args)
    json_path = next((path for name, path in wanted if name == "json"), None)
    if json_path is None or len(wanted) < 2 or len(verdict.decisions) < parallel_from or not hasattr(os, "fork"):
        files = render_outputs(args, verdict, ctx)
        write_outputs(files)
        return list(files)
    from gate.atomic import Staged
    from gate.emit.registry import emitter

    with Staged() as staged:
        forked = {json_path: (_json_render(verdict, ctx), staged.reserve(json_path))}
        child = _ForkedRender.start(forked)
        try:
            for name, path in wanted:
                if path not in forked:
                    staged.add(path, _render(emitter(name), verdict, ctx))
        except BaseException:
            child.wait(discard=True)
            raise
        child.wait()
        staged.publish()
    return [path for _, path in wanted]


def _json_render(verdict: Verdict, ctx: EmitContext) -> Callable[[], bytes]:
    """What the child renders: the JSON result."""
    from gate.emit.json import EMITTER as JSON_EMITTER

    kept: list[object] = []  # the child ends with os._exit: its documents are never freed one by one
    return lambda: JSON_EMITTER.render_bytes(verdict, ctx, keep=kept)


@dataclass(frozen=True, slots=True)
class _ForkedRender:
    """A child process rendering outputs into temporary files opened for it; `wait` raises what went wrong."""

    paths: tuple[Path, ...]
    pid: int
    errors: int
    """Read end of a pipe carrying the child's error (the failed file, NUL, the message; empty on success)."""

    @classmethod
    def start(cls, renders: Mapping[Path, tuple[Callable[[], bytes], int]]) -> _ForkedRender:
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (runs in the child; its effects are tested)
            os.close(read)
            os._exit(_child(renders, write))
        os.close(write)
        for _, fd in renders.values():
            os.close(fd)  # the child holds its own copy; the staged temp file stays registered by name
        return cls(tuple(renders), pid, read)

    def wait(self, *, discard: bool = False) -> None:
        """Reap the child; a failure there becomes an `OutputError` here (`discard`: raise nothing, as the
        run already failed elsewhere). The staged temporary files are removed by their `Staged`."""
        with os.fdopen(self.errors, "rb") as pipe:
            report = pipe.read().decode(errors="replace")
        _, status = os.waitpid(self.pid, 0)
        failed = os.waitstatus_to_exitcode(status) != 0 or bool(report)
        if failed and not discard:
            where, _, message = report.partition("\x00")
            raise OutputError(
                f"rendering failed: {message or 'the rendering process died'}", path=where or str(self.paths[0])
            )


def _child(renders: Mapping[Path, tuple[Callable[[], bytes], int]], errors: int) -> int:  # pragma: no cover
    """Render each file in the forked process into its open temporary file; the first failure goes down the pipe."""
    from gate.atomic import write_fd

    for path, (render, fd) in renders.items():
        try:
            write_fd(fd, render(), path)
        except BaseException as exc:  # noqa: BLE001 (everything must reach the parent, then exit)
            message = exc.diagnostics() if isinstance(exc, GateError) else f"{type(exc).__name__}: {exc}"
            os.write(errors, f"{path}\x00{message}".encode(errors="replace")[:4000])
            return 1
    return 0


def one_line(verdict: Verdict, blocking: Sequence[Decision] | None = None) -> str:
    """The verdict as people read it in a log (`blocking`: `verdict.blocking` when already at hand)."""
    blocking = verdict.blocking if blocking is None else blocking
    by_sev = ", ".join(
        f"{n} {s.name}" for s in reversed(Severity) if (n := sum(1 for d in blocking if d.finding.severity is s))
    )
    state = "PASS" if verdict.passed else "FAIL"
    detail = f"{len(blocking)} blocking ({by_sev})" if blocking else "nothing blocks"
    threshold = verdict.fail_on.name if verdict.fail_on is not None else "NONE"
    # Counted, not `len(verdict.active)`: those properties sort every decision just to be measured.
    active = sum(1 for d in verdict.decisions if d.suppression is None)
    return (
        f"container-gate: {state}: {detail}; {active} active, {len(verdict.decisions) - active} suppressed "
        f"of {len(verdict.decisions)} findings (fail-on {threshold})"
    )


MAX_LOG_LINES = 25


def blocking_lines(
    verdict: Verdict, limit: int = MAX_LOG_LINES, blocking: Sequence[Decision] | None = None
) -> list[str]:
    """The blocking findings, most severe first, one line each: the log says why without opening a file."""
    blocking = verdict.blocking if blocking is None else blocking
    lines = []
    for d in blocking[:limit]:
        f = d.finding
        what = f" {f.package} {f.installed_version or ''}".rstrip() if f.package else ""
        fix = f" -> {f.fixed_version}" if f.fixed_version else (" (no fix)" if f.kind.value == "vulnerability" else "")
        loc = f.location
        where = f" at {loc.path}:{loc.start_line}" if loc and loc.start_line else f" in {f.target}"
        # Every part but the severity comes from a report: one cleaned line, never a workflow command.
        lines.append(f"  {f.severity.name:<8} {clean(f'{f.id}{what}{fix}{where}: {f.title}')}"[:240])
    if len(blocking) > limit:
        lines.append(f"  ... and {len(blocking) - limit} more blocking findings (see the summary or --json)")
    return lines


MAX_SKIPPED_LINES = 10


def context_lines(verdict: Verdict, config: GateConfig) -> list[str]:
    """What else decided the verdict: the config used, expired ignores, skipped files, notes (untrusted text
    cleaned: file names and reasons can come from a pull request)."""
    lines = [f"  config: {clean(config.path)}" if config.path else "  config: none found (defaults apply)"]
    lines += [
        f"  expired ignore: {clean(e.id)} (expired {clean(e.expires)}, {clean(e.origin)}): suppresses nothing now"
        for e in verdict.expired_ignores
    ]
    skipped = verdict.skipped
    lines += [f"  skipped: {clean(s.report)}: {clean(s.reason)}"[:240] for s in skipped[:MAX_SKIPPED_LINES]]
    if len(skipped) > MAX_SKIPPED_LINES:
        lines.append(f"  ... and {len(skipped) - MAX_SKIPPED_LINES} more skipped (see --json)")
    lines += [f"  note: {clean(n)}" for n in verdict.notes]
    return lines


def gate_command(args: argparse.Namespace, *, env: Mapping[str, str], out: TextIO | None = None) -> int:
    """Run the gate end to end; errors propagate as `GateError` for the CLI to report."""
    out = cast(TextIO, _Log(out or sys.stdout))
    actions = env.get("GITHUB_ACTIONS", "").lower() == "true"
    if actions:
        # Before any other line: from the first line on, nothing we print can show a token.
        from gate.ci.github import mask_commands, tokens_in

        out.write(mask_commands(tokens_in(env)))
    upload_preflight(args, env)
    config = read_config(args)
    settings = merge(args, config)
    refuse_overwrites(args, settings)
    policy = build_policy(settings, config)
    outputs = {
        Path(p).resolve() for p in (args.sarif, args.gitlab_report, args.codequality, args.json, args.summary) if p
    }
    inputs = collect(args.paths or ["."], exclude=outputs)
    if not (
        inputs.reports
        or inputs.found_json
        or inputs.dockerfiles
        or inputs.explicit_configs
        or (settings.policy and inputs.configs)
    ):
        raise InputError(
            "nothing to judge: no report, Dockerfile or (with --policy) config file found",
            path=" ".join(args.paths or ["."]),
        )
    now = dt.datetime.now(dt.UTC)
    notes: list[str] = []
    with collector_paused(freeze=True):
        dockerfiles = parse_dockerfiles(inputs.dockerfiles)
        verdict = evaluate(read_reports(inputs, settings, config, dockerfiles, notes), policy, today=now.date())
        if notes:
            verdict = dataclasses.replace(verdict, notes=(*verdict.notes, *notes))
        ctx = emit_context(config, dockerfiles, now)
        files = render_and_write(args, verdict, ctx)
    blocking = verdict.blocking  # a sort of every decision: once, not per use
    print(one_line(verdict, blocking), file=out)
    for line in blocking_lines(verdict, blocking=blocking):
        print(line, file=out)
    for line in context_lines(verdict, config):
        print(line, file=out)
    for path in files:
        print(f"  wrote {path}", file=out)
    _ci_integration(args, verdict, ctx, env=env, out=out)
    return PASS if verdict.passed else BLOCKED


class _Log(io.TextIOBase):
    """The command's log stream; a reader that went away (`container-gate gate . | head`) ends the log,
    not the run: the outputs, the GitHub integration and the exit code still follow the verdict."""

    def __init__(self, stream: TextIO) -> None:
        self.stream: TextIO | None = stream

    def write(self, text: str) -> int:
        if self.stream is not None:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self.stream = None
        return len(text)

    def flush(self) -> None:
        if self.stream is not None:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.stream = None


def _ci_integration(
    args: argparse.Namespace, verdict: Verdict, ctx: EmitContext, *, env: Mapping[str, str], out: TextIO
) -> None:
    if env.get("GITHUB_ACTIONS", "").lower() == "true":
        from gate.ci import github

        github.publish(verdict, ctx, env=env, sarif_path=args.sarif, out=out, masked=True)
    if args.upload_sarif:
        if not args.sarif:
            raise OutputError("--upload-sarif needs --sarif FILE to know what to upload")
        _upload(Path(args.sarif), env=env, out=out, started_at=ctx.now)


def upload_preflight(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """What `--upload-sarif` needs, checked before anything is read: a long run must not end in a usage error."""
    if not args.upload_sarif:
        return
    if not args.sarif:
        raise OutputError("--upload-sarif needs --sarif FILE to know what to upload")
    from gate.ci.github import GitHubEnv

    gh = GitHubEnv.from_environ(env)
    if not gh.token or not gh.repository:
        raise OutputError("--upload-sarif needs GITHUB_TOKEN and GITHUB_REPOSITORY")
    gh.upload_target()  # the commit and ref the upload is for: GITHUB_SHA and GITHUB_REF, or the PR event
    if gh.repository.count("/") != 1:
        raise OutputError(f"GITHUB_REPOSITORY must be owner/name, got {clean(gh.repository)!r}")
    from gate.urls import credential_url_problem

    problem = credential_url_problem(gh.api_url)
    if problem is not None:
        raise OutputError(f"GITHUB_API_URL {problem}")


def _upload(sarif: Path, *, env: Mapping[str, str], out: TextIO, started_at: str) -> None:
    """Upload to code scanning; the CLI is the one place that builds the HTTP session."""
    import requests

    from gate.ci.github import GitHubEnv
    from gate.ci.upload import upload_sarif

    gh = GitHubEnv.from_environ(env)
    if not gh.token or not gh.repository:
        raise OutputError("--upload-sarif needs GITHUB_TOKEN and GITHUB_REPOSITORY")
    commit_sha, ref = gh.upload_target()
    with requests.Session() as session:
        session.headers["User-Agent"] = f"container-gate/{__version__}"
        result = upload_sarif(
            session,
            api_url=gh.api_url,
            repository=gh.repository,
            token=gh.token,
            sarif_text=sarif.read_text(encoding="utf-8"),
            commit_sha=commit_sha,
            ref=ref,
            checkout_uri=gh.checkout_uri(),
            tool_name="container-gate",
            started_at=started_at,
        )
    if result.warning:
        print(f"::warning title=container-gate SARIF upload skipped::{result.warning}", file=out)
    elif result.status == "failed":
        raise OutputError(f"code scanning could not process the SARIF: {'; '.join(result.errors)}", path=str(sarif))
    else:
        print(f"  uploaded SARIF to code scanning ({result.status}{': ' + result.url if result.url else ''})", file=out)


__all__ = ["ERROR", "gate_command"]
