"""The `gate` command, read top to bottom as its pipeline:

settings → inputs → findings → verdict → outputs → publish

Each stage is a module with a typed value in and out (`gate.settings.Settings`, `gate.inputs.Inputs`,
`gate.findings.Findings`, `gate.model.Verdict`, the written paths); no stage imports a later one. Every line this
command prints is made by `gate.console`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO, cast

from gate import console, settings
from gate.ci import publish
from gate.errors import BLOCKED, ERROR, PASS, InputError

if TYPE_CHECKING:
    from gate.inputs import Inputs


def gate_command(args: argparse.Namespace, *, env: Mapping[str, str], out: TextIO | None = None) -> int:
    """Run the gate end to end; errors propagate as `GateError` for the CLI to report."""
    log = cast(TextIO, console.Log(out or sys.stdout))
    if publish.in_actions(env):
        # Before any other line: from the first line on, nothing we print can show a token.
        from gate.ci.github import mask_commands, tokens_in

        log.write(mask_commands(tokens_in(env)))
    publish.preflight(args, env)
    run = settings.resolve(args)
    from gate import findings

    with contextlib.ExitStack() as stack:
        # The policies compile in a child from here on, while this process imports the rest and walks the inputs.
        standby = findings.rego_standby(run)
        if standby is not None:
            stack.enter_context(standby)
        from gate import outputs
        from gate.decide import licenses
        from gate.decide.load import load as load_policy
        from gate.decide.verdict import evaluate
        from gate.speed import collector_paused

        policy = load_policy(run)
        inputs = _inputs(run)
        now = dt.datetime.now(dt.UTC)
        stack.enter_context(collector_paused(freeze=True))
        found = findings.read(inputs, run, standby=standby)
        license_policy = licenses.LicensePolicy(
            allowed=run.license_allowed,
            forbidden=run.license_forbidden,
            unknown=licenses.Unknown(run.license_unknown),
            severity=run.license_severity,
        )
        reports = licenses.judge_reports(found.reports, license_policy, exceptions=policy.ignores, today=now.date())
        verdict = evaluate(reports, policy, today=now.date())
        if found.notes:
            verdict = dataclasses.replace(verdict, notes=(*verdict.notes, *found.notes))
        ctx = outputs.emit_context(run.config, found.dockerfiles, now)
        written = outputs.render_and_write(run.outputs, verdict, ctx)
        ctx = outputs.with_omissions(ctx, verdict, run.outputs)
    for line in console.verdict_lines(verdict, run.config, written):
        print(line, file=log)
    publish.publish(run, verdict, ctx, env=env, out=log)
    return PASS if verdict.passed else BLOCKED


def _inputs(run: settings.Settings) -> Inputs:
    """The files to read, the outputs left out of folder walks; nothing to judge is an error, never a pass."""
    from gate.inputs import collect

    inputs = collect(list(run.paths), exclude={path.resolve() for _, path in run.outputs})
    if not (
        inputs.reports
        or inputs.found_json
        or inputs.dockerfiles
        or inputs.explicit_configs
        or (run.policy and inputs.configs)
    ):
        raise InputError(
            "nothing to judge: no report, Dockerfile or (with --policy) config file found", path=" ".join(run.paths)
        )
    return inputs


__all__ = ["ERROR", "gate_command"]
