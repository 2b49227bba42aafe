"""Reviews the run's Kubernetes objects against Gatekeeper constraints: each violation one finding.

Templates compile inside the bounded workers of the Conftest mode (`gate.checks.rego.limits.bounded_all`), one
engine per template and worker; matching (`match.py`) runs here, so a worker only evaluates the pairs a
constraint selects. Gatekeeper evaluates `data.<package>.violation` with `input.review` and `input.parameters`;
so does this, with `data.inventory` for templates that read it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate import speed
from gate.checks.gatekeeper.load import Constraint, Gatekeeper, Template
from gate.checks.gatekeeper.match import matches
from gate.checks.gatekeeper.review import Subject, inventory, is_object, namespaces_of, subject
from gate.checks.rego.limits import Limits, Progress, bounded_all
from gate.errors import PolicyError
from gate.model import Finding, Kind, Location, Report, Severity, Source, Suppression

TOOL = "gatekeeper"
_SEVERITY = {"deny": Severity.HIGH, "warn": Severity.MEDIUM, "dryrun": Severity.MEDIUM}
_UNDEFINED = '"<undefined>"'
_STRUCTURED = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class Violation:
    subject: int
    constraint: int
    msg: str
    details: str
    """The result's `details` as JSON text (empty when it has none)."""


@dataclass(frozen=True, slots=True)
class GatekeeperRun:
    reports: tuple[Report, ...]
    notes: tuple[str, ...] = ()


def run(
    inputs: Sequence[Path],
    gatekeeper: Gatekeeper,
    *,
    inventory_files: Sequence[Path] = (),
    root: Path,
    limits: Limits | None = None,
    workers: int | None = None,
) -> GatekeeperRun:
    """A Report per input file holding a reviewed object (a finding per violation), and what the run should say."""
    from gate.checks.rego.documents import load_documents

    files = [p for p in inputs if p.suffix.lower() in _STRUCTURED]
    read = [(d.value, p, d.line) for p in files for d in load_documents(p, stream=True)]
    extra = [d.value for p in inventory_files for d in load_documents(p, stream=True)]
    every = [v for v, _, _ in read] + extra
    namespaces = namespaces_of(every)
    subjects = [s for v, p, line in read if (s := subject(v, _relative(p, root), line, namespaces)) is not None]
    notes: list[str] = []
    undecided: list[Violation] = []
    pairs = _pairs(subjects, gatekeeper.constraints, namespaces, undecided)
    unused = sorted(
        {t.name for t in gatekeeper.templates} - {_template_of(gatekeeper, c).name for c in gatekeeper.constraints}
    )
    if unused:
        notes.append(
            f"ConstraintTemplate(s) {', '.join(unused)} have no constraint among the policies: "
            "nothing was reviewed against them"
        )
    objects = (
        inventory([o for o in every if is_object(o)]) if any(t.reads_inventory for t in gatekeeper.templates) else {}
    )
    violations = _evaluate(subjects, pairs, gatekeeper, objects, limits, workers) if pairs else []
    violations += undecided
    by_subject: dict[int, list[Finding]] = {}
    for v in violations:
        constraint = gatekeeper.constraints[v.constraint]
        found = _finding(subjects[v.subject], constraint, _template_of(gatekeeper, constraint), v)
        by_subject.setdefault(v.subject, []).append(found)
    by_file: dict[str, list[Finding]] = {s.path: [] for s in subjects}
    for index, s in enumerate(subjects):
        by_file[s.path] += by_subject.get(index, [])
    return GatekeeperRun(tuple(Report(tool=TOOL, path=p, findings=tuple(f)) for p, f in by_file.items()), tuple(notes))


def _template_of(gatekeeper: Gatekeeper, constraint: Constraint) -> Template:
    return next(t for t in gatekeeper.templates if t.kind == constraint.kind)


def _pairs(
    subjects: Sequence[Subject],
    constraints: Sequence[Constraint],
    namespaces: dict[str, Any],
    undecided: list[Violation],
) -> dict[int, list[int]]:
    """Constraint indices per subject index, in constraint order, for every pair `spec.match` selects. A pair
    the matcher cannot decide (a namespaceSelector whose Namespace was not read) goes to `undecided` as a
    violation saying so: gator reports the same pair as a failed review, and a gate must not pass what it could
    not check."""
    pairs: dict[int, list[int]] = {}
    for si, s in enumerate(subjects):
        ns = str((s.obj.get("metadata") or {}).get("namespace") or "")
        for ci, c in enumerate(constraints):
            selected, problem = matches(c.match, s.obj, namespaces.get(ns))
            if problem:
                undecided.append(Violation(si, ci, f"cannot review {s.label}: {problem} (add it with --inventory)", ""))
            if selected:
                pairs.setdefault(si, []).append(ci)
    return pairs


