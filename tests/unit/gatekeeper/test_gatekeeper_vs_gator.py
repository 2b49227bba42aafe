"""Our Gatekeeper mode against the real gator (v3.23.1, built by .ci/build-go-tools.sh) on the same templates,
constraints and objects: the same violations, constraint by constraint and object by object, with the same
messages and enforcement actions.

The fixtures (tests/fixtures/gatekeeper) are ours, in Gatekeeper's documented shapes; they exercise kinds,
namespaces with globs, excludedNamespaces, labelSelector with NotIn, namespaceSelector, scope, libs called through
imports, `re_match`, data.inventory across objects, and the three enforcement actions.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gate.checks.gatekeeper.check import run
from gate.checks.gatekeeper.load import load
from gate.cli import main
from tests.conftest import REPO, go_tool

FIXTURES = REPO / "tests" / "fixtures" / "gatekeeper"


def gator_violations() -> list[dict[str, Any]]:
    done = subprocess.run(
        [go_tool("gator"), "test", "-f", "policies", "-f", "objects", "-o", "json"],
        cwd=FIXTURES,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    found: list[dict[str, Any]] = json.loads(done.stdout or "[]")
    return found


def label(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return "/".join(p for p in (obj.get("kind"), meta.get("namespace"), meta.get("name")) if p)


def test_same_violations_as_gator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    theirs = Counter(
        (f"{v['constraint']['kind']}/{v['constraint']['metadata']['name']}", v["msg"], v["enforcementAction"])
        for v in gator_violations()
    )
    assert sum(theirs.values()) >= 8, "the fixtures stopped producing violations under gator"
    out = tmp_path / "gate.json"
    code = main(
        ["gate", str(FIXTURES / "objects"), "--policy", str(FIXTURES / "policies"), "--fail-on", "NONE",
         "--json", str(out)]
    )  # fmt: skip
    capsys.readouterr()
    assert code == 0
    action = {"HIGH": "deny", "MEDIUM": "warn"}
    ours = Counter(
        (f["id"], f["title"], "dryrun" if f["suppressed"] else action[f["severity"]])
        for f in json.loads(out.read_text())["findings"]
        if "gatekeeper" in f["sources"]
    )
    assert ours == theirs


def test_each_violation_is_about_the_object_gator_names() -> None:
    theirs = Counter(
        (f"{v['constraint']['kind']}/{v['constraint']['metadata']['name']}", label(v["violatingObject"]), v["msg"])
        for v in gator_violations()
    )
    gatekeeper = load([str(FIXTURES / "policies")])
    result = run(sorted((FIXTURES / "objects").iterdir()), gatekeeper, root=REPO, workers=2)
    ours = Counter((f.id, dict(f.properties)["object"], f.title) for report in result.reports for f in report.findings)
    assert ours == theirs
