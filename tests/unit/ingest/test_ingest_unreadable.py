"""An entry of a recognised report that cannot be read ends the run: exit 2, one line naming the file and the
entry's JSON path. Each case here was once listed under `skipped` while the gate passed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def _critical(**fields: Any) -> dict[str, Any]:
    entry = {"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "InstalledVersion": "3.0.11-1"}
    return {**entry, "Severity": "CRITICAL", **fields}


def _trivy(*entries: Any) -> dict[str, Any]:
    # Three good CRITICALs first, so the bad one is Vulnerabilities[3] as in the issue.
    vulns = [_critical(VulnerabilityID=f"CVE-2024-000{i}") for i in range(3)] + list(entries)
    result = {"Target": "app (debian 12.5)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}
    return {"SchemaVersion": 2, "ArtifactName": "app", "ArtifactType": "container_image", "Results": [result]}


def _with(doc: Any, where: tuple[str | int, ...], value: Any) -> Any:
    clone = copy.deepcopy(doc)
    holder = clone
    for step in where[:-1]:
        holder = holder[step]
    holder[where[-1]] = value
    return clone


def _delete(doc: Any, where: tuple[str | int, ...]) -> Any:
    clone = copy.deepcopy(doc)
    holder = clone
    for step in where[:-1]:
        holder = holder[step]
    del holder[where[-1]]
    return clone


V3 = "Results[0].Vulnerabilities[3]"
CASES: dict[str, tuple[str, Any, str]] = {
    "trivy-id-number": (
        "trivy.json",
        _trivy(_critical(VulnerabilityID=2024)),
        f"{V3}.VulnerabilityID: expected a string, got a number",
    ),
    "trivy-package-list": (
        "trivy.json",
        _trivy(_critical(PkgName=["openssl"])),
        f"{V3}.PkgName: expected a string, got a list",
    ),
    "trivy-no-id": ("trivy.json", _trivy(_delete(_critical(), ("VulnerabilityID",))), f"{V3}.VulnerabilityID: missing"),
    "trivy-severity-number": (
        "trivy.json",
        _trivy(_critical(Severity=4)),
        f"{V3}.Severity: expected a string, got a number",
    ),
    "trivy-severity-word": (
        "trivy.json",
        _trivy(_critical(Severity="SEVERE")),
        f"{V3}.Severity: unknown severity 'SEVERE'",
    ),
    "trivy-fixed-object": (
        "trivy.json",
        _trivy(_critical(FixedVersion={"v": 1})),
        f"{V3}.FixedVersion: expected a string, got an object",
    ),
    "trivy-path-list": ("trivy.json", _trivy(_critical(PkgPath=["a"])), f"{V3}.PkgPath: expected a string, got a list"),
    "trivy-score-text": (
        "trivy.json",
        _trivy(_critical(CVSS={"nvd": {"V3Score": "9.8"}})),
        f"{V3}.CVSS.nvd.V3Score: expected a number, got a string",
    ),
    "trivy-entry-text": ("trivy.json", _trivy("CVE-2024-9999"), f"{V3}: expected an object, got a string"),
    "trivy-vulns-object": (
        "trivy.json",
        _with(_trivy(), ("Results", 0, "Vulnerabilities"), {"CVE": 1}),
        "Results[0].Vulnerabilities: expected a list, got an object",
    ),
    "trivy-result-number": (
        "trivy.json",
        _with(_trivy(), ("Results", 0), 7),
        "Results[0]: expected an object, got a number",
    ),
    "trivy-misconfig-status": (
        "trivy.json",
        _with(_fixture("trivy_mixed.json"), ("Results", 2, "Misconfigurations", 0, "Status"), "MAYBE"),
        "Results[2].Misconfigurations[0].Status: unknown value 'MAYBE'",
    ),
    "trivy-k8s-resource": (
        "trivy.json",
        _with(_fixture("trivy_k8s.json"), ("Resources", 0), "web"),
        "Resources[0]: expected an object, got a string",
    ),
    "grype-no-id": (
        "grype.json",
        _with(_fixture("grype_fix_states.json"), ("matches", 1, "vulnerability"), {"severity": "High"}),
        "matches[1].vulnerability.id: missing",
    ),
    "grype-name-list": (
        "grype.json",
        _with(_fixture("grype_fix_states.json"), ("matches", 1, "artifact", "name"), ["busybox"]),
        "matches[1].artifact.name: expected a string, got a list",
    ),
    "grype-fix-versions": (
        "grype.json",
        _with(_fixture("grype_fix_states.json"), ("matches", 0, "vulnerability", "fix", "versions"), "1.0"),
        "matches[0].vulnerability.fix.versions: expected a list, got a string",
    ),
    "grype-severity-number": (
        "grype.json",
        _with(_fixture("grype_fix_states.json"), ("matches", 3, "vulnerability", "severity"), 9),
        "matches[3].vulnerability.severity: expected a string, got a number",
    ),
    "grype-ignored-junk": (
        "grype.json",
        _with(_fixture("grype_fix_states.json"), ("ignoredMatches", 0), "junk"),
        "ignoredMatches[0]: expected an object, got a string",
    ),
    "hadolint-code-number": (
        "hadolint.json",
        _with(_fixture("hadolint_levels.json"), (4, "code"), 3008),
        "[4].code: expected a string, got a number",
    ),
    "hadolint-level-word": (
        "hadolint.json",
        _with(_fixture("hadolint_levels.json"), (1, "level"), "fatal"),
        "[1].level: unknown value 'fatal'",
    ),
    "conftest-warnings-text": (
        "conftest.json",
        _with(_fixture("conftest_no_namespace.json"), (1, "warnings"), "wrong"),
        "[1].warnings: expected a list, got a string",
    ),
    "conftest-no-msg": (
        "conftest.json",
        _with(_fixture("conftest_no_namespace.json"), (0, "failures", 1, "msg"), None),
        "[0].failures[1].msg: missing",
    ),
    "sarif-no-rule": (
        "other.sarif",
        _delete(_fixture("sarif_mixed.sarif"), ("runs", 0, "results", 0, "ruleId")),
        "runs[0].results[0].ruleIndex",  # the rule is found by index: its id is then the rule's
    ),
    "sarif-result-junk": (
        "other.sarif",
        _with(_fixture("sarif_mixed.sarif"), ("runs", 0, "results", 1), "junk"),
        "runs[0].results[1]: expected an object, got a string",
    ),
    "sarif-no-tool-name": (
        "other.sarif",
        _delete(_fixture("sarif_mixed.sarif"), ("runs", 1, "tool", "driver", "name")),
        "runs[1].tool.driver.name: missing",
    ),
    "sarif-level-word": (
        "other.sarif",
        _with(_fixture("sarif_mixed.sarif"), ("runs", 0, "results", 3, "level"), "fatal"),
        "runs[0].results[3].level: unknown value 'fatal'",
    ),
}


@pytest.mark.parametrize("case", sorted(c for c in CASES if c != "sarif-no-rule"))
def test_an_entry_that_cannot_be_read_is_exit_2_naming_file_and_path(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, doc, message = CASES[case]
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    out = tmp_path / "out.json"
    code = main(["gate", str(path), "--json", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"container-gate: error: {path}: {message}") and err.count("\n") == 1, err
    assert "Traceback" not in err and "internal error" not in err
    assert not out.exists()  # no output claims a verdict for a report that could not be read


def test_a_sarif_result_without_rule_id_is_read_through_its_rule_index(tmp_path: Path) -> None:
    # Not an error: SARIF lets `ruleIndex` alone name the rule (§3.27.6); the finding keeps the rule's id.
    name, doc, _ = CASES["sarif-no-rule"]
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    assert main(["gate", str(path), "--fail-on", "NONE"]) == 0


def test_a_sarif_result_without_any_rule_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _delete(
        _delete(_fixture("sarif_mixed.sarif"), ("runs", 0, "results", 0, "ruleId")),
        ("runs", 0, "results", 0, "ruleIndex"),
    )
    path = tmp_path / "other.sarif"
    path.write_text(json.dumps(doc))
    assert main(["gate", str(path)]) == 2
    assert f"{path}: runs[0].results[0].ruleId: missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"1e999", "a number too large to hold, which would be infinity"),
        (b"[" * 2000 + b"]" * 2000, "nested deeper than 1024 levels"),
    ],
)
def test_a_score_json_cannot_hold_is_exit_2_not_a_pass(
    raw: bytes, reason: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "trivy.json"
    text = json.dumps(_trivy(_critical(CVSS={"nvd": {"V3Score": "SCORE"}})))
    path.write_bytes(text.encode().replace(b'"SCORE"', raw))
    assert main(["gate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"container-gate: error: {path}: not valid JSON ({reason} at line 1)\n"


def test_vex_fields_of_the_wrong_type_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The newest statement decides: a timestamp that cannot be read would change which one.
    doc = _with(_fixture("vex_v020.json"), ("statements", 0, "timestamp"), 20240101)
    vex = tmp_path / "vex.json"
    vex.write_text(json.dumps(doc))
    report = tmp_path / "trivy.json"
    report.write_text(json.dumps(_trivy()))
    assert main(["gate", str(report), "--vex", str(vex)]) == 2
    err = capsys.readouterr().err
    assert f"{vex}: statements[0].timestamp: expected a string, got a number" in err, err
