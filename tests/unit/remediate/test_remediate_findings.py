"""Findings: fixable OS-package ids from real Trivy/Grype reports, and the report → Dockerfile rules."""

from __future__ import annotations

from gate.dockerfile import parse
from remediate.discover import base_images
from remediate.findings import ImageFindings, load, match
from remediate.model import BaseImageUse
from tests.conftest import corpus_file


def uses(path: str, text: str) -> list[BaseImageUse]:
    return base_images(parse(text, path))[0]


def test_fixable_os_package_ids_from_corpus_reports() -> None:
    trivy, grype, nofix = load(
        [
            corpus_file("trivy/trivy-golden_alpine-310.json"),
            corpus_file("grype/grype-golden_json-image.json"),
            corpus_file("grype/defectdojo_grype_fix_available.json"),
        ]
    )
    assert trivy.fixable == ("CVE-2019-1549", "CVE-2019-1551") and trivy.os == "alpine 3.10.2"
    assert grype.fixable == ("CVE-1999-0001",)
    assert nofix.fixable == ()  # its one fixable match is a language package, not an OS package


def test_single_dockerfile_gets_the_report_and_only_final_bases() -> None:
    u = uses("Dockerfile", "FROM golang:1.22 AS build\nFROM alpine:3.10 AS run\n")
    rep = ImageFindings("r.json", "myapp:1", "alpine 3.10.2", ("CVE-1",))
    fixes, notes = match([rep], u)
    assert fixes == {("Dockerfile", 2): ("CVE-1",)} and notes == []


def test_final_chain_through_stage_reference() -> None:
    u = uses("Dockerfile", "FROM alpine:3.10 AS base\nFROM golang:1.22 AS build\nFROM base\n")
    fixes, _ = match([ImageFindings("r.json", None, None, ("CVE-1",))], u)
    assert list(fixes) == [("Dockerfile", 1)]


def test_artifact_name_picks_the_dockerfile_and_os_vetoes() -> None:
    u = uses("svc/api/Dockerfile", "FROM python:3.12-slim-bookworm\n") + uses(
        "svc/Dockerfile.worker", "FROM alpine:3.19\n"
    )
    api = ImageFindings("api.json", "ghcr.io/org/api:sha-1", "debian 12.5", ("CVE-A",))
    worker = ImageFindings("w.json", "ghcr.io/org/worker:2", "alpine 3.19.1", ("CVE-W",))
    wrong_os = ImageFindings("x.json", "ghcr.io/org/api:3", "alpine 3.19.1", ("CVE-X",))
    fixes, notes = match([api, worker, wrong_os], u)
    assert fixes == {("svc/api/Dockerfile", 1): ("CVE-A",), ("svc/Dockerfile.worker", 1): ("CVE-W",)}
    assert notes == ["x.json: matches no Dockerfile (map it under remediate.findings-map)"]


def test_scan_of_the_base_itself_and_config_mapping() -> None:
    u = uses("a/Dockerfile", "FROM alpine:3.10\n") + uses("b/Dockerfile", "FROM debian:10\n")
    base_scan = ImageFindings("alpine.json", "alpine:3.10", "alpine 3.10.2", ("CVE-1",))
    mapped = ImageFindings("reports/b-image.json", "opaque", None, ("CVE-2",))
    fixes, _ = match([base_scan, mapped], u, mapping=[("reports/b-*.json", "b/*")])
    assert fixes == {("a/Dockerfile", 1): ("CVE-1",), ("b/Dockerfile", 1): ("CVE-2",)}
