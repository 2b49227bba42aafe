"""builtin:kubernetes judges a workload with its partners from other files of the same run: the namespace's
default-deny NetworkPolicy, Istio's strict mTLS, and reports on the workload that lacks them. Manifests are ours,
in the shapes the Kubernetes and Istio API references document."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.cli import main

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.2.3
"""
DENY_ALL = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: {ns}
spec:
  podSelector: {{}}
  policyTypes: [Ingress, Egress]
"""
STRICT = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: default
  namespace: {ns}
spec:
  mtls:
    mode: STRICT
"""


def ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], *files: tuple[str, str], extra: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    folder = tmp_path / "k8s"
    folder.mkdir(exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for name, text in files:
        (folder / name).write_text(text)
    out = tmp_path / "out.json"
    code = main(
        ["gate", str(folder), "--policy", "builtin:kubernetes", *extra, "--fail-on", "NONE", "--json", str(out)]
    )
    capsys.readouterr()
    assert code == 0
    found: dict[str, list[str]] = {}
    for f in json.loads(out.read_text())["findings"]:
        found.setdefault(f["id"], []).append(f["location"]["path"])
    return found


def test_the_default_deny_policy_in_another_file_satisfies_the_workload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alone = ids(tmp_path, capsys, ("deploy.yaml", DEPLOYMENT))
    assert [Path(p).name for p in alone["k8s/default-deny-network-policy"]] == ["deploy.yaml"]
    other_ns = ids(tmp_path, capsys, ("deploy.yaml", DEPLOYMENT), ("np.yaml", DENY_ALL.format(ns="payments")))
    assert "k8s/default-deny-network-policy" in other_ns
    paired = ids(tmp_path, capsys, ("deploy.yaml", DEPLOYMENT), ("np.yaml", DENY_ALL.format(ns="shop")))
    assert "k8s/default-deny-network-policy" not in paired
    assert "k8s/run-as-non-root" in paired  # the per-object rules still run


def test_istio_objects_among_the_inputs_ask_for_strict_mtls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "k8s/istio-strict-mtls" not in ids(tmp_path, capsys, ("deploy.yaml", DEPLOYMENT))
    permissive = STRICT.format(ns="shop").replace("STRICT", "PERMISSIVE")
    found = ids(tmp_path, capsys, ("deploy.yaml", DEPLOYMENT), ("pa.yaml", permissive))
    assert [Path(p).name for p in found["k8s/istio-strict-mtls"]] == ["deploy.yaml"]
    mesh = ids(tmp_path, capsys, ("deploy.yaml", DEPLOYMENT), ("pa.yaml", STRICT.format(ns="istio-system")))
    assert "k8s/istio-strict-mtls" not in mesh


def test_untrusted_workloads_need_a_sandbox_runtime_configurable_by_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marked = DEPLOYMENT.replace(
        "  namespace: shop\n", '  namespace: shop\n  labels: {container-gate.io/untrusted: "true"}\n'
    )
    assert "k8s/untrusted-sandbox" in ids(tmp_path, capsys, ("deploy.yaml", marked))
    gvisor = marked.replace(
        "    spec:\n      containers:", "    spec:\n      runtimeClassName: gvisor\n      containers:"
    )
    assert "k8s/untrusted-sandbox" not in ids(tmp_path, capsys, ("deploy.yaml", gvisor))
    settings = tmp_path / "settings.yaml"
    settings.write_text("containergate_settings:\n  kubernetes:\n    sandbox_runtime_classes: [kata-qemu]\n")
    assert "k8s/untrusted-sandbox" in ids(tmp_path, capsys, ("deploy.yaml", gvisor), extra=("--data", str(settings)))
