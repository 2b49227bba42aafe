"""Compares the built-in Dockerfile rules with hadolint and `trivy config` on the same Dockerfiles.

Usage: python benchmarks/compare_dockerfile_rules.py [DOCKERFILE ...]  (default: the rule-test fixtures)
Each tool's findings are mapped onto our rule ids through the registry's equivalents, then compared per
(line, rule): `both` = we and the tool agree, `ours only` / `tool only` = where we differ. Trivy runs
offline (`--skip-check-update`, embedded checks); its "no USER" and "no HEALTHCHECK" hits carry no line,
so they are placed on the final FROM line, where ours sit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from gate.checks.dockerfile.rule_table import RULES
from gate.checks.dockerfile.rules import check
from gate.dockerfile import parse_file

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "unit" / "dockerfile" / "fixtures"
BIN = ROOT / ".venv" / "bin"

Pair = tuple[int, str]


def _equivalents() -> dict[str, str]:
    table: dict[str, str] = {}
    for rule in RULES:
        for other in rule.equivalents:
            table.setdefault(other, rule.id)
    return table


def ours(path: Path) -> set[Pair]:
    """Our findings as (line, rule id)."""
    return {(f.location.start_line or 0, f.id) for f in check(parse_file(path)).findings if f.location}


def hadolint(path: Path, eq: dict[str, str]) -> tuple[set[Pair], set[str]]:
    """hadolint's findings mapped to our ids, and the codes that have no equivalent of ours."""
    out = subprocess.run([str(BIN / "hadolint"), "-f", "json", "--no-fail", str(path)], capture_output=True, text=True)
    mapped, other = set(), set()
    for item in json.loads(out.stdout or "[]"):
        code = item["code"]
        if code in eq:
            mapped.add((int(item["line"]), eq[code]))
        else:
            other.add(code)
    return mapped, other


def trivy(paths: list[Path], eq: dict[str, str]) -> dict[str, tuple[set[Pair], set[str]]]:
    """`trivy config` over copies named `<fixture>/Dockerfile` (what Trivy detects), mapped to our ids."""
    results: dict[str, tuple[set[Pair], set[str]]] = defaultdict(lambda: (set(), set()))
    with tempfile.TemporaryDirectory() as tmp:
        for p in paths:
            (Path(tmp) / p.name).mkdir()
            shutil.copy(p, Path(tmp) / p.name / "Dockerfile")
        cmd = [str(BIN / "trivy"), "config", "--skip-check-update", "--format", "json", "--quiet", tmp]
        report = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    for res in report.get("Results") or []:
        name = res["Target"].split("/")[0]
        final_from = max(s.from_.line for s in parse_file(Path(next(p for p in paths if p.name == name))).stages)
        for m in res.get("Misconfigurations") or []:
            line = (m.get("CauseMetadata") or {}).get("StartLine") or final_from
            if m["ID"] in eq:
                results[name][0].add((line, eq[m["ID"]]))
            else:
                results[name][1].add(m["ID"])
    return results


def fmt(pairs: set[Pair]) -> str:
    """`line:id` list, compact."""
    return " ".join(f"{line}:{rid.removeprefix('CG-DF-')}" for line, rid in sorted(pairs)) or "-"


def main(argv: list[str]) -> int:
    """Print the comparison table."""
    paths = [Path(a) for a in argv] or sorted(FIXTURES.glob("*.Dockerfile"))
    eq = _equivalents()
    tv = trivy(paths, eq)
    print("| file | ours | hadolint (mapped) | trivy (mapped) | ours only | hadolint only | trivy only |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for p in paths:
        mine = ours(p)
        had, had_other = hadolint(p, eq)
        tri, tri_other = tv[p.name]
        comparable = {rid for rid in {r.id for r in RULES} if any(r.id == rid and r.equivalents for r in RULES)}
        mine_cmp = {x for x in mine if x[1] in comparable}
        print(
            f"| {p.name} | {len(mine)} | {fmt(had)} | {fmt(tri)} | {fmt(mine_cmp - had - tri)} "
            f"| {fmt(had - mine)} | {fmt(tri - mine)} |"
        )
        if had_other or tri_other:
            print(f"|  | (unmapped) |  {' '.join(sorted(had_other))} | {' '.join(sorted(tri_other))} |  |  |  |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
