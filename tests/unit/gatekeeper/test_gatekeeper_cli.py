"""Gatekeeper mode through the CLI: the verdict each enforcement action gives, admission reviews, inventory, and
the clear refusals (exit 2, one line naming the file) for what cannot run here.

Templates follow Gatekeeper's documented ConstraintTemplate shape (templates.gatekeeper.sh/v1, targets[].rego);
the AdmissionReview is admission.k8s.io/v1's documented request shape; all are written for these tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main

TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: cgnolatest
spec:
  crd:
    spec:
      names:
        kind: CgNoLatest
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package cgnolatest
        violation[{"msg": msg, "details": {"image": c.image}}] {
          c := input.review.object.spec.containers[_]
          endswith(c.image, ":latest")
          msg := sprintf("%v uses a latest tag (%v)", [c.name, input.review.operation])
        }
"""


def constraint(action: str = "deny", name: str = "no-latest", kind: str = "CgNoLatest") -> str:
    return f"""\
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: {kind}
metadata:
  name: {name}
spec:
  enforcementAction: {action}
  match:
    kinds: [{{apiGroups: [""], kinds: ["Pod"]}}]
"""


POD = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: prod
---
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: prod
spec:
  containers:
    - name: web
      image: nginx:latest
"""


def gate(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / "out.json"
    out.unlink(missing_ok=True)
    code = main(["gate", *args, "--json", str(out)])
    err = capsys.readouterr().err
    return code, json.loads(out.read_text()) if out.exists() else {}, err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def gk(found: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in found.get("findings", []) if "gatekeeper" in f["sources"]]


@pytest.mark.parametrize(
    ("action", "code", "severity", "suppressed"),
    [("deny", 1, "HIGH", False), ("warn", 0, "MEDIUM", False), ("dryrun", 0, "MEDIUM", True)],
)
def test_enforcement_action_sets_severity_and_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], action: str, code: int, severity: str, suppressed: bool
) -> None:
    t = write(tmp_path, "template.yaml", TEMPLATE)
    c = write(tmp_path, "constraint.yaml", constraint(action))
    pod = write(tmp_path, "pod.yaml", POD)
    got, found, _ = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c, "--fail-on", "HIGH")
    assert got == code
    [finding] = gk(found)
    assert finding["id"] == "CgNoLatest/no-latest"
    assert finding["title"] == "web uses a latest tag (CREATE)"
    assert finding["severity"] == severity
    assert bool(finding["suppressed"]) is suppressed
    assert finding["location"]["start_line"] == 7  # the Pod, second document of the file
    assert finding["kind"] == "policy"
    assert finding["properties"]["object"] == "Pod/prod/web"
    assert finding["properties"]["enforcementAction"] == action
    assert json.loads(finding["properties"]["details"]) == {"image": "nginx:latest"}


def test_admission_review_is_reviewed_as_its_request_says(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    template = TEMPLATE.replace(
        'endswith(c.image, ":latest")',
        'endswith(c.image, ":latest")\n          input.review.userInfo.username == "alice"\n'
        "          input.review.oldObject.spec.containers[_].image != c.image",
    )
    review: dict[str, Any] = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "name": "web",
            "namespace": "prod",
            "operation": "UPDATE",
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "prod"},
                "spec": {"containers": [{"name": "web", "image": "nginx:latest"}]},
            },
            "oldObject": {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "prod"},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }  # fmt: skip
    t = write(tmp_path, "template.yaml", template)
    c = write(tmp_path, "constraint.yaml", constraint())
    r = write(tmp_path, "review.json", json.dumps(review))
    code, found, _ = gate(tmp_path, capsys, r, "--policy", t, "--policy", c, "--fail-on", "NONE")
    assert code == 0
    assert [f["title"] for f in gk(found)] == ["web uses a latest tag (UPDATE)"]
    review["request"]["userInfo"] = {"username": "bob"}
    write(tmp_path, "review.json", json.dumps(review))
    assert gk(gate(tmp_path, capsys, r, "--policy", t, "--policy", c, "--fail-on", "NONE")[1]) == []


UNIQUE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: cguniquename
spec:
  crd:
    spec:
      names:
        kind: CgUniqueName
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package cguniquename
        violation[{"msg": msg}] {
          other := data.inventory.namespace[ns][_]["Service"][name]
          ns != input.review.object.metadata.namespace
          name == input.review.object.metadata.name
          msg := sprintf("name %v is also used in %v", [name, ns])
        }
"""


