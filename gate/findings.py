"""Findings: every report read, every Dockerfile checked and every Rego policy evaluated, each file once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

from gate.config import GateConfig
from gate.errors import InputError, OwnOutputError
from gate.inputs import Inputs
from gate.model import Report, Skipped
from gate.settings import Settings

if TYPE_CHECKING:
    from gate.checks.rego.check import RegoStandby
    from gate.checks.rego.limits import Limits  # the parser is imported only when a Dockerfile is among the inputs
    from gate.dockerfile import Dockerfile


@dataclass(frozen=True, slots=True)
class Findings:
    """What the inputs gave: a Report per file, the parsed Dockerfiles (the outputs anchor on them), and what
    the run should tell the user besides findings."""

    reports: tuple[Report, ...]
    dockerfiles: Mapping[Path, Dockerfile]
    notes: tuple[str, ...] = ()


def read(inputs: Inputs, settings: Settings, *, standby: RegoStandby | None = None) -> Findings:
    """The findings stage: Dockerfiles parsed once, then every reader, check and policy (`standby`: the
    policies' compile started by `rego_standby`)."""
    dockerfiles = parse_dockerfiles(inputs.dockerfiles)
    notes: list[str] = []
    reports = read_reports(inputs, settings, dockerfiles, notes, standby=standby)
    if settings.kev or settings.epss:
        from gate.exploits import enrich
        from gate.ingest import exploits

        reports = list(enrich(reports, exploits.load(settings.kev, settings.epss)))
    return Findings(tuple(reports), dockerfiles, tuple(notes))


def parse_dockerfiles(paths: Sequence[Path]) -> dict[Path, Dockerfile]:
    """Each Dockerfile parsed once: the built-in checks and the SARIF anchors both use the model."""
    if not paths:
        return {}  # a report alone: no Dockerfile parser to import
    from gate import dockerfile

    return {path: dockerfile.parse_file(path) for path in paths}


def read_reports(
    inputs: Inputs,
    settings: Settings,
    dockerfiles: Mapping[Path, Dockerfile],
    notes: list[str] | None = None,
    *,
    standby: RegoStandby | None = None,
) -> list[Report]:
    """Every report, Dockerfile check and Rego evaluation the inputs call for (each file read once);
    what the run should tell the user besides findings is appended to `notes`."""
    from gate.ingest import load_report

    config = settings.config
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
    for path in inputs.found_json:
        walked = _walked_json(path)
        if walked == _PLAIN_JSON:
            # Conftest judges every JSON file of a folder it is given: so do the policies here (a silent pass
            # otherwise, where conftest fails the file).
            if settings.policy:
                rego_json.append(path)
        elif walked is not None:
            reports.append(walked)
    if inputs.skipped:
        reports.append(Report(tool="container-gate", path=inputs.skipped[0].report, skipped=inputs.skipped))
    reports.extend(_dockerfile_reports(dockerfiles, config))
    if settings.policy and inputs.unread and notes is not None:
        kinds = ", ".join(sorted({p.suffix.lower() for p in inputs.unread}))
        notes.append(
            f"{len(inputs.unread)} file(s) in formats Conftest reads and the Rego mode does not ({kinds}) were not"
            f" judged, {inputs.unread[0]} first; judge them with conftest"
        )
    if settings.policy:
        reports.extend(
            _rego_reports(
                [*inputs.configs, *inputs.explicit_configs, *inputs.dockerfiles, *rego_json],
                settings,
                notes if notes is not None else [],
                standby,
            )
        )
    elif inputs.explicit_configs:
        raise InputError(
            "a configuration file is judged by Rego policies: add --policy DIR", path=str(inputs.explicit_configs[0])
        )
    return reports


_REPORT_MARKERS = (b'"SchemaVersion"', b'"matches"', b'"Results"', b"sarif", b'"failures"', b'"code"')
"""Keys that only scanner reports start with: a walked JSON file showing one is a broken report."""


_PLAIN_JSON: Final = "plain JSON"


def _walked_json(path: Path) -> Report | Literal["plain JSON"] | None:
    """A JSON file met while walking a folder: a report, `_PLAIN_JSON` (valid JSON no reader knows: a document
    for the policies, if any), nothing (our own earlier output), or a noted skip.

    Repositories hold JSON that is not strict JSON (tsconfig.json with comments, templates) and
    that nobody asked the gate to judge: such a file is listed as skipped instead of failing the
    run. But a file whose opening bytes look like a scanner report is a broken report, and a broken
    report must never let the gate pass: that stays an error."""
    from gate.ingest import load_report

    try:
        report = load_report(path, unknown_ok=True)
        return _PLAIN_JSON if report is None else report
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
    from gate.checks.dockerfile import rules as dockerfile_rules

    rules_config = dockerfile_rules.RulesConfig.from_mapping(dict(config.dockerfile), path=config.path)
    return [dockerfile_rules.check(model, rules_config) for model in dockerfiles.values()]


def rego_standby(settings: Settings) -> RegoStandby | None:
    """The Conftest-mode compile of `--policy`, started now so that it overlaps reading the inputs, when every
    entry holds Rego (so the run will compile exactly these); None otherwise, or on the plain path."""
    from gate import speed

    policy = settings.policy
    if not (policy and speed.ENABLED) or settings.inventory:
        return None
    if not all(_holds_rego(entry, gatekeeper_found=True) for entry in policy):
        return None
    from gate.checks.rego import check as rego

    return rego.prestart(
        policies=policy,
        namespaces=settings.namespaces,
        all_namespaces=settings.all_namespaces,
        data=[Path(d) for d in settings.data],
        limits=_limits(settings),
    )


def _limits(settings: Settings) -> Limits:
    from gate.checks.rego.limits import Limits

    bounds = settings.config.rego_limits
    return Limits(*bounds) if bounds else Limits()


def _rego_reports(
    targets: Sequence[Path], settings: Settings, notes: list[str], standby: RegoStandby | None = None
) -> list[Report]:
    """Conftest-mode and Gatekeeper-mode results: `--policy` entries holding Rego go to the first, the
    ConstraintTemplates and constraints found in YAML among them to the second (a folder may hold both)."""
    from gate.checks.gatekeeper.load import load as load_gatekeeper

    limits = _limits(settings)
    gatekeeper = load_gatekeeper(settings.policy, skip=settings.config.gatekeeper_skip)
    reports: list[Report] = []
    if gatekeeper.templates:
        from gate.checks.gatekeeper import check as gatekeeper_check

        done = gatekeeper_check.run(
            targets, gatekeeper, inventory_files=_inventory_files(settings.inventory), root=Path.cwd(), limits=limits
        )
        reports += done.reports
        notes += done.notes
    elif settings.inventory:
        raise InputError("--inventory is for Gatekeeper mode: add --policy with ConstraintTemplates and constraints")
    rego_entries = [p for p in settings.policy if _holds_rego(p, gatekeeper_found=bool(gatekeeper.templates))]
    if rego_entries:
        reports += _conftest_reports(targets, settings, rego_entries, limits, notes, standby)
    return reports


def _holds_rego(entry: str, *, gatekeeper_found: bool) -> bool:
    """A `.rego` file, a pack, or a folder with `.rego` files (or with nothing Gatekeeper either: the Rego mode
    then says no policy was found)."""
    path = Path(entry)
    if entry.startswith("builtin:") or not path.exists():
        return True
    if path.is_file():
        return path.suffix.lower() not in (".yaml", ".yml", ".json")
    return any(path.rglob("*.rego")) or not gatekeeper_found


def _inventory_files(entries: Sequence[str]) -> list[Path]:
    from gate import walk

    files: list[Path] = []
    for entry in entries:
        path = Path(entry)
        if path.is_dir():
            files += [f for f in walk.walk(path).files if f.suffix.lower() in (".yaml", ".yml", ".json")]
        else:
            walk.regular_file(path)
            files.append(path)
    return files


def _conftest_reports(
    targets: Sequence[Path],
    settings: Settings,
    policies: Sequence[str],
    limits: Limits,
    notes: list[str],
    standby: RegoStandby | None,
) -> list[Report]:
    from gate.checks.rego import check as rego

    result = rego.run(
        targets,
        policies=policies,
        namespaces=settings.namespaces,
        all_namespaces=settings.all_namespaces,
        data=[Path(d) for d in settings.data],
        root=Path.cwd(),
        limits=limits,
        standby=standby,
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
