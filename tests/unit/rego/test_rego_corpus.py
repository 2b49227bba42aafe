"""Conftest's own examples (corpus/conftest) give exactly the messages and tallies its acceptance tests record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from gate.checks.rego.check import CheckResult, check, evaluate, format_summary, parse_input, verify
from gate.model import Kind, Severity

IMAGE_MSG = 'unallowed image found ["openjdk:8-jdk-alpine"]'
COMMANDS_MSG = (
    'unallowed commands found ["apk add --no-cache python3 python3-dev build-base && pip3 install awscli==1.18.1"]'
)


def messages(results: Sequence[CheckResult]) -> list[str]:
    return sorted(m.msg for r in results for m in (*r.failures, *r.warnings))


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("namespaces", "all_namespaces", "expected"),
    [
        (("main",), False, [IMAGE_MSG]),
        (("main",), True, sorted([IMAGE_MSG, COMMANDS_MSG])),
        (("*",), False, sorted([IMAGE_MSG, COMMANDS_MSG])),
        (("c*",), False, [COMMANDS_MSG]),
        (("notpresent",), False, []),
    ],
)
def test_docker_example_namespaces(conftest_corpus: Path, namespaces, all_namespaces, expected) -> None:  # type: ignore[no-untyped-def]
    results = check(
        [conftest_corpus / "examples/docker/Dockerfile"],
        policies=[str(conftest_corpus / "examples/docker/policy")],
        namespaces=namespaces,
        all_namespaces=all_namespaces,
        root=conftest_corpus,
    )
    assert messages(results) == expected


@pytest.mark.corpus
def test_expectations_json_key_outcomes(conftest_corpus: Path) -> None:
    expectations = json.loads((conftest_corpus / "EXPECTATIONS.json").read_text())
    kube = str(conftest_corpus / "examples/kubernetes/policy")
    service = check([conftest_corpus / "examples/kubernetes/service.yaml"], policies=[kube], root=conftest_corpus)
    tally = "5 tests, 4 passed, 1 warning, 0 failures, 0 exceptions"
    assert any(t["test"] == "The number of tests run is accurate" and tally in str(t) for t in expectations["tests"])
    assert format_summary(service).splitlines()[-1] == tally
    deployment = check(
        [conftest_corpus / "examples/kubernetes/deployment.yaml"],
        policies=[kube],
        all_namespaces=True,
        root=conftest_corpus,
    )
    assert format_summary(deployment).splitlines()[-1] == "5 tests, 1 passed, 0 warnings, 4 failures, 0 exceptions"
    # "Output results only once": 4 FAIL lines plus the tally (bats counts non-empty lines).
    default = check([conftest_corpus / "examples/kubernetes/deployment.yaml"], policies=[kube], root=conftest_corpus)
    assert len([line for line in format_summary(default).splitlines() if line]) == 5


@pytest.mark.corpus
def test_kubernetes_findings_are_policy_findings(conftest_corpus: Path) -> None:
    reports = evaluate(
        [conftest_corpus / "examples/kubernetes/deployment.yaml", conftest_corpus / "examples/kubernetes/service.yaml"],
        policies=[str(conftest_corpus / "examples/kubernetes/policy")],
        root=conftest_corpus,
    )
    by_path = {r.path: r for r in reports}
    failing = by_path["examples/kubernetes/deployment.yaml"].findings
    assert {f.title for f in failing} == {
        "Containers must not run as root in Deployment hello-kubernetes",
        "Deployment hello-kubernetes must provide app/release labels for pod selectors",
        "hello-kubernetes must include Kubernetes recommended labels: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/#labels",
        "Found deployment hello-kubernetes but deployments are not allowed",
    }
    assert {f.id for f in failing} == {"main.deny", "main.violation"}
    assert all(f.kind is Kind.POLICY and f.severity is Severity.HIGH for f in failing)
    (warning,) = by_path["examples/kubernetes/service.yaml"].findings
    assert warning.severity is Severity.MEDIUM and warning.id == "main.warn"
    assert warning.location is not None and warning.location.path == "examples/kubernetes/service.yaml"
    assert warning.sources[0].tool == "rego" and warning.sources[0].original_id == "data.main.warn"


@pytest.mark.corpus
def test_multi_document_yaml_evaluates_each_document(conftest_corpus: Path) -> None:
    results = check(
        [conftest_corpus / "examples/kubernetes/deployment+service.yaml"],
        policies=[str(conftest_corpus / "examples/kubernetes/policy")],
        root=conftest_corpus,
    )
    (result,) = results
    assert len(result.failures) == 4 and len(result.warnings) == 1
    assert {w.document_line for w in result.warnings} == {21}


@pytest.mark.corpus
def test_defectdojo_outputs_match(conftest_corpus: Path) -> None:
    policy = [str(conftest_corpus / "defectdojo/policy")]
    for name, output in (("single.yaml", "conftest_one_vuln.json"), ("clean.yaml", "conftest_no_vuln.json")):
        (expected,) = json.loads((conftest_corpus / "defectdojo" / output).read_text())
        (got,) = check([conftest_corpus / "defectdojo" / name], policies=policy, root=conftest_corpus / "defectdojo")
        assert got.filename == expected["filename"] and got.namespace == expected["namespace"]
        assert got.successes == expected["successes"]
        want = [(f["msg"], f["metadata"]) for f in expected.get("failures", [])]
        assert [(f.msg, dict(f.metadata)) for f in got.failures] == want


@pytest.mark.corpus
def test_verify_kubernetes_example(conftest_corpus: Path) -> None:
    result = verify([str(conftest_corpus / "examples/kubernetes/policy")])
    assert (result.tests, result.passed, result.failed) == (4, 4, 0)
    assert verify([str(conftest_corpus / "examples/kubernetes/policy")], namespaces=["ma*"]).tests == 4
    assert verify([str(conftest_corpus / "examples/kubernetes/policy")], namespaces=["doesnotexist"]).tests == 0


@pytest.mark.corpus
def test_parse_dockerfile_and_yaml(conftest_corpus: Path) -> None:
    (commands,) = parse_input(conftest_corpus / "examples/docker/Dockerfile")
    assert commands[0] == {
        "Cmd": "from",
        "SubCmd": "",
        "JSON": False,
        "Flags": [],
        "Value": ["openjdk:8-jdk-alpine"],
        "Stage": 0,
    }
    assert [c["Cmd"] for c in commands] == ["from", "volume", "arg", "copy", "copy", "copy", "run", "entrypoint"]
    assert commands[-1]["JSON"] is True
    assert parse_input(conftest_corpus / "examples/kubernetes/deployment.yaml")["kind"] == "Deployment"
    assert [d["kind"] for d in parse_input(conftest_corpus / "examples/kubernetes/deployment+service.yaml")] == [
        "Deployment",
        "Service",
    ]
