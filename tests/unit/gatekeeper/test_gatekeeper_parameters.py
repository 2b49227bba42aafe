"""A constraint's parameters are checked against its template's schema before anything runs, and refused exactly
where Gatekeeper refuses them: each case runs through the real gator (v3.23.1) and through our gate, and both must
accept or both refuse. Template and constraints are ours, in Gatekeeper's documented shapes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate.cli import main
from tests.conftest import go_tool

TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/{version}
kind: ConstraintTemplate
metadata:
  name: cgparams
spec:
  crd:
    spec:
      names:
        kind: CgParams
{schema}  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package cgparams
        violation[{{"msg": "reviewed"}}] {{ true }}
"""
SCHEMA = """\
      validation:
        openAPIV3Schema:
          type: object
          properties:
            repos: {type: array, items: {type: string}}
            limits:
              type: object
              properties:
                cpu: {type: string}
            free: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""
POD = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: prod}\n"

CASES = [
    ("v1", SCHEMA, '{repos: ["registry.example.com/"]}', True),
    ("v1", SCHEMA, '{repos: "registry.example.com/"}', False),  # wrong type
    ("v1", SCHEMA, '{repo: ["x"]}', False),  # undeclared field
    ("v1", SCHEMA, '{limits: {cpu: "1", memory: "2"}}', False),  # undeclared nested field
    ("v1", SCHEMA, "{limits: {cpu: 1}}", False),  # nested wrong type
    ("v1", SCHEMA, "{free: {anything: [1, 2]}}", True),  # preserve-unknown-fields
    ("v1beta1", SCHEMA, '{repo: ["x"]}', True),  # the legacy schema lets unknown fields through
    ("v1beta1", SCHEMA, '{repos: "x"}', False),  # ... but still checks types
    ("v1beta1", "", "{anything: 1}", True),
    ("v1", "      validation:\n        openAPIV3Schema: {type: object}\n", "{exemptImages: [x]}", False),
]


@pytest.mark.parametrize(("version", "schema", "parameters", "accepted"), CASES)
def test_refused_where_gator_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], version: str, schema: str, parameters: str, accepted: bool
) -> None:
    (tmp_path / "template.yaml").write_text(TEMPLATE.format(version=version, schema=schema))
    (tmp_path / "constraint.yaml").write_text(
        "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: CgParams\nmetadata: {name: params}\n"
        f"spec:\n  parameters: {parameters}\n"
    )
    (tmp_path / "pod.yaml").write_text(POD)
    done = subprocess.run(
        [go_tool("gator"), "test", "-f", "template.yaml", "-f", "constraint.yaml", "-f", "pod.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    gator_accepts = "reviewed" in done.stdout
    assert gator_accepts is accepted, done.stdout + done.stderr
    code = main(
        ["gate", str(tmp_path / "pod.yaml"), "--policy", str(tmp_path / "template.yaml"),
         "--policy", str(tmp_path / "constraint.yaml"), "--fail-on", "NONE"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert (code == 0) is accepted, err
    if not accepted:
        assert code == 2
        assert "constraint.yaml" in err and "CgParams/params" in err and "spec.parameters" in err
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("template_name", "constraint_name", "accepted", "needle"),
    [
        ("cgparams", "params", True, ""),
        ("cgother", "params", False, "lowercase of its kind"),  # a template is named after its kind
        ("cgparams", "Params_1", False, "RFC 1123"),  # a constraint name is a Kubernetes object name
    ],
)
def test_names_kubernetes_refuses_are_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    template_name: str,
    constraint_name: str,
    accepted: bool,
    needle: str,
) -> None:
    template = TEMPLATE.format(version="v1", schema="").replace("name: cgparams", f"name: {template_name}")
    (tmp_path / "template.yaml").write_text(template)
    (tmp_path / "constraint.yaml").write_text(
        f"apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: CgParams\nmetadata: {{name: {constraint_name}}}\n"
    )
    (tmp_path / "pod.yaml").write_text(POD)
    done = subprocess.run(
        [go_tool("gator"), "test", "-f", "template.yaml", "-f", "constraint.yaml", "-f", "pod.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ("reviewed" in done.stdout) is accepted, done.stdout + done.stderr
    code = main(
        ["gate", str(tmp_path / "pod.yaml"), "--policy", str(tmp_path / "template.yaml"),
         "--policy", str(tmp_path / "constraint.yaml"), "--fail-on", "NONE"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == (0 if accepted else 2), err
    assert needle in err
