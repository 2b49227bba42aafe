"""Built-in Kubernetes findings point at the offending field (they all said line 1 before), in every document of a
multi-document file, and their fingerprints stay put when lines move."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main

MANIFESTS = """\
apiVersion: v1
kind: Service
metadata:
  name: web
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: sidecar
          image: busybox:1.36
          securityContext:
            runAsNonRoot: true
        - name: web
          image: nginx:latest
          securityContext:
            privileged: true
"""


Found = dict[tuple[str, str], dict[str, Any]]


def findings(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> Found:
    (tmp_path / "m.yaml").write_text(text)
    out = tmp_path / "r.json"
    main(["gate", str(tmp_path / "m.yaml"), "--policy", "builtin:kubernetes", "--fail-on", "NONE", "--json", str(out)])
    capsys.readouterr()
    return {(f["id"], f["title"]): f for f in json.loads(out.read_text())["findings"]}


def line(found: Found, rule: str, needle: str) -> int:
    return int(
        next(f["location"]["start_line"] for (rid, title), f in found.items() if rid == rule and needle in title)
    )


def test_findings_sit_on_the_field_or_on_the_container_that_lacks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = findings(tmp_path, MANIFESTS, capsys)
    assert line(found, "k8s/privileged", "container web") == 22
    assert line(found, "k8s/image-tag", "container web") == 20
    assert line(found, "k8s/host-namespaces", "hostNetwork") == 13
    # missing settings: the container's securityContext when it has one, else the container item
    assert line(found, "k8s/read-only-root-filesystem", "container web") == 21
    assert line(found, "k8s/resource-limits", "container sidecar") == 15
    assert line(found, "k8s/run-as-non-root", "container web") == 21


def test_moved_lines_move_the_findings_not_their_fingerprints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = findings(tmp_path, MANIFESTS, capsys)
    edited = MANIFESTS.replace("  name: web\nspec:", "  name: web\n  labels:\n    team: a\nspec:")
    after = findings(tmp_path, "# comment\n" + edited, capsys)
    assert {k: f["fingerprint"] for k, f in before.items()} == {k: f["fingerprint"] for k, f in after.items()}
    assert line(after, "k8s/privileged", "container web") == 22 + 3  # a comment and two label lines above it