def _evaluate(
    subjects: Sequence[Subject],
    pairs: dict[int, list[int]],
    gatekeeper: Gatekeeper,
    objects: dict[str, Any],
    limits: Limits | None,
    workers: int | None,
) -> list[Violation]:
    order = sorted(pairs)
    count = speed.rego_workers(len(order)) if workers is None else max(1, workers)
    size = -(-len(order) // count)
    shares = [order[i : i + size] for i in range(0, len(order), size)] or [[]]

    def work_on(share: list[int]) -> Callable[[Progress], list[Violation]]:
        def work(progress: Progress) -> list[Violation]:
            engines = _compile(gatekeeper.templates, objects, progress)
            params = [json.dumps(c.parameters, sort_keys=True) for c in gatekeeper.constraints]
            out: list[Violation] = []
            for si in share:
                s = subjects[si]
                progress(s.path, "reviewing the object against the constraints")
                review = json.dumps(s.review)
                for ci in pairs[si]:
                    c = gatekeeper.constraints[ci]
                    template = _template_of(gatekeeper, c)
                    engine = engines[template.kind]
                    engine.set_input_json('{"parameters":' + params[ci] + ',"review":' + review + "}")
                    out += _violations(engine, template, si, ci)
            return out

        return work

    return [v for part in bounded_all([work_on(share) for share in shares], limits) for v in part]


def _compile(templates: Sequence[Template], objects: dict[str, Any], progress: Progress) -> dict[str, Any]:
    import regorus

    from gate.checks.rego import static
    from gate.checks.rego.engine import add_module

    engines: dict[str, Any] = {}
    data = json.dumps({"inventory": objects}) if objects else ""
    for template in templates:
        progress(template.path, f"compiling ConstraintTemplate {template.name}")
        engine = regorus.Engine()
        for index, lib in enumerate(template.libs):
            add_module(engine, f"{template.path}#{template.name}.libs[{index}]", lib, template.version)
        add_module(engine, f"{template.path}#{template.name}", template.rego, template.version)
        static.check(json.loads(engine.get_ast_as_json()))
        if template.reads_inventory and data:
            engine.add_data_json(data)
        engines[template.kind] = engine
    return engines


def _violations(engine: Any, template: Template, si: int, ci: int) -> list[Violation]:
    from gate.checks.rego.engine import policy_error

    try:
        text = engine.eval_rule_as_json(f"data.{template.package}.violation")
    except RuntimeError as exc:
        raise policy_error(exc) from None
    if text.strip() == _UNDEFINED:
        return []
    results = json.loads(text)
    if not isinstance(results, list):
        raise PolicyError(
            f"ConstraintTemplate {template.name}: violation must be a set of objects, not {type(results).__name__}",
            path=template.path,
        )
    out = []
    for result in results:
        if not isinstance(result, dict):
            raise PolicyError(
                f"ConstraintTemplate {template.name}: a violation must be an object with msg", path=template.path
            )
        msg = result.get("msg")
        details = result.get("details")
        out.append(
            Violation(
                si,
                ci,
                msg if isinstance(msg, str) else json.dumps(msg),
                json.dumps(details, sort_keys=True) if details is not None else "",
            )
        )
    return out


def _finding(s: Subject, c: Constraint, template: Template, v: Violation) -> Finding:
    props = [
        ("constraint", f"{c.kind}/{c.name}"),
        ("enforcementAction", c.action),
        ("object", s.label),
        ("template", template.name),
    ]
    if v.details:
        props.append(("details", v.details))
    suppression = (
        Suppression(by="tool", reason="gatekeeper enforcementAction: dryrun") if c.action == "dryrun" else None
    )
    return Finding(
        id=f"{c.kind}/{c.name}",
        kind=Kind.POLICY,
        severity=_SEVERITY[c.action],
        title=v.msg,
        target=s.path,
        location=Location(path=s.path, start_line=s.line or 1, logical=s.label),
        sources=(Source(tool=TOOL, report=s.path, original_id=template.name, original_severity=c.action),),
        tool_suppression=suppression,
        properties=tuple(sorted(props)),
    )


def _relative(path: Path, root: Path) -> str:
    try:
        return Path(os.path.realpath(path)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return path.as_posix()
