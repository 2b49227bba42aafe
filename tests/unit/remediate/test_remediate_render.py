"""Plan outputs: the DESIGN.md JSON keys, the table's rows, and a diff that keeps CRLF."""

from __future__ import annotations

from gate.dockerfile import parse
from remediate.discover import base_images
from remediate.model import Bump, FileEdit, Plan, SkippedImage
from remediate.render import as_json, diff, table

D = "sha256:" + "b" * 64


def sample() -> Plan:
    text = "ARG T=1.0\r\nFROM redis:${T} AS cache\r\n"
    use = base_images(parse(text, "svc/Dockerfile"))[0][0]
    bump = Bump(use=use, new=use.ref.with_version("1.1", D), why="minor update", fixes=("CVE-1", "CVE-2"))
    after = text.replace("T=1.0", "T=1.1").replace("${T}", "${T}@" + D)
    return Plan(
        bumps=(bump,),
        skipped=(SkippedImage("svc/Dockerfile", 9, "x:1", "up to date"),),
        edits=(FileEdit("/abs/svc/Dockerfile", "svc/Dockerfile", text, after, (bump,)),),
        notes=("r.json: matches no Dockerfile",),
    )


def test_json_has_the_design_keys() -> None:
    doc = as_json(sample())
    assert doc["updates"] == [
        {
            "file": "svc/Dockerfile",
            "line": 2,
            "from": "redis:1.0",
            "to": f"redis:1.1@{D}",
            "fixes": ["CVE-1", "CVE-2"],
            "stage": "cache",
            "image": "docker.io/library/redis",
            "why": "minor update",
        }
    ]
    assert doc["skipped"] == [{"file": "svc/Dockerfile", "line": 9, "image": "x:1", "reason": "up to date"}]
    assert doc["notes"] == ["r.json: matches no Dockerfile"]


def test_table_and_diff() -> None:
    out = table(sample())
    assert "svc/Dockerfile:2" in out and f"redis:1.1@{D}" in out and "CVE-1, CVE-2" in out
    assert "Skipped (1):" in out and "Note: r.json" in out
    patch = diff(sample())
    assert patch.startswith("--- a/svc/Dockerfile\n+++ b/svc/Dockerfile\n")
    assert "-ARG T=1.0\r\n" in patch and "+ARG T=1.1\r\n" in patch
    assert table(Plan()).startswith("No base image updates.")
