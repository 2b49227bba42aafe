"""The fast paths (hand-written __init__ of Finding, Source, Decision and SARIF's Placed; fingerprints
memoised by dedupe) change nothing."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from gate.emit.placement import Placed
from gate.model import (
    Decision,
    Finding,
    FixState,
    Kind,
    Location,
    Severity,
    Source,
    Suppression,
    dedupe,
    dedupe_key,
    fingerprint,
)


@pytest.mark.parametrize("cls", [Finding, Source, Decision, Placed])
def test_fast_init_has_the_dataclass_signature(cls: type[Finding | Source | Decision | Placed]) -> None:
    params = list(inspect.signature(vars(cls)["__init__"]).parameters.values())[1:]
    fields = [f for f in dataclasses.fields(cls) if f.init]
    assert [p.name for p in params] == [f.name for f in fields]
    for param, field in zip(params, fields, strict=True):
        expected = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        assert param.default == expected, field.name
    assert [f.name for f in dataclasses.fields(cls)] == list(vars(cls)["__slots__"])


def test_source_and_decision_init_set_every_field() -> None:
    source = Source("grype", "r.json", "0.1", "GHSA-x", "Negligible")
    assert dataclasses.astuple(source) == ("grype", "r.json", "0.1", "GHSA-x", "Negligible")
    assert Source(tool="t", report="r") == Source("t", "r", None, None, None)
    finding = Finding(id="X", kind=Kind.POLICY, severity=Severity.LOW, title="t", target="x")
    why = Suppression("vex", "not affected")
    decision = Decision(finding, blocking=True, suppression=why, notes=("n",))
    assert (decision.finding, decision.blocking, decision.suppression, decision.notes) == (finding, True, why, ("n",))
    assert Decision(finding, False) == Decision(finding=finding, blocking=False, suppression=None, notes=())
    placed = Placed(decision, "fp", "a/b", 3, 4, True)
    assert dataclasses.astuple(placed)[1:] == ("fp", "a/b", 3, 4, True) and placed.decision is decision


def test_finding_init_sets_every_field() -> None:
    values = {
        "id": "CVE-1",
        "kind": Kind.LICENSE,
        "severity": Severity.HIGH,
        "title": "t",
        "target": "img",
        "package": "p",
        "installed_version": "1",
        "fixed_version": "2",
        "fix_state": FixState.WONT_FIX,
        "location": Location("a", 1, 2),
        "aliases": ("GHSA-x",),
        "sources": (Source("trivy", "r"),),
        "description": "d",
        "references": ("https://e",),
        "help_uri": "https://h",
        "cvss_score": 7.5,
        "package_class": "os-pkgs",
        "epss": 0.5,
        "kev": True,
        "tool_suppression": Suppression("tool", "why"),
        "properties": (("os", "x"),),
    }
    finding = Finding(**values)  # type: ignore[arg-type]
    assert {name: getattr(finding, name) for name in values} == values
    assert finding._fingerprint is None and finding.fingerprint == fingerprint(finding)
    assert dataclasses.replace(finding, id="CVE-2").id == "CVE-2"
    try:
        finding.id = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("Finding must stay frozen")


def test_dedupe_memoises_the_same_fingerprint() -> None:
    base = Finding(id="CVE-9", kind=Kind.VULNERABILITY, severity=Severity.LOW, title="t", target="img:1 (debian 12)")
    other = dataclasses.replace(base, severity=Severity.HIGH, target="img:2", sources=(Source("grype", "g"),))
    lic = Finding(id="MIT", kind=Kind.LICENSE, severity=Severity.LOW, title="t", target="x", package="p")
    lic2 = dataclasses.replace(lic, location=Location("x"))
    merged = dedupe([base, other, lic, lic2, dataclasses.replace(lic, package="q")])
    assert len(merged) == 3
    for f in merged:
        fresh = dataclasses.replace(f)
        assert fresh._fingerprint is None
        assert f._fingerprint == fingerprint(fresh) == fingerprint(f)
        assert dedupe_key(f) == dedupe_key(fresh)