def test_inventory_objects_are_seen_but_not_reviewed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    service = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: {ns}\n"
    t = write(tmp_path, "template.yaml", UNIQUE)
    c = write(tmp_path, "constraint.yaml", constraint(kind="CgUniqueName", name="unique").replace("Pod", "Service"))
    mine = write(tmp_path, "mine.yaml", service.format(ns="prod"))
    theirs = write(tmp_path, "cluster.yaml", service.format(ns="shared"))
    code, found, _ = gate(tmp_path, capsys, mine, "--policy", t, "--policy", c, "--fail-on", "NONE")
    assert gk(found) == []
    code, found, _ = gate(
        tmp_path, capsys, mine, "--policy", t, "--policy", c, "--inventory", theirs, "--fail-on", "NONE"
    )
    assert code == 0
    titles = [(f["title"], f["location"]["path"]) for f in gk(found)]
    assert len(titles) == 1 and titles[0][0] == "name web is also used in shared"
    assert titles[0][1].endswith("mine.yaml")  # the inventory object itself is not under review


def test_a_constraint_without_its_template_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = write(tmp_path, "constraint.yaml", constraint(kind="CgMissing"))
    pod = write(tmp_path, "pod.yaml", POD)
    code, found, err = gate(tmp_path, capsys, pod, "--policy", c)
    assert code == 2
    assert found == {} or found.get("verdict") != "pass"
    lines = [line for line in err.splitlines() if line.strip()]
    assert any("constraint.yaml" in line and "CgMissing" in line for line in lines), err
    assert "Traceback" not in err


EXTERNAL = TEMPLATE.replace(
    'endswith(c.image, ":latest")',
    'response := external_data({"provider": "trivy", "keys": [c.image]})\n          count(response.errors) > 0',
)


def test_external_data_is_refused_naming_the_template_unless_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    t = write(tmp_path, "template.yaml", EXTERNAL)
    c = write(tmp_path, "constraint.yaml", constraint())
    pod = write(tmp_path, "pod.yaml", POD)
    code, _, err = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c)
    assert code == 2
    assert "template.yaml" in err and "cgnolatest" in err and "external" in err
    assert "Traceback" not in err
    config = write(tmp_path, "gate.yml", "gatekeeper:\n  skip-templates: [cgnolatest]\n")
    code, found, err = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c, "--config", config)
    assert code == 0, err
    assert gk(found) == []


def test_bad_template_rego_is_one_line_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = write(tmp_path, "template.yaml", TEMPLATE.replace("c := input", "c := := input"))
    c = write(tmp_path, "constraint.yaml", constraint())
    pod = write(tmp_path, "pod.yaml", POD)
    code, found, err = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c)
    assert code == 2
    assert "template.yaml" in err and "Traceback" not in err
    assert found.get("verdict") != "pass"


def test_a_violation_set_of_non_objects_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bare = TEMPLATE.replace('violation[{"msg": msg, "details": {"image": c.image}}]', "violation[msg]")
    t = write(tmp_path, "template.yaml", bare)
    c = write(tmp_path, "constraint.yaml", constraint())
    pod = write(tmp_path, "pod.yaml", POD)
    code, _, err = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c)
    assert code == 2
    assert "cgnolatest" in err and "msg" in err


def test_a_namespace_selector_without_its_namespace_is_not_a_silent_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # gator reports this pair as a failed review ("namespace selector for namespace-scoped object but missing
    # Namespace"); the gate reports it too, on the object, with what to add.
    t = write(tmp_path, "template.yaml", TEMPLATE)
    c = write(tmp_path, "constraint.yaml", constraint() + "    namespaceSelector: {matchLabels: {team: a}}\n")
    pod = write(tmp_path, "pod.yaml", POD)
    code, found, _ = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c, "--fail-on", "HIGH")
    assert code == 1
    [finding] = gk(found)
    assert finding["title"].startswith("cannot review Pod/prod/web: namespaceSelector needs the Namespace 'prod'")
    assert "--inventory" in finding["title"]
    ns = write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: prod, labels: {team: b}}\n")
    code, found, _ = gate(tmp_path, capsys, pod, "--policy", t, "--policy", c, "--inventory", ns, "--fail-on", "HIGH")
    assert (code, gk(found)) == (0, [])
