"""Runs the built-in Dockerfile rules over a parsed Dockerfile and turns hits into findings, honouring
inline pragmas (`# container-gate ignore=ID reason`, `# hadolint ignore=DLxxxx`) and the user's config."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator

from gate.checks.dockerfile import rules_image as image
from gate.checks.dockerfile import rules_run as run
from gate.checks.dockerfile.context import Hit, RuleContext
from gate.checks.dockerfile.rule_table import RULES, RULES_BY_ID, RuleInfo, RulesConfig
from gate.dockerfile import Dockerfile, Instruction
from gate.model import OWN_TOOL, Finding, Kind, Landmark, Location, Report, Source, Suppression, relative_path

__all__ = ["RULES", "RuleInfo", "RulesConfig", "check", "logical_name"]

TOOL = OWN_TOOL

CHECKS: tuple[Callable[[RuleContext], Iterable[Hit]], ...] = (
    image.root_user,
    image.base_tag,
    image.secrets,
    run.no_install_recommends,
    run.package_cache,
    run.extra_tools,
    image.copy_context,
    image.add_url,
    run.pipe_to_shell,
    run.chmod_world_writable,
    run.sudo,
    image.expose_ssh,
    image.healthcheck,
    run.compilers,
    image.secret_files,
)

_PRAGMA = re.compile(r"^\s*#\s*(container-gate|hadolint)\s+ignore\s*=\s*([A-Za-z0-9_,\- ]*?)(?:\s+(.*))?$", re.I)


def check(df: Dockerfile, config: RulesConfig | None = None) -> Report:
    """Every built-in rule over one Dockerfile: a Report of `policy` findings (tool `container-gate`)."""
    cfg = config or RulesConfig()
    ctx = RuleContext(df, cfg)
    # Named as hadolint's and Trivy's reports name it (relative to where the gate runs), so their sightings
    # meet ours and ignore entries' `paths` match however the file was given on the command line.
    path = relative_path(df.path, os.getcwd())
    seen: set[tuple[str, int, str]] = set()
    findings = []
    for hit in _hits(ctx):
        key = (hit.rule_id, hit.instruction.start_line, hit.message)
        if hit.rule_id in cfg.disabled or key in seen:
            continue
        seen.add(key)
        findings.append(_finding(df, path, cfg, hit))
    findings.sort(key=lambda f: (f.location.start_line if f.location else 0, f.id))
    return Report(tool=TOOL, path=df.path, findings=tuple(findings), landmarks=landmarks(df, path))


def landmarks(df: Dockerfile, path: str | None = None) -> tuple[Landmark, ...]:
    """Every instruction's line-free name, so hadolint's and Trivy's findings on this file (which know only
    a line) get the same identity as ours and survive edits above them."""
    where = path or df.path
    return tuple(Landmark(where, ins.start_line, ins.end_line, logical_name(df, ins)) for ins in df.instructions)


def logical_name(df: Dockerfile, ins: Instruction) -> str:
    """What an instruction is, without its line: its stage and its normalised text.

    A stage is known by its name, else as the final stage (adding a builder stage above keeps it so), else
    by its index. The text is the keyword, flags and arguments with whitespace collapsed (continuation
    lines and indentation do not count). ENV, ARG and LABEL keep only their names, so no secret value
    ends up hashed into a published fingerprint; FROM is known by its stage alone, so a base image bump
    is the same place."""
    stage = df.stage_of(ins)
    if stage is None:
        where = "global"
    elif stage.name:
        where = f"stage {stage.name.lower()}"
    elif stage.index == len(df.stages) - 1:
        where = "final stage"
    else:
        where = f"stage #{stage.index}"
    return f"{where}: {_normalised(ins)}"


def _normalised(ins: Instruction) -> str:
    keyword = ins.kind.upper() if ins.cmd != "onbuild" else f"ONBUILD {ins.kind.upper()}"
    if ins.kind == "from":
        return keyword
    if ins.kind in ("env", "label"):
        words = list(ins.value[::2])
    elif ins.kind == "arg":
        words = [v.partition("=")[0] for v in ins.value]
    else:
        words = [*ins.flags, *ins.value, *ins.heredocs]
    text = " ".join(" ".join(w.split()) for w in words)
    return f"{keyword} [json] {text}" if ins.json else f"{keyword} {text}"


def _hits(ctx: RuleContext) -> Iterator[Hit]:
    for rule in CHECKS:
        yield from rule(ctx)


def _finding(df: Dockerfile, path: str, cfg: RulesConfig, hit: Hit) -> Finding:
    rule = RULES_BY_ID[hit.rule_id]
    ins = hit.instruction
    return Finding.create(
        id=rule.id,
        aliases=rule.equivalents,
        kind=Kind.POLICY,
        severity=cfg.severity_of(rule),
        title=hit.message,
        target=path,
        location=Location(path, ins.start_line, ins.end_line, logical_name(df, ins)),
        sources=(Source(tool=TOOL, report=df.path, original_id=rule.id),),
        description=f"{rule.title}. {rule.why} Fix: {rule.fix}",
        tool_suppression=_pragma(df, ins, rule),
        properties=(("rule_title", rule.title),),
    )


def pragmas_before(df: Dockerfile, ins: Instruction) -> Iterator[tuple[str, frozenset[str], str]]:
    """(tool, ids, reason) of each ignore pragma in the comment block right above an instruction."""
    line = ins.start_line - 1
    while line >= 1:
        text = df.line_text(line)
        if not text.lstrip().startswith("#"):
            return
        m = _PRAGMA.match(text)
        if m:
            ids = frozenset(i.strip().upper() for i in m.group(2).split(",") if i.strip())
            yield m.group(1).lower(), ids, (m.group(3) or "").strip()
        line -= 1


def _pragma(df: Dockerfile, ins: Instruction, rule: RuleInfo) -> Suppression | None:
    for tool, ids, reason in pragmas_before(df, ins):
        if tool == "container-gate" and rule.id in ids:
            return Suppression(by="inline", reason=reason or "inline ignore pragma")
        if tool == "hadolint" and ids & set(rule.hadolint):
            shown = ",".join(sorted(ids & set(rule.hadolint)))
            return Suppression(by="inline", reason=reason or f"hadolint ignore={shown}")
    return None
